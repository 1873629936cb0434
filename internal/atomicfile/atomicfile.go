// Package atomicfile writes files so that readers see either the old
// content or the whole new content, never a part: data goes to a temporary
// file in the same directory, named like the go command's ("<base><random>.tmp"),
// which is renamed over the target only after every byte was written.
package atomicfile

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"

	"github.com/modfetch/modfetch/internal/ctxio"
)

// Write copies r to name atomically, creating the parent directory (0777
// before umask) if needed, and gives the file mode perm. If ctx ends, r
// fails, or anything else goes wrong, the temporary file is removed and the
// target is untouched. It returns the number of bytes written.
//
// If check is not nil it is called with the temporary file, complete and
// closed for writing but not yet renamed; an error from it aborts the write.
func Write(ctx context.Context, name string, r io.Reader, perm fs.FileMode, check func(tmp string) error) (n int64, err error) {
	dir, base := filepath.Split(name)
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return 0, err
	}
	f, err := tempFile(dir, base)
	if err != nil {
		return 0, err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	n, err = io.Copy(f, ctxio.Reader(ctx, r))
	if err != nil {
		return n, err
	}
	if err := f.Close(); err != nil {
		return n, err
	}
	if perm != 0 {
		if err := os.Chmod(tmp, perm); err != nil {
			return n, err
		}
	}
	if check != nil {
		if err := check(tmp); err != nil {
			return n, err
		}
	}
	if err := ctx.Err(); err != nil {
		return n, context.Cause(ctx)
	}
	if err := os.Rename(tmp, name); err != nil {
		return n, err
	}
	return n, nil
}

// tempFile creates a new file in dir named base followed by random digits
// and ".tmp", opened for reading and writing with mode 0666 before umask.
func tempFile(dir, base string) (*os.File, error) {
	for i := 0; ; i++ {
		name := filepath.Join(dir, base+strconv.Itoa(rand.IntN(1e9))+".tmp")
		f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o666)
		if err == nil || !errors.Is(err, fs.ErrExist) || i >= 10000 {
			return f, err
		}
	}
}
