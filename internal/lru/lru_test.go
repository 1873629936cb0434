package lru

import (
	"fmt"
	"slices"
	"sync"
	"testing"
)

// keys returns c's keys from most to least recently used.
func keys(c *Cache[string, int]) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var ks []string
	if c.m == nil {
		return nil
	}
	for e := c.root.next; e != &c.root; e = e.next {
		ks = append(ks, e.key)
	}
	return ks
}

func TestCache(t *testing.T) {
	type op struct {
		do   string // "add", "get", "remove"
		key  string
		val  int // for add: the value, which is also its cost
		want bool
	}
	for _, tt := range []struct {
		name  string
		max   int64
		ops   []op
		keys  []string // most recently used first
		total int64
	}{
		{"fits", 10, []op{{"add", "a", 3, true}, {"add", "b", 3, true}, {"add", "c", 4, true}}, []string{"c", "b", "a"}, 10},
		{"evicts least recently used", 10, []op{{"add", "a", 3, true}, {"add", "b", 3, true}, {"get", "a", 0, true}, {"add", "c", 5, true}}, []string{"c", "a"}, 8},
		{"evicts several", 10, []op{{"add", "a", 3, true}, {"add", "b", 3, true}, {"add", "c", 3, true}, {"add", "d", 9, true}}, []string{"d"}, 9},
		{"replace changes cost", 10, []op{{"add", "a", 3, true}, {"add", "b", 3, true}, {"add", "a", 7, true}}, []string{"a", "b"}, 10},
		{"too large is refused, old value kept", 10, []op{{"add", "a", 3, true}, {"add", "a", 11, false}, {"get", "a", 0, true}}, []string{"a"}, 3},
		{"remove", 10, []op{{"add", "a", 3, true}, {"add", "b", 3, true}, {"remove", "a", 0, false}, {"get", "a", 0, false}}, []string{"b"}, 3},
		{"remove missing", 10, []op{{"remove", "a", 0, false}, {"get", "a", 0, false}}, nil, 0},
		{"zero max is 1 MiB", 0, []op{{"add", "a", 1 << 20, true}, {"add", "b", 1, true}}, []string{"b"}, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := &Cache[string, int]{MaxCost: tt.max, Cost: func(_ string, v int) int64 { return int64(v) }}
			for i, o := range tt.ops {
				switch o.do {
				case "add":
					if got := c.Add(o.key, o.val); got != o.want {
						t.Fatalf("op %d: Add(%q, %d) = %v", i, o.key, o.val, got)
					}
				case "get":
					if _, got := c.Get(o.key); got != o.want {
						t.Fatalf("op %d: Get(%q) found = %v", i, o.key, got)
					}
				case "remove":
					c.Remove(o.key)
				}
			}
			if got := keys(c); !slices.Equal(got, tt.keys) {
				t.Errorf("keys = %q, want %q", got, tt.keys)
			}
			if c.Total() != tt.total || c.Len() != len(tt.keys) {
				t.Errorf("Total, Len = %d, %d; want %d, %d", c.Total(), c.Len(), tt.total, len(tt.keys))
			}
		})
	}
}

func TestCacheRemoveIf(t *testing.T) {
	c := &Cache[string, int]{MaxCost: 100}
	for i := range 10 {
		c.Add(fmt.Sprint(i), i)
	}
	c.RemoveIf(func(_ string, v int) bool { return v%2 == 0 })
	if got := keys(c); !slices.Equal(got, []string{"9", "7", "5", "3", "1"}) {
		t.Errorf("keys after RemoveIf = %q", got)
	}
	if c.Total() != 5 {
		t.Errorf("Total = %d, want 5 (default cost 1 each)", c.Total())
	}
}

// TestCacheConcurrent: concurrent use keeps the bound and the books.
func TestCacheConcurrent(t *testing.T) {
	c := &Cache[string, int]{MaxCost: 50, Cost: func(_ string, v int) int64 { return int64(v%7 + 1) }}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 2000 {
				k := fmt.Sprint((g*31 + i) % 97)
				switch i % 3 {
				case 0:
					c.Add(k, i)
				case 1:
					c.Get(k)
				case 2:
					c.Remove(k)
				}
			}
		})
	}
	wg.Wait()
	var sum int64
	c.mu.Lock()
	for _, e := range c.m {
		sum += e.cost
	}
	c.mu.Unlock()
	if sum != c.Total() || sum > 50 || len(keys(c)) != c.Len() {
		t.Fatalf("after concurrent use: entries cost %d, Total %d, list %d, map %d (max 50)", sum, c.Total(), len(keys(c)), c.Len())
	}
}
