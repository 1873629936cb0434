package proxy

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modfetch/modfetch"
	"github.com/modfetch/modfetch/cache"
	"github.com/modfetch/modfetch/checksum"
	"github.com/modfetch/modfetch/internal/fixture"
)

// The tests in this file hold Handler.Memory to its contract: a value in
// Memory is served only as the Resolver's path would serve it. Each puts
// a value in a shared directory that a layer reads and rejects (the read
// promotes it into Memory through the Tiered store all the same), then
// asks twice: the second answer, which Memory could give, must be the
// first one's.

// get serves GET p with the header pairs hdr.
func get(h http.Handler, p string, hdr ...string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", p, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	h.ServeHTTP(rec, req)
	return rec
}

// writeFile writes data at dir/key, making its directories.
func writeFile(t *testing.T, dir, key string, data []byte) {
	t.Helper()
	f := filepath.Join(dir, filepath.FromSlash(key))
	if err := os.MkdirAll(filepath.Dir(f), 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(f, data, 0o666); err != nil {
		t.Fatal(err)
	}
}

// sameAnswer fails t unless the answers a and b have the same status,
// body and the headers a client relies on.
func sameAnswer(t *testing.T, what string, a, b *httptest.ResponseRecorder) {
	t.Helper()
	if a.Code != b.Code || a.Body.String() != b.Body.String() {
		t.Errorf("%s: first answer %d %q, second %d %q", what, a.Code, a.Body, b.Code, b.Body)
	}
	for _, k := range []string{"Content-Type", "Cache-Control", "Etag"} {
		if a.Header().Get(k) != b.Header().Get(k) {
			t.Errorf("%s: %s %q, then %q", what, k, a.Header().Get(k), b.Header().Get(k))
		}
	}
}

type errStat struct{ modfetch.Resolver }

func (errStat) Stat(context.Context, string, string) (*modfetch.Info, error) {
	return nil, io.ErrUnexpectedEOF
}

type errGoMod struct{ modfetch.Resolver }

func (errGoMod) GoMod(context.Context, string, string) ([]byte, error) {
	return nil, io.ErrUnexpectedEOF
}

type farFuture struct{ modfetch.Resolver }

func (farFuture) Stat(_ context.Context, _, rev string) (*modfetch.Info, error) {
	return &modfetch.Info{Version: rev, Time: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}, nil
}

type refusePut struct{ cache.Store }

func (refusePut) Put(context.Context, string, io.Reader) error { return errors.New("read-only") }

// TestMemoryModuleFiles covers .info and .mod values that the cache
// rejects or rewrites.
func TestMemoryModuleFiles(t *testing.T) {
	const info = "example.com/hello/@v/v1.0.0.info"
	const mod = "example.com/hello/@v/v1.0.0.mod"
	set := fixture.Standard()
	tests := []struct {
		name   string
		key    string
		stored string // "" for none
		next   func(modfetch.Resolver) modfetch.Resolver
		slow   func(cache.Store) cache.Store
		want   int    // status of both answers
		inBody string // a part of the body of both
	}{
		{
			name:   "info of another version, upstream failing",
			key:    info,
			stored: `{"Version":"v1.9.9","Time":"2024-01-01T00:00:00Z"}`,
			next:   func(r modfetch.Resolver) modfetch.Resolver { return errStat{r} },
			want:   http.StatusBadGateway,
		},
		{
			name:   "info of another version, store refusing the fix",
			key:    info,
			stored: `{"Version":"v1.9.9","Time":"2024-01-01T00:00:00Z"}`,
			slow:   func(s cache.Store) cache.Store { return refusePut{s} },
			want:   http.StatusOK,
			inBody: `"Version":"v1.0.0"`,
		},
		{
			name:   "info as older go commands wrote it",
			key:    info,
			stored: `{"Version":"v1.0.0","Name":"0123456789abcdef","Short":"0123456789ab","Time":"2024-01-01T00:00:00Z"}`,
			want:   http.StatusOK,
			inBody: `"Version":"v1.0.0"`,
		},
		{
			name: "info that JSON cannot encode",
			key:  info,
			next: func(r modfetch.Resolver) modfetch.Resolver { return farFuture{r} },
			want: http.StatusInternalServerError,
		},
		{
			name:   "go.mod synthesised by vgo",
			key:    mod,
			stored: "//vgo 0.0.4\n\nmodule example.com/hello\n",
			next:   func(r modfetch.Resolver) modfetch.Resolver { return errGoMod{r} },
			want:   http.StatusBadGateway,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if tt.stored != "" {
				writeFile(t, dir, tt.key, []byte(tt.stored))
			}
			var next modfetch.Resolver = set
			if tt.next != nil {
				next = tt.next(next)
			}
			var slow cache.Store = &cache.DirStore{Dir: dir}
			if tt.slow != nil {
				slow = tt.slow(slow)
			}
			mem := &cache.MemStore{}
			c := &cache.Cache{Next: next, Store: &cache.Tiered{Fast: mem, Slow: slow}}
			h := &Handler{Resolver: c, Memory: mem}
			first, second := get(h, "/"+tt.key), get(h, "/"+tt.key)
			if first.Code != tt.want {
				t.Errorf("first answer %d %q, want %d", first.Code, first.Body, tt.want)
			}
			if !strings.Contains(first.Body.String(), tt.inBody) {
				t.Errorf("first answer %q, want it to contain %q", first.Body, tt.inBody)
			}
			sameAnswer(t, tt.key, first, second)
			if strings.Contains(second.Body.String(), "Short") || second.Code == http.StatusOK && second.Body.Len() == 0 {
				t.Errorf("second answer %q", second.Body)
			}
			// A Range request takes the Resolver's path: the same bytes.
			ranged := get(h, "/"+tt.key, "Range", "bytes=0-")
			if tt.want == http.StatusOK && (ranged.Code != http.StatusPartialContent || ranged.Body.String() != first.Body.String()) {
				t.Errorf("Range answer %d %q, want 206 %q", ranged.Code, ranged.Body, first.Body)
			}
		})
	}
}

