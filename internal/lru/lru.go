// Package lru is the one way modfetch bounds what it keeps in memory: a
// map whose entries each have a cost in bytes, holding at most MaxCost of
// them and evicting entries not used recently to make room.
//
// Eviction is CLOCK (second chance), the usual approximation of least
// recently used: entries sit on a ring in the order they were added, a
// hand sweeps it when room is needed, and an entry used since the hand
// last passed is spared once. Reads take a shared lock and set a flag, so
// that a hot cache read by many goroutines at once does not serialise
// them.
package lru

import (
	"sync"
	"sync/atomic"
)

// A Cache maps keys to values, bounded by the sum of the entries' costs.
// Get and Add count as uses. It is safe for concurrent use; it must not
// be copied after first use, and its fields must not change after first
// use.
type Cache[K comparable, V any] struct {
	// MaxCost bounds the sum of the costs of the entries held. Zero or
	// negative means 1 MiB.
	MaxCost int64

	// Cost returns the cost of an entry, usually an estimate of the bytes
	// it holds. Nil means 1 per entry. It must not depend on anything but
	// its arguments.
	Cost func(K, V) int64

	mu    sync.RWMutex
	m     map[K]*entry[K, V]
	hand  *entry[K, V] // the next entry the sweep looks at; nil when empty
	total int64
}

type entry[K comparable, V any] struct {
	key        K
	val        V
	cost       int64
	used       atomic.Bool // used since the hand last passed
	prev, next *entry[K, V]
}

func (c *Cache[K, V]) limit() int64 {
	if c.MaxCost <= 0 {
		return 1 << 20
	}
	return c.MaxCost
}

func (c *Cache[K, V]) cost(k K, v V) int64 {
	if c.Cost == nil {
		return 1
	}
	return max(0, c.Cost(k, v))
}

// Get returns the value of key and whether there is one, marking it as
// used.
func (c *Cache[K, V]) Get(key K) (V, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	e, ok := c.m[key]
	if !ok {
		var zero V
		return zero, false
	}
	if !e.used.Load() {
		e.used.Store(true)
	}
	return e.val, true
}

// Add sets the value of key, evicting entries not used recently until the
// total cost is within MaxCost. It reports whether the value is held: a
// value whose cost alone exceeds MaxCost is not, and then the cache is
// left as it was (an older value of key stays).
func (c *Cache[K, V]) Add(key K, val V) bool {
	cost := c.cost(key, val)
	limit := c.limit()
	if cost > limit {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = make(map[K]*entry[K, V])
	}
	e, ok := c.m[key]
	if ok {
		c.total += cost - e.cost
		e.val, e.cost = val, cost
		e.used.Store(true)
	} else {
		e = &entry[K, V]{key: key, val: val, cost: cost}
		c.m[key] = e
		c.total += cost
		c.insert(e)
	}
	// e fits alone and is never the one evicted, so this ends.
	for c.total > limit {
		victim := c.hand
		c.hand = victim.next
		if victim == e {
			continue
		}
		if victim.used.Load() {
			victim.used.Store(false)
			continue
		}
		c.remove(victim)
	}
	return true
}

// Remove deletes key's entry, if any.
func (c *Cache[K, V]) Remove(key K) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[key]; ok {
		c.remove(e)
	}
}

// RemoveIf deletes the entries for which f returns true. f runs with the
// cache locked and must not call its methods.
func (c *Cache[K, V]) RemoveIf(f func(K, V) bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, e := range c.m {
		if f(k, e.val) {
			c.remove(e)
		}
	}
}

// Len returns the number of entries.
func (c *Cache[K, V]) Len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.m)
}

// Total returns the sum of the entries' costs.
func (c *Cache[K, V]) Total() int64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.total
}

// insert puts e on the ring just behind the hand: the sweep reaches it
// last. c.mu is held.
func (c *Cache[K, V]) insert(e *entry[K, V]) {
	if c.hand == nil {
		e.prev, e.next = e, e
		c.hand = e
		return
	}
	e.prev, e.next = c.hand.prev, c.hand
	e.prev.next, e.next.prev = e, e
}

// remove drops e from the ring and the map. c.mu is held.
func (c *Cache[K, V]) remove(e *entry[K, V]) {
	if e.next == e {
		c.hand = nil
	} else {
		if c.hand == e {
			c.hand = e.next
		}
		e.prev.next, e.next.prev = e.next, e.prev
	}
	e.prev, e.next = nil, nil
	delete(c.m, e.key)
	c.total -= e.cost
}
