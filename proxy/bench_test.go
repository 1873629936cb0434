package proxy

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/modfetch/modfetch/cache"
	"github.com/modfetch/modfetch/internal/fixture"
)

// benchWorld is a warm module cache served two ways: by our Handler (over
// a Cache on a DirStore) and by a plain http.FileServer over the same
// directory, which is a valid file-tree GOPROXY.
type benchWorld struct {
	mods       []*fixture.Module
	ours       *httptest.Server
	fileServer *httptest.Server
}

func newBenchWorld(b *testing.B, n int, zipSize int) *benchWorld {
	b.Helper()
	set := fixture.Bulk("bench", n, zipSize)
	mods := set.Modules()
	store := &cache.DirStore{Dir: b.TempDir()}
	c := &cache.Cache{Next: set, Store: store, MutableTTL: -1}
	ctx := context.Background()
	for _, m := range mods {
		if _, err := c.Stat(ctx, m.Path, m.Version); err != nil {
			b.Fatal(err)
		}
		if _, err := c.GoMod(ctx, m.Path, m.Version); err != nil {
			b.Fatal(err)
		}
		rc, err := c.Zip(ctx, m.Path, m.Version)
		if err != nil {
			b.Fatal(err)
		}
		rc.Close()
	}
	w := &benchWorld{mods: mods}
	// The warm cache needs no upstream: prove it by giving it none. Its
	// memory tier serves hot answers, as in the proxyserver.
	mem := &cache.MemStore{MaxBytes: 32 << 20}
	warm := &cache.Cache{Next: failing{fmt.Errorf("upstream must not be asked")}, Store: &cache.Tiered{Fast: mem, Slow: store}}
	w.ours = httptest.NewServer(&Handler{Resolver: warm, Memory: mem})
	w.fileServer = httptest.NewServer(http.FileServer(http.Dir(store.Dir)))
	b.Cleanup(w.ours.Close)
	b.Cleanup(w.fileServer.Close)
	return w
}

func benchGet(b *testing.B, base string, paths []string) {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	defer client.CloseIdleConnections()
	// Warm up: every path once, so the run measures steady state.
	for _, p := range paths {
		resp, err := client.Get(base + p)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	var i atomic.Int64
	var bytes atomic.Int64
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		buf := make([]byte, 64<<10)
		for pb.Next() {
			p := paths[int(i.Add(1))%len(paths)]
			resp, err := client.Get(base + p)
			if err != nil {
				b.Error(err)
				return
			}
			for {
				n, err := resp.Body.Read(buf)
				bytes.Add(int64(n))
				if err != nil {
					break
				}
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Errorf("%s: %s", p, resp.Status)
				return
			}
		}
	})
	b.SetBytes(bytes.Load() / int64(max(b.N, 1)))
}

// BenchmarkWarm compares warm .info, .mod and .zip serving by the Handler
// with a plain http.FileServer over the same files, in the same run.
// Compare ns/op of .../modfetch with .../fileserver:
//
//	go test -run '^$' -bench Warm -benchtime 2s ./proxy/
func BenchmarkWarm(b *testing.B) {
	w := newBenchWorld(b, 64, 256<<10)
	for _, ext := range []string{"info", "mod", "zip"} {
		var paths []string
		for _, m := range w.mods {
			paths = append(paths, "/"+m.Path+"/@v/"+m.Version+"."+ext)
		}
		b.Run(ext+"/modfetch", func(b *testing.B) { benchGet(b, w.ours.URL, paths) })
		b.Run(ext+"/fileserver", func(b *testing.B) { benchGet(b, w.fileServer.URL, paths) })
	}
}

// discardWriter is a ResponseWriter that keeps nothing but headers.
type discardWriter struct{ h http.Header }

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *discardWriter) WriteHeader(int)             {}

// BenchmarkHandlerMetadata measures the Handler's own share of a warm
// .info or .mod request, without net/http's server around it (compare
// with BenchmarkWarm's figures, which include it):
//
//	go test -run '^$' -bench HandlerMetadata ./proxy/
func BenchmarkHandlerMetadata(b *testing.B) {
	w := newBenchWorld(b, 64, 4<<10)
	h := w.ours.Config.Handler
	for _, ext := range []string{"info", "mod"} {
		var reqs []*http.Request
		for _, m := range w.mods {
			r := httptest.NewRequest("GET", "/"+m.Path+"/@v/"+m.Version+"."+ext, nil)
			h.ServeHTTP(&discardWriter{h: http.Header{}}, r) // warm the memory cache
			reqs = append(reqs, r)
		}
		b.Run(ext, func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				h.ServeHTTP(&discardWriter{h: make(http.Header, 4)}, reqs[i%len(reqs)])
				i++
			}
		})
	}
}
