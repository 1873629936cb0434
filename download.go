package modfetch

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"fmt"
	goversion "go/version"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/module"
	"golang.org/x/mod/sumdb/dirhash"
	modzip "golang.org/x/mod/zip"

	"github.com/modfetch/modfetch/internal/atomicfile"
	"github.com/modfetch/modfetch/internal/ctxio"
	"github.com/modfetch/modfetch/internal/h1"
	"github.com/modfetch/modfetch/internal/lockedfile"
)

// DownloadOptions says where [Download] puts what it fetches.
type DownloadOptions struct {
	// ModCache, if set, is a module cache directory (GOMODCACHE): the zip
	// is extracted into ModCache/<escaped path>@<escaped version> exactly
	// as the go command extracts it, so that go builds with GOPROXY=off
	// use it. Empty means nothing is extracted.
	ModCache string

	// ReadWrite leaves extracted directories writable, like the go
	// command's -modcacherw. Extracted files are read-only either way.
	ReadWrite bool

	// TempDir is where a zip is spooled when r does not return one on
	// local disk; empty means os.TempDir().
	TempDir string

	// GoSum, if set, holds the hashes recorded in a go.sum file (a
	// *checksum.GoSum): the go.mod file's and the zip's hashes are
	// checked against it on every call, also when r answers from a
	// module cache filled earlier without it, as the go command checks
	// go.sum on every use. A record that disagrees fails the call with
	// GoSum's error (checksum.MismatchError, the go command's "SECURITY
	// ERROR") before anything is extracted.
	GoSum SumChecker

	// Toolchain, if set, is the go toolchain the download is for: a
	// module whose go.mod needs a newer go (its go directive) fails with
	// a *TooNewError once extracted, as in the go command when it cannot
	// switch toolchains (GOTOOLCHAIN=local). Nil means no such check (a
	// server serves modules for every go).
	Toolchain *Toolchain
}

// A Toolchain is the go command a download is for.
type Toolchain struct {
	// GoVersion is its version without "go", such as "1.26.8"
	// (strings.TrimPrefix(runtime.Version(), "go") for the toolchain that
	// built the caller).
	GoVersion string

	// GOTOOLCHAIN is the setting that keeps it from switching, such as
	// "local", named in errors like the go command names it; "" or
	// "auto" is not named.
	GOTOOLCHAIN string
}

// ErrTooNew is wrapped by a *TooNewError.
var ErrTooNew = errors.New("module too new")

// A TooNewError is a module whose go.mod needs a newer go than the
// toolchain it is for (cmd/go/internal/gover: TooNewError): "path@version
// requires go >= 1.30 (running go 1.26.8; GOTOOLCHAIN=local)".
type TooNewError struct {
	What        string // what needs the newer go: "path@version", "module path@version" or a go.mod file's name
	GoVersion   string // the go directive
	Running     string // Toolchain.GoVersion
	GOTOOLCHAIN string // Toolchain.GOTOOLCHAIN
}

func (e *TooNewError) Error() string {
	explain := ""
	if e.GOTOOLCHAIN != "" && e.GOTOOLCHAIN != "auto" {
		explain = "; GOTOOLCHAIN=" + e.GOTOOLCHAIN
	}
	return fmt.Sprintf("%v requires go >= %v (running go %v%v)", e.What, e.GoVersion, e.Running, explain)
}

// Is reports whether target is ErrTooNew.
func (e *TooNewError) Is(target error) bool { return target == ErrTooNew }

// tooNew returns a *TooNewError if gomod's go directive is newer than
// tc's go, else nil.
func (tc *Toolchain) tooNew(path, version string, gomod []byte) error {
	if tc == nil || tc.GoVersion == "" {
		return nil
	}
	f, err := modfile.ParseLax("go.mod", gomod, nil)
	if err != nil || f.Go == nil {
		return nil
	}
	return tc.CheckGo(path+"@"+version, f.Go.Version)
}

// CheckGo returns a *TooNewError naming what if goVersion (a go
// directive's version, such as "1.30") is newer than tc's go, else nil
// (also for a nil tc).
func (tc *Toolchain) CheckGo(what, goVersion string) error {
	if tc == nil || tc.GoVersion == "" || goVersion == "" {
		return nil
	}
	if goversion.Compare("go"+goVersion, "go"+tc.GoVersion) > 0 {
		return &TooNewError{What: what, GoVersion: goVersion, Running: tc.GoVersion, GOTOOLCHAIN: tc.GOTOOLCHAIN}
	}
	return nil
}

