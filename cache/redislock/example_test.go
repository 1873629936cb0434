package redislock_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/modfetch/modfetch/cache"
	"github.com/modfetch/modfetch/cache/redislock"
)

// Replicas that share a store and a Redis agree that one of them fetches
// an uncached module: give each replica's cache.Cache the same Locker.
func Example() {
	locker, err := redislock.Open("redis://localhost:6379/0")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer locker.Close()
	locker.TTL = 15 * time.Second // a replica that dies frees its locks after this

	shared := &cache.MemStore{} // in production, an object store (cache/s3store)
	c := &cache.Cache{Store: shared, Locker: locker}
	_ = c // c.Next = the verifying upstream stack

	// Or by hand: TryLock answers at once.
	lk, err := locker.TryLock(context.Background(), "example.com/m/@v/v1.0.0.zip")
	switch {
	case errors.Is(err, cache.ErrLocked):
		fmt.Println("another replica is fetching it")
	case err != nil:
		fmt.Println("Redis unreachable:", err)
	default:
		defer lk.Unlock(context.Background())
		fmt.Println("ours to fetch")
	}
}
