//go:build unix

package cache_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/modfetch/modfetch/cache"
	"github.com/modfetch/modfetch/internal/fixture"
)

// The crash tests run this test binary again as a child that writes into a
// DirStore, and kill it with SIGKILL while it writes: nothing the child
// did not finish may be visible afterwards, what it left must go away by
// the store's own rules, and the next writer must succeed.

const (
	crashHelperEnv = "MODFETCH_DIRSTORE_CRASH_HELPER" // the child's mode
	crashDirEnv    = "MODFETCH_DIRSTORE_CRASH_DIR"    // the child's DirStore.Dir

	crashZipKey  = "example.com/big/@v/v1.0.0.zip"
	crashBigSize = 32 << 20 // the value the child never finishes
	crashBigCut  = 20 << 20 // how much of it the child writes before it blocks
)

// crashNoise is the source of every value these tests write, in the
// parent and in the child alike.
var crashNoise = sync.OnceValue(func() []byte { return []byte(fixture.Noise(crashBigSize + 1<<20)) })

// crashBigValue is the 32 MiB value of crashZipKey.
func crashBigValue() []byte { return crashNoise()[:crashBigSize] }

// crashKey describes the i'th of the keys the "many" child writes: keys
// of every kind (zip and ziphash under the version lock, mod with its
// list update, info, a checksum database tile) and values of 1 to 3 MiB,
// each different.
type crashKey struct {
	key  string
	data []byte
}

func crashKeys() []crashKey {
	exts := []string{"info", "mod", "zip", "ziphash"}
	var keys []crashKey
	for i := range 12 {
		key := fmt.Sprintf("example.com/m%d/@v/v1.0.%d.%s", i%3, i, exts[i%len(exts)])
		if i == 5 {
			key = "sumdb/sum.example.com/tile/8/0/x005"
		}
		size := 1<<20 + i*(173<<10)
		off := i * 7919
		keys = append(keys, crashKey{key, crashNoise()[off : off+size]})
	}
	return keys
}

// crashCut reports whether the "many" child cuts the Put of the i'th of
// crashKeys short: it writes half of the value and blocks. The cut keys
// are of every kind (mod, info, ziphash, zip).
func crashCut(i int) bool { return i%3 == 1 }

// TestDirStoreCrashHelper is the child process of the crash tests; it
// does nothing unless crashHelperEnv is set.
func TestDirStoreCrashHelper(t *testing.T) {
	mode := os.Getenv(crashHelperEnv)
	if mode == "" {
		return
	}
	s := &cache.DirStore{Dir: os.Getenv(crashDirEnv)}
	if m, ok := strings.CutSuffix(mode, "-nosync"); ok {
		mode, s.NoSync = m, true
	}
	ctx := t.Context()
	// blockAfter returns a reader of data[:n] that then blocks for good:
	// the parent holds the child's stdin open and never writes to it. A
	// read from a file, not a select{}: the runtime would take a child
	// whose goroutines all wait on channels for a deadlock and end it.
	blockAfter := func(data []byte, n int) io.Reader {
		return io.MultiReader(bytes.NewReader(data[:n]), os.Stdin)
	}
	switch mode {
	case "block":
		err := s.Put(ctx, crashZipKey, blockAfter(crashBigValue(), crashBigCut))
		t.Fatalf("Put returned (%v); the parent should have killed this process", err)
	case "many":
		// All at once, each in its own goroutine, as a cache's writes
		// of different keys are.
		var wg sync.WaitGroup
		for i, k := range crashKeys() {
			wg.Go(func() {
				r := io.Reader(bytes.NewReader(k.data))
				if crashCut(i) {
					r = blockAfter(k.data, len(k.data)/2)
				}
				if err := s.Put(ctx, k.key, r); err != nil {
					t.Errorf("Put(%s): %v", k.key, err)
					return
				}
				fmt.Printf("put %d\n", i)
			})
		}
		wg.Wait()
		t.Fatalf("all Puts returned; the parent should have killed this process")
	default:
		t.Fatalf("unknown mode %q", mode)
	}
}

// A crashChild is a running child process of the crash tests.
type crashChild struct {
	cmd    *exec.Cmd
	lines  chan string   // its stdout, line by line; closed at EOF
	exited chan struct{} // closed once it has exited
	stderr *lockedBuffer
}

