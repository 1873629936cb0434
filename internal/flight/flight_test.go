package flight

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modfetch/modfetch/internal/fixture"
)

func TestDoMergesConcurrentCalls(t *testing.T) {
	var g Group[string, int]
	var calls atomic.Int32
	release := make(chan struct{})
	var wg sync.WaitGroup
	results := make(chan int, 10)
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, err, _ := g.Do(context.Background(), "k", func(ctx context.Context) (int, error) {
				calls.Add(1)
				<-release
				return 42, nil
			})
			if err != nil {
				t.Error(err)
			}
			results <- v
		}()
	}
	fixture.WaitFor(t, "every caller to wait", func() bool { return g.Waiting("k") == 10 })
	close(release)
	wg.Wait()
	close(results)
	for v := range results {
		if v != 42 {
			t.Fatalf("v = %d", v)
		}
	}
	if n := calls.Load(); n != 1 {
		t.Fatalf("fn ran %d times", n)
	}
	// Results are not remembered.
	g.Do(context.Background(), "k", func(ctx context.Context) (int, error) { calls.Add(1); return 0, nil })
	if n := calls.Load(); n != 2 {
		t.Fatalf("fn ran %d times after the first call ended", n)
	}
}

func TestDoDetachedFromOneCaller(t *testing.T) {
	var g Group[string, string]
	started := make(chan context.Context, 1)
	release := make(chan struct{})
	fn := func(ctx context.Context) (string, error) {
		started <- ctx
		<-release
		return "done", ctx.Err()
	}
	ctx1, cancel1 := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err, _ := g.Do(ctx1, "k", fn)
		errc <- err
	}()
	fnCtx := <-started
	second := make(chan string, 1)
	go func() {
		v, _, _ := g.Do(context.Background(), "k", fn)
		second <- v
	}()
	fixture.WaitFor(t, "the second caller to wait", func() bool { return g.Waiting("k") == 2 })
	cancel1()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("first caller: %v", err)
	}
	if fnCtx.Err() != nil {
		t.Fatal("fn canceled although a caller still waits")
	}
	close(release)
	if v := <-second; v != "done" {
		t.Fatalf("second caller got %q", v)
	}
}

func TestDoCanceledWhenEveryCallerLeaves(t *testing.T) {
	var g Group[string, int]
	started := make(chan context.Context, 1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		g.Do(ctx, "k", func(fctx context.Context) (int, error) {
			started <- fctx
			<-fctx.Done()
			return 0, fctx.Err()
		})
		close(done)
	}()
	fnCtx := <-started
	cancel()
	<-done
	select {
	case <-fnCtx.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("fn not canceled")
	}
	// Values of the first caller's context are kept.
	type key struct{}
	vctx := context.WithValue(context.Background(), key{}, "v")
	g.Do(vctx, "k2", func(fctx context.Context) (int, error) {
		if fctx.Value(key{}) != "v" {
			t.Error("context values lost")
		}
		return 0, nil
	})
}
