//go:build unix

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/dirhash"

	"github.com/modfetch/modfetch"
	"github.com/modfetch/modfetch/internal/fixture"
)

const (
	smallPath = "example.com/small"
	bigPath   = "example.com/big"
	bigData   = 8 << 20 // bytes of noise in the big module's zip
)

// crashWorld is a module proxy and checksum database on loopback serving
// a small module and a big one (an 8 MiB zip), and a fresh home (GOPATH,
// GOMODCACHE, TMPDIR) for the programs the test runs.
type crashWorld struct {
	set *fixture.Set
	big *fixture.Module

	// Holding the big zip: while hold is set, its responses send the
	// first cut bytes and then wait for the client to leave, counting
	// what they sent in sent.
	hold atomic.Bool
	cut  int
	sent atomic.Int64

	proxyURL, gosumdb          string
	home, gomodcache, tmp, bin string
}

func newCrashWorld(t *testing.T) *crashWorld {
	t.Helper()
	w := &crashWorld{set: new(fixture.Set)}
	w.set.Add(smallPath, "v1.0.0", map[string]string{
		"go.mod":   "module " + smallPath + "\n\ngo 1.21\n",
		"small.go": "package small\n\nconst Name = \"small\"\n",
	}, fixture.Day(1))
	w.big = w.set.Add(bigPath, "v1.0.0", map[string]string{
		"go.mod":   "module " + bigPath + "\n\ngo 1.21\n",
		"big.go":   "package big\n\nconst Name = \"big\"\n",
		"data.bin": fixture.Noise(bigData),
	}, fixture.Day(2))
	w.cut = len(w.big.Zip) / 2

	db := fixture.NewSumDB("sum.example.com", w.set.GoSumLines)
	dbsrv := httptest.NewServer(db)
	t.Cleanup(dbsrv.Close)
	w.gosumdb = db.Key + " " + dbsrv.URL

	bigZip := "/" + bigPath + "/@v/v1.0.0.zip"
	proxy := &fixture.Server{Set: w.set, Fault: func(rw http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path != bigZip || !w.hold.Load() {
			return false
		}
		rw.Header().Set("Content-Type", "application/zip")
		rw.Header().Set("Content-Length", fmt.Sprint(len(w.big.Zip)))
		for off := 0; off < w.cut; off += 64 << 10 {
			n, err := rw.Write(w.big.Zip[off:min(off+64<<10, w.cut)])
			w.sent.Add(int64(n))
			if err != nil {
				return true
			}
		}
		rw.(http.Flusher).Flush()
		<-r.Context().Done() // the client is killed
		return true
	}}
	psrv := httptest.NewServer(proxy)
	t.Cleanup(psrv.Close)
	w.proxyURL = psrv.URL

	w.home = t.TempDir()
	w.gomodcache = filepath.Join(w.home, "go", "pkg", "mod")
	w.tmp = filepath.Join(w.home, "tmp")
	if err := os.Mkdir(w.tmp, 0o777); err != nil {
		t.Fatal(err)
	}
	// Telemetry off for good (GOTELEMETRY is read-only): otherwise a go
	// command leaves a child behind writing into HOME after it exits.
	mode := filepath.Join(w.home, ".config", "go", "telemetry", "mode")
	if err := os.MkdirAll(filepath.Dir(mode), 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(mode, []byte("off 2026-01-01"), 0o666); err != nil {
		t.Fatal(err)
	}
	w.bin = buildDownload(t)
	return w
}

var (
	buildOnce sync.Once
	buildDir  string // holds the program built by buildDownload
	buildErr  error
)

// buildDownload builds this program, once for the test run, and returns
// its file name. TestMain removes it.
func buildDownload(t *testing.T) string {
	t.Helper()
	goCmd := goBin(t)
	buildOnce.Do(func() {
		if buildDir, buildErr = os.MkdirTemp("", "modfetch-download-test"); buildErr != nil {
			return
		}
		out, err := exec.Command(goCmd, "build", "-o", filepath.Join(buildDir, "download"), ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return filepath.Join(buildDir, "download")
}

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// goBin returns the go command; the tests need it and fail without it.
func goBin(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed: %v", err)
	}
	return p
}

// environ is the environment of the programs run in w, with GOPROXY
// set to goproxy.
func (w *crashWorld) environ(goproxy string) []string {
	return []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + w.home,
		"TMPDIR=" + w.tmp,
		"GOPATH=" + filepath.Join(w.home, "go"),
		"GOMODCACHE=" + w.gomodcache,
		"GOCACHE=" + filepath.Join(w.home, "gocache"),
		"GOPROXY=" + goproxy,
		"GOSUMDB=" + w.gosumdb,
		"GOFLAGS=-modcacherw -mod=mod",
		"GOENV=off", "GOTOOLCHAIN=local", "GOTELEMETRY=off", "GOWORK=off", "CGO_ENABLED=0",
		"GONOSUMDB=", "GOPRIVATE=", "GONOPROXY=", "GOINSECURE=", "GOAUTH=off",
	}
}

// command returns a command running name in dir with w's environment,
// ended after two minutes at most.
func (w *crashWorld) command(t *testing.T, goproxy, dir, name string, args ...string) *exec.Cmd {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = w.environ(goproxy)
	return cmd
}

// download runs this program with -json and the arguments, to the end,
// and returns what it printed for each.
func (w *crashWorld) download(t *testing.T, args ...string) []moduleJSON {
	t.Helper()
	cmd := w.command(t, w.proxyURL, t.TempDir(), w.bin, append([]string{"-json"}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("download %s: %v\n%s%s", strings.Join(args, " "), err, out, stderr.Bytes())
	}
	var mods []moduleJSON
	dec := json.NewDecoder(bytes.NewReader(out))
	for dec.More() {
		var m moduleJSON
		if err := dec.Decode(&m); err != nil {
			t.Fatalf("download output: %v\n%s", err, out)
		}
		mods = append(mods, m)
	}
	if len(mods) != len(args) {
		t.Fatalf("download printed %d modules for %d arguments:\n%s", len(mods), len(args), out)
	}
	return mods
}

// checkDownloaded checks that m is the complete download of fixture mod:
// its files in the cache hold the fixture's bytes and its extracted
// directory hashes to the zip's hash.
func (w *crashWorld) checkDownloaded(t *testing.T, m moduleJSON, mod *fixture.Module) {
	t.Helper()
	if m.Error != "" || m.Path != mod.Path || m.Version != mod.Version || m.Sum != mod.ZipSum() || m.GoModSum != mod.ModSum() {
		t.Fatalf("download of %s@%s: %+v", mod.Path, mod.Version, m)
	}
	for name, want := range map[string][]byte{m.Info: mod.Info, m.GoMod: mod.Mod, m.Zip: mod.Zip} {
		if got, err := os.ReadFile(name); err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: %d bytes, %v; want the %d served", name, len(got), err, len(want))
		}
	}
	dir, ok := modfetch.ExtractedDir(w.gomodcache, mod.Path, mod.Version)
	if !ok || dir != m.Dir {
		t.Fatalf("ExtractedDir(%s@%s) = %s, %v; want %s, complete", mod.Path, mod.Version, dir, ok, m.Dir)
	}
	if h, err := dirhash.HashDir(dir, mod.Path+"@"+mod.Version, dirhash.Hash1); err != nil || h != mod.ZipSum() {
		t.Errorf("extracted %s: hash %s, %v; want %s", dir, h, err, mod.ZipSum())
	}
}

// TestKilledMidZip kills this program with SIGKILL while the proxy has
// sent half of an 8 MiB zip and the cache is writing it. Nothing partial
// is visible in GOMODCACHE afterwards (no zip, hash or directory of the
// module; what the cache holds is whole) and nothing is left in TMPDIR;
// the go command builds, downloads and verifies from the cache with
// GOPROXY=off the module downloaded before; and the next run removes the
// temporary file the killed one left and downloads the big module
// completely, after which the go command uses it offline too.
func TestKilledMidZip(t *testing.T) {
	w := newCrashWorld(t)
	small := w.set.Module(smallPath, "v1.0.0")

	// A complete download of the small module.
	w.checkDownloaded(t, w.download(t, smallPath+"@v1.0.0")[0], small)

	// A download of the big one, killed halfway through its zip.
	w.killMidZip(t)
	w.checkCutModule(t)

	// The go command uses the cache with no proxy for the small module.
	app := w.mainModule(t, small)
	w.goOffline(t, app, "mod", "verify")
	w.goOffline(t, app, "build", "./...")
	out := w.goOffline(t, app, "mod", "download", "-json", smallPath)
	var m moduleJSON
	if err := json.Unmarshal(out, &m); err != nil || m.Error != "" || m.Sum != small.ZipSum() {
		t.Errorf("offline go mod download %s: %+v, %v\n%s", smallPath, m, err, out)
	}

	// The next run completes the download and removes the temporary file
	// the killed one left.
	if temps, _ := filepath.Glob(filepath.Join(w.bigV(), "v1.0.0.zip.*.modfetch.tmp")); len(temps) != 1 {
		t.Errorf("temporary files of the cut zip: %v, want one", temps)
	}
	w.checkDownloaded(t, w.download(t, bigPath+"@v1.0.0")[0], w.big)
	w.checkNothingPartial(t)
	if temps, _ := filepath.Glob(filepath.Join(w.bigV(), "*.tmp")); len(temps) != 0 {
		t.Errorf("temporary files after the download completed: %v", temps)
	}
	app = w.mainModule(t, small, w.big)
	w.goOffline(t, app, "mod", "verify")
	w.goOffline(t, app, "build", "./...")
	out = w.goOffline(t, app, "mod", "download", "-json", bigPath)
	m = moduleJSON{}
	if err := json.Unmarshal(out, &m); err != nil || m.Error != "" || m.Sum != w.big.ZipSum() {
		t.Errorf("offline go mod download %s: %+v, %v\n%s", bigPath, m, err, out)
	}
}

// TestKilledMidZipGoCommandResumes: after this program was killed in the
// middle of the big zip, the go command sharing the module cache finds
// nothing of it to use offline, downloads it through the proxy, and this
// program then finds it complete in the cache with GOPROXY=off.
func TestKilledMidZipGoCommandResumes(t *testing.T) {
	w := newCrashWorld(t)
	w.killMidZip(t)
	w.checkCutModule(t)

	cmd := w.command(t, "off", t.TempDir(), goBin(t), "mod", "download", "-json", bigPath+"@v1.0.0")
	if out, err := cmd.Output(); err == nil {
		t.Errorf("offline go mod download of the cut module succeeded:\n%s", out)
	}
	w.checkCutModule(t)

	cmd = w.command(t, w.proxyURL, t.TempDir(), goBin(t), "mod", "download", "-json", bigPath+"@v1.0.0")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var m moduleJSON
	if err != nil || json.Unmarshal(out, &m) != nil {
		t.Fatalf("go mod download after the kill: %v\n%s%s", err, out, stderr.Bytes())
	}
	w.checkDownloaded(t, m, w.big)
	w.checkNothingPartial(t)
	if temps, _ := filepath.Glob(filepath.Join(w.bigV(), "*.tmp")); len(temps) != 0 {
		t.Errorf("temporary files after the go command's download: %v", temps)
	}

	cmd = w.command(t, "off", t.TempDir(), w.bin, "-json", bigPath+"@v1.0.0")
	stderr.Reset()
	cmd.Stderr = &stderr
	out, err = cmd.Output()
	m = moduleJSON{}
	if err != nil || json.Unmarshal(out, &m) != nil {
		t.Fatalf("offline download after the go command's: %v\n%s%s", err, out, stderr.Bytes())
	}
	w.checkDownloaded(t, m, w.big)
}

// bigV is the big module's "@v" directory in the download cache.
func (w *crashWorld) bigV() string {
	return filepath.Join(w.gomodcache, "cache", "download", bigPath, "@v")
}

// killMidZip runs this program to download the big module and kills it
// with SIGKILL once the proxy has sent half the zip and the cache has
// written what it got of it.
func (w *crashWorld) killMidZip(t *testing.T) {
	t.Helper()
	w.hold.Store(true)
	defer w.hold.Store(false)
	w.sent.Store(0)
	cmd := w.command(t, w.proxyURL, t.TempDir(), w.bin, "-json", bigPath+"@v1.0.0")
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() {
		cmd.Wait()
		close(exited)
	}()
	alive := func() bool {
		select {
		case <-exited:
			return false
		default:
			return true
		}
	}
	written := func() int64 { // the most the cache has written of the zip
		n := int64(-1)
		names, _ := filepath.Glob(filepath.Join(w.bigV(), "v1.0.0.zip*")) // temporary or not
		for _, name := range names {
			if strings.HasPrefix(filepath.Base(name), "v1.0.0.ziphash") {
				continue
			}
			if fi, err := os.Stat(name); err == nil {
				n = max(n, fi.Size())
			}
		}
		return n
	}
	// The cache writes all but the last 64 KiB, which a verifying reader
	// holds back until the whole zip is checked.
	fixture.WaitFor(t, "the proxy to send half the zip and the cache to write most of it", func() bool {
		return w.sent.Load() >= int64(w.cut) && written() >= int64(w.cut-128<<10) || !alive()
	})
	if !alive() {
		t.Fatalf("download exited before it was killed: %v\n%s", cmd.ProcessState, stderr.Bytes())
	}
	t.Logf("killing the download with %d of %d bytes sent and %d written to the cache", w.sent.Load(), len(w.big.Zip), written())
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-exited
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("download ended with %v, not SIGKILL\n%s", cmd.ProcessState, stderr.Bytes())
	}
}

// checkCutModule checks the module cache after killMidZip: no zip, hash,
// extraction marker or directory of the big module, only whole files in
// the whole cache, and nothing left in TMPDIR.
func (w *crashWorld) checkCutModule(t *testing.T) {
	t.Helper()
	for _, ext := range []string{"zip", "ziphash", "partial"} {
		name := filepath.Join(w.bigV(), "v1.0.0."+ext)
		if _, err := os.Lstat(name); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s after the kill: %v, want it missing", name, err)
		}
	}
	dir, err := modfetch.ModCacheDir(w.gomodcache, bigPath, "v1.0.0")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("%s after the kill: %v, want it missing", dir, err)
	}
	w.checkNothingPartial(t)
	if entries, err := os.ReadDir(w.tmp); err != nil || len(entries) != 0 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("TMPDIR after the kill: %v, %v; want it empty", names, err)
	}
}

