package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"io/fs"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/modfetch/modfetch/goenv"
	"github.com/modfetch/modfetch/internal/fixture"
)

// world is a hermetic module world: a proxy of fixture modules and a
// checksum database vouching for them, on loopback.
type world struct {
	set      *fixture.Set
	proxy    *fixture.Server
	proxyURL string
	sumdb    *fixture.SumDB
	sumdbURL string
}

func newWorld(t *testing.T, set *fixture.Set) *world {
	t.Helper()
	w := &world{set: set}
	w.sumdb = fixture.NewSumDB("sum.example.com", set.GoSumLines)
	dbsrv := httptest.NewServer(w.sumdb)
	t.Cleanup(dbsrv.Close)
	w.sumdbURL = dbsrv.URL
	w.proxy = &fixture.Server{Set: set}
	psrv := httptest.NewServer(w.proxy)
	t.Cleanup(psrv.Close)
	w.proxyURL = psrv.URL
	return w
}

// gosumdb is the GOSUMDB value naming the test database and its URL.
func (w *world) gosumdb() string {
	if w.sumdb == nil {
		return "off"
	}
	return w.sumdb.Key + " " + w.sumdbURL
}

// home is a throwaway user environment: GOPATH, GOMODCACHE and env vars.
type home struct {
	dir        string
	gopath     string
	gomodcache string
	env        map[string]string
}

func newHome(t *testing.T, w *world) *home {
	t.Helper()
	dir := t.TempDir()
	h := &home{dir: dir, gopath: filepath.Join(dir, "gopath")}
	h.gomodcache = filepath.Join(h.gopath, "pkg", "mod")
	h.env = map[string]string{
		"HOME":        dir,
		"GOPATH":      h.gopath,
		"GOMODCACHE":  h.gomodcache,
		"GOPROXY":     w.proxyURL,
		"GOSUMDB":     w.gosumdb(),
		"GOFLAGS":     "-modcacherw",
		"GOENV":       "off",
		"GOTOOLCHAIN": "local",
		"GOTELEMETRY": "off",
		"GOCACHE":     sharedGoCache(t),
		"CGO_ENABLED": "0",
		"GONOSUMDB":   "",
		"GOPRIVATE":   "",
		"GONOPROXY":   "",
		"GOINSECURE":  "",
	}
	// GOTELEMETRY is read-only: telemetry is off only when its mode file
	// says so, as `go telemetry off` writes it. Otherwise a go command
	// leaves a child process behind that writes into HOME after it exits,
	// racing the removal of the directory.
	mode := filepath.Join(dir, ".config", "go", "telemetry", "mode")
	if err := os.MkdirAll(filepath.Dir(mode), 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(mode, []byte("off 2026-01-01"), 0o666); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { chmodAll(dir) })
	return h
}

// config is the goenv.Config the go command would compute in h.
func (h *home) config() *goenv.Config {
	private := h.env["GOPRIVATE"]
	orDefault := func(v, def string) string {
		if v == "" {
			return def
		}
		return v
	}
	return &goenv.Config{
		GOPROXY:    h.env["GOPROXY"],
		GOSUMDB:    h.env["GOSUMDB"],
		GOPRIVATE:  private,
		GONOPROXY:  orDefault(h.env["GONOPROXY"], private),
		GONOSUMDB:  orDefault(h.env["GONOSUMDB"], private),
		GOMODCACHE: h.gomodcache,
		GOPATH:     h.gopath,
		GOAUTH:     "off",
		ModCacheRW: true,
	}
}

// environ returns the process environment for commands run in h.
func (h *home) environ() []string {
	env := []string{"PATH=" + os.Getenv("PATH")}
	for k, v := range h.env {
		env = append(env, k+"="+v)
	}
	return env
}

var (
	goCacheOnce sync.Once
	goCacheDir  string
)

// sharedGoCache is a build cache shared by the tests of this run.
func sharedGoCache(t *testing.T) string {
	goCacheOnce.Do(func() {
		dir, err := os.MkdirTemp("", "modfetch-e2e-gocache")
		if err != nil {
			panic(err)
		}
		goCacheDir = dir
	})
	return goCacheDir
}

// goBin returns the go command, or skips the test saying why.
func goBin(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("go")
	if err != nil {
		t.Skip("skipping: the go command is not in PATH (these tests compare modfetch with it)")
	}
	return p
}

// run runs a command in dir with h's environment.
func (h *home) run(t *testing.T, dir string, name string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*60e9)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = h.environ()
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	return o.String(), e.String(), err
}

func (h *home) goCmd(t *testing.T, dir string, args ...string) (string, string, error) {
	t.Helper()
	return h.run(t, dir, goBin(t), args...)
}

var (
	buildOnce sync.Once
	buildDir  string
	buildErr  error
)

// example builds the named example program once per test run.
func example(t *testing.T, name string) string {
	t.Helper()
	goBin(t)
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "modfetch-e2e-bin")
		if buildErr != nil {
			return
		}
		_, file, _, _ := runtime.Caller(0)
		root := filepath.Join(filepath.Dir(file), "..", "..")
		// examples/proxyserver is a module of its own, in the go.work.
		cmd := exec.Command("go", "build", "-o", buildDir+string(filepath.Separator), "./examples/...", "./examples/proxyserver")
		cmd.Dir = root
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildErr = &buildError{err, string(out)}
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return filepath.Join(buildDir, name)
}

type buildError struct {
	err error
	out string
}

func (e *buildError) Error() string { return e.err.Error() + "\n" + e.out }

// moduleJSON is `go mod download -json` output.
type moduleJSON struct {
	Path, Version, Query, Error string
	Info, GoMod, Zip, Dir, Sum  string
	GoModSum                    string
	Origin                      map[string]any
}

func decodeModules(t *testing.T, out string) []moduleJSON {
	t.Helper()
	var list []moduleJSON
	dec := json.NewDecoder(strings.NewReader(out))
	for dec.More() {
		var m moduleJSON
		if err := dec.Decode(&m); err != nil {
			t.Fatalf("decoding %q: %v", out, err)
		}
		list = append(list, m)
	}
	return list
}

// chmodAll makes a tree removable (module caches are read-only).
func chmodAll(dir string) {
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			os.Chmod(path, 0o777)
		}
		return nil
	})
}

// startProxyServer runs examples/proxyserver in h's environment on a
// loopback port it chooses, with args (and "-cache" a temporary
// directory unless args set it), until the test ends, and returns its
// address, logs and process.
func startProxyServer(t *testing.T, h *home, args ...string) (addr string, logs *lockedBuffer, cmd *exec.Cmd) {
	t.Helper()
	if !slices.ContainsFunc(args, func(a string) bool { return a == "-cache" || strings.HasPrefix(a, "-cache=") }) {
		args = append(args, "-cache", t.TempDir())
	}
	logs = new(lockedBuffer)
	cmd = exec.Command(example(t, "proxyserver"), append([]string{"-addr", "127.0.0.1:0"}, args...)...)
	cmd.Env = h.environ()
	cmd.Stderr = logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
	})
	return fixture.ListeningAddr(t, logs), logs, cmd
}

// lockedBuffer is a bytes.Buffer safe for a writer and a reader.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestMain removes what the run's tests shared: the build cache and the
// example programs.
func TestMain(m *testing.M) {
	m.Run()
	for _, dir := range []string{goCacheDir, buildDir} {
		if dir != "" {
			os.RemoveAll(dir)
		}
	}
}
