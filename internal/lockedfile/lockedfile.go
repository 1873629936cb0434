// Package lockedfile opens files under locks compatible with the go
// command's (cmd/go/internal/lockedfile): flock(2) on Linux, macOS and the
// BSDs, LockFileEx on Windows; an exclusive lock for writers and a shared
// lock for readers. Locks wait in a context-aware way. On other systems
// (Solaris, AIX, Plan 9, WebAssembly) the locks are no-ops.
package lockedfile

import (
	"context"
	"io"
	"io/fs"
	"os"
	"time"
)

// A File is an *os.File holding a lock until it is closed.
type File struct {
	*os.File
}

// Close releases the lock and closes the file.
func (f *File) Close() error {
	unlock(f.File)
	return f.File.Close()
}

// OpenFile opens name like os.OpenFile and then locks it: exclusively when
// flag opens for writing, shared otherwise. It waits for the lock until ctx
// is done.
func OpenFile(ctx context.Context, name string, flag int, perm fs.FileMode) (*File, error) {
	f, err := os.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	exclusive := flag&(os.O_WRONLY|os.O_RDWR) != 0
	if err := lockWait(ctx, f, exclusive); err != nil {
		f.Close()
		return nil, &fs.PathError{Op: "lock", Path: name, Err: err}
	}
	return &File{f}, nil
}

// Read returns the content of name, read under a shared lock.
func Read(ctx context.Context, name string) ([]byte, error) {
	f, err := OpenFile(ctx, name, os.O_RDONLY, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}

// Edit opens name for reading and writing under an exclusive lock,
// creating it (mode 0666 before umask) if needed.
func Edit(ctx context.Context, name string) (*File, error) {
	return OpenFile(ctx, name, os.O_RDWR|os.O_CREATE, 0o666)
}

// Lock takes the go command's kind of mutex: an exclusive lock on the file
// name, created if needed and never removed. The returned function releases
// it.
func Lock(ctx context.Context, name string) (unlock func(), err error) {
	f, err := Edit(ctx, name)
	if err != nil {
		return nil, err
	}
	return func() { f.Close() }, nil
}

// lockWait takes the lock, polling when it is held elsewhere so that ctx
// can end the wait.
func lockWait(ctx context.Context, f *os.File, exclusive bool) error {
	wait := time.Millisecond
	for {
		ok, err := tryLock(f, exclusive)
		if err != nil || ok {
			return err
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return context.Cause(ctx)
		case <-t.C:
		}
		wait = min(wait*2, 50*time.Millisecond)
	}
}
