package goenv

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"path/filepath"
	"time"

	"github.com/modfetch/modfetch"
	"github.com/modfetch/modfetch/cache"
	"github.com/modfetch/modfetch/checksum"
	"github.com/modfetch/modfetch/upstream"
)

// Options adjust the Resolver that [Config.Resolver] builds. The zero value
// gives the go command's behaviour.
type Options struct {
	// Direct fetches modules from their origin, for GOPROXY "direct" and
	// for GONOPROXY/GOPRIVATE modules. Nil means an upstream.Direct
	// configured from the Config: GOVCS, GOPRIVATE, GOINSECURE, git work
	// directories in GOMODCACHE/cache/vcs (shared with the go command),
	// and the HTTP client below for go-get discovery.
	Direct modfetch.Resolver

	// NoDirect leaves direct access unconfigured: GOPROXY "direct" and
	// GONOPROXY/GOPRIVATE modules fail with
	// upstream.ErrDirectNotConfigured.
	NoDirect bool

	// GoSum holds recorded hashes to check downloads against first (a
	// module's go.sum); nil means none, as outside a module.
	GoSum *checksum.GoSum

	// Client is the HTTP client for proxies and the checksum database;
	// nil means a client like http.DefaultClient. GOAUTH's netrc
	// credentials are added to a copy of it.
	Client *http.Client

	// Store replaces the module cache on disk; nil means a DirStore at
	// GOMODCACHE/cache/download, shared with the go command. The checksum
	// database's lookups and tiles are kept there too, under "sumdb/".
	Store cache.Store

	// MemoryBytes bounds a memory tier (a cache.MemStore) in front of
	// Store for small answers (.info, .mod, lists, checksum database
	// lookups and tiles), so that hot ones are not read from Store again.
	// Zero means 16 MiB; a negative value means none.
	MemoryBytes int64

	// MutableTTL is the cache's reuse time for lists, latest and branch
	// answers. Zero means never reuse them across calls, like the go
	// command (which always asks the network for those); a server sets a
	// positive value.
	MutableTTL time.Duration

	// WriteBehind puts a cache.WriteBehind in front of Store: fetched
	// modules and checksum database data reach Store in the background,
	// and are answered from where they are held meanwhile. For servers:
	// by default everything is in Store when a call returns, as the go
	// command leaves its module cache.
	WriteBehind bool

	// Retry bounds retries of proxy requests (a proxy followed by "|" is
	// asked once: see upstream.Config.Retry).
	Retry modfetch.Retry

	// Time budgets of each proxy request (see upstream.Proxy); zero means
	// the defaults.
	ConnectTimeout, FirstByteTimeout, IdleTimeout time.Duration

	// Breaker, if set, skips a proxy that keeps failing for a cooldown
	// (see upstream.Health). For servers: the go command has none.
	Breaker *upstream.Breaker

	// OnHealthChange, if set, is told when a proxy's breaker changes
	// state (see upstream.Health.OnChange).
	OnHealthChange func(name string, from, to upstream.HealthState, err error)

	// Hedge hedges small proxy requests along "|" (see
	// upstream.Chain.Hedge): zero for none, a delay, or upstream.HedgeAuto.
	Hedge time.Duration

	// Locker, if set, is shared by the replicas of a server that share
	// Store: of their requests for the same uncached .info, .mod or .zip,
	// one asks upstream and the others read its answer from Store (see
	// cache.Cache.Locker). It needs Store to hold what a Put returned, so
	// it cannot be combined with WriteBehind.
	Locker cache.Locker

	// Hooks, if set, are given to the layers: upstream requests, cache
	// answers and writes, verifications (see modfetch.Hooks; a
	// proxy.Handler serving the Stack takes them too, for its requests).
	Hooks *modfetch.Hooks

	// Logger, if set, receives the layers' diagnostics.
	Logger *slog.Logger
}

// A Stack is the composed Resolver the go command would use, with its
// layers exposed. Requests go to Cache, which asks Verify on a miss, which
// asks Chain.
type Stack struct {
	modfetch.Resolver // Cache

	Chain  *upstream.Chain   // GOPROXY walk with GONOPROXY routing
	Direct modfetch.Resolver // direct access (an *upstream.Direct by default); nil with NoDirect
	DB     *checksum.DB      // checksum database; nil when GOSUMDB=off
	Verify *checksum.Verify  // go.sum and checksum database checks
	Cache  *cache.Cache      // the module cache

	// Store is where Cache and DB keep answers for good (Options.Store,
	// or a DirStore at GOMODCACHE/cache/download).
	Store cache.Store

	// Memory is the memory tier in front of Store, nil with a negative
	// Options.MemoryBytes. A proxy.Handler serving the Stack takes it as
	// its Memory, to answer hot requests from memory.
	Memory *cache.MemStore

	// WriteBehind holds answers on their way to Store, with
	// Options.WriteBehind; else nil.
	WriteBehind *cache.WriteBehind
}

