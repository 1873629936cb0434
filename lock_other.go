//go:build !unix

package modfetch

import (
	"context"
	"os"
	"path/filepath"
	"sync"
)

// heldLocks holds the lock files locked by this process. Without flock
// there is no cross-process lock, but Downloads in one process still
// exclude each other; like the operating system's lock table it is shared
// by the whole process.
var heldLocks sync.Map // name -> chan struct{} (buffered, 1)

// lockPath creates name like the go command's lock file and takes this
// process's lock for it, waiting until ctx ends.
func lockPath(ctx context.Context, name string) (unlock func(), err error) {
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o666)
	if err != nil {
		return nil, err
	}
	v, _ := heldLocks.LoadOrStore(filepath.Clean(name), make(chan struct{}, 1))
	ch := v.(chan struct{})
	select {
	case ch <- struct{}{}:
	case <-ctx.Done():
		f.Close()
		return nil, context.Cause(ctx)
	}
	return func() {
		f.Close()
		<-ch
	}, nil
}
