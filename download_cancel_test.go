package modfetch_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/modfetch/modfetch"
	"github.com/modfetch/modfetch/internal/fixture"
)

// cancelWhenExtracted is a context canceled by its own Err once the
// directory dir holds at least n entries: a cancellation that arrives in
// the middle of an extraction, whatever its pace. It records the most
// entries it ever saw, before and after canceling.
type cancelWhenExtracted struct {
	context.Context
	cancel context.CancelFunc
	dir    string
	n      int

	mu       sync.Mutex
	canceled bool
	atCancel int // entries when it canceled
	after    int // most entries seen afterwards
}

func (c *cancelWhenExtracted) Err() error {
	entries, _ := os.ReadDir(c.dir)
	c.mu.Lock()
	switch {
	case !c.canceled && len(entries) >= c.n:
		c.canceled, c.atCancel, c.after = true, len(entries), len(entries)
		c.cancel()
	case c.canceled:
		c.after = max(c.after, len(entries))
	}
	c.mu.Unlock()
	return c.Context.Err()
}

// TestDownloadStopsExtractingWhenCanceled: a context that ends while a
// large module is being extracted stops the extraction within a file, and
// leaves neither the directory nor its .partial marker behind (the go
// command's rule: a directory is trusted only without the marker, so a
// later call starts over).
func TestDownloadStopsExtractingWhenCanceled(t *testing.T) {
	const files = 500
	set := fixture.Standard()
	big := map[string]string{"go.mod": "module example.com/big\n\ngo 1.21\n"}
	for i := range files {
		big[fmt.Sprintf("f%04d.go", i)] = "package big\n\n// " + fixture.Noise(1<<10) + "\n"
	}
	m := set.Add("example.com/big", "v1.0.0", big, fixture.Day(1))

	modcache := t.TempDir()
	t.Cleanup(func() { chmodAll(modcache) })
	dir, err := modfetch.ModCacheDir(modcache, m.Path, m.Version)
	if err != nil {
		t.Fatal(err)
	}
	parent, cancel := context.WithCancel(context.Background())
	defer cancel()
	ctx := &cancelWhenExtracted{Context: parent, cancel: cancel, dir: dir, n: 20}

	_, err = modfetch.Download(ctx, set, m.Path, m.Version, &modfetch.DownloadOptions{ModCache: modcache})
	ctx.mu.Lock()
	canceled, atCancel, after := ctx.canceled, ctx.atCancel, ctx.after
	ctx.mu.Unlock()
	if !canceled {
		t.Fatalf("Download never looked at its context during extraction (err %v)", err)
	}
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Download after cancellation mid-extraction: err = %v, want context.Canceled", err)
	}
	// Stopped promptly: at most the file in progress and the next check.
	if after > atCancel+2 {
		t.Errorf("extraction went on after cancellation: %d entries when canceled, %d later (of %d)", atCancel, after, files+1)
	}
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("partial directory left: %v", err)
	}
	partial := filepath.Join(modcache, "cache", "download", "example.com", "big", "@v", "v1.0.0.partial")
	if _, err := os.Stat(partial); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf(".partial marker left: %v", err)
	}
	if _, ok := modfetch.ExtractedDir(modcache, m.Path, m.Version); ok {
		t.Error("ExtractedDir reports the canceled extraction complete")
	}

	// A later call extracts it in full.
	d, err := modfetch.Download(context.Background(), set, m.Path, m.Version, &modfetch.DownloadOptions{ModCache: modcache})
	if err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(d.Dir)
	if err != nil || len(entries) != files+1 {
		t.Fatalf("after a complete download: %d entries, %v; want %d", len(entries), err, files+1)
	}
}
