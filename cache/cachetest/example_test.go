package cachetest_test

import (
	"testing"

	"github.com/modfetch/modfetch/cache"
	"github.com/modfetch/modfetch/cache/cachetest"
)

// Every Store implementation runs the suite in its own tests. This is how
// the on-disk store does it (see cache/dirstore_test.go).
func ExampleRun() {
	testDirStore := func(t *testing.T) {
		cachetest.Run(t, func(t *testing.T) cache.Store {
			return &cache.DirStore{Dir: t.TempDir()}
		}, cachetest.Options{})
	}
	_ = testDirStore // in a _test.go file: func TestDirStore(t *testing.T) { testDirStore(t) }
}
