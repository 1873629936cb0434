package cache_test

import (
	"context"
	"testing"
	"time"

	"github.com/modfetch/modfetch/cache"
	"github.com/modfetch/modfetch/cache/cachetest"
)

// The Store decorators pass the Store conformance suite over the stores
// they decorate. An 8 MiB large value is enough to show that they stream
// (the suite's bound is a quarter of it), and spares the disk.

func TestWriteBehindConformance(t *testing.T) {
	cachetest.Run(t, func(t *testing.T) cache.Store {
		w := &cache.WriteBehind{Next: &cache.DirStore{Dir: t.TempDir()}}
		t.Cleanup(func() { flush(t, w) })
		return w
	}, cachetest.Options{LargeSize: 8 << 20})
}

// TestWriteBehindSmallBoundConformance: with a bound smaller than many
// values, Puts wait for room, and the store still behaves like one.
func TestWriteBehindSmallBoundConformance(t *testing.T) {
	cachetest.Run(t, func(t *testing.T) cache.Store {
		w := &cache.WriteBehind{Next: &cache.DirStore{Dir: t.TempDir()}, MaxBytes: 100 << 10}
		t.Cleanup(func() { flush(t, w) })
		return w
	}, cachetest.Options{LargeSize: 8 << 20})
}

func TestTieredConformance(t *testing.T) {
	cachetest.Run(t, func(t *testing.T) cache.Store {
		return &cache.Tiered{Fast: &cache.MemStore{MaxBytes: 1 << 20}, Slow: &cache.DirStore{Dir: t.TempDir()}}
	}, cachetest.Options{LargeSize: 8 << 20})
}

// TestTieredWriteBehindConformance is the proxyserver's stack: memory in
// front of a write-behind disk.
func TestTieredWriteBehindConformance(t *testing.T) {
	cachetest.Run(t, func(t *testing.T) cache.Store {
		w := &cache.WriteBehind{Next: &cache.DirStore{Dir: t.TempDir()}}
		t.Cleanup(func() { flush(t, w) })
		return &cache.Tiered{Fast: &cache.MemStore{MaxBytes: 256 << 10}, Slow: w, MaxFastValue: 16 << 10}
	}, cachetest.Options{LargeSize: 8 << 20})
}

func flush(t *testing.T, w *cache.WriteBehind) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := w.Flush(ctx); err != nil {
		t.Fatalf("background writes did not finish: %v", err)
	}
}