// startCrashChild starts the child in mode writing into dir. It is killed
// when the test ends, if the test has not done so.
func startCrashChild(t *testing.T, mode, dir string) *crashChild {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	c := &crashChild{lines: make(chan string, 100), exited: make(chan struct{}), stderr: new(lockedBuffer)}
	c.cmd = exec.Command(exe, "-test.run=^TestDirStoreCrashHelper$", "-test.count=1")
	c.cmd.Env = append(os.Environ(), crashHelperEnv+"="+mode, crashDirEnv+"="+dir)
	stdin, err := c.cmd.StdinPipe() // held open, never written
	if err != nil {
		t.Fatal(err)
	}
	out, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	c.cmd.Stdout, c.cmd.Stderr = w, c.stderr
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	go func() {
		defer out.Close()
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			c.lines <- sc.Text()
		}
		close(c.lines)
	}()
	go func() {
		c.cmd.Wait()
		close(c.exited)
	}()
	t.Cleanup(func() {
		c.cmd.Process.Kill()
		<-c.exited
		stdin.Close()
	})
	return c
}

// alive reports whether the child is still running.
func (c *crashChild) alive() bool {
	select {
	case <-c.exited:
		return false
	default:
		return true
	}
}

// kill kills the child with SIGKILL and waits until it is gone, failing
// t unless SIGKILL is what ended it.
func (c *crashChild) kill(t *testing.T) {
	t.Helper()
	if !c.alive() {
		t.Fatalf("the child exited before it was killed: %v\n%s", c.cmd.ProcessState, c.stderr)
	}
	if err := c.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	select {
	case <-c.exited:
	case <-time.After(time.Minute):
		t.Fatal("the child did not exit within a minute of SIGKILL")
	}
	ws, ok := c.cmd.ProcessState.Sys().(syscall.WaitStatus)
	if !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("the child ended with %v, not SIGKILL\n%s", c.cmd.ProcessState, c.stderr)
	}
}

// tempsOf returns DirStore's temporary files of the value at key (those
// "<base>.<digits>.modfetch.tmp" beside it), with their sizes.
func tempsOf(t *testing.T, s *cache.DirStore, key string) map[string]int64 {
	t.Helper()
	name, err := s.Path(key)
	if err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(filepath.Dir(name))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	temps := make(map[string]int64)
	for _, e := range entries {
		mid, ok := strings.CutPrefix(e.Name(), filepath.Base(name)+".")
		if !ok {
			continue
		}
		digits, ok := strings.CutSuffix(mid, ".modfetch.tmp")
		if _, err := strconv.Atoi(digits); !ok || err != nil {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			continue
		}
		temps[filepath.Join(filepath.Dir(name), e.Name())] = fi.Size()
	}
	return temps
}

// written returns the size of the largest file written for key, under
// its final name or a temporary one, or -1.
func written(t *testing.T, s *cache.DirStore, key string) int64 {
	n := int64(-1)
	for _, size := range tempsOf(t, s, key) {
		n = max(n, size)
	}
	name, _ := s.Path(key)
	if fi, err := os.Stat(name); err == nil {
		n = max(n, fi.Size())
	}
	return n
}

// checkAbsent checks that key has no value: Get says not found and there
// is no file under the final name.
func checkAbsent(t *testing.T, s *cache.DirStore, key string) {
	t.Helper()
	if rc, err := s.Get(t.Context(), key); !errors.Is(err, fs.ErrNotExist) {
		if err == nil {
			rc.Close()
		}
		t.Errorf("Get(%s) after the kill = %v, want not found", key, err)
	}
	name, _ := s.Path(key)
	if _, err := os.Lstat(name); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("%s exists after the kill (Lstat: %v)", name, err)
	}
}

// checkValue checks that key has exactly the value want.
func checkValue(t *testing.T, s *cache.DirStore, key string, want []byte) {
	t.Helper()
	rc, err := s.Get(t.Context(), key)
	if err != nil {
		t.Errorf("Get(%s): %v", key, err)
		return
	}
	got := make([]byte, len(want)+1)
	n, err := io.ReadFull(rc, got)
	rc.Close()
	if got = got[:n]; err != io.ErrUnexpectedEOF || !bytes.Equal(got, want) {
		t.Errorf("Get(%s) read %d bytes (%v), want the %d bytes put, byte for byte", key, len(got), err, len(want))
	}
}