// checkNothingPartial checks that everything in the module cache is
// whole: each module file in cache/download holds the fixture's bytes,
// each .ziphash the zip's hash, each extracted directory is complete (a
// .ziphash, the zip's hash) unless marked as partial beside its stored
// zip; the only other files are version lists, locks, DirStore's and the
// go command's temporary files, and checksum database data.
func (w *crashWorld) checkNothingPartial(t *testing.T) {
	t.Helper()
	download := filepath.Join(w.gomodcache, "cache", "download")
	files := make(map[string][]byte) // relative to download
	for _, mod := range w.set.Modules() {
		rel := func(ext string) string {
			key, err := modfetch.VersionFile(mod.Path, mod.Version, ext)
			if err != nil {
				t.Fatal(err)
			}
			return filepath.FromSlash(key)
		}
		files[rel("info")] = mod.Info
		files[rel("mod")] = mod.Mod
		files[rel("zip")] = mod.Zip
		files[rel("ziphash")] = []byte(mod.ZipSum())
		zipExists := fileExists(filepath.Join(download, rel("zip")))
		if fileExists(filepath.Join(download, rel("ziphash"))) && !zipExists {
			t.Errorf("%s without its zip", rel("ziphash"))
		}
		dir, err := modfetch.ModCacheDir(w.gomodcache, mod.Path, mod.Version)
		if err != nil {
			t.Fatal(err)
		}
		if fileExists(filepath.Join(download, rel("partial"))) {
			// An extraction cut short, marked as such: neither the go
			// command nor ExtractedDir takes the directory.
			if _, ok := modfetch.ExtractedDir(w.gomodcache, mod.Path, mod.Version); ok {
				t.Errorf("ExtractedDir takes %s, marked partial, for complete", dir)
			}
			if !zipExists {
				t.Errorf("%s without a stored zip to extract", rel("partial"))
			}
			continue
		}
		if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if _, ok := modfetch.ExtractedDir(w.gomodcache, mod.Path, mod.Version); !ok || !zipExists {
			t.Errorf("%s exists but is not a complete extraction of a stored zip", dir)
		}
		if h, err := dirhash.HashDir(dir, mod.Path+"@"+mod.Version, dirhash.Hash1); err != nil || h != mod.ZipSum() {
			t.Errorf("extracted %s: hash %s, %v; want %s", dir, h, err, mod.ZipSum())
		}
	}
	filepath.WalkDir(download, func(name string, e fs.DirEntry, err error) error {
		if err != nil {
			t.Error(err)
			return nil
		}
		rel, _ := filepath.Rel(download, name)
		if e.IsDir() {
			if rel == "sumdb" {
				return filepath.SkipDir
			}
			return nil
		}
		if want, ok := files[rel]; ok {
			got, err := os.ReadFile(name)
			if strings.HasSuffix(rel, ".ziphash") {
				got = bytes.TrimSpace(got)
			}
			if err != nil || !bytes.Equal(got, want) {
				t.Errorf("%s: %d bytes, %v; want the %d bytes of the whole file", rel, len(got), err, len(want))
			}
			return nil
		}
		switch base := e.Name(); {
		case base == "list", strings.HasSuffix(base, ".lock"), strings.HasSuffix(base, ".tmp"), strings.HasSuffix(base, ".partial"):
		default:
			t.Errorf("unexpected file in the cache: %s", rel)
		}
		return nil
	})
}

