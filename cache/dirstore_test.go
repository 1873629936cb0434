package cache_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"golang.org/x/mod/module"
	"golang.org/x/mod/sumdb/dirhash"
	modzip "golang.org/x/mod/zip"

	"github.com/modfetch/modfetch/cache"
	"github.com/modfetch/modfetch/cache/cachetest"
	"github.com/modfetch/modfetch/internal/lockedfile"
)

func TestDirStoreConformance(t *testing.T) {
	cachetest.Run(t, func(t *testing.T) cache.Store {
		return &cache.DirStore{Dir: t.TempDir()}
	}, cachetest.Options{LargeSize: 64 << 20})
}

// TestDirStoreModes checks that module files in "@v" directories are
// read-only and everything else keeps the default mode.
func TestDirStoreModes(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Unix permission bits do not apply on Windows")
	}
	s := &cache.DirStore{Dir: t.TempDir()}
	for _, tc := range []struct {
		key      string
		readOnly bool
	}{
		{"example.com/m/@v/v1.0.0.info", true},
		{"example.com/m/@v/v1.0.0.mod", true},
		{"example.com/m/@v/v1.0.0.zip", true},
		{"example.com/m/@v/v1.0.0.ziphash", true},
		{"example.com/!m/@v/v1.0.0-!r!c1.zip", true},
		{"example.com/m/@v/list", false},
		{"example.com/m/@latest", false},
		{"example.com/m/@v/v1.0.0.txt", false},
		{"example.com/m/@v2/v1.0.0.zip", false},
		{"example.com/m/v1.0.0.zip", false},
		{"@v/v1.0.0.mod", true},
		{"sumdb/sum.golang.org/lookup/example.com/m@v1.0.0", false},
		{"sumdb/sum.golang.org/tile/8/0/001", false},
	} {
		mustStorePut(t, s, tc.key, []byte("content of "+tc.key))
		// Twice: overwriting a read-only file works.
		mustStorePut(t, s, tc.key, []byte("new content of "+tc.key))
		name := filepath.Join(s.Dir, filepath.FromSlash(tc.key))
		fi, err := os.Stat(name)
		if err != nil {
			t.Fatalf("Put(%q) did not create %s: %v", tc.key, name, err)
		}
		got := fi.Mode().Perm()
		if tc.readOnly && got != 0o444 {
			t.Errorf("Put(%q): mode %v, want %v", tc.key, got, fs.FileMode(0o444))
		}
		if !tc.readOnly && got&0o200 == 0 {
			t.Errorf("Put(%q): mode %v, want writable by its owner", tc.key, got)
		}
		if data, err := os.ReadFile(name); err != nil || string(data) != "new content of "+tc.key {
			t.Errorf("file of %q holds %q, %v", tc.key, data, err)
		}
	}
}

