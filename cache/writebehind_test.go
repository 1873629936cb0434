package cache

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modfetch/modfetch"
	"github.com/modfetch/modfetch/internal/fixture"
)

// gatedStore delays every Put until its gate is closed, counting them.
type gatedStore struct {
	MemStore
	gate chan struct{}
	puts atomic.Int32
}

func (g *gatedStore) Put(ctx context.Context, key string, r io.Reader) error {
	select {
	case <-g.gate:
	case <-ctx.Done():
		return ctx.Err()
	}
	g.puts.Add(1)
	return g.MemStore.Put(ctx, key, r)
}

// flushStore waits for w's background writes, failing after 10 seconds.
func flushStore(t *testing.T, w *WriteBehind) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := w.Flush(ctx); err != nil {
		t.Fatalf("background writes did not finish: %v", err)
	}
}

// TestCacheOverWriteBehind: a Cache over a WriteBehind store answers while
// the store beneath is blocked, fetching each answer once, and serves a
// held zip with random access; once released, everything lands beneath,
// the zip's hash included.
func TestCacheOverWriteBehind(t *testing.T) {
	set := fixture.Standard()
	next := &counting{Resolver: set}
	store := &gatedStore{gate: make(chan struct{})}
	w := &WriteBehind{Next: store}
	c := &Cache{Next: next, Store: w}
	ctx := context.Background()
	m := set.Module("example.com/hello", "v1.1.0")

	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 3 {
			if info, err := c.Stat(ctx, m.Path, m.Version); err != nil || info.Version != m.Version {
				t.Errorf("Stat = %v, %v", info, err)
			}
			if mod, err := c.GoMod(ctx, m.Path, m.Version); err != nil || !bytes.Equal(mod, m.Mod) {
				t.Errorf("GoMod = %q, %v", mod, err)
			}
			rc, err := c.Zip(ctx, m.Path, m.Version)
			if err != nil {
				t.Error(err)
				return
			}
			// The held zip can be read at random, for Range requests.
			if _, ok := modfetch.As[io.ReadSeeker](rc); !ok {
				t.Error("held zip reader cannot seek")
			}
			if s, ok := modfetch.As[modfetch.Summer](rc); !ok || s.Sum() != m.ZipSum() {
				t.Errorf("held zip's Sum = %v", s)
			}
			data, _ := io.ReadAll(rc)
			rc.Close()
			if !bytes.Equal(data, m.Zip) {
				t.Error("zip differs")
			}
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("answers waited for the store")
	}
	for _, op := range []string{"stat", "mod", "zip"} {
		if n := next.n(op); n != 1 {
			t.Errorf("Next.%s called %d times", op, n)
		}
	}
	if n := store.puts.Load(); n != 0 {
		t.Fatalf("%d puts went through a closed gate", n)
	}
	close(store.gate)
	flushStore(t, w)
	w.mu.Lock()
	left, held := len(w.keys), w.held
	w.mu.Unlock()
	if left != 0 || held != 0 {
		t.Fatalf("%d keys and %d bytes still held after Flush", left, held)
	}
	for key, want := range map[string]string{
		"example.com/hello/@v/v1.1.0.mod":     string(m.Mod),
		"example.com/hello/@v/v1.1.0.zip":     string(m.Zip),
		"example.com/hello/@v/v1.1.0.ziphash": m.ZipSum(),
	} {
		if got := reader(t)(store.MemStore.Get(ctx, key)); string(got) != want {
			t.Errorf("%s not stored", key)
		}
	}
}

// TestWriteBehindLatestWins: values put while an earlier write of the
// same key is blocked are not written out of order; the store ends with
// the last one, skipping those superseded meanwhile.
func TestWriteBehindLatestWins(t *testing.T) {
	store := &gatedStore{gate: make(chan struct{})}
	w := &WriteBehind{Next: store}
	ctx := context.Background()
	const key = "modfetch/example.com/hello/@v/list"
	for _, v := range []string{"a", "b", "c", "d"} {
		if err := w.Put(ctx, key, strings.NewReader(v)); err != nil {
			t.Fatal(err)
		}
		if got := reader(t)(w.Get(ctx, key)); string(got) != v {
			t.Fatalf("after Put %q: Get = %q", v, got)
		}
	}
	// Flush waits for the blocked write.
	short, cancel := context.WithCancel(ctx)
	cancel()
	if err := w.Flush(short); !errors.Is(err, context.Canceled) {
		t.Fatalf("Flush with a write blocked = %v", err)
	}
	close(store.gate)
	flushStore(t, w)
	if got := reader(t)(store.MemStore.Get(ctx, key)); string(got) != "d" {
		t.Fatalf("stored %q, want the last value", got)
	}
	// The first write may have started with "a" or, if it started late,
	// with "d"; either way the superseded values are skipped.
	if n := store.puts.Load(); n < 1 || n > 2 {
		t.Fatalf("%d writes, want at most 2 (the first, then the last)", n)
	}
}

