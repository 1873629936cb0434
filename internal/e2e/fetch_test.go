package e2e

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modfetch/modfetch"
	"github.com/modfetch/modfetch/cache"
	"github.com/modfetch/modfetch/internal/fixture"
	"github.com/modfetch/modfetch/upstream"
)

// downloadArgs covers the module shapes of the fixture set and the go
// command's failure classes.
var downloadArgs = []string{
	"example.com/hello@v1.0.0",
	"example.com/hello@v1.1.0",
	"example.com/Upper/Case@v1.0.0-RC1",        // case-escaped path and version
	"example.com/nomod@v1.0.0",                 // no go.mod: a synthesised one
	"example.com/nomod@v2.0.0+incompatible",    // +incompatible
	"example.com/major/v2@v2.1.0",              // major-version module
	"gopkg.in/fixture.v1@v1.0.0",               // gopkg.in
	"example.com/nested@v1.0.0",                // nested module excluded from the zip
	"example.com/nested/inner@v1.0.0",          // the nested module itself
	"example.com/hello@v1.0.0+meta",            // canonical retry
	"example.com/hello@v1.9.9",                 // unknown version: 404
	"example.com/missing@v1.0.0",               // unknown module: 404
	"example.com/hello@feature/x",              // invalid version
	"Example.com/hello@v1.0.0",                 // malformed path
	"example.com/m/v1@v1.0.0",                  // malformed path (v1 suffix)
	"example.com/major/v2@v2.0.0+incompatible", // +incompatible on a /v2 path
}

// TestDownloadMatchesGoCommand runs `go mod download -json` and
// examples/download with the same environment and arguments and compares
// every field.
func TestDownloadMatchesGoCommand(t *testing.T) {
	w := newWorld(t, fixture.Standard())
	goHome, ourHome := newHome(t, w), newHome(t, w)
	compareDownload(t, goHome, ourHome, downloadArgs, true)

	// Both caches list the same versions.
	for _, p := range []string{"example.com/hello", "example.com/nomod"} {
		gl, _ := os.ReadFile(filepath.Join(goHome.gomodcache, "cache", "download", p, "@v", "list"))
		ol, _ := os.ReadFile(filepath.Join(ourHome.gomodcache, "cache", "download", p, "@v", "list"))
		if !bytes.Equal(gl, ol) || len(gl) == 0 {
			t.Errorf("%s/@v/list: go %q, ours %q", p, gl, ol)
		}
	}
	// Without -json: errors on stderr, prefixed "go: ", and exit status 1.
	_, stderr, err := ourHome.run(t, t.TempDir(), example(t, "download"), "example.com/missing@v1.0.0")
	if err == nil || !strings.HasPrefix(stderr, "go: example.com/missing@v1.0.0: reading "+w.proxyURL) {
		t.Errorf("plain mode: %v, stderr %q", err, stderr)
	}
}