// TestDirStoreVersionList checks that putting ".mod" files rewrites
// "@v/list" like the go command.
func TestDirStoreVersionList(t *testing.T) {
	s := &cache.DirStore{Dir: t.TempDir()}
	const dir = "example.com/m/@v/"
	listFile := filepath.Join(s.Dir, "example.com", "m", "@v", "list")
	for _, step := range []struct {
		put  string
		want string // list content after the Put; "-" means no list file
	}{
		{"v1.0.0.info", "-"},
		{"v1.0.0.zip", "-"},
		{"v1.0.0.mod", "v1.0.0\n"},
		{"v1.10.0.mod", "v1.0.0\nv1.10.0\n"},
		{"v1.2.0.mod", "v1.0.0\nv1.2.0\nv1.10.0\n"},
		// Escaped upper case is not canonical semver: the go command
		// leaves it out, and so do we.
		{"v1.0.0-!r!c1.mod", "v1.0.0\nv1.2.0\nv1.10.0\n"},
		{"v1.0.0-rc.1.mod", "v1.0.0-rc.1\nv1.0.0\nv1.2.0\nv1.10.0\n"},
		{"v2.0.0+incompatible.mod", "v1.0.0-rc.1\nv1.0.0\nv1.2.0\nv1.10.0\nv2.0.0+incompatible\n"},
		// Non-canonical names are left out.
		{"v1.3.mod", "v1.0.0-rc.1\nv1.0.0\nv1.2.0\nv1.10.0\nv2.0.0+incompatible\n"},
		{"master.mod", "v1.0.0-rc.1\nv1.0.0\nv1.2.0\nv1.10.0\nv2.0.0+incompatible\n"},
		{"v1.4.0.info", "v1.0.0-rc.1\nv1.0.0\nv1.2.0\nv1.10.0\nv2.0.0+incompatible\n"},
	} {
		mustStorePut(t, s, dir+step.put, []byte("module example.com/m\n"))
		data, err := os.ReadFile(listFile)
		switch {
		case step.want == "-" && err == nil:
			t.Errorf("after Put of %s: list exists, want none", step.put)
		case step.want == "-":
			if !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("after Put of %s: %v", step.put, err)
			}
		case err != nil:
			t.Errorf("after Put of %s: %v", step.put, err)
		case string(data) != step.want:
			t.Errorf("after Put of %s: list is %q, want %q", step.put, data, step.want)
		}
	}
	// The list is served through the store too.
	if got := mustStoreGet(t, s, dir+"list"); !strings.HasPrefix(string(got), "v1.0.0-rc.1\n") {
		t.Errorf("Get of list = %q", got)
	}

	// A Put that leaves the list as it is does not write it; one that
	// changes it does, replacing stale content of any length.
	old := time.Now().Add(-time.Hour).Truncate(time.Second)
	if err := os.Chtimes(listFile, old, old); err != nil {
		t.Fatal(err)
	}
	mustStorePut(t, s, dir+"v1.0.0.mod", []byte("module example.com/m // again\n"))
	if fi, err := os.Stat(listFile); err != nil || !fi.ModTime().Equal(old) {
		t.Errorf("list rewritten although unchanged: %v, %v", fi.ModTime(), err)
	}
	if err := os.WriteFile(listFile, []byte(strings.Repeat("garbage\n", 100)), 0o666); err != nil {
		t.Fatal(err)
	}
	mustStorePut(t, s, dir+"v1.0.0.mod", []byte("module example.com/m\n"))
	want := "v1.0.0-rc.1\nv1.0.0\nv1.2.0\nv1.10.0\nv2.0.0+incompatible\n"
	if data, err := os.ReadFile(listFile); err != nil || string(data) != want {
		t.Errorf("stale list rewritten as %q, %v; want %q", data, err, want)
	}
	if runtime.GOOS != "windows" {
		if fi, err := os.Stat(listFile); err != nil || fi.Mode().Perm()&0o200 == 0 {
			t.Errorf("list file mode %v, %v; want writable", fi.Mode(), err)
		}
	}
}

// TestDirStoreVersionListFailure checks that a failure to update the list
// is logged but does not fail the Put.
func TestDirStoreVersionListFailure(t *testing.T) {
	s := &cache.DirStore{Dir: t.TempDir()}
	// A directory where the list file should be makes the update fail.
	if err := os.MkdirAll(filepath.Join(s.Dir, "m", "@v", "list"), 0o777); err != nil {
		t.Fatal(err)
	}
	mustStorePut(t, s, "m/@v/v1.0.0.mod", []byte("module m\n"))
	if got := mustStoreGet(t, s, "m/@v/v1.0.0.mod"); string(got) != "module m\n" {
		t.Errorf("Get = %q", got)
	}
}

// TestDirStoreVersionLock checks which Puts create the go command's
// per-version lock file.
func TestDirStoreVersionLock(t *testing.T) {
	for _, tc := range []struct {
		key, lock string // lock is "" if no lock file may appear
	}{
		{"example.com/m/@v/v1.0.0.zip", "example.com/m/@v/v1.0.0.lock"},
		{"example.com/m/@v/v1.0.0.ziphash", "example.com/m/@v/v1.0.0.lock"},
		{"example.com/!m/@v/v1.0.0-!r!c1.zip", "example.com/!m/@v/v1.0.0-!r!c1.lock"},
		{"example.com/m/@v/v1.0.0.mod", ""},
		{"example.com/m/@v/v1.0.0.info", ""},
		{"example.com/m/v1.0.0.zip", ""},
	} {
		t.Run(tc.key, func(t *testing.T) {
			s := &cache.DirStore{Dir: t.TempDir()}
			mustStorePut(t, s, tc.key, []byte("data"))
			var locks []string
			filepath.WalkDir(s.Dir, func(path string, d fs.DirEntry, err error) error {
				if err == nil && strings.HasSuffix(path, ".lock") {
					rel, _ := filepath.Rel(s.Dir, path)
					locks = append(locks, filepath.ToSlash(rel))
				}
				return nil
			})
			want := []string{tc.lock}
			if tc.lock == "" {
				want = nil
			}
			if fmt.Sprint(locks) != fmt.Sprint(want) {
				t.Errorf("lock files after Put(%q) = %q, want %q", tc.key, locks, want)
			}
		})
	}
}