// TestMemorySumDBData covers checksum database data in the shared
// directory that the DB does not vouch for.
func TestMemorySumDBData(t *testing.T) {
	const lookup = "sumdb/sum.example.com/lookup/example.com/hello@v1.0.0"
	set := fixture.Standard()
	sdb := fixture.NewSumDB("sum.example.com", set.GoSumLines)
	dbsrv := httptest.NewServer(sdb)
	defer dbsrv.Close()
	fork := httptest.NewServer(fixture.NewSumDB("sum.example.com", set.GoSumLines)) // same name, other key
	defer fork.Close()
	fetch := func(srv *httptest.Server, p string) []byte {
		resp, err := http.Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		data, err := io.ReadAll(resp.Body)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("GET %s: %d %v", p, resp.StatusCode, err)
		}
		return data
	}
	record := fetch(dbsrv, "/lookup/example.com/hello@v1.0.0")
	forged := fetch(fork, "/lookup/example.com/hello@v1.0.0")

	tests := []struct {
		name   string
		key    string
		stored []byte
		ok     bool // whether the DB reads the server's instead
	}{
		// A stored record that does not verify is an error, as in the go
		// command (x/mod's client does not read the record again).
		{"lookup signed by another key", lookup, forged, false},
		{"lookup cut short", lookup, record[:60], false},
		// The server's log has one record, the lookup above: one hash.
		{"tile of a length that is no hash's", "sumdb/sum.example.com/tile/8/0/000.p/1", make([]byte, 33), true},
		{"tile of two hashes for a width of one", "sumdb/sum.example.com/tile/8/0/000.p/1", make([]byte, 64), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, dir, tt.key, tt.stored)
			mem := &cache.MemStore{}
			db := &checksum.DB{Key: sdb.Key, URL: dbsrv.URL, Store: &cache.Tiered{Fast: mem, Slow: &cache.DirStore{Dir: dir}}}
			h := &Handler{Resolver: set, SumDBs: []*checksum.DB{db}, Memory: mem}
			first, second := get(h, "/"+tt.key), get(h, "/"+tt.key)
			if (first.Code == http.StatusOK) != tt.ok || first.Body.String() == string(tt.stored) {
				t.Errorf("first answer %d %q", first.Code, first.Body)
			}
			sameAnswer(t, tt.key, first, second)
			if second.Code == http.StatusOK && second.Header().Get("Cache-Control") == immutable && string(tt.stored) == second.Body.String() {
				t.Errorf("the stored %d bytes served as verified", len(tt.stored))
			}
		})
	}

}

