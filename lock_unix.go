//go:build unix

package modfetch

import (
	"context"
	"errors"
	"os"
	"syscall"
	"time"
)

// lockPath takes the go command's kind of file lock on name (an exclusive
// flock on a file created if needed and never removed), waiting until ctx
// ends. It mirrors internal/lockedfile, which this package may not import.
func lockPath(ctx context.Context, name string) (unlock func(), err error) {
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o666)
	if err != nil {
		return nil, err
	}
	wait := time.Millisecond
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { f.Close() }, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			f.Close()
			return nil, &os.PathError{Op: "lock", Path: name, Err: err}
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			f.Close()
			return nil, context.Cause(ctx)
		case <-t.C:
		}
		wait = min(wait*2, 50*time.Millisecond)
	}
}
