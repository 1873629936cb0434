// Package background runs a bounded number of detached tasks, such as
// write-behind cache writes, and lets their owner wait for them.
package background

import (
	"context"
	"sync"
)

// A Group runs at most its limit of tasks at once. Use New to make one.
type Group struct {
	limit int

	mu      sync.Mutex
	running int
	idle    chan struct{} // closed when running drops to zero; nil while zero
}

// New returns a Group running at most limit tasks at once.
func New(limit int) *Group {
	return &Group{limit: limit}
}

// TryGo runs f in a new goroutine if fewer than the limit are running,
// and reports whether it did; if not, the caller does the work itself.
func (g *Group) TryGo(f func()) bool {
	g.mu.Lock()
	if g.running >= g.limit {
		g.mu.Unlock()
		return false
	}
	if g.running == 0 {
		g.idle = make(chan struct{})
	}
	g.running++
	g.mu.Unlock()
	go func() {
		defer g.done()
		f()
	}()
	return true
}

func (g *Group) done() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.running--
	if g.running == 0 {
		close(g.idle)
		g.idle = nil
	}
}

// Wait waits until no task is running, or until ctx ends (returning its
// cause). Tasks started while it waits are waited for too.
func (g *Group) Wait(ctx context.Context) error {
	for {
		g.mu.Lock()
		idle := g.idle
		g.mu.Unlock()
		if idle == nil {
			return nil
		}
		select {
		case <-idle:
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}
}
