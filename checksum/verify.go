package checksum

import (
	"archive/zip"
	"context"
	"fmt"
	"io"
	"strings"
	"sync"

	"golang.org/x/mod/module"
	modzip "golang.org/x/mod/zip"

	"github.com/modfetch/modfetch"
	"github.com/modfetch/modfetch/internal/h1"
	"github.com/modfetch/modfetch/internal/hooks"
	"github.com/modfetch/modfetch/internal/spool"
)

// Verify is a [modfetch.Resolver] that checks every go.mod file and zip
// from Next before returning it, the way the go command checks downloads
// (cmd/go/internal/modfetch: checkModSum):
//
//  1. the h1: hash is computed (a zip streams through a temporary file,
//     never held in memory, and must hold only entries under
//     "path@version/" and be at most 500 MiB);
//  2. if GoSum records a hash for it, that decides: equal is accepted, a
//     different h1: hash is a *MismatchError and the database is not asked;
//  3. otherwise, unless the module path matches DB.NoSumDB, DB must vouch for
//     the hash: a different record or none is a *MismatchError, a failed
//     lookup an error;
//  4. with no GoSum record and no DB (GOSUMDB=off) or a DB.NoSumDB match, the
//     bytes are accepted as they are.
//
// golang.org/toolchain is always checked against DB, as by the go command;
// with no DB it fails with "checksum database disabled by GOSUMDB=off".
//
// Bytes that fail a check are never returned, so a cache above Verify never
// stores them. List, Stat and Latest pass through.
//
// Zip streams: see [Verify.Zip] for how its reader holds back the end of
// a zip until the zip is verified.
type Verify struct {
	Next modfetch.Resolver

	// GoSum holds hashes recorded in a go.sum file; nil means none.
	GoSum *GoSum

	// DB is the checksum database; nil means none (GOSUMDB=off).
	DB *DB

	// TempDir is where zips are spooled; empty means os.TempDir().
	TempDir string

	// Hooks, if set, are told of each check (Hooks.Verification).
	Hooks *modfetch.Hooks
}

// useDB reports whether path@version's hashes must be vouched for by the
// database (cmd/go/internal/modfetch: useSumDB).
func (v *Verify) useDB(path string) bool {
	if path == "golang.org/toolchain" {
		return true
	}
	return v.DB != nil && !v.DB.Skip(path)
}

// check checks hash for path@version (its go.mod when goMod), telling
// Hooks.
func (v *Verify) check(ctx context.Context, path, version string, goMod bool, hash string) error {
	checked, err := v.checkHash(ctx, path, version, goMod, hash)
	if !checked {
		return nil // nothing to check against: accepted as it is
	}
	kind := modfetch.KindZip
	if goMod {
		kind = modfetch.KindMod
	}
	hooks.Each(ctx, v.Hooks, func(h *modfetch.Hooks) {
		if h.Verification != nil {
			h.Verification(modfetch.Verification{Kind: kind, Path: path, Version: version, Err: err})
		}
	})
	return err
}