// compareDownload runs `go mod download -json args...` in goHome and
// examples/download in ourHome and compares every field and file.
func compareDownload(t *testing.T, goHome, ourHome *home, args []string, wantFailure bool) {
	t.Helper()
	dl := example(t, "download")
	work := t.TempDir()
	goOut, goErr, goRunErr := goHome.goCmd(t, work, append([]string{"mod", "download", "-json"}, args...)...)
	ourOut, ourErr, ourRunErr := ourHome.run(t, work, dl, append([]string{"-json"}, args...)...)
	if (goRunErr == nil) != (ourRunErr == nil) {
		t.Fatalf("exit status differs: go %v (%s), ours %v (%s)", goRunErr, goErr, ourRunErr, ourErr)
	}
	if (goRunErr != nil) != wantFailure {
		t.Fatalf("go command exit: %v, want failure %v\n%s", goRunErr, wantFailure, goOut)
	}
	gm, om := decodeModules(t, goOut), decodeModules(t, ourOut)
	if len(gm) != len(args) || len(om) != len(gm) {
		t.Fatalf("go printed %d modules, we printed %d, for %d arguments\ngo:\n%s%s\nours:\n%s%s", len(gm), len(om), len(args), goOut, goErr, ourOut, ourErr)
	}
	rel := func(h *home, p string) string {
		if p == "" {
			return ""
		}
		r, err := filepath.Rel(h.gomodcache, p)
		if err != nil {
			return "!" + p
		}
		return r
	}
	for i := range gm {
		g, o := gm[i], om[i]
		g.Error = strings.ReplaceAll(g.Error, goHome.gomodcache, "$GOMODCACHE")
		o.Error = strings.ReplaceAll(o.Error, ourHome.gomodcache, "$GOMODCACHE")
		for _, f := range []struct{ name, g, o string }{
			{"Path", g.Path, o.Path},
			{"Version", g.Version, o.Version},
			{"Query", g.Query, o.Query},
			{"Error", g.Error, o.Error},
			{"Sum", g.Sum, o.Sum},
			{"GoModSum", g.GoModSum, o.GoModSum},
			{"Info", rel(goHome, g.Info), rel(ourHome, o.Info)},
			{"GoMod", rel(goHome, g.GoMod), rel(ourHome, o.GoMod)},
			{"Zip", rel(goHome, g.Zip), rel(ourHome, o.Zip)},
			{"Dir", rel(goHome, g.Dir), rel(ourHome, o.Dir)},
		} {
			if f.g != f.o {
				t.Errorf("%s: %s differs:\n  go:   %q\n  ours: %q", args[i], f.name, f.g, f.o)
			}
		}
		// The files themselves are byte for byte the same.
		for _, pair := range [][2]string{{g.Info, o.Info}, {g.GoMod, o.GoMod}, {g.Zip, o.Zip}} {
			if pair[0] == "" {
				continue
			}
			gd, err1 := os.ReadFile(pair[0])
			od, err2 := os.ReadFile(pair[1])
			if err1 != nil || err2 != nil || !bytes.Equal(gd, od) {
				t.Errorf("%s: %s differs from the go command's (%v, %v)", args[i], filepath.Base(pair[1]), err1, err2)
			}
		}
	}
}

