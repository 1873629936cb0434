package checksum

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/modfetch/modfetch/internal/fixture"
)

// tileTestDB is a database that has signed four records, and answers the
// first one's lookup with the answer it gave when its tree held that
// record alone, as a proxy's cache would.
type tileTestDB struct {
	srv *httptest.Server
	// lastFirst, when set, holds the first record's answer until the last
	// record's lookup has arrived, and the latter's answer until dbWaiting
	// is closed (by the DB, when it waits for that lookup).
	lastFirst bool
	lastSeen  chan struct{}
	dbWaiting chan struct{}

	key      string
	mods     []*fixture.Module
	mu       sync.Mutex
	requests []string
}

func (d *tileTestDB) tileRequests() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	var tiles []string
	for _, p := range d.requests {
		if strings.HasPrefix(p, "/tile/") {
			tiles = append(tiles, strings.TrimPrefix(p, "/tile/"))
		}
	}
	return tiles
}

func newTileTestDB(t *testing.T) *tileTestDB {
	t.Helper()
	set := fixture.Standard()
	sdb := fixture.NewSumDB("sum.example.com", set.GoSumLines)
	live := httptest.NewServer(sdb)
	t.Cleanup(live.Close)
	get := func(p string) []byte {
		resp, err := http.Get(live.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: %s", p, resp.Status)
		}
		return data
	}
	d := &tileTestDB{key: sdb.Key, mods: set.Modules()[:4], lastSeen: make(chan struct{}), dbWaiting: make(chan struct{})}
	paths := make([]string, len(d.mods))
	for i, m := range d.mods {
		paths[i], _ = lookupPath(m.Path, m.Version)
	}
	old := get(paths[0]) // signed by a tree of size 1
	for _, p := range paths[1:] {
		get(p)
	}
	d.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d.mu.Lock()
		d.requests = append(d.requests, r.URL.Path)
		d.mu.Unlock()
		if r.URL.Path == paths[0] {
			if d.lastFirst {
				<-d.lastSeen
			}
			w.Write(old)
			return
		}
		if r.URL.Path == paths[3] && d.lastFirst {
			close(d.lastSeen)
			select {
			case <-d.dbWaiting:
			case <-time.After(10 * time.Second): // the test fails: the DB did not wait
			}
		}
		if t, err := tlog.ParseTilePath(strings.TrimPrefix(r.URL.Path, "/")); err == nil && t.W > 4 {
			http.NotFound(w, r) // wider than the tree
			return
		}
		sdb.ServeHTTP(w, r)
	}))
	t.Cleanup(d.srv.Close)
	return d
}

// TestDBWidensPartialTiles: a DB that has seen a larger tree reads the
// partial tile a smaller tree needs at the larger tree's width, once, and
// answers reads of either width, its own and its callers', from it.
func TestDBWidensPartialTiles(t *testing.T) {
	d := newTileTestDB(t)
	ctx := context.Background()
	db := &DB{timer: instant{}, Key: d.key, URL: d.srv.URL}
	if err := db.init(); err != nil {
		t.Fatal(err)
	}
	// A lookup answer signed by the tree of size 4 arrives first, and is
	// authenticated after the older one (concurrent lookups do this).
	last := d.mods[3]
	p, _ := lookupPath(last.Path, last.Version)
	if _, err := db.currentClient().ReadRemote(p); err != nil {
		t.Fatal(err)
	}
	first := d.mods[0]
	if err := db.Check(ctx, first.Path, first.Version, false, first.ZipSum()); err != nil {
		t.Fatal(err)
	}
	if err := db.Check(ctx, last.Path, last.Version, false, last.ZipSum()); err != nil {
		t.Fatal(err)
	}
	if got := d.tileRequests(); len(got) != 1 || got[0] != "8/0/000.p/4" {
		t.Fatalf("tile requests = %q; want only the widest, 8/0/000.p/4", got)
	}

	// A proxy's client reading the narrower tiles gets prefixes of the
	// wider one, with no request.
	resp, err := http.Get(d.srv.URL + "/tile/8/0/000.p/4")
	if err != nil {
		t.Fatal(err)
	}
	wide, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for w := 1; w <= 4; w++ {
		data, _, err := db.Tile(ctx, "8/0/000.p/"+strconv.Itoa(w))
		if err != nil || !bytes.Equal(data, wide[:w*32]) {
			t.Fatalf("Tile(8/0/000.p/%d) = %x, %v; want %x", w, data, err, wide[:w*32])
		}
	}
	if got := d.tileRequests(); len(got) != 2 {
		t.Fatalf("tile requests = %q; want no more", got)
	}
}

