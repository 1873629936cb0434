package upstream

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modfetch/modfetch/internal/fixture"
)

// slowServer serves set; requests for paths containing slow wait until
// released or canceled, and it counts requests and cancellations.
type slowServer struct {
	srv               *httptest.Server
	requests, aborted atomic.Int64
	release           chan struct{}

	mu    sync.Mutex
	paths map[string]int // requests by URL path
}

// asked returns how many requests s had for path.
func (s *slowServer) asked(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.paths[path]
}

func newSlowServer(t *testing.T, set *fixture.Set, slow string) *slowServer {
	s := &slowServer{release: make(chan struct{}), paths: make(map[string]int)}
	fs := &fixture.Server{Set: set}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		s.mu.Lock()
		s.paths[r.URL.Path]++
		s.mu.Unlock()
		if slow != "" && strings.Contains(r.URL.Path, slow) {
			select {
			case <-s.release:
			case <-r.Context().Done():
				s.aborted.Add(1)
				return
			}
		}
		fs.ServeHTTP(w, r)
	}))
	t.Cleanup(func() { close(s.release); s.srv.Close() })
	return s
}

func TestChainHedge(t *testing.T) {
	set := fixture.Standard()
	ctx := context.Background()
	for _, tt := range []struct {
		name        string
		slow        string // paths the first mirror holds
		sep         string
		hedge       time.Duration
		wantSecond  int64 // requests to the second mirror
		wantAborted int64 // first mirror requests canceled
	}{
		{"first answers in time", "", "|", time.Hour, 0, 0},
		{"first is slow", "v1.0.0.info", "|", 20 * time.Millisecond, 1, 1},
		{"not after a comma", "", ",", time.Millisecond, 0, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a := newSlowServer(t, set, tt.slow)
			b := newSlowServer(t, set, "")
			chain, err := (&Config{Hedge: tt.hedge}).Parse(a.srv.URL + tt.sep + b.srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			info, err := chain.Stat(ctx, "example.com/hello", "v1.0.0")
			if err != nil || info.Version != "v1.0.0" {
				t.Fatalf("Stat = %+v, %v", info, err)
			}
			if n := b.requests.Load(); n != tt.wantSecond {
				t.Errorf("second mirror asked %d times, want %d", n, tt.wantSecond)
			}
			// Stat returned after its other requests ended: the held
			// request was canceled, and the server saw it.
			fixture.WaitFor(t, "the first mirror to see its canceled requests", func() bool { return a.aborted.Load() == tt.wantAborted })
		})
	}
}

// TestChainHedgeAuto: with HedgeAuto the delay follows the first mirror's
// observed latency, here a few milliseconds, so a held request is
// hedged long before the 500ms used without observations.
func TestChainHedgeAuto(t *testing.T) {
	set := fixture.Standard()
	a := newSlowServer(t, set, "v1.1.0.mod")
	b := newSlowServer(t, set, "")
	chain, err := (&Config{Hedge: HedgeAuto}).Parse(a.srv.URL + "|" + b.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for range 20 {
		if _, err := chain.GoMod(ctx, "example.com/hello", "v1.0.0"); err != nil {
			t.Fatal(err)
		}
	}
	if d := chain.hedgeDelay(0); d >= 500*time.Millisecond {
		t.Fatalf("auto delay = %v after 20 quick answers", d)
	}
	// A warm-up request that took longer than the delay may have been
	// hedged too; count only the held request's.
	if _, err := chain.GoMod(ctx, "example.com/hello", "v1.1.0"); err != nil {
		t.Fatal(err)
	}
	if n := b.asked("/example.com/hello/@v/v1.1.0.mod"); n != 1 {
		t.Errorf("second mirror asked %d times for the held request, want 1", n)
	}
}

// BenchmarkHedgeTail measures the tail latency of .info requests along
// "first|second" where the first mirror answers every 50th request (2%)
// after 2s, with and without hedging. It reports p50 and p99 of 250
// requests per run:
//
//	go test -run '^$' -bench HedgeTail -benchtime 1x ./upstream/
func BenchmarkHedgeTail(b *testing.B) {
	set := fixture.Standard()
	for _, hedge := range []time.Duration{0, 50 * time.Millisecond, HedgeAuto} {
		name := "none"
		switch {
		case hedge == HedgeAuto:
			name = "auto"
		case hedge > 0:
			name = hedge.String()
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
			chain, err := (&Config{Hedge: hedge}).Parse(first.URL + "|" + second.URL)
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			var lat []time.Duration
			for b.Loop() {
				for range 250 {
					start := time.Now()
					if _, err := chain.Stat(ctx, "example.com/hello", "v1.0.0"); err != nil {
						b.Fatal(err)
					}
					lat = append(lat, time.Since(start))
				}
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
		})
	}
}
