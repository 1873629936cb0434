package proxy

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/mod/module"

	"github.com/modfetch/modfetch"
	"github.com/modfetch/modfetch/cache"
	"github.com/modfetch/modfetch/checksum"
	"github.com/modfetch/modfetch/internal/hooks"
	"github.com/modfetch/modfetch/internal/vcs"
)

// Default Cache-Control lifetimes.
const (
	DefaultMutableMaxAge  = time.Minute
	DefaultNotFoundMaxAge = time.Minute
)

// A Handler serves a [modfetch.Resolver] over the GOPROXY protocol, and
// checksum databases under /sumdb/. Mount it at the root of a server, or
// under a prefix with http.StripPrefix.
//
// Paths are parsed strictly: module paths and versions must be escaped as
// the protocol says ("!" for capitals; %21 and other percent-escapes are
// decoded first), .mod and .zip need canonical versions. Anything the
// Handler cannot supply — a malformed request, a module or version the
// Resolver does not find, a module kept private — is a 404, so that
// clients' GOPROXY "," chains fall through; 403 is a refusal by policy
// (an error wrapping modfetch.ErrForbidden, such as a rules.Filter's);
// 502 is reserved for failures of what is behind it (an upstream error, a
// checksum mismatch). Error bodies
// are short text/plain explanations (what the go command shows its user)
// without upstream URLs, host names, file paths or credentials; the
// Logger gets the full error.
//
// Answers carry Cache-Control: a year and "immutable" for the .info, .mod
// and .zip of canonical versions and for verified checksum database data,
// MutableMaxAge for lists, @latest and revisions, NotFoundMaxAge for 404s,
// no-store for failures. Zips are served with Range, ETag and conditional
// request support (through the kernel's file-sending path when the Resolver
// returns an *os.File, as cache.DirStore does). GET and HEAD are allowed.
//
// Set the fields before serving and do not change them afterwards.
type Handler struct {
	// Resolver answers module requests.
	Resolver modfetch.Resolver

	// SumDBs are the checksum databases served under /sumdb/<name>/.
	// Lookups are authenticated by the DB before they are served (and
	// refused for the modules its NoSumDB matches); tiles the
	// DB authenticated are served from its cache, others are read through.
	// Nil entries are ignored (so a goenv.Stack's DB, nil under
	// GOSUMDB=off, can be passed as is).
	SumDBs []*checksum.DB

	// MutableMaxAge and NotFoundMaxAge set Cache-Control lifetimes; zero
	// means the defaults, negative means no-cache.
	MutableMaxAge  time.Duration
	NotFoundMaxAge time.Duration

	// Memory, if set, is the memory tier of the store that the
	// Resolver's cache and the SumDBs keep their answers in (the Fast
	// store of their cache.Tiered; goenv.Stack.Memory), in the go
	// command's module cache layout, whose keys are the protocol's request
	// paths. Immutable answers it holds — the .info and .mod of canonical
	// versions, checksum database lookups and tiles — are served from it
	// without asking the Resolver, as the Resolver's path would serve them
	// (checked once per value, with the cache's rules for .info and .mod
	// files and, for checksum database data, only what the DB vouches for),
	// their headers rendered once and kept with them
	// (cache.MemStore.Rendered), so that a hot answer costs about what
	// net/http itself costs. Zips are always served from the Resolver (a
	// DirStore's files go out through sendfile).
	Memory *cache.MemStore

	// Logger, if set, receives a record for each failed request: at
	// level Warn for failures, at Debug for what the Resolver did not
	// find. Its "error" attribute is what the client was told, "detail"
	// the error in full: the upstream URLs, host names and file paths
	// that error bodies leave out.
	Logger *slog.Logger

	// Hooks, if set, are told of each request answered
	// (Hooks.ServerRequest).
	Hooks *modfetch.Hooks

	// RedirectZips, when positive, answers a zip request with a redirect
	// to a URL of the object store that holds it, valid for this long,
	// when the Resolver can give one (a [modfetch.ZipURLer], such as a cache.Cache
	// on an object store that signs URLs): the zip's bytes then do not
	// pass through this server. A zip the store does not hold yet is
	// served as usual (and so stored, for the next request).
	RedirectZips time.Duration

	once   sync.Once
	render func(key string, data []byte, modTime time.Time) any
}

const immutable = "public, max-age=31536000, immutable"