// TestDirStoreWaitsForLock checks that a zip Put waits while another
// holder, such as the go command, has the version locked.
func TestDirStoreWaitsForLock(t *testing.T) {
	if runtime.GOOS == "windows" || runtime.GOOS == "plan9" {
		t.Skip("lockedfile has no locks here")
	}
	for _, key := range []string{"example.com/m/@v/v1.0.0.zip", "example.com/m/@v/v1.0.0.ziphash"} {
		t.Run(filepath.Ext(key), func(t *testing.T) {
			ctx := t.Context()
			s := &cache.DirStore{Dir: t.TempDir()}
			vdir := filepath.Join(s.Dir, "example.com", "m", "@v")
			if err := os.MkdirAll(vdir, 0o777); err != nil {
				t.Fatal(err)
			}
			unlock, err := lockedfile.Lock(ctx, filepath.Join(vdir, "v1.0.0.lock"))
			if err != nil {
				t.Fatal(err)
			}

			// While the lock is held, a Put whose ctx ends gives up and
			// stores nothing.
			short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
			err = s.Put(short, key, strings.NewReader("never"))
			cancel()
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("Put while locked with a short deadline: err = %v, want context.DeadlineExceeded", err)
			}
			checkNoTemp(t, s.Dir)

			// A Put that waits goes on once the lock is released.
			done := make(chan error, 1)
			go func() { done <- s.Put(ctx, key, strings.NewReader("zip data")) }()
			unlock()
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("Put after the lock was released: %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("Put still waiting 10s after the lock was released")
			}
			if got := mustStoreGet(t, s, key); string(got) != "zip data" {
				t.Errorf("Get = %q, want %q", got, "zip data")
			}
		})
	}
}

// TestDirStoreNoTempFiles checks that neither successful nor failed Puts
// leave temporary files behind.
func TestDirStoreNoTempFiles(t *testing.T) {
	ctx := t.Context()
	s := &cache.DirStore{Dir: t.TempDir()}
	for _, key := range []string{"example.com/m/@v/v1.0.0.mod", "example.com/m/@v/v1.0.0.zip", "example.com/m/@v/list", "sumdb/x/tile/8/0/001"} {
		mustStorePut(t, s, key, bytes.Repeat([]byte("x"), 100000))
	}
	checkNoTemp(t, s.Dir)

	canceled, cancel := context.WithCancel(ctx)
	cancel()
	for name, put := range map[string]func(key string) error{
		"failing reader": func(key string) error {
			r := io.MultiReader(bytes.NewReader(make([]byte, 100000)), iotest.ErrReader(errors.New("boom")))
			return s.Put(ctx, key, r)
		},
		"canceled ctx": func(key string) error {
			return s.Put(canceled, key, strings.NewReader("x"))
		},
		"key names a directory": func(key string) error {
			return s.Put(ctx, "example.com/m/@v", strings.NewReader("x"))
		},
	} {
		for _, key := range []string{"example.com/m/@v/v1.0.0.zip", "example.com/n/@v/v1.0.0.zip", "example.com/m/@v/list"} {
			if err := put(key); err == nil {
				t.Errorf("%s: Put(%q) succeeded, want error", name, key)
			}
		}
	}
	checkNoTemp(t, s.Dir)
	if got := mustStoreGet(t, s, "example.com/m/@v/v1.0.0.zip"); len(got) != 100000 {
		t.Errorf("value after failed Puts has %d bytes, want 100000", len(got))
	}
}

func checkNoTemp(t *testing.T, dir string) {
	t.Helper()
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			t.Errorf("walking %s: %v", dir, err)
			return nil
		}
		if strings.HasSuffix(path, ".tmp") {
			t.Errorf("temporary file left behind: %s", path)
		}
		return nil
	})
}

