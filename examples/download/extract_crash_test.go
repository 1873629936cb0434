//go:build linux

package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/modfetch/modfetch"
	"github.com/modfetch/modfetch/internal/fixture"
)

const manyPath = "example.com/many"

// A createWatcher calls a function, in a goroutine of its own, with the
// directory and name of each file created in (or moved into) the
// directories it watches until the test ends, using inotify(7), so that
// the function runs as soon as possible after the file appears.
type createWatcher struct {
	fd   int
	dirs sync.Map // watch descriptor to directory
}

func newCreateWatcher(t *testing.T, f func(dir, name string)) *createWatcher {
	t.Helper()
	fd, err := syscall.InotifyInit1(syscall.IN_NONBLOCK | syscall.IN_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	cw := &createWatcher{fd: fd}
	file := os.NewFile(uintptr(fd), "inotify") // non-blocking: Close ends a Read
	done := make(chan struct{})
	t.Cleanup(func() {
		file.Close()
		<-done
	})
	go func() {
		defer close(done)
		buf := make([]byte, 64<<10)
		for {
			n, err := file.Read(buf)
			if err != nil {
				return
			}
			for ev := buf[:n]; len(ev) >= syscall.SizeofInotifyEvent; {
				wd := int32(binary.NativeEndian.Uint32(ev[0:4]))
				size := syscall.SizeofInotifyEvent + int(binary.NativeEndian.Uint32(ev[12:16]))
				if size > len(ev) {
					break
				}
				if dir, ok := cw.dirs.Load(wd); ok {
					f(dir.(string), string(bytes.TrimRight(ev[syscall.SizeofInotifyEvent:size], "\x00")))
				}
				ev = ev[size:]
			}
		}
	}()
	return cw
}

// add watches dir.
func (cw *createWatcher) add(dir string) error {
	wd, err := syscall.InotifyAddWatch(cw.fd, dir, syscall.IN_CREATE|syscall.IN_MOVED_TO)
	if err == nil {
		cw.dirs.Store(int32(wd), dir)
	}
	return err
}

// TestKilledMidExtraction kills this program with SIGKILL when it has
// extracted a third of a module of 2000 files, twice: the stored zip and
// hash are whole, the directory is marked partial, and then the go
// command (the first time) or this program (the second) with GOPROXY=off
// extracts the module again from the cache.
func TestKilledMidExtraction(t *testing.T) {
	w := newCrashWorld(t)
	files := map[string]string{
		"go.mod":  "module " + manyPath + "\n\ngo 1.21\n",
		"many.go": "package many\n\nconst Name = \"many\"\n",
	}
	for i := range 2000 {
		files[fmt.Sprintf("d%02d/f%04d.txt", i%30, i)] = fixture.Noise(512 + i)
	}
	many := w.set.Add(manyPath, "v1.0.0", files, fixture.Day(3))
	dir, err := modfetch.ModCacheDir(w.gomodcache, manyPath, "v1.0.0")
	if err != nil {
		t.Fatal(err)
	}

	// kill runs this program until it has extracted a third of the
	// module's files (which it extracts in order, d00/... to d29/...) and
	// kills it then.
	var target atomic.Pointer[exec.Cmd]
	killed := make(chan error, 1)
	var cw *createWatcher
	cw = newCreateWatcher(t, func(parent, name string) {
		switch filepath.Join(parent, name) {
		case dir:
			// It may be gone already (the go command removes a partial
			// extraction): then it is not the one to watch.
			cw.add(dir)
		case filepath.Join(dir, "d10"):
			if cmd := target.Load(); cmd != nil && target.CompareAndSwap(cmd, nil) {
				killed <- cmd.Process.Signal(syscall.SIGKILL)
			}
		}
	})
	if err := os.MkdirAll(filepath.Dir(dir), 0o777); err != nil {
		t.Fatal(err)
	}
	if err := cw.add(filepath.Dir(dir)); err != nil {
		t.Fatal(err)
	}
	kill := func() {
		t.Helper()
		cmd := w.command(t, w.proxyURL, t.TempDir(), w.bin, "-json", manyPath+"@v1.0.0")
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		target.Store(cmd)
		cmd.Wait()
		if target.CompareAndSwap(cmd, nil) {
			t.Fatalf("download ended (%v) before it was killed:\n%s", cmd.ProcessState, out.Bytes())
		}
		if err := <-killed; err != nil {
			t.Fatal(err)
		}
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
			t.Fatalf("download ended with %v, not SIGKILL\n%s", cmd.ProcessState, out.Bytes())
		}
		w.checkNothingPartial(t)
		var n int
		filepath.WalkDir(dir, func(string, os.DirEntry, error) error { n++; return nil })
		_, complete := modfetch.ExtractedDir(w.gomodcache, manyPath, "v1.0.0")
		t.Logf("killed with %d files and directories of %d extracted; complete: %v", n, len(files)+30+1, complete)
	}

	kill()
	// The go command extracts the module again from the cache.
	app := w.mainModule(t, many)
	w.goOffline(t, app, "mod", "verify")
	w.goOffline(t, app, "build", "./...")
	if got, ok := modfetch.ExtractedDir(w.gomodcache, manyPath, "v1.0.0"); !ok || got != dir {
		t.Errorf("after the go command: ExtractedDir = %s, %v", got, ok)
	}
	w.checkNothingPartial(t)

	// Once more, with this program doing the same.
	chmodAll(dir)
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	kill()
	cmd := w.command(t, "off", t.TempDir(), w.bin, "-json", manyPath+"@v1.0.0")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var m moduleJSON
	if err != nil || json.Unmarshal(out, &m) != nil {
		t.Fatalf("offline download after the kill: %v\n%s%s", err, out, stderr.Bytes())
	}
	w.checkDownloaded(t, m, many)
	w.checkNothingPartial(t)
}

// chmodAll makes the directories under dir writable.
func chmodAll(dir string) {
	filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			os.Chmod(path, 0o777)
		}
		return nil
	})
}
