package upstream

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/mod/module"

	"github.com/modfetch/modfetch"
	"github.com/modfetch/modfetch/internal/coderepo"
	"github.com/modfetch/modfetch/internal/flight"
	"github.com/modfetch/modfetch/internal/lru"
	"github.com/modfetch/modfetch/internal/vcs"
)

// discoveryTTL is how long a Direct reuses a successful repository lookup
// (go-get discovery, scheme probing). Failures are not remembered.
const discoveryTTL = 15 * time.Minute

// ErrVCSNotSupported is wrapped by the error for a module whose
// repository uses a version control system other than git (hg, svn, bzr,
// fossil), once GOVCS has allowed it: Direct runs git only.
var ErrVCSNotSupported = errors.New("not supported by modfetch (direct mode runs git only)")

// Direct is the Resolver of GOPROXY's "direct": it fetches modules from
// their version control repositories, with the go command's rules
// (cmd/go/internal/modfetch: lookupDirect, codeRepo; codehost's git), so
// that it returns the versions, .info, go.mod files and zips — and hence
// the h1: hashes — that the go command would, and fails where it fails.
//
// # Finding the repository
//
// A module path is mapped to a repository as by the go command: first the
// table of known hosting sites (github.com/<user>/<repo>, bitbucket.org,
// hub.jazz.net/git, git.apache.org, git.openstack.org, chiselapp.com, and
// host/path.git-style paths, whose scheme is found by probing with
// `git ls-remote`); otherwise `GET https://<path>?go-get=1` and its
// <meta name="go-import"> tags, with the go command's prefix rules and
// errors. Under GOINSECURE, discovery may skip certificate checks and fall
// back to http, and probing may use insecure schemes. GOVCS is enforced
// before any version control command runs. A go-import tag of type "mod"
// hands the module to a [Proxy] at the tag's URL. A lookup that fails is a
// not-found error (errors.Is(err, fs.ErrNotExist)), as in the go command.
//
// # Git
//
// git runs with the user's configuration and credential helpers (HOME is
// not changed), GIT_TERMINAL_PROMPT=0 and GCM_INTERACTIVE=never unless set,
// each process with a timeout and in its own process group, killed whole
// on timeout or cancellation and always waited for. Each repository has a
// work directory under WorkDir named as in the go command's
// $GOMODCACHE/cache/vcs (hex SHA-256 of "git3:"+URL, with ".info" and
// ".lock" files beside it), locked across processes while fetching, built
// in a temporary directory so that a failed first fetch leaves nothing
// behind. Fetches are as small as the go command's: the one ref asked for
// with --depth=1, the full history of branches and tags only when a
// question needs it. [Direct.RemoveWorkDir] deletes a repository's.
//
// # Versions
//
// Versions come from tags: "v1.2.3" for a module at the repository root,
// "sub/v1.2.3" for one in directory sub; a /vN module lives in its
// directory or its vN/ subdirectory; gopkg.in and +incompatible versions
// follow the go command's rules. Branches and commit hashes resolve to the
// tag on the commit or to a pseudo-version built from the commit time and
// the closest preceding tag; requested pseudo-versions are validated.
// Info.Origin records VCS, URL, Subdir, Hash and (for versions that are
// not pseudo-versions) Ref, as in the .info files the go command writes.
//
// # Bounds
//
// Every git process has a timeout (GitTimeout) and bounded output (64 MiB
// of listings, 16 MiB for a go.mod or LICENSE, 500 MiB for an archive);
// zips follow x/mod's limits; go-get pages are read up to 2 MiB. Work
// directories hold only what was fetched, and stay until
// [Direct.RemoveWorkDir] (or removal of WorkDir) deletes them. Lookups are
// remembered for 15 minutes; a repository's refs are listed once per call
// (see RefsTTL).
//
// # Differences from the go command
//
//   - Only git runs: a repository that GOVCS lets through but uses hg, svn,
//     bzr or fossil fails with an error wrapping [ErrVCSNotSupported].
//   - A go.mod over 16 MiB fails when it is read (Stat, GoMod); the go
//     command reads it and fails only when making the zip.
//   - Zip does not refuse a module whose go.mod asks for a newer Go than
//     the one running (the go command's toolchain check belongs to whoever
//     builds with the module).
//   - go-get discovery sends no GOAUTH credentials of its own: put them in
//     Client's Transport.
//   - Errors of GoMod and Zip carry module context ("path@version: "),
//     like every Resolver's; `go mod download -json` prints them bare.
//
// Direct must not be copied or modified after first use. It is safe for
// concurrent use.
type Direct struct {
	// WorkDir holds the per-repository git work directories. The go
	// command uses $GOMODCACHE/cache/vcs; sharing that directory with it
	// is safe. Empty means os.UserCacheDir()/modfetch/vcs.
	WorkDir string

	// GOVCS, GOPRIVATE and GOINSECURE have the go command's meanings:
	// GOVCS rules are followed by the defaults "private:all,public:git|hg";
	// GOPRIVATE decides which repository roots are private for GOVCS;
	// GOINSECURE patterns (matched against the module path) allow insecure
	// discovery and schemes. Empty values are the go command's defaults.
	GOVCS      string
	GOPRIVATE  string
	GOINSECURE string

	// Client makes the HTTP requests of go-get discovery, of the check
	// whether a failing https repository exists, and of module proxies
	// named by "mod" go-import tags. Nil means http.DefaultClient.
	// Redirects from https to another scheme are refused. Under
	// GOINSECURE a copy skipping certificate checks is used when its
	// Transport is an *http.Transport (or nil), or wraps one through
	// [TransportWrapper] (like goenv's netrc transport). Credentials for
	// private discovery pages belong in its Transport; git uses its own.
	Client *http.Client

	// Git is the git program. Empty means "git", found in PATH.
	Git string

	// GitTimeout bounds every git process. Zero means 10 minutes; a
	// negative value means no limit.
	GitTimeout time.Duration

	// Env holds extra NAME=value entries for git's environment, after the
	// current process's (HOME=..., GIT_CONFIG_GLOBAL=..., GIT_SSH_COMMAND=...).
	Env []string

	// RefsTTL is how long a listing of a repository's branches and tags
	// (git ls-remote) is reused across calls. Zero means every call lists
	// them afresh (once per call), as every go command does; a server can
	// set a few seconds to save round trips.
	RefsTTL time.Duration

	// TempDir holds temporary archives and zips ("" means os.TempDir()).
	TempDir string

	// Logger, if set, receives debug records for lookups and git commands.
	Logger *slog.Logger

	initOnce sync.Once
	runner   *vcs.Runner
	govcs    govcsConfig
	govcsErr error

	clientOnce       sync.Once
	secure, insecure *http.Client

	mu      sync.Mutex
	repos   map[string]*vcs.Repo
	proxies map[string]*Proxy
	roots   ttlCache[*RepoRoot]  // import path -> repository root
	metas   ttlCache[metaResult] // go-import prefix -> its page's tags
}