// TestWriteBehindDelete: a delete reads as missing at once and reaches
// the store after the writes before it.
func TestWriteBehindDelete(t *testing.T) {
	store := &gatedStore{gate: make(chan struct{})}
	w := &WriteBehind{Next: store}
	ctx := context.Background()
	const key = "example.com/m/@v/v1.0.0.mod"
	if err := w.Put(ctx, key, strings.NewReader("module example.com/m\n")); err != nil {
		t.Fatal(err)
	}
	if err := w.Delete(ctx, key); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Get(ctx, key); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Get after Delete = %v, want not found", err)
	}
	close(store.gate)
	flushStore(t, w)
	if _, err := store.MemStore.Get(ctx, key); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("store beneath after Delete and Flush: %v, want not found", err)
	}
}

// TestWriteBehindBound: past MaxBytes, while values wait to be written,
// a Put reading a large value waits until a write makes room; one whose
// ctx ends meanwhile holds nothing.
func TestWriteBehindBound(t *testing.T) {
	store := &gatedStore{gate: make(chan struct{})}
	w := &WriteBehind{Next: store, MaxBytes: 100 << 10}
	ctx := context.Background()
	big := bytes.Repeat([]byte("x"), 200<<10)
	// The first large value is held whole: nothing waits to be written
	// that would make room.
	if err := w.Put(ctx, "a", bytes.NewReader(big)); err != nil {
		t.Fatal(err)
	}
	waiting := func() bool {
		w.mu.Lock()
		defer w.mu.Unlock()
		return w.waiters == 1
	}
	heldBytes := func() int64 {
		w.mu.Lock()
		defer w.mu.Unlock()
		return w.held
	}
	// A Put whose ctx ends while it waits.
	cctx, cancel := context.WithCancel(ctx)
	errc := make(chan error, 1)
	go func() { errc <- w.Put(cctx, "b", bytes.NewReader(big)) }()
	fixture.WaitFor(t, "the second Put to wait for room", waiting)
	if n := heldBytes(); n > int64(len(big))+maxHeldInMemory+1 {
		t.Fatalf("%d bytes held with a Put waiting, want at most one value and one chunk", n)
	}
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("Put canceled while waiting for room = %v", err)
	}
	if _, err := w.Get(ctx, "b"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("a Put that failed left a value: %v", err)
	}
	if n := heldBytes(); n != int64(len(big)) {
		t.Fatalf("%d bytes held after the failed Put, want %d", n, len(big))
	}
	// A Put that waits, then goes on when the first write is done.
	done := make(chan error, 1)
	go func() { done <- w.Put(ctx, "c", bytes.NewReader(big)) }()
	fixture.WaitFor(t, "the third Put to wait for room", waiting)
	select {
	case err := <-done:
		t.Fatalf("Put over the bound returned (%v) while nothing was written", err)
	default:
	}
	close(store.gate)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	flushStore(t, w)
	if n := store.puts.Load(); n != 2 {
		t.Fatalf("%d writes reached the store, want 2", n)
	}
	if n := heldBytes(); n != 0 {
		t.Fatalf("%d bytes held after Flush", n)
	}
}

// keyGatedStore delays the Puts of key "k" until gateK is closed, and
// every other Put until gate is.
type keyGatedStore struct {
	MemStore
	gate, gateK chan struct{}
}

func (g *keyGatedStore) Put(ctx context.Context, key string, r io.Reader) error {
	if key == "k" {
		<-g.gateK
	} else {
		<-g.gate
	}
	return g.MemStore.Put(ctx, key, r)
}

