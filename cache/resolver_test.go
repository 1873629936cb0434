package cache_test

import (
	"testing"

	"github.com/modfetch/modfetch"
	"github.com/modfetch/modfetch/cache"
	"github.com/modfetch/modfetch/resolvertest"
)

// TestCacheResolver runs the Resolver conformance suite on a Cache over a
// DirStore, and over the proxyserver's layers (memory in front of a
// write-behind disk).
func TestCacheResolver(t *testing.T) {
	t.Run("DirStore", func(t *testing.T) {
		resolvertest.Run(t, func(t *testing.T, src modfetch.Resolver) modfetch.Resolver {
			return &cache.Cache{Next: src, Store: &cache.DirStore{Dir: t.TempDir()}}
		}, resolvertest.Options{Decorator: true})
	})
	t.Run("Tiered", func(t *testing.T) {
		resolvertest.Run(t, func(t *testing.T, src modfetch.Resolver) modfetch.Resolver {
			w := &cache.WriteBehind{Next: &cache.DirStore{Dir: t.TempDir()}}
			t.Cleanup(func() { flush(t, w) })
			return &cache.Cache{Next: src, Store: &cache.Tiered{Fast: &cache.MemStore{}, Slow: w}}
		}, resolvertest.Options{Decorator: true})
	})
}
