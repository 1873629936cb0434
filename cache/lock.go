package cache

import (
	"context"
	"errors"
	"net/url"
	"time"
)

// A Locker gives out locks that every process sharing a Store agrees on,
// so that of several replicas of a server only one fetches a given
// uncached answer while the others wait and then read it from the Store
// (see Cache.Locker). The module github.com/modfetch/modfetch/cache/redislock
// implements it on Redis; locktest.Run tests an implementation.
//
// A lock is held for a limited time unless its holder keeps renewing it,
// which a Lock does by itself until it is unlocked: so a holder that dies
// releases its locks by expiry. Implementations are safe for concurrent
// use.
type Locker interface {
	// TryLock takes the lock named key if nobody holds it, and returns it.
	// If another holder has it, TryLock returns an error for which
	// errors.Is(err, ErrLocked) holds, at once. Any other error means the
	// Locker could not tell (its service unreachable, say); a Cache then
	// goes on without it. Keys are Store keys.
	TryLock(ctx context.Context, key string) (Lock, error)
}

// A Lock is a held lock of a Locker.
type Lock interface {
	// Unlock releases the lock if it is still this holder's: a lock that
	// expired and was taken by another holder is left alone. Unlocking
	// twice is not an error.
	Unlock(ctx context.Context) error

	// Lost returns a channel that is closed once the lock is no longer
	// held: unlocked, or not renewed in time.
	Lost() <-chan struct{}
}

// ErrLocked is the error of a TryLock whose lock another holder has.
var ErrLocked = errors.New("cache: lock held by another holder")

// A URLSigner is a Store that can give a client a URL from which to GET
// a stored value directly, for a limited time (an object store's
// presigned URL). A Cache uses it for [Cache.ZipURL].
type URLSigner interface {
	// SignedURL returns a URL that serves the value of key for expiry, or
	// an error for which errors.Is(err, fs.ErrNotExist) holds when key has
	// no value (checked cheaply: an object store's HEAD, not a GET).
	SignedURL(ctx context.Context, key string, expiry time.Duration) (*url.URL, error)
}
