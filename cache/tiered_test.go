package cache

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// countingStore counts the Gets of a MemStore; with getGate set, the
// first Get reads its value, then waits for the gate before returning it.
type countingStore struct {
	MemStore
	gets    atomic.Int32
	getGate chan struct{}
	gotOld  chan struct{} // closed once the gated Get has read its value
	gated   sync.Once
}

func (c *countingStore) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	c.gets.Add(1)
	rc, err := c.MemStore.Get(ctx, key)
	if c.getGate != nil {
		// Only the first Get waits.
		c.gated.Do(func() {
			close(c.gotOld)
			<-c.getGate
		})
	}
	return rc, err
}

// TestTieredPromotes: a small value read from Slow is kept in Fast, so the
// next read does not reach Slow; a large one is not; a value put is in
// Fast at once when small and removed from it when large.
func TestTieredPromotes(t *testing.T) {
	ctx := context.Background()
	fast, slow := &MemStore{}, &countingStore{}
	tr := &Tiered{Fast: fast, Slow: slow, MaxFastValue: 100}
	small, large := []byte("small value"), bytes.Repeat([]byte("L"), 101)
	slow.MemStore.Put(ctx, "s", bytes.NewReader(small))
	slow.MemStore.Put(ctx, "l", bytes.NewReader(large))
	for range 3 {
		if got := reader(t)(tr.Get(ctx, "s")); !bytes.Equal(got, small) {
			t.Fatalf("Get(s) = %q", got)
		}
		if got := reader(t)(tr.Get(ctx, "l")); !bytes.Equal(got, large) {
			t.Fatalf("Get(l) = %q", got)
		}
	}
	if n := slow.gets.Load(); n != 1+3 {
		t.Fatalf("Slow read %d times, want 1 for the small value and 3 for the large one", n)
	}
	// Put: small into both, large into Slow only, and out of Fast.
	if err := tr.Put(ctx, "k", bytes.NewReader(small)); err != nil {
		t.Fatal(err)
	}
	if got := reader(t)(fast.Get(ctx, "k")); !bytes.Equal(got, small) {
		t.Fatalf("Fast after a small Put: %q", got)
	}
	if err := tr.Put(ctx, "k", bytes.NewReader(large)); err != nil {
		t.Fatal(err)
	}
	if _, err := fast.Get(ctx, "k"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Fast keeps an older value after a large Put: %v", err)
	}
	if got := reader(t)(tr.Get(ctx, "k")); !bytes.Equal(got, large) {
		t.Fatalf("Get after a large Put: %d bytes", len(got))
	}
	// Delete: from both.
	if err := tr.Delete(ctx, "s"); err != nil {
		t.Fatal(err)
	}
	for name, s := range map[string]Store{"Tiered": tr, "Fast": fast, "Slow": &slow.MemStore} {
		if _, err := s.Get(ctx, "s"); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s after Delete: %v", name, err)
		}
	}
}

// TestTieredNoStalePromotion: a Get that read a value from Slow before a
// Put of a newer one does not put the older value in Fast.
func TestTieredNoStalePromotion(t *testing.T) {
	ctx := context.Background()
	fast := &MemStore{}
	slow := &countingStore{getGate: make(chan struct{}), gotOld: make(chan struct{})}
	slow.MemStore.Put(ctx, "k", strings.NewReader("old"))
	tr := &Tiered{Fast: fast, Slow: slow}
	got := make(chan []byte, 1)
	go func() {
		rc, err := tr.Get(ctx, "k")
		if err != nil {
			t.Error(err)
			got <- nil
			return
		}
		data, _ := io.ReadAll(rc)
		rc.Close()
		got <- data
	}()
	<-slow.gotOld
	if err := tr.Put(ctx, "k", strings.NewReader("new")); err != nil {
		t.Fatal(err)
	}
	close(slow.getGate)
	if data := <-got; string(data) != "old" {
		t.Fatalf("the Get under way returned %q, want what it read", data)
	}
	if data := reader(t)(tr.Get(ctx, "k")); string(data) != "new" {
		t.Fatalf("Get after the Put = %q: an older value was promoted over it", data)
	}
}

// refusingStore refuses every Put after reading a little of the value.
type refusingStore struct{ MemStore }

func (*refusingStore) Put(ctx context.Context, key string, r io.Reader) error {
	io.CopyN(io.Discard, r, 3)
	return errors.New("refused")
}

// TestTieredSlowFailure: when Slow refuses a value, Put fails and Fast
// keeps what it had.
func TestTieredSlowFailure(t *testing.T) {
	ctx := context.Background()
	fast := &MemStore{}
	fast.Put(ctx, "k", strings.NewReader("old"))
	tr := &Tiered{Fast: fast, Slow: &refusingStore{}}
	if err := tr.Put(ctx, "k", strings.NewReader("new")); err == nil {
		t.Fatal("Put succeeded although Slow refused it")
	}
	if got := reader(t)(fast.Get(ctx, "k")); string(got) != "old" {
		t.Fatalf("Fast after a refused Put: %q", got)
	}
}

// holdingStore is a MemStore whose first Put (or Delete) waits, after it
// has stored (or deleted), for release before it returns; entered is
// closed when it waits.
type holdingStore struct {
	MemStore
	release, entered chan struct{}
	held             atomic.Bool
}

func (h *holdingStore) hold() {
	if !h.held.Swap(true) {
		close(h.entered)
		<-h.release
	}
}

func (h *holdingStore) Put(ctx context.Context, key string, r io.Reader) error {
	err := h.MemStore.Put(ctx, key, r)
	h.hold()
	return err
}

func (h *holdingStore) Delete(ctx context.Context, key string) error {
	err := h.MemStore.Delete(ctx, key)
	h.hold()
	return err
}

// TestTieredOverlappingWrites: when writes of one key overlap, the first
// to reach Slow may be the last to return; Fast then keeps neither value,
// so that reads see Slow's, and a deleted key stays deleted.
func TestTieredOverlappingWrites(t *testing.T) {
	ctx := context.Background()
	for _, second := range []string{"put", "delete"} {
		t.Run(second, func(t *testing.T) {
			slow := &holdingStore{release: make(chan struct{}), entered: make(chan struct{})}
			tr := &Tiered{Fast: &MemStore{}, Slow: slow}
			done := make(chan error, 1)
			// The first write reaches Slow first and returns last.
			go func() { done <- tr.Put(ctx, "k", strings.NewReader("first")) }()
			<-slow.entered
			var err error
			if second == "put" {
				err = tr.Put(ctx, "k", strings.NewReader("second"))
			} else {
				err = tr.Delete(ctx, "k")
			}
			if err != nil {
				t.Fatal(err)
			}
			close(slow.release)
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			if second == "put" {
				if got := reader(t)(tr.Get(ctx, "k")); string(got) != "second" {
					t.Fatalf("Tiered.Get = %q after overlapping writes; Slow took %q last", got, "second")
				}
			} else if _, err := tr.Get(ctx, "k"); !errors.Is(err, fs.ErrNotExist) {
				t.Fatalf("Tiered.Get after a Delete that overlapped a Put: %v, want not found", err)
			}
		})
	}
}
