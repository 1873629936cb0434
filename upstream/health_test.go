package upstream

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modfetch/modfetch"
	"github.com/modfetch/modfetch/internal/fixture"
)

type change struct{ from, to HealthState }

func TestHealthBreaker(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var changes []change
	h := &Health{
		Name:     "mirror",
		Breaker:  &Breaker{Failures: 3, Cooldown: 10 * time.Second, MaxCooldown: 25 * time.Second},
		OnChange: func(name string, from, to HealthState, err error) { changes = append(changes, change{from, to}) },
		now:      func() time.Time { return now },
	}
	boom := errors.New("boom")
	allowed := func() bool { ok, _ := h.allow(); return ok }

	h.observe(false, 10*time.Millisecond, nil)
	for range 2 {
		h.observe(true, 0, boom)
	}
	if !allowed() || h.Stats().State != Healthy {
		t.Fatalf("opened after 2 failures: %+v", h.Stats())
	}
	h.observe(true, 0, boom)
	st := h.Stats()
	if st.State != Unavailable || allowed() || !st.RetryAt.Equal(now.Add(10*time.Second)) || st.Usable(now) {
		t.Fatalf("after 3 failures: %+v", st)
	}
	if st.Requests != 4 || st.Failures != 3 || st.ErrorRate != 0.75 || st.LastError != "boom" || st.P50 != 10*time.Millisecond {
		t.Errorf("stats = %+v", st)
	}

	// Cooldown over: one probe, the others still skip.
	now = now.Add(10 * time.Second)
	ok, probe := h.allow()
	if !ok || !probe {
		t.Fatalf("after the cooldown: allow = %v, %v", ok, probe)
	}
	if allowed() {
		t.Fatal("a second request allowed while probing")
	}
	// The probe left without reaching the upstream: the next request probes.
	h.endProbe()
	if ok, probe := h.allow(); !ok || !probe {
		t.Fatalf("after an empty probe: allow = %v, %v", ok, probe)
	}
	// The probe fails: cooldown doubles.
	h.observe(true, 0, boom)
	h.endProbe()
	if st := h.Stats(); st.State != Unavailable || !st.RetryAt.Equal(now.Add(20*time.Second)) {
		t.Fatalf("after a failed probe: %+v", st)
	}
	now = now.Add(20 * time.Second)
	h.allow()
	h.observe(true, 0, boom)
	h.endProbe()
	if st := h.Stats(); !st.RetryAt.Equal(now.Add(25 * time.Second)) {
		t.Fatalf("cooldown not capped at MaxCooldown: %+v", st)
	}
	// A successful probe closes the breaker.
	now = now.Add(25 * time.Second)
	h.allow()
	h.observe(false, time.Millisecond, nil)
	h.endProbe()
	if st := h.Stats(); st.State != Healthy || st.ConsecutiveFailures != 0 || !allowed() {
		t.Fatalf("after a good probe: %+v", st)
	}
	want := []change{
		{Healthy, Unavailable}, {Unavailable, Probing}, {Probing, Unavailable},
		{Unavailable, Probing}, {Probing, Unavailable}, {Unavailable, Probing}, {Probing, Healthy},
	}
	if len(changes) != len(want) {
		t.Fatalf("changes = %v, want %v", changes, want)
	}
	for i := range want {
		if changes[i] != want[i] {
			t.Fatalf("changes = %v, want %v", changes, want)
		}
	}

	// Without a Breaker, a Health records and never skips.
	plain := &Health{}
	for range 100 {
		plain.observe(true, 0, boom)
	}
	if ok, _ := plain.allow(); !ok || plain.Stats().State != Healthy {
		t.Fatalf("a Health without Breaker skips: %+v", plain.Stats())
	}
}

// countingServer serves set, or answers every request with status when
// it is not zero, counting requests.
type countingServer struct {
	srv    *httptest.Server
	n      atomic.Int64
	status atomic.Int64
	hang   chan struct{} // when not nil, requests wait for it or their end
}

