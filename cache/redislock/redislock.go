package redislock

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/modfetch/modfetch/cache"
)

// Defaults for a Locker's zero fields.
const (
	DefaultTTL    = 15 * time.Second
	DefaultPrefix = "modfetch:lock:"
)

// A Locker gives out locks kept in Redis. Set Client; the other fields
// have defaults. Set the fields before first use.
type Locker struct {
	// Client is the Redis client. Give it ContextTimeoutEnabled (Open
	// does), so that a renewal is abandoned when the lock would expire
	// and Unlock stops a renewal in flight at once; without it a stalled
	// Redis holds them for the client's read timeout.
	Client redis.UniversalClient

	// Prefix is put before every key; several independent groups of
	// replicas can share one Redis with different prefixes. Empty means
	// DefaultPrefix.
	Prefix string

	// TTL is how long a lock lives unless renewed; its holder renews it
	// every TTL/3. Zero means DefaultTTL.
	TTL time.Duration

	closeClient bool // Open made the client: Close closes it
}

// Open returns a Locker on the Redis at rawURL,
// redis://[[USER]:PASSWORD@]HOST:PORT[/DB] (rediss:// for TLS), with the
// client options redis.ParseURL takes from its query. It does not
// connect: the first TryLock does.
//
// A lock is a quick decision, and a Cache goes on without one when Redis
// does not answer, so where the URL does not say otherwise Open sets the
// dial, read and write timeouts to 2 s and dials once per command rather
// than go-redis's 5 times. It always sets ContextTimeoutEnabled. Close the Locker when done with it.
func Open(rawURL string) (*Locker, error) {
	opt, err := redis.ParseURL(rawURL)
	if err != nil {
		return nil, fmt.Errorf("redislock: %w", err)
	}
	if opt.DialTimeout == 0 {
		opt.DialTimeout = 2 * time.Second
	}
	if opt.ReadTimeout == 0 {
		opt.ReadTimeout = 2 * time.Second
	}
	if opt.WriteTimeout == 0 {
		opt.WriteTimeout = 2 * time.Second
	}
	if opt.DialerRetries == 0 {
		opt.DialerRetries = 1
	}
	opt.ContextTimeoutEnabled = true
	return &Locker{Client: redis.NewClient(opt), closeClient: true}, nil
}

// Close closes the client if Open made it.
func (l *Locker) Close() error {
	if l.closeClient {
		return l.Client.Close()
	}
	return nil
}

func (l *Locker) ttl() time.Duration {
	if l.TTL <= 0 {
		return DefaultTTL
	}
	return l.TTL
}

func (l *Locker) key(k string) string {
	if l.Prefix == "" {
		return DefaultPrefix + k
	}
	return l.Prefix + k
}

// renewScript extends the lock if it still holds the token: 1 if it did.
var renewScript = redis.NewScript(`if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("PEXPIRE", KEYS[1], ARGV[2]) else return 0 end`)

// unlockScript deletes the lock if it still holds the token.
var unlockScript = redis.NewScript(`if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) else return 0 end`)

// TryLock implements cache.Locker: it sets the key Prefix+key to a
// random token if it is not set (SET NX PX TTL) and starts the Lock's
// renewals. The error wraps cache.ErrLocked if another holder has the
// key, and is Redis's or the network's error otherwise (ctx's if it
// ended). A SET that Redis ran but whose reply was lost leaves a lock
// nobody holds, freed by its expiry.
func (l *Locker) TryLock(ctx context.Context, key string) (cache.Lock, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var b [16]byte
	rand.Read(b[:])
	token := hex.EncodeToString(b[:])
	ttl := l.ttl()
	sent := time.Now() // the key expires ttl after Redis ran SET, later than this
	ok, err := l.Client.SetNX(ctx, l.key(key), token, ttl).Result()
	if err != nil {
		return nil, fmt.Errorf("redislock: locking %s: %w", key, err)
	}
	if !ok {
		return nil, fmt.Errorf("redislock: %s: %w", key, cache.ErrLocked)
	}
	rctx, cancel := context.WithCancel(context.Background())
	lk := &lock{l: l, key: l.key(key), token: token, ttl: ttl, cancel: cancel, lost: make(chan struct{}), stop: make(chan struct{}), done: make(chan struct{})}
	go lk.renew(rctx, sent.Add(ttl))
	return lk, nil
}

// A lock is a held lock; its goroutine renews it until it is unlocked.
type lock struct {
	l     *Locker
	key   string
	token string
	ttl   time.Duration

	cancel context.CancelFunc // cancels the renewals' context (halt)

	lost     chan struct{}
	lostOnce sync.Once
	stop     chan struct{} // closed by Unlock (or vanish)
	stopOnce sync.Once
	done     chan struct{} // closed when the renewing goroutine ends
}

func (lk *lock) Lost() <-chan struct{} { return lk.lost }

func (lk *lock) markLost() { lk.lostOnce.Do(func() { close(lk.lost) }) }

// renew extends the lock every ttl/3 until stopped. expires is when the
// lock runs out if not renewed, by our clock and no later than by Redis's:
// a renewal is timed from before it was sent. A renewal that fails (Redis
// unreachable) is retried until the lock would have run out, and then
// the lock is lost; one that finds the token gone loses it at once.
func (lk *lock) renew(rctx context.Context, expires time.Time) {
	defer close(lk.done)
	timer := time.NewTimer(lk.ttl / 3)
	defer timer.Stop()
	for {
		select {
		case <-lk.stop:
			return
		case <-timer.C:
		}
		if !time.Now().Before(expires) {
			lk.markLost() // Redis unreachable until the lock ran out
			return
		}
		sent := time.Now()
		ctx, cancel := context.WithDeadline(rctx, expires)
		n, err := renewScript.Run(ctx, lk.l.Client, []string{lk.key}, lk.token, lk.ttl.Milliseconds()).Int()
		cancel()
		next := lk.ttl / 3
		switch {
		case err == nil && n == 1:
			expires = sent.Add(lk.ttl)
		case err == nil:
			lk.markLost() // expired, maybe taken by another holder
			return
		default:
			next = max(0, min(next, time.Until(expires)))
		}
		timer.Reset(next)
	}
}

// halt stops the renewal and waits for its goroutine.
func (lk *lock) halt() {
	lk.stopOnce.Do(func() {
		close(lk.stop)
		lk.cancel()
	})
	<-lk.done
}

// Unlock implements cache.Lock: it stops the renewals and deletes the
// key if it still holds this Lock's token. If Redis cannot be reached
// the error says so and the key is freed by its expiry; Lost is closed
// either way.
func (lk *lock) Unlock(ctx context.Context) error {
	lk.halt()
	select {
	case <-lk.lost:
		return nil // gone already: never touch another holder's lock
	default:
	}
	defer lk.markLost()
	if _, err := unlockScript.Run(ctx, lk.l.Client, []string{lk.key}, lk.token).Result(); err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("redislock: unlocking %s: %w", lk.key, err)
	}
	return nil
}
