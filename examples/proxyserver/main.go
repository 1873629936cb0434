// Command proxyserver is a caching, verifying Go module proxy built on
// modfetch.
//
//	go run ./examples/proxyserver [-addr localhost:3000] [-cache DIR]
//		[-connect-timeout 10s] [-first-byte-timeout 30s] [-idle-timeout 30s]
//		[-breaker-failures 5] [-breaker-cooldown 10s] [-hedge DELAY|auto]
//
// It fetches from the upstreams the go command would use (GOPROXY, by
// default https://proxy.golang.org,direct), verifies every go.mod file and
// zip against the checksum database (GOSUMDB, by default sum.golang.org)
// before keeping it, keeps modules in DIR/download in the go command's
// module cache layout, and serves them, and the checksum database under
// /sumdb/, to go commands pointed at it:
//
//	GOPROXY=http://localhost:3000 go mod download
//
// GOPRIVATE, GONOPROXY and GONOSUMDB are honoured: private modules never
// reach a public proxy or checksum database.
//
// Each upstream proxy request has time budgets (to connect, for the
// answer, and at least 1 KiB per idle interval of a body), and each proxy
// a circuit breaker: after -breaker-failures failures in a row it is
// skipped for -breaker-cooldown (doubling while probes fail), so that in
// GOPROXY="http://a|http://b" a dead first mirror costs one timeout, not
// one per request. A failure after a "," still ends the walk, as for the
// go command. Each upstream's state changes are logged. With -hedge, a
// small request (.info, .mod, list, latest) to a mirror followed by "|"
// that has not answered within the delay (or, with "auto", the mirror's
// observed 95th-percentile latency) is sent to the next mirror as well,
// and the first answer is taken.
//
// /healthz answers "ok" while the process runs. /readyz answers with a
// JSON object of each upstream's health and the store's, 200 when the
// store is usable and some upstream is (or direct access is configured),
// else 503; it sends no upstream request. Logs
// are structured (log/slog) on standard error.
//
// SIGINT or SIGTERM stops the server: it accepts no more connections, and
// requests in flight get -shutdown-grace (30s) to finish. Connections
// still open after that are closed (their clients see a cut transfer,
// which the go command reports, and a later request can fetch again).
// Then cache writes still under way get the same time to reach the store;
// any not done by then are dropped. Every write is atomic, so nothing
// partial is ever visible, and leftover temporary files are removed by a
// later run (cache.DirStore's clean-up). The exit status is 0 after a
// requested shutdown, whatever was cut off, and each cut is logged.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/modfetch/modfetch/cache"
	"github.com/modfetch/modfetch/checksum"
	"github.com/modfetch/modfetch/goenv"
	"github.com/modfetch/modfetch/proxy"
	"github.com/modfetch/modfetch/upstream"
)

func main() {
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], logger, nil); err != nil {
		logger.Error("proxyserver failed", "error", err)
		os.Exit(1)
	}
}

