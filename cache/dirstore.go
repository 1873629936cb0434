package cache

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"

	"github.com/modfetch/modfetch"
	"github.com/modfetch/modfetch/internal/atomicfile"
	"github.com/modfetch/modfetch/internal/lockedfile"
)

// A DirStore is a [Store] kept in a directory tree laid out exactly like
// the go command's download cache, $GOMODCACHE/cache/download: the value
// of key lives in the file filepath.Join(Dir, filepath.FromSlash(key)).
// A DirStore and the go command can therefore share one module cache, and
// the directory can be served as a file:// GOPROXY.
//
// Put writes a temporary file "<base>.<random>.modfetch.tmp" beside the
// target, syncs it to stable storage (unless NoSync) and renames it into
// place only when every byte was written, so readers (this store's, other
// processes', the go command's) see either the old file or the whole new
// one, also after a crash (with NoSync, after a process crash but not a
// power loss). (The directory is not synced after the rename: a rename
// lost in a crash only loses the new value, which for a cache is a miss.)
//
// A crash or a cut-off shutdown can leave such temporary files behind.
// Put removes those of its directory that are older than TempMaxAge, at
// the cost of one read of that directory, and [DirStore.Clean] removes
// those of the whole tree. Only names this package creates are removed,
// never the go command's ("<base><random>.tmp"), with one exception that
// the go command itself makes: before writing "@v/<version>.zip", Put
// removes the files "@v/<version>.zip*.tmp" while holding the version lock
// described below, which every writer of such files holds. (Other
// temporary files that earlier versions of this package named like the go
// command's are therefore left alone.) The age limit
// keeps a live writer in another process from losing its temporary file:
// a writer's file is modified as it is written, and a Put whose temporary
// file was removed all the same fails without changing the stored value.
//
// Beyond that, Put follows
// the go command's conventions for the files it writes under an "@v"
// directory:
//
//   - The immutable module files "@v/<version>.info", ".mod", ".zip" and
//     ".ziphash" are made read-only (mode 0444). Other files, such as
//     "@v/list" and checksum database tiles, get the default mode 0666
//     less the umask.
//   - A ".zip" or ".ziphash" file is written while holding the go
//     command's per-version lock, an exclusive flock(2) on
//     "@v/<version>.lock" (version still escaped), which is created if
//     needed and never removed.
//   - After a ".mod" file is written, "@v/list" is rewritten under its
//     own lock to list the canonical versions that have a ".mod" file,
//     sorted by semver, one per line. A failure there is logged and does
//     not fail the Put.
//
// Files under "sumdb/" are the go command's checksum database cache,
// which it writes in place under an exclusive lock (creating the file
// first): Get reads them under a shared lock, and an empty one is
// missing.
//
// A DirStore is safe for concurrent use by multiple goroutines and
// processes, including go commands using the same directory. Its fields
// must not change after first use.
type DirStore struct {
	// Dir is the root directory of the store, for example
	// "/home/me/go/pkg/mod/cache/download". It is created on the first
	// Put if needed. An empty Dir makes every method fail.
	Dir string

	// Logger, if not nil, receives warnings that do not fail an
	// operation, such as a failure to update an "@v/list" file.
	Logger *slog.Logger

	// TempMaxAge is the age (time since last modification) beyond which
	// Put removes a temporary file left in the directory it writes to.
	// It must exceed the longest time a writer, in any process using
	// Dir, can go without writing to its temporary file. Zero means
	// DefaultTempMaxAge; a negative value makes Put leave temporary
	// files alone.
	TempMaxAge time.Duration

	// NoSync skips syncing each file to stable storage before it is
	// renamed into place, like the go command, which never syncs its
	// module cache, so that writing thousands of small files does not
	// wait for the disk once per file. Files are still renamed into place only when complete, so
	// after a process crash (even SIGKILL) a value is old or whole, never
	// partial; but after a power loss or an operating system crash a
	// value written shortly before may be empty or missing. Leave it
	// false for a server's store; a client that can fetch again, such as
	// a work-alike of `go mod download`, may set it.
	NoSync bool
}