// goModSum returns the h1: hash of path@version's go.mod file data,
// checked against gs when it is not nil (go.sum is checked on every use,
// also when the go.mod comes from a cache filled without it).
func goModSum(gs SumChecker, path, version string, data []byte) (string, error) {
	sum, err := h1.GoMod(data)
	if err != nil {
		return "", &module.ModuleError{Path: path, Version: version, Err: err}
	}
	if gs != nil {
		if _, err := gs.Check(path, version, true, sum); err != nil {
			return "", err
		}
	}
	return sum, nil
}

// A SumChecker checks hashes against the hashes recorded for module
// versions, as a go.sum file does (*checksum.GoSum is one). Check reports
// whether a recorded hash of path@version (of its go.mod file when goMod)
// equals hash; a recorded hash that disagrees is an error; found is false
// with a nil error when nothing is recorded.
type SumChecker interface {
	Check(path, version string, goMod bool, hash string) (found bool, err error)
}

// A Downloaded describes a module version fetched by [Download].
type Downloaded struct {
	Path     string
	Version  string // canonical version
	Info     *Info
	GoMod    []byte // the go.mod file, as the .mod endpoint served it
	GoModSum string // h1: hash of GoMod, as in go.sum's "path version/go.mod" line
	Sum      string // h1: hash of the zip, as in go.sum's "path version" line
	Dir      string // extracted directory, when DownloadOptions.ModCache is set
}

// Download fetches path@version through r like `go mod download` does: its
// .info (rev may be any revision r can resolve; the rest uses the canonical
// version Stat returns), its go.mod file and its zip, and reports their
// hashes. Checking those hashes is r's business: compose r with a
// verifying layer (checksum.Verify) to download only verified modules.
//
// With opts.ModCache set, the zip is extracted the way the go command
// extracts it (cmd/go/internal/modfetch: unzip): under the module version's
// lock file ModCache/cache/download/<path>/@v/<version>.lock, a ".partial"
// marker beside it during extraction, files read-only, directories
// read-only unless opts.ReadWrite; a directory that is already complete is
// left alone, a partial one is replaced. The .ziphash file the go command
// requires beside the zip is written if missing.
func Download(ctx context.Context, r Resolver, path, rev string, opts *DownloadOptions) (*Downloaded, error) {
	if opts == nil {
		opts = new(DownloadOptions)
	}
	info, err := r.Stat(ctx, path, rev)
	if err != nil {
		return nil, err
	}
	d := &Downloaded{Path: path, Version: info.Version, Info: info}
	if d.GoMod, err = r.GoMod(ctx, path, d.Version); err != nil {
		return nil, err
	}
	if d.GoModSum, err = goModSum(opts.GoSum, path, d.Version, d.GoMod); err != nil {
		return nil, err
	}
	rc, err := r.Zip(ctx, path, d.Version)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	// A reader of a download in progress waits for it: stop waiting when
	// ctx ends.
	stop := context.AfterFunc(ctx, func() { rc.Close() })
	zipFile, cleanup, err := localZip(rc, opts.TempDir)
	if !stop() {
		if err == nil {
			cleanup()
		}
		err = context.Cause(ctx)
	}
	if err != nil {
		return nil, &module.ModuleError{Path: path, Version: d.Version, Err: err}
	}
	defer cleanup()
	m := module.Version{Path: path, Version: d.Version}
	if s, ok := As[Summer](rc); ok {
		d.Sum = s.Sum()
	}
	if d.Sum == "" {
		if d.Sum, err = dirhash.HashZip(zipFile, dirhash.DefaultHash); err != nil {
			return nil, &module.ModuleError{Path: path, Version: d.Version, Err: err}
		}
	}
	if opts.GoSum != nil {
		if _, err := opts.GoSum.Check(path, d.Version, false, d.Sum); err != nil {
			return nil, err
		}
	}
	if opts.ModCache != "" {
		if d.Dir, err = extract(ctx, opts.ModCache, m, zipFile, d.Sum, opts.ReadWrite); err != nil {
			return nil, err
		}
	}
	if err := opts.Toolchain.tooNew(path, d.Version, d.GoMod); err != nil {
		// The go command reports everything but the directory.
		d.Dir = ""
		return d, err
	}
	return d, nil
}

// localZip returns the name of a file holding the zip read from rc: the
// file behind rc when there is one that still has its name (a DirStore's
// zips, Direct's), else a temporary copy removed by cleanup.
func localZip(rc io.Reader, tempDir string) (name string, cleanup func(), err error) {
	if f, ok := As[*os.File](rc); ok && filepath.IsAbs(f.Name()) {
		fi, err1 := f.Stat()
		named, err2 := os.Stat(f.Name())
		if err1 == nil && err2 == nil && os.SameFile(fi, named) {
			return f.Name(), func() {}, nil
		}
	}
	f, _, cleanup, err := spoolZip(rc, tempDir)
	if err != nil {
		return "", nil, err
	}
	f.Close()
	return f.Name(), cleanup, nil
}