// ageFiles sets the modification time of the files back by age.
func ageFiles(t *testing.T, names map[string]int64, age time.Duration) {
	t.Helper()
	old := time.Now().Add(-age)
	for name := range names {
		if err := os.Chtimes(name, old, old); err != nil {
			t.Fatal(err)
		}
	}
}

// TestDirStoreKilledMidPut kills a process 20 MiB into its Put of a
// 32 MiB zip. The key stays missing, only the temporary file remains,
// the store removes that file by its rules (not while it may still be
// written, but once old, or at once under the version lock when the zip
// is written again), and the next Put stores the value whole.
func TestDirStoreKilledMidPut(t *testing.T) {
	dir := t.TempDir()
	s := &cache.DirStore{Dir: dir}

	// A first killed writer: its temporary file is removed by age.
	child := startCrashChild(t, "block", dir)
	fixture.WaitFor(t, "the child to write 20 MiB", func() bool {
		return written(t, s, crashZipKey) >= crashBigCut || !child.alive()
	})
	child.kill(t)
	checkAbsent(t, s, crashZipKey)
	temps := tempsOf(t, s, crashZipKey)
	if len(temps) != 1 {
		t.Fatalf("temporary files after the kill: %v, want one", temps)
	}
	for name, size := range temps {
		if size != crashBigCut {
			t.Errorf("%s holds %d bytes, want the %d the child wrote", name, size, crashBigCut)
		}
	}
	// Nothing else in the directory but the version lock file.
	zipName, _ := s.Path(crashZipKey)
	entries, err := os.ReadDir(filepath.Dir(zipName))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		full := filepath.Join(filepath.Dir(zipName), e.Name())
		if _, ok := temps[full]; !ok && e.Name() != "v1.0.0.lock" {
			t.Errorf("unexpected file after the kill: %s", e.Name())
		}
	}

	// While the file is young, it may belong to a live writer: neither
	// Clean nor a Put beside it removes it.
	if n, err := s.Clean(t.Context(), 0); n != 0 || err != nil {
		t.Errorf("Clean of a young temporary file = %d, %v; want 0, nil", n, err)
	}
	fresh := &cache.DirStore{Dir: dir}
	mustStorePut(t, fresh, "example.com/big/@v/v1.0.0.info", []byte(`{"Version":"v1.0.0"}`))
	if got := tempsOf(t, s, crashZipKey); len(got) != 1 {
		t.Fatalf("temporary files after a Put beside a young one: %v, want it kept", got)
	}
	// Once older than TempMaxAge, the next Put in its directory removes it.
	ageFiles(t, temps, 25*time.Hour)
	mustStorePut(t, fresh, "example.com/big/@v/v1.0.0.mod", []byte("module example.com/big\n"))
	if got := tempsOf(t, s, crashZipKey); len(got) != 0 {
		t.Errorf("temporary files after a Put beside a stale one: %v, want none", got)
	}
	checkAbsent(t, s, crashZipKey)

	// A second killed writer: Clean removes its file once old enough.
	child = startCrashChild(t, "block", dir)
	fixture.WaitFor(t, "the second child to write 20 MiB", func() bool {
		return written(t, s, crashZipKey) >= crashBigCut || !child.alive()
	})
	child.kill(t)
	checkAbsent(t, s, crashZipKey)
	temps = tempsOf(t, s, crashZipKey)
	ageFiles(t, temps, time.Hour)
	if n, err := (&cache.DirStore{Dir: dir}).Clean(t.Context(), 30*time.Minute); n != len(temps) || n != 1 || err != nil {
		t.Errorf("Clean of %d stale temporary files = %d, %v", len(temps), n, err)
	}
	if got := tempsOf(t, s, crashZipKey); len(got) != 0 {
		t.Errorf("temporary files after Clean: %v", got)
	}

	// A third killed writer: the next Put of the zip removes its file
	// under the version lock, however young, and stores the whole value.
	child = startCrashChild(t, "block", dir)
	fixture.WaitFor(t, "the third child to write 20 MiB", func() bool {
		return written(t, s, crashZipKey) >= crashBigCut || !child.alive()
	})
	child.kill(t)
	checkAbsent(t, s, crashZipKey)
	fresh = &cache.DirStore{Dir: dir}
	mustStorePut(t, fresh, crashZipKey, crashBigValue())
	checkValue(t, fresh, crashZipKey, crashBigValue())
	if got := tempsOf(t, s, crashZipKey); len(got) != 0 {
		t.Errorf("temporary files after the zip was put again: %v", got)
	}
	if fi, err := os.Stat(zipName); err != nil || fi.Mode().Perm() != 0o444 {
		t.Errorf("the stored zip: %v, %v; want mode 0444", fi, err)
	}
	checkNoTemp(t, dir)
}