// DefaultTempMaxAge is the age beyond which a DirStore's temporary file is
// taken to be abandoned by a crashed or interrupted writer, when
// [DirStore.TempMaxAge] is zero or [DirStore.Clean] is given no age.
const DefaultTempMaxAge = 24 * time.Hour

// errNoDir is returned by every method of a DirStore whose Dir is empty.
var errNoDir = errors.New("cache: DirStore has no Dir")

// Path returns the name of the file holding the value of key,
// filepath.Join(d.Dir, filepath.FromSlash(key)), which lies inside d.Dir.
// It returns an error if d.Dir is empty or key is not a valid [Store]
// key. The file need not exist.
func (d *DirStore) Path(key string) (string, error) {
	if d.Dir == "" {
		return "", errNoDir
	}
	if err := checkStoreKey(key); err != nil {
		return "", err
	}
	return filepath.Join(d.Dir, filepath.FromSlash(key)), nil
}

// Get opens the file holding the value of key for reading and returns
// it as an *os.File, which also implements io.Seeker, io.ReaderAt and
// Stat. An open file keeps its content when the key is later overwritten
// or deleted. Keys under "sumdb/" are the exception: their values (a few
// KiB at most) are read whole under the file's shared lock, and Get
// returns a reader of those bytes.
//
// When the file does not exist, or key names a directory (a prefix of
// other keys) rather than a value, Get returns an error for which
// errors.Is(err, fs.ErrNotExist) holds. Other errors mean the value could
// not be read: an invalid key, an empty Dir, ctx already done, or an I/O
// failure such as a permission error.
func (d *DirStore) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	name, err := d.Path(key)
	if err != nil {
		return nil, err
	}
	if err := ctxErr(ctx, "get", key); err != nil {
		return nil, err
	}
	if strings.HasPrefix(key, "sumdb/") {
		return getLocked(ctx, name)
	}
	f, err := os.Open(name)
	if err != nil {
		if errors.Is(err, syscall.ENOTDIR) {
			// A parent of name is a file, so there is no such file.
			return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
		}
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	return f, nil
}

// maxLockedValue bounds a checksum database file read into memory (its
// lookups and tiles are a few KiB).
const maxLockedValue = 16 << 20

