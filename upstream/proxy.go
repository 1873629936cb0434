package upstream

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"
	modzip "golang.org/x/mod/zip"

	"github.com/modfetch/modfetch"
	"github.com/modfetch/modfetch/internal/vcs"
	"github.com/modfetch/modfetch/internal/web"
)

// Default size limits for proxy answers.
const (
	DefaultMaxInfoSize  = 1 << 20         // .info and @latest
	DefaultMaxListSize  = 16 << 20        // @v/list
	DefaultMaxGoModSize = modzip.MaxGoMod // .mod (16 MiB)
	DefaultMaxZipSize   = modzip.MaxZipFile
)

// The errors of a Proxy's time budgets, wrapped by the error of a
// request that ran out of one. (An answer over its size limit is an error
// wrapping modfetch.ErrTooLarge.)
var (
	// ErrConnectTimeout: no connection within ConnectTimeout.
	ErrConnectTimeout = web.ErrConnect
	// ErrFirstByteTimeout: no answer within FirstByteTimeout.
	ErrFirstByteTimeout = web.ErrFirstByte
	// ErrIdleTimeout: a body that trickled or stalled, less than 1 KiB
	// in an IdleTimeout while it was being read.
	ErrIdleTimeout = web.ErrIdle
)

// A Proxy is a module proxy reached over the GOPROXY protocol at an
// https://, http:// or file:// base URL. It implements [modfetch.Resolver]
// with the go command's client behaviour (cmd/go/internal/modfetch:
// proxyRepo): module paths and versions are case-escaped ("!" sent as %21),
// 404 and 410 answers are not-found errors, and every other failure is an
// error carrying a *[modfetch.HTTPError] or the transport's error.
//
// Latest asks $base/$path/@latest and, when that is not found, chooses from
// @v/list the newest entry that carries a time (a pseudo-version, or a line
// with a second, RFC 3339 field), as the go command does.
//
// A Proxy must not be copied after first use.
type Proxy struct {
	// URL is the proxy's base URL, such as "https://proxy.golang.org" or
	// "file:///home/me/go/pkg/mod/cache/download". A file:// URL may hold
	// only a path: no host (not even localhost), query or user.
	URL string

	// Client sends requests; nil means a client like http.DefaultClient.
	// Redirects from https to any other scheme are always refused.
	Client *http.Client

	// Retry bounds retries of failed requests.
	Retry modfetch.Retry

	// Time budgets of each request (each attempt), so that a server that
	// hangs or trickles cannot hold one forever: ConnectTimeout for a
	// connection (dial and TLS) [10s]; FirstByteTimeout for the answer,
	// from sending the request [60s]; IdleTimeout, while a body is read,
	// for each interval in which at least 1 KiB must arrive [30s]. Zero
	// means the default; a negative value, no limit.
	ConnectTimeout, FirstByteTimeout, IdleTimeout time.Duration

	// Health, if set, records the outcome of every request (see [Health]).
	Health *Health

	// Hooks, if set, are told of every request (Hooks.UpstreamRequest).
	Hooks *modfetch.Hooks

	// Size limits of answers; zero means the Default... constant.
	MaxInfoSize, MaxListSize, MaxGoModSize, MaxZipSize int64

	// Logger, if set, receives a debug record for each retry.
	Logger *slog.Logger

	// Test hooks: the retry clock and backoff jitter.
	timer  web.Timer
	jitter float64

	once     sync.Once
	base     *url.URL
	redacted string
	baseErr  error
	web      web.Client
}