// Resolver builds the Resolver the go command would use with c's settings:
//
//   - upstream.Chain over GOPROXY, with "direct" and GONOPROXY modules
//     sent to opts.Direct (by default an upstream.Direct, which fetches
//     from git like the go command);
//   - checksum.Verify with GOSUMDB (reached through the first proxy that
//     serves it, else directly; its tiles and lookups cached under
//     GOMODCACHE/cache/download/sumdb and its latest signed tree head under
//     GOPATH[0]/pkg/sumdb, like the go command), GONOSUMDB and opts.GoSum;
//   - cache.Cache over a DirStore at GOMODCACHE/cache/download (or
//     opts.Store), behind a memory tier and, with opts.WriteBehind, a
//     cache.WriteBehind.
//
// GONOPROXY and GONOSUMDB empty mean GOPRIVATE, as for the go command.
// It returns the go command's errors for a bad GOPROXY or GOSUMDB.
func (c *Config) Resolver(opts *Options) (*Stack, error) {
	if opts == nil {
		opts = new(Options)
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if opts.Locker != nil && opts.WriteBehind {
		return nil, errors.New("goenv: Options.Locker with WriteBehind: replicas would miss what another one has not written yet, and fetch it again")
	}
	client, err := c.HTTPClient(opts.Client)
	if err != nil {
		return nil, err
	}
	direct := opts.Direct
	if direct == nil && !opts.NoDirect {
		direct = &upstream.Direct{
			WorkDir:    filepath.Join(c.GOMODCACHE, "cache", "vcs"),
			GOVCS:      c.GOVCS,
			GOPRIVATE:  c.GOPRIVATE,
			GOINSECURE: c.GOINSECURE,
			Client:     client,
			Logger:     opts.Logger,
		}
	}
	if opts.NoDirect {
		direct = nil
	}
	ucfg := &upstream.Config{
		NoProxy: cmp.Or(c.GONOPROXY, c.GOPRIVATE),
		Direct:  direct,
		Client:  client,
		Retry:   opts.Retry,
		Logger:  opts.Logger,

		ConnectTimeout:   opts.ConnectTimeout,
		FirstByteTimeout: opts.FirstByteTimeout,
		IdleTimeout:      opts.IdleTimeout,
		Breaker:          opts.Breaker,
		OnHealthChange:   opts.OnHealthChange,
		Hedge:            opts.Hedge,
		Hooks:            opts.Hooks,
	}
	chain, err := ucfg.Parse(c.GOPROXY)
	if err != nil {
		return nil, err
	}
	db, err := checksum.ParseGOSUMDB(c.GOSUMDB)
	if err != nil {
		return nil, err
	}
	st := &Stack{Chain: chain, Direct: direct, DB: db}
	st.Store = opts.Store
	if st.Store == nil {
		st.Store = &cache.DirStore{Dir: filepath.Join(c.GOMODCACHE, "cache", "download"), Logger: opts.Logger}
	}
	layers := st.Store
	if opts.WriteBehind {
		st.WriteBehind = &cache.WriteBehind{Next: layers, Logger: opts.Logger}
		layers = st.WriteBehind
	}
	if opts.MemoryBytes >= 0 {
		st.Memory = &cache.MemStore{MaxBytes: cmp.Or(opts.MemoryBytes, 16<<20)}
		layers = &cache.Tiered{Fast: st.Memory, Slow: layers}
	}
	if db != nil {
		db.FindURL = chain.SumDBURL
		db.Client = client
		db.Store = layers
		if gopath := filepath.SplitList(c.GOPATH); len(gopath) > 0 && gopath[0] != "" {
			db.StateDir = filepath.Join(gopath[0], "pkg", "sumdb")
		}
		db.Logger = opts.Logger
		db.NoSumDB = cmp.Or(c.GONOSUMDB, c.GOPRIVATE)
	}
	st.Verify = &checksum.Verify{Next: chain, GoSum: opts.GoSum, DB: db, Hooks: opts.Hooks}
	ttl := opts.MutableTTL
	if ttl == 0 {
		ttl = -1
	}
	st.Cache = &cache.Cache{Next: st.Verify, Store: layers, MutableTTL: ttl, Logger: opts.Logger, Locker: opts.Locker, Hooks: opts.Hooks}
	st.Resolver = st.Cache
	return st, nil
}

// Try implements [modfetch.Walker], so that a [modfetch.Querier] over the
// Stack answers each query from one GOPROXY entry at a time, like the go
// command: fn sees each entry behind the same checks and cache.
func (s *Stack) Try(path string, fn func(modfetch.Resolver) error) error {
	return s.Cache.Try(path, fn)
}

// ZipURL returns a URL of Store from which a client can fetch a stored
// zip itself (see cache.Cache.ZipURL), so that a proxy.Handler with
// RedirectZips serving the Stack can redirect to it.
func (s *Stack) ZipURL(ctx context.Context, path, version string, expiry time.Duration) (*url.URL, error) {
	return s.Cache.ZipURL(ctx, path, version, expiry)
}

// Flush waits until the writes that Options.WriteBehind left running have
// reached Store, or until ctx ends (returning its error).
func (s *Stack) Flush(ctx context.Context) error {
	if s.WriteBehind == nil {
		return nil
	}
	return s.WriteBehind.Flush(ctx)
}