func maxAge(d, def time.Duration) string {
	if d == 0 {
		d = def
	}
	if d < 0 {
		return "no-cache"
	}
	return "public, max-age=" + strconv.Itoa(int(d/time.Second))
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if hooks.Any(r.Context(), h.Hooks, hasServerRequest) {
		rec := &recorder{ResponseWriter: w, status: http.StatusOK}
		start := time.Now()
		defer func() {
			ev := modfetch.ServerRequest{
				Kind: modfetch.RequestKind(r.URL.Path), Method: r.Method,
				Status: rec.status, Bytes: rec.n, Duration: time.Since(start),
			}
			hooks.Each(r.Context(), h.Hooks, func(hk *modfetch.Hooks) {
				if hk.ServerRequest != nil {
					hk.ServerRequest(ev)
				}
			})
		}()
		w = rec
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		h.fail(w, r, http.StatusMethodNotAllowed, "method not allowed", nil)
		return
	}
	p := r.URL.Path
	if h.Memory != nil && h.serveHot(w, r) {
		return
	}
	if rest, ok := strings.CutPrefix(p, "/sumdb/"); ok {
		h.serveSumDB(w, r, rest)
		return
	}
	enc, what, ok := splitModulePath(p)
	if !ok {
		h.notFound(w, r, "not found: unrecognized path "+quotePath(p))
		return
	}
	path, err := module.UnescapePath(enc)
	if err != nil {
		h.notFound(w, r, "not found: "+err.Error())
		return
	}
	ctx := r.Context()
	switch {
	case what == "@latest":
		info, err := h.Resolver.Latest(ctx, path)
		if err != nil {
			h.resolverError(w, r, err)
			return
		}
		h.serveInfo(w, r, info, false)
	case what == "@v/list":
		list, err := h.Resolver.List(ctx, path)
		if err != nil {
			h.resolverError(w, r, err)
			return
		}
		var buf bytes.Buffer
		for _, v := range list {
			buf.WriteString(v)
			buf.WriteByte('\n')
		}
		h.serveBytes(w, r, "text/plain; charset=utf-8", maxAge(h.MutableMaxAge, DefaultMutableMaxAge), "", buf.Bytes())
	default:
		file := strings.TrimPrefix(what, "@v/")
		i := strings.LastIndexByte(file, '.')
		if i < 0 {
			h.notFound(w, r, "not found: unrecognized path "+quotePath(p))
			return
		}
		version, err := module.UnescapeVersion(file[:i])
		if err != nil {
			h.notFound(w, r, "not found: "+err.Error())
			return
		}
		ext := file[i+1:]
		canonical := modfetch.IsCanonical(version)
		if ext != "info" && !canonical {
			h.notFound(w, r, fmt.Sprintf("not found: %s@%s: version must be canonical", path, version))
			return
		}
		switch ext {
		case "info":
			info, err := h.Resolver.Stat(ctx, path, version)
			if err != nil {
				h.resolverError(w, r, err)
				return
			}
			h.serveInfo(w, r, info, canonical && info.Version == version)
		case "mod":
			data, err := h.Resolver.GoMod(ctx, path, version)
			if err != nil {
				h.resolverError(w, r, err)
				return
			}
			h.serveBytes(w, r, "text/plain; charset=utf-8", immutable, etag(p), data)
		case "zip":
			h.serveZip(w, r, path, version)
		default:
			h.notFound(w, r, "not found: unrecognized path "+quotePath(p))
		}
	}
}

// splitModulePath splits "/<escaped path>/@v/<file>" or
// "/<escaped path>/@latest" into the escaped path and "@v/<file>" or
// "@latest".
func splitModulePath(p string) (enc, what string, ok bool) {
	p, ok = strings.CutPrefix(p, "/")
	if !ok {
		return "", "", false
	}
	if enc, ok := strings.CutSuffix(p, "/@latest"); ok {
		return enc, "@latest", enc != ""
	}
	i := strings.Index(p, "/@v/")
	if i <= 0 {
		return "", "", false
	}
	what = p[i+1:]
	if strings.Contains(what[len("@v/"):], "/") || len(what) == len("@v/") {
		return "", "", false
	}
	return p[:i], what, true
}

// etag is a strong validator for an immutable answer: a hash of its
// request path (the answer at a path never changes).
func etag(p string) string {
	h := fnv.New64a()
	io.WriteString(h, p)
	var b [16]byte
	return `"` + hex.EncodeToString(h.Sum(b[:0])) + `"`
}

func (h *Handler) serveInfo(w http.ResponseWriter, r *http.Request, info *modfetch.Info, immutableAnswer bool) {
	if immutableAnswer {
		// As the cache keeps it, so that every answer at this path (and
		// ETag) is the same, whether it came from Store or not.
		info = info.Clean()
	}
	data, err := json.Marshal(info)
	if err != nil {
		h.fail(w, r, http.StatusInternalServerError, "encoding info failed", err)
		return
	}
	if immutableAnswer {
		h.serveBytes(w, r, "application/json", immutable, etag(r.URL.Path), data)
		return
	}
	h.serveBytes(w, r, "application/json", maxAge(h.MutableMaxAge, DefaultMutableMaxAge), "", data)
}

