package cache

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	modzip "golang.org/x/mod/zip"

	"github.com/modfetch/modfetch"
	"github.com/modfetch/modfetch/internal/fixture"
)

// counting wraps a Resolver, counting calls per operation, and can make
// calls fail or wait.
type counting struct {
	modfetch.Resolver
	mu    sync.Mutex
	calls map[string]int
	fail  func(op string) error // nil: no failure
	gate  chan struct{}         // when set, calls wait for it to be closed
	ctxs  []context.Context
}

func (c *counting) enter(ctx context.Context, op string) error {
	c.mu.Lock()
	if c.calls == nil {
		c.calls = make(map[string]int)
	}
	c.calls[op]++
	c.ctxs = append(c.ctxs, ctx)
	fail, gate := c.fail, c.gate
	c.mu.Unlock()
	if gate != nil {
		<-gate
	}
	if fail != nil {
		return fail(op)
	}
	return nil
}

func (c *counting) n(op string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls[op]
}

func (c *counting) List(ctx context.Context, path string) ([]string, error) {
	if err := c.enter(ctx, "list"); err != nil {
		return nil, err
	}
	return c.Resolver.List(ctx, path)
}
func (c *counting) Stat(ctx context.Context, path, rev string) (*modfetch.Info, error) {
	if err := c.enter(ctx, "stat"); err != nil {
		return nil, err
	}
	return c.Resolver.Stat(ctx, path, rev)
}
func (c *counting) Latest(ctx context.Context, path string) (*modfetch.Info, error) {
	if err := c.enter(ctx, "latest"); err != nil {
		return nil, err
	}
	return c.Resolver.Latest(ctx, path)
}
func (c *counting) GoMod(ctx context.Context, path, version string) ([]byte, error) {
	if err := c.enter(ctx, "mod"); err != nil {
		return nil, err
	}
	return c.Resolver.GoMod(ctx, path, version)
}
func (c *counting) Zip(ctx context.Context, path, version string) (io.ReadCloser, error) {
	if err := c.enter(ctx, "zip"); err != nil {
		return nil, err
	}
	return c.Resolver.Zip(ctx, path, version)
}

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newTestCache(set *fixture.Set) (*Cache, *counting, *clock, *MemStore) {
	next := &counting{Resolver: set}
	clk := &clock{t: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	store := &MemStore{}
	c := &Cache{Next: next, Store: store, now: clk.now}
	return c, next, clk, store
}

// reader returns a function that reads a whole (reader, error) result.
func reader(t *testing.T) func(io.ReadCloser, error) []byte {
	return func(rc io.ReadCloser, err error) []byte {
		t.Helper()
		return readAll(t, rc, err)
	}
}

func readAll(t *testing.T, rc io.ReadCloser, err error) []byte {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestCacheImmutableForever(t *testing.T) {
	set := fixture.Standard()
	c, next, clk, store := newTestCache(set)
	ctx := context.Background()
	m := set.Module("example.com/Upper/Case", "v1.0.0-RC1")
	for i := range 3 {
		info, err := c.Stat(ctx, m.Path, m.Version)
		if err != nil || info.Version != m.Version {
			t.Fatalf("Stat = %v, %v", info, err)
		}
		mod, err := c.GoMod(ctx, m.Path, m.Version)
		if err != nil || !bytes.Equal(mod, m.Mod) {
			t.Fatalf("GoMod = %q, %v", mod, err)
		}
		if z := reader(t)(c.Zip(ctx, m.Path, m.Version)); !bytes.Equal(z, m.Zip) {
			t.Fatal("zip differs")
		}
		clk.add(365 * 24 * time.Hour * time.Duration(i+1))
	}
	for _, op := range []string{"stat", "mod", "zip"} {
		if n := next.n(op); n != 1 {
			t.Errorf("Next.%s called %d times, want 1", op, n)
		}
	}
	// Stored in the go command's layout, with the zip's hash.
	for key, want := range map[string]string{
		"example.com/!upper/!case/@v/v1.0.0-!r!c1.info":    `{"Version":"v1.0.0-RC1","Time":"2024-03-01T10:00:00Z"}`,
		"example.com/!upper/!case/@v/v1.0.0-!r!c1.mod":     string(m.Mod),
		"example.com/!upper/!case/@v/v1.0.0-!r!c1.ziphash": m.ZipSum(),
	} {
		got := reader(t)(store.Get(ctx, key))
		if string(got) != want {
			t.Errorf("%s = %q, want %q", key, got, want)
		}
	}
	if s := c.Sum(ctx, m.Path, m.Version); s != m.ZipSum() {
		t.Errorf("Sum = %q", s)
	}
}

func TestCacheMutableTTL(t *testing.T) {
	set := fixture.Standard()
	set.LatestVersion = map[string]string{"example.com/hello": "v1.1.0"}
	set.Revs = map[string]string{"example.com/hello@main": "v1.1.0"}
	ctx := context.Background()
	ops := []struct {
		op   string
		call func(c *Cache) error
	}{
		{"list", func(c *Cache) error {
			l, err := c.List(ctx, "example.com/hello")
			if err == nil && strings.Join(l, " ") != "v1.0.0 v1.1.0" {
				err = fmt.Errorf("list = %v", l)
			}
			return err
		}},
		{"latest", func(c *Cache) error {
			i, err := c.Latest(ctx, "example.com/hello")
			if err == nil && i.Version != "v1.1.0" {
				err = fmt.Errorf("latest = %v", i)
			}
			return err
		}},
		{"stat", func(c *Cache) error {
			i, err := c.Stat(ctx, "example.com/hello", "main")
			if err == nil && i.Version != "v1.1.0" {
				err = fmt.Errorf("main = %v", i)
			}
			return err
		}},
	}
	for _, tt := range []struct {
		name  string
		ttl   time.Duration
		steps []time.Duration // clock advance before each call
		calls int             // Next calls expected
	}{
		{"default ttl reuses", 0, []time.Duration{0, 30 * time.Second, 20 * time.Second}, 1},
		{"default ttl expires", 0, []time.Duration{0, 61 * time.Second}, 2},
		{"custom ttl", 10 * time.Second, []time.Duration{0, 5 * time.Second, 6 * time.Second, time.Second}, 2},
		{"negative ttl never reuses", -1, []time.Duration{0, 0, 0}, 3},
	} {
		for _, op := range ops {
			t.Run(tt.name+"/"+op.op, func(t *testing.T) {
				c, next, clk, _ := newTestCache(set)
				c.MutableTTL = tt.ttl
				for _, d := range tt.steps {
					clk.add(d)
					if err := op.call(c); err != nil {
						t.Fatal(err)
					}
				}
				if n := next.n(op.op); n != tt.calls {
					t.Fatalf("Next.%s called %d times, want %d", op.op, n, tt.calls)
				}
			})
		}
	}

	// A branch's answer is also stored under the version it resolves to,
	// where it is immutable.
	c, next, _, _ := newTestCache(set)
	if _, err := c.Stat(ctx, "example.com/hello", "main"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Stat(ctx, "example.com/hello", "v1.1.0"); err != nil {
		t.Fatal(err)
	}
	if n := next.n("stat"); n != 1 {
		t.Fatalf("Next.Stat called %d times", n)
	}
}

func TestCacheNotFound(t *testing.T) {
	set := fixture.Standard()
	c, next, clk, store := newTestCache(set)
	ctx := context.Background()
	check := func(want int) {
		t.Helper()
		for _, f := range []func() error{
			func() error { _, err := c.GoMod(ctx, "example.com/hello", "v1.9.0"); return err },
			func() error { _, err := c.Zip(ctx, "example.com/hello", "v1.9.0"); return err },
			func() error { _, err := c.Stat(ctx, "example.com/hello", "v1.9.0"); return err },
			func() error { _, err := c.List(ctx, "example.com/nothing"); return err },
			func() error { _, err := c.Latest(ctx, "example.com/hello"); return err },
		} {
			if err := f(); !errors.Is(err, fs.ErrNotExist) {
				t.Fatalf("err = %v", err)
			}
		}
		for _, op := range []string{"mod", "zip", "stat", "list", "latest"} {
			if n := next.n(op); n != want {
				t.Fatalf("Next.%s called %d times, want %d", op, n, want)
			}
		}
	}
	check(1)
	clk.add(29 * time.Second)
	check(1) // remembered
	clk.add(2 * time.Second)
	check(2) // forgotten after NotFoundTTL

	// Not-found answers never reach the store.
	if _, err := store.Get(ctx, "example.com/hello/@v/v1.9.0.mod"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("not-found stored: %v", err)
	}
	// The version appears upstream: once the memory expires it is served.
	set.Add("example.com/hello", "v1.9.0", map[string]string{"go.mod": "module example.com/hello\n"}, time.Now())
	if _, err := c.GoMod(ctx, "example.com/hello", "v1.9.0"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("still remembered: err = %v", err)
	}
	clk.add(31 * time.Second)
	if _, err := c.GoMod(ctx, "example.com/hello", "v1.9.0"); err != nil {
		t.Fatal(err)
	}

	// Disabled memory asks every time.
	c2, next2, _, _ := newTestCache(set)
	c2.NotFoundTTL = -1
	for range 3 {
		c2.GoMod(ctx, "example.com/hello", "v1.8.0")
	}
	if n := next2.n("mod"); n != 3 {
		t.Fatalf("Next.GoMod called %d times", n)
	}
}

func TestCacheErrorsNeverCached(t *testing.T) {
	set := fixture.Standard()
	c, next, _, store := newTestCache(set)
	boom := errors.New("503 Service Unavailable")
	next.fail = func(string) error { return boom }
	ctx := context.Background()
	if _, err := c.GoMod(ctx, "example.com/hello", "v1.0.0"); !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	if _, err := c.Zip(ctx, "example.com/hello", "v1.0.0"); !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	if _, err := c.List(ctx, "example.com/hello"); !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	next.fail = nil
	if _, err := c.GoMod(ctx, "example.com/hello", "v1.0.0"); err != nil {
		t.Fatal(err)
	}
	reader(t)(c.Zip(ctx, "example.com/hello", "v1.0.0"))
	if _, err := c.List(ctx, "example.com/hello"); err != nil {
		t.Fatal(err)
	}
	if next.n("mod") != 2 || next.n("zip") != 2 || next.n("list") != 2 {
		t.Fatalf("calls = %v", next.calls)
	}
	_ = store
}

func TestCacheCoalescesConcurrentRequests(t *testing.T) {
	set := fixture.Standard()
	c, next, _, _ := newTestCache(set)
	next.gate = make(chan struct{})
	ctx := context.Background()
	m := set.Module("example.com/hello", "v1.1.0")
	const n = 64
	var wg sync.WaitGroup
	var bad atomic.Int32
	for range n {
		wg.Add(3)
		go func() {
			defer wg.Done()
			rc, err := c.Zip(ctx, m.Path, m.Version)
			if err != nil {
				bad.Add(1)
				return
			}
			data, _ := io.ReadAll(rc)
			rc.Close()
			if !bytes.Equal(data, m.Zip) {
				bad.Add(1)
			}
		}()
		go func() {
			defer wg.Done()
			if mod, err := c.GoMod(ctx, m.Path, m.Version); err != nil || !bytes.Equal(mod, m.Mod) {
				bad.Add(1)
			}
		}()
		go func() {
			defer wg.Done()
			if l, err := c.List(ctx, m.Path); err != nil || len(l) != 2 {
				bad.Add(1)
			}
		}()
	}
	// Let every request arrive, then release the upstream.
	fixture.WaitFor(t, "every request to wait", func() bool {
		return c.zips.Waiting("zip\x00"+m.Path+"\x00"+m.Version) == n &&
			c.gomods.Waiting("mod\x00"+m.Path+"\x00"+m.Version) == n &&
			c.lists.Waiting("list\x00"+m.Path) == n
	})
	close(next.gate)
	wg.Wait()
	if bad.Load() != 0 {
		t.Fatalf("%d requests failed", bad.Load())
	}
	for _, op := range []string{"zip", "mod", "list"} {
		if got := next.n(op); got != 1 {
			t.Errorf("Next.%s called %d times for %d identical requests", op, got, n)
		}
	}
}

func TestCacheDetachedFromCallerCancellation(t *testing.T) {
	set := fixture.Standard()
	c, next, _, _ := newTestCache(set)
	next.gate = make(chan struct{})
	m := set.Module("example.com/hello", "v1.0.0")

	ctx1, cancel1 := context.WithCancel(context.Background())
	errc1 := make(chan error, 1)
	go func() {
		_, err := c.GoMod(ctx1, m.Path, m.Version)
		errc1 <- err
	}()
	res2 := make(chan []byte, 1)
	go func() {
		data, _ := c.GoMod(context.Background(), m.Path, m.Version)
		res2 <- data
	}()
	fixture.WaitFor(t, "both callers to wait", func() bool {
		return c.gomods.Waiting("mod\x00"+m.Path+"\x00"+m.Version) == 2
	})
	cancel1()
	// The first caller returns at once with its own error...
	select {
	case err := <-errc1:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("first caller: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("first caller did not return after cancel")
	}
	// ...while the shared fetch goes on for the second.
	next.mu.Lock()
	fetchCtx := next.ctxs[0]
	next.mu.Unlock()
	if fetchCtx.Err() != nil {
		t.Fatal("shared fetch canceled with the first caller")
	}
	close(next.gate)
	if data := <-res2; !bytes.Equal(data, m.Mod) {
		t.Fatalf("second caller got %q", data)
	}
	if next.n("mod") != 1 {
		t.Fatalf("Next.GoMod called %d times", next.n("mod"))
	}

	// When every caller gives up, the shared fetch is canceled.
	c2, next2, _, _ := newTestCache(set)
	next2.gate = make(chan struct{})
	defer close(next2.gate)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		c2.GoMod(ctx, m.Path, m.Version)
		close(done)
	}()
	fixture.WaitFor(t, "the fetch to start", func() bool { return next2.n("mod") > 0 })
	cancel()
	<-done
	next2.mu.Lock()
	fetchCtx = next2.ctxs[0]
	next2.mu.Unlock()
	select {
	case <-fetchCtx.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("fetch not canceled after every caller left")
	}
}

// failingStore refuses every Put.
type failingStore struct{ MemStore }

func (f *failingStore) Put(ctx context.Context, key string, r io.Reader) error {
	io.CopyN(io.Discard, r, 10) // consume a little, like a store failing midway
	return errors.New("disk full")
}

func TestCacheStoreFailureStillServes(t *testing.T) {
	set := fixture.Standard()
	next := &counting{Resolver: set}
	var logs bytes.Buffer
	c := &Cache{Next: next, Store: &failingStore{}, Logger: slog.New(slog.NewTextHandler(&logs, nil))}
	ctx := context.Background()
	m := set.Module("example.com/hello", "v1.0.0")
	if data := reader(t)(c.Zip(ctx, m.Path, m.Version)); !bytes.Equal(data, m.Zip) {
		t.Fatal("zip not served when the store fails")
	}
	if mod, err := c.GoMod(ctx, m.Path, m.Version); err != nil || !bytes.Equal(mod, m.Mod) {
		t.Fatalf("GoMod = %q, %v", mod, err)
	}
	if !strings.Contains(logs.String(), "disk full") {
		t.Fatalf("store failure not logged: %s", logs.String())
	}
}

// rereadable serves zips as readers that can open further readers of the
// same download, like a verifying download, counting them and their
// closes.
type rereadable struct {
	modfetch.Resolver
	mu             sync.Mutex
	opened, closed int
}

type rereadableZip struct {
	*bytes.Reader
	r    *rereadable
	data []byte
	once sync.Once
}

func (r *rereadable) open(data []byte) *rereadableZip {
	r.mu.Lock()
	r.opened++
	r.mu.Unlock()
	return &rereadableZip{Reader: bytes.NewReader(data), r: r, data: data}
}

func (z *rereadableZip) NewReader() io.ReadCloser { return z.r.open(z.data) }

func (z *rereadableZip) Close() error {
	z.once.Do(func() {
		z.r.mu.Lock()
		z.r.closed++
		z.r.mu.Unlock()
	})
	return nil
}

func (r *rereadable) Zip(ctx context.Context, path, version string) (io.ReadCloser, error) {
	rc, err := r.Resolver.Zip(ctx, path, version)
	if err != nil {
		return nil, err
	}
	data, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		return nil, err
	}
	return r.open(data), nil
}

// TestCacheStoreFailureReusesDownload: when the store cannot keep a zip,
// the caller is served from the same download, not a second one, and
// every reader of it is closed.
func TestCacheStoreFailureReusesDownload(t *testing.T) {
	set := fixture.Standard()
	src := &rereadable{Resolver: set}
	next := &counting{Resolver: src}
	m := set.Module("example.com/hello", "v1.0.0")
	// Too small for the zip: Put fails after reading part of it.
	c := &Cache{Next: next, Store: &MemStore{MaxBytes: int64(len(m.Zip) / 2)}}
	ctx := context.Background()
	if data := reader(t)(c.Zip(ctx, m.Path, m.Version)); !bytes.Equal(data, m.Zip) {
		t.Fatal("wrong zip served after the store failed")
	}
	if n := next.n("zip"); n != 1 {
		t.Fatalf("Next.Zip called %d times, want 1", n)
	}
	src.mu.Lock()
	defer src.mu.Unlock()
	if src.opened != src.closed {
		t.Fatalf("%d readers opened, %d closed", src.opened, src.closed)
	}
}

// stuckStore's Put waits for its context to end.
type stuckStore struct{ MemStore }

func (s *stuckStore) Put(ctx context.Context, key string, r io.Reader) error {
	<-ctx.Done()
	return ctx.Err()
}

// TestCacheAbandonedZipReleasesDownload: when every caller gives up while
// the zip is being stored, the download's readers are all closed (none is
// kept for callers that are gone).
func TestCacheAbandonedZipReleasesDownload(t *testing.T) {
	set := fixture.Standard()
	src := &rereadable{Resolver: set}
	c := &Cache{Next: src, Store: &stuckStore{}}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := c.Zip(ctx, "example.com/hello", "v1.0.0"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Zip = %v", err)
	}
	fixture.WaitFor(t, "every reader of the download to be closed", func() bool {
		src.mu.Lock()
		defer src.mu.Unlock()
		return src.opened > 0 && src.opened == src.closed
	})
}

// brokenZip fails after some bytes.
type brokenZip struct{ modfetch.Resolver }

func (b brokenZip) Zip(ctx context.Context, path, version string) (io.ReadCloser, error) {
	return io.NopCloser(io.MultiReader(strings.NewReader("PK\x03\x04partial"), errReader{})), nil
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, io.ErrUnexpectedEOF }

func TestCacheSourceFailureStoresNothing(t *testing.T) {
	store := &MemStore{}
	c := &Cache{Next: brokenZip{fixture.Standard()}, Store: store}
	ctx := context.Background()
	if _, err := c.Zip(ctx, "example.com/hello", "v1.0.0"); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("err = %v", err)
	}
	for _, key := range []string{"example.com/hello/@v/v1.0.0.zip", "example.com/hello/@v/v1.0.0.ziphash"} {
		if _, err := store.Get(ctx, key); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("%s stored after a failed download: %v", key, err)
		}
	}
}

