package cache

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modfetch/modfetch"
	"github.com/modfetch/modfetch/internal/fixture"
)

// memLocker is a Locker in one process's memory, standing for a lock
// service that several Caches share as replicas would. down makes it fail
// as an unreachable service does.
type memLocker struct {
	mu    sync.Mutex
	held  map[string]*memLock
	down  bool
	tries int
}

type memLock struct {
	l    *memLocker
	key  string
	lost chan struct{}
	once sync.Once
}

var errLockerDown = errors.New("lock service unreachable")

func (m *memLocker) TryLock(ctx context.Context, key string) (Lock, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.tries++
	if m.down {
		return nil, errLockerDown
	}
	if m.held[key] != nil {
		return nil, ErrLocked
	}
	if m.held == nil {
		m.held = make(map[string]*memLock)
	}
	l := &memLock{l: m, key: key, lost: make(chan struct{})}
	m.held[key] = l
	return l, nil
}

func (l *memLock) Unlock(ctx context.Context) error {
	l.l.mu.Lock()
	defer l.l.mu.Unlock()
	if l.l.held[l.key] == l {
		delete(l.l.held, l.key)
	}
	l.once.Do(func() { close(l.lost) })
	return nil
}

func (l *memLock) Lost() <-chan struct{} { return l.lost }

func (m *memLocker) nHeld() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.held)
}

// TestCacheLockerOneFetchAcrossReplicas: two Caches sharing a Store and a
// Locker, as two replicas do, answer 32 concurrent requests each for the
// same uncached .zip, .mod and .info with one request to their upstream
// for each, and every answer is right.
func TestCacheLockerOneFetchAcrossReplicas(t *testing.T) {
	set := fixture.Standard()
	m := set.Module("example.com/hello", "v1.0.0")
	next := &counting{Resolver: set, gate: make(chan struct{})}
	shared, locker := &MemStore{}, &memLocker{}
	replicas := []*Cache{
		{Next: next, Store: shared, Locker: locker},
		{Next: next, Store: shared, Locker: locker},
	}
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 3*64)
	for i := range 64 {
		c := replicas[i%2]
		wg.Go(func() {
			rc, err := c.Zip(ctx, m.Path, m.Version)
			if err != nil {
				errs <- err
				return
			}
			data, err := io.ReadAll(rc)
			rc.Close()
			if err != nil || !bytes.Equal(data, m.Zip) {
				errs <- errors.New("wrong zip")
			}
		})
		wg.Go(func() {
			if data, err := c.GoMod(ctx, m.Path, m.Version); err != nil || !bytes.Equal(data, m.Mod) {
				errs <- errors.New("wrong go.mod")
			}
		})
		wg.Go(func() {
			if info, err := c.Stat(ctx, m.Path, m.Version); err != nil || info.Version != m.Version {
				errs <- errors.New("wrong info")
			}
		})
	}
	// Both replicas ask their upstream only once the lock holder is in.
	fixture.WaitFor(t, "a lock holder of each kind to reach the upstream", func() bool {
		return next.n("zip") >= 1 && next.n("mod") >= 1 && next.n("stat") >= 1
	})
	close(next.gate)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for _, op := range []string{"zip", "mod", "stat"} {
		if n := next.n(op); n != 1 {
			t.Errorf("upstream %s requests: %d, want 1", op, n)
		}
	}
	if n := locker.nHeld(); n != 0 {
		t.Errorf("%d locks still held", n)
	}
}

// TestCacheLockerOutage: with the lock service down, each replica fetches
// on its own (one upstream request per replica, not per request), the
// outage is logged once, and the Locker is asked again after LockerRetry.
func TestCacheLockerOutage(t *testing.T) {
	set := fixture.Standard()
	m := set.Module("example.com/hello", "v1.0.0")
	next := &counting{Resolver: set}
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	locker := &memLocker{down: true}
	now := time.Unix(1e9, 0)
	clock := func() time.Time { return now }
	a := &Cache{Next: next, Store: &MemStore{}, Locker: locker, Logger: logger, now: clock}
	b := &Cache{Next: next, Store: &MemStore{}, Locker: locker, Logger: logger, now: clock}
	ctx := context.Background()
	for _, c := range []*Cache{a, b} {
		for range 3 {
			if data, err := c.GoMod(ctx, m.Path, m.Version); err != nil || !bytes.Equal(data, m.Mod) {
				t.Fatalf("GoMod = %q, %v", data, err)
			}
		}
	}
	if n := next.n("mod"); n != 2 {
		t.Errorf("upstream .mod requests: %d, want 2 (one per replica)", n)
	}
	if n := strings.Count(logs.String(), "lock service unavailable"); n != 2 {
		t.Errorf("outage logged %d times, want once per replica:\n%s", n, logs.String())
	}
	if locker.tries != 2 {
		t.Errorf("Locker asked %d times during its outage, want once per replica", locker.tries)
	}
	// Back, and asked again once LockerRetry has passed.
	locker.mu.Lock()
	locker.down = false
	locker.mu.Unlock()
	now = now.Add(DefaultLockerRetry)
	if _, err := a.Stat(ctx, m.Path, "v1.1.0"); err != nil {
		t.Fatal(err)
	}
	if locker.tries != 3 {
		t.Errorf("Locker asked %d times, want 3: once more after the retry delay", locker.tries)
	}
	if !strings.Contains(logs.String(), "lock service back") {
		t.Errorf("recovery not logged:\n%s", logs.String())
	}
}

