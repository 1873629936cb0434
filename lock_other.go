//go:build !unix

package modfetch

import (
	"context"
	"os"
)

// lockPath creates name like the go command's lock file. Without flock
// there is no cross-process lock.
func lockPath(ctx context.Context, name string) (unlock func(), err error) {
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o666)
	if err != nil {
		return nil, err
	}
	return func() { f.Close() }, nil
}