// getLocked reads the file name under a shared lock, as the go command
// reads its checksum database cache; an empty file is one the go command
// is about to write.
func getLocked(ctx context.Context, name string) (io.ReadCloser, error) {
	f, err := lockedfile.OpenFile(ctx, name, os.O_RDONLY, 0)
	if err != nil {
		if errors.Is(err, syscall.ENOTDIR) || errors.Is(err, syscall.EISDIR) {
			return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
		}
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() || fi.Size() == 0 {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	if fi.Size() > maxLockedValue {
		return nil, &fs.PathError{Op: "open", Path: name, Err: modfetch.ErrTooLarge}
	}
	data, err := io.ReadAll(io.LimitReader(f, maxLockedValue))
	if err != nil {
		return nil, err
	}
	if len(data) == 0 {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	return newValueReader(fi.Name(), data, fi.ModTime()), nil
}

// Put stores the bytes of r as the value of key, atomically replacing
// any previous value, as described in the [DirStore] documentation. It
// streams r to a temporary file and never holds the value in memory.
//
// If r fails, ctx ends (including while waiting for the version lock of
// a ".zip" or ".ziphash" key), or the file cannot be written, Put returns
// an error, removes its temporary file and leaves the previous value (or
// its absence) untouched. Put also fails if key is invalid, d.Dir is
// empty, or key names a directory of other keys.
func (d *DirStore) Put(ctx context.Context, key string, r io.Reader) (err error) {
	name, err := d.Path(key)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			err = fmt.Errorf("cache: put %s: %w", key, err)
		}
	}()
	if err := ctx.Err(); err != nil {
		return context.Cause(ctx)
	}

	dir, elem := path.Split(key)
	inV := path.Base(dir) == "@v"
	ext := path.Ext(elem)
	var perm fs.FileMode // 0: keep the creation mode, 0666 less umask
	if inV {
		switch ext {
		case ".info", ".mod", ".zip", ".ziphash":
			perm = 0o444
		}
	}

	if inV && (ext == ".zip" || ext == ".ziphash") {
		// The go command writes v.zip and v.ziphash while holding an
		// exclusive lock on v.lock (lockVersion in
		// cmd/go/internal/modfetch); take the same lock.
		lockFile := filepath.Join(filepath.Dir(name), strings.TrimSuffix(elem, ext)+".lock")
		if err := os.MkdirAll(filepath.Dir(lockFile), 0o777); err != nil {
			return err
		}
		unlock, err := lockedfile.Lock(ctx, lockFile)
		if err != nil {
			return err
		}
		defer unlock()
		if ext == ".zip" {
			// Like the go command (downloadZip in
			// cmd/go/internal/modfetch/fetch.go), remove what earlier
			// writes of this zip left: every writer of these files
			// holds the lock we hold, so none is still running.
			d.removeTemps(ctx, filepath.Dir(name), func(base string, _ fs.FileInfo) bool {
				return strings.HasPrefix(base, elem) && strings.HasSuffix(base, ".tmp")
			})
		}
	}

	var check func(tmp string) error
	if runtime.GOOS == "windows" {
		// Windows refuses to rename over a read-only file.
		check = func(string) error {
			os.Chmod(name, 0o666)
			return nil
		}
	}
	write := atomicfile.Write
	if d.NoSync {
		write = atomicfile.WriteNoSync
	}
	if _, err := write(ctx, name, r, perm, check); err != nil {
		return err
	}
	if age := d.tempMaxAge(); age > 0 {
		cutoff := time.Now().Add(-age)
		d.removeTemps(ctx, filepath.Dir(name), func(base string, fi fs.FileInfo) bool {
			return atomicfile.IsTemp(base) && fi.ModTime().Before(cutoff)
		})
	}

	if inV && ext == ".mod" {
		if err := rewriteVersionList(ctx, filepath.Dir(name)); err != nil && d.Logger != nil {
			d.Logger.WarnContext(ctx, "cache: updating version list", "dir", filepath.Dir(name), "err", err)
		}
	}
	return nil
}

// Delete removes the file holding the value of key, even if it is
// read-only. Deleting a missing key, or a key that names a directory of
// other keys, is not an error and removes nothing. Delete fails if key is
// invalid, d.Dir is empty, ctx is already done, or the file cannot be
// removed.
func (d *DirStore) Delete(ctx context.Context, key string) error {
	name, err := d.Path(key)
	if err != nil {
		return err
	}
	if err := ctxErr(ctx, "delete", key); err != nil {
		return err
	}
	if fi, err := os.Lstat(name); err == nil && fi.IsDir() {
		return nil
	}
	err = os.Remove(name)
	if err != nil && errors.Is(err, fs.ErrPermission) {
		// Some systems (Windows) refuse to remove read-only files.
		if os.Chmod(name, 0o600) == nil {
			err = os.Remove(name)
		}
	}
	if err == nil || errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return nil
	}
	return err
}

// Clean removes the temporary files that writes to d left anywhere under
// d.Dir and that were last modified more than olderThan ago (if olderThan
// is zero or negative, DefaultTempMaxAge), and returns how many it
// removed. Like Put, it removes only names that DirStore itself creates
// ("<base>.<random>.modfetch.tmp"), never the go command's or other
// files, so it is safe to call at any time, for example at start-up or
// from a periodic job, while other processes use the directory, as long
// as olderThan is longer than any writer can go without writing.
//
// Clean walks the whole tree once, in the calling goroutine, and starts
// nothing that outlives it. It stops early with ctx's error if ctx ends.
// Files it cannot remove do not stop it; their errors are joined into the
// returned one. A missing d.Dir is not an error.
func (d *DirStore) Clean(ctx context.Context, olderThan time.Duration) (removed int, err error) {
	if d.Dir == "" {
		return 0, errNoDir
	}
	if olderThan <= 0 {
		olderThan = DefaultTempMaxAge
	}
	cutoff := time.Now().Add(-olderThan)
	var errs []error
	walkErr := filepath.WalkDir(d.Dir, func(name string, e fs.DirEntry, err error) error {
		if cerr := ctx.Err(); cerr != nil {
			return context.Cause(ctx)
		}
		if err != nil {
			if name == d.Dir && errors.Is(err, fs.ErrNotExist) {
				return fs.SkipAll
			}
			if !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, err)
			}
			return nil
		}
		if !e.Type().IsRegular() || !atomicfile.IsTemp(e.Name()) {
			return nil
		}
		fi, err := e.Info()
		if err != nil || !fi.ModTime().Before(cutoff) {
			return nil // gone, or still young
		}
		if err := removeFile(name); err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, err)
			}
			return nil
		}
		removed++
		return nil
	})
	if walkErr != nil {
		errs = append([]error{walkErr}, errs...)
	}
	return removed, errors.Join(errs...)
}

