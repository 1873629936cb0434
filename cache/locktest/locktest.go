package locktest

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modfetch/modfetch/cache"
)

// Options describe the Locker under test.
type Options struct {
	// TTL is the expiry the Lockers from newLocker give a lock that is
	// not renewed. The suite's waits are bounded by multiples of it, so
	// keep it short (a second, say). Required.
	TTL time.Duration

	// Vanish makes a lock's holder disappear as a killed process does:
	// it stops renewing the lock without releasing it. Required.
	//
	// A vanished holder observes nothing more, so the suite does not
	// expect its Lost channel to close when the lock expires or another
	// holder takes it; it does expect Lost to be closed once the
	// vanished holder's late Unlock returns (which must leave the new
	// holder's lock alone).
	Vanish func(cache.Lock)
}

// Run runs the conformance tests as subtests of t. newLocker returns a
// fresh Locker whose keys no other Locker from an earlier call sees (a
// unique key prefix); two calls within one subtest must share their
// locks, as two processes sharing the service do, so newLocker is called
// once per subtest and the suite makes its second holder with the same
// Locker.
func Run(t *testing.T, newLocker func(t *testing.T) cache.Locker, opts Options) {
	t.Helper()
	if opts.TTL <= 0 || opts.Vanish == nil {
		t.Fatal("locktest: Options.TTL and Options.Vanish are required")
	}
	tests := []struct {
		name string
		fn   func(*testing.T, cache.Locker, Options)
	}{
		{"TryLock", testTryLock},
		{"Unlock", testUnlock},
		{"DoubleUnlock", testDoubleUnlock},
		{"Exclusion", testExclusion},
		{"Renewal", testRenewal},
		{"Vanished", testVanished},
		{"Lost", testLost},
		{"Canceled", testCanceled},
		{"StoreKeys", testStoreKeys},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, newLocker(t), opts) })
	}
}

var bg = context.Background()

func lock(t *testing.T, l cache.Locker, key string) cache.Lock {
	t.Helper()
	lk, err := l.TryLock(bg, key)
	if err != nil {
		t.Fatalf("TryLock(%q) of a free lock: %v", key, err)
	}
	if lk == nil {
		t.Fatalf("TryLock(%q) = nil, nil", key)
	}
	return lk
}

func wantLocked(t *testing.T, l cache.Locker, key, when string) {
	t.Helper()
	lk, err := l.TryLock(bg, key)
	if !errors.Is(err, cache.ErrLocked) {
		if lk != nil {
			lk.Unlock(bg)
		}
		t.Fatalf("%s: TryLock(%q) = %v, %v; want ErrLocked", when, key, lk, err)
	}
	if lk != nil {
		t.Fatalf("%s: TryLock(%q) returned a lock with ErrLocked", when, key)
	}
}

func testTryLock(t *testing.T, l cache.Locker, _ Options) {
	a := lock(t, l, "k/one")
	defer a.Unlock(bg)
	wantLocked(t, l, "k/one", "while held")
	b := lock(t, l, "k/two") // another key is independent
	defer b.Unlock(bg)
}

func testUnlock(t *testing.T, l cache.Locker, _ Options) {
	a := lock(t, l, "k")
	if err := a.Unlock(bg); err != nil {
		t.Fatalf("Unlock: %v", err)
	}
	b := lock(t, l, "k")
	b.Unlock(bg)
}

func testDoubleUnlock(t *testing.T, l cache.Locker, _ Options) {
	a := lock(t, l, "k")
	if err := a.Unlock(bg); err != nil {
		t.Fatal(err)
	}
	b := lock(t, l, "k")
	defer b.Unlock(bg)
	if err := a.Unlock(bg); err != nil {
		t.Fatalf("second Unlock: %v, want nil", err)
	}
	wantLocked(t, l, "k", "after an old holder unlocked twice")
}

