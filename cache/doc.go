// Package cache keeps module answers so that they are fetched once: a
// [Cache] decorator over any modfetch.Resolver, and the [Store] media it
// keeps them in.
//
// # Caching by mutability
//
// The .info, .mod and .zip of a canonical version never change, so a
// [Cache] keeps them forever. Version lists, @latest and the resolution of
// branches and commit hashes do change: they are reused for a time-to-live.
// Not-found answers are remembered briefly, in memory only; failures are
// never remembered. Identical requests in flight at the same time are
// merged into one, which runs to completion for the callers still waiting
// even when the first caller gives up.
//
// A Cache stores whatever its Resolver returns; put it above
// checksum.Verify so that only verified bytes are kept.
//
// # Stores
//
// A [Store] is three byte-oriented methods (Get, Put, Delete) under
// slash-separated keys. Put is all or nothing and streams its input.
// [DirStore] keeps values on disk in the go command's exact module cache
// layout ($GOMODCACHE/cache/download): the go command can read what it
// wrote and the other way round, and the directory works as a file://
// GOPROXY. [MemStore] keeps values in memory, bounded by size, evicting the
// least recently used. Package cachetest is the conformance suite every
// Store passes.
//
// # Layers
//
// Caching is layers on that one contract. [Cache] keeps the policy
// (what is immutable, what expires, what was not found) and merges
// identical requests; the rest are Stores that wrap Stores:
//
//   - [Tiered] keeps small values in a fast store (a MemStore) in front of
//     a slow one, so hot .info, .mod and checksum database answers are
//     served from memory while zips stay on disk or in an object store;
//   - [WriteBehind] returns from Put before a slow store has the value,
//     serving it from where it holds it meanwhile, bounded in bytes.
//
// checksum.DB keeps the lookups and tiles it authenticated in a Store
// too, and proxy.Handler serves hot answers straight from the memory tier,
// so that one MemStore bounds the memory of the whole server:
//
//	mem := &cache.MemStore{MaxBytes: 64 << 20}
//	disk := &cache.WriteBehind{Next: &cache.DirStore{Dir: dir}}
//	store := &cache.Tiered{Fast: mem, Slow: disk}
//	// cache.Cache{Store: store}, checksum.DB{Store: store},
//	// proxy.Handler{Memory: mem}
package cache