func (d *Direct) init() {
	d.initOnce.Do(func() {
		d.runner = &vcs.Runner{Program: d.Git, Timeout: d.GitTimeout, Env: d.Env, Logger: d.Logger}
		d.govcs, d.govcsErr = parseGOVCS(d.GOVCS)
		d.govcs = append(d.govcs, defaultGOVCS...)
	})
}

// workRoot returns the directory of work directories.
func (d *Direct) workRoot() (string, error) {
	if d.WorkDir != "" {
		return d.WorkDir, nil
	}
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no work directory for version control: %w", err)
	}
	return filepath.Join(dir, "modfetch", "vcs"), nil
}

// RepoRoot returns where the code of the module (or package) path lives.
// Answers are reused for a while; failures are not-found errors.
func (d *Direct) RepoRoot(ctx context.Context, path string) (*RepoRoot, error) {
	d.init()
	rr, err := d.roots.Do(ctx, path, func(ctx context.Context) (*RepoRoot, error) {
		sec := secureOnly
		if module.MatchPrefixPatterns(d.GOINSECURE, path) {
			sec = insecure
		}
		rr, err := d.repoRootForImportPath(ctx, path, sec)
		if d.Logger != nil {
			d.Logger.Debug("repository lookup", "path", path, "root", rr, "error", err)
		}
		return rr, err
	})
	if err != nil {
		if ctx.Err() != nil {
			return nil, err
		}
		if unreachable(err) {
			return nil, err
		}
		// As in the go command: not knowing where the code is means the
		// module does not exist here. Not reaching the server that would
		// say is a failure, not "not found" (a passing outage must not
		// be remembered as an absence).
		return nil, modfetch.NotExist(err)
	}
	cp := *rr
	return &cp, nil
}

