package proxy_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/modfetch/modfetch"
	"github.com/modfetch/modfetch/cache"
	"github.com/modfetch/modfetch/checksum"
	"github.com/modfetch/modfetch/proxy"
	"github.com/modfetch/modfetch/resolvertest"
	"github.com/modfetch/modfetch/upstream"
)

// TestServerResolver runs the Resolver conformance suite on our client
// reading a whole server: a Handler answering hot requests from the
// memory tier, over a Cache on memory in front of a write-behind disk,
// over Verify.
func TestServerResolver(t *testing.T) {
	gosum := new(checksum.GoSum)
	for _, m := range resolvertest.Modules() {
		gosum.Add(m.Path, m.Version, false, m.ZipSum)
		gosum.Add(m.Path, m.Version, true, m.ModSum)
	}
	var requests atomic.Int64
	resolvertest.Run(t, func(t *testing.T, src modfetch.Resolver) modfetch.Resolver {
		mem := &cache.MemStore{}
		disk := &cache.WriteBehind{Next: &cache.DirStore{Dir: t.TempDir()}}
		c := &cache.Cache{
			Next:  &checksum.Verify{Next: src, GoSum: gosum, TempDir: t.TempDir()},
			Store: &cache.Tiered{Fast: mem, Slow: disk},
		}
		h := &proxy.Handler{Resolver: c, Memory: mem}
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			requests.Add(1)
			h.ServeHTTP(w, r)
		}))
		t.Cleanup(func() {
			srv.Close()
			if err := disk.Flush(context.Background()); err != nil {
				t.Error(err)
			}
		})
		return &upstream.Proxy{URL: srv.URL, Retry: modfetch.Retry{Attempts: 1}}
	}, resolvertest.Options{Requests: requests.Load})
}
