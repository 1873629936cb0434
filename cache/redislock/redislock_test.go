package redislock_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/modfetch/modfetch/cache"
	"github.com/modfetch/modfetch/cache/locktest"
	"github.com/modfetch/modfetch/cache/redislock"
	"github.com/modfetch/modfetch/internal/fixture"
)

// redisAddr returns the test Redis's address, or skips t (fails it under
// MODFETCH_TEST_SERVICES=required) when there is none.
func redisAddr(t *testing.T) string {
	t.Helper()
	addr := os.Getenv("MODFETCH_TEST_REDIS")
	if addr == "" {
		msg := "needs Redis: set MODFETCH_TEST_REDIS=HOST:PORT (. .ci/services start does)"
		if os.Getenv("MODFETCH_TEST_SERVICES") == "required" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return addr
}

func uniquePrefix() string {
	var b [6]byte
	rand.Read(b[:])
	return "modfetch-test:" + hex.EncodeToString(b[:]) + ":"
}

func newLocker(t *testing.T, ttl time.Duration) *redislock.Locker {
	t.Helper()
	l, err := redislock.Open("redis://" + redisAddr(t) + "/0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	l.Prefix, l.TTL = uniquePrefix(), ttl
	return l
}

func TestConformance(t *testing.T) {
	const ttl = 600 * time.Millisecond
	locktest.Run(t, func(t *testing.T) cache.Locker { return newLocker(t, ttl) },
		locktest.Options{TTL: ttl, Vanish: redislock.Vanish})
}

func TestOpen(t *testing.T) {
	for _, tc := range []struct {
		url                  string
		addr, user, password string
		db                   int
		tls                  bool
		wantErr              string
	}{
		{url: "redis://127.0.0.1:6379/0", addr: "127.0.0.1:6379"},
		{url: "redis://:s3cret@127.0.0.1:6379/2", addr: "127.0.0.1:6379", password: "s3cret", db: 2},
		{url: "redis://user:s3cret@localhost:6379", addr: "localhost:6379", user: "user", password: "s3cret"},
		{url: "redis://localhost/5", addr: "localhost:6379", db: 5},
		{url: "rediss://localhost:6380/1", addr: "localhost:6380", db: 1, tls: true},
		{url: "http://localhost:6379", wantErr: "invalid URL scheme"},
		{url: "redis://localhost:6379/notanumber", wantErr: "invalid database number"},
		{url: "redis://localhost:6379/1/2", wantErr: "invalid URL path"},
		{url: "redis://%zz", wantErr: "invalid URL escape"},
		{url: "", wantErr: "invalid URL scheme"},
	} {
		t.Run(tc.url, func(t *testing.T) {
			l, err := redislock.Open(tc.url)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				defer l.Close()
				c, ok := l.Client.(*redis.Client)
				if !ok {
					t.Fatalf("Client is %T, want *redis.Client", l.Client)
				}
				o := c.Options()
				if o.Addr != tc.addr || o.Username != tc.user || o.Password != tc.password || o.DB != tc.db || (o.TLSConfig != nil) != tc.tls {
					t.Errorf("options: Addr %q Username %q Password %q DB %d TLS %v; want %q %q %q %d %v",
						o.Addr, o.Username, o.Password, o.DB, o.TLSConfig != nil, tc.addr, tc.user, tc.password, tc.db, tc.tls)
				}
				return
			}
			if l != nil {
				t.Errorf("Open returned a Locker with an error")
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want %q", err, tc.wantErr)
			}
		})
	}
}

// TestUnreachable: with Redis down, TryLock fails at once with an error
// that is not ErrLocked, so that a Cache goes on without the lock.
func TestUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	l, err := redislock.Open("redis://" + addr + "/0?dial_timeout=200ms&read_timeout=200ms&write_timeout=200ms")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	start := time.Now()
	lk, err := l.TryLock(context.Background(), "k")
	if err == nil || errors.Is(err, cache.ErrLocked) || lk != nil {
		t.Fatalf("TryLock with Redis down = %v, %v", lk, err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("TryLock with Redis down took %v", d)
	}
}

// startRedis starts a private redis-server on a free loopback port with
// extra arguments, stopped when t ends, and returns its address and a
// function that kills it (for a test of Redis going away).
func startRedis(t *testing.T, args ...string) string {
	t.Helper()
	addr, _ := startRedisKillable(t, "", args...)
	return addr
}

func startRedisKillable(t *testing.T, addr string, args ...string) (string, func()) {
	t.Helper()
	server, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatal("redis-server not found: . .ci/services start installs it")
	}
	if addr == "" {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr = ln.Addr().String()
		ln.Close()
	}
	_, port, _ := net.SplitHostPort(addr)
	cmd := exec.Command(server, append([]string{"--bind", "127.0.0.1", "--port", port, "--save", "", "--appendonly", "no"}, args...)...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	kill := func() { once.Do(func() { cmd.Process.Kill(); cmd.Wait() }) }
	t.Cleanup(kill)
	fixture.WaitFor(t, "redis-server to listen", func() bool {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	return addr, kill
}

// TestPasswordAndDB: the URL's password and database reach Redis (one
// started by the test with a password), and a wrong password is an error
// that is not ErrLocked.
func TestPasswordAndDB(t *testing.T) {
	redisAddr(t) // the same tools: skipped or required alike
	addr := startRedis(t, "--requirepass", "s3cret")
	ctx := context.Background()
	l, err := redislock.Open("redis://:s3cret@" + addr + "/3")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	lk, err := l.TryLock(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}
	defer lk.Unlock(ctx)
	c := redis.NewClient(&redis.Options{Addr: addr, Password: "s3cret", DB: 3})
	defer c.Close()
	if n, err := c.Exists(ctx, redislock.DefaultPrefix+"k").Result(); err != nil || n != 1 {
		t.Errorf("lock key in database 3: %d, %v", n, err)
	}
	bad, _ := redislock.Open("redis://:wrong@" + addr + "/3")
	defer bad.Close()
	if _, err := bad.TryLock(ctx, "k2"); err == nil || errors.Is(err, cache.ErrLocked) {
		t.Errorf("TryLock with a wrong password: %v", err)
	}
}

// TestNoGoroutinesLeft: after many locks are taken and released, the
// renewing goroutines are gone.
func TestNoGoroutinesLeft(t *testing.T) {
	l := newLocker(t, time.Second)
	ctx := context.Background()
	if lk, err := l.TryLock(ctx, "warm"); err == nil { // the client's pool
		lk.Unlock(ctx)
	}
	before := runtime.NumGoroutine()
	var held []cache.Lock
	for i := range 100 {
		lk, err := l.TryLock(ctx, "k"+string(rune('a'+i%26))+string(rune('a'+i/26)))
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, lk)
	}
	// A few of the goroutines counted before (the client's own) may
	// have ended since; 100 renewers still show above them.
	if n := runtime.NumGoroutine(); n < before+95 {
		t.Fatalf("%d goroutines with 100 locks held, want a renewer each (before: %d)", n, before)
	}
	for _, lk := range held {
		if err := lk.Unlock(ctx); err != nil {
			t.Fatal(err)
		}
	}
	fixture.WaitFor(t, "the renewers to end", func() bool { return runtime.NumGoroutine() <= before })
}

// TestRedisRestarted: a private Redis (no persistence) is killed while a
// lock is held, then started again on the same port, empty. The lock's
// renewal either cannot reach Redis until the lock would have expired or
// finds the key gone; either way Lost closes, and the key is free again.
func TestRedisRestarted(t *testing.T) {
	redisAddr(t) // the same tools: skipped or required alike
	addr, kill := startRedisKillable(t, "")
	const ttl = 500 * time.Millisecond
	l, err := redislock.Open("redis://" + addr + "/0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	l.TTL = ttl
	ctx := context.Background()
	lk, err := l.TryLock(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}
	defer lk.Unlock(ctx)
	kill()
	startRedisKillable(t, addr)
	select {
	case <-lk.Lost():
	case <-time.After(10 * ttl):
		t.Fatalf("Lost not closed %v after Redis restarted empty (TTL %v)", 10*ttl, ttl)
	}
	lk2, err := l.TryLock(ctx, "k")
	if err != nil {
		t.Fatalf("TryLock after the restart: %v", err)
	}
	if err := lk2.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
	if err := lk.Unlock(ctx); err != nil { // the lost lock: no error
		t.Errorf("Unlock of the lost lock: %v", err)
	}
}

// TestRedisGone: a private Redis is killed while a lock is held. The
// renewals fail and are retried until the lock would have expired; then
// Lost closes, and Unlock of the lost lock returns at once, without an
// error, leaving no renewer behind.
func TestRedisGone(t *testing.T) {
	redisAddr(t) // the same tools: skipped or required alike
	addr, kill := startRedisKillable(t, "")
	const ttl = 500 * time.Millisecond
	l, err := redislock.Open("redis://" + addr + "/0?dial_timeout=100ms&read_timeout=100ms&write_timeout=100ms")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	l.TTL = ttl
	ctx := context.Background()
	lk, err := l.TryLock(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}
	kill()
	start := time.Now()
	select {
	case <-lk.Lost():
	case <-time.After(4 * ttl):
		t.Fatalf("Lost not closed %v after Redis went away (TTL %v)", 4*ttl, ttl)
	}
	t.Logf("Lost closed %v after Redis went away (TTL %v)", time.Since(start), ttl)
	if err := lk.Unlock(ctx); err != nil {
		t.Errorf("Unlock of a lock lost with Redis: %v", err)
	}
}