// serveBytes writes a small answer, honouring conditional requests when it
// has an ETag.
func (h *Handler) serveBytes(w http.ResponseWriter, r *http.Request, ctype, cacheControl, tag string, data []byte) {
	hdr := w.Header()
	hdr.Set("Content-Type", ctype)
	hdr.Set("Cache-Control", cacheControl)
	if tag != "" {
		hdr.Set("ETag", tag)
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(data))
		return
	}
	hdr.Set("Content-Length", strconv.Itoa(len(data)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(data)
	}
}

func (h *Handler) serveZip(w http.ResponseWriter, r *http.Request, path, version string) {
	if h.RedirectZips > 0 {
		if zu, ok := h.Resolver.(modfetch.ZipURLer); ok {
			if u, err := zu.ZipURL(r.Context(), path, version, h.RedirectZips); err == nil {
				// No body: the client follows Location.
				w.Header().Set("Cache-Control", "no-store") // the URL expires
				w.Header().Set("Location", u.String())
				w.WriteHeader(http.StatusFound)
				return
			}
		}
	}
	rc, err := h.Resolver.Zip(r.Context(), path, version)
	if err != nil {
		h.resolverError(w, r, err)
		return
	}
	defer rc.Close()
	hdr := w.Header()
	hdr.Set("Content-Type", "application/zip")
	hdr.Set("Cache-Control", immutable)
	hdr.Set("ETag", etag(r.URL.Path))
	var modtime time.Time
	var size int64 = -1
	if st, ok := modfetch.As[modfetch.Stater](rc); ok {
		if fi, err := st.Stat(); err == nil && fi.Mode().IsRegular() {
			modtime, size = fi.ModTime(), fi.Size()
		}
	}
	if sk, ok := modfetch.As[io.ReadSeeker](rc); ok && size >= 0 {
		// Range, If-Range, If-None-Match, If-Modified-Since, HEAD; a
		// file goes out through sendfile.
		var rs io.ReadSeeker = sk
		if f, ok := modfetch.As[*os.File](rc); ok {
			rs = &sizedFile{f: f, size: size}
		}
		http.ServeContent(w, r, "", modtime, rs)
		return
	}
	if inm := r.Header.Get("If-None-Match"); inm != "" && strings.Contains(inm, hdr.Get("ETag")) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	if size >= 0 {
		hdr.Set("Content-Length", strconv.FormatInt(size, 10))
	}
	if r.Method == http.MethodHead {
		w.WriteHeader(http.StatusOK)
		return
	}
	// A streaming reader waits for its download: stop waiting when the
	// client leaves.
	stop := context.AfterFunc(r.Context(), func() { rc.Close() })
	defer stop()
	// A streaming reader (a download being verified) may still fail:
	// wait for its first bytes before committing to a status, so that a
	// zip that fails verification before any byte is released (every zip
	// smaller than the held-back tail) gets a proper error status.
	buf := make([]byte, 32<<10)
	n, err := io.ReadAtLeast(rc, buf, 1)
	if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		hdr.Del("Content-Length")
		hdr.Del("ETag")
		hdr.Del("Content-Type")
		h.resolverError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusOK)
	w.Write(buf[:n])
	if err == nil {
		if _, err := io.CopyBuffer(w, rc, buf); err != nil {
			// The status is sent: abort the response so the client sees a
			// failure, not a short zip.
			if r.Context().Err() == nil {
				h.log(r, http.StatusBadGateway, "zip stream failed: "+clientText(err, r.URL.Path), err)
			}
			panic(http.ErrAbortHandler)
		}
	}
}

// resolverError answers a Resolver failure: 404 for not found, 403 for a
// refusal (modfetch.ErrForbidden), 502 for everything else (the failure
// is behind the handler). The client gets the
// short reason (clientText); the log gets the error in full.
func (h *Handler) resolverError(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, fs.ErrNotExist) {
		msg := "not found: " + clientText(err, r.URL.Path)
		h.notFound(w, r, msg)
		h.logAt(r, slog.LevelDebug, http.StatusNotFound, msg, err)
		return
	}
	if errors.Is(err, modfetch.ErrForbidden) {
		// Refused by policy (allow/deny rules): 403, whose text the go
		// command shows its user; never cached, as policies change.
		msg := clientText(err, r.URL.Path)
		w.Header().Set("Cache-Control", "no-store")
		writeText(w, r, http.StatusForbidden, msg)
		h.logAt(r, slog.LevelInfo, http.StatusForbidden, msg, err)
		return
	}
	if ctxErr := r.Context().Err(); ctxErr != nil && errors.Is(err, ctxErr) {
		// The client went away; nobody reads the answer.
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	h.fail(w, r, http.StatusBadGateway, clientText(err, r.URL.Path), err)
}