func newCountingServer(t *testing.T, set *fixture.Set) *countingServer {
	cs := &countingServer{}
	fs := &fixture.Server{Set: set}
	cs.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cs.n.Add(1)
		if cs.hang != nil {
			select {
			case <-cs.hang:
			case <-r.Context().Done():
			}
			return
		}
		if s := cs.status.Load(); s != 0 {
			http.Error(w, "down", int(s))
			return
		}
		fs.ServeHTTP(w, r)
	}))
	t.Cleanup(cs.srv.Close)
	return cs
}

func TestChainBreaker(t *testing.T) {
	set := fixture.Standard()
	ctx := context.Background()
	for _, tt := range []struct {
		name      string
		sep       string
		breaker   *Breaker
		wantFirst int64 // requests the failing first proxy gets for 10 Stats
		wantOK    int   // Stats that succeed
	}{
		// Without a breaker "|" asks the failing mirror once per request
		// (no retries: the next entry is the retry) and moves on.
		{"pipe, no breaker", "|", nil, 10, 10},
		{"pipe, breaker", "|", &Breaker{Failures: 2, Cooldown: time.Hour}, 2, 10},
		// "," keeps the go command's rule: the failure ends the walk; the
		// breaker makes it fail fast without asking.
		// The breaker counts attempts, and retries stop when it opens.
		{"comma, breaker", ",", &Breaker{Failures: 2, Cooldown: time.Hour}, 2, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			bad, good := newCountingServer(t, set), newCountingServer(t, set)
			bad.status.Store(http.StatusInternalServerError)
			cfg := &Config{Breaker: tt.breaker, Retry: modfetch.Retry{Attempts: 3, Initial: time.Millisecond, Max: time.Millisecond}}
			var mu sync.Mutex
			var changes []change
			cfg.OnHealthChange = func(name string, from, to HealthState, err error) {
				mu.Lock()
				changes = append(changes, change{from, to})
				mu.Unlock()
				if name != bad.srv.URL || err == nil {
					t.Errorf("OnHealthChange(%q, %v, %v, %v)", name, from, to, err)
				}
			}
			chain, err := cfg.Parse(bad.srv.URL + tt.sep + good.srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			ok := 0
			for i := range 10 {
				_, err := chain.Stat(ctx, "example.com/hello", "v1.0.0")
				switch {
				case err == nil:
					ok++
				case tt.sep == "," && i > 0 && !errors.Is(err, ErrUnavailable):
					t.Errorf("err = %v, want ErrUnavailable once the breaker is open", err)
				}
			}
			if n := bad.n.Load(); n != tt.wantFirst {
				t.Errorf("failing proxy asked %d times, want %d", n, tt.wantFirst)
			}
			if ok != tt.wantOK {
				t.Errorf("%d of 10 succeeded, want %d", ok, tt.wantOK)
			}
			hs := chain.Health()
			if len(hs) != 2 || hs[0].Name != bad.srv.URL || hs[1].State != Healthy {
				t.Fatalf("Health() = %+v", hs)
			}
			if tt.breaker != nil && (hs[0].State != Unavailable || len(changes) != 1) {
				t.Errorf("first proxy %v, changes %v; want unavailable after one change", hs[0].State, changes)
			}
		})
	}
}

// TestChainDeadMirror: a first mirror that accepts connections and never
// answers costs one first-byte timeout, then nothing.
func TestChainDeadMirror(t *testing.T) {
	set := fixture.Standard()
	dead, good := newCountingServer(t, set), newCountingServer(t, set)
	dead.hang = make(chan struct{})
	defer close(dead.hang)
	// Five failures open the breaker, but a timeout counts as five.
	cfg := &Config{Breaker: &Breaker{Failures: 5, Cooldown: time.Hour}, FirstByteTimeout: time.Second}
	chain, err := cfg.Parse(dead.srv.URL + "|" + good.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"v1.0.0", "v1.1.0", "v1.0.0", "v1.1.0"} {
		if _, err := chain.GoMod(context.Background(), "example.com/hello", v); err != nil {
			t.Fatal(err)
		}
	}
	// The handler may count the timed-out request after GoMod returned.
	fixture.WaitFor(t, "the dead mirror to see its request", func() bool { return dead.n.Load() >= 1 })
	if n := dead.n.Load(); n != 1 {
		t.Errorf("dead mirror asked %d times, want 1", n)
	}
	if n := good.n.Load(); n != 4 {
		t.Errorf("healthy mirror asked %d times, want 4", n)
	}
	if st := chain.Health()[0]; st.State != Unavailable || st.Failures != 1 || st.LastFailure.IsZero() {
		t.Errorf("dead mirror's health = %+v", st)
	}
}