func TestCacheStatResolvingElsewhere(t *testing.T) {
	set := fixture.Standard()
	// Like a proxy answering docker's v20.10.5 with v20.10.5+incompatible.
	set.Revs = map[string]string{"example.com/nomod@v2.0.0": "v2.0.0+incompatible"}
	c, next, _, store := newTestCache(set)
	ctx := context.Background()
	for range 2 {
		info, err := c.Stat(ctx, "example.com/nomod", "v2.0.0")
		if err != nil || info.Version != "v2.0.0+incompatible" {
			t.Fatalf("Stat = %v, %v", info, err)
		}
	}
	if next.n("stat") != 1 {
		t.Fatalf("Next.Stat called %d times", next.n("stat"))
	}
	if _, err := store.Get(ctx, "example.com/nomod/@v/v2.0.0.info"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatal("answer stored under the requested version as if immutable")
	}
	reader(t)(store.Get(ctx, "example.com/nomod/@v/v2.0.0+incompatible.info"))
}

// TestCacheStatRevisionKeys: revisions are kept under escaped keys (so
// "Master" and "master" differ on a case-insensitive disk); one that is
// not a valid file name element is resolved every time and never kept.
func TestCacheStatRevisionKeys(t *testing.T) {
	for _, tt := range []struct {
		rev   string
		key   string // "" means not kept
		calls int    // Next.Stat calls for two Stats
	}{
		{"Master", "modfetch/example.com/hello/@v/!master.info", 1},
		{"master", "modfetch/example.com/hello/@v/master.info", 1},
		{"feature/x", "", 2},
		{"..", "", 2},
	} {
		set := fixture.Standard()
		set.Revs = map[string]string{"example.com/hello@" + tt.rev: "v1.0.0"}
		c, next, _, _ := newTestCache(set)
		store := &recordingStore{}
		c.Store = store
		c.MutableTTL = time.Hour
		ctx := context.Background()
		for range 2 {
			info, err := c.Stat(ctx, "example.com/hello", tt.rev)
			if err != nil || info.Version != "v1.0.0" {
				t.Fatalf("%s: Stat = %v, %v", tt.rev, info, err)
			}
		}
		if n := next.n("stat"); n != tt.calls {
			t.Errorf("%s: Next.Stat called %d times, want %d", tt.rev, n, tt.calls)
		}
		var kept []string
		for _, k := range store.keys() {
			if strings.HasPrefix(k, "modfetch/") {
				kept = append(kept, k)
			}
		}
		switch {
		case tt.key == "" && len(kept) != 0:
			t.Errorf("%s: kept under %q", tt.rev, kept)
		case tt.key != "" && (len(kept) != 1 || kept[0] != tt.key):
			t.Errorf("%s: kept under %q, want %q", tt.rev, kept, tt.key)
		}
	}
}