// TestGoBuildUsesOurCache: what modfetch downloads, `go build` with
// GOPROXY=off uses, verifying it against the checksum database itself.
func TestGoBuildUsesOurCache(t *testing.T) {
	w := newWorld(t, fixture.Standard())
	h := newHome(t, w)
	stack, err := h.config().Resolver(nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, mv := range [][2]string{{"example.com/hello", "v1.1.0"}, {"example.com/major/v2", "v2.1.0"}} {
		if _, err := modfetch.Download(ctx, stack, mv[0], mv[1], &modfetch.DownloadOptions{ModCache: h.gomodcache}); err != nil {
			t.Fatal(err)
		}
	}
	src := t.TempDir()
	writeFiles(t, src, map[string]string{
		"go.mod": "module example.com/main\n\ngo 1.21\n\nrequire (\n\texample.com/hello v1.1.0\n\texample.com/major/v2 v2.1.0\n)\n",
		"main.go": `package main

import (
	"fmt"

	"example.com/hello"
	_ "example.com/major/v2/sub"
)

func main() { fmt.Println(hello.Hello()) }
`,
	})
	w.proxy.Reset()
	h.env["GOPROXY"] = "off"
	h.env["GOFLAGS"] = "-mod=mod -modcacherw"
	if out, stderr, err := h.goCmd(t, src, "build", "-o", filepath.Join(src, "hello"), "."); err != nil {
		t.Fatalf("go build: %v\n%s%s", err, out, stderr)
	}
	out, _, err := h.run(t, src, filepath.Join(src, "hello"))
	if err != nil || strings.TrimSpace(out) != "hello v1.1.0" {
		t.Fatalf("program printed %q, %v", out, err)
	}
	if reqs := w.proxy.Requests(); len(reqs) != 0 {
		t.Fatalf("go build with GOPROXY=off reached the proxy: %v", reqs)
	}
	// go.sum was filled with the hashes the go command checked.
	sum, _ := os.ReadFile(filepath.Join(src, "go.sum"))
	m := w.set.Module("example.com/hello", "v1.1.0")
	if !strings.Contains(string(sum), "example.com/hello v1.1.0 "+m.ZipSum()) {
		t.Fatalf("go.sum = %s", sum)
	}
}

// TestGoUsesOurCacheAsFileProxy: our cache tree serves the go command as a
// file:// GOPROXY.
func TestGoUsesOurCacheAsFileProxy(t *testing.T) {
	w := newWorld(t, fixture.Standard())
	ours := newHome(t, w)
	stack, err := ours.config().Resolver(nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, v := range []string{"v1.0.0", "v1.1.0"} {
		if _, err := modfetch.Download(ctx, stack, "example.com/hello", v, nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := modfetch.Download(ctx, stack, "example.com/Upper/Case", "v1.0.0-RC1", nil); err != nil {
		t.Fatal(err)
	}
	client := newHome(t, w)
	client.env["GOPROXY"] = "file://" + filepath.ToSlash(filepath.Join(ours.gomodcache, "cache", "download"))
	out, stderr, err := client.goCmd(t, t.TempDir(), "mod", "download", "-json", "example.com/hello@v1.1.0", "example.com/Upper/Case@v1.0.0-RC1")
	if err != nil {
		t.Fatalf("go mod download: %v\n%s%s", err, out, stderr)
	}
	for _, m := range decodeModules(t, out) {
		want := w.set.Module(m.Path, m.Version)
		if m.Error != "" || m.Sum != want.ZipSum() || m.GoModSum != want.ModSum() {
			t.Errorf("%+v", m)
		}
	}
	out, stderr, err = client.goCmd(t, t.TempDir(), "list", "-m", "-versions", "example.com/hello")
	if err != nil || strings.TrimSpace(out) != "example.com/hello v1.0.0 v1.1.0" {
		t.Fatalf("go list -m -versions = %q, %v %s", out, err, stderr)
	}
}

// TestOurCacheReadsGoCache: a DirStore over the go command's module cache
// answers without any upstream.
func TestOurCacheReadsGoCache(t *testing.T) {
	w := newWorld(t, fixture.Standard())
	h := newHome(t, w)
	args := []string{"mod", "download", "example.com/hello@v1.1.0", "example.com/Upper/Case@v1.0.0-RC1", "example.com/nomod@v2.0.0+incompatible"}
	if out, stderr, err := h.goCmd(t, t.TempDir(), args...); err != nil {
		t.Fatalf("go mod download: %v\n%s%s", err, out, stderr)
	}
	c := &cache.Cache{
		Next:  upstream.Off{}, // nothing may be fetched
		Store: &cache.DirStore{Dir: filepath.Join(h.gomodcache, "cache", "download")},
	}
	ctx := context.Background()
	for _, mv := range [][2]string{{"example.com/hello", "v1.1.0"}, {"example.com/Upper/Case", "v1.0.0-RC1"}, {"example.com/nomod", "v2.0.0+incompatible"}} {
		m := w.set.Module(mv[0], mv[1])
		info, err := c.Stat(ctx, m.Path, m.Version)
		if err != nil || info.Version != m.Version {
			t.Fatalf("Stat %s: %v, %v", mv, info, err)
		}
		mod, err := c.GoMod(ctx, m.Path, m.Version)
		if err != nil || !bytes.Equal(mod, m.Mod) {
			t.Fatalf("GoMod %s: %v", mv, err)
		}
		rc, err := c.Zip(ctx, m.Path, m.Version)
		if err != nil {
			t.Fatalf("Zip %s: %v", mv, err)
		}
		data, _ := io.ReadAll(rc)
		rc.Close()
		if !bytes.Equal(data, m.Zip) {
			t.Fatalf("Zip %s differs", mv)
		}
		if s := c.Sum(ctx, m.Path, m.Version); s != m.ZipSum() {
			t.Fatalf("Sum %s = %q (from the go command's .ziphash)", mv, s)
		}
		d, err := modfetch.Download(ctx, c, m.Path, m.Version, &modfetch.DownloadOptions{ModCache: h.gomodcache})
		if err != nil || d.Sum != m.ZipSum() {
			t.Fatalf("Download %s over the go command's extraction: %+v, %v", mv, d, err)
		}
	}
}

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, data := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o777); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o666); err != nil {
			t.Fatal(err)
		}
	}
}
