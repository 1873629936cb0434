package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modfetch/modfetch/internal/fixture"
)

// TestAbandonedDownloadsEnd: against an upstream that trickles every zip
// (fast enough to pass the idle budget, far too slow to finish), 50
// clients that each give up after 2 s leave the server with the
// goroutines, open files and temporary files it had before, and no
// upstream transfer still running: the work of a download ends when its
// last caller leaves, whatever the upstream does.
func TestAbandonedDownloadsEnd(t *testing.T) {
	const modules, clients = 5, 50
	set := fixture.Bulk("slow", modules, 256<<10)
	sdb := fixture.NewSumDB("sum.example.com", set.GoSumLines)
	var trickling atomic.Int64 // upstream zip transfers running
	up := httptest.NewServer(&fixture.Server{Set: set, SumDB: sdb, Fault: func(w http.ResponseWriter, r *http.Request) bool {
		mod, ok := strings.CutSuffix(r.URL.Path, "/@v/v1.0.0.zip")
		if !ok {
			return false
		}
		trickling.Add(1)
		defer trickling.Add(-1)
		zip := set.Module(strings.TrimPrefix(mod, "/"), "v1.0.0").Zip
		w.Header().Set("Content-Length", fmt.Sprint(len(zip)))
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for off := 0; off < len(zip); off += 100 { // 2000 bytes/s
			if _, err := w.Write(zip[off:min(off+100, len(zip))]); err != nil {
				return true
			}
			w.(http.Flusher).Flush()
			select {
			case <-tick.C:
			case <-r.Context().Done():
				return true
			}
		}
		return true
	}})
	defer up.Close()
	setEnv(t, up.URL)
	t.Setenv("GOSUMDB", sdb.Key)
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)

	cacheDir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	errc := make(chan error, 1)
	var logs syncBuffer
	go func() {
		errc <- run(ctx, []string{"-addr", "127.0.0.1:0", "-cache", cacheDir}, slog.New(slog.NewTextHandler(&logs, nil)), ready)
	}()
	defer func() {
		cancel()
		if err := <-errc; err != nil {
			t.Errorf("run: %v", err)
		}
	}()
	addr := <-ready
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}

	// Warm up: the checksum database's tree head and the server's
	// connections exist before the baseline.
	get := func(ctx context.Context, p string) error {
		req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+addr+p, nil)
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		_, err = io.Copy(io.Discard, resp.Body)
		return err
	}
	for i := range modules {
		if err := get(context.Background(), fmt.Sprintf("/example.com/slow/m%d/@v/v1.0.0.mod", i)); err != nil {
			t.Fatal(err)
		}
	}
	// The warm-up's cache writes finish in the background: wait for them,
	// so that the baseline holds no temporary file.
	var base state
	fixture.WaitFor(t, "the warm-up's writes to end", func() bool {
		base = snapshot(t, tmp, cacheDir)
		return base.temps == 0
	})

	var wg sync.WaitGroup
	var failed atomic.Int64
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			if get(ctx, fmt.Sprintf("/example.com/slow/m%d/@v/v1.0.0.zip", i%modules)) != nil {
				failed.Add(1)
			}
		}()
	}
	wg.Wait()
	if n := failed.Load(); n != clients {
		t.Fatalf("%d of %d clients gave up; the upstream should have been too slow for all", n, clients)
	}
	var after state
	deadline := time.Now().Add(30 * time.Second)
	for {
		after = snapshot(t, tmp, cacheDir)
		if after.modfetch <= base.modfetch && after.files <= base.files && after.temps <= base.temps && trickling.Load() == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("30 s after the clients left: %d upstream transfers, %+v (before: %+v)\n%s", trickling.Load(), after, base, after.stacks)
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Nothing of the abandoned zips is stored.
	if m, _ := filepath.Glob(filepath.Join(cacheDir, "download", "example.com", "slow", "*", "@v", "*.zip")); len(m) != 0 {
		t.Errorf("abandoned zips stored: %v", m)
	}
}

// state is what a server holds that abandoned work would leave behind.
type state struct {
	modfetch int    // goroutines running modfetch code
	files    int    // open file descriptors of regular files, unlinked ones included
	temps    int    // files under the temporary and cache directories
	stacks   string `json:"-"`
}

func snapshot(t *testing.T, dirs ...string) state {
	t.Helper()
	var s state
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "github.com/modfetch/modfetch/") {
			s.modfetch++
			s.stacks += g + "\n\n"
		}
	}
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatalf("counting open files: %v", err)
	}
	for _, fd := range fds {
		target, err := os.Readlink(filepath.Join("/proc/self/fd", fd.Name()))
		if err == nil && strings.HasPrefix(target, "/") && !strings.HasPrefix(target, "/dev/") && !strings.HasPrefix(target, "/proc/") {
			s.files++
		}
	}
	for _, dir := range dirs {
		filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() && (strings.Contains(d.Name(), ".tmp") || strings.Contains(d.Name(), "modfetch-")) {
				s.temps++
			}
			return nil
		})
	}
	return s
}