// run serves until ctx ends. If ready is not nil, it receives the
// listening address once the server accepts connections.
func run(ctx context.Context, args []string, logger *slog.Logger, ready chan<- string) error {
	fs := flag.NewFlagSet("proxyserver", flag.ContinueOnError)
	addr := fs.String("addr", "localhost:3000", "address to listen on")
	defaultCache := "modfetch-proxy"
	if dir, err := os.UserCacheDir(); err == nil {
		defaultCache = filepath.Join(dir, "modfetch-proxy")
	}
	cacheDir := fs.String("cache", defaultCache, "directory for the module cache (DIR/download) and checksum database state (DIR/sumdb)")
	connectTimeout := fs.Duration("connect-timeout", 10*time.Second, "time budget of an upstream connection (0: none)")
	firstByteTimeout := fs.Duration("first-byte-timeout", 30*time.Second, "time budget of an upstream answer, from the request (0: none)")
	idleTimeout := fs.Duration("idle-timeout", 30*time.Second, "interval in which an upstream body must send at least 1 KiB (0: none)")
	breakerFailures := fs.Int("breaker-failures", 5, "upstream failures in a row that make it skipped for a cooldown (0: no breaker)")
	grace := fs.Duration("shutdown-grace", 30*time.Second, "time requests in flight, then cache writes, get to finish at shutdown")
	hedge := fs.String("hedge", "", `hedge small requests along "|" after this delay, or "auto" (the mirror's p95 latency); empty: no hedging`)
	breakerCooldown := fs.Duration("breaker-cooldown", 10*time.Second, "first cooldown of a skipped upstream; it doubles, up to 5m, while probes fail")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	dir, err := filepath.Abs(*cacheDir)
	if err != nil {
		return err
	}

	cfg, err := goenv.Load()
	if err != nil {
		return err
	}
	if err := checkNotSelf(cfg.GOPROXY, *addr); err != nil {
		return err
	}
	download := filepath.Join(dir, "download")
	opts := &goenv.Options{
		Store:       &cache.DirStore{Dir: download, Logger: logger},
		MutableTTL:  time.Minute,
		WriteBehind: true,
		Logger:      logger,

		ConnectTimeout:   orNone(*connectTimeout),
		FirstByteTimeout: orNone(*firstByteTimeout),
		IdleTimeout:      orNone(*idleTimeout),
		OnHealthChange: func(name string, from, to upstream.HealthState, err error) {
			level := slog.LevelWarn
			if to == upstream.Healthy {
				level = slog.LevelInfo
			}
			logger.Log(context.Background(), level, "upstream state changed", "upstream", name, "from", from, "to", to, "error", err)
		},
	}
	switch *hedge {
	case "":
	case "auto":
		opts.Hedge = upstream.HedgeAuto
	default:
		d, err := time.ParseDuration(*hedge)
		if err != nil || d <= 0 {
			return fmt.Errorf("-hedge %q: want a positive duration or auto", *hedge)
		}
		opts.Hedge = d
	}
	if *breakerFailures > 0 {
		opts.Breaker = &upstream.Breaker{Failures: *breakerFailures, Cooldown: *breakerCooldown}
	}
	stack, err := cfg.Resolver(opts)
	if err != nil {
		return err
	}
	// Hot answers are served straight from the stack's memory tier.
	h := &proxy.Handler{Resolver: stack, Memory: stack.Memory, Logger: logger}
	if stack.DB != nil {
		// The database's verified lookups and tiles are kept with the
		// modules (DIR/download/sumdb, the go command's layout), its tree
		// head beside them.
		stack.DB.StateDir = filepath.Join(dir, "sumdb")
		h.SumDBs = []*checksum.DB{stack.DB}
	}

	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "ok\n")
	})
	mux.Handle("/readyz", &readiness{chain: stack.Chain, store: opts.Store})
	mux.Handle("/", logRequests(logger, h))

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	logger.Info("serving modules",
		"addr", ln.Addr().String(), "cache", download, "GOPROXY", cfg.GOPROXY, "GOSUMDB", cfg.GOSUMDB,
		"hint", "GOPROXY=http://"+ln.Addr().String()+" go mod download")
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	if ready != nil {
		ready <- ln.Addr().String()
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	logger.Info("shutting down", "grace", *grace)
	sctx, cancel := context.WithTimeout(context.Background(), *grace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		logger.Warn("requests still running after the grace period: closing their connections", "error", err)
		srv.Close()
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	// What was fetched but is still being written to the cache.
	fctx, fcancel := context.WithTimeout(context.Background(), *grace)
	defer fcancel()
	if err := stack.Flush(fctx); err != nil {
		logger.Warn("cache writes not finished after the grace period are dropped (nothing partial is kept)", "error", err)
	}
	return nil
}

// orNone turns a flag's 0 ("none") into the library's negative value.
func orNone(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}

// readiness answers /readyz from what the server already knows: each
// upstream's health record and one read of the store. It sends no
// upstream request.
type readiness struct {
	chain *upstream.Chain
	store cache.Store
}

type readyReport struct {
	Ready     bool                   `json:"ready"`
	Upstreams []upstream.HealthStats `json:"upstreams"`
	Direct    bool                   `json:"direct"` // GOPROXY has "direct"
	Store     storeReport            `json:"store"`
}

type storeReport struct {
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
}

func (rd *readiness) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	now := time.Now()
	rep := readyReport{Upstreams: rd.chain.Health(), Store: storeReport{OK: true}}
	usable := false
	for _, e := range rd.chain.Entries {
		rep.Direct = rep.Direct || e.Direct
	}
	for _, st := range rep.Upstreams {
		usable = usable || st.Usable(now)
	}
	// A key no one writes: not found means the store answers.
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	if rc, err := rd.store.Get(ctx, "modfetch/readyz"); err == nil {
		rc.Close()
	} else if !errors.Is(err, fs.ErrNotExist) {
		rep.Store = storeReport{Error: err.Error()}
	}
	rep.Ready = rep.Store.OK && (usable || rep.Direct || len(rep.Upstreams) == 0)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if !rep.Ready {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(rep)
}

// checkNotSelf refuses a GOPROXY that names this server: it would ask
// itself for every module.
func checkNotSelf(goproxy, addr string) error {
	list, err := upstream.Parse(goproxy)
	if err != nil {
		return nil // reported per request, like the go command does
	}
	lhost, lport, err := net.SplitHostPort(addr)
	if err != nil {
		return nil
	}
	loopback := func(h string) bool {
		ip := net.ParseIP(h)
		return h == "localhost" || ip != nil && ip.IsLoopback()
	}
	for _, e := range list {
		u, err := url.Parse(e.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Port() != lport {
			continue
		}
		if h := u.Hostname(); h == lhost || loopback(h) && (lhost == "" || loopback(lhost)) {
			return fmt.Errorf("GOPROXY=%s names this server (%s); give the server its upstream, e.g. GOPROXY=https://proxy.golang.org,direct", goproxy, addr)
		}
	}
	return nil
}

// logRequests logs one record per request: method, path, status, bytes,
// duration, and how it ended: "complete"; "aborted" when the handler cut
// the response off after its status was sent (a zip that failed
// verification in the middle; logged as a warning, since the status says
// 200); "client left" when the client went away first.
func logRequests(logger *slog.Logger, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &recorder{ResponseWriter: w, status: http.StatusOK}
		defer func() {
			p := recover()
			level, outcome := slog.LevelInfo, "complete"
			switch {
			case p != nil:
				level, outcome = slog.LevelWarn, "aborted"
			case r.Context().Err() != nil:
				outcome = "client left"
			}
			logger.LogAttrs(r.Context(), level, "request",
				slog.String("method", r.Method), slog.String("path", r.URL.Path),
				slog.Int("status", rec.status), slog.Int64("bytes", rec.bytes),
				slog.Duration("duration", time.Since(start)), slog.String("outcome", outcome))
			if p != nil {
				panic(p) // let net/http abort the response as the handler asked
			}
		}()
		h.ServeHTTP(rec, r)
	})
}

// recorder notes the status and size of a response. It forwards ReadFrom
// so that files still go out through sendfile.
type recorder struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (r *recorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(p []byte) (int, error) {
	n, err := r.ResponseWriter.Write(p)
	r.bytes += int64(n)
	return n, err
}

func (r *recorder) ReadFrom(src io.Reader) (int64, error) {
	var n int64
	var err error
	if rf, ok := r.ResponseWriter.(io.ReaderFrom); ok {
		n, err = rf.ReadFrom(src)
	} else {
		n, err = io.Copy(struct{ io.Writer }{r.ResponseWriter}, src)
	}
	r.bytes += n
	return n, err
}

func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
