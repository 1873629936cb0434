package checksum

import (
	"archive/zip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"runtime"
	"strings"

	"golang.org/x/mod/module"
	modzip "golang.org/x/mod/zip"

	"github.com/modfetch/modfetch"
	"github.com/modfetch/modfetch/internal/ziphash"
)

// Verify is a [modfetch.Resolver] that checks every go.mod file and zip
// from Next before returning it, the way the go command checks downloads
// (cmd/go/internal/modfetch: checkModSum):
//
//  1. the h1: hash is computed (a zip is first spooled to a temporary
//     file, never held in memory, and must hold only entries under
//     "path@version/" and be at most 500 MiB);
//  2. if GoSum records a hash for it, that decides: equal is accepted, a
//     different h1: hash is a *MismatchError and the database is not asked;
//  3. otherwise, unless the module path matches NoSumDB, DB must vouch for
//     the hash: a different record or none is a *MismatchError, a failed
//     lookup an error;
//  4. with no GoSum record and no DB (GOSUMDB=off) or a NoSumDB match, the
//     bytes are accepted as they are.
//
// golang.org/toolchain is always checked against DB, as by the go command;
// with no DB it fails with "checksum database disabled by GOSUMDB=off".
//
// Bytes that fail a check are never returned, so a cache above Verify never
// stores them. List, Stat and Latest pass through.
//
// Zip returns a reader over the verified temporary file (removed when the
// reader is closed) that also implements io.Seeker, io.ReaderAt,
// Stat() (fs.FileInfo, error) and Sum() string, the zip's h1: hash.
type Verify struct {
	Next modfetch.Resolver

	// GoSum holds hashes recorded in a go.sum file; nil means none.
	GoSum *GoSum

	// DB is the checksum database; nil means none (GOSUMDB=off).
	DB *DB

	// NoSumDB is the GONOSUMDB value (by default GOPRIVATE): module paths
	// it matches are never looked up in DB (GoSum still applies).
	NoSumDB string

	// TempDir is where zips are spooled; empty means os.TempDir().
	TempDir string
}

// useDB reports whether path@version's hashes must be vouched for by the
// database (cmd/go/internal/modfetch: useSumDB).
func (v *Verify) useDB(path string) bool {
	if path == "golang.org/toolchain" {
		return true
	}
	return v.DB != nil && !module.MatchPrefixPatterns(v.NoSumDB, path)
}

// check checks hash for path@version (its go.mod when goMod).
func (v *Verify) check(ctx context.Context, path, version string, goMod bool, hash string) error {
	if v.GoSum != nil {
		found, err := v.GoSum.Check(path, version, goMod, hash)
		if err != nil || found {
			return err
		}
	}
	if !v.useDB(path) {
		return nil
	}
	if v.DB == nil {
		noun := "module"
		if goMod {
			noun = "go.mod"
		}
		return &module.ModuleError{Path: path, Version: version, Err: fmt.Errorf("verifying %s: checksum database disabled by GOSUMDB=off", noun)}
	}
	return v.DB.Check(ctx, path, version, goMod, hash)
}

// List implements [modfetch.Resolver].
func (v *Verify) List(ctx context.Context, path string) ([]string, error) {
	return v.Next.List(ctx, path)
}

// Stat implements [modfetch.Resolver].
func (v *Verify) Stat(ctx context.Context, path, rev string) (*modfetch.Info, error) {
	return v.Next.Stat(ctx, path, rev)
}

// Latest implements [modfetch.Resolver].
func (v *Verify) Latest(ctx context.Context, path string) (*modfetch.Info, error) {
	return v.Next.Latest(ctx, path)
}

// GoMod implements [modfetch.Resolver].
func (v *Verify) GoMod(ctx context.Context, path, version string) ([]byte, error) {
	data, err := v.Next.GoMod(ctx, path, version)
	if err != nil {
		return nil, err
	}
	h, err := HashGoMod(data)
	if err != nil {
		return nil, &module.ModuleError{Path: path, Version: version, Err: fmt.Errorf("verifying go.mod: %v", err)}
	}
	if err := v.check(ctx, path, version, true, h); err != nil {
		return nil, err
	}
	return data, nil
}

// Zip implements [modfetch.Resolver].
func (v *Verify) Zip(ctx context.Context, path, version string) (io.ReadCloser, error) {
	rc, err := v.Next.Zip(ctx, path, version)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	f, err := spool(v.TempDir, "modfetch-verify-*.zip")
	if err != nil {
		return nil, err
	}
	keep := false
	defer func() {
		if !keep {
			f.Close()
		}
	}()
	n, err := io.Copy(f, io.LimitReader(ctxReader{ctx, rc}, modzip.MaxZipFile+1))
	if err != nil {
		return nil, err
	}
	if n > modzip.MaxZipFile {
		return nil, &module.ModuleError{Path: path, Version: version, Err: errZipTooLarge}
	}
	z, err := zip.NewReader(f, n)
	if err != nil {
		return nil, &module.ModuleError{Path: path, Version: version, Err: err}
	}
	prefix := path + "@" + version + "/"
	for _, zf := range z.File {
		if !strings.HasPrefix(zf.Name, prefix) {
			return nil, fmt.Errorf("zip for %s has unexpected file %s", prefix[:len(prefix)-1], zf.Name)
		}
	}
	h, err := ziphash.HashReader(z)
	if err != nil {
		return nil, &module.ModuleError{Path: path, Version: version, Err: err}
	}
	if err := v.check(ctx, path, version, false, h); err != nil {
		return nil, err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	keep = true
	return &verifiedZip{spooled: f, sum: h}, nil
}

var errZipTooLarge = errors.New("downloaded zip file too large")

// A spooled is a temporary file that is gone once closed. On Unix it is
// unlinked at once, so that nothing is left behind even after a crash.
type spooled struct {
	*os.File
	removeOnClose bool
}

func spool(dir, pattern string) (*spooled, error) {
	f, err := os.CreateTemp(dir, pattern)
	if err != nil {
		return nil, err
	}
	if runtime.GOOS != "windows" {
		if err := os.Remove(f.Name()); err == nil {
			return &spooled{File: f}, nil
		}
	}
	return &spooled{File: f, removeOnClose: true}, nil
}

func (s *spooled) Close() error {
	err := s.File.Close()
	if s.removeOnClose {
		os.Remove(s.File.Name())
	}
	return err
}

// verifiedZip is a verified zip on local disk.
type verifiedZip struct {
	*spooled
	sum string
}

// Sum returns the zip's h1: hash.
func (z *verifiedZip) Sum() string { return z.sum }

// Stat returns the spooled file's information (its size in particular).
func (z *verifiedZip) Stat() (fs.FileInfo, error) { return z.spooled.File.Stat() }

type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, context.Cause(c.ctx)
	}
	return c.r.Read(p)
}

// Try implements [modfetch.Walker]: when Next is a Walker (a GOPROXY
// chain, say), fn sees each of its alternatives behind the same checks.
// Otherwise fn sees v.
func (v *Verify) Try(path string, fn func(modfetch.Resolver) error) error {
	w, ok := v.Next.(modfetch.Walker)
	if !ok {
		return fn(v)
	}
	return w.Try(path, func(r modfetch.Resolver) error {
		view := *v
		view.Next = r
		return fn(&view)
	})
}