// unreachable reports whether a repository lookup failed for want of an
// answer: a transport failure (DNS, connection, TLS, timeout) or an HTTP
// status other than 404 and 410.
func unreachable(err error) bool {
	var ue *url.Error
	var he *modfetch.HTTPError
	switch {
	case errors.As(err, &ue):
		return true
	case errors.As(err, &he):
		return he.StatusCode != http.StatusNotFound && he.StatusCode != http.StatusGone
	}
	return false
}

func (d *Direct) gitRepo(u string) (*vcs.Repo, error) {
	root, err := d.workRoot()
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if r := d.repos[u]; r != nil {
		return r, nil
	}
	r, err := vcs.NewRepo(vcs.RepoConfig{URL: u, WorkRoot: root, Runner: d.runner, RefsTTL: d.RefsTTL, NotFound: d.notFound})
	if err != nil {
		return nil, err
	}
	if d.repos == nil {
		d.repos = make(map[string]*vcs.Repo)
	}
	d.repos[u] = r
	return r, nil
}

func (d *Direct) proxyFor(u string) *Proxy {
	d.mu.Lock()
	defer d.mu.Unlock()
	if p := d.proxies[u]; p != nil {
		return p
	}
	p := &Proxy{URL: u, Client: d.Client, Logger: d.Logger}
	if d.proxies == nil {
		d.proxies = make(map[string]*Proxy)
	}
	d.proxies[u] = p
	return p
}

// maxCachedBytes bounds the memory of the lookups a Direct remembers.
const maxCachedBytes = 4 << 20

// A ttlCache remembers successful answers for discoveryTTL, within
// maxCachedBytes (an entry counts as its key and 512 bytes), and shares
// the computation of one key between concurrent callers. The zero value
// is ready to use.
type ttlCache[V any] struct {
	once   sync.Once
	m      lru.Cache[string, ttlEntry[V]]
	flight flight.Group[string, V]
}

type ttlEntry[V any] struct {
	v  V
	at time.Time
}

// Do returns the remembered answer for key, else f's (remembered when it
// is a success).
func (c *ttlCache[V]) Do(ctx context.Context, key string, f func(ctx context.Context) (V, error)) (V, error) {
	c.once.Do(func() {
		c.m.MaxCost = maxCachedBytes
		c.m.Cost = func(k string, _ ttlEntry[V]) int64 { return int64(len(k)) + 512 }
	})
	if e, ok := c.m.Get(key); ok && time.Since(e.at) < discoveryTTL {
		return e.v, nil
	}
	v, err, _ := c.flight.Do(ctx, key, func(ctx context.Context) (V, error) {
		v, err := f(ctx)
		if err == nil {
			c.m.Add(key, ttlEntry[V]{v, time.Now()})
		}
		return v, err
	})
	return v, err
}

// A target is what answers for one module in one call.
type target struct {
	proxy *Proxy         // for "mod" go-import tags
	code  *coderepo.Repo // for git, over a fresh session
}

func (d *Direct) lookup(ctx context.Context, path string) (*target, error) {
	if err := module.CheckPath(path); err != nil {
		return nil, err
	}
	rr, err := d.RepoRoot(ctx, path)
	if err != nil {
		return nil, err
	}
	switch rr.VCS {
	case "mod":
		return &target{proxy: d.proxyFor(rr.URL)}, nil
	case "git":
		repo, err := d.gitRepo(rr.URL)
		if err != nil {
			return nil, err
		}
		code, err := coderepo.New(repo.Session(), rr.Root, rr.Subdir, path)
		if err != nil {
			return nil, err
		}
		code.TempDir = d.TempDir
		return &target{code: code}, nil
	}
	return nil, fmt.Errorf("lookup %s: %s repository %s: %w", rr.Root, rr.VCS, rr.URL, ErrVCSNotSupported)
}

// moduleErr gives err module context unless it has some.
func moduleErr(path, version string, err error) error {
	var me *module.ModuleError
	if errors.As(err, &me) && me.Path == path {
		return err
	}
	return &module.ModuleError{Path: path, Version: version, Err: err}
}

// List implements [modfetch.Resolver]: the module's versions from the
// repository's tags (+incompatible ones included, as the go command
// lists them); no pseudo-versions.
func (d *Direct) List(ctx context.Context, path string) ([]string, error) {
	return answer(ctx, d, path, "", func(p *Proxy) ([]string, error) { return p.List(ctx, path) },
		func(code *coderepo.Repo) ([]string, error) { return code.Versions(ctx, "") })
}

