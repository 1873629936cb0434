package goenv

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/modfetch/modfetch"
	"github.com/modfetch/modfetch/checksum"
	"github.com/modfetch/modfetch/proxy"
	"github.com/modfetch/modfetch/upstream"
)

// ServerOptions adjust the module proxy that [Config.Server] builds. The
// zero value is a server with the go command's upstreams, cache and
// checksum database.
type ServerOptions struct {
	// Options build the Stack the server serves (store, TTLs,
	// write-behind, time budgets, breaker, hedging, lock, hooks, logger).
	// A server usually sets MutableTTL (a minute, say) and WriteBehind.
	Options

	// SumDBStateDir, if set, is where the checksum database keeps its
	// latest signed tree head, instead of GOPATH/pkg/sumdb.
	SumDBStateDir string

	// Filter, if set, wraps the Resolver the server answers from (an
	// allow/deny rules.Filter, say); the checksum database is served as
	// it is.
	Filter func(modfetch.Resolver) modfetch.Resolver

	// RedirectZips is proxy.Handler.RedirectZips: with an object store
	// that signs URLs, stored zips are answered with redirects to it.
	RedirectZips time.Duration

	// MutableMaxAge and NotFoundMaxAge are proxy.Handler's Cache-Control
	// lifetimes.
	MutableMaxAge, NotFoundMaxAge time.Duration
}

// A Server is a caching, verifying module proxy: the [proxy.Handler]
// that serves the GOPROXY protocol and the checksum database under
// /sumdb/, over the [Stack] the go command would use, with one checksum
// database wired to both verification and /sumdb/ and one Close that
// drains everything. Serve it with net/http; mount Ready at a readiness
// path.
type Server struct {
	Stack   *Stack
	Handler *proxy.Handler
}

// Server builds a module proxy from c's settings and opts.
func (c *Config) Server(opts *ServerOptions) (*Server, error) {
	if opts == nil {
		opts = new(ServerOptions)
	}
	stack, err := c.Resolver(&opts.Options)
	if err != nil {
		return nil, err
	}
	var served modfetch.Resolver = stack
	if opts.Filter != nil {
		served = opts.Filter(stack)
	}
	h := &proxy.Handler{
		Resolver: served,
		// Hot answers come from memory without asking the Resolver: not
		// past a Filter, which must see every request.
		Memory:         stack.Memory,
		Logger:         opts.Logger,
		Hooks:          opts.Hooks,
		RedirectZips:   opts.RedirectZips,
		MutableMaxAge:  opts.MutableMaxAge,
		NotFoundMaxAge: opts.NotFoundMaxAge,
	}
	if opts.Filter != nil {
		h.Memory = nil
	}
	if stack.DB != nil {
		if opts.SumDBStateDir != "" {
			stack.DB.StateDir = opts.SumDBStateDir
		}
		h.SumDBs = []*checksum.DB{stack.DB}
	}
	return &Server{Stack: stack, Handler: h}, nil
}

// ServeHTTP serves the module proxy.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.Handler.ServeHTTP(w, r) }

// Close waits until what the server fetched has reached its store (the
// writes Options.WriteBehind left running), or until ctx ends, returning
// its error; writes not done by then are dropped, never left half
// written. Call it after http.Server.Shutdown.
func (s *Server) Close(ctx context.Context) error {
	return s.Stack.Flush(ctx)
}

// A Readiness is the server's state as Ready reports it.
type Readiness struct {
	Ready     bool                   `json:"ready"`
	Upstreams []upstream.HealthStats `json:"upstreams"`
	Direct    bool                   `json:"direct"` // GOPROXY has "direct"
	Store     StoreState             `json:"store"`
}

// StoreState says whether the store answers (Error is a short reason for
// clients; the detail is logged).
type StoreState struct {
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
}

// Readiness reports whether the server can answer: its store answers (one
// read of a key no one writes) and some upstream is usable (its breaker
// is not open), or direct access is configured, or there is no upstream.
// It sends no upstream request.
func (s *Server) Readiness(ctx context.Context) Readiness {
	now := time.Now()
	rep := Readiness{Upstreams: s.Stack.Chain.Health(), Store: StoreState{OK: true}}
	usable := false
	for _, e := range s.Stack.Chain.Entries {
		rep.Direct = rep.Direct || e.Direct
	}
	for _, st := range rep.Upstreams {
		usable = usable || st.Usable(now)
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if rc, err := s.Stack.Store.Get(ctx, "modfetch/readyz"); err == nil {
		rc.Close()
	} else if !errors.Is(err, fs.ErrNotExist) {
		// The detail (a host, a path) goes to the log, not to clients.
		rep.Store = StoreState{Error: "the store does not answer"}
		if s.Handler.Logger != nil {
			s.Handler.Logger.Warn("readiness: store check failed", "error", err)
		}
	}
	rep.Ready = rep.Store.OK && (usable || rep.Direct || len(rep.Upstreams) == 0)
	return rep
}

// Ready serves Readiness as JSON: 200 when ready, else 503.
func (s *Server) Ready() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rep := s.Readiness(r.Context())
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		if !rep.Ready {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.Encode(rep)
	})
}

// CheckNotSelf refuses a GOPROXY that names a server listening on addr:
// that server would ask itself for every module.
func (c *Config) CheckNotSelf(addr string) error {
	goproxy := c.GOPROXY
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