func (h *Handler) notFound(w http.ResponseWriter, r *http.Request, msg string) {
	w.Header().Set("Cache-Control", maxAge(h.NotFoundMaxAge, DefaultNotFoundMaxAge))
	writeText(w, r, http.StatusNotFound, msg)
}

func (h *Handler) fail(w http.ResponseWriter, r *http.Request, status int, msg string, err error) {
	w.Header().Set("Cache-Control", "no-store")
	writeText(w, r, status, msg)
	h.log(r, status, msg, err)
}

func (h *Handler) log(r *http.Request, status int, msg string, err error) {
	h.logAt(r, slog.LevelWarn, status, msg, err)
}

// logAt logs a failed request: msg is what the client was told, detail
// (when there is an error) the error in full, with the upstream URLs,
// host names and file paths that msg leaves out (but no credentials or
// URL queries).
func (h *Handler) logAt(r *http.Request, level slog.Level, status int, msg string, err error) {
	if h.Logger == nil || !h.Logger.Enabled(r.Context(), level) {
		return
	}
	attrs := []slog.Attr{
		slog.String("method", r.Method), slog.String("path", r.URL.Path),
		slog.Int("status", status), slog.String("error", msg),
	}
	if err != nil {
		attrs = append(attrs, slog.String("detail", logText(err)))
	}
	h.Logger.LogAttrs(r.Context(), level, "request failed", attrs...)
}

func writeText(w http.ResponseWriter, r *http.Request, status int, msg string) {
	hdr := w.Header()
	hdr.Set("Content-Type", "text/plain; charset=utf-8")
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Del("ETag")
	body := msg + "\n"
	hdr.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		io.WriteString(w, body)
	}
}

// urlSecrets matches the parts of URLs that may hold credentials: userinfo
// and queries.
var urlSecrets = regexp.MustCompile(`([a-zA-Z][a-zA-Z0-9+.-]*://)[^/@\s"]*@|\?[^\s"]*`)

// errorText is err's text without userinfo or query strings of any URL
// in it, at most 8 lines and 1000 bytes. It keeps host names and paths:
// clientText, not errorText, makes the text sent to clients.
func errorText(err error) string {
	s := stripSecrets(err.Error())
	lines := strings.Split(s, "\n")
	if len(lines) > 8 {
		lines = lines[:8]
	}
	s = strings.Join(lines, "\n")
	if len(s) > 1000 {
		s = s[:1000]
	}
	return s
}

// stripSecrets removes the userinfo and query strings of the URLs in s.
func stripSecrets(s string) string {
	return urlSecrets.ReplaceAllStringFunc(s, func(m string) string {
		if strings.HasPrefix(m, "?") {
			if strings.HasSuffix(m, ":") {
				return ":" // "URL?query: status"
			}
			return ""
		}
		return m[:strings.Index(m, "://")+3]
	})
}

// logText is err's full text for the log: every URL, host name and
// path in it, without userinfo or query strings, at most 4096 bytes.
func logText(err error) string {
	s := stripSecrets(err.Error())
	if len(s) > 4096 {
		s = s[:4096] + "..."
	}
	return s
}

// clientText is the text of err to send to a client: the short reason,
// rebuilt from the errors in err's chain without the upstream URLs, host
// names and the server's file paths they hold (safeText), bounded as
// errorText bounds it.
//
// Host names that are left in free text (an upstream's or a command's
// message naming the host of a URL elsewhere in err) are replaced too,
// except those in the request path reqPath (a module path's own host,
// which the client asked for).
func clientText(err error, reqPath string) string {
	s := safeText(err, 0)
	for _, host := range errorHosts(err) {
		if len(host) >= 3 && !strings.Contains(reqPath, host) {
			s = replaceHost(s, host)
		}
	}
	return errorText(errors.New(s))
}

