package goenv

import (
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/modfetch/modfetch/upstream"
)

// HTTPClient returns an HTTP client that authenticates the way the go
// command does under c.GOAUTH (cmd/go/internal/auth). base is the client to
// start from; nil means a zero http.Client, like [http.DefaultClient]. The
// result is a shallow copy of base; base itself is never modified.
//
// GOAUTH is a ';'-separated list of commands. This package supports:
//
//   - "off": no credentials; the copy of base is returned as is. "off" cannot
//     be combined with other commands.
//   - "netrc" (also the meaning of an empty GOAUTH, the go command's
//     default): Basic authentication from the netrc file c.NETRC (when
//     c.NETRC is "", ~/.netrc, or ~/_netrc on Windows if it exists).
//
// Any other command, such as "git /dir" or a user command, is an error, as is
// an empty command. The netrc file is read once, by HTTPClient: later changes
// to it are seen only by a new client. A missing file means no credentials;
// any other failure to read it is returned.
//
// Credentials are attached like the go command attaches them:
//
//   - only to https requests whose URL has no userinfo and which carry no
//     Authorization header of their own (an explicit header is kept);
//   - the netrc machine names are matched against the request URL without
//     "https://": first host[:port]/a/b, then host[:port]/a, then
//     host[:port]. A port is part of the name, so "machine 127.0.0.1" does
//     not match https://127.0.0.1:8443/; the first entry for a machine wins;
//   - a redirect hop carries the credentials of the chain's first request
//     if it is https and net/http would copy that request's Authorization
//     header to it (same host or a subdomain, never after leaving it); it
//     never gets credentials of its own from the netrc file.
//
// When credentials are in use, the copy's Transport wraps base's (nil means
// [http.DefaultTransport]) and its CheckRedirect attaches the redirect
// credentials before calling base's CheckRedirect (nil means net/http's
// default policy of at most 10 redirects).
//
// Unlike the go command, the client does not repeat a request that received
// a 4xx answer: with netrc the second attempt would carry the same
// credentials. The client is safe for concurrent use if base is.
func (c *Config) HTTPClient(base *http.Client) (*http.Client, error) {
	useNetrc, err := parseGOAUTH(c.GOAUTH)
	if err != nil {
		return nil, err
	}
	var cl http.Client
	if base != nil {
		cl = *base
	}
	if !useNetrc {
		return &cl, nil
	}

	path := c.NETRC
	if path == "" {
		if home, err := os.UserHomeDir(); err == nil {
			path = defaultNetrcPath(home)
		}
	}
	creds, err := readNetrcCredentials(path)
	if err != nil {
		return nil, err
	}
	if len(creds) == 0 {
		return &cl, nil
	}

	next := cl.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	cl.Transport = &netrcTransport{next: next, creds: creds}
	checkRedirect := cl.CheckRedirect
	cl.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if v, ok := redirectCredential(creds, req, via); ok {
			req.Header.Set("Authorization", v)
		}
		if checkRedirect != nil {
			return checkRedirect(req, via)
		}
		if len(via) >= 10 { // net/http's default policy
			return errors.New("stopped after 10 redirects")
		}
		return nil
	}
	return &cl, nil
}

// parseGOAUTH checks a GOAUTH value like cmd/go/internal/auth.runGoAuth,
// which processes the commands in reverse order and stops at the first bad
// one. It reports whether netrc credentials are to be used.
func parseGOAUTH(goauth string) (useNetrc bool, err error) {
	if goauth == "" {
		return true, nil // the go command's default
	}
	cmds := strings.Split(goauth, ";")
	for i := len(cmds) - 1; i >= 0; i-- {
		cmd := strings.TrimSpace(cmds[i])
		words := strings.Fields(cmd)
		if len(words) == 0 {
			return false, fmt.Errorf("GOAUTH encountered an empty command (GOAUTH=%s)", goauth)
		}
		switch words[0] {
		case "off":
			if len(cmds) != 1 {
				return false, fmt.Errorf("GOAUTH=off cannot be combined with other authentication commands (GOAUTH=%s)", goauth)
			}
			return false, nil
		case "netrc":
			useNetrc = true
		default:
			return false, fmt.Errorf("GOAUTH command %q is not supported (modfetch supports only \"netrc\" and \"off\")", cmd)
		}
	}
	return useNetrc, nil
}

// readNetrcCredentials reads the netrc file at path and returns the
// Authorization header value for each machine name, keyed like the go
// command's credential cache (without "https://" or a trailing '/'). A
// missing file, or path "", yields no credentials.
func readNetrcCredentials(path string) (map[string]string, error) {
	if path == "" {
		return nil, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, fmt.Errorf("GOAUTH=netrc: %w", err)
	}
	creds := make(map[string]string)
	for _, l := range parseNetrc(string(data)) {
		key := strings.TrimSuffix(strings.TrimPrefix(l.machine, "https://"), "/")
		if _, ok := creds[key]; ok {
			continue // the first entry for a machine wins
		}
		r := http.Request{Header: make(http.Header)}
		r.SetBasicAuth(l.login, l.password)
		creds[key] = r.Header.Get("Authorization")
	}
	return creds, nil
}