// Stat implements [modfetch.Resolver]. rev may be a version, a
// pseudo-version (validated against the commit), a tag, a branch, a commit
// hash or a prefix of one, or "HEAD". An unknown revision is a not-found
// error.
func (d *Direct) Stat(ctx context.Context, path, rev string) (*modfetch.Info, error) {
	return answer(ctx, d, path, rev, func(p *Proxy) (*modfetch.Info, error) { return p.Stat(ctx, path, rev) },
		func(code *coderepo.Repo) (*modfetch.Info, error) {
			info, err := code.Stat(ctx, rev)
			return info.Clean(), err
		})
}

// Latest implements [modfetch.Resolver]: the version of the commit at the
// repository's HEAD (its tag, or a pseudo-version; for a tag Origin.Ref is
// "HEAD"). A repository without commits is a not-found error.
func (d *Direct) Latest(ctx context.Context, path string) (*modfetch.Info, error) {
	return answer(ctx, d, path, "", func(p *Proxy) (*modfetch.Info, error) { return p.Latest(ctx, path) },
		func(code *coderepo.Repo) (*modfetch.Info, error) {
			info, err := code.Latest(ctx)
			return info.Clean(), err
		})
}

// GoMod implements [modfetch.Resolver]: the module's go.mod at version,
// or "module <path>\n" for a module without one.
func (d *Direct) GoMod(ctx context.Context, path, version string) ([]byte, error) {
	return answer(ctx, d, path, version, func(p *Proxy) ([]byte, error) { return p.GoMod(ctx, path, version) },
		func(code *coderepo.Repo) ([]byte, error) {
			data, err := code.GoMod(ctx, version)
			if err == nil && data == nil {
				data = modfetch.LegacyGoMod(path)
			}
			return data, err
		})
}

// Zip implements [modfetch.Resolver]. The zip is built completely in a
// temporary file before Zip returns; closing the reader removes the file.
func (d *Direct) Zip(ctx context.Context, path, version string) (io.ReadCloser, error) {
	return answer(ctx, d, path, version, func(p *Proxy) (io.ReadCloser, error) { return p.Zip(ctx, path, version) },
		func(code *coderepo.Repo) (io.ReadCloser, error) {
			f, err := os.CreateTemp(d.TempDir, "modfetch-direct-*.zip")
			if err != nil {
				return nil, err
			}
			z := &tempZip{f}
			if err := code.Zip(ctx, f, version); err != nil {
				z.Close()
				return nil, err
			}
			if _, err := f.Seek(0, io.SeekStart); err != nil {
				z.Close()
				return nil, err
			}
			return z, nil
		})
}

// answer finds what answers for path and asks it: the module proxy of a
// "mod" go-import tag (whose errors are its own), or the repository's code,
// whose errors get module context.
func answer[T any](ctx context.Context, d *Direct, path, version string, viaProxy func(*Proxy) (T, error), viaCode func(*coderepo.Repo) (T, error)) (T, error) {
	var zero T
	t, err := d.lookup(ctx, path)
	if err != nil {
		return zero, moduleErr(path, version, err)
	}
	if t.proxy != nil {
		return viaProxy(t.proxy)
	}
	v, err := viaCode(t.code)
	if err != nil {
		return zero, moduleErr(path, version, err)
	}
	return v, nil
}

// RemoveWorkDir deletes the work directory of the repository holding
// path, waiting for (and then holding) its lock so that no fetch is cut
// short. Later requests fetch afresh. Paths served by a module proxy
// ("mod" go-import tags) have none.
func (d *Direct) RemoveWorkDir(ctx context.Context, path string) error {
	rr, err := d.RepoRoot(ctx, path)
	if err != nil {
		return err
	}
	if rr.VCS != "git" {
		return nil
	}
	repo, err := d.gitRepo(rr.URL)
	if err != nil {
		return err
	}
	return repo.Remove(ctx)
}

// tempZip is a zip in a temporary file, removed on Close.
type tempZip struct{ *os.File }

func (z *tempZip) Close() error {
	err := z.File.Close()
	os.Remove(z.File.Name())
	return err
}

// Unwrap returns the file, for modfetch.As.
func (z *tempZip) Unwrap() io.Reader { return z.File }