// spoolZip copies the zip read from r to a temporary file in dir ("" for
// os.TempDir()), at most modzip.MaxZipFile bytes, and returns the file
// (open) and its size; cleanup closes and removes it. The Resolver that
// opened r bounds the copy by its context.
func spoolZip(r io.Reader, dir string) (f *os.File, size int64, cleanup func(), err error) {
	f, err = os.CreateTemp(dir, "modfetch-*.zip")
	if err != nil {
		return nil, 0, nil, err
	}
	cleanup = func() {
		f.Close()
		os.Remove(f.Name())
	}
	size, err = io.Copy(f, io.LimitReader(r, modzip.MaxZipFile+1))
	if err == nil && size > modzip.MaxZipFile {
		err = ErrZipTooLarge
	}
	if err != nil {
		cleanup()
		return nil, 0, nil, err
	}
	return f, size, cleanup, nil
}

// ModCacheDir returns the directory where the go command keeps path@version
// extracted in the module cache modcache: modcache/<escaped path>@<escaped
// version>.
func ModCacheDir(modcache, path, version string) (string, error) {
	if !IsCanonical(version) {
		if err := module.CheckPath(path); err != nil {
			return "", err
		}
		return "", fmt.Errorf("non-canonical module version %q", version)
	}
	em, err := EscapeModule(path, version)
	if err != nil {
		return "", err
	}
	return filepath.Join(modcache, filepath.FromSlash(em)), nil
}

// ExtractedDir returns the directory where path@version is extracted in
// the module cache modcache, and whether the extraction is complete by the
// go command's rules (cmd/go/internal/modfetch: DownloadDir): the directory
// exists, no ".partial" marker is left, and the zip's ".ziphash" is present.
func ExtractedDir(modcache, path, version string) (string, bool) {
	dir, err := ModCacheDir(modcache, path, version)
	if err != nil {
		return "", false
	}
	m := module.Version{Path: path, Version: version}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return dir, false
	}
	partial, err := downloadFile(modcache, m, "partial")
	if err != nil {
		return dir, false
	}
	if _, err := os.Stat(partial); err == nil {
		return dir, false
	}
	ziphash, _ := downloadFile(modcache, m, "ziphash")
	if _, err := os.Stat(ziphash); err != nil {
		return dir, false
	}
	return dir, true
}

// VersionFile returns the name of path@version's file with extension ext
// ("info", "mod", "zip", "ziphash", ...) relative to a GOPROXY's base URL
// and to the go command's download cache ($GOMODCACHE/cache/download),
// which share one layout: "<escaped path>/@v/<escaped version>.<ext>",
// slash-separated. It fails for a path or version that cannot be escaped.
func VersionFile(path, version, ext string) (string, error) {
	enc, ev, err := escape(path, version)
	if err != nil {
		return "", err
	}
	return enc + "/@v/" + ev + "." + ext, nil
}

// EscapeModule returns path@version escaped as the go command names it in
// file names and URLs ("!" before capitals): "<escaped path>@<escaped
// version>", slash-separated, as in a module cache directory's name or a
// checksum database lookup. It fails for a path or version that cannot
// be escaped.
func EscapeModule(path, version string) (string, error) {
	enc, ev, err := escape(path, version)
	if err != nil {
		return "", err
	}
	return enc + "@" + ev, nil
}

func escape(path, version string) (enc, ev string, err error) {
	if enc, err = module.EscapePath(path); err != nil {
		return "", "", err
	}
	if ev, err = module.EscapeVersion(version); err != nil {
		return "", "", err
	}
	return enc, ev, nil
}

// downloadFile is the name of path@version's file with extension ext in
// the module cache modcache.
func downloadFile(modcache string, m module.Version, ext string) (string, error) {
	rel, err := VersionFile(m.Path, m.Version, ext)
	if err != nil {
		return "", err
	}
	return filepath.Join(modcache, "cache", "download", filepath.FromSlash(rel)), nil
}