// TestDirStoreKilledMidPuts kills a process in the middle of twelve
// concurrent Puts, when eight have returned and four are halfway through
// their values: the eight are stored whole, the four are missing, each
// with one temporary file of the half written and nothing else; Clean
// removes those once old, and Puts of the four then store them whole.
func TestDirStoreKilledMidPuts(t *testing.T) { testKilledMidPuts(t, false) }

// TestDirStoreKilledMidPutsNoSync: the same with NoSync in the child. A
// SIGKILL loses no page the child wrote, so what it renamed into place
// is whole without a sync too; only a power loss could lose it.
func TestDirStoreKilledMidPutsNoSync(t *testing.T) { testKilledMidPuts(t, true) }

func testKilledMidPuts(t *testing.T, noSync bool) {
	dir := t.TempDir()
	s := &cache.DirStore{Dir: dir}
	keys := crashKeys()
	mode := "many"
	if noSync {
		mode += "-nosync"
	}
	child := startCrashChild(t, mode, dir)
	stored := make(map[int]bool)
	for len(stored) < len(keys)*2/3 {
		line, ok := <-child.lines
		if !ok {
			<-child.exited
			t.Fatalf("the child exited after %d Puts: %v\n%s", len(stored), child.cmd.ProcessState, child.stderr)
		}
		i, err := strconv.Atoi(strings.TrimPrefix(line, "put "))
		if err != nil || i < 0 || i >= len(keys) || crashCut(i) || stored[i] {
			t.Fatalf("unexpected line from the child: %q", line)
		}
		stored[i] = true
	}
	fixture.WaitFor(t, "the child to write half of each value it cuts short", func() bool {
		for i, k := range keys {
			if crashCut(i) && written(t, s, k.key) < int64(len(k.data)/2) {
				return !child.alive()
			}
		}
		return true
	})
	child.kill(t)

	temps := make(map[string]int64)
	for i, k := range keys {
		if !crashCut(i) {
			checkValue(t, s, k.key, k.data)
			continue
		}
		checkAbsent(t, s, k.key)
		kt := tempsOf(t, s, k.key)
		for name, size := range kt {
			if size != int64(len(k.data)/2) {
				t.Errorf("%s holds %d bytes, want the %d written", name, size, len(k.data)/2)
			}
			temps[name] = size
		}
		if len(kt) != 1 {
			t.Errorf("temporary files of %s after the kill: %v, want one", k.key, kt)
		}
	}

	// Every file left is a stored value, a version lock or list, or one of
	// the temporary files above.
	isKey := make(map[string]bool)
	for _, k := range keys {
		isKey[k.key] = true
	}
	filepath.WalkDir(dir, func(name string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, name)
		rel = filepath.ToSlash(rel)
		_, temp := temps[name]
		switch base := path.Base(rel); {
		case temp, isKey[rel], strings.HasSuffix(base, ".lock"), base == "list":
		default:
			t.Errorf("unexpected file after the kill: %s", rel)
		}
		return nil
	})

	// Clean removes the temporary files once they are old.
	fresh := &cache.DirStore{Dir: dir}
	if n, err := fresh.Clean(t.Context(), time.Hour); n != 0 || err != nil {
		t.Errorf("Clean of young temporary files = %d, %v; want 0, nil", n, err)
	}
	ageFiles(t, temps, 2*time.Hour)
	if n, err := fresh.Clean(t.Context(), time.Hour); n != len(temps) || err != nil {
		t.Errorf("Clean = %d, %v; want the %d temporary files removed", n, err, len(temps))
	}
	checkNoTemp(t, dir)

	for i, k := range keys {
		if crashCut(i) {
			mustStorePut(t, fresh, k.key, k.data)
		}
	}
	for _, k := range keys {
		checkValue(t, fresh, k.key, k.data)
	}
	checkNoTemp(t, dir)
}

// lockedBuffer is a bytes.Buffer safe for one writer and readers.
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
