package e2e

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/modfetch/modfetch/cache"
	"github.com/modfetch/modfetch/checksum"
	"github.com/modfetch/modfetch/goenv"
	"github.com/modfetch/modfetch/internal/fixture"
	"github.com/modfetch/modfetch/proxy"
)

// ourProxy is our module proxy in front of a world: a proxy.Handler over
// the composition goenv builds, on loopback.
type ourProxy struct {
	url   string
	store *cache.DirStore
	stack *goenv.Stack
}

func startProxy(t *testing.T, w *world, private *fixture.Set, goprivate string) *ourProxy {
	t.Helper()
	h := newHome(t, w)
	h.env["GOPRIVATE"] = goprivate
	cfg := h.config()
	store := &cache.DirStore{Dir: filepath.Join(t.TempDir(), "download")}
	opts := &goenv.Options{Store: store, MutableTTL: time.Minute, WriteBehind: true}
	if private != nil {
		opts.Direct = private
	}
	stack, err := cfg.Resolver(opts)
	if err != nil {
		t.Fatal(err)
	}
	handler := &proxy.Handler{Resolver: stack, Memory: stack.Memory, SumDBs: []*checksum.DB{stack.DB}}
	srv := httptest.NewServer(handler)
	t.Cleanup(func() {
		srv.Close()
		// Writes still under way would race the removal of the store.
		if err := stack.Flush(context.Background()); err != nil {
			t.Error(err)
		}
	})
	return &ourProxy{url: srv.URL, store: store, stack: stack}
}

// client is a go command environment that uses our proxy and verifies
// with the world's checksum database through it (GOSUMDB names only the
// key, so the go command finds the database under our /sumdb/).
func client(t *testing.T, w *world, p *ourProxy) *home {
	h := newHome(t, w)
	h.env["GOPROXY"] = p.url
	h.env["GOSUMDB"] = w.sumdb.Key
	return h
}

func TestGoCommandThroughOurProxy(t *testing.T) {
	w := newWorld(t, fixture.Queries())
	p := startProxy(t, w, nil, "")
	c := client(t, w, p)

	// go mod download of several shapes of module.
	out, stderr, err := c.goCmd(t, t.TempDir(), "mod", "download", "-json",
		"example.com/hello@v1.1.0", "example.com/Upper/Case@v1.0.0-RC1", "example.com/nomod@v2.0.0+incompatible",
		"example.com/major/v2@latest", "example.com/retract@latest")
	if err != nil {
		t.Fatalf("go mod download: %v\n%s%s", err, out, stderr)
	}
	for _, m := range decodeModules(t, out) {
		want := w.set.Module(m.Path, m.Version)
		if m.Error != "" || want == nil || m.Sum != want.ZipSum() || m.GoModSum != want.ModSum() {
			t.Errorf("%+v", m)
		}
	}
	// The go command verified through our /sumdb/.
	if n := w.sumdb.Lookups("/lookup/"); n == 0 {
		t.Fatal("the checksum database was never consulted")
	}

	// go list -m -versions and queries.
	out, stderr, err = c.goCmd(t, t.TempDir(), "list", "-m", "-versions", "example.com/hello", "example.com/retract")
	if err != nil || out != "example.com/hello v1.0.0 v1.1.0\nexample.com/retract v1.0.0\n" {
		t.Fatalf("go list -m -versions = %q, %v %s", out, err, stderr)
	}

	// go get in a module: go.mod and go.sum are written and verified.
	mod := t.TempDir()
	writeFiles(t, mod, map[string]string{
		"go.mod":  "module example.com/app\n\ngo 1.21\n",
		"main.go": "package main\n\nimport \"example.com/hello\"\n\nfunc main() { println(hello.Hello()) }\n",
	})
	if out, stderr, err := c.goCmd(t, mod, "get", "example.com/hello@v1.0.0"); err != nil {
		t.Fatalf("go get: %v\n%s%s", err, out, stderr)
	}
	if out, stderr, err := c.goCmd(t, mod, "mod", "verify"); err != nil {
		t.Fatalf("go mod verify: %v\n%s%s", err, out, stderr)
	}
	sum, _ := os.ReadFile(filepath.Join(mod, "go.sum"))
	hello := w.set.Module("example.com/hello", "v1.0.0")
	if !strings.Contains(string(sum), "example.com/hello v1.0.0 "+hello.ZipSum()) || !strings.Contains(string(sum), "example.com/hello v1.0.0/go.mod "+hello.ModSum()) {
		t.Fatalf("go.sum:\n%s", sum)
	}
	if out, stderr, err := c.goCmd(t, mod, "build", "./..."); err != nil {
		t.Fatalf("go build: %v\n%s%s", err, out, stderr)
	}
}

