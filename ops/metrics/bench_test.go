package metrics_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modfetch/modfetch"
	"github.com/modfetch/modfetch/cache"
	"github.com/modfetch/modfetch/internal/fixture"
	"github.com/modfetch/modfetch/ops/logbuf"
	"github.com/modfetch/modfetch/ops/metrics"
	"github.com/modfetch/modfetch/proxy"
)

// noUpstream fails every request: a warm cache must not need one.
type noUpstream struct{ modfetch.Resolver }

func (noUpstream) Stat(context.Context, string, string) (*modfetch.Info, error) {
	return nil, errors.New("upstream asked")
}

// BenchmarkObserved measures warm .info and .zip serving with metrics and
// access logs off and on (the log buffered into a file), against a plain
// http.FileServer over the same module cache, in the same run:
//
//	go test -run '^$' -bench Observed -benchtime 2s -count 3 ./ops/metrics
func BenchmarkObserved(b *testing.B) {
	set := fixture.Bulk("obs", 64, 256<<10)
	dir := b.TempDir()
	store := &cache.DirStore{Dir: dir}
	fill := &cache.Cache{Next: set, Store: store}
	ctx := context.Background()
	for _, m := range set.Modules() {
		fill.Stat(ctx, m.Path, m.Version)
		rc, err := fill.Zip(ctx, m.Path, m.Version)
		if err != nil {
			b.Fatal(err)
		}
		rc.Close()
	}
	handler := func(on bool) http.Handler {
		mem := &cache.MemStore{MaxBytes: 32 << 20}
		c := &cache.Cache{Next: noUpstream{set}, Store: &cache.Tiered{Fast: mem, Slow: store}}
		h := &proxy.Handler{Resolver: c, Memory: mem}
		if !on {
			return h
		}
		m := metrics.New(nil)
		hooks := m.Hooks()
		c.Hooks, h.Hooks = hooks, hooks
		f, err := os.Create(filepath.Join(b.TempDir(), "access.log"))
		if err != nil {
			b.Fatal(err)
		}
		out := logbuf.New(f, 64<<10, 100*time.Millisecond)
		b.Cleanup(func() { out.Close(); f.Close() })
		return proxy.AccessLog(slog.New(slog.NewTextHandler(out, nil)), slog.LevelInfo, m.Instrument(h))
	}
	servers := map[string]*httptest.Server{
		"off":        httptest.NewServer(handler(false)),
		"on":         httptest.NewServer(handler(true)),
		"fileserver": httptest.NewServer(http.FileServer(http.Dir(dir))),
	}
	for _, s := range servers {
		defer s.Close()
	}
	for _, ext := range []string{"info", "zip"} {
		var paths []string
		for _, m := range set.Modules() {
			paths = append(paths, "/"+m.Path+"/@v/"+m.Version+"."+ext)
		}
		for _, name := range []string{"off", "on", "fileserver"} {
			b.Run(ext+"/"+name, func(b *testing.B) { benchGet(b, servers[name].URL, paths) })
		}
	}
}

func benchGet(b *testing.B, base string, paths []string) {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	defer client.CloseIdleConnections()
	for _, p := range paths { // warm up
		resp, err := client.Get(base + p)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatalf("%s: %s", p, resp.Status)
		}
	}
	var i, bytes atomic.Int64
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		buf := make([]byte, 64<<10)
		for pb.Next() {
			resp, err := client.Get(base + paths[int(i.Add(1))%len(paths)])
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
		}
	})
	b.SetBytes(bytes.Load() / int64(max(b.N, 1)))
}
