//go:build linux

package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"unsafe"
)

// openPTY opens a new pseudo-terminal and returns its controller and the
// terminal side (the one a program writes to).
func openPTY(t *testing.T) (ptmx, tty *os.File) {
	t.Helper()
	ptmx, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("skipping: no pseudo-terminals here: %v", err)
	}
	var unlock int32
	if err := ioctl(ptmx, syscall.TIOCSPTLCK, unsafe.Pointer(&unlock)); err != nil {
		ptmx.Close()
		t.Fatalf("unlocking the pseudo-terminal: %v", err)
	}
	var n uint32
	if err := ioctl(ptmx, syscall.TIOCGPTN, unsafe.Pointer(&n)); err != nil {
		ptmx.Close()
		t.Fatalf("numbering the pseudo-terminal: %v", err)
	}
	tty, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		ptmx.Close()
		t.Fatal(err)
	}
	return ptmx, tty
}

func ioctl(f *os.File, req uintptr, arg unsafe.Pointer) error {
	var errno syscall.Errno
	err := withFd(f, func(fd uintptr) {
		_, _, errno = syscall.Syscall(syscall.SYS_IOCTL, fd, req, uintptr(arg))
	})
	if err != nil {
		return err
	}
	if errno != 0 {
		return errno
	}
	return nil
}

func withFd(f *os.File, fn func(fd uintptr)) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	return rc.Control(fn)
}

// TestProgressBarInTerminal runs this program with its standard error on
// a pseudo-terminal, downloading coldSet's 57 modules with -json: the bar
// is drawn there in place (each drawing starts with a carriage return,
// no progress lines, one line end after the last drawing, which counts
// every item and the zips' bytes), and standard output, a pipe, is a stream of JSON objects
// with the go command's fields, one for each module required.
func TestProgressBarInTerminal(t *testing.T) {
	ptmx, tty := openPTY(t)
	defer ptmx.Close()
	set, gomod := coldSet()
	w := newModWorld(t, set, nil)
	h := w.newHome(t)
	dir := writeMain(t, map[string]string{"main/go.mod": gomod})

	cmd := exec.Command(buildDownload(t), "-json")
	cmd.Dir = dir
	cmd.Env = append(h.environ(w.proxyURL), "TERM=xterm")
	var stdout bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, tty
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	tty.Close() // the child holds it now: reading ends when it exits
	var screen bytes.Buffer
	readErr := make(chan error, 1)
	go func() {
		_, err := io.Copy(&screen, ptmx)
		readErr <- err
	}()
	err := cmd.Wait()
	if err := <-readErr; err != nil && !errors.Is(err, syscall.EIO) {
		t.Fatalf("reading the terminal: %v", err)
	}
	out := screen.String()
	if err != nil {
		t.Fatalf("download: %v\nterminal:\n%q", err, out)
	}

	// The terminal turns "\n" into "\r\n".
	if !strings.HasSuffix(out, "\r\n") || strings.Count(out, "\n") != 1 {
		t.Fatalf("terminal output %q: want one line end, at the end", out)
	}
	if strings.Contains(out, "downloaded ") {
		t.Errorf("terminal output %q has progress lines, want only the bar", out)
	}
	draws := strings.Split(strings.TrimSuffix(out, "\r\n"), "\r")
	if draws[0] != "" {
		t.Errorf("terminal output %q does not start with a carriage return", out)
	}
	draws = draws[1:]
	bar := regexp.MustCompile(`^\[[=> ]{30}\] (\d+)/(\d+) modules, [0-9.]+ (B|KiB|MiB)( +)?$`)
	const items = 57 // 48 modules and old in full, the go.mod files of old's 8 requirements
	for i, d := range draws {
		m := bar.FindStringSubmatch(d)
		if m == nil {
			t.Errorf("drawing %d of %d: %q is not a bar", i, len(draws), d)
			continue
		}
		if m[2] != fmt.Sprint(items) {
			t.Errorf("drawing %q: %s items, want %d", d, m[2], items)
		}
	}
	last := strings.TrimRight(draws[len(draws)-1], " ")
	if want := fmt.Sprintf("[%s] %d/%d modules, ", strings.Repeat("=", 30), items, items); !strings.HasPrefix(last, want) {
		t.Errorf("last drawing %q, want it to start with %q", last, want)
	}
	// The zips (14 MiB) count, though each is read from the module cache
	// in place once stored there.
	if !strings.HasSuffix(last, " MiB") {
		t.Errorf("last drawing %q: want the zips' 14 MiB counted", last)
	}
	t.Logf("%d drawings; last %q", len(draws), last)

	dec := json.NewDecoder(&stdout)
	n := 0
	for dec.More() {
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			t.Fatalf("JSON object %d: %v", n, err)
		}
		n++
		for _, f := range []string{"Path", "Version", "Info", "GoMod", "Zip", "Dir", "Sum", "GoModSum"} {
			if s, _ := m[f].(string); s == "" {
				t.Errorf("JSON object %v: no %s", m, f)
			}
		}
		if _, ok := m["Error"]; ok {
			t.Errorf("JSON object %v: an Error", m)
		}
	}
	if want := 49; n != want { // the 49 required modules
		t.Errorf("%d JSON objects, want %d", n, want)
	}
}