// TestDBNarrowTileFallback: when the wider tile cannot be read, the one
// asked for is.
func TestDBNarrowTileFallback(t *testing.T) {
	d := newTileTestDB(t)
	db := &DB{timer: instant{}, Key: d.key, URL: d.srv.URL}
	if err := db.init(); err != nil {
		t.Fatal(err)
	}
	db.maxTree = 1000 // a tree larger than the database has
	first := d.mods[0]
	if err := db.Check(context.Background(), first.Path, first.Version, false, first.ZipSum()); err != nil {
		t.Fatal(err)
	}
	if got := d.tileRequests(); len(got) != 2 || got[0] != "8/0/000" || got[1] != "8/0/000.p/1" {
		t.Fatalf("tile requests = %q; want the wide one, then the one asked for", got)
	}
}

// TestDBWaitsForConcurrentLookups: when an answer signed by a smaller tree
// is authenticated while a lookup is still being read, its partial tiles
// are read once that lookup's answer has told the larger tree.
func TestDBWaitsForConcurrentLookups(t *testing.T) {
	d := newTileTestDB(t)
	d.lastFirst = true
	// The wait ends when the lookup does, not on a clock.
	db := &DB{timer: instant{}, Key: d.key, URL: d.srv.URL, tileWait: time.Hour}
	var once sync.Once
	db.onTileWait = func() { once.Do(func() { close(d.dbWaiting) }) }
	var wg sync.WaitGroup
	for _, m := range []*fixture.Module{d.mods[0], d.mods[3]} {
		wg.Go(func() {
			if err := db.Check(context.Background(), m.Path, m.Version, false, m.ZipSum()); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if got := d.tileRequests(); len(got) != 1 || got[0] != "8/0/000.p/4" {
		t.Fatalf("tile requests = %q; want only the widest, 8/0/000.p/4", got)
	}
}

// TestDBRereadsTileThatFailed: a wider tile kept for later reads that
// turns out not to authenticate is read again by the next lookup.
func TestDBRereadsTileThatFailed(t *testing.T) {
	d := newTileTestDB(t)
	var corrupt atomic.Bool
	corrupt.Store(true)
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		resp, err := http.Get(d.srv.URL + r.URL.Path)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		if strings.HasPrefix(r.URL.Path, "/tile/8/0/") && corrupt.Swap(false) {
			data[0] ^= 1 // one flipped bit, once
		}
		w.WriteHeader(resp.StatusCode)
		w.Write(data)
	}))
	defer front.Close()
	db := &DB{timer: instant{}, Key: d.key, URL: front.URL}
	if err := db.init(); err != nil {
		t.Fatal(err)
	}
	// Learn of the tree of size 4, so that the first record's tile is
	// read wide and kept.
	last, first := d.mods[3], d.mods[0]
	p, _ := lookupPath(last.Path, last.Version)
	if _, err := db.currentClient().ReadRemote(p); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := db.Check(ctx, first.Path, first.Version, false, first.ZipSum()); err == nil {
		t.Fatal("check with a corrupted tile succeeded")
	}
	if err := db.Check(ctx, first.Path, first.Version, false, first.ZipSum()); err != nil {
		t.Fatalf("check after the corrupted tile: %v", err)
	}
	if err := db.Check(ctx, last.Path, last.Version, false, last.ZipSum()); err != nil {
		t.Fatal(err)
	}
}