// recordingStore is a MemStore that records the keys put into it.
type recordingStore struct {
	MemStore
	mu   sync.Mutex
	puts map[string]bool
}

func (r *recordingStore) Put(ctx context.Context, key string, rd io.Reader) error {
	r.mu.Lock()
	if r.puts == nil {
		r.puts = make(map[string]bool)
	}
	r.puts[key] = true
	r.mu.Unlock()
	return r.MemStore.Put(ctx, key, rd)
}

// keys returns the keys put that still have a value, sorted.
func (r *recordingStore) keys() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var ks []string
	for k := range r.puts {
		if rc, err := r.MemStore.Get(context.Background(), k); err == nil {
			rc.Close()
			ks = append(ks, k)
		}
	}
	slices.Sort(ks)
	return ks
}

func TestCacheTrimsOrigin(t *testing.T) {
	set := fixture.Standard()
	m := set.Module("example.com/hello", "v1.0.0")
	m.Info = []byte(`{"Version":"v1.0.0","Time":"2024-01-01T10:00:00Z","Origin":{"VCS":"git","URL":"https://example.com/hello","Hash":"abc","TagPrefix":"","TagSum":"t1:xyz","Ref":"refs/tags/v1.0.0","RepoSum":"r1:abc"}}`)
	c, _, _, store := newTestCache(set)
	ctx := context.Background()
	if _, err := c.Stat(ctx, m.Path, m.Version); err != nil {
		t.Fatal(err)
	}
	got := reader(t)(store.Get(ctx, "example.com/hello/@v/v1.0.0.info"))
	want := `{"Version":"v1.0.0","Time":"2024-01-01T10:00:00Z","Origin":{"VCS":"git","URL":"https://example.com/hello","Hash":"abc","Ref":"refs/tags/v1.0.0"}}`
	if string(got) != want {
		t.Fatalf(".info = %s\nwant    %s", got, want)
	}
}