func fileExists(name string) bool {
	_, err := os.Stat(name)
	return err == nil
}

// mainModule writes a main module requiring mods, with their go.sum lines
// and a package importing each, and returns its directory.
func (w *crashWorld) mainModule(t *testing.T, mods ...*fixture.Module) string {
	t.Helper()
	dir := t.TempDir()
	var gomod, gosum, src strings.Builder
	gomod.WriteString("module example.com/app\n\ngo 1.21\n\nrequire (\n")
	src.WriteString("package app\n\nimport (\n")
	for _, m := range mods {
		fmt.Fprintf(&gomod, "\t%s %s\n", m.Path, m.Version)
		fmt.Fprintf(&gosum, "%s %s %s\n%s %s/go.mod %s\n", m.Path, m.Version, m.ZipSum(), m.Path, m.Version, m.ModSum())
		fmt.Fprintf(&src, "\t_ %q\n", m.Path)
	}
	gomod.WriteString(")\n")
	src.WriteString(")\n")
	for name, data := range map[string]string{"go.mod": gomod.String(), "go.sum": gosum.String(), "app.go": src.String()} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o666); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// goOffline runs the go command in dir with GOPROXY=off and returns its
// standard output, failing t if it fails.
func (w *crashWorld) goOffline(t *testing.T, dir string, args ...string) []byte {
	t.Helper()
	cmd := w.command(t, "off", dir, goBin(t), args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("GOPROXY=off go %s: %v\n%s%s", strings.Join(args, " "), err, out, stderr.Bytes())
	}
	return out
}
