package checksum_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/modfetch/modfetch"
	"github.com/modfetch/modfetch/checksum"
	"github.com/modfetch/modfetch/internal/fixture"
	"github.com/modfetch/modfetch/resolvertest"
)

// TestVerifyResolver runs the Resolver conformance suite on Verify,
// checking against go.sum lines and against a checksum database.
func TestVerifyResolver(t *testing.T) {
	mods := resolvertest.Modules()
	lines := func(path, version string) ([]byte, error) {
		for _, m := range mods {
			if m.Path == path && m.Version == version {
				return fmt.Appendf(nil, "%s %s %s\n%s %s/go.mod %s\n", path, version, m.ZipSum, path, version, m.ModSum), nil
			}
		}
		return nil, fmt.Errorf("no such module %s@%s", path, version)
	}
	t.Run("GoSum", func(t *testing.T) {
		gosum := new(checksum.GoSum)
		for _, m := range mods {
			gosum.Add(m.Path, m.Version, false, m.ZipSum)
			gosum.Add(m.Path, m.Version, true, m.ModSum)
		}
		resolvertest.Run(t, func(t *testing.T, src modfetch.Resolver) modfetch.Resolver {
			return &checksum.Verify{Next: src, GoSum: gosum, TempDir: t.TempDir()}
		}, resolvertest.Options{Decorator: true})
	})
	t.Run("DB", func(t *testing.T) {
		sdb := fixture.NewSumDB("sum.example.com", lines)
		var requests atomic.Int64
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			requests.Add(1)
			sdb.ServeHTTP(w, r)
		}))
		t.Cleanup(srv.Close)
		resolvertest.Run(t, func(t *testing.T, src modfetch.Resolver) modfetch.Resolver {
			return &checksum.Verify{Next: src, DB: &checksum.DB{Key: sdb.Key, URL: srv.URL}, TempDir: t.TempDir()}
		}, resolvertest.Options{Decorator: true, Requests: requests.Load})
	})
}
