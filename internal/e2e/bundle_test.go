package e2e

import (
	"bytes"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"golang.org/x/mod/module"

	"github.com/modfetch/modfetch"
	"github.com/modfetch/modfetch/internal/fixture"
)

// closableWorld is newWorld whose servers the returned function closes,
// so that a test can go on with no network.
func closableWorld(t *testing.T, set *fixture.Set) (*world, func()) {
	t.Helper()
	w := &world{set: set}
	w.sumdb = fixture.NewSumDB("sum.example.com", set.GoSumLines)
	dbsrv := httptest.NewServer(w.sumdb)
	w.sumdbURL = dbsrv.URL
	w.proxy = &fixture.Server{Set: set}
	psrv := httptest.NewServer(w.proxy)
	w.proxyURL = psrv.URL
	closeAll := func() {
		psrv.Close()
		dbsrv.Close()
	}
	t.Cleanup(closeAll)
	return w, closeAll
}

// bundleSet is the standard fixtures and example.com/dep v1.0.0, whose
// go.mod (without a go directive, so its requirements are loaded
// transitively) requires example.com/hello v1.0.0: a version whose
// go.mod file alone the go command needs.
func bundleSet() *fixture.Set {
	set := fixture.Standard()
	set.Add("example.com/dep", "v1.0.0", map[string]string{
		"go.mod": "module example.com/dep\n\nrequire example.com/hello v1.0.0\n",
		"dep.go": "package dep\n",
	}, fixture.Day(3))
	return set
}

// bundleMain is a main module requiring fixture modules of every kind: a
// plain one, a major version, an upper-case path with a pre-release, a
// gopkg.in path without go.mod, a +incompatible version, and one whose
// requirement is needed for its go.mod file only.
var bundleMain = map[string]string{
	"go.mod": `module example.com/main

go 1.21

require (
	example.com/Upper/Case v1.0.0-RC1
	example.com/dep v1.0.0
	example.com/hello v1.1.0
	example.com/major/v2 v2.1.0
	example.com/nomod v2.0.0+incompatible
	gopkg.in/fixture.v1 v1.0.0
)
`,
	"main.go": `package main

import (
	"fmt"

	_ "example.com/Upper/Case"
	_ "example.com/dep"
	"example.com/hello"
	_ "example.com/major/v2/sub"
	_ "example.com/nomod"
	_ "gopkg.in/fixture.v1"
)

func main() { fmt.Println(hello.Hello()) }
`,
}

// bundleSums are the go.sum lines the fixtures' database vouches for,
// for bundleMain's requirements.
func bundleSums(t *testing.T, set *fixture.Set) []string {
	t.Helper()
	lines := []string{"example.com/hello v1.0.0/go.mod " + set.Module("example.com/hello", "v1.0.0").ModSum()}
	for _, mv := range [][2]string{
		{"example.com/Upper/Case", "v1.0.0-RC1"},
		{"example.com/dep", "v1.0.0"},
		{"example.com/hello", "v1.1.0"},
		{"example.com/major/v2", "v2.1.0"},
		{"example.com/nomod", "v2.0.0+incompatible"},
		{"gopkg.in/fixture.v1", "v1.0.0"},
	} {
		data, err := set.GoSumLines(mv[0], mv[1])
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, strings.Split(strings.TrimSpace(string(data)), "\n")...)
	}
	sort.Strings(lines)
	return lines
}

func sortedLines(data []byte) []string {
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	sort.Strings(lines)
	return lines
}

