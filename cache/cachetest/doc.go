// Package cachetest is the conformance suite for implementations of
// [cache.Store]. Every Store in this module runs it, and so should every
// Store written elsewhere: a Store that passes can back a [cache.Cache]
// and be served by the proxy without surprises.
//
// # Running the suite
//
// Call [Run] from a test with a function that makes a fresh, empty store
// for each subtest:
//
//	func TestStore(t *testing.T) {
//		cachetest.Run(t, func(t *testing.T) cache.Store {
//			return &cache.DirStore{Dir: t.TempDir()}
//		}, cachetest.Options{})
//	}
//
// Run reports each property as a subtest with a short name, so a single
// one can be selected with go test -run 'TestStore/Overwrite'. Failures
// describe values by length and first differing offset rather than
// printing them.
//
// # What a Store must do
//
// The suite checks the contract written on [cache.Store]:
//
//   - Round trips: a value read back is the value stored, byte for byte,
//     including the empty value; Put replaces (a shorter value leaves no
//     tail of the longer one); Delete removes, and deleting a missing key
//     succeeds. A miss is an error satisfying errors.Is(err,
//     fs.ErrNotExist).
//   - Keys: the awkward but valid keys of the go command's layout (case
//     escapes with "!", "+incompatible", "~", pseudo-versions, checksum
//     database tiles, deep paths, long elements, keys sharing a prefix)
//     round-trip without colliding; invalid keys (empty, absolute, with
//     empty, "." or ".." elements, with a backslash or NUL) are refused by
//     Put, Get and Delete, and Put stores nothing under any key they
//     resemble.
//   - All or nothing: a Put whose reader fails, or whose context is
//     canceled before or while it reads, returns an error wrapping the cause
//     (the reader's error or context.Canceled) and leaves the previous
//     value, or its absence, untouched.
//   - Concurrency: while writers replace a value with self-checking values
//     (each carries its length and SHA-256), every Get returns one of the
//     written values whole; concurrent Puts of many keys all land.
//   - Snapshots: a reader returned by Get keeps reading the value it
//     opened after the key is overwritten and deleted.
//   - Optional reader methods: if the reader implements Stat, io.ReaderAt
//     or io.Seeker, they agree with the value.
//   - Streaming: a large value, made on the fly by a seeded generator,
//     goes through Put and back through Get with its SHA-256 intact, and
//     neither direction allocates more than a quarter of its size.
//
// # Options
//
// A store that cannot hold values of any size says so in [Options]: with
// MaxValueSize set, the large-value test instead expects Put to refuse a
// value over the limit, store nothing, and stop reading soon after the
// limit. A store that keeps values in memory necessarily allocates their
// size, so it runs the suite with a MaxValueSize below LargeSize. Nothing
// else is optional: the suite skips no test.
//
// # Running alongside other tests
//
// The streaming test measures the allocations of the whole process, so
// Run never calls t.Parallel, and a test calling Run should not call it
// either.
package cachetest
