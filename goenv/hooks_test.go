package goenv_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/modfetch/modfetch"
	"github.com/modfetch/modfetch/checksum"
	"github.com/modfetch/modfetch/goenv"
	"github.com/modfetch/modfetch/internal/fixture"
	"github.com/modfetch/modfetch/proxy"
)

// events counts what the hooks were told, by a key per event.
type events struct {
	mu sync.Mutex
	n  map[string]int
}

func (e *events) add(format string, args ...any) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.n == nil {
		e.n = make(map[string]int)
	}
	e.n[fmt.Sprintf(format, args...)]++
}

func (e *events) hooks() *modfetch.Hooks {
	return &modfetch.Hooks{
		UpstreamRequest: func(u modfetch.UpstreamRequest) {
			e.add("upstream %s %d %q", u.Kind, u.Status, u.ErrClass)
			if u.ErrClass == "" && u.Bytes == 0 && u.Kind != modfetch.KindList {
				e.add("upstream %s with no bytes", u.Kind)
			}
		},
		CacheLookup:  func(c modfetch.CacheLookup) { e.add("cache %s %s", c.Kind, c.Result) },
		CacheWrite:   func(c modfetch.CacheWrite) { e.add("write %s %v", c.Kind, c.Err == nil && c.Bytes > 0) },
		Verification: func(v modfetch.Verification) { e.add("verify %s %v", v.Kind, v.Err == nil) },
		ServerRequest: func(s modfetch.ServerRequest) {
			e.add("serve %s %d", s.Kind, s.Status)
			if s.Status == http.StatusOK && s.Bytes == 0 && s.Method == "GET" {
				e.add("serve %s with no bytes", s.Kind)
			}
		},
	}
}

// TestHooks: known traffic through a server over a Stack is reported
// event for event: upstream requests by kind and outcome, cache hits and
// misses, writes, verifications and server requests. (Merged answers:
// cache.TestCacheHooksMerged.)
func TestHooks(t *testing.T) {
	set := fixture.Standard()
	m := set.Module("example.com/hello", "v1.0.0")
	up := httptest.NewServer(&fixture.Server{Set: set})
	defer up.Close()
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	refused := "http://" + ln.Addr().String()
	ln.Close()

	gosum, err := checksum.ParseGoSum("go.sum", must(set.GoSumLines(m.Path, m.Version)))
	if err != nil {
		t.Fatal(err)
	}
	var ev events
	hooks := ev.hooks()
	cfg := &goenv.Config{GOPROXY: refused + "|" + up.URL, GOSUMDB: "off", GOMODCACHE: t.TempDir()}
	stack, err := cfg.Resolver(&goenv.Options{NoDirect: true, Hooks: hooks, GoSum: gosum, MemoryBytes: -1})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(&proxy.Handler{Resolver: stack, Hooks: hooks})
	defer srv.Close()
	get := func(p string) {
		t.Helper()
		resp, err := http.Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	for range 2 { // cold, then warm
		get("/example.com/hello/@v/v1.0.0.info")
		get("/example.com/hello/@v/v1.0.0.mod")
		get("/example.com/hello/@v/v1.0.0.zip")
	}
	get("/example.com/hello/@v/v9.9.9.info") // refused, then not found

	want := map[string]int{
		// The refused mirror before "|" (no breaker here) is asked
		// first by every request that misses the cache.
		`upstream info 0 "connect"`:  2,
		`upstream mod 0 "connect"`:   1,
		`upstream zip 0 "connect"`:   1,
		`upstream info 200 ""`:       1,
		`upstream mod 200 ""`:        1,
		`upstream zip 200 ""`:        1,
		`upstream info 404 "status"`: 1,
		`cache info miss`:            2,
		`cache info hit`:             1,
		`cache mod miss`:             1,
		`cache mod hit`:              1,
		`cache zip miss`:             1,
		`cache zip hit`:              1,
		`write info true`:            1,
		`write mod true`:             1,
		`write zip true`:             1,
		`write other true`:           1, // the zip's hash
		`verify mod true`:            1,
		`verify zip true`:            1,
		`serve info 200`:             2,
		// The go command's rule: the refused mirror's error is more
		// helpful than the 404 after it.
		`serve info 502`: 1,
		`serve mod 200`:  2,
		`serve zip 200`:  2,
	}
	ev.mu.Lock()
	defer ev.mu.Unlock()
	for k, n := range want {
		if ev.n[k] != n {
			t.Errorf("%s: %d events, want %d", k, ev.n[k], n)
		}
	}
	for k, n := range ev.n {
		if _, ok := want[k]; !ok {
			t.Errorf("unexpected event %s (%d)", k, n)
		}
	}
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

// TestContextHooks: hooks in a request's context (modfetch.WithHooks)
// see what that request caused: the cold request its cache miss and its
// upstream requests, the warm one its hit and none.
func TestContextHooks(t *testing.T) {
	set := fixture.Standard()
	up := httptest.NewServer(&fixture.Server{Set: set})
	defer up.Close()
	cfg := &goenv.Config{GOPROXY: up.URL, GOSUMDB: "off", GOMODCACHE: t.TempDir()}
	stack, err := cfg.Resolver(&goenv.Options{NoDirect: true})
	if err != nil {
		t.Fatal(err)
	}
	var perRequest []*events
	h := &proxy.Handler{Resolver: stack}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ev := new(events)
		perRequest = append(perRequest, ev)
		h.ServeHTTP(w, r.WithContext(modfetch.WithHooks(r.Context(), ev.hooks())))
	}))
	defer srv.Close()
	for range 2 {
		resp, err := http.Get(srv.URL + "/example.com/hello/@v/v1.0.0.zip")
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	want := []map[string]int{
		{`upstream zip 200 ""`: 1, "cache zip miss": 1, "write zip true": 1, "write other true": 1, "serve zip 200": 1},
		{"cache zip hit": 1, "serve zip 200": 1},
	}
	for i, ev := range perRequest {
		if fmt.Sprint(ev.n) != fmt.Sprint(want[i]) {
			t.Errorf("request %d: events %v, want %v", i+1, ev.n, want[i])
		}
	}
}
