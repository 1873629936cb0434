package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modfetch/modfetch/internal/fixture"
)

// BenchmarkHedgeThroughProxy measures the latency of cold .info requests
// through the server, whose GOPROXY is "first|second" where first answers
// one request in 50 (2%) after 2 s, with -hedge off, 50ms and auto. Each
// iteration asks a fresh server for the .info of 500 different modules,
// 8 at a time, and reports the p50 and p99 latencies. Run it with:
//
//	go test -run='^$' -bench=HedgeThroughProxy -benchtime=1x ./examples/proxyserver
func BenchmarkHedgeThroughProxy(b *testing.B) {
	const modules, workers = 500, 8
	set := fixture.Bulk("hedge", modules, 16)
	for _, hedge := range []string{"", "50ms", "auto"} {
		name := hedge
		if name == "" {
			name = "none"
		}
		b.Run(name, func(b *testing.B) {
			var n atomic.Int64
			fs := &fixture.Server{Set: set}
			first := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if n.Add(1)%50 == 0 {
					select {
					case <-time.After(2 * time.Second):
					case <-r.Context().Done():
						return
					}
				}
				fs.ServeHTTP(w, r)
			}))
			defer first.Close()
			second := httptest.NewServer(fs)
			defer second.Close()
			setEnv(b, first.URL+"|"+second.URL)
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers}}
			defer client.CloseIdleConnections()
			var lat []time.Duration
			for b.Loop() {
				lat = append(lat, hedgeRound(b, client, hedge, modules, workers)...)
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
		})
	}
}

// hedgeRound starts a server with -hedge hedge and an empty cache, asks it
// for the .info of each module, workers at a time, and returns the
// latencies.
func hedgeRound(b *testing.B, client *http.Client, hedge string, modules, workers int) []time.Duration {
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	errc := make(chan error, 1)
	go func() {
		errc <- run(ctx, []string{"-addr", "127.0.0.1:0", "-cache", b.TempDir(), "-hedge", hedge},
			slog.New(slog.NewTextHandler(io.Discard, nil)), ready)
	}()
	defer func() {
		cancel()
		if err := <-errc; err != nil {
			b.Error(err)
		}
	}()
	addr := <-ready
	var (
		mu   sync.Mutex
		lat  []time.Duration
		next atomic.Int64
		wg   sync.WaitGroup
	)
	for range workers {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(modules) {
					return
				}
				start := time.Now()
				resp, err := client.Get(fmt.Sprintf("http://%s/example.com/hedge/m%d/@v/v1.0.0.info", addr, i))
				if err != nil {
					b.Error(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				d := time.Since(start)
				if resp.StatusCode != http.StatusOK {
					b.Errorf("m%d: %s", i, resp.Status)
				}
				mu.Lock()
				lat = append(lat, d)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return lat
}