// replaceHost replaces host in s with "upstream" where it stands as a
// name of its own, not as part of a longer one.
func replaceHost(s, host string) string {
	inName := func(c byte) bool {
		return c == '.' || c == '-' || c == '_' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
	}
	var b strings.Builder
	for {
		i := strings.Index(s, host)
		if i < 0 {
			break
		}
		j := i + len(host)
		if (i > 0 && inName(s[i-1])) || (j < len(s) && inName(s[j]) && !(s[j] == '.' && (j+1 == len(s) || !inName(s[j+1])))) {
			b.WriteString(s[:j]) // part of a longer name
		} else {
			b.WriteString(s[:i])
			b.WriteString("upstream")
		}
		s = s[j:]
	}
	b.WriteString(s)
	return b.String()
}

// errorHosts returns the host names and addresses in err: those of the
// URLs in its text and of the URLs, names and addresses its chain's
// errors hold, longest first.
func errorHosts(err error) []string {
	var hosts []string
	addURL := func(s string) {
		if u, err := url.Parse(s); err == nil && u.Host != "" {
			hosts = append(hosts, u.Host, u.Hostname())
		}
	}
	for _, m := range urlRE.FindAllString(err.Error(), 20) {
		addURL(strings.TrimRight(m, ":;,.)]"))
	}
	var walk func(error, int)
	walk = func(err error, depth int) {
		if err == nil || depth > 32 {
			return
		}
		switch e := err.(type) {
		case *modfetch.HTTPError:
			addURL(e.URL)
		case *url.Error:
			addURL(e.URL)
		case *net.DNSError:
			hosts = append(hosts, e.Name, e.Server)
		case *net.OpError:
			for _, a := range []net.Addr{e.Source, e.Addr} {
				if a != nil {
					hosts = append(hosts, a.String())
					if h, _, err := net.SplitHostPort(a.String()); err == nil {
						hosts = append(hosts, h)
					}
				}
			}
		}
		switch u := err.(type) {
		case interface{ Unwrap() error }:
			walk(u.Unwrap(), depth+1)
		case interface{ Unwrap() []error }:
			for _, c := range u.Unwrap() {
				walk(c, depth+1)
			}
		}
	}
	walk(err, 0)
	slices.SortFunc(hosts, func(a, b string) int {
		if len(a) != len(b) {
			return len(b) - len(a)
		}
		return strings.Compare(a, b)
	})
	return slices.Compact(hosts)
}

// safeText rebuilds err's text without URLs, host names and file paths.
// The errors that carry them are rebuilt from their fields: an
// *modfetch.HTTPError is "reading upstream: <status>" with the server's
// own short text (Detail, which the go command shows), an *url.Error
// "<op> upstream: <cause>", *net.OpError and *net.DNSError lose their
// addresses, *fs.PathError and *os.LinkError their paths, a VCS command
// its directory. Errors known to hold none (checksum mismatches and
// database misbehavior reports, which the go command prints as they are)
// are kept. Any other error is its text with the text of what it wraps
// rebuilt in place, and URLs and absolute paths in the rest of its text
// replaced (scrub).
func safeText(err error, depth int) string {
	if err == nil {
		return ""
	}
	if depth > 32 {
		return scrub(err.Error())
	}
	depth++
	switch e := err.(type) {
	case *modfetch.HTTPError:
		s := "reading upstream: "
		switch {
		case e.Detail != "":
			sep := " "
			if strings.ContainsRune(e.Detail, '\n') {
				sep = "\n\t"
			}
			s += e.Status + "\n\tserver response:" + sep + scrubURLs(e.Detail)
		case e.Err != nil:
			cause := e.Err
			if pe, ok := cause.(*fs.PathError); ok {
				cause = pe.Err // as HTTPError.Error: the URL named the file
			}
			s += safeText(cause, depth)
		default:
			s += e.Status
		}
		return s
	case *url.Error:
		return e.Op + " upstream: " + safeText(e.Err, depth)
	case *net.OpError:
		s := e.Op
		if e.Net != "" {
			s += " " + e.Net
		}
		if e.Err != nil {
			s += ": " + safeText(e.Err, depth)
		}
		return s
	case *net.DNSError:
		return "lookup upstream host: " + scrub(e.Err)
	case *fs.PathError:
		return e.Op + ": " + safeText(e.Err, depth)
	case *os.LinkError:
		return e.Op + ": " + safeText(e.Err, depth)
	case *x509.HostnameError:
		return "x509: certificate is not valid for the upstream's host name"
	case *vcs.RunError:
		cmd := e.Cmd
		// Cmd ends with " in " and the server's directory.
		if i := strings.Index(cmd, " in /"); i >= 0 {
			cmd = cmd[:i]
		} else if i := strings.LastIndex(cmd, " in "); i >= 0 {
			cmd = cmd[:i]
		}
		s := scrub(cmd) + ": " + safeText(e.Err, depth)
		if stderr := bytes.TrimRight(e.Stderr, "\n"); len(stderr) > 0 {
			s += ":\n\t" + strings.ReplaceAll(scrub(string(stderr)), "\n", "\n\t")
		}
		if e.HelpText != "" {
			s += "\n" + scrub(e.HelpText)
		}
		return s
	case *checksum.MismatchError, *checksum.SecurityError:
		return err.Error()
	}

	// Some other error: rebuild in place the text of what it wraps.
	msg := err.Error()
	var children []error
	switch u := err.(type) {
	case interface{ Unwrap() error }:
		if c := u.Unwrap(); c != nil {
			children = []error{c}
		}
	case interface{ Unwrap() []error }:
		children = u.Unwrap()
	}
	var b strings.Builder
	at := 0
	for _, c := range children {
		// The child's text, or failing that (a wrapper with a text of its
		// own, such as module.ModuleError's of an InvalidVersionError)
		// the text of the nearest error it wraps that is in msg.
		for ; c != nil; c = errors.Unwrap(c) {
			t := c.Error()
			if t == "" {
				continue
			}
			if i := strings.Index(msg[at:], t); i >= 0 {
				b.WriteString(scrub(msg[at : at+i]))
				b.WriteString(safeText(c, depth))
				at += i + len(t)
				break
			}
		}
	}
	b.WriteString(scrub(msg[at:]))
	return b.String()
}

