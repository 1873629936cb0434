package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modfetch/modfetch/cache"
	"github.com/modfetch/modfetch/cache/s3store"
	"github.com/modfetch/modfetch/internal/fixture"
	"github.com/modfetch/modfetch/proxy"
)

// BenchmarkWarmZipStores serves warm 4 MiB zips through proxy.Handler
// from a DirStore, from the S3 store (streamed through the server), and
// from the S3 store by redirect (the client fetches from the bucket), in
// the same run; MB/s is what the clients received:
//
//	. .ci/services start
//	go test -run '^$' -bench WarmZipStores -benchtime 3s ./examples/proxyserver
func BenchmarkWarmZipStores(b *testing.B) {
	endpoint, bucket := os.Getenv("MODFETCH_TEST_S3_ENDPOINT"), os.Getenv("MODFETCH_TEST_S3_BUCKET")
	if endpoint == "" || bucket == "" {
		b.Skip("needs an S3 server: . .ci/services start")
	}
	set := fixture.Bulk("warm", 8, 4<<20)
	s3, err := s3store.ParseURL(fmt.Sprintf("s3://%s/bench-%d?endpoint=%s&region=us-east-1&insecure=true", bucket, time.Now().UnixNano(), endpoint))
	if err != nil {
		b.Fatal(err)
	}
	if err := s3.CreateBucket(context.Background()); err != nil {
		b.Fatal(err)
	}
	stores := []struct {
		name     string
		store    cache.Store
		redirect time.Duration
	}{
		{"dirstore", &cache.DirStore{Dir: b.TempDir()}, 0},
		{"s3", s3, 0},
		{"s3-redirect", s3, 10 * time.Minute},
	}
	for _, st := range stores {
		c := &cache.Cache{Next: set, Store: st.store}
		var paths []string
		for _, m := range set.Modules() {
			rc, err := c.Zip(context.Background(), m.Path, m.Version) // warm
			if err != nil {
				b.Fatal(err)
			}
			rc.Close()
			paths = append(paths, "/"+m.Path+"/@v/"+m.Version+".zip")
		}
		var served atomic.Int64 // body bytes the server itself sent
		h := &proxy.Handler{Resolver: c, RedirectZips: st.redirect}
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h.ServeHTTP(&countingWriter{ResponseWriter: w, n: &served}, r)
		}))
		b.Run(st.name, func(b *testing.B) {
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
			defer client.CloseIdleConnections()
			var i, got atomic.Int64
			served.Store(0)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					resp, err := client.Get(srv.URL + paths[int(i.Add(1))%len(paths)])
					if err != nil {
						b.Error(err)
						return
					}
					n, _ := io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					got.Add(n)
					if resp.StatusCode != 200 || n < 4<<20 {
						b.Errorf("%s: %d bytes", resp.Status, n)
						return
					}
				}
			})
			b.SetBytes(got.Load() / int64(max(b.N, 1)))
			b.ReportMetric(float64(served.Load())/float64(max(b.N, 1)), "server-bytes/op")
		})
		srv.Close()
	}
}

type countingWriter struct {
	http.ResponseWriter
	n *atomic.Int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.ResponseWriter.Write(p)
	c.n.Add(int64(n))
	return n, err
}

func (c *countingWriter) ReadFrom(r io.Reader) (int64, error) {
	n, err := io.Copy(c.ResponseWriter, r)
	c.n.Add(n)
	return n, err
}
