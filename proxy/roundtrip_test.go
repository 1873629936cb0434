package proxy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modfetch/modfetch"
	"github.com/modfetch/modfetch/cache"
	"github.com/modfetch/modfetch/checksum"
	"github.com/modfetch/modfetch/internal/fixture"
	"github.com/modfetch/modfetch/upstream"
)

// TestRoundTrip: an upstream.Proxy pointed at a Handler gives the same
// answers as the Resolver behind it, for every endpoint and error class.
func TestRoundTrip(t *testing.T) {
	set := fixture.Standard()
	set.Revs = map[string]string{"example.com/hello@main": "v1.1.0", "example.com/nomod@v2.0.0": "v2.0.0+incompatible"}
	set.LatestVersion = map[string]string{"example.com/hello": "v1.1.0"}
	pseudo := "v0.0.0-20240601000000-abcdefabcdef"
	set.Add("example.com/pseudo", pseudo, map[string]string{"p.go": "package p"}, time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC))
	// (Without an @latest answer the client derives one from the list; the
	// upstream tests cover that. Here both sides must answer alike.)
	set.LatestVersion["example.com/pseudo"] = pseudo

	srv := httptest.NewServer(&Handler{Resolver: set})
	defer srv.Close()
	client := &upstream.Proxy{URL: srv.URL, Retry: modfetch.Retry{Attempts: 1}}
	ctx := context.Background()

	type answer struct {
		val      any
		notFound bool
		failed   bool
	}
	classify := func(v any, err error) answer {
		if err != nil {
			return answer{notFound: errors.Is(err, fs.ErrNotExist), failed: !errors.Is(err, fs.ErrNotExist)}
		}
		if rc, ok := v.(io.ReadCloser); ok {
			data, err := io.ReadAll(rc)
			rc.Close()
			if err != nil {
				return answer{failed: true}
			}
			return answer{val: data}
		}
		return answer{val: v}
	}
	calls := map[string]func(r modfetch.Resolver) answer{}
	for _, path := range []string{"example.com/hello", "example.com/Upper/Case", "example.com/nomod", "example.com/major/v2", "gopkg.in/fixture.v1", "example.com/pseudo", "example.com/missing"} {
		calls["List "+path] = func(r modfetch.Resolver) answer { return classify(r.List(ctx, path)) }
		calls["Latest "+path] = func(r modfetch.Resolver) answer { return classify(r.Latest(ctx, path)) }
	}
	for _, mv := range [][2]string{
		{"example.com/hello", "v1.0.0"}, {"example.com/hello", "main"}, {"example.com/hello", "v1.9.9"},
		{"example.com/Upper/Case", "v1.0.0-RC1"}, {"example.com/nomod", "v2.0.0+incompatible"},
		{"example.com/nomod", "v2.0.0"}, {"example.com/major/v2", "v2.1.0"}, {"gopkg.in/fixture.v1", "v1.0.0"},
		{"example.com/pseudo", pseudo}, {"example.com/missing", "v1.0.0"},
	} {
		path, v := mv[0], mv[1]
		calls["Stat "+path+"@"+v] = func(r modfetch.Resolver) answer { return classify(r.Stat(ctx, path, v)) }
		if modfetch.IsCanonical(v) {
			calls["GoMod "+path+"@"+v] = func(r modfetch.Resolver) answer { return classify(r.GoMod(ctx, path, v)) }
			calls["Zip "+path+"@"+v] = func(r modfetch.Resolver) answer { return classify(r.Zip(ctx, path, v)) }
		}
	}
	for name, call := range calls {
		direct, viaProxy := call(set), call(client)
		if !reflect.DeepEqual(direct, viaProxy) {
			t.Errorf("%s:\n  resolver: %+v\n  through the handler: %+v", name, direct, viaProxy)
		}
	}

	// Failures behind the handler stay failures (not "not found"), and
	// not-found stays not-found, whatever the endpoint.
	for _, tt := range []struct {
		err      error
		notFound bool
	}{
		{&modfetch.HTTPError{URL: "https://x", Status: "503 Service Unavailable", StatusCode: 503}, false},
		{&modfetch.HTTPError{URL: "https://x", Status: "404 Not Found", StatusCode: 404}, true},
		{&checksum.MismatchError{Path: "example.com/m", Version: "v1.0.0", Got: "h1:a", Want: "h1:b", Source: "go.sum"}, false},
	} {
		srv := httptest.NewServer(&Handler{Resolver: failing{tt.err}})
		c := &upstream.Proxy{URL: srv.URL, Retry: modfetch.Retry{Attempts: 1}}
		_, err := c.GoMod(ctx, "example.com/m", "v1.0.0")
		if err == nil || errors.Is(err, fs.ErrNotExist) != tt.notFound {
			t.Errorf("%v through the handler: %v", tt.err, err)
		}
		srv.Close()
	}
}