// A netrcEntry is one complete machine entry of a netrc file.
type netrcEntry struct {
	machine, login, password string
}

// parseNetrc returns the complete entries (machine, login and password all
// set) of a netrc file, in file order, with the go command's reading of the
// format (cmd/go/internal/auth.parseNetrc): tokens are taken in pairs within
// a line; "machine" starts a new entry; "macdef" skips the following lines up
// to an empty one; a line whose unpaired last token is "default" ends the
// file; other tokens are ignored.
func parseNetrc(data string) []netrcEntry {
	var entries []netrcEntry
	var cur netrcEntry
	inMacro := false
	for line := range strings.SplitSeq(data, "\n") {
		if inMacro {
			if line == "" {
				inMacro = false
			}
			continue
		}
		f := strings.Fields(line)
		i := 0
		for ; i+1 < len(f); i += 2 {
			switch f[i] {
			case "machine":
				cur = netrcEntry{machine: f[i+1]}
			case "login":
				cur.login = f[i+1]
			case "password":
				cur.password = f[i+1]
			case "macdef":
				inMacro = true
			}
			if cur.machine != "" && cur.login != "" && cur.password != "" {
				entries = append(entries, cur)
				cur = netrcEntry{}
			}
		}
		if i < len(f) && f[i] == "default" {
			break // "default" comes after all machine entries
		}
	}
	return entries
}

// netrcTransport adds netrc credentials to the first request of each
// client call; redirect hops are handled by the client's CheckRedirect.
type netrcTransport struct {
	next  http.RoundTripper
	creds map[string]string // immutable after construction
}

func (t *netrcTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Response == nil && wantsCredential(req) {
		if v, ok := lookupCredential(t.creds, req.URL); ok {
			// A RoundTripper must not modify the request it is given.
			r := req.Clone(req.Context())
			r.Header.Set("Authorization", v)
			req = r
		}
	}
	return t.next.RoundTrip(req)
}

// Unwrap returns the transport the credentials are added to.
func (t *netrcTransport) Unwrap() http.RoundTripper { return t.next }

// Rewrap returns a transport adding the same credentials to next (see
// upstream.TransportWrapper).
func (t *netrcTransport) Rewrap(next http.RoundTripper) http.RoundTripper {
	return &netrcTransport{next: next, creds: t.creds}
}

// CloseIdleConnections forwards to the underlying transport, so that
// [http.Client.CloseIdleConnections] keeps working.
func (t *netrcTransport) CloseIdleConnections() {
	if c, ok := t.next.(closeIdler); ok {
		c.CloseIdleConnections()
	}
}

// closeIdler is a RoundTripper that can close its idle connections, as
// net/http's own code names it.
type closeIdler interface {
	CloseIdleConnections()
}

// wantsCredential reports whether req may receive netrc credentials: https,
// no userinfo, no Authorization header.
func wantsCredential(req *http.Request) bool {
	return req.URL.Scheme == "https" && req.URL.User == nil && len(req.Header.Values("Authorization")) == 0
}

// lookupCredential finds the credentials for u like the go command's
// loadCredential: host[:port]/a/b, then host[:port]/a, then host[:port].
// The query and fragment take no part.
func lookupCredential(creds map[string]string, u *url.URL) (string, bool) {
	key := strings.TrimSuffix(u.Host+u.EscapedPath(), "/")
	for {
		if v, ok := creds[key]; ok {
			return v, true
		}
		i := strings.LastIndexByte(key, '/')
		if i < 0 {
			return "", false
		}
		key = key[:i]
	}
}

// redirectCredential returns the credentials for the redirect hop req, which
// follows the requests via: those of via[0] if it received netrc credentials
// and net/http would have copied its Authorization header to req, that is if
// req is https and no hop since via[0] left via[0]'s host or its subdomains.
func redirectCredential(creds map[string]string, req *http.Request, via []*http.Request) (string, bool) {
	if len(via) == 0 || !wantsCredential(req) || !wantsCredential(via[0]) {
		return "", false
	}
	first := via[0].URL
	for _, r := range append(via[1:len(via):len(via)], req) {
		if r.URL.Host != first.Host && !isDomainOrSubdomain(r.URL.Hostname(), first.Hostname()) {
			return "", false
		}
	}
	return lookupCredential(creds, first)
}

// isDomainOrSubdomain reports whether sub is parent or a subdomain of it,
// as net/http decides whether to copy sensitive headers on redirect.
func isDomainOrSubdomain(sub, parent string) bool {
	if sub == parent {
		return true
	}
	if strings.ContainsAny(sub, ":%") {
		return false // an IPv6 address
	}
	return strings.HasSuffix(sub, "."+parent)
}

// Direct reaches the transport under the credentials for GOINSECURE.
var _ upstream.TransportWrapper = (*netrcTransport)(nil)
