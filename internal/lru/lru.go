// Package lru is the one way modfetch bounds what it keeps in memory: a
// map whose entries each have a cost in bytes, holding at most MaxCost of
// them and evicting the least recently used entries to make room.
package lru

import "sync"

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

	mu    sync.Mutex
	m     map[K]*entry[K, V]
	root  entry[K, V] // sentinel: root.next is the most recently used
	total int64
}

type entry[K comparable, V any] struct {
	key        K
	val        V
	cost       int64
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
// recently used.
func (c *Cache[K, V]) Get(key K) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[key]
	if !ok {
		var zero V
		return zero, false
	}
	c.moveToFront(e)
	return e.val, true
}

// Add sets the value of key, evicting least recently used entries until
// the total cost is within MaxCost. It reports whether the value is held:
// a value whose cost alone exceeds MaxCost is not, and then the cache is
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
		c.root.next, c.root.prev = &c.root, &c.root
	}
	if e, ok := c.m[key]; ok {
		c.total += cost - e.cost
		e.val, e.cost = val, cost
		c.moveToFront(e)
	} else {
		e := &entry[K, V]{key: key, val: val, cost: cost}
		c.m[key] = e
		c.total += cost
		c.insertFront(e)
	}
	// The new entry is at the front and fits alone, so this stops before
	// reaching it.
	for c.total > limit {
		c.remove(c.root.prev)
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
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}

// Total returns the sum of the entries' costs.
func (c *Cache[K, V]) Total() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.total
}

func (c *Cache[K, V]) insertFront(e *entry[K, V]) {
	e.prev, e.next = &c.root, c.root.next
	e.prev.next, e.next.prev = e, e
}

func (c *Cache[K, V]) moveToFront(e *entry[K, V]) {
	if c.root.next == e {
		return
	}
	e.prev.next, e.next.prev = e.next, e.prev
	c.insertFront(e)
}

func (c *Cache[K, V]) remove(e *entry[K, V]) {
	e.prev.next, e.next.prev = e.next, e.prev
	e.prev, e.next = nil, nil
	delete(c.m, e.key)
	c.total -= e.cost
}
