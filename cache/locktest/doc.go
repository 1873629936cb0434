// Package locktest is the conformance suite for implementations of
// cache.Locker, the locks by which replicas sharing a store agree that
// one of them fetches an uncached answer. Run calls each test with a fresh
// Locker:
//
//	func TestConformance(t *testing.T) {
//		locktest.Run(t, func(t *testing.T) cache.Locker { return newLocker(t, time.Second) },
//			locktest.Options{TTL: time.Second, Vanish: vanish})
//	}
//
// The tests check that TryLock answers at once (ErrLocked when another
// holder has the lock), that locks exclude each other under contention,
// that a held lock is renewed past its TTL, that a vanished holder's lock
// expires and its late Unlock leaves the next holder's lock alone, that
// Lost is closed once a lock is unlocked, and that a canceled context gets
// an error, not a lock. See [Options.Vanish] for what the suite expects of
// a vanished holder's Lost channel.
package locktest
