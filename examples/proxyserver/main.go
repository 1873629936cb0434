package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/modfetch/modfetch"
	"github.com/modfetch/modfetch/cache"
	"github.com/modfetch/modfetch/cache/redislock"
	"github.com/modfetch/modfetch/cache/s3store"
	"github.com/modfetch/modfetch/goenv"
	"github.com/modfetch/modfetch/ops/auth"
	"github.com/modfetch/modfetch/ops/logbuf"
	"github.com/modfetch/modfetch/ops/metrics"
	"github.com/modfetch/modfetch/ops/serve"
	"github.com/modfetch/modfetch/proxy"
	"github.com/modfetch/modfetch/upstream"
)

func main() {
	out := logbuf.New(os.Stderr, 64<<10, 100*time.Millisecond)
	logger := slog.New(slog.NewTextHandler(out, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], logger, nil)
	stop()
	if err != nil {
		logger.Error("proxyserver failed", "error", err)
	}
	out.Close()
	if err != nil {
		os.Exit(1)
	}
}

// run serves until ctx ends. If ready is not nil, it receives the
// listening address once the server accepts connections.
func run(ctx context.Context, args []string, logger *slog.Logger, ready chan<- string) error {
	fs := flag.NewFlagSet("proxyserver", flag.ContinueOnError)
	userCache, _ := os.UserCacheDir() // "" (the current directory) if none
	addr := fs.String("addr", "localhost:3000", "address to listen on")
	cacheDir := fs.String("cache", filepath.Join(userCache, "modfetch-proxy"), "directory for the module cache (DIR/download, unless -store) and checksum database state (DIR/sumdb)")
	storeURL := fs.String("store", "", "keep modules in an S3-compatible bucket: s3://BUCKET/PREFIX?endpoint=HOST:PORT&region=REGION&insecure=true (credentials from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)")
	lockURL := fs.String("lock", "", "Redis through which replicas sharing -store agree that one of them fetches an uncached module: redis://[:PASSWORD@]HOST:PORT/DB")
	lockTTL := fs.Duration("lock-ttl", 15*time.Second, "expiry of a -lock lock its holder stopped renewing (a replica that died)")
	redirect := fs.Bool("redirect", false, "answer requests for zips stored in -store with redirects to presigned URLs")
	connect := fs.Duration("connect-timeout", 10*time.Second, "time budget of an upstream connection (0: none)")
	firstByte := fs.Duration("first-byte-timeout", 30*time.Second, "time budget of an upstream answer, from the request (0: none)")
	idle := fs.Duration("idle-timeout", 30*time.Second, "interval in which an upstream body must send at least 1 KiB (0: none)")
	failures := fs.Int("breaker-failures", 5, "upstream failures in a row that make it skipped for a cooldown (0: no breaker)")
	cooldown := fs.Duration("breaker-cooldown", 10*time.Second, "first cooldown of a skipped upstream; it doubles, up to 5m, while probes fail")
	hedge := fs.String("hedge", "", `hedge small requests along "|" after this delay, or "auto" (the mirror's p95 latency); empty: no hedging`)
	grace := fs.Duration("shutdown-grace", 30*time.Second, "time requests in flight, then cache writes, get to finish at shutdown")
	tlsCert, tlsKey := fs.String("tls-cert", "", "TLS certificate file (with -tls-key): serve HTTPS"), fs.String("tls-key", "", "TLS key file")
	tokens, htpasswd := fs.String("tokens", "", "file of bearer tokens, one per line: require one"), fs.String("htpasswd", "", "bcrypt htpasswd file: require a user's password")
	rulesFile := fs.String("rules", "", "allow/deny rules file (see package rules), read again on SIGHUP")
	adminAddr := fs.String("admin-addr", "", "address of a listener for /metrics, /readyz and /debug/pprof/ (then not on -addr)")
	accessLog := fs.String("access-log", "info", "level of the access records: debug, info, warn, or off")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx) // what run starts ends with it
	defer cancel()
	dir, err := filepath.Abs(*cacheDir)
	if err != nil {
		return err
	}
	cfg, err := goenv.Load()
	if err != nil {
		return err
	}
	if err := cfg.CheckNotSelf(*addr); err != nil {
		return err
	}
	m := metrics.New(nil)
	opts := &goenv.ServerOptions{SumDBStateDir: filepath.Join(dir, "sumdb"), Options: goenv.Options{
		Store: &cache.DirStore{Dir: filepath.Join(dir, "download"), Logger: logger}, MutableTTL: time.Minute,
		ConnectTimeout: orNone(*connect), FirstByteTimeout: orNone(*firstByte), IdleTimeout: orNone(*idle),
		Hooks: m.Hooks(), Logger: logger, OnHealthChange: logHealth(logger),
	}}
	if *storeURL != "" {
		if opts.Store, err = s3store.Open(ctx, *storeURL); err != nil {
			return fmt.Errorf("-store: %w", err)
		}
		if *redirect {
			opts.RedirectZips = 10 * time.Minute
		}
	} else if *redirect {
		return errors.New("-redirect needs -store (an object store that presigns URLs)")
	}
	if *lockURL != "" {
		l, err := redislock.Open(*lockURL)
		if err != nil {
			return fmt.Errorf("-lock: %w", err)
		}
		defer l.Close()
		l.TTL, opts.Locker = *lockTTL, l
	}
	// Replicas must find in the store what another fetched as soon as its
	// lock is released: no write-behind with a lock.
	opts.WriteBehind = opts.Locker == nil
	if *failures > 0 {
		opts.Breaker = &upstream.Breaker{Failures: *failures, Cooldown: *cooldown}
	}
	if opts.Hedge, err = parseHedge(*hedge); err != nil {
		return err
	}
	if *rulesFile != "" {
		filter, err := watchRules(ctx, *rulesFile, logger)
		if err != nil {
			return err
		}
		opts.Filter = func(r modfetch.Resolver) modfetch.Resolver { filter.Next = r; return filter }
	}
	authn, err := auth.Load(*tokens, *htpasswd)
	if err != nil {
		return err
	}
	s, err := cfg.Server(opts)
	if err != nil {
		return err
	}
	m.WatchChain(s.Stack.Chain)
	var logLevel slog.Level
	if err := logLevel.UnmarshalText([]byte(*accessLog)); err != nil && *accessLog != "off" {
		return fmt.Errorf("-access-log: %v", err)
	}
	logger.Info("serving modules", "addr", *addr, "tls", *tlsCert != "", "store", cmp.Or(*storeURL, filepath.Join(dir, "download")), "GOPROXY", cfg.GOPROXY, "GOSUMDB", cfg.GOSUMDB)
	return serve.Run(ctx, serve.Options{
		Addr: *addr, AdminAddr: *adminAddr, TLSCert: *tlsCert, TLSKey: *tlsKey,
		Handler: m.Instrument(s), Ready: s.Ready(), Metrics: m.Handler(), Auth: authn.Require,
		Wrap: func(h http.Handler) http.Handler {
			if *accessLog == "off" {
				return h
			}
			return proxy.AccessLog(logger, logLevel, h)
		},
		Grace: *grace, Drain: s.Close, Logger: logger, Listening: ready,
	})
}
