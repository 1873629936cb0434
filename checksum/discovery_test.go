package checksum

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modfetch/modfetch"
	"github.com/modfetch/modfetch/internal/fixture"
	"github.com/modfetch/modfetch/upstream"
)

// fakeClock is a web.Timer whose time moves only when the test says so.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error { return ctx.Err() }

// discoveryEnv is a checksum database reachable both through a proxy
// (whose /sumdb/<name>/supported answers fail until up is set) and
// "directly" at https://<name>, which the DB's client routes to a test
// server that counts what reaches it.
type discoveryEnv struct {
	set    *fixture.Set
	sdb    *fixture.SumDB
	proxy  *fixture.Server
	psrv   *httptest.Server
	up     atomic.Bool
	direct atomic.Int32 // requests that reached the direct URL
	client *http.Client // routes https://<name> to the direct server
	clock  *fakeClock
}

func newDiscoveryEnv(t *testing.T, failStatus int) *discoveryEnv {
	t.Helper()
	e := &discoveryEnv{set: fixture.Standard(), clock: &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}}
	e.sdb = fixture.NewSumDB("sum.example.com", e.set.GoSumLines)
	e.proxy = &fixture.Server{Set: e.set, SumDB: e.sdb, Fault: func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path == "/sumdb/"+e.sdb.Name+"/supported" && !e.up.Load() {
			w.WriteHeader(failStatus)
			return true
		}
		return false
	}}
	e.psrv = httptest.NewServer(e.proxy)
	t.Cleanup(e.psrv.Close)
	dsrv := httptest.NewServer(e.sdb)
	t.Cleanup(dsrv.Close)
	durl, err := url.Parse(dsrv.URL)
	if err != nil {
		t.Fatal(err)
	}
	e.client = &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if r.URL.Host == e.sdb.Name {
			e.direct.Add(1)
			r = r.Clone(r.Context())
			r.URL.Scheme, r.URL.Host, r.Host = durl.Scheme, durl.Host, ""
		}
		return http.DefaultTransport.RoundTrip(r)
	})}
	return e
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func (e *discoveryEnv) supportedHits() int {
	return e.proxy.Hits("/sumdb/" + e.sdb.Name + "/supported")
}

func (e *discoveryEnv) proxyLookups(t *testing.T, m *fixture.Module) int {
	t.Helper()
	rp, err := lookupPath(m.Path, m.Version)
	if err != nil {
		t.Fatal(err)
	}
	return e.proxy.Hits("/sumdb/" + e.sdb.Name + rp)
}

