package e2e

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/modfetch/modfetch"
	"github.com/modfetch/modfetch/goenv"
	"github.com/modfetch/modfetch/internal/fixture"
	"github.com/modfetch/modfetch/upstream"
)

// TestPrivateModulesStayPrivate proves that a GOPRIVATE module is never
// requested from a proxy and never looked up in a checksum database, while
// public modules still are, through the composition goenv builds.
func TestPrivateModulesStayPrivate(t *testing.T) {
	public := fixture.Standard()
	// The proxy also holds a copy of the private module (say, leaked), so a
	// request that reached it would succeed and go unnoticed otherwise.
	private := new(fixture.Set)
	tm := time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
	for _, s := range []*fixture.Set{public, private} {
		s.Add("corp.example.com/secret/lib", "v1.0.0", map[string]string{
			"go.mod": "module corp.example.com/secret/lib\n",
			"lib.go": "package lib",
		}, tm)
	}
	w := newWorld(t, public)
	ctx := context.Background()

	for _, tt := range []struct {
		name string
		env  map[string]string
	}{
		{"GOPRIVATE", map[string]string{"GOPRIVATE": "corp.example.com"}},
		{"GOPRIVATE glob", map[string]string{"GOPRIVATE": "*.example.com/secret"}},
		{"GONOPROXY and GONOSUMDB", map[string]string{"GONOPROXY": "corp.example.com", "GONOSUMDB": "corp.example.com"}},
		{"GOPRIVATE with GOPROXY=off", map[string]string{"GOPRIVATE": "corp.example.com", "GOPROXY": "off"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w.proxy.Reset()
			h := newHome(t, w)
			for k, v := range tt.env {
				h.env[k] = v
			}
			stack, err := h.config().Resolver(&goenv.Options{Direct: private})
			if err != nil {
				t.Fatal(err)
			}
			d, err := modfetch.Download(ctx, stack, "corp.example.com/secret/lib", "v1.0.0", &modfetch.DownloadOptions{ModCache: h.gomodcache})
			if err != nil {
				t.Fatal(err)
			}
			if d.Sum != private.Module("corp.example.com/secret/lib", "v1.0.0").ZipSum() {
				t.Fatalf("Sum = %s", d.Sum)
			}
			if _, err := stack.List(ctx, "corp.example.com/secret/lib"); err != nil {
				t.Fatal(err)
			}
			for _, p := range w.proxy.Requests() {
				if strings.Contains(p, "corp.example.com") || strings.Contains(p, "secret") {
					t.Fatalf("the proxy was asked for the private module: %s", p)
				}
			}
			for _, p := range w.sumdb.Paths() {
				if strings.Contains(p, "corp.example.com") || strings.Contains(p, "secret") {
					t.Fatalf("the checksum database was asked for the private module: %s", p)
				}
			}
			// Public modules still go through the proxy and the database.
			if h.env["GOPROXY"] != "off" {
				if _, err := modfetch.Download(ctx, stack, "example.com/hello", "v1.1.0", nil); err != nil {
					t.Fatal(err)
				}
				if w.proxy.Hits("/example.com/hello/@v/v1.1.0.zip") == 0 || w.sumdb.Lookups("/lookup/example.com/hello@v1.1.0") == 0 {
					t.Fatalf("public module not fetched and verified: proxy %v, sumdb %v", w.proxy.Requests(), w.sumdb.Paths())
				}
			}
		})
	}

	// Without direct access, a private module fails clearly, still
	// without reaching the proxy.
	w.proxy.Reset()
	h := newHome(t, w)
	h.env["GOPRIVATE"] = "corp.example.com"
	stack, err := h.config().Resolver(&goenv.Options{NoDirect: true})
	if err != nil {
		t.Fatal(err)
	}
	_, err = modfetch.Download(ctx, stack, "corp.example.com/secret/lib", "v1.0.0", nil)
	if !errors.Is(err, upstream.ErrDirectNotConfigured) {
		t.Fatalf("err = %v", err)
	}
	if reqs := w.proxy.Requests(); len(reqs) != 0 {
		t.Fatalf("proxy asked: %v", reqs)
	}
}

// TestNoSumDBStillUsesProxy: GONOSUMDB alone keeps a module from the
// checksum database but not from the proxy.
func TestNoSumDBStillUsesProxy(t *testing.T) {
	w := newWorld(t, fixture.Standard())
	h := newHome(t, w)
	h.env["GONOSUMDB"] = "example.com/hello"
	stack, err := h.config().Resolver(nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := modfetch.Download(context.Background(), stack, "example.com/hello", "v1.0.0", nil); err != nil {
		t.Fatal(err)
	}
	if w.proxy.Hits("/example.com/hello/@v/v1.0.0.zip") != 1 {
		t.Fatalf("proxy requests: %v", w.proxy.Requests())
	}
	for _, p := range w.sumdb.Paths() {
		if strings.Contains(p, "example.com/hello") {
			t.Fatalf("checksum database asked: %s", p)
		}
	}
}
