package locktest_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/modfetch/modfetch/cache"
	"github.com/modfetch/modfetch/cache/locktest"
)

// memLocker is a reference cache.Locker in memory with the semantics of
// a lock service: entries expire after ttl unless renewed, and a token
// compare guards renewal and release.
type memLocker struct {
	ttl  time.Duration
	mu   sync.Mutex
	next uint64
	held map[string]entry
}

type entry struct {
	token   uint64
	expires time.Time
}

type memLock struct {
	l     *memLocker
	key   string
	token uint64

	lost     chan struct{}
	lostOnce sync.Once
	stop     chan struct{}
	stopOnce sync.Once
	done     chan struct{}
}

func (m *memLocker) TryLock(ctx context.Context, key string) (cache.Lock, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if e, ok := m.held[key]; ok && time.Now().Before(e.expires) {
		return nil, fmt.Errorf("memLocker: %s: %w", key, cache.ErrLocked)
	}
	m.next++
	m.held[key] = entry{m.next, time.Now().Add(m.ttl)}
	lk := &memLock{l: m, key: key, token: m.next, lost: make(chan struct{}), stop: make(chan struct{}), done: make(chan struct{})}
	go lk.renew()
	return lk, nil
}

func (lk *memLock) renew() {
	defer close(lk.done)
	t := time.NewTicker(lk.l.ttl / 3)
	defer t.Stop()
	for {
		select {
		case <-lk.stop:
			return
		case <-t.C:
		}
		m := lk.l
		m.mu.Lock()
		e, ok := m.held[lk.key]
		ours := ok && e.token == lk.token && time.Now().Before(e.expires)
		if ours {
			m.held[lk.key] = entry{lk.token, time.Now().Add(m.ttl)}
		}
		m.mu.Unlock()
		if !ours {
			lk.markLost()
			return
		}
	}
}

func (lk *memLock) markLost() { lk.lostOnce.Do(func() { close(lk.lost) }) }

func (lk *memLock) halt() {
	lk.stopOnce.Do(func() { close(lk.stop) })
	<-lk.done
}

func (lk *memLock) Unlock(ctx context.Context) error {
	lk.halt()
	m := lk.l
	m.mu.Lock()
	if e, ok := m.held[lk.key]; ok && e.token == lk.token {
		delete(m.held, lk.key)
	}
	m.mu.Unlock()
	lk.markLost()
	return nil
}

func (lk *memLock) Lost() <-chan struct{} { return lk.lost }

// TestReference runs the suite against memLocker, a correct Locker.
func TestReference(t *testing.T) {
	const ttl = time.Second
	locktest.Run(t, func(t *testing.T) cache.Locker {
		return &memLocker{ttl: ttl, held: map[string]entry{}}
	}, locktest.Options{TTL: ttl, Vanish: func(lk cache.Lock) { lk.(*memLock).halt() }})
}