// urlRE matches URLs; pathRE absolute file paths (after the start of the
// text, a space, a quote, a parenthesis or "=").
var (
	urlRE  = regexp.MustCompile(`[a-zA-Z][a-zA-Z0-9+.-]*://[^\s"'<>]*`)
	pathRE = regexp.MustCompile(`(^|[\s"'(=\[])/[a-zA-Z0-9._~+-][^\s"'<>]*`)
)

// scrub replaces the URLs and absolute file paths in free text.
func scrub(s string) string {
	s = scrubURLs(s)
	return pathRE.ReplaceAllStringFunc(s, func(m string) string {
		i := strings.IndexByte(m, '/')
		lead, p := m[:i], m[i:]
		return lead + "<path>" + trailing(p)
	})
}

// scrubURLs replaces the URLs in free text with "upstream".
func scrubURLs(s string) string {
	return urlRE.ReplaceAllStringFunc(s, func(m string) string {
		return "upstream" + trailing(m)
	})
}

// trailing is the punctuation at the end of a matched URL or path that
// belongs to the text around it ("reading URL: ...").
func trailing(m string) string {
	return m[len(strings.TrimRight(m, ":;,.)]")):]
}

// quotePath quotes a request path for an error message, bounded.
func quotePath(p string) string {
	if len(p) > 200 {
		p = p[:200] + "..."
	}
	return strconv.Quote(p)
}

// serveSumDBData answers with a lookup record or tile: immutable when the
// DB authenticated it, else cacheable only briefly (its client checks it).
func (h *Handler) serveSumDBData(w http.ResponseWriter, r *http.Request, ctype string, data []byte, verified bool, err error) {
	if err != nil {
		h.resolverError(w, r, err)
		return
	}
	if !verified {
		// Read from the database again as is: other bytes than another
		// read's, so no validator.
		h.serveBytes(w, r, ctype, maxAge(h.MutableMaxAge, DefaultMutableMaxAge), "", data)
		return
	}
	h.serveBytes(w, r, ctype, immutable, etag(r.URL.Path), data)
}

// serveSumDB serves /sumdb/<name>/{supported,lookup/...,tile/...,latest}.
// sumDB returns the database of rest ("<name>/<op>"), the one with the
// longest name when several match, and op.
func (h *Handler) sumDB(rest string) (db *checksum.DB, op string) {
	for _, d := range h.SumDBs {
		if d == nil {
			continue
		}
		if name := d.Name(); name != "" && (db == nil || len(name) > len(db.Name())) {
			if o, ok := strings.CutPrefix(rest, name+"/"); ok {
				db, op = d, o
			}
		}
	}
	return db, op
}