// TestCacheLockerWaitEndsWithCaller: a request waiting for another
// process's lock returns when its caller leaves, and asks nothing.
func TestCacheLockerWaitEndsWithCaller(t *testing.T) {
	set := fixture.Standard()
	m := set.Module("example.com/hello", "v1.0.0")
	locker := &memLocker{}
	other, err := locker.TryLock(context.Background(), "example.com/hello/@v/v1.0.0.mod")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Unlock(context.Background())
	next := &counting{Resolver: set}
	c := &Cache{Next: next, Store: &MemStore{}, Locker: locker}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := c.GoMod(ctx, m.Path, m.Version)
		done <- err
	}()
	fixture.WaitFor(t, "the request to wait for the lock", func() bool {
		locker.mu.Lock()
		defer locker.mu.Unlock()
		return locker.tries >= 2
	})
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("GoMod = %v, want canceled", err)
	}
	if n := next.n("mod"); n != 0 {
		t.Errorf("upstream asked %d times while another process held the lock", n)
	}
}

// signingStore is a MemStore that signs URLs, as an object store does.
type signingStore struct{ MemStore }

func (s *signingStore) SignedURL(ctx context.Context, key string, expiry time.Duration) (*url.URL, error) {
	if _, err := s.MemStore.Get(ctx, key); err != nil {
		return nil, err
	}
	return &url.URL{Scheme: "https", Host: "bucket.example", Path: "/" + key, RawQuery: "expires=" + expiry.String()}, nil
}

func TestCacheZipURL(t *testing.T) {
	set := fixture.Standard()
	m := set.Module("example.com/hello", "v1.0.0")
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		store func(*signingStore) Store
	}{
		{"signing store", func(s *signingStore) Store { return s }},
		{"tiered", func(s *signingStore) Store { return &Tiered{Fast: &MemStore{}, Slow: s} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &Cache{Next: set, Store: tc.store(&signingStore{})}
			if _, err := c.ZipURL(ctx, m.Path, m.Version, time.Minute); !errors.Is(err, fs.ErrNotExist) {
				t.Fatalf("ZipURL of a zip not stored = %v, want not exist", err)
			}
			rc, err := c.Zip(ctx, m.Path, m.Version)
			if err != nil {
				t.Fatal(err)
			}
			rc.Close()
			u, err := c.ZipURL(ctx, m.Path, m.Version, time.Minute)
			if err != nil || u.String() != "https://bucket.example/example.com/hello/@v/v1.0.0.zip?expires=1m0s" {
				t.Fatalf("ZipURL = %v, %v", u, err)
			}
		})
	}
	// Not a signing store.
	c := &Cache{Next: set, Store: &MemStore{}}
	if _, err := c.ZipURL(ctx, m.Path, m.Version, time.Minute); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("ZipURL over a MemStore = %v, want unsupported", err)
	}
}

// TestWriteBehindSignsOnlyWritten: a WriteBehind signs a value only once
// its Next has it.
func TestWriteBehindSignsOnlyWritten(t *testing.T) {
	ctx := context.Background()
	slow := &gatedSigner{gate: make(chan struct{})}
	w := &WriteBehind{Next: slow}
	if err := w.Put(ctx, "k/v.zip", strings.NewReader("zip")); err != nil {
		t.Fatal(err)
	}
	if _, err := w.SignedURL(ctx, "k/v.zip", time.Minute); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("SignedURL of a value still held = %v, want not exist", err)
	}
	close(slow.gate)
	if err := w.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if u, err := w.SignedURL(ctx, "k/v.zip", time.Minute); err != nil || u.Path != "/k/v.zip" {
		t.Errorf("SignedURL after the write = %v, %v", u, err)
	}
}

// gatedSigner is a signing store whose Puts wait for gate.
type gatedSigner struct {
	signingStore
	gate chan struct{}
}

func (g *gatedSigner) Put(ctx context.Context, key string, r io.Reader) error {
	<-g.gate
	return g.signingStore.Put(ctx, key, r)
}

// TestCacheHooksMerged: of three concurrent requests for one uncached
// answer, the one that fetched it is a miss and the two that joined it
// are merged; a later one is a hit.
func TestCacheHooksMerged(t *testing.T) {
	set := fixture.Standard()
	m := set.Module("example.com/hello", "v1.0.0")
	next := &counting{Resolver: set, gate: make(chan struct{})}
	var mu sync.Mutex
	got := map[string]int{}
	c := &Cache{Next: next, Store: &MemStore{}, Hooks: &modfetch.Hooks{CacheLookup: func(l modfetch.CacheLookup) {
		mu.Lock()
		got[l.Kind+" "+l.Result]++
		mu.Unlock()
	}}}
	ctx := context.Background()
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() {
			if _, err := c.GoMod(ctx, m.Path, m.Version); err != nil {
				t.Error(err)
			}
		})
	}
	fixture.WaitFor(t, "three callers to wait for one fetch", func() bool {
		return c.gomods.Waiting("mod\x00"+m.Path+"\x00"+m.Version) == 3
	})
	close(next.gate)
	wg.Wait()
	c.GoMod(ctx, m.Path, m.Version)
	want := map[string]int{"mod miss": 1, "mod merged": 2, "mod hit": 1}
	mu.Lock()
	defer mu.Unlock()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("lookups %v, want %v", got, want)
	}
}