func testExclusion(t *testing.T, l cache.Locker, _ Options) {
	const workers, rounds = 16, 10
	var inside, maxInside, acquired atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for range workers {
		wg.Go(func() {
			for range rounds {
				var lk cache.Lock
				for {
					var err error
					lk, err = l.TryLock(bg, "contended")
					if err == nil {
						break
					}
					if !errors.Is(err, cache.ErrLocked) {
						errs <- err
						return
					}
					time.Sleep(time.Millisecond) // retry pacing, not a proof
				}
				n := inside.Add(1)
				for {
					m := maxInside.Load()
					if n <= m || maxInside.CompareAndSwap(m, n) {
						break
					}
				}
				acquired.Add(1)
				runtime.Gosched() // let a wrongly admitted holder in
				inside.Add(-1)
				if err := lk.Unlock(bg); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if m := maxInside.Load(); m != 1 {
		t.Errorf("%d holders at once, want 1", m)
	}
	if n := acquired.Load(); n != workers*rounds {
		t.Errorf("%d acquisitions, want %d", n, workers*rounds)
	}
}

func testRenewal(t *testing.T, l cache.Locker, opts Options) {
	a := lock(t, l, "k")
	defer a.Unlock(bg)
	// Held for three TTLs: another holder is refused all along.
	start := time.Now()
	end := start.Add(3 * opts.TTL)
	checks := 0
	for time.Now().Before(end) {
		wantLocked(t, l, "k", fmt.Sprintf("%v into a held lock (TTL %v)", time.Since(start).Round(time.Millisecond), opts.TTL))
		checks++
		time.Sleep(opts.TTL / 4)
	}
	select {
	case <-a.Lost():
		t.Fatal("a renewed lock reports itself lost")
	default:
	}
	if checks < 8 {
		t.Fatalf("only %d checks in three TTLs", checks)
	}
}

// waitFree polls TryLock until it gets key's lock, for at most 10 TTLs.
func waitFree(t *testing.T, l cache.Locker, key string, opts Options) cache.Lock {
	t.Helper()
	deadline := time.Now().Add(10*opts.TTL + 5*time.Second)
	for {
		lk, err := l.TryLock(bg, key)
		if err == nil {
			return lk
		}
		if !errors.Is(err, cache.ErrLocked) {
			t.Fatal(err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("the lock of %q still held %v after its holder vanished (TTL %v)", key, time.Since(deadline.Add(-10*opts.TTL-5*time.Second)), opts.TTL)
		}
		time.Sleep(opts.TTL / 10)
	}
}

func testVanished(t *testing.T, l cache.Locker, opts Options) {
	// start is taken before the lock, so d below is never less than
	// the time the lock was held.
	start := time.Now()
	a := lock(t, l, "k")
	opts.Vanish(a)
	b := waitFree(t, l, "k", opts)
	defer b.Unlock(bg)
	if d := time.Since(start); d < opts.TTL/2 {
		t.Errorf("a vanished holder's lock was free after %v, before its TTL %v", d, opts.TTL)
	}
	// The vanished holder's late Unlock leaves b's lock alone.
	if err := a.Unlock(bg); err != nil {
		t.Errorf("the vanished holder's late Unlock: %v", err)
	}
	wantLocked(t, l, "k", "after the vanished holder's late Unlock")
	select {
	case <-b.Lost():
		t.Fatal("the new holder's lock reports itself lost after the vanished holder's Unlock")
	default:
	}
}

func testLost(t *testing.T, l cache.Locker, opts Options) {
	a := lock(t, l, "k")
	a.Unlock(bg)
	select {
	case <-a.Lost():
	case <-time.After(5 * time.Second):
		t.Fatal("Lost not closed after Unlock")
	}
	// A lock taken over by another holder after it expired is lost.
	b := lock(t, l, "k2")
	opts.Vanish(b)
	c := waitFree(t, l, "k2", opts)
	defer c.Unlock(bg)
	select {
	case <-c.Lost():
		t.Fatal("the new holder's lock reports itself lost")
	default:
	}
	// The vanished holder's late Unlock closes its own Lost.
	b.Unlock(bg)
	select {
	case <-b.Lost():
	case <-time.After(5 * time.Second):
		t.Fatal("Lost of a vanished holder's lock not closed after its late Unlock")
	}
	select {
	case <-c.Lost():
		t.Fatal("the new holder's lock reports itself lost after the old holder's Unlock")
	default:
	}
}

func testCanceled(t *testing.T, l cache.Locker, _ Options) {
	ctx, cancel := context.WithCancel(bg)
	cancel()
	lk, err := l.TryLock(ctx, "k")
	if err == nil || errors.Is(err, cache.ErrLocked) || lk != nil {
		if lk != nil {
			lk.Unlock(bg)
		}
		t.Fatalf("TryLock with a canceled context = %v, %v; want an error other than ErrLocked", lk, err)
	}
	// And nothing was taken.
	lock(t, l, "k").Unlock(bg)
}

func testStoreKeys(t *testing.T, l cache.Locker, _ Options) {
	keys := []string{
		"github.com/!burnt!sushi/toml/@v/v1.3.2.zip",
		"github.com/!burnt!sushi/toml/@v/v1.3.2.mod",
		"golang.org/x/mod/@v/v0.0.0-20240101000000-abcdefabcdef.info",
		"gopkg.in/yaml.v3/@v/v3.0.1+incompatible.zip",
	}
	var held []cache.Lock
	for _, k := range keys {
		held = append(held, lock(t, l, k))
	}
	for _, k := range keys {
		wantLocked(t, l, k, "while held")
	}
	for _, lk := range held {
		lk.Unlock(bg)
	}
}