func (h *Handler) serveSumDB(w http.ResponseWriter, r *http.Request, rest string) {
	db, op := h.sumDB(rest)
	if db == nil {
		h.notFound(w, r, "not found: unknown checksum database")
		return
	}
	ctx := r.Context()
	switch {
	case op == "supported":
		h.serveBytes(w, r, "text/plain; charset=utf-8", maxAge(h.MutableMaxAge, DefaultMutableMaxAge), "", nil)
	case strings.HasPrefix(op, "lookup/"):
		mv := strings.TrimPrefix(op, "lookup/")
		i := strings.LastIndexByte(mv, '@')
		if i <= 0 {
			h.notFound(w, r, "not found: malformed lookup")
			return
		}
		path, err1 := module.UnescapePath(mv[:i])
		version, err2 := module.UnescapeVersion(mv[i+1:])
		if err1 != nil || err2 != nil {
			h.notFound(w, r, "not found: malformed lookup")
			return
		}
		data, verified, err := db.Record(ctx, path, version)
		h.serveSumDBData(w, r, "text/plain; charset=utf-8", data, verified, err)
	case strings.HasPrefix(op, "tile/"):
		tile := strings.TrimPrefix(op, "tile/")
		if !validTilePath(tile) {
			h.notFound(w, r, "not found: malformed tile path")
			return
		}
		data, verified, err := db.Tile(ctx, tile)
		h.serveSumDBData(w, r, "application/octet-stream", data, verified, err)
	case op == "latest":
		data, err := db.ReadRemote(ctx, "/latest")
		if err != nil {
			h.resolverError(w, r, err)
			return
		}
		h.serveBytes(w, r, "text/plain; charset=utf-8", "no-cache", "", data)
	default:
		h.notFound(w, r, "not found: unrecognized checksum database path")
	}
}

// tilePathRE matches the tile paths of the checksum database protocol:
// H/L/NNN with "x" prefixed groups, optionally ".p/W"; L may be "data".
var tilePathRE = regexp.MustCompile(`^[0-9]+/(data|[0-9]+)(/x[0-9]{3})*/[0-9]{3}(\.p/[0-9]+)?$`)

func validTilePath(p string) bool { return tilePathRE.MatchString(p) }

// Header values of stored answers, shared and never modified.
var (
	immutableHeader = []string{immutable}
	jsonHeader      = []string{"application/json"}
	textHeader      = []string{"text/plain; charset=utf-8"}
	octetHeader     = []string{"application/octet-stream"}
)

// A hotKind is a kind of immutable answer that Memory may hold.
type hotKind int

const (
	notHot hotKind = iota
	hotInfo
	hotMod
	hotLookup
	hotTile
)

// classify tells what kind of immutable answer the request path p is,
// and for checksum database data which DB's; notHot for everything else:
// mutable answers, zips, the cache's own keys under "modfetch/", lookups
// of modules the DB skips, malformed paths. It allocates nothing for the
// common, unescaped paths.
func (h *Handler) classify(p string) (hotKind, *checksum.DB) {
	if rest, ok := strings.CutPrefix(p, "/sumdb/"); ok {
		db, op := h.sumDB(rest)
		if db == nil {
			return notHot, nil
		}
		if tile, ok := strings.CutPrefix(op, "tile/"); ok && validTilePath(tile) {
			return hotTile, db
		}
		mv, ok := strings.CutPrefix(op, "lookup/")
		i := strings.LastIndexByte(mv, '@')
		if !ok || i <= 0 {
			return notHot, nil
		}
		if db.NoSumDB != "" {
			if path, err := unescape(mv[:i], module.UnescapePath); err != nil || db.Skip(path) {
				return notHot, nil
			}
		}
		return hotLookup, db
	}
	enc, what, ok := splitModulePath(p)
	if !ok || strings.HasPrefix(enc, "modfetch/") {
		// Not a module path: cache.Cache's keys for mutable answers.
		return notHot, nil
	}
	kind, file := hotInfo, strings.TrimPrefix(what, "@v/")
	file, ok = strings.CutSuffix(file, ".info")
	if !ok {
		if file, ok = strings.CutSuffix(file, ".mod"); !ok {
			return notHot, nil
		}
		kind = hotMod
	}
	if v, err := unescape(file, module.UnescapeVersion); err != nil || !modfetch.IsCanonical(v) {
		return notHot, nil
	}
	return kind, nil
}

// unescape undoes the "!" escaping of s with f, without allocating when
// there is none.
func unescape(s string, f func(string) (string, error)) (string, error) {
	if !strings.Contains(s, "!") {
		return s, nil
	}
	return f(s)
}