func TestPoisonedUpstreamRefused(t *testing.T) {
	genuine := fixture.Standard()
	w := newWorld(t, genuine)
	// The database vouches for the genuine module; the upstream proxy now
	// serves other bytes for it.
	poisoned := fixture.Standard()
	poisoned.Add("example.com/hello", "v1.1.0", map[string]string{
		"go.mod":   "module example.com/hello\n\ngo 1.21\n",
		"hello.go": "package hello\n\nfunc Hello() string { return \"pwned\" }\n",
	}, fixture.Day(30))
	w.proxy.Set = poisoned
	p := startProxy(t, w, nil, "")
	c := client(t, w, p)

	for attempt := range 2 {
		out, stderr, err := c.goCmd(t, t.TempDir(), "mod", "download", "-json", "example.com/hello@v1.1.0")
		if err == nil {
			t.Fatalf("attempt %d: poisoned zip accepted:\n%s", attempt, out)
		}
		ms := decodeModules(t, out)
		if len(ms) != 1 || !strings.Contains(ms[0].Error, "502 Bad Gateway") {
			t.Fatalf("attempt %d: %s%s", attempt, out, stderr)
		}
	}
	// Nothing of the poisoned zip was stored.
	for _, f := range []string{"v1.1.0.zip", "v1.1.0.ziphash"} {
		if _, err := os.Stat(filepath.Join(p.store.Dir, "example.com", "hello", "@v", f)); !os.IsNotExist(err) {
			t.Fatalf("%s stored: %v", f, err)
		}
	}
	// The upstream was asked again on the second attempt (errors are not
	// cached).
	if n := w.proxy.Hits("/example.com/hello/@v/v1.1.0.zip"); n != 2 {
		t.Fatalf("upstream zip requests = %d, want 2", n)
	}
	// Genuine modules still work.
	if out, stderr, err := c.goCmd(t, t.TempDir(), "mod", "download", "example.com/hello@v1.0.0"); err != nil {
		t.Fatalf("%v %s%s", err, out, stderr)
	}
}

func TestPrivateModuleThroughOurProxy(t *testing.T) {
	public := fixture.Standard()
	private := new(fixture.Set)
	for _, s := range []*fixture.Set{public, private} {
		s.Add("corp.example.com/secret/lib", "v1.0.0", map[string]string{
			"go.mod": "module corp.example.com/secret/lib\n",
			"lib.go": "package lib",
		}, fixture.Day(10))
	}
	w := newWorld(t, public)
	p := startProxy(t, w, private, "corp.example.com")

	// A client that keeps the module out of the checksum database gets it
	// through our proxy, which fetched it directly.
	c := client(t, w, p)
	c.env["GONOSUMDB"] = "corp.example.com"
	out, stderr, err := c.goCmd(t, t.TempDir(), "mod", "download", "-json", "corp.example.com/secret/lib@v1.0.0")
	if err != nil {
		t.Fatalf("%v\n%s%s", err, out, stderr)
	}
	if ms := decodeModules(t, out); ms[0].Sum != private.Module("corp.example.com/secret/lib", "v1.0.0").ZipSum() {
		t.Fatalf("%+v", ms)
	}
	// A client that does ask our /sumdb/ about it is refused there.
	c2 := client(t, w, p)
	out, stderr, err = c2.goCmd(t, t.TempDir(), "mod", "download", "-json", "corp.example.com/secret/lib@v1.0.0")
	if err == nil || !strings.Contains(out, "404 Not Found") {
		t.Fatalf("lookup of a private module was not refused: %v\n%s%s", err, out, stderr)
	}
	for _, r := range w.proxy.Requests() {
		if strings.Contains(r, "corp.example.com") {
			t.Fatalf("upstream proxy asked for the private module: %s", r)
		}
	}
	for _, r := range w.sumdb.Paths() {
		if strings.Contains(r, "corp.example.com") {
			t.Fatalf("checksum database asked for the private module: %s", r)
		}
	}
}