func TestCacheZeroValueStore(t *testing.T) {
	set := fixture.Standard()
	c := &Cache{Next: set}
	data := reader(t)(c.Zip(context.Background(), "example.com/hello", "v1.0.0"))
	if !bytes.Equal(data, set.Module("example.com/hello", "v1.0.0").Zip) {
		t.Fatal("zip differs")
	}
}

// zeros is an endless stream of zero bytes that costs nothing to read.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) { return len(p), nil }

// TestZipSourceLimit: a zip longer than x/mod's limit fails while it is
// read (so that Put leaves nothing), with an error that is the source's.
func TestZipSourceLimit(t *testing.T) {
	src := &zipSource{r: zeros{}}
	n, err := io.Copy(io.Discard, src)
	if !errors.Is(err, modfetch.ErrZipTooLarge) || !errors.Is(src.err, modfetch.ErrZipTooLarge) || n <= modzip.MaxZipFile || n > modzip.MaxZipFile+64<<10 {
		t.Fatalf("copy = %d, %v (source error %v); want a failure just past %d bytes", n, err, src.err, modzip.MaxZipFile)
	}
	ok := &zipSource{r: strings.NewReader("PK")}
	if data, err := io.ReadAll(ok); err != nil || string(data) != "PK" || ok.err != nil {
		t.Fatalf("short zip: %q, %v, %v", data, err, ok.err)
	}
}

