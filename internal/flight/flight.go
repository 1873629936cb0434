// Package flight runs concurrent identical work once. Unlike
// golang.org/x/sync/singleflight, the shared work is detached from any one
// caller's cancellation: it runs with a context that keeps the first
// caller's values but is canceled only when every caller waiting for it has
// given up. Each caller still returns as soon as its own context ends.
package flight

import (
	"context"
	"sync"
)

// A Group runs work keyed by K. The zero value is ready to use.
type Group[K comparable, V any] struct {
	mu    sync.Mutex
	calls map[K]*call[V]
}

type call[V any] struct {
	done    chan struct{}
	val     V
	err     error
	waiters int
	cancel  context.CancelFunc
}

// Do calls fn once for all concurrent callers with the same key and returns
// its results to each. joined reports whether this caller joined a call
// that another caller started. If ctx ends first, Do returns ctx's error; fn keeps running
// for the other callers, and its context is canceled when no caller is left.
// Results are not remembered: a call after fn returned runs fn again.
func (g *Group[K, V]) Do(ctx context.Context, key K, fn func(ctx context.Context) (V, error)) (v V, err error, joined bool) {
	g.mu.Lock()
	if g.calls == nil {
		g.calls = make(map[K]*call[V])
	}
	c, ok := g.calls[key]
	if ok {
		c.waiters++
		g.mu.Unlock()
	} else {
		wctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		c = &call[V]{done: make(chan struct{}), waiters: 1, cancel: cancel}
		g.calls[key] = c
		g.mu.Unlock()
		go func() {
			defer cancel()
			c.val, c.err = fn(wctx)
			g.mu.Lock()
			if g.calls[key] == c {
				delete(g.calls, key)
			}
			g.mu.Unlock()
			close(c.done)
		}()
	}

	select {
	case <-c.done:
		return c.val, c.err, ok
	case <-ctx.Done():
		g.mu.Lock()
		c.waiters--
		if c.waiters == 0 {
			c.cancel()
			if g.calls[key] == c {
				delete(g.calls, key)
			}
		}
		g.mu.Unlock()
		var zero V
		return zero, context.Cause(ctx), false
	}
}

// Waiting returns the number of callers waiting for key's call, zero
// when none runs.
func (g *Group[K, V]) Waiting(key K) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	if c, ok := g.calls[key]; ok {
		return c.waiters
	}
	return 0
}
