package background

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

func TestGroupLimitAndWait(t *testing.T) {
	g := New(2)
	release := make(chan struct{})
	var done atomic.Int32
	for range 2 {
		if !g.TryGo(func() { <-release; done.Add(1) }) {
			t.Fatal("TryGo refused below the limit")
		}
	}
	if g.TryGo(func() {}) {
		t.Fatal("TryGo ran a task over the limit")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := g.Wait(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Wait with tasks running = %v", err)
	}
	close(release)
	if err := g.Wait(context.Background()); err != nil || done.Load() != 2 {
		t.Fatalf("Wait = %v, %d tasks done", err, done.Load())
	}
	if !g.TryGo(func() {}) {
		t.Fatal("TryGo refused after the tasks ended")
	}
}
