package serve

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"
)

// DefaultGrace is the grace period of a zero Options.Grace.
const DefaultGrace = 30 * time.Second

// Options configure Run. Handler is required.
type Options struct {
	Addr            string // main listener; "" means ":http" (or ":https" with TLS)
	AdminAddr       string // admin listener for /metrics, /readyz, /debug/pprof/; "" for none
	TLSCert, TLSKey string // serve HTTPS on Addr when set
	Handler         http.Handler
	Ready           http.Handler                    // /readyz; nil for none
	Metrics         http.Handler                    // /metrics; nil for none
	Auth            func(http.Handler) http.Handler // wraps Handler and main /metrics; nil for none
	Wrap            func(http.Handler) http.Handler // wraps everything Auth guards, outside it (an access log); nil for none
	Grace           time.Duration                   // for requests in flight, then for drain
	Drain           func(ctx context.Context) error // called after the servers stopped
	Logger          *slog.Logger                    // nil: slog.Default()
	Listening       chan<- string                   // receives the main listener's address
}

// Run serves until ctx ends, then shuts down gracefully. It returns nil
// after a shutdown ctx asked for, whatever was cut off (each cut is
// logged), and the error of a server that failed otherwise. Once its
// listeners are bound it logs "listening" with their addresses (addr,
// and admin if any), so that a port of 0 can be asked for and found.
func Run(ctx context.Context, o Options) error {
	if (o.TLSCert == "") != (o.TLSKey == "") {
		return errors.New("serve: a TLS certificate and key go together") // not plain HTTP by mistake
	}
	log := o.Logger
	if log == nil {
		log = slog.Default()
	}
	grace := o.Grace
	if grace <= 0 {
		grace = DefaultGrace
	}
	guard := func(h http.Handler) http.Handler {
		if o.Auth != nil {
			h = o.Auth(h)
		}
		if o.Wrap != nil {
			h = o.Wrap(h)
		}
		return h
	}
	mux, admin := http.NewServeMux(), http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok\n") })
	// With an admin listener, /readyz and /metrics are served there only.
	if o.Ready != nil {
		admin.Handle("/readyz", o.Ready)
		if o.AdminAddr == "" {
			mux.Handle("/readyz", o.Ready)
		}
	}
	if o.Metrics != nil {
		admin.Handle("/metrics", o.Metrics)
		if o.AdminAddr == "" {
			mux.Handle("/metrics", guard(o.Metrics))
		}
	}
	admin.HandleFunc("/debug/pprof/", pprof.Index)
	admin.HandleFunc("/debug/pprof/profile", pprof.Profile)
	admin.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.Handle("/", guard(o.Handler))

	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	addr := o.Addr
	if addr == "" {
		addr = ":http"
		if o.TLSCert != "" {
			addr = ":https"
		}
	}
	if o.TLSCert != "" {
		// Loaded before listening: a bad pair fails Run before it says
		// it listens.
		cert, err := tls.LoadX509KeyPair(o.TLSCert, o.TLSKey)
		if err != nil {
			return fmt.Errorf("serve: %w", err)
		}
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	listening := []any{"addr", ln.Addr().String()}
	if o.AdminAddr != "" {
		aln, err := net.Listen("tcp", o.AdminAddr)
		if err != nil {
			ln.Close()
			return err
		}
		listening = append(listening, "admin", aln.Addr().String())
		asrv := &http.Server{Handler: admin, ReadHeaderTimeout: 10 * time.Second}
		go asrv.Serve(aln)
		defer asrv.Close()
	}
	errc := make(chan error, 1)
	go func() {
		if o.TLSCert != "" {
			errc <- srv.ServeTLS(ln, "", "") // srv.TLSConfig's certificate
		} else {
			errc <- srv.Serve(ln)
		}
	}()
	log.Info("listening", listening...)
	if o.Listening != nil {
		o.Listening <- ln.Addr().String()
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down", "grace", grace)
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Warn("requests still running after the grace period: closing their connections", "error", err)
		srv.Close()
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	if o.Drain != nil {
		dctx, dcancel := context.WithTimeout(context.Background(), grace)
		defer dcancel()
		if err := o.Drain(dctx); err != nil {
			log.Warn("work not drained after the grace period is dropped (nothing partial is kept)", "error", err)
		}
	}
	return nil
}
