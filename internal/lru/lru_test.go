package lru

import (
	"fmt"
	"slices"
	"sync"
	"testing"
)

// keys returns c's keys, sorted, checking that the ring holds exactly
// the map's entries.
func keys(t *testing.T, c *Cache[string, int]) []string {
	t.Helper()
	c.mu.RLock()
	defer c.mu.RUnlock()
	var ks []string
	if e := c.hand; e != nil {
		for {
			ks = append(ks, e.key)
			if c.m[e.key] != e || e.next.prev != e {
				t.Fatalf("ring entry %q is not the map's, or badly linked", e.key)
			}
			if e = e.next; e == c.hand {
				break
			}
		}
	}
	if len(ks) != len(c.m) {
		t.Fatalf("ring holds %d entries, map %d", len(ks), len(c.m))
	}
	slices.Sort(ks)
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
		keys  []string // sorted
		total int64
	}{
		{"fits", 10, []op{{"add", "a", 3, true}, {"add", "b", 3, true}, {"add", "c", 4, true}}, []string{"a", "b", "c"}, 10},
		{"evicts the oldest unused", 10, []op{{"add", "a", 3, true}, {"add", "b", 3, true}, {"add", "c", 5, true}}, []string{"b", "c"}, 8},
		{"spares what was used", 10, []op{{"add", "a", 3, true}, {"add", "b", 3, true}, {"get", "a", 0, true}, {"add", "c", 5, true}}, []string{"a", "c"}, 8},
		{"spares once", 3, []op{{"add", "a", 1, true}, {"add", "b", 1, true}, {"add", "c", 1, true}, {"get", "a", 0, true}, {"get", "b", 0, true}, {"get", "c", 0, true}, {"add", "d", 1, true}}, []string{"b", "c", "d"}, 3},
		{"evicts several", 10, []op{{"add", "a", 3, true}, {"add", "b", 3, true}, {"add", "c", 3, true}, {"add", "d", 9, true}}, []string{"d"}, 9},
		{"never the new value", 10, []op{{"add", "a", 3, true}, {"get", "a", 0, true}, {"add", "b", 10, true}}, []string{"b"}, 10},
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
			if got := keys(t, c); !slices.Equal(got, tt.keys) {
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
	if got := keys(t, c); !slices.Equal(got, []string{"1", "3", "5", "7", "9"}) {
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
	if n := len(keys(t, c)); sum != c.Total() || sum > 50 || n != c.Len() {
		t.Fatalf("after concurrent use: entries cost %d, Total %d, ring %d, map %d (max 50)", sum, c.Total(), n, c.Len())
	}
}
