package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modfetch/modfetch/goenv"
	"github.com/modfetch/modfetch/internal/fixture"
	"github.com/modfetch/modfetch/upstream"
)

func TestServerRunsAndStops(t *testing.T) {
	upstream := httptest.NewServer(&fixture.Server{Set: fixture.Standard()})
	defer upstream.Close()
	setEnv(t, upstream.URL)
	var logs strings.Builder
	// The handler serialises its writes; logs is read after run returns.
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	errc := make(chan error, 1)
	go func() { errc <- run(ctx, []string{"-addr", "127.0.0.1:0", "-cache", t.TempDir()}, logger, ready) }()
	var addr string
	select {
	case addr = <-ready:
	case err := <-errc:
		t.Fatal(err)
	}
	get := func(p string) (int, string) {
		resp, err := http.Get("http://" + addr + p)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/healthz"); code != 200 || body != "ok\n" {
		t.Fatalf("/healthz = %d %q", code, body)
	}
	if code, body := get("/example.com/hello/@v/list"); code != 200 || body != "v1.0.0\nv1.1.0\n" {
		t.Fatalf("list = %d %q", code, body)
	}
	if code, _ := get("/example.com/hello/@v/v1.1.0.zip"); code != 200 {
		t.Fatalf("zip = %d", code)
	}
	cancel()
	select {
	case err := <-errc:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("server did not stop")
	}
	out := logs.String()
	for _, want := range []string{"serving modules", `path=/example.com/hello/@v/list status=200`, "shutting down"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
}

// TestReadiness: /readyz reports each upstream's breaker and the store,
// and the state changes are logged.
func TestReadiness(t *testing.T) {
	set := fixture.Standard()
	good := httptest.NewServer(&fixture.Server{Set: set})
	defer good.Close()
	var badHits atomic.Int64
	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		badHits.Add(1)
		http.Error(w, "down", http.StatusBadGateway)
	}))
	defer bad.Close()
	for _, tt := range []struct {
		goproxy   string
		wantCode  int // of the module request
		wantReady int // /readyz after it
	}{
		{bad.URL + "|" + good.URL, 200, 200},
		{bad.URL, 502, 503},
	} {
		setEnv(t, tt.goproxy)
		var logs syncBuffer
		logger := slog.New(slog.NewTextHandler(&logs, nil))
		ctx, cancel := context.WithCancel(context.Background())
		ready := make(chan string, 1)
		errc := make(chan error, 1)
		go func() {
			errc <- run(ctx, []string{"-addr", "127.0.0.1:0", "-cache", t.TempDir(), "-breaker-failures", "1", "-breaker-cooldown", "1h"}, logger, ready)
		}()
		var addr string
		select {
		case addr = <-ready:
		case err := <-errc:
			t.Fatal(err)
		}
		get := func(p string) (int, []byte) {
			resp, err := http.Get("http://" + addr + p)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, b
		}
		readyz := func() (int, goenv.Readiness) {
			code, body := get("/readyz")
			var rep goenv.Readiness
			if err := json.Unmarshal(body, &rep); err != nil {
				t.Fatalf("/readyz body %q: %v", body, err)
			}
			return code, rep
		}
		if code, rep := readyz(); code != 200 || !rep.Ready || !rep.Store.OK || rep.Upstreams[0].State != upstream.Healthy {
			t.Fatalf("%s: /readyz before = %d %+v", tt.goproxy, code, rep)
		}
		before := badHits.Load()
		for range 3 {
			if code, body := get("/example.com/hello/@v/v1.0.0.info"); code != tt.wantCode {
				t.Fatalf("%s: .info = %d %s", tt.goproxy, code, body)
			}
		}
		// One request opened the breaker; the others did not ask.
		if n := badHits.Load() - before; n != 1 {
			t.Errorf("%s: failing upstream asked %d times, want 1", tt.goproxy, n)
		}
		code, rep := readyz()
		if code != tt.wantReady || rep.Upstreams[0].State != upstream.Unavailable || rep.Upstreams[0].Name != bad.URL {
			t.Errorf("%s: /readyz after = %d %+v", tt.goproxy, code, rep)
		}
		cancel()
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
		if out := logs.String(); !strings.Contains(out, "upstream state changed") || !strings.Contains(out, "to=unavailable") {
			t.Errorf("log lacks the state change:\n%s", out)
		}
	}
}

// syncBuffer is a strings.Builder safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestShutdownCutsLongTransfers: a transfer longer than -shutdown-grace
// is cut off, the server stops with no error, and the log says so.
func TestShutdownCutsLongTransfers(t *testing.T) {
	set := fixture.Standard()
	hold := make(chan struct{})
	started := make(chan struct{}, 1)
	up := httptest.NewServer(&fixture.Server{Set: set, Fault: func(w http.ResponseWriter, r *http.Request) bool {
		if !strings.HasSuffix(r.URL.Path, ".zip") {
			return false
		}
		zip := set.Module("example.com/hello", "v1.0.0").Zip
		w.Header().Set("Content-Length", fmt.Sprint(len(zip)))
		w.Write(zip[:10])
		w.(http.Flusher).Flush()
		started <- struct{}{}
		select {
		case <-hold:
		case <-r.Context().Done():
		}
		return true
	}})
	defer up.Close()
	// Before up.Close: the server's download of the zip may still wait
	// (abandoned downloads run to their budgets; issue 13, 11b).
	defer close(hold)
	setEnv(t, up.URL)
	var logs syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	errc := make(chan error, 1)
	cacheDir := t.TempDir()
	go func() {
		errc <- run(ctx, []string{"-addr", "127.0.0.1:0", "-cache", cacheDir, "-shutdown-grace", "100ms"}, slog.New(slog.NewTextHandler(&logs, nil)), ready)
	}()
	addr := <-ready
	type result struct {
		n   int
		err error
	}
	got := make(chan result, 1)
	go func() {
		resp, err := http.Get("http://" + addr + "/example.com/hello/@v/v1.0.0.zip")
		if err != nil {
			got <- result{0, err}
			return
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		got <- result{len(b), err}
	}()
	<-started
	cancel()
	if err := <-errc; err != nil {
		t.Fatalf("run = %v, want nil after a requested shutdown", err)
	}
	if r := <-got; r.err == nil {
		t.Errorf("the cut transfer read %d bytes and no error", r.n)
	}
	if !strings.Contains(logs.String(), "closing their connections") {
		t.Errorf("log does not say that transfers were cut:\n%s", logs.String())
	}
	// Nothing of the zip is in the cache.
	if m, _ := filepath.Glob(filepath.Join(cacheDir, "download", "example.com", "hello", "@v", "*.zip")); len(m) != 0 {
		t.Errorf("cut zip kept: %v", m)
	}
}

// setEnv gives the server the go environment of a fresh home with goproxy
// as its GOPROXY and no checksum database.
func setEnv(t testing.TB, goproxy string) {
	home := t.TempDir()
	for k, v := range map[string]string{
		"GOPROXY": goproxy, "GOSUMDB": "off", "GOENV": "off", "HOME": home,
		"GOPATH": filepath.Join(home, "go"), "GOMODCACHE": filepath.Join(home, "go", "pkg", "mod"),
		"GOPRIVATE": "", "GONOPROXY": "", "GONOSUMDB": "", "GOFLAGS": "",
	} {
		t.Setenv(k, v)
	}
}