// exportBundles runs `bundle export -o OUT MODULE_DIR` for a directory,
// a .tar.gz and a .zip bundle of bundleMain, then closes the network.
func exportBundles(t *testing.T) (w *world, dir, tgz, zip string) {
	t.Helper()
	w, closeNet := closableWorld(t, bundleSet())
	exporter := newHome(t, w)
	src := t.TempDir()
	writeFiles(t, src, bundleMain)
	out := t.TempDir()
	dir, tgz, zip = filepath.Join(out, "bundle"), filepath.Join(out, "bundle.tar.gz"), filepath.Join(out, "bundle.zip")
	for _, o := range []string{dir, tgz, zip} {
		stdout, stderr, err := exporter.run(t, src, example(t, "bundle"), "export", "-o", o, src)
		if err != nil {
			t.Fatalf("bundle export -o %s: %v\n%s%s", o, err, stdout, stderr)
		}
		if !strings.Contains(stderr, "fetched example.com/hello@v1.1.0 (") || !strings.Contains(stderr, "fetched example.com/hello@v1.0.0/go.mod (") {
			t.Errorf("bundle export printed no progress line for example.com/hello@v1.1.0:\n%s", stderr)
		}
	}
	closeNet()
	return w, dir, tgz, zip
}

// offlineHome is a fresh home with no network: GOPROXY off unless set,
// GOSUMDB the fixture database's key alone (no URL), GONOSUMDB empty.
func offlineHome(t *testing.T, w *world, goproxy string) *home {
	h := newHome(t, w)
	h.env["GOPROXY"] = goproxy
	h.env["GOSUMDB"] = w.sumdb.Key
	h.env["GOFLAGS"] = "-mod=mod -modcacherw"
	return h
}

// TestBundleGoModDownloadOffline: with the servers closed and a fresh
// GOPATH, the go command with GOPROXY=file://<bundle> and GOSUMDB the
// database's key downloads and verifies every module of a bundle that
// `bundle export` wrote from a module directory (checksum database
// included, found through the bundle's sumdb/<name>/supported), writes
// the database's go.sum lines, and builds with GOPROXY=off. A bundle
// with one zip replaced makes the go command fail with its SECURITY
// ERROR.
func TestBundleGoModDownloadOffline(t *testing.T) {
	w, dir, _, _ := exportBundles(t)
	h := offlineHome(t, w, "file://"+filepath.ToSlash(dir))
	mod := t.TempDir()
	writeFiles(t, mod, bundleMain)
	if stdout, stderr, err := h.goCmd(t, mod, "mod", "download"); err != nil {
		t.Fatalf("go mod download from the bundle: %v\n%s%s", err, stdout, stderr)
	}
	// The go command read the database through the bundle.
	if _, err := os.Stat(filepath.Join(h.gopath, "pkg", "sumdb", "sum.example.com", "latest")); err != nil {
		t.Errorf("the go command kept no tree head of the database: %v", err)
	}
	// go mod download with no arguments writes only the go.mod files'
	// lines (Go 1.17 and later); go build adds the zips' lines, which
	// it verified against the database.
	h.env["GOPROXY"] = "off"
	if stdout, stderr, err := h.goCmd(t, mod, "build", "./..."); err != nil {
		t.Fatalf("GOPROXY=off go build: %v\n%s%s", err, stdout, stderr)
	}
	checkGoSum(t, w, mod)

	// The go command itself refuses a bundle whose zip was replaced.
	bad := filepath.Join(t.TempDir(), "bad")
	copyTree(t, dir, bad)
	z, err := fixture.MakeZip("example.com/hello", "v1.1.0", map[string]string{"go.mod": "module example.com/hello\n\ngo 1.21\n", "hello.go": "package hello\n\nfunc Hello() string { return \"evil\" }\n"})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bad, "example.com", "hello", "@v", "v1.1.0.zip"), z, 0o666); err != nil {
		t.Fatal(err)
	}
	h2 := offlineHome(t, w, "file://"+filepath.ToSlash(bad))
	mod2 := t.TempDir()
	writeFiles(t, mod2, bundleMain)
	stdout, stderr, err := h2.goCmd(t, mod2, "mod", "download")
	if err == nil || !strings.Contains(stderr, "SECURITY ERROR") {
		t.Fatalf("go mod download from a tampered bundle: %v\n%s%s", err, stdout, stderr)
	}
}

