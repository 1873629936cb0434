package lockedfile

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// TestLocksExclude: an exclusive lock keeps other exclusive and shared
// locks out, shared locks admit each other, and Close releases. Each
// open is a separate open file description, as in another process.
func TestLocksExclude(t *testing.T) {
	requireLocks(t)
	name := filepath.Join(t.TempDir(), "lock")
	open := func() *os.File {
		f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o666)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		return f
	}
	try := func(f *os.File, exclusive bool) bool {
		t.Helper()
		ok, err := tryLock(f, exclusive)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	a, b, c := open(), open(), open()
	if !try(a, true) {
		t.Fatal("first exclusive lock refused")
	}
	if try(b, true) || try(b, false) {
		t.Fatal("a lock granted while another holds an exclusive one")
	}
	unlock(a)
	if !try(b, false) || !try(c, false) {
		t.Fatal("shared locks refused each other")
	}
	if try(a, true) {
		t.Fatal("exclusive lock granted while shared ones are held")
	}
	unlock(b)
	unlock(c)
	if !try(a, true) {
		t.Fatal("exclusive lock refused after every lock was released")
	}
	unlock(a)
}

// TestLockWaitsForContext: Lock waits for a held lock until its context
// ends, then fails with the context's error and leaves the lock alone.
func TestLockWaitsForContext(t *testing.T) {
	requireLocks(t)
	name := filepath.Join(t.TempDir(), "lock")
	unlockA, err := Lock(t.Context(), name)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := Lock(ctx, name); !errors.Is(err, context.Canceled) {
		t.Fatalf("Lock while held, ctx canceled: err = %v, want context.Canceled", err)
	}
	unlockA()
	unlockB, err := Lock(t.Context(), name)
	if err != nil {
		t.Fatalf("Lock after release: %v", err)
	}
	unlockB()
}

// requireLocks skips, saying why, on the systems where locks are no-ops.
func requireLocks(t *testing.T) {
	switch runtime.GOOS {
	case "darwin", "dragonfly", "freebsd", "linux", "netbsd", "openbsd", "windows":
	default:
		t.Skipf("file locks are no-ops on %s (see the package documentation)", runtime.GOOS)
	}
}