// tempMaxAge returns d.TempMaxAge with zero meaning DefaultTempMaxAge.
func (d *DirStore) tempMaxAge() time.Duration {
	if d.TempMaxAge == 0 {
		return DefaultTempMaxAge
	}
	return d.TempMaxAge
}

// removeTemps removes the regular files of the directory dir (not its
// subdirectories) for which stale returns true, at the cost of one read
// of dir. It is best effort: failures are logged, not returned.
func (d *DirStore) removeTemps(ctx context.Context, dir string, stale func(base string, fi fs.FileInfo) bool) {
	f, err := os.Open(dir)
	if err != nil {
		return
	}
	entries, err := f.ReadDir(-1)
	f.Close()
	if err != nil && d.Logger != nil {
		d.Logger.WarnContext(ctx, "cache: reading directory for stale temporary files", "dir", dir, "err", err)
	}
	for _, e := range entries {
		if !e.Type().IsRegular() || !strings.HasSuffix(e.Name(), ".tmp") {
			continue
		}
		fi, err := e.Info()
		if err != nil || !stale(e.Name(), fi) {
			continue
		}
		name := filepath.Join(dir, e.Name())
		if err := removeFile(name); err != nil && !errors.Is(err, fs.ErrNotExist) && d.Logger != nil {
			d.Logger.WarnContext(ctx, "cache: removing stale temporary file", "file", name, "err", err)
		}
	}
}

// removeFile removes the file name, even if it is read-only on a system
// that refuses to remove read-only files (Windows).
func removeFile(name string) error {
	err := os.Remove(name)
	if err != nil && errors.Is(err, fs.ErrPermission) {
		if os.Chmod(name, 0o600) == nil {
			err = os.Remove(name)
		}
	}
	return err
}

// rewriteVersionList rewrites the file "list" in the "@v" directory dir
// after a ".mod" file was written there, exactly as the go command does
// (rewriteVersionList in cmd/go/internal/modfetch/cache.go): under an
// exclusive lock on the list file, it lists the canonical versions v that
// have a file "v.mod" (v still escaped, so versions holding upper-case
// letters are left out, as by the go command), sorted by semver, one per
// line. It leaves the file alone when that content is already there.
func rewriteVersionList(ctx context.Context, dir string) (err error) {
	f, err := lockedfile.Edit(ctx, filepath.Join(dir, "list"))
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	var list []string
	for _, e := range entries {
		if v, ok := strings.CutSuffix(e.Name(), ".mod"); ok && v != "" && module.CanonicalVersion(v) == v {
			list = append(list, v)
		}
	}
	semver.Sort(list)

	var buf bytes.Buffer
	for _, v := range list {
		buf.WriteString(v)
		buf.WriteString("\n")
	}
	if fi, err := f.Stat(); err == nil && fi.Size() == int64(buf.Len()) {
		old := make([]byte, buf.Len()+1)
		if n, err := f.ReadAt(old, 0); err == io.EOF && n == buf.Len() && bytes.Equal(buf.Bytes(), old[:n]) {
			return nil // No edit needed.
		}
	}
	// Truncate to zero and then to the final size, so that an incomplete
	// write leaves NUL bytes behind, which readers can detect.
	if err := f.Truncate(0); err != nil {
		return err
	}
	if err := f.Truncate(int64(buf.Len())); err != nil {
		return err
	}
	if _, err := f.WriteAt(buf.Bytes(), 0); err != nil {
		f.Truncate(0)
		return err
	}
	return nil
}