// extract unzips zipFile into the module cache like the go command.
func extract(ctx context.Context, modcache string, m module.Version, zipFile, sum string, rw bool) (dir string, err error) {
	if !filepath.IsAbs(modcache) {
		return "", fmt.Errorf("GOMODCACHE entry is relative; must be absolute path: %q.", modcache)
	}
	dir, err = ModCacheDir(modcache, m.Path, m.Version)
	if err != nil {
		return "", &module.ModuleError{Path: m.Path, Version: m.Version, Err: err}
	}
	lockFile, err := downloadFile(modcache, m, "lock")
	if err != nil {
		return "", err
	}
	partial := strings.TrimSuffix(lockFile, ".lock") + ".partial"
	ziphash := strings.TrimSuffix(lockFile, ".lock") + ".ziphash"
	if err := os.MkdirAll(filepath.Dir(lockFile), 0o777); err != nil {
		return "", err
	}
	unlock, err := lockedfile.Lock(ctx, lockFile)
	if err != nil {
		return "", err
	}
	defer unlock()

	// The go command requires the .ziphash beside the zip to trust a
	// directory; write it when whoever stored the zip did not.
	if data, err := os.ReadFile(ziphash); err != nil || !h1.ValidZiphash(bytes.TrimSpace(data)) {
		if _, err := atomicfile.Write(ctx, ziphash, strings.NewReader(sum), 0, nil); err != nil {
			return "", err
		}
	}

	_, partialErr := os.Stat(partial)
	if fi, err := os.Stat(dir); err == nil && fi.IsDir() && errors.Is(partialErr, fs.ErrNotExist) {
		return dir, nil // already extracted
	} else if err == nil || !errors.Is(err, fs.ErrNotExist) {
		// A partial extraction (or something in the way): start over.
		if err := removeAll(dir); err != nil {
			return "", err
		}
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o777); err != nil {
		return "", err
	}
	if err := os.WriteFile(partial, nil, 0o666); err != nil {
		return "", err
	}
	if err := unzip(ctx, dir, m, zipFile); err != nil {
		if rmErr := removeAll(dir); rmErr == nil {
			os.Remove(partial)
		}
		return "", err
	}
	if err := os.Remove(partial); err != nil {
		return "", err
	}
	if !rw {
		makeDirsReadOnly(dir)
	}
	return dir, nil
}

// unzip is x/mod's zip.Unzip (the go command's) stopping when ctx ends:
// it checks the zip against the module zip rules, then writes each file
// read-only, no larger than the zip declares, checking ctx before each
// file and each read. On failure the caller removes what was written.
func unzip(ctx context.Context, dir string, m module.Version, zipFile string) (err error) {
	defer func() {
		if err != nil && ctx.Err() == nil {
			err = fmt.Errorf("unzip %s: %w", zipFile, err)
		}
	}()
	if files, _ := os.ReadDir(dir); len(files) > 0 {
		return fmt.Errorf("target directory %v exists and is not empty", dir)
	}
	cf, err := modzip.CheckZip(m, zipFile)
	if err != nil {
		return err
	}
	if err := cf.Err(); err != nil {
		return err
	}
	z, err := zip.OpenReader(zipFile)
	if err != nil {
		return err
	}
	defer z.Close()
	prefix := m.Path + "@" + m.Version + "/"
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return err
	}
	for _, zf := range z.File {
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		name, ok := strings.CutPrefix(zf.Name, prefix)
		if !ok {
			return fmt.Errorf("unexpected file name %s", zf.Name) // CheckZip refuses these
		}
		if name == "" || strings.HasSuffix(name, "/") {
			continue
		}
		if err := unzipFile(ctx, filepath.Join(dir, name), zf); err != nil {
			return err
		}
	}
	return nil
}

// unzipFile writes zf's content to the new read-only file dst.
func unzipFile(ctx context.Context, dst string, zf *zip.File) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o777); err != nil {
		return err
	}
	w, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o444)
	if err != nil {
		return err
	}
	r, err := zf.Open()
	if err != nil {
		w.Close()
		return err
	}
	lr := &io.LimitedReader{R: ctxio.Reader(ctx, r), N: int64(zf.UncompressedSize64) + 1}
	_, err = io.Copy(w, lr)
	r.Close()
	if err != nil {
		w.Close()
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	if lr.N <= 0 {
		return fmt.Errorf("uncompressed size of file %s is larger than declared size (%d bytes)", zf.Name, zf.UncompressedSize64)
	}
	return nil
}

// removeAll removes an extracted directory, making its directories
// writable first.
func removeAll(dir string) error {
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			os.Chmod(path, 0o777)
		}
		return nil
	})
	return os.RemoveAll(dir)
}

// makeDirsReadOnly removes write permission from dir and the directories
// below it, children before parents.
func makeDirsReadOnly(dir string) {
	var dirs []string
	var modes []fs.FileMode
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			if info, err := d.Info(); err == nil && info.Mode()&0o222 != 0 {
				dirs = append(dirs, path)
				modes = append(modes, info.Mode())
			}
		}
		return nil
	})
	for i := len(dirs) - 1; i >= 0; i-- {
		os.Chmod(dirs[i], modes[i]&^0o222)
	}
}