// TestOneUpstreamRequest: concurrent requests for one uncached zip cause
// one upstream zip request; a cold .mod or .info request causes no zip
// request.
func TestOneUpstreamRequest(t *testing.T) {
	set := fixture.Standard()
	origin := &fixture.Server{Set: set}
	var gate sync.WaitGroup
	gate.Add(1)
	origin.Fault = func(w http.ResponseWriter, r *http.Request) bool {
		if strings.HasSuffix(r.URL.Path, ".zip") {
			gate.Wait() // hold the zip until every client has asked
		}
		return false
	}
	osrv := httptest.NewServer(origin)
	defer osrv.Close()
	h := &Handler{Resolver: &cache.Cache{
		Next:  &checksum.Verify{Next: &upstream.Proxy{URL: osrv.URL}},
		Store: &cache.DirStore{Dir: t.TempDir()},
	}}
	var arrived atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived.Add(1)
		h.ServeHTTP(w, r)
	}))
	defer srv.Close()

	m := set.Module("example.com/hello", "v1.1.0")
	const n = 64
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := http.Get(srv.URL + "/example.com/hello/@v/v1.1.0.zip")
			if err != nil {
				errs <- err
				return
			}
			data, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || resp.StatusCode != 200 || !bytes.Equal(data, m.Zip) {
				errs <- fmt.Errorf("status %d, %d bytes, %v", resp.StatusCode, len(data), err)
			}
		}()
	}
	// Every client is in the handler while the upstream holds the zip.
	fixture.WaitFor(t, "every client to ask", func() bool { return arrived.Load() == n })
	gate.Done()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if got := origin.Hits("/example.com/hello/@v/v1.1.0.zip"); got != 1 {
		t.Fatalf("%d clients caused %d upstream zip requests", n, got)
	}

	// Cold .mod and .info: no zip.
	origin.Reset()
	for _, p := range []string{"/example.com/hello/@v/v1.0.0.mod", "/example.com/hello/@v/v1.0.0.info"} {
		resp, err := http.Get(srv.URL + p)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("%s: %v %v", p, resp, err)
		}
		resp.Body.Close()
	}
	for _, p := range origin.Requests() {
		if strings.HasSuffix(p, ".zip") {
			t.Fatalf("a .mod or .info request fetched a zip: %v", origin.Requests())
		}
	}
	if origin.Hits("/example.com/hello/@v/v1.0.0.mod") != 1 || origin.Hits("/example.com/hello/@v/v1.0.0.info") != 1 {
		t.Fatalf("upstream requests: %v", origin.Requests())
	}
}

// TestSumDBProxying serves a checksum database through the Handler, with
// and without a Store the DB shares (whose answers the Handler serves
// without asking the DB).
func TestSumDBProxying(t *testing.T) {
	for _, withStore := range []bool{false, true} {
		t.Run(fmt.Sprintf("store=%v", withStore), func(t *testing.T) { testSumDBProxying(t, withStore) })
	}
}