// TestChainProbesInBackground: when a cooldown ends, a Chain's proxy is
// probed in the background while requests keep skipping it, and comes
// back when the probe answers.
func TestChainProbesInBackground(t *testing.T) {
	set := fixture.Standard()
	bad, good := newCountingServer(t, set), newCountingServer(t, set)
	bad.status.Store(http.StatusServiceUnavailable)
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	chain, err := (&Config{Breaker: &Breaker{Failures: 1, Cooldown: time.Minute}}).Parse(bad.srv.URL + "|" + good.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	h := chain.Entries[0].Health
	h.now = clock
	ctx := context.Background()
	stat := func() {
		t.Helper()
		if _, err := chain.Stat(ctx, "example.com/hello", "v1.0.0"); err != nil {
			t.Fatal(err)
		}
	}
	stat() // opens the breaker
	if st := h.Stats(); st.State != Unavailable || bad.n.Load() != 1 {
		t.Fatalf("after a 503: %v, %d requests", st.State, bad.n.Load())
	}

	// Cooldown over, still failing: the probe fails in the background
	// and the request goes to the next mirror without waiting for it.
	advance(time.Minute)
	stat()
	fixture.WaitFor(t, "the failed probe", func() bool { return h.Stats().State == Unavailable && bad.n.Load() == 2 })
	if st := h.Stats(); !st.RetryAt.Equal(clock().Add(2 * time.Minute)) {
		t.Errorf("after a failed probe, retry at %v, want the cooldown doubled", st.RetryAt)
	}

	// Recovered: the next probe closes the breaker, and requests return.
	bad.status.Store(0)
	advance(2 * time.Minute)
	stat()
	fixture.WaitFor(t, "the good probe", func() bool { return h.Stats().State == Healthy })
	before := bad.n.Load()
	stat()
	if n := bad.n.Load() - before; n != 1 {
		t.Errorf("recovered mirror asked %d times by one request, want 1", n)
	}
	// The 503, and the two requests while it cooled down or was probed.
	if n := good.n.Load(); n != 3 {
		t.Errorf("next mirror asked %d times, want 3", n)
	}
}

// TestChainZipProbe: without a Probe function, the request after a
// cooldown is the probe; when it is a zip, whose body ends after the
// Chain ended the probe, its answer still closes the breaker.
func TestChainZipProbe(t *testing.T) {
	set := fixture.Standard()
	srv := httptest.NewServer(&fixture.Server{Set: set})
	defer srv.Close()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	h := &Health{Name: srv.URL, Breaker: &Breaker{Failures: 1, Cooldown: time.Minute}, now: func() time.Time { mu.Lock(); defer mu.Unlock(); return now }}
	p := &Proxy{URL: srv.URL, Health: h}
	chain := &Chain{Entries: []Entry{{Resolver: p, Health: h}}}
	h.observe(true, 0, errors.New("boom")) // opens the breaker
	if st := h.Stats(); st.State != Unavailable {
		t.Fatalf("after a failure: %v, want unavailable", st.State)
	}
	mu.Lock()
	now = now.Add(2 * time.Minute)
	mu.Unlock()
	rc, err := chain.Zip(context.Background(), "example.com/hello", "v1.0.0")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(io.Discard, rc); err != nil {
		t.Fatal(err)
	}
	rc.Close()
	if st := h.Stats(); st.State != Healthy || st.Requests != 2 || st.Failures != 1 {
		t.Errorf("after the probe's zip: %+v, want healthy, 2 requests, 1 failure", st)
	}
}