// TestBundleImportThenBuildOffline: `bundle import` of the .tar.gz (into
// GOMODCACHE by default) and of the .zip (into -modcache DIR) fills an
// empty module cache from which, with no network and GOPROXY=off, the go
// command builds the module and `go mod verify` succeeds.
func TestBundleImportThenBuildOffline(t *testing.T) {
	w, _, tgz, zip := exportBundles(t)
	goSum := strings.Join(bundleSums(t, w.set), "\n") + "\n"
	for _, tc := range []struct {
		name string
		args func(h *home) []string
	}{
		{"tar.gz into GOMODCACHE", func(h *home) []string { return []string{"import", tgz} }},
		{"zip into -modcache", func(h *home) []string { return []string{"import", "-modcache", h.gomodcache, zip} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := offlineHome(t, w, "off")
			stdout, stderr, err := h.run(t, t.TempDir(), example(t, "bundle"), tc.args(h)...)
			if err != nil {
				t.Fatalf("bundle import: %v\n%s%s", err, stdout, stderr)
			}
			if !strings.Contains(stderr, "imported example.com/hello@v1.1.0") {
				t.Errorf("bundle import printed no progress line for example.com/hello@v1.1.0:\n%s", stderr)
			}
			mod := t.TempDir()
			writeFiles(t, mod, bundleMain)
			writeFiles(t, mod, map[string]string{"go.sum": goSum})
			if stdout, stderr, err := h.goCmd(t, mod, "build", "-o", filepath.Join(mod, "prog"), "./..."); err != nil {
				t.Fatalf("GOPROXY=off go build: %v\n%s%s", err, stdout, stderr)
			}
			if out, _, err := h.run(t, mod, filepath.Join(mod, "prog")); err != nil || strings.TrimSpace(out) != "hello v1.1.0" {
				t.Fatalf("program printed %q, %v", out, err)
			}
			if stdout, stderr, err := h.goCmd(t, mod, "mod", "verify"); err != nil {
				t.Fatalf("go mod verify: %v\n%s%s", err, stdout, stderr)
			}
		})
	}
}

// TestBundleImportRefusesTampered: `bundle import` of a bundle with a zip
// replaced, or a lookup's hash altered, exits with status 1, says why on
// standard error, and writes nothing into the module cache.
func TestBundleImportRefusesTampered(t *testing.T) {
	w, dir, _, _ := exportBundles(t)
	for _, tc := range []struct {
		name   string
		tamper func(t *testing.T, dir string)
		want   string
	}{
		{"zip altered", func(t *testing.T, dir string) {
			name := filepath.Join(dir, "example.com", "major", "v2", "@v", "v2.1.0.zip")
			z, err := fixture.MakeZip("example.com/major/v2", "v2.1.0", map[string]string{"go.mod": "module example.com/major/v2\n\ngo 1.22\n", "major.go": "package major // changed\n", "sub/sub.go": "package sub\n"})
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(name, z, 0o666); err != nil {
				t.Fatal(err)
			}
		}, "example.com/major/v2@v2.1.0: verifying module: checksum mismatch"},
		{"lookup altered", func(t *testing.T, dir string) {
			name := filepath.Join(dir, "sumdb", "sum.example.com", "lookup", "example.com", "hello@v1.1.0")
			data, err := os.ReadFile(name)
			if err != nil {
				t.Fatal(err)
			}
			i := bytes.Index(data, []byte("h1:"))
			data[i+3] ^= 1
			if err := os.WriteFile(name, data, 0o666); err != nil {
				t.Fatal(err)
			}
		}, "cannot authenticate record data"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bad := filepath.Join(t.TempDir(), "bad")
			copyTree(t, dir, bad)
			tc.tamper(t, bad)
			h := offlineHome(t, w, "off")
			stdout, stderr, err := h.run(t, t.TempDir(), example(t, "bundle"), "import", bad)
			var ee *exec.ExitError
			if err == nil || !asExit(err, &ee) || ee.ExitCode() != 1 {
				t.Fatalf("bundle import of a tampered bundle: %v (want exit status 1)\n%s%s", err, stdout, stderr)
			}
			if !strings.Contains(stderr, tc.want) || !strings.Contains(stderr, "bundle refused, nothing imported") {
				t.Errorf("stderr does not say %q and that nothing was imported:\n%s", tc.want, stderr)
			}
			if entries, err := os.ReadDir(h.gomodcache); err == nil && len(entries) > 0 {
				t.Errorf("GOMODCACHE was written: %v", entries)
			}
		})
	}
}

