package proxy

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modfetch/modfetch/cache"
	"github.com/modfetch/modfetch/checksum"
	"github.com/modfetch/modfetch/internal/fixture"
	"github.com/modfetch/modfetch/upstream"
)

// holding serves h's answers, but holds the zip at zipPath after its
// first 16 KiB until release is closed, like a distant upstream in the
// middle of a transfer.
func holding(h http.Handler, zipPath string, release <-chan struct{}) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != zipPath {
			h.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		body := rec.Body.Bytes()
		w.Write(body[:16<<10])
		w.(http.Flusher).Flush()
		<-release
		w.Write(body[16<<10:])
	})
}

// TestColdZipStreams: a cold zip larger than the held-back tail goes
// through a write-behind cache to several clients at once, from one
// upstream request, and lands in the store; a poisoned one fails every
// client and lands nowhere.
func TestColdZipStreams(t *testing.T) {
	genuine := new(fixture.Set)
	served := new(fixture.Set)
	for _, s := range []*fixture.Set{genuine, served} {
		s.Add("example.com/big", "v1.0.0", map[string]string{"go.mod": "module example.com/big\n", "blob.bin": fixture.Noise(600 << 10)}, fixture.Day(1))
	}
	// The upstream serves a different v1.1.0 than the database vouches for.
	genuine.Add("example.com/big", "v1.1.0", map[string]string{"go.mod": "module example.com/big\n", "blob.bin": fixture.Noise(500 << 10)}, fixture.Day(2))
	served.Add("example.com/big", "v1.1.0", map[string]string{"go.mod": "module example.com/big\n", "blob.bin": fixture.Noise(500<<10) + "evil"}, fixture.Day(2))

	sdb := fixture.NewSumDB("sum.example.com", genuine.GoSumLines)
	dbsrv := httptest.NewServer(sdb)
	defer dbsrv.Close()
	origin := &fixture.Server{Set: served}
	release := make(chan struct{})
	osrv := httptest.NewServer(holding(origin, "/example.com/big/@v/v1.0.0.zip", release))
	defer osrv.Close()

	store := &cache.DirStore{Dir: t.TempDir()}
	wb := &cache.WriteBehind{Next: store}
	c := &cache.Cache{
		Next:  &checksum.Verify{Next: &upstream.Proxy{URL: osrv.URL}, DB: &checksum.DB{Key: sdb.Key, URL: dbsrv.URL}},
		Store: wb,
	}
	var arrived atomic.Int32
	h := &Handler{Resolver: c}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived.Add(1)
		h.ServeHTTP(w, r)
	}))
	defer srv.Close()

	fetch := func(version string) ([]byte, error) {
		resp, err := http.Get(srv.URL + "/example.com/big/@v/" + version + ".zip")
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		data, err := io.ReadAll(resp.Body)
		if err == nil && resp.StatusCode != 200 {
			err = fmt.Errorf("%s", resp.Status)
		}
		return data, err
	}
	want := genuine.Module("example.com/big", "v1.0.0").Zip
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			data, err := fetch("v1.0.0")
			if err != nil || !bytes.Equal(data, want) {
				t.Errorf("client got %d bytes, %v; want the %d-byte zip", len(data), err, len(want))
			}
		}()
	}
	// Every client is in the handler while the upstream holds the zip.
	fixture.WaitFor(t, "every client to ask", func() bool { return arrived.Load() == 4 })
	close(release)
	wg.Wait()
	if n := origin.Hits("/example.com/big/@v/v1.0.0.zip"); n != 1 {
		t.Errorf("upstream zip requests = %d, want 1", n)
	}
	// The store has it, with its hash, once the background write ends.
	ctx := context.Background()
	if err := wb.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	rc, err := store.Get(ctx, "example.com/big/@v/v1.0.0.ziphash")
	if err != nil {
		t.Fatalf("zip hash not stored: %v", err)
	}
	sum, _ := io.ReadAll(rc)
	rc.Close()
	if string(sum) != genuine.Module("example.com/big", "v1.0.0").ZipSum() {
		t.Fatalf("ziphash = %q", sum)
	}

	// Poisoned: every client fails (an aborted stream or a 502), none gets
	// the whole zip, and nothing is stored.
	bad := served.Module("example.com/big", "v1.1.0").Zip
	for range 2 {
		data, err := fetch("v1.1.0")
		if err == nil {
			t.Fatal("poisoned zip delivered without error")
		}
		if bytes.Equal(data, bad) {
			t.Fatal("client received the whole unverified zip")
		}
		if len(data) > len(bad)-checksum.ZipHold {
			t.Fatalf("client received %d of %d bytes: more than all but the held-back tail", len(data), len(bad))
		}
	}
	if err := wb.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"example.com/big/@v/v1.1.0.zip", "example.com/big/@v/v1.1.0.ziphash"} {
		if rc, err := store.Get(ctx, key); err == nil {
			rc.Close()
			t.Fatalf("%s stored", key)
		}
	}
	if !strings.Contains(fmt.Sprint(origin.Requests()), "v1.1.0.zip") {
		t.Fatal("poisoned zip never requested")
	}
}