// TestDBRetriesNegativeDiscovery: when no proxy serves the database at
// first (its /supported answers 404, or fails with 503 and is fallen back
// from after a "|"), the DB reaches the database directly for
// DirectRecheck only, then asks the proxies again; once the proxy serves
// the database, every read goes through it, for good, and none reaches
// the direct URL.
func TestDBRetriesNegativeDiscovery(t *testing.T) {
	tests := []struct {
		name   string
		status int
		chain  func(e *discoveryEnv) *upstream.Chain
	}{
		{"404", http.StatusNotFound, func(e *discoveryEnv) *upstream.Chain {
			// GOPROXY=<proxy>: a 404 from every proxy means direct.
			return &upstream.Chain{Entries: []upstream.Entry{
				{Resolver: &upstream.Proxy{URL: e.psrv.URL, Retry: modfetch.Retry{Attempts: 1}}},
			}}
		}},
		{"503|direct", http.StatusServiceUnavailable, func(e *discoveryEnv) *upstream.Chain {
			// GOPROXY=<proxy>|direct: a transient failure falls back to direct.
			return &upstream.Chain{Entries: []upstream.Entry{
				{Resolver: &upstream.Proxy{URL: e.psrv.URL, Retry: modfetch.Retry{Attempts: 1}}, FallBackOnError: true},
				{Resolver: e.set, Direct: true},
			}}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newDiscoveryEnv(t, tt.status)
			chain := tt.chain(e)
			db := &DB{timer: e.clock, Key: e.sdb.Key, FindURL: chain.SumDBURL, Client: e.client}
			ctx := context.Background()
			mods := e.set.Modules()
			if len(mods) < 4 {
				t.Fatalf("fixture has %d modules, want 4", len(mods))
			}
			check := func(m *fixture.Module) {
				t.Helper()
				if err := db.Check(ctx, m.Path, m.Version, false, m.ZipSum()); err != nil {
					t.Fatalf("Check %s@%s: %v", m.Path, m.Version, err)
				}
			}

			// No proxy serves the database: it is reached directly.
			check(mods[0])
			if n := e.supportedHits(); n != 1 {
				t.Fatalf("/supported asked %d times, want 1", n)
			}
			if e.direct.Load() == 0 || e.proxyLookups(t, mods[0]) != 0 {
				t.Fatalf("first lookup: %d direct requests, %d through the proxy; want it direct", e.direct.Load(), e.proxyLookups(t, mods[0]))
			}

			// Within DirectRecheck, the negative answer holds: no new
			// /supported request for every read.
			e.clock.Advance(DirectRecheck - time.Second)
			check(mods[1])
			if n := e.supportedHits(); n != 1 {
				t.Fatalf("/supported asked %d times within DirectRecheck, want 1", n)
			}

			// The proxy now serves the database; after DirectRecheck the DB
			// asks again and goes through it, never to the direct URL.
			e.up.Store(true)
			e.clock.Advance(time.Second)
			before := e.direct.Load()
			check(mods[2])
			if n := e.supportedHits(); n != 2 {
				t.Fatalf("/supported asked %d times after DirectRecheck, want 2", n)
			}
			if n := e.proxyLookups(t, mods[2]); n != 1 {
				t.Fatalf("lookup after recovery made %d requests through the proxy, want 1: %v", n, e.proxy.Requests())
			}

			// A positive answer is kept for good.
			e.clock.Advance(100 * DirectRecheck)
			check(mods[3])
			if n := e.supportedHits(); n != 2 {
				t.Fatalf("/supported asked %d times after the proxy answered 200, want 2", n)
			}
			if n := e.proxyLookups(t, mods[3]); n != 1 {
				t.Fatalf("later lookup made %d requests through the proxy, want 1", n)
			}
			if n := e.direct.Load() - before; n != 0 {
				t.Fatalf("%d requests reached the direct URL after the proxy served the database", n)
			}
		})
	}
}

// TestDBDiscoveryFailureNotKept: a discovery that fails (a 503 with no
// fallback) fails the read, reaches nothing directly, and is not
// remembered: the next read, with no time passed, asks the proxy again.
func TestDBDiscoveryFailureNotKept(t *testing.T) {
	e := newDiscoveryEnv(t, http.StatusServiceUnavailable)
	chain := &upstream.Chain{Entries: []upstream.Entry{
		{Resolver: &upstream.Proxy{URL: e.psrv.URL, Retry: modfetch.Retry{Attempts: 1}}},
	}}
	db := &DB{timer: e.clock, Key: e.sdb.Key, FindURL: chain.SumDBURL, Client: e.client}
	ctx := context.Background()
	m := e.set.Modules()[0]
	err := db.Check(ctx, m.Path, m.Version, false, m.ZipSum())
	var he *modfetch.HTTPError
	if !errors.As(err, &he) || he.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("Check = %v, want the proxy's 503", err)
	}
	e.up.Store(true)
	if err := db.Check(ctx, m.Path, m.Version, false, m.ZipSum()); err != nil {
		t.Fatalf("after recovery: %v", err)
	}
	if n := e.supportedHits(); n != 2 {
		t.Fatalf("/supported asked %d times, want 2", n)
	}
	if n := e.proxyLookups(t, m); n != 1 {
		t.Fatalf("lookup made %d requests through the proxy, want 1", n)
	}
	if n := e.direct.Load(); n != 0 {
		t.Fatalf("%d requests reached the direct URL", n)
	}
}