// checkHash checks hash, reporting whether there was anything to check
// it against (go.sum, the database).
func (v *Verify) checkHash(ctx context.Context, path, version string, goMod bool, hash string) (checked bool, err error) {
	if v.GoSum != nil {
		found, err := v.GoSum.Check(path, version, goMod, hash)
		if err != nil || found {
			return true, err
		}
	}
	if !v.useDB(path) {
		return false, nil
	}
	if v.DB == nil {
		noun := "module"
		if goMod {
			noun = "go.mod"
		}
		return true, &module.ModuleError{Path: path, Version: version, Err: fmt.Errorf("verifying %s: checksum database disabled by GOSUMDB=off", noun)}
	}
	return true, v.DB.Check(ctx, path, version, goMod, hash)
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

// prefetch starts the checksum database lookup that checking path@version
// will need, so that it runs while Next downloads. The DB keeps the
// answer; a failure is reported again by the check itself. The lookup
// ends with ctx, the context of the work that needs it (the DB shares
// one lookup among its callers, so the check itself only joins it).
func (v *Verify) prefetch(ctx context.Context, path, version string, goMod bool) {
	if v.DB == nil || !v.useDB(path) {
		return
	}
	if v.GoSum != nil && len(v.GoSum.Hashes(path, version, goMod)) > 0 {
		return // go.sum decides
	}
	go v.DB.Lookup(ctx, path, version)
}

// GoMod implements [modfetch.Resolver].
func (v *Verify) GoMod(ctx context.Context, path, version string) ([]byte, error) {
	v.prefetch(ctx, path, version, true)
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

// ZipHold is how many bytes at the end of a zip Verify's readers hold
// back until the zip is verified.
const ZipHold = 64 << 10

// Zip implements [modfetch.Resolver]. It returns as soon as Next has
// answered: the zip streams through a temporary file while it downloads
// and is hashed on the way. The reader delivers the bytes as they arrive
// except the last ZipHold, which it delivers only once the whole zip has
// been checked; if the check fails, the reader fails with the check's
// error (a *MismatchError, say) instead, so no reader ever sees the whole
// of an unverified zip.
//
// The reader also has Sum() string, the zip's h1: hash once it has been
// read to its end, and NewReader() io.ReadCloser, which opens another
// reader of the same download (caches use it to serve many callers and
// store the zip at once). The download goes on, detached from ctx, until
// it ends or every reader is closed: then it is canceled at once, with its
// checksum database lookup. Close may be called while a Read waits for
// the download, from another goroutine; the Read then fails.
func (v *Verify) Zip(ctx context.Context, path, version string) (io.ReadCloser, error) {
	// The download outlives this call: run it under its own context,
	// canceled if ctx ends before Next answers, and when the stream ends.
	dctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	v.prefetch(dctx, path, version, false)
	stop := context.AfterFunc(ctx, cancel)
	rc, err := v.Next.Zip(dctx, path, version)
	if !stop() {
		// ctx ended while Next was answering.
		if rc != nil {
			rc.Close()
		}
		cancel()
		return nil, context.Cause(ctx)
	}
	if err != nil {
		cancel()
		return nil, err
	}
	sp, err := spool.New(v.TempDir, ZipHold)
	if err != nil {
		rc.Close()
		cancel()
		return nil, err
	}
	// Once every reader has left, nobody wants the rest: stop the
	// download rather than wait for it, whatever pace the upstream keeps.
	sp.OnOrphaned(cancel)
	vz := &verifyingZip{sp: sp}
	first := vz.NewReader()
	go func() {
		defer cancel()
		vz.fill(dctx, v, rc, path, version)
	}()
	return first, nil
}

// verifyingZip is one verified download of a zip, shared by its readers.
type verifyingZip struct {
	sp  *spool.Spool
	mu  sync.Mutex
	sum string
}

// fill downloads rc into the spool, hashing on the way, then checks the
// zip and releases (or fails) its tail.
func (vz *verifyingZip) fill(ctx context.Context, v *Verify, rc io.ReadCloser, path, version string) {
	defer rc.Close()
	sp := vz.sp
	stream := h1.NewStream(sp) // sp is written first: the stream reads it back
	fail := func(err error) {
		stream.Abort()
		sp.Finish(err)
	}
	n, err := io.Copy(io.MultiWriter(sp, stream), io.LimitReader(rc, modzip.MaxZipFile+1))
	if err == nil && n > modzip.MaxZipFile {
		err = &module.ModuleError{Path: path, Version: version, Err: modfetch.ErrZipTooLarge}
	}
	if err != nil {
		fail(err)
		return
	}
	z, err := zip.NewReader(sp, n)
	if err != nil {
		fail(&module.ModuleError{Path: path, Version: version, Err: err})
		return
	}
	prefix := path + "@" + version + "/"
	for _, zf := range z.File {
		if !strings.HasPrefix(zf.Name, prefix) {
			fail(fmt.Errorf("zip for %s has unexpected file %s", prefix[:len(prefix)-1], zf.Name))
			return
		}
	}
	h, err := stream.Sum(z)
	if err != nil {
		sp.Finish(&module.ModuleError{Path: path, Version: version, Err: err})
		return
	}
	if err := v.check(ctx, path, version, false, h); err != nil {
		sp.Finish(err)
		return
	}
	vz.mu.Lock()
	vz.sum = h
	vz.mu.Unlock()
	sp.Finish(nil)
}

// NewReader opens another reader of the zip (nil once every reader has
// been closed).
func (vz *verifyingZip) NewReader() io.ReadCloser {
	r := vz.sp.NewReader()
	if r == nil {
		return nil
	}
	return &zipReader{Reader: r, vz: vz}
}

// A zipReader reads a verifyingZip.
type zipReader struct {
	*spool.Reader
	vz *verifyingZip
}

// Sum returns the zip's h1: hash once it has been verified, else "".
func (r *zipReader) Sum() string {
	r.vz.mu.Lock()
	defer r.vz.mu.Unlock()
	return r.vz.sum
}

// NewReader opens another reader of the same download.
func (r *zipReader) NewReader() io.ReadCloser { return r.vz.NewReader() }

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