func (p *Proxy) init() error {
	p.once.Do(func() {
		p.base, p.baseErr = parseProxyURL(p.URL)
		if p.baseErr != nil {
			return
		}
		p.redacted = p.base.Redacted()
		p.web = web.Client{
			HTTP:             p.Client,
			Retry:            p.Retry,
			ConnectTimeout:   p.ConnectTimeout,
			FirstByteTimeout: p.FirstByteTimeout,
			IdleTimeout:      p.IdleTimeout,
			Timer:            p.timer,
			Jitter:           p.jitter,
		}
		p.web.Observe = p.observer()
		if h := p.Health; h != nil {
			p.web.GiveUp = h.unavailable
		}
		if p.Logger != nil {
			log := p.Logger
			p.web.OnRetry = func(u string, err error, wait time.Duration) {
				log.Debug("retrying request", "url", u, "error", err, "wait", wait)
			}
		}
	})
	return p.baseErr
}

// parseProxyURL validates a proxy base URL like the go command's
// newProxyRepo, with its error texts.
func parseProxyURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, err
	}
	switch u.Scheme {
	case "http", "https":
	case "file":
		if *u != (url.URL{Scheme: u.Scheme, Path: u.Path, RawPath: u.RawPath}) {
			return nil, fmt.Errorf("invalid file:// proxy URL with non-path elements: %s", u.Redacted())
		}
	case "":
		return nil, fmt.Errorf("invalid proxy URL missing scheme: %s", u.Redacted())
	default:
		return nil, fmt.Errorf("invalid proxy URL scheme (must be https, http, file): %s", u.Redacted())
	}
	return u, nil
}

// pathEscape escapes s for a URL path, keeping "/" as is.
func pathEscape(s string) string {
	return strings.ReplaceAll(url.PathEscape(s), "%2F", "/")
}

// endpoint returns the URL of $base/$encPath/$suffix, where encPath and
// suffix are module-escaped; the URL escaping ("!" as %21) is the go
// command's.
func (p *Proxy) endpoint(encPath, suffix string) *url.URL {
	u := *p.base
	u.Path = strings.TrimSuffix(p.base.Path, "/") + "/" + encPath + "/" + suffix
	u.RawPath = strings.TrimSuffix(p.base.EscapedPath(), "/") + "/" + pathEscape(encPath) + "/" + pathEscape(suffix)
	return &u
}

// versionError wraps err with module context like the go command's
// proxyRepo.versionError.
func versionError(path, version string, err error) error {
	if version != "" && version != module.CanonicalVersion(version) {
		return &module.ModuleError{
			Path: path,
			Err: &module.InvalidVersionError{
				Version: version,
				Pseudo:  module.IsPseudoVersion(version),
				Err:     err,
			},
		}
	}
	return &module.ModuleError{Path: path, Version: version, Err: err}
}

func (p *Proxy) prepare(path string) (string, error) {
	if err := p.init(); err != nil {
		return "", err
	}
	return module.EscapePath(path)
}

func (p *Proxy) getBytes(ctx context.Context, encPath, suffix string, limit int64) ([]byte, error) {
	return p.web.GetBytes(ctx, p.endpoint(encPath, suffix), limit)
}

// List implements [modfetch.Resolver].
func (p *Proxy) List(ctx context.Context, path string) ([]string, error) {
	enc, err := p.prepare(path)
	if err != nil {
		return nil, &module.ModuleError{Path: path, Err: err}
	}
	data, err := p.getBytes(ctx, enc, "@v/list", limitOr(p.MaxListSize, DefaultMaxListSize))
	if err != nil {
		return nil, versionError(path, "", err)
	}
	return parseList(data), nil
}

// parseList returns the valid semantic versions in a @v/list answer, sorted
// and without duplicates. Lines may carry further fields (a time); lines
// that do not start with a valid version are ignored.
func parseList(data []byte) []string {
	seen := make(map[string]bool)
	var list []string
	for line := range strings.SplitSeq(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) >= 1 && semver.IsValid(f[0]) && !seen[f[0]] {
			seen[f[0]] = true
			list = append(list, f[0])
		}
	}
	semver.Sort(list)
	return list
}