// TestMemoryMisbehavedDB checks that a checksum database that saw a
// security error (here the tree of a server holding the same key that
// rolls the log back) serves nothing from Memory, not even what it
// verified before.
func TestMemoryMisbehavedDB(t *testing.T) {
	const hello = "/sumdb/sum.example.com/lookup/example.com/hello@v1.0.0"
	set := fixture.Standard()
	skey, vkey := fixture.GenerateKey("sum.example.com")
	honest := fixture.NewSumDBWithKey("sum.example.com", skey, vkey, set.GoSumLines)
	evil := fixture.NewSumDBWithKey("sum.example.com", skey, vkey, set.GoSumLines)
	var current atomic.Pointer[fixture.SumDB]
	current.Store(honest)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		current.Load().ServeHTTP(w, r)
	}))
	defer srv.Close()

	mem := &cache.MemStore{}
	db := &checksum.DB{Key: vkey, URL: srv.URL, Store: &cache.Tiered{Fast: mem, Slow: &cache.DirStore{Dir: t.TempDir()}}}
	h := &Handler{Resolver: set, SumDBs: []*checksum.DB{db}, Memory: mem}
	for _, p := range []string{hello, "/sumdb/sum.example.com/lookup/example.com/hello@v1.1.0"} {
		if r := get(h, p); r.Code != http.StatusOK {
			t.Fatalf("%s: %d %q", p, r.Code, r.Body)
		}
	}
	if _, ok := mem.Get(context.Background(), hello[1:]); ok != nil {
		t.Fatalf("the verified lookup is not in Memory: %v", ok)
	}
	if r := get(h, hello); r.Code != http.StatusOK || r.Header().Get("Cache-Control") != immutable {
		t.Fatalf("before: %d %q", r.Code, r.Header().Get("Cache-Control"))
	}

	current.Store(evil) // a log of one record, not a prefix of the honest one
	if r := get(h, "/sumdb/sum.example.com/lookup/example.com/nomod@v1.0.0"); r.Code == http.StatusOK {
		t.Fatalf("a rolled-back log's lookup served: %d %q", r.Code, r.Body)
	}
	if !db.Misbehaved() {
		t.Fatal("Misbehaved() = false after a rolled-back log")
	}
	if r := get(h, hello); r.Code == http.StatusOK && r.Header().Get("Cache-Control") == immutable {
		t.Errorf("served as verified after the database misbehaved: %d %q", r.Code, r.Body)
	}
}

// TestMemoryHeaders checks that answers from Memory carry the headers of
// the Resolver's path for lookups whose paths look like other kinds, and
// that preconditions Memory does not evaluate take the Resolver's path.
func TestMemoryHeaders(t *testing.T) {
	set := fixture.Standard()
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	set.Add("example.com/tile/x", "v1.0.0", map[string]string{"x.go": "package x"}, t0)
	set.Add("example.com/m", "v1.0.0-pre.info", map[string]string{"m.go": "package m"}, t0)
	sdb := fixture.NewSumDB("sum.example.com", set.GoSumLines)
	dbsrv := httptest.NewServer(sdb)
	defer dbsrv.Close()
	mem := &cache.MemStore{}
	db := &checksum.DB{Key: sdb.Key, URL: dbsrv.URL, Store: &cache.Tiered{Fast: mem, Slow: &cache.DirStore{Dir: t.TempDir()}}}
	h := &Handler{Resolver: set, SumDBs: []*checksum.DB{db}, Memory: mem}
	plain := &Handler{Resolver: set, SumDBs: []*checksum.DB{db}}
	paths := []string{
		"/sumdb/sum.example.com/lookup/example.com/tile/x@v1.0.0",
		"/sumdb/sum.example.com/lookup/example.com/m@v1.0.0-pre.info",
	}
	for _, p := range paths {
		first, second := get(h, p), get(h, p)
		if first.Code != http.StatusOK {
			t.Fatalf("%s: %d %q", p, first.Code, first.Body)
		}
		sameAnswer(t, p, first, second)
		if ct := second.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
			t.Errorf("%s: Content-Type %q", p, ct)
		}
		for _, hdr := range [][]string{
			{"If-Match", `"nope"`},
			{"If-Unmodified-Since", "Mon, 01 Jan 2001 00:00:00 GMT"},
			{"If-Range", `"nope"`, "Range", "bytes=0-1"},
		} {
			mr, pr := get(h, p, hdr...), get(plain, p, hdr...)
			if mr.Code != pr.Code || mr.Body.String() != pr.Body.String() {
				t.Errorf("%s with %v: %d %q with Memory, %d %q without", p, hdr, mr.Code, mr.Body, pr.Code, pr.Body)
			}
		}
	}
}