// serveHot answers r from Memory when it holds the immutable answer r
// asks for, and reports whether it did. Requests with Range or
// preconditions other than If-None-Match are left to the Resolver's path.
func (h *Handler) serveHot(w http.ResponseWriter, r *http.Request) bool {
	p := r.URL.Path
	kind, db := h.classify(p)
	if kind == notHot || db != nil && db.Misbehaved() {
		return false
	}
	for _, k := range []string{"Range", "If-Match", "If-Unmodified-Since", "If-Range"} {
		if _, ok := r.Header[k]; ok {
			return false
		}
	}
	h.once.Do(func() { h.render = h.renderHot })
	v, ok := h.Memory.Rendered(p[1:], h.render)
	if !ok {
		return false
	}
	v.(*hotAnswer).serve(w, r)
	if kind == hotInfo || kind == hotMod {
		// A cache hit, served from memory without asking the Resolver.
		hooks.Each(r.Context(), h.Hooks, func(hk *modfetch.Hooks) {
			if hk.CacheLookup != nil {
				hk.CacheLookup(modfetch.CacheLookup{Kind: modfetch.RequestKind(p), Result: modfetch.CacheHit})
			}
		})
	}
	return true
}

// A hotAnswer is an immutable answer held in Memory, with its headers.
type hotAnswer struct {
	ctype, tag, length []string // header values, shared and never modified
	body               []byte
}

// renderHot makes the hotAnswer of data, the value of key (a request
// path without its leading "/") in Memory, for MemStore.Rendered — the
// answer the Resolver's path would give — or declines (nil) a value that
// path would not serve: an .info that does not parse or names another
// version (it is served as the cache reads it, cleaned), a synthesised
// go.mod the cache ignores, checksum database data its DB does not vouch
// for.
func (h *Handler) renderHot(key string, data []byte, _ time.Time) any {
	kind, db := h.classify("/" + key)
	ctype := textHeader
	switch kind {
	case hotInfo:
		_, what, _ := splitModulePath("/" + key)
		v, err := module.UnescapeVersion(strings.TrimSuffix(strings.TrimPrefix(what, "@v/"), ".info"))
		info, perr := modfetch.ParseInfo(data)
		if err != nil || perr != nil || info.Version != v {
			return nil
		}
		if data, err = json.Marshal(info.Clean()); err != nil {
			return nil
		}
		ctype = jsonHeader
	case hotMod:
		if bytes.HasPrefix(data, []byte("//vgo 0.0.")) {
			return nil
		}
	case hotLookup, hotTile:
		if !db.Vouches(key, data) {
			return nil
		}
		if kind == hotTile {
			ctype = octetHeader
		}
	default:
		return nil
	}
	return &hotAnswer{ctype: ctype, tag: []string{etag("/" + key)}, length: []string{strconv.Itoa(len(data))}, body: data}
}

// serve writes the answer to r: a plain or conditional GET or HEAD.
func (a *hotAnswer) serve(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	hdr["Cache-Control"] = immutableHeader
	hdr["Etag"] = a.tag
	if inm := r.Header.Get("If-None-Match"); inm != "" && (inm == "*" || strings.Contains(inm, a.tag[0])) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	hdr["Content-Type"] = a.ctype
	hdr["Content-Length"] = a.length
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(a.body)
	}
}

// sizedFile is a freshly opened file whose size is known. It answers
// http.ServeContent's size probe (Seek to the end and back) without
// system calls, and exposes the file's descriptor so that the body still
// goes out through sendfile.
type sizedFile struct {
	f       *os.File
	size    int64
	touched bool // the file offset may have moved from 0
}

func (f *sizedFile) Seek(offset int64, whence int) (int64, error) {
	if !f.touched && offset == 0 {
		switch whence {
		case io.SeekEnd:
			return f.size, nil // the offset stays at 0
		case io.SeekStart, io.SeekCurrent:
			return 0, nil
		}
	}
	f.touched = true
	return f.f.Seek(offset, whence)
}

func (f *sizedFile) Read(p []byte) (int, error) {
	f.touched = true
	return f.f.Read(p)
}

func (f *sizedFile) SyscallConn() (syscall.RawConn, error) {
	f.touched = true
	return f.f.SyscallConn()
}

func hasServerRequest(h *modfetch.Hooks) bool { return h.ServerRequest != nil }

// recorder notes the status and body bytes of a response for
// Hooks.ServerRequest, keeping the ResponseWriter's abilities (ReadFrom,
// so that files still go out through sendfile; Unwrap, for
// http.ResponseController).
type recorder struct {
	http.ResponseWriter
	status int
	n      int64
	wrote  bool
}

func (r *recorder) WriteHeader(code int) {
	if !r.wrote {
		r.status, r.wrote = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(p []byte) (int, error) {
	r.wrote = true
	n, err := r.ResponseWriter.Write(p)
	r.n += int64(n)
	return n, err
}

func (r *recorder) ReadFrom(src io.Reader) (int64, error) {
	r.wrote = true
	n, err := io.Copy(r.ResponseWriter, src)
	r.n += n
	return n, err
}

func (r *recorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