// TestMemoryStaysFlat: serving a large zip, cold (downloaded, verified,
// stored and streamed at once) or warm, allocates far less than its size.
func TestMemoryStaysFlat(t *testing.T) {
	// 4 MiB: enough for a whole zip held in memory to stand out from the
	// buffers of the transfer, cheap enough for every run.
	const size = 4 << 20
	set := new(fixture.Set)
	m := set.Add("example.com/huge", "v1.0.0", map[string]string{"go.mod": "module example.com/huge\n", "blob.bin": fixture.Noise(size)}, fixture.Day(1))
	sdb := fixture.NewSumDB("sum.example.com", set.GoSumLines)
	dbsrv := httptest.NewServer(sdb)
	defer dbsrv.Close()
	osrv := httptest.NewServer(&fixture.Server{Set: set})
	defer osrv.Close()
	wb := &cache.WriteBehind{Next: &cache.DirStore{Dir: t.TempDir()}}
	c := &cache.Cache{
		Next:  &checksum.Verify{Next: &upstream.Proxy{URL: osrv.URL}, DB: &checksum.DB{Key: sdb.Key, URL: dbsrv.URL}},
		Store: wb,
	}
	srv := httptest.NewServer(&Handler{Resolver: c})
	defer srv.Close()
	// The fixture server itself holds the zip in memory; measure only the
	// proxy's side by counting allocations during the transfers.
	for _, phase := range []string{"cold", "warm"} {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		resp, err := http.Get(srv.URL + "/example.com/huge/@v/v1.0.0.zip")
		if err != nil {
			t.Fatal(err)
		}
		n, err := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err != nil || n != int64(len(m.Zip)) {
			t.Fatalf("%s: read %d of %d bytes: %v", phase, n, len(m.Zip), err)
		}
		runtime.ReadMemStats(&after)
		// The background store write ends before the warm request.
		if err := wb.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
		// The test's client and the fixture upstream copy the bytes too;
		// allow them a few buffers, not the zip.
		alloc := after.TotalAlloc - before.TotalAlloc
		t.Logf("%s: %d MiB zip, %.1f MiB allocated", phase, len(m.Zip)>>20, float64(alloc)/(1<<20))
		if alloc > uint64(len(m.Zip))/2 {
			t.Fatalf("%s: allocated %d bytes serving a %d-byte zip", phase, alloc, len(m.Zip))
		}
	}
}

// TestClientLeavingEndsWait: a client that leaves while its zip is still
// downloading does not keep its handler waiting for the upstream.
func TestClientLeavingEndsWait(t *testing.T) {
	set := new(fixture.Set)
	set.Add("example.com/big", "v1.0.0", map[string]string{"go.mod": "module example.com/big\n", "blob.bin": fixture.Noise(600 << 10)}, fixture.Day(1))
	zip := set.Module("example.com/big", "v1.0.0").Zip
	release := make(chan struct{})
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write(zip[:200<<10])
		w.(http.Flusher).Flush()
		<-release // the rest never comes while the test runs
	}))
	defer up.Close()
	defer close(release) // before up.Close, which waits for the handler
	h := &Handler{Resolver: &checksum.Verify{Next: &upstream.Proxy{URL: up.URL}}}
	returned := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer close(returned)
		h.ServeHTTP(w, r)
	}))
	defer srv.Close()

	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/example.com/big/@v/v1.0.0.zip", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(resp.Body, make([]byte, 100<<10)); err != nil {
		t.Fatal(err)
	}
	cancel()
	resp.Body.Close()
	select {
	case <-returned:
	case <-time.After(10 * time.Second):
		t.Fatal("handler still waiting for the upstream after its client left")
	}
}