func TestDirStorePath(t *testing.T) {
	dir := t.TempDir()
	s := &cache.DirStore{Dir: dir}
	for _, key := range []string{"a", "example.com/m/@v/v1.0.0.zip", "github.com/!burnt!sushi/toml/@v/list", "sumdb/sum.golang.org/tile/8/0/x001/234.p/5"} {
		got, err := s.Path(key)
		if want := filepath.Join(append([]string{dir}, strings.Split(key, "/")...)...); err != nil || got != want {
			t.Errorf("Path(%q) = %q, %v; want %q", key, got, err, want)
		}
	}
	for _, key := range []string{"", "/abs", "a/../b", "..", "a//b", "./a", "a/", "a\\b", "a\x00b", "a:b", "C:/x", "a b", "é"} {
		if got, err := s.Path(key); err == nil {
			t.Errorf("Path(%q) = %q, want error", key, got)
		}
	}
}

func TestDirStoreZeroDir(t *testing.T) {
	ctx := t.Context()
	var s cache.DirStore
	const key = "example.com/m/@v/v1.0.0.mod"
	if p, err := s.Path(key); err == nil {
		t.Errorf("Path with empty Dir = %q, want error", p)
	}
	if err := s.Put(ctx, key, strings.NewReader("x")); err == nil {
		t.Errorf("Put with empty Dir succeeded")
	}
	if rc, err := s.Get(ctx, key); err == nil {
		rc.Close()
		t.Errorf("Get with empty Dir succeeded")
	} else if errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Get with empty Dir: err = %v; a misconfigured store must not look like a miss", err)
	}
	if err := s.Delete(ctx, key); err == nil {
		t.Errorf("Delete with empty Dir succeeded")
	}
}

// TestDirStoreDirectories checks keys that name directories of other keys
// or lie below files.
func TestDirStoreDirectories(t *testing.T) {
	ctx := t.Context()
	s := &cache.DirStore{Dir: t.TempDir()}
	mustStorePut(t, s, "a/b/c", []byte("c"))
	if _, err := s.Get(ctx, "a/b"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Get of a directory: err = %v, want fs.ErrNotExist", err)
	}
	if _, err := s.Get(ctx, "a/b/c/d"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Get below a file: err = %v, want fs.ErrNotExist", err)
	}
	if err := s.Delete(ctx, "a/b"); err != nil {
		t.Errorf("Delete of a directory: %v", err)
	}
	if err := s.Delete(ctx, "a/b/c/d"); err != nil {
		t.Errorf("Delete below a file: %v", err)
	}
	if err := s.Put(ctx, "a/b", strings.NewReader("b")); err == nil {
		t.Errorf("Put of a key naming a directory succeeded")
	}
	if got := mustStoreGet(t, s, "a/b/c"); string(got) != "c" {
		t.Errorf("Get(a/b/c) = %q", got)
	}
	// An empty directory survives Delete too.
	if err := os.Mkdir(filepath.Join(s.Dir, "empty"), 0o777); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, "empty"); err != nil {
		t.Errorf("Delete of an empty directory: %v", err)
	}
	if fi, err := os.Stat(filepath.Join(s.Dir, "empty")); err != nil || !fi.IsDir() {
		t.Errorf("Delete removed a directory: %v", err)
	}
}

// TestDirStoreDeleteReadOnly checks that read-only module files can be
// deleted and that Get returns an *os.File.
func TestDirStoreDeleteReadOnly(t *testing.T) {
	ctx := t.Context()
	s := &cache.DirStore{Dir: t.TempDir()}
	const key = "example.com/m/@v/v1.0.0.zip"
	mustStorePut(t, s, key, []byte("zip"))
	rc, err := s.Get(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := rc.(*os.File); !ok {
		t.Errorf("Get returned %T, want *os.File", rc)
	}
	rc.Close()
	if err := s.Delete(ctx, key); err != nil {
		t.Fatalf("Delete of a read-only file: %v", err)
	}
	name, _ := s.Path(key)
	if _, err := os.Lstat(name); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("file still there after Delete: %v", err)
	}
}