func testSumDBProxying(t *testing.T, withStore bool) {
	set := fixture.Standard()
	sdb := fixture.NewSumDB("sum.example.com", set.GoSumLines)
	dbsrv := httptest.NewServer(sdb)
	defer dbsrv.Close()
	mem := &cache.MemStore{}
	db := &checksum.DB{Key: sdb.Key, URL: dbsrv.URL, Store: &cache.Tiered{Fast: mem, Slow: &cache.DirStore{Dir: t.TempDir()}}, StateDir: t.TempDir(), NoSumDB: "example.com/private,*.corp.example"}
	h := &Handler{Resolver: set, SumDBs: []*checksum.DB{db}}
	if withStore {
		h.Memory = mem
	}
	srv := httptest.NewServer(h)
	defer srv.Close()

	get := func(p string) (int, string, string) {
		resp, err := http.Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(data), resp.Header.Get("Cache-Control")
	}
	if code, _, _ := get("/sumdb/sum.example.com/supported"); code != 200 {
		t.Fatalf("supported: %d", code)
	}
	if code, _, _ := get("/sumdb/sum.golang.org/supported"); code != 404 {
		t.Fatalf("unknown database supported: %d", code)
	}
	m := set.Module("example.com/Upper/Case", "v1.0.0-RC1")
	var first string
	for i := range 2 {
		code, lookup, cc := get("/sumdb/sum.example.com/lookup/example.com/!upper/!case@v1.0.0-!r!c1")
		if code != 200 || !strings.Contains(lookup, "example.com/Upper/Case v1.0.0-RC1 "+m.ZipSum()) || cc != immutable {
			t.Fatalf("lookup #%d: %d %q %q", i+1, code, lookup, cc)
		}
		if i == 0 {
			first = lookup
		} else if lookup != first {
			t.Fatalf("lookup #2 differs from #1:\n%s\n%s", lookup, first)
		}
	}
	if n := sdb.Lookups("/lookup/"); n != 1 {
		t.Fatalf("%d lookups reached the database, want 1", n)
	}
	// A client verifying through the proxy succeeds, reading the tiles the
	// proxy's DB authenticated.
	before := sdb.Lookups("/tile/")
	client := &checksum.DB{Key: sdb.Key, URL: srv.URL + "/sumdb/sum.example.com"}
	if err := client.Check(context.Background(), m.Path, m.Version, false, m.ZipSum()); err != nil {
		t.Fatal(err)
	}
	if after := sdb.Lookups("/tile/"); after != before {
		t.Fatalf("tiles read from the database again (%d -> %d): the verified ones should be served", before, after)
	}
	if code, _, _ := get("/sumdb/sum.example.com/tile/8/0/000.p/1"); code != 200 {
		t.Fatalf("tile: %d", code)
	}
	// Private modules are refused without contacting the database.
	lookupsBefore := sdb.Lookups("/lookup/")
	for _, p := range []string{"example.com/private/x@v1.0.0", "git.corp.example/a@v1.0.0"} {
		if code, body, _ := get("/sumdb/sum.example.com/lookup/" + p); code != 404 || !strings.Contains(body, "GONOSUMDB") {
			t.Fatalf("private lookup %s: %d %q", p, code, body)
		}
	}
	if sdb.Lookups("/lookup/") != lookupsBefore {
		t.Fatal("a private lookup reached the database")
	}
	// A module the database does not know is not found, like at the
	// database itself, not a gateway failure.
	if code, body, _ := get("/sumdb/sum.example.com/lookup/example.com/unknown@v1.0.0"); code != 404 {
		t.Fatalf("unknown module lookup: %d %q", code, body)
	}
	// A nil database in the list is ignored.
	hn := &Handler{Resolver: set, SumDBs: []*checksum.DB{nil, db}}
	for p, want := range map[string]int{"/sumdb/sum.example.com/supported": 200, "/sumdb/sum.golang.org/supported": 404} {
		rec := httptest.NewRecorder()
		hn.ServeHTTP(rec, httptest.NewRequest("GET", p, nil))
		if rec.Code != want {
			t.Fatalf("with a nil database, %s: %d, want %d", p, rec.Code, want)
		}
	}
	for _, bad := range []string{"/sumdb/sum.example.com/lookup/nope", "/sumdb/sum.example.com/tile/../../etc/passwd", "/sumdb/sum.example.com/other", "/sumdb/"} {
		if code, _, _ := get(bad); code != 404 {
			t.Fatalf("%s: %d", bad, code)
		}
	}
}
