package modfetch_test

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/modfetch/modfetch"
	"github.com/modfetch/modfetch/goenv"
	"github.com/modfetch/modfetch/internal/fixture"
)

// stackQuerier is a Querier over a goenv.Stack with the given MutableTTL
// (0: the go command's, never reused) in front of loopback fixture
// proxies, GOPROXY entries joined by ",": the last serves
// fixture.Queries(), the others fixture.Standard() (without
// example.com/retract).
func stackQuerier(tb testing.TB, ttl time.Duration, entries int) (*modfetch.Querier, []*fixture.Server) {
	tb.Helper()
	var srvs []*fixture.Server
	goproxy := ""
	for i := range entries {
		set := fixture.Standard()
		if i == entries-1 {
			set = fixture.Queries()
		}
		srv := &fixture.Server{Set: set}
		hs := httptest.NewServer(srv)
		tb.Cleanup(hs.Close)
		srvs = append(srvs, srv)
		if i > 0 {
			goproxy += ","
		}
		goproxy += hs.URL
	}
	dir := tb.TempDir()
	cfg := &goenv.Config{GOPROXY: goproxy, GOSUMDB: "off", GOMODCACHE: filepath.Join(dir, "mod"), GOPATH: dir, GOAUTH: "off"}
	stack, err := cfg.Resolver(&goenv.Options{NoDirect: true, MutableTTL: ttl})
	if err != nil {
		tb.Fatal(err)
	}
	return &modfetch.Querier{Resolver: stack}, srvs
}

// TestQueryListRequests counts the @v/list requests of queries over a
// goenv.Stack: one for a cold "latest" (the go command reads the list
// once per run, also for the retraction check), none for a warm query
// while the Stack's MutableTTL keeps the list, one per query without it.
func TestQueryListRequests(t *testing.T) {
	const list = "/example.com/retract/@v/list"
	for _, tt := range []struct {
		name       string
		ttl        time.Duration
		entries    int
		cold, warm int // list requests of the first query, of each later one, to the last entry
	}{
		{"go command (no reuse)", 0, 1, 1, 1},
		{"MutableTTL", time.Hour, 1, 1, 0},
		// The first proxy does not know the module: it is asked each
		// time (a not-found answer is not kept), the second one's list
		// is kept apart from the first's answers.
		{"MutableTTL, second proxy", time.Hour, 2, 1, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			q, srvs := stackQuerier(t, tt.ttl, tt.entries)
			last := srvs[len(srvs)-1]
			ctx := context.Background()
			for i := range 3 {
				for _, srv := range srvs {
					srv.Reset()
				}
				info, err := q.Query(ctx, "example.com/retract", "latest", nil)
				if err != nil || info.Version != "v1.0.0" {
					t.Fatalf("query %d: %v, %v", i, info, err)
				}
				want := tt.warm
				if i == 0 {
					want = tt.cold
				}
				if got := last.Hits(list); got != want {
					t.Errorf("query %d: %d requests for %s, want %d (requests: %v)", i, got, list, want, last.Requests())
				}
				if tt.entries > 1 && srvs[0].Hits(list) != 1 {
					t.Errorf("query %d: first proxy asked %d times for %s, want 1", i, srvs[0].Hits(list), list)
				}
			}
		})
	}
}

// BenchmarkQueryWarm: warm "latest" queries through a Querier over a
// goenv.Stack with MutableTTL, against a loopback fixture proxy. It
// reports upstream @v/list requests per query.
func BenchmarkQueryWarm(b *testing.B) {
	q, srvs := stackQuerier(b, time.Hour, 1)
	ctx := context.Background()
	if _, err := q.Query(ctx, "example.com/retract", "latest", nil); err != nil {
		b.Fatal(err)
	}
	srvs[0].Reset()
	durs := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		if _, err := q.Query(ctx, "example.com/retract", "latest", nil); err != nil {
			b.Fatal(err)
		}
		durs = append(durs, time.Since(start))
	}
	b.StopTimer()
	sort.Slice(durs, func(i, j int) bool { return durs[i] < durs[j] })
	b.ReportMetric(float64(durs[len(durs)/2].Nanoseconds()), "median-ns")
	b.ReportMetric(float64(srvs[0].Hits("/example.com/retract/@v/list"))/float64(b.N), "lists/op")
}
