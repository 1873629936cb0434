package main

import (
	"bytes"
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modfetch/modfetch/internal/fixture"
)

// setEnv points the go environment at a fixture proxy and database on
// loopback, in a throwaway home; it returns the database and a function
// closing the servers.
func setEnv(t *testing.T) (*fixture.Set, *fixture.SumDB, func()) {
	t.Helper()
	set := fixture.Standard()
	db := fixture.NewSumDB("sum.example.com", set.GoSumLines)
	dbsrv := httptest.NewServer(db)
	psrv := httptest.NewServer(&fixture.Server{Set: set})
	closeAll := func() { psrv.Close(); dbsrv.Close() }
	t.Cleanup(closeAll)
	home := t.TempDir()
	for k, v := range map[string]string{
		"HOME": home, "GOPATH": filepath.Join(home, "gopath"), "GOMODCACHE": filepath.Join(home, "gopath", "pkg", "mod"),
		"GOPROXY": psrv.URL, "GOSUMDB": db.Key + " " + dbsrv.URL, "GOENV": "off", "GOFLAGS": "-modcacherw",
		"GONOSUMDB": "", "GOPRIVATE": "", "GONOPROXY": "", "GOAUTH": "off",
	} {
		t.Setenv(k, v)
	}
	return set, db, closeAll
}

func runCmd(args ...string) (code int, stdout, stderr string) {
	var o, e bytes.Buffer
	code = run(context.Background(), args, &o, &e)
	return code, o.String(), e.String()
}

func TestUsage(t *testing.T) {
	for _, args := range [][]string{
		nil,
		{"frob"},
		{"export"},
		{"export", "-o", "x", "-gosum", "go.sum", "dir"},
		{"export", "-o", "x", "a", "b"},
		{"import"},
		{"import", "-modcache", "a", "-cache", "b", "in"},
		{"import", "-nope", "in"},
	} {
		code, _, stderr := runCmd(args...)
		if code != 2 || !strings.Contains(stderr, "usage: bundle export -o OUT [-gosum FILE | MODULE_DIR]") {
			t.Errorf("bundle %q: exit %d, stderr %q; want 2 and the usage", args, code, stderr)
		}
	}
}

// TestExportGoSumImportCache: export -gosum FILE takes every version the
// go.sum records (a "/go.mod" line alone: the go.mod file only), and
// import -cache DIR fills a proxy's store at DIR/download with no
// network, the checksum database's data included.
func TestExportGoSumImportCache(t *testing.T) {
	set, _, closeNet := setEnv(t)
	dir := t.TempDir()
	h10, h11 := set.Module("example.com/hello", "v1.0.0"), set.Module("example.com/hello", "v1.1.0")
	gosum := filepath.Join(dir, "go.sum")
	os.WriteFile(gosum, []byte(
		"example.com/hello v1.0.0/go.mod "+h10.ModSum()+"\n"+
			"example.com/hello v1.1.0 "+h11.ZipSum()+"\n"+
			"example.com/hello v1.1.0/go.mod "+h11.ModSum()+"\n"), 0o666)
	out := filepath.Join(dir, "b.zip")
	code, _, stderr := runCmd("export", "-o", out, "-gosum", gosum)
	if code != 0 {
		t.Fatalf("export: exit %d\n%s", code, stderr)
	}
	for _, want := range []string{"fetched example.com/hello@v1.0.0/go.mod (", "fetched example.com/hello@v1.1.0 (", "wrote " + out + ": 2 module versions"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("export's stderr does not say %q:\n%s", want, stderr)
		}
	}
	closeNet()

	cacheDir := filepath.Join(dir, "proxycache")
	code, _, stderr = runCmd("import", "-cache", cacheDir, out)
	if code != 0 {
		t.Fatalf("import: exit %d\n%s", code, stderr)
	}
	dl := filepath.Join(cacheDir, "download")
	for name, want := range map[string]bool{
		"example.com/hello/@v/v1.0.0.mod":                       true,
		"example.com/hello/@v/v1.0.0.zip":                       false,
		"example.com/hello/@v/v1.1.0.info":                      true,
		"example.com/hello/@v/v1.1.0.mod":                       true,
		"example.com/hello/@v/v1.1.0.zip":                       true,
		"sumdb/sum.example.com/lookup/example.com/hello@v1.1.0": true,
	} {
		_, err := os.Stat(filepath.Join(dl, filepath.FromSlash(name)))
		if (err == nil) != want {
			t.Errorf("%s in the store: %v, want present %v", name, err, want)
		}
	}
	if !strings.Contains(stderr, "imported example.com/hello@v1.0.0/go.mod (") || !strings.Contains(stderr, "imported 2 module versions into "+cacheDir) {
		t.Errorf("import's stderr:\n%s", stderr)
	}
}

// TestExportFailures: an existing output, a database turned off and a
// module that does not exist each fail with exit status 1 and the reason.
func TestExportFailures(t *testing.T) {
	setEnv(t)
	dir := t.TempDir()
	full := filepath.Join(dir, "full")
	os.MkdirAll(full, 0o777)
	os.WriteFile(filepath.Join(full, "keep"), nil, 0o666)
	mod := filepath.Join(dir, "mod")
	os.MkdirAll(mod, 0o777)
	os.WriteFile(filepath.Join(mod, "go.mod"), []byte("module example.com/main\n\ngo 1.21\n\nrequire example.com/hello v1.1.0\n"), 0o666)
	missing := filepath.Join(dir, "missing")
	os.MkdirAll(missing, 0o777)
	os.WriteFile(filepath.Join(missing, "go.mod"), []byte("module example.com/main\n\ngo 1.21\n\nrequire example.com/hello v1.9.0\n"), 0o666)

	code, _, stderr := runCmd("export", "-o", full, mod)
	if code != 1 || !strings.Contains(stderr, "already exists and is not empty") || strings.Contains(stderr, "loading") {
		t.Errorf("export into a full directory: exit %d\n%s", code, stderr)
	}
	code, _, stderr = runCmd("export", "-o", filepath.Join(dir, "b"), missing)
	if code != 1 || !strings.Contains(stderr, "example.com/hello@v1.9.0") {
		t.Errorf("export of a module requiring a missing version: exit %d\n%s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "b")); err == nil {
		t.Errorf("a failed export left its output")
	}
	t.Setenv("GOSUMDB", "off")
	code, _, stderr = runCmd("export", "-o", filepath.Join(dir, "c"), mod)
	if code != 1 || !strings.Contains(stderr, "GOSUMDB is off") {
		t.Errorf("export with GOSUMDB=off: exit %d\n%s", code, stderr)
	}
	code, _, stderr = runCmd("import", "-modcache", filepath.Join(dir, "mc"), full)
	if code != 1 || !strings.Contains(stderr, "GOSUMDB is off and no -gosum") {
		t.Errorf("import with GOSUMDB=off: exit %d\n%s", code, stderr)
	}
}
