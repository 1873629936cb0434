// Package atomicfile writes files so that readers see either the old
// content or the whole new content, never a part: data goes to a temporary
// file in the same directory, which is flushed to stable storage (fsync)
// and then renamed over the target only after every byte was written.
//
// Temporary files are named "<base>.<random digits>.modfetch.tmp", where
// base is the target's base name. The go command names its own temporary
// files "<base><random digits>.tmp", always with a digit just before
// ".tmp", so a name accepted by [IsTemp] is certainly one of ours and never
// one of the go command's. (The go command's own clean-up of "<v>.zip*.tmp"
// under the version lock still matches ours, which is harmless: writers of
// those files hold that lock.)
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
	"strings"

	"github.com/modfetch/modfetch/internal/ctxio"
)

// tempSuffix ends the name of every temporary file this package creates.
const tempSuffix = ".modfetch.tmp"

// IsTemp reports whether the base name of a file, name, is one that Write
// gives its temporary files: "<base>.<digits>.modfetch.tmp" with a
// non-empty base.
func IsTemp(name string) bool {
	rest, ok := strings.CutSuffix(filepath.Base(name), tempSuffix)
	if !ok {
		return false
	}
	i := strings.LastIndexByte(rest, '.')
	if i <= 0 || i == len(rest)-1 {
		return false
	}
	for _, c := range rest[i+1:] {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// Write copies r to name atomically, creating the parent directory (0777
// before umask) if needed, and gives the file mode perm. If ctx ends, r
// fails, or anything else goes wrong, the temporary file is removed and the
// target is untouched. It returns the number of bytes written.
//
// The temporary file is synced (fsync) before it is closed and renamed,
// so that after a crash the target holds either its old content or the
// whole new content, never a file whose data did not reach the disk. The
// directory is not synced after the rename: a rename lost in a crash
// leaves the old value (or none) in place, which for a cache is a miss,
// not corruption, and is not worth a second flush on every write.
//
// If check is not nil it is called with the temporary file, complete and
// closed for writing but not yet renamed; an error from it aborts the write.
func Write(ctx context.Context, name string, r io.Reader, perm fs.FileMode, check func(tmp string) error) (n int64, err error) {
	return write(ctx, name, r, perm, check, (*os.File).Sync)
}

// WriteNoSync is [Write] without the fsync, as the go command writes its
// module cache. Readers still see either the old content or the whole
// new content, and so does everyone after the writing process crashes or
// is killed, since the kernel keeps the pages it was given; only after a
// power loss or an operating system crash may the target be empty or
// missing (never partially visible beyond that). It is for writers that
// can fetch a lost file again and are measured against the go command;
// a server's store keeps the default, [Write].
func WriteNoSync(ctx context.Context, name string, r io.Reader, perm fs.FileMode, check func(tmp string) error) (n int64, err error) {
	return write(ctx, name, r, perm, check, func(*os.File) error { return nil })
}

// write is Write with the function that flushes the temporary file to
// stable storage as a parameter, for tests.
func write(ctx context.Context, name string, r io.Reader, perm fs.FileMode, check func(tmp string) error, sync func(*os.File) error) (n int64, err error) {
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
	if err := sync(f); err != nil {
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

// tempFile creates a new file in dir named base, a dot, random digits and
// ".modfetch.tmp", opened for reading and writing with mode 0666 before
// umask.
func tempFile(dir, base string) (*os.File, error) {
	for i := 0; ; i++ {
		name := filepath.Join(dir, base+"."+strconv.Itoa(rand.IntN(1e9))+tempSuffix)
		f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o666)
		if err == nil || !errors.Is(err, fs.ErrExist) || i >= 10000 {
			return f, err
		}
	}
}
