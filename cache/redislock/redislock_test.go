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
		url     string
		wantErr string
	}{
		{"redis://127.0.0.1:6379/0", ""},
		{"redis://:s3cret@127.0.0.1:6379/2", ""},
		{"redis://user:s3cret@localhost:6379", ""},
		{"rediss://localhost:6380/1", ""},
		{"http://localhost:6379", "invalid URL scheme"},
		{"redis://localhost:6379/notanumber", "invalid database number"},
		{"redis://localhost:6379/1/2", "invalid URL path"},
	} {
		t.Run(tc.url, func(t *testing.T) {
			l, err := redislock.Open(tc.url)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				l.Close()
				return
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
	l, err := redislock.Open("redis://" + addr + "/0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	start := time.Now()
	lk, err := l.TryLock(context.Background(), "k")
	if err == nil || errors.Is(err, cache.ErrLocked) || lk != nil {
		t.Fatalf("TryLock with Redis down = %v, %v", lk, err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("TryLock with Redis down took %v", d)
	}
}

// TestPasswordAndDB: the URL's password and database reach Redis (one
// started by the test with a password), and a wrong password is an error
// that is not ErrLocked.
func TestPasswordAndDB(t *testing.T) {
	redisAddr(t) // the same tools: skipped or required alike
	server, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatal("redis-server not found: . .ci/services start installs it")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	_, port, _ := net.SplitHostPort(addr)
	cmd := exec.Command(server, "--bind", "127.0.0.1", "--port", port, "--save", "", "--appendonly", "no", "--requirepass", "s3cret")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	fixture.WaitFor(t, "redis-server to listen", func() bool {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
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
	if n := runtime.NumGoroutine(); n < before+100 {
		t.Fatalf("%d goroutines with 100 locks held, want a renewer each (before: %d)", n, before)
	}
	for _, lk := range held {
		if err := lk.Unlock(ctx); err != nil {
			t.Fatal(err)
		}
	}
	fixture.WaitFor(t, "the renewers to end", func() bool { return runtime.NumGoroutine() <= before })
}