// farFuture answers Stat and Latest with a time JSON cannot encode.
type farFuture struct{ modfetch.Resolver }

func (f farFuture) Stat(ctx context.Context, path, rev string) (*modfetch.Info, error) {
	info, err := f.Resolver.Stat(ctx, path, rev)
	if err == nil {
		info.Time = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	return info, err
}

func (f farFuture) Latest(ctx context.Context, path string) (*modfetch.Info, error) {
	return f.Stat(ctx, path, "v1.1.0")
}

// TestCacheUnencodableInfo: an answer the cache cannot write as a .info
// file is served but not stored (an empty file would be read back as
// missing at best).
func TestCacheUnencodableInfo(t *testing.T) {
	set := fixture.Standard()
	set.Revs = map[string]string{"example.com/hello@master": "v1.0.0"}
	store := &recordingStore{}
	c := &Cache{Next: farFuture{set}, Store: store, MutableTTL: time.Hour}
	ctx := context.Background()
	for _, rev := range []string{"v1.0.0", "master"} {
		info, err := c.Stat(ctx, "example.com/hello", rev)
		if err != nil || info.Time.Year() != 10000 {
			t.Fatalf("Stat(%s) = %+v, %v", rev, info, err)
		}
	}
	if info, err := c.Latest(ctx, "example.com/hello"); err != nil || info.Version != "v1.1.0" {
		t.Fatalf("Latest = %+v, %v", info, err)
	}
	if ks := store.keys(); len(ks) != 0 {
		t.Errorf("stored %q", ks)
	}
}

// detachedZip answers zips whose reader ignores the request's context
// and waits for more bytes until it is closed, as a verifying layer's
// reader of a download that trickles does.
type detachedZip struct {
	modfetch.Resolver
	closed chan struct{}
}

func (d *detachedZip) Zip(ctx context.Context, path, version string) (io.ReadCloser, error) {
	pr, pw := io.Pipe()
	go func() {
		pw.Write([]byte("PK\x03\x04 the first bytes"))
		// ...and nothing more until the reader is closed.
	}()
	return &closeNotifier{ReadCloser: pr, closed: d.closed}, nil
}

type closeNotifier struct {
	io.ReadCloser
	closed chan struct{}
	once   sync.Once
}

func (c *closeNotifier) Close() error {
	c.once.Do(func() { close(c.closed) })
	return c.ReadCloser.Close()
}

// putCounter counts the Puts that returned, and their failures.
type putCounter struct {
	Store
	mu             sync.Mutex
	returned, fail int
}

func (p *putCounter) Put(ctx context.Context, key string, r io.Reader) error {
	err := p.Store.Put(ctx, key, r)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.returned++
	if err != nil {
		p.fail++
	}
	return err
}

// TestCacheAbandonedZipEndsWaitingPut: when every caller has left, a
// store's Put that waits for the next bytes of the download (which
// trickles, or never comes) ends: the Cache closes Next's reader, and
// nothing is stored. Through a WriteBehind and straight into a store.
func TestCacheAbandonedZipEndsWaitingPut(t *testing.T) {
	for _, tc := range []struct {
		name  string
		store func(Store) Store
	}{
		{"store", func(s Store) Store { return s }},
		{"write-behind", func(s Store) Store { return &WriteBehind{Next: s} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mem := &MemStore{}
			puts := &putCounter{Store: tc.store(mem)}
			next := &detachedZip{Resolver: fixture.Standard(), closed: make(chan struct{})}
			c := &Cache{Next: next, Store: puts}
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			defer cancel()
			if _, err := c.Zip(ctx, "example.com/hello", "v1.0.0"); !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("Zip = %v", err)
			}
			select {
			case <-next.closed:
			case <-time.After(10 * time.Second):
				t.Fatal("10 s after its last caller left, the download's reader is still open")
			}
			fixture.WaitFor(t, "the store's Put to return", func() bool {
				puts.mu.Lock()
				defer puts.mu.Unlock()
				return puts.returned == 1
			})
			if puts.fail != 1 {
				t.Errorf("the abandoned Put succeeded")
			}
			if _, err := mem.Get(context.Background(), "example.com/hello/@v/v1.0.0.zip"); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("abandoned zip stored: %v", err)
			}
		})
	}
}
