package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/modfetch/modfetch/internal/fixture"
)

func TestServerRunsAndStops(t *testing.T) {
	upstream := httptest.NewServer(&fixture.Server{Set: fixture.Standard()})
	defer upstream.Close()
	home := t.TempDir()
	for k, v := range map[string]string{
		"GOPROXY": upstream.URL, "GOSUMDB": "off", "GOENV": "off", "HOME": home,
		"GOPATH": filepath.Join(home, "go"), "GOMODCACHE": filepath.Join(home, "go", "pkg", "mod"),
		"GOPRIVATE": "", "GONOPROXY": "", "GONOSUMDB": "", "GOFLAGS": "",
	} {
		t.Setenv(k, v)
	}
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

func TestCheckNotSelf(t *testing.T) {
	for _, tt := range []struct {
		goproxy, addr string
		self          bool
	}{
		{"http://localhost:3000", "localhost:3000", true},
		{"http://127.0.0.1:3000,direct", "localhost:3000", true},
		{"https://proxy.golang.org,direct", "localhost:3000", false},
		{"http://localhost:3001", "localhost:3000", false},
		{"http://10.0.0.5:3000", "localhost:3000", false},
		{"http://[::1]:3000", ":3000", true},
		{"off", "localhost:3000", false},
	} {
		err := checkNotSelf(tt.goproxy, tt.addr)
		if (err != nil) != tt.self {
			t.Errorf("checkNotSelf(%q, %q) = %v", tt.goproxy, tt.addr, err)
		}
	}
}