// Stat implements [modfetch.Resolver].
func (p *Proxy) Stat(ctx context.Context, path, rev string) (*modfetch.Info, error) {
	enc, err := p.prepare(path)
	if err != nil {
		return nil, &module.ModuleError{Path: path, Version: rev, Err: err}
	}
	encRev, err := module.EscapeVersion(rev)
	if err != nil {
		return nil, versionError(path, rev, err)
	}
	info, err := p.getInfo(ctx, enc, "@v/"+encRev+".info")
	if err != nil {
		return nil, versionError(path, rev, err)
	}
	if info.Version != rev && rev == module.CanonicalVersion(rev) && module.Check(path, rev) == nil {
		// Asked for a correct version of the module, the proxy must answer
		// with exactly that version or an error.
		return nil, versionError(path, rev, fmt.Errorf("proxy returned info for version %s instead of requested version", info.Version))
	}
	return info, nil
}

// Latest implements [modfetch.Resolver].
func (p *Proxy) Latest(ctx context.Context, path string) (*modfetch.Info, error) {
	enc, err := p.prepare(path)
	if err != nil {
		return nil, &module.ModuleError{Path: path, Err: err}
	}
	info, err := p.getInfo(ctx, enc, "@latest")
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, versionError(path, "", err)
		}
		return p.latestFromList(ctx, path, enc)
	}
	return info, nil
}

// getInfo gets an .info or @latest answer: one that does not parse is
// its request's failure (for the Health too), not an answer.
func (p *Proxy) getInfo(ctx context.Context, encPath, suffix string) (*modfetch.Info, error) {
	var info *modfetch.Info
	_, err := p.web.GetChecked(ctx, p.endpoint(encPath, suffix), limitOr(p.MaxInfoSize, DefaultMaxInfoSize), func(data []byte) error {
		var err error
		if info, err = modfetch.ParseInfo(data); err != nil {
			return fmt.Errorf("invalid response from proxy %q: %w", p.redacted, err)
		}
		return nil
	})
	return info, err
}

// latestFromList picks the newest timed entry of @v/list and stats it, like
// the go command's proxyRepo.latestFromList.
func (p *Proxy) latestFromList(ctx context.Context, path, enc string) (*modfetch.Info, error) {
	data, err := p.getBytes(ctx, enc, "@v/list", limitOr(p.MaxListSize, DefaultMaxListSize))
	if err != nil {
		return nil, versionError(path, "", err)
	}
	var bestTime time.Time
	var best string
	for line := range strings.SplitSeq(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || !semver.IsValid(f[0]) {
			continue
		}
		var t time.Time
		switch {
		case len(f) >= 2:
			t, _ = time.Parse(time.RFC3339, f[1])
		case module.IsPseudoVersion(f[0]):
			t, _ = module.PseudoVersionTime(f[0])
		default:
			continue
		}
		if bestTime.Before(t) {
			bestTime, best = t, f[0]
		}
	}
	if best == "" {
		return nil, versionError(path, "", vcs.ErrNoCommits)
	}
	return p.Stat(ctx, path, best)
}

// GoMod implements [modfetch.Resolver].
func (p *Proxy) GoMod(ctx context.Context, path, version string) ([]byte, error) {
	enc, encVer, err := p.prepareVersion(path, version)
	if err != nil {
		return nil, err
	}
	data, err := p.getBytes(ctx, enc, "@v/"+encVer+".mod", limitOr(p.MaxGoModSize, DefaultMaxGoModSize))
	if err != nil {
		return nil, versionError(path, version, err)
	}
	return data, nil
}

func (p *Proxy) prepareVersion(path, version string) (enc, encVer string, err error) {
	enc, err = p.prepare(path)
	if err != nil {
		return "", "", &module.ModuleError{Path: path, Version: version, Err: err}
	}
	if err := modfetch.CheckCanonical(version); err != nil {
		return "", "", versionError(path, version, err)
	}
	encVer, err = module.EscapeVersion(version)
	if err != nil {
		return "", "", versionError(path, version, err)
	}
	return enc, encVer, nil
}

