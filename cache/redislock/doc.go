// Package redislock implements cache.Locker on Redis, so that replicas
// of a module proxy sharing an object store fetch each uncached module
// once: the replica holding a module's lock fetches it, the others wait
// and read it from the store.
//
// A lock is a Redis key set with SET NX PX to a random token: it expires
// after TTL unless its holder renews it, which a Lock does every TTL/3
// while it is held (a compare of the token, then PEXPIRE, in one script).
// Unlock deletes the key only if it still holds the token (a compare and
// delete in one script), so a holder that dies releases its locks by
// expiry, and a slow holder whose lock expired never deletes the lock
// another holder took since. A renewal that finds the token gone, or that
// cannot reach Redis until the lock would have expired, closes the
// Lock's Lost channel.
//
// Any error but cache.ErrLocked (Redis unreachable, say) tells a
// cache.Cache to go on without the lock, each process merging its own
// requests, until Redis answers again.
//
// go-redis logs failed dials to its own package-wide logger (standard
// error by default); this package never changes it. A program that wants
// those lines elsewhere calls redis.SetLogger itself.
//
// The tests run against a real Redis whose address is in
// MODFETCH_TEST_REDIS (". .ci/services start" starts one); they skip
// without it, and fail without it when MODFETCH_TEST_SERVICES=required.
package redislock