// TestBundleServedByProxyserver: examples/proxyserver with
// GOPROXY=file://<bundle> serves the bundle and its checksum database,
// with no network, to the go command.
func TestBundleServedByProxyserver(t *testing.T) {
	w, dir, _, _ := exportBundles(t)
	server := offlineHome(t, w, "file://"+filepath.ToSlash(dir))
	addr, logs, _ := startProxyServer(t, server)
	h := offlineHome(t, w, "http://"+addr)
	mod := t.TempDir()
	writeFiles(t, mod, bundleMain)
	if stdout, stderr, err := h.goCmd(t, mod, "mod", "download"); err != nil {
		t.Fatalf("go mod download through proxyserver over the bundle: %v\n%s%s\nserver log:\n%s", err, stdout, stderr, logs.String())
	}
	if stdout, stderr, err := h.goCmd(t, mod, "build", "./..."); err != nil {
		t.Fatalf("go build: %v\n%s%s", err, stdout, stderr)
	}
	checkGoSum(t, w, mod)
}

// checkGoSum checks that mod's go.sum holds the database's lines of
// bundleMain's requirements, and nothing else.
func checkGoSum(t *testing.T, w *world, mod string) {
	t.Helper()
	sum, err := os.ReadFile(filepath.Join(mod, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := sortedLines(sum), bundleSums(t, w.set); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("go.sum:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func asExit(err error, target **exec.ExitError) bool {
	e, ok := err.(*exec.ExitError)
	*target = e
	return ok
}

// copyTree copies the directory tree src to dst.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	cmd := exec.Command("cp", "-R", src, dst)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("cp -R %s %s: %v\n%s", src, dst, err, out)
	}
}

// TestModhashMatchesGoSum: examples/modhash prints, from a module's zip
// (-zip) and from its files (-dir, the directory the go command
// extracted), the very lines the go command wrote into go.sum for it,
// for modules of every kind: with and without go.mod, a major version,
// an upper-case path with a pre-release, +incompatible.
func TestModhashMatchesGoSum(t *testing.T) {
	w := newWorld(t, bundleSet())
	h := newHome(t, w)
	h.env["GOFLAGS"] = "-mod=mod -modcacherw"
	mod := t.TempDir()
	writeFiles(t, mod, bundleMain)
	if stdout, stderr, err := h.goCmd(t, mod, "build", "./..."); err != nil {
		t.Fatalf("go build: %v\n%s%s", err, stdout, stderr)
	}
	sum, err := os.ReadFile(filepath.Join(mod, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	goSum := string(sum)
	for _, mv := range [][2]string{
		{"example.com/Upper/Case", "v1.0.0-RC1"},
		{"example.com/hello", "v1.1.0"},
		{"example.com/major/v2", "v2.1.0"},
		{"example.com/nomod", "v2.0.0+incompatible"},
		{"gopkg.in/fixture.v1", "v1.0.0"},
	} {
		m := module.Version{Path: mv[0], Version: mv[1]}
		zipFile, err := modfetch.VersionFile(m.Path, m.Version, "zip")
		if err != nil {
			t.Fatal(err)
		}
		zip := filepath.Join(h.gomodcache, "cache", "download", filepath.FromSlash(zipFile))
		em, err := module.EscapePath(m.Path)
		if err != nil {
			t.Fatal(err)
		}
		ev, err := module.EscapeVersion(m.Version)
		if err != nil {
			t.Fatal(err)
		}
		dir := filepath.Join(h.gomodcache, filepath.FromSlash(em)+"@"+ev)
		for _, args := range [][]string{{"-zip", zip}, {"-dir", dir}} {
			out, stderr, err := h.run(t, mod, example(t, "modhash"), append(args, m.Path+"@"+m.Version)...)
			if err != nil {
				t.Fatalf("modhash %s %s@%s: %v\n%s", args[0], m.Path, m.Version, err, stderr)
			}
			lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
			if len(lines) != 2 {
				t.Fatalf("modhash %s %s@%s printed %q, want two lines", args[0], m.Path, m.Version, out)
			}
			for _, line := range lines {
				if !strings.Contains(goSum, line+"\n") {
					t.Errorf("modhash %s %s@%s printed %q, not a line of the go command's go.sum:\n%s", args[0], m.Path, m.Version, line, goSum)
				}
			}
		}
	}
}

// TestNetworkBundle (MODFETCH_NETWORK=1): a bundle exported from
// proxy.golang.org and sum.golang.org, for a module requiring real
// modules of several shapes, lets the go command with a fresh GOPATH,
// GOPROXY=file://<bundle>, GOSUMDB=sum.golang.org and every network
// request sent to a dead proxy download and verify everything.
func TestNetworkBundle(t *testing.T) {
	exporter := networkHome(t)
	src := t.TempDir()
	writeFiles(t, src, map[string]string{"go.mod": `module example.com/main

go 1.21

require (
	github.com/BurntSushi/toml v1.3.2
	github.com/docker/docker v20.10.24+incompatible
	github.com/pkg/errors v0.9.1
	golang.org/x/text v0.14.0
	gopkg.in/yaml.v3 v3.0.1
)
`})
	out := filepath.Join(t.TempDir(), "bundle")
	if stdout, stderr, err := exporter.run(t, src, example(t, "bundle"), "export", "-o", out, src); err != nil {
		t.Fatalf("bundle export: %v\n%s%s", err, stdout, stderr)
	}
	h := newHome(t, &world{})
	h.env["GOPROXY"] = "file://" + filepath.ToSlash(out)
	h.env["GOSUMDB"] = "sum.golang.org"
	h.env["GOFLAGS"] = "-mod=mod -modcacherw"
	h.env["HTTPS_PROXY"] = "http://127.0.0.1:1" // no network
	h.env["HTTP_PROXY"] = "http://127.0.0.1:1"
	mod := t.TempDir()
	writeFiles(t, mod, map[string]string{"go.mod": readFile(t, filepath.Join(src, "go.mod"))})
	if stdout, stderr, err := h.goCmd(t, mod, "mod", "download"); err != nil {
		t.Fatalf("go mod download from the bundle: %v\n%s%s", err, stdout, stderr)
	}
	if _, err := os.Stat(filepath.Join(h.gopath, "pkg", "sumdb", "sum.golang.org", "latest")); err != nil {
		t.Errorf("the go command kept no tree head of sum.golang.org: %v", err)
	}
}

func readFile(t *testing.T, name string) string {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// TestBundleImportIntoProxyCache: `bundle import -cache DIR` fills the
// store examples/proxyserver -cache DIR serves from, checksum database
// data included: with GOPROXY=off and no network, the server serves the
// modules and the database to the go command, which verifies them.
func TestBundleImportIntoProxyCache(t *testing.T) {
	w, _, tgz, _ := exportBundles(t)
	server := offlineHome(t, w, "off")
	cacheDir := t.TempDir()
	if stdout, stderr, err := server.run(t, t.TempDir(), example(t, "bundle"), "import", "-cache", cacheDir, tgz); err != nil {
		t.Fatalf("bundle import -cache: %v\n%s%s", err, stdout, stderr)
	}
	addr, logs, _ := startProxyServer(t, server, "-cache", cacheDir)
	h := offlineHome(t, w, "http://"+addr)
	mod := t.TempDir()
	writeFiles(t, mod, bundleMain)
	if stdout, stderr, err := h.goCmd(t, mod, "build", "./..."); err != nil {
		t.Fatalf("go build through proxyserver over the imported store: %v\n%s%s\nserver log:\n%s", err, stdout, stderr, logs.String())
	}
	checkGoSum(t, w, mod)
}
