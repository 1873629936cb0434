package serve_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/modfetch/modfetch/ops/serve"
)

// listened is a slog.Handler that keeps the attributes of Run's
// "listening" record.
type listened struct {
	mu    sync.Mutex
	attrs map[string]string
}

func (l *listened) Enabled(context.Context, slog.Level) bool { return true }
func (l *listened) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *listened) WithGroup(string) slog.Handler            { return l }
func (l *listened) Handle(_ context.Context, r slog.Record) error {
	if r.Message != "listening" {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.attrs = map[string]string{}
	r.Attrs(func(a slog.Attr) bool { l.attrs[a.Key] = a.Value.String(); return true })
	return nil
}

func (l *listened) get(key string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.attrs[key]
}

func status(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func TestRunRefusesHalfTLS(t *testing.T) {
	for _, o := range []serve.Options{{TLSCert: "cert.pem"}, {TLSKey: "key.pem"}} {
		o.Addr, o.Handler = "127.0.0.1:0", http.NotFoundHandler()
		if err := serve.Run(context.Background(), o); err == nil || !strings.Contains(err.Error(), "go together") {
			t.Errorf("Run with TLS cert %q key %q = %v", o.TLSCert, o.TLSKey, err)
		}
	}
}

// TestRunRefusesBadCert: a certificate that does not load fails Run
// before it listens or says it does.
func TestRunRefusesBadCert(t *testing.T) {
	dir := t.TempDir()
	cert, key := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(cert, []byte("not a certificate"), 0o600)
	os.WriteFile(key, []byte("not a key"), 0o600)
	for _, pair := range [][2]string{{cert, key}, {filepath.Join(dir, "missing.pem"), key}} {
		listening := make(chan string, 1)
		logged := new(listened)
		err := serve.Run(context.Background(), serve.Options{Addr: "127.0.0.1:0", Handler: http.NotFoundHandler(),
			TLSCert: pair[0], TLSKey: pair[1], Listening: listening, Logger: slog.New(logged)})
		if err == nil {
			t.Errorf("Run with TLS cert %s and key %s succeeded", pair[0], pair[1])
		}
		if len(listening) != 0 || logged.get("addr") != "" {
			t.Errorf("Run with a bad certificate said it listened (%d sent, log addr %q)", len(listening), logged.get("addr"))
		}
	}
}

// TestRun: /healthz and /readyz are open, the handler and the main
// /metrics are behind Auth (and Wrap sees every guarded request), an
// admin listener takes /metrics off the main one, and the shutdown drains.
func TestRun(t *testing.T) {
	ok := func(body string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, body) })
	}
	auth := func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Authorization") == "" && !strings.Contains(r.URL.RawQuery, "token") {
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			h.ServeHTTP(w, r)
		})
	}
	for _, admin := range []bool{false, true} {
		ctx, cancel := context.WithCancel(context.Background())
		listening := make(chan string, 1)
		drained := make(chan struct{})
		wrapped := 0
		o := serve.Options{
			Addr: "127.0.0.1:0", Handler: ok("module"), Ready: ok("ready"), Metrics: ok("metrics"), Auth: auth,
			Wrap: func(h http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { wrapped++; h.ServeHTTP(w, r) })
			},
			Drain:     func(context.Context) error { close(drained); return nil },
			Listening: listening,
		}
		logged := new(listened)
		o.Logger = slog.New(logged)
		if admin {
			o.AdminAddr = "127.0.0.1:0"
		}
		errc := make(chan error, 1)
		go func() { errc <- serve.Run(ctx, o) }()
		mainAddr := <-listening
		base := "http://" + mainAddr
		// The log names the bound addresses, logged before Listening.
		if got := logged.get("addr"); got != mainAddr {
			t.Errorf("logged addr %q, want %q", got, mainAddr)
		}
		adminAddr := logged.get("admin")
		if admin != (adminAddr != "") || strings.HasSuffix(adminAddr, ":0") {
			t.Errorf("admin=%v: logged admin address %q", admin, adminAddr)
		}
		wantMain := map[string]int{"/healthz": 200, "/readyz": 200, "/example.com/m/@v/list": 401, "/example.com/m/@v/list?token": 200, "/metrics?token": 200, "/metrics": 401}
		if admin {
			wantMain["/readyz"] = 401 // not served on main: a guarded path like any other
			// Only on the admin listener: on the main one, /metrics is a
			// path like any other, for the guarded handler.
			resp, err := http.Get(base + "/metrics?token")
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if string(body) != "module" {
				t.Errorf("main /metrics with an admin listener: %q, want the handler's answer", body)
			}
			for p, want := range map[string]int{"/metrics": 200, "/readyz": 200, "/debug/pprof/": 200} {
				if got := status(t, "http://"+adminAddr+p); got != want {
					t.Errorf("admin %s: %d, want %d", p, got, want)
				}
			}
		}
		for p, want := range wantMain {
			if got := status(t, base+p); got != want {
				t.Errorf("admin=%v: main %s: %d, want %d", admin, p, got, want)
			}
		}
		if wrapped == 0 {
			t.Errorf("admin=%v: Wrap saw no request", admin)
		}
		cancel()
		if err := <-errc; err != nil {
			t.Errorf("Run after a requested shutdown = %v", err)
		}
		select {
		case <-drained:
		default:
			t.Error("Drain not called")
		}
	}
}