// Zip implements [modfetch.Resolver]. The zip is streamed; reading more
// than the size limit fails with "downloaded zip file too large", and so
// does Zip itself, before the body, when the server declares a
// Content-Length over the limit.
func (p *Proxy) Zip(ctx context.Context, path, version string) (io.ReadCloser, error) {
	return p.ZipFrom(ctx, path, version, 0)
}

// ZipFrom implements [ZipResumer]: the zip from byte offset on, asked
// with a Range request (from a server that ignores it, the whole zip is
// read and its first offset bytes skipped). The size limit counts the
// offset.
func (p *Proxy) ZipFrom(ctx context.Context, path, version string, offset int64) (io.ReadCloser, error) {
	enc, encVer, err := p.prepareVersion(path, version)
	if err != nil {
		return nil, err
	}
	limit := limitOr(p.MaxZipSize, DefaultMaxZipSize)
	if offset < 0 || offset > limit {
		return nil, versionError(path, version, fmt.Errorf("zip offset %d out of range", offset))
	}
	body, err := p.web.OpenFrom(ctx, p.endpoint(enc, "@v/"+encVer+".zip"), offset)
	if err != nil {
		return nil, versionError(path, version, err)
	}
	if web.Length(body) > limit-offset {
		// Declared too large: fail before the body starts, so that a
		// chain's "|" moves on, rather than after reading limit bytes.
		body.Close()
		return nil, versionError(path, version, modfetch.ErrZipTooLarge)
	}
	return &zipBody{rc: body, left: limit - offset, path: path, version: version}, nil
}

// zipBody limits a zip download and gives its errors module context.
type zipBody struct {
	rc            io.ReadCloser
	left          int64
	path, version string
}

func (z *zipBody) Read(b []byte) (int, error) {
	if z.left <= 0 {
		// Check whether the body really has more.
		var one [1]byte
		n, err := z.rc.Read(one[:])
		if n > 0 {
			return 0, versionError(z.path, z.version, modfetch.ErrZipTooLarge)
		}
		if err == io.EOF {
			return 0, io.EOF
		}
		if err != nil {
			return 0, versionError(z.path, z.version, err)
		}
		return 0, nil
	}
	if int64(len(b)) > z.left {
		b = b[:z.left]
	}
	n, err := z.rc.Read(b)
	z.left -= int64(n)
	if err != nil && err != io.EOF {
		err = versionError(z.path, z.version, err)
	}
	return n, err
}

func (z *zipBody) Close() error { return z.rc.Close() }

// probe asks the proxy for its base URL once, for its Health (any answer
// but a 5xx, 408 or 429 shows it answers).
func (p *Proxy) probe(ctx context.Context) {
	if p.init() != nil {
		return
	}
	u := *p.base
	u.Path = strings.TrimSuffix(u.Path, "/") + "/"
	u.RawPath = ""
	p.web.Ping(ctx, &u)
}

// SumDBURL asks the proxy whether it proxies the checksum database name
// (GET $base/sumdb/$name/supported) and returns the base URL of the
// database through the proxy, "$base/sumdb/$name", when it answers 200.
func (p *Proxy) SumDBURL(ctx context.Context, name string) (string, error) {
	if err := p.init(); err != nil {
		return "", err
	}
	u := *p.base
	u.Path = strings.TrimSuffix(u.Path, "/") + "/sumdb/" + name
	u.RawPath = ""
	sup := u
	sup.Path += "/supported"
	// Only the status matters: the go command ignores the body.
	body, err := p.web.Open(ctx, &sup)
	if err != nil {
		return "", err
	}
	io.CopyN(io.Discard, body, 4<<10) // let a short body free the connection
	body.Close()
	return u.String(), nil
}

func limitOr(v, def int64) int64 {
	if v > 0 {
		return v
	}
	return def
}