// TestWriteBehindFlushWaitsForForegroundWrites: with every background
// slot busy, a write runs in its caller's goroutine; Flush waits for it
// and for the values queued behind it.
func TestWriteBehindFlushWaitsForForegroundWrites(t *testing.T) {
	store := &keyGatedStore{gate: make(chan struct{}), gateK: make(chan struct{})}
	w := &WriteBehind{Next: store}
	ctx := context.Background()
	for i := range maxWriters {
		if err := w.Put(ctx, fmt.Sprintf("busy/%d", i), strings.NewReader("v")); err != nil {
			t.Fatal(err)
		}
	}
	fg := make(chan error, 1)
	go func() { fg <- w.Put(ctx, "k", strings.NewReader("first")) }() // writes in the foreground
	fixture.WaitFor(t, "the foreground write to start", func() bool {
		w.mu.Lock()
		defer w.mu.Unlock()
		kw := w.keys["k"]
		return kw != nil && kw.running
	})
	if err := w.Put(ctx, "k", strings.NewReader("second")); err != nil {
		t.Fatal(err)
	}
	// The background writes end; the foreground one is still held.
	close(store.gate)
	fixture.WaitFor(t, "the background writes to end", func() bool {
		w.mu.Lock()
		defer w.mu.Unlock()
		return len(w.keys) == 1
	})
	// What the store has when Flush returns: Flush must be waiting (or
	// have returned, wrongly) before the foreground write may go on.
	flushed := make(chan string, 1)
	var returned atomic.Bool
	go func() {
		if err := w.Flush(ctx); err != nil {
			t.Error(err)
		}
		returned.Store(true)
		data, _ := ReadValue(ctx, &store.MemStore, "k", 100)
		flushed <- string(data)
	}()
	fixture.WaitFor(t, "Flush to wait or return", func() bool {
		w.mu.Lock()
		defer w.mu.Unlock()
		return w.empty != nil || returned.Load()
	})
	close(store.gateK)
	if got := <-flushed; got != "second" {
		t.Fatalf("when Flush returned the store had %q, want the last value", got)
	}
	if err := <-fg; err != nil {
		t.Fatal(err)
	}
}

// failingPutStore fails every Put.
type failingPutStore struct{ MemStore }

func (f *failingPutStore) Put(ctx context.Context, key string, r io.Reader) error {
	return errors.New("disk full")
}

// TestWriteBehindFailureLogged: a background write that fails is logged,
// and its value is dropped rather than kept forever; the key then misses
// rather than showing the value it replaced.
func TestWriteBehindFailureLogged(t *testing.T) {
	var logs syncBuffer
	next := &failingPutStore{}
	w := &WriteBehind{Next: next, Logger: slog.New(slog.NewTextHandler(&logs, nil))}
	ctx := context.Background()
	next.MemStore.Put(ctx, "k", strings.NewReader("older"))
	if err := w.Put(ctx, "k", strings.NewReader("v")); err != nil {
		t.Fatal(err)
	}
	flushStore(t, w)
	if !strings.Contains(logs.String(), "disk full") {
		t.Fatalf("failed write not logged: %q", logs.String())
	}
	if _, err := w.Get(ctx, "k"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("value of a failed write still held: %v", err)
	}
}

// TestWriteBehindReleasesFiles: a large value's temporary file stays open
// while a reader uses it, even after it was written, and is closed after
// the last reader and the write.
func TestWriteBehindReleasesFiles(t *testing.T) {
	store := &gatedStore{gate: make(chan struct{})}
	w := &WriteBehind{Next: store, TempDir: t.TempDir()}
	ctx := context.Background()
	val := bytes.Repeat([]byte("zip!"), 100<<10)
	if err := w.Put(ctx, "example.com/m/@v/v1.0.0.zip", bytes.NewReader(val)); err != nil {
		t.Fatal(err)
	}
	r1, err := w.Get(ctx, "example.com/m/@v/v1.0.0.zip")
	if err != nil {
		t.Fatal(err)
	}
	r2, err := w.Get(ctx, "example.com/m/@v/v1.0.0.zip")
	if err != nil {
		t.Fatal(err)
	}
	hr, ok := r1.(*heldReader)
	if !ok {
		t.Fatalf("a large held value is read by %T, want *heldReader", r1)
	}
	hv := hr.hv
	r1.Close()
	r1.Close() // closing twice is harmless
	close(store.gate)
	flushStore(t, w)
	if _, err := hv.f.Stat(); err != nil {
		t.Fatalf("file closed while a reader still uses it: %v", err)
	}
	if data, err := io.ReadAll(r2); err != nil || !bytes.Equal(data, val) {
		t.Fatalf("reading after the write: %d bytes, %v", len(data), err)
	}
	r2.Close()
	if _, err := hv.f.Stat(); !errors.Is(err, fs.ErrClosed) {
		t.Fatalf("file after the last reader and the write: Stat = %v, want closed", err)
	}
}

// syncBuffer is a bytes.Buffer safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