// TestDirStoreGoCommand checks the layout against the go command: it
// uses files put by a DirStore as its own module cache, and a DirStore
// directory as a file:// GOPROXY.
func TestDirStoreGoCommand(t *testing.T) {
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("no go command to check the layout against: %v", err)
	}
	ctx := t.Context()
	m := module.Version{Path: "example.com/Hello", Version: "v1.2.3"}
	src := t.TempDir()
	gomod := []byte("module example.com/Hello\n\ngo 1.21\n")
	os.WriteFile(filepath.Join(src, "go.mod"), gomod, 0o666)
	os.WriteFile(filepath.Join(src, "hello.go"), []byte("package hello\n\nconst Hello = \"hi\"\n"), 0o666)
	var zipBuf bytes.Buffer
	if err := modzip.CreateFromDir(&zipBuf, m, src); err != nil {
		t.Fatal(err)
	}
	zipFile := filepath.Join(t.TempDir(), "m.zip")
	if err := os.WriteFile(zipFile, zipBuf.Bytes(), 0o666); err != nil {
		t.Fatal(err)
	}
	sum, err := dirhash.HashZip(zipFile, dirhash.Hash1)
	if err != nil {
		t.Fatal(err)
	}
	modSum, err := dirhash.Hash1([]string{"go.mod"}, func(string) (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(gomod)), nil
	})
	if err != nil {
		t.Fatal(err)
	}

	gomodcache := t.TempDir()
	s := &cache.DirStore{Dir: filepath.Join(gomodcache, "cache", "download")}
	base := "example.com/!hello/@v/v1.2.3"
	mustStorePut(t, s, base+".info", []byte(`{"Version":"v1.2.3","Time":"2024-01-02T03:04:05Z"}`))
	mustStorePut(t, s, base+".mod", gomod)
	mustStorePut(t, s, base+".zip", zipBuf.Bytes())
	mustStorePut(t, s, base+".ziphash", []byte(sum+"\n"))

	run := func(env []string, args ...string) []byte {
		t.Helper()
		cmd := exec.CommandContext(ctx, goCmd, args...)
		cmd.Dir = t.TempDir() // outside any module
		cmd.Env = append(os.Environ(),
			"GOENV=off", "GOWORK=off", "GOTOOLCHAIN=local", "GOSUMDB=off", "GONOSUMDB=", "GOPRIVATE=", "GONOPROXY=",
			"GOFLAGS=-modcacherw", "GO111MODULE=on")
		cmd.Env = append(cmd.Env, env...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("go %s: %v\n%s%s", strings.Join(args, " "), err, out, stderr.Bytes())
		}
		return out
	}
	type downloadJSON struct {
		Path, Version, Info, GoMod, Zip, Dir, Sum, GoModSum, Error string
	}

	// The go command finds everything in its cache, with no proxy.
	out := run([]string{"GOPROXY=off", "GOMODCACHE=" + gomodcache}, "mod", "download", "-json", m.Path+"@"+m.Version)
	var dl downloadJSON
	if err := json.Unmarshal(out, &dl); err != nil {
		t.Fatalf("go mod download output: %v\n%s", err, out)
	}
	wantZip, _ := s.Path(base + ".zip")
	if dl.Error != "" || dl.Sum != sum || dl.GoModSum != modSum || dl.Zip != wantZip {
		t.Errorf("go mod download from the store's cache = %+v\nwant Sum %s, GoModSum %s, Zip %s", dl, sum, modSum, wantZip)
	}
	if data, err := os.ReadFile(filepath.Join(dl.Dir, "hello.go")); err != nil || !bytes.Contains(data, []byte(`"hi"`)) {
		t.Errorf("extracted module: %q, %v", data, err)
	}

	// The store's directory serves as a GOPROXY, list file included.
	out = run([]string{"GOPROXY=" + fileURL(s.Dir), "GOMODCACHE=" + t.TempDir()}, "list", "-m", "-json", "-versions", m.Path+"@latest")
	var lm struct {
		Path, Version string
		Versions      []string
	}
	if err := json.Unmarshal(out, &lm); err != nil {
		t.Fatalf("go list output: %v\n%s", err, out)
	}
	if lm.Version != "v1.2.3" || fmt.Sprint(lm.Versions) != "[v1.2.3]" {
		t.Errorf("go list -m -versions through a file:// GOPROXY = %+v, want version v1.2.3 and versions [v1.2.3]", lm)
	}
}

// fileURL returns the file:// URL of the local directory dir.
func fileURL(dir string) string {
	dir = filepath.ToSlash(dir)
	if !strings.HasPrefix(dir, "/") {
		dir = "/" + dir // Windows drive letter
	}
	return "file://" + dir
}
