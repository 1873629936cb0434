package bundle

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"golang.org/x/sync/errgroup"

	"github.com/modfetch/modfetch"
	"github.com/modfetch/modfetch/cache"
	"github.com/modfetch/modfetch/checksum"
	"github.com/modfetch/modfetch/upstream"
)

// ImportOptions configures [Import].
type ImportOptions struct {
	// VerifyOptions say what vouches for the bundle's files: the
	// checksum database's key (from GOSUMDB), GONOSUMDB, a go.sum.
	VerifyOptions

	// ModCache, if set, is a module cache (GOMODCACHE) to import into:
	// the files go to ModCache/cache/download and each zip is extracted
	// beside them as `go mod download` extracts it, so that the go
	// command builds with GOPROXY=off.
	ModCache string

	// ReadWrite leaves extracted directories writable (-modcacherw).
	ReadWrite bool

	// Store, used when ModCache is empty, receives the files under the
	// module cache's keys: a proxy's store, such as a cache.DirStore at
	// the proxy's DIR/download.
	Store cache.Store

	// Parallel bounds the modules written at once; zero means
	// GOMAXPROCS.
	Parallel int

	// Progress, if set, is called after each module is written, with
	// the number written so far and the total; calls are serialized.
	Progress func(m Module, done, total int)

	// TempDir is where an archive is unpacked and zips are spooled;
	// empty means os.TempDir().
	TempDir string
}

// Import verifies the bundle in (a directory or an archive, see [Open])
// and writes its modules into opts.ModCache or opts.Store, with the
// checksum database records and tiles that vouched for them, under
// "sumdb/<name>/..." in the go command's layout (so that the go command
// with GOPROXY=off finds them in its module cache).
//
// Nothing is written unless every file of the bundle verifies (see
// [Bundle.Verify]): a bundle with any file that does not verify is
// refused as a whole, and the error names each such file. Each file is
// checked again on its way into the store (checksum.Verify against the
// hashes verified first), and each is written whole or not at all; an
// I/O failure or cancellation part way can leave some modules imported
// and others not, each complete.
func Import(ctx context.Context, in string, opts *ImportOptions) (*Verified, error) {
	if opts == nil || (opts.ModCache == "" && opts.Store == nil) {
		return nil, errors.New("bundle: Import needs a module cache or a store to import into")
	}
	b, err := Open(ctx, in, opts.TempDir)
	if err != nil {
		return nil, err
	}
	defer b.Close()
	v, err := b.Verify(ctx, &opts.VerifyOptions)
	if err != nil {
		return nil, fmt.Errorf("%w:\n%w", ErrRefused, err)
	}
	store := opts.Store
	if opts.ModCache != "" {
		store = &cache.DirStore{Dir: filepath.Join(opts.ModCache, "cache", "download")}
	}
	src := &checksum.Verify{Next: &upstream.Proxy{URL: fileURL(b.Dir)}, GoSum: v.Sums, TempDir: opts.TempDir}

	var (
		g     errgroup.Group
		errs  = make([]error, len(v.Modules))
		done  = make(chan Module)
		total = len(v.Modules)
	)
	n := opts.Parallel
	if n <= 0 {
		n = runtime.GOMAXPROCS(0)
	}
	g.SetLimit(n)
	progressDone := make(chan struct{})
	go func() {
		defer close(progressDone)
		count := 0
		for m := range done {
			count++
			if opts.Progress != nil {
				opts.Progress(m, count, total)
			}
		}
	}()
	for i, m := range v.Modules {
		g.Go(func() error {
			if err := ctx.Err(); err != nil {
				errs[i] = err
				return nil
			}
			if err := putModule(ctx, store, src, m, v.Sums, opts); err != nil {
				errs[i] = fmt.Errorf("importing %s@%s: %w", m.Path, m.Version, err)
				return nil
			}
			done <- m
			return nil
		})
	}
	g.Wait()
	close(done)
	<-progressDone
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	for _, f := range v.SumDBFiles {
		file, err := os.Open(filepath.Join(sumdbDir(b.Dir, v.DBName), filepath.FromSlash(f)))
		if err != nil {
			return nil, err
		}
		err = store.Put(ctx, "sumdb/"+v.DBName+"/"+f, file)
		file.Close()
		if err != nil {
			return nil, err
		}
	}
	return v, nil
}

// ErrRefused is wrapped by Import's error when the bundle did not verify
// and nothing was written.
var ErrRefused = errors.New("bundle refused, nothing imported")

// fileURL is the file:// URL of the absolute directory dir.
func fileURL(dir string) string {
	p := filepath.ToSlash(dir)
	if len(p) > 0 && p[0] != '/' {
		p = "/" + p // a Windows drive letter
	}
	return "file://" + p
}

// putModule fetches m through a cache.Cache over store whose Next is
// src (which verifies every file), so that only verified files are
// stored, each whole, and checks them against the verified hashes sums
// also when store already held them; with opts.ModCache, the zip is then
// extracted.
func putModule(ctx context.Context, store cache.Store, src modfetch.Resolver, m Module, sums *checksum.GoSum, opts *ImportOptions) error {
	c := &cache.Cache{Store: store, Next: src, MutableTTL: -1}
	if m.GoModOnly {
		mod, err := c.GoMod(ctx, m.Path, m.Version)
		if err != nil {
			return err
		}
		sum, err := checksum.HashGoMod(mod)
		if err != nil {
			return err
		}
		_, err = sums.Check(m.Path, m.Version, true, sum)
		return err
	}
	_, err := modfetch.Download(ctx, c, m.Path, m.Version, &modfetch.DownloadOptions{
		ModCache: opts.ModCache, ReadWrite: opts.ReadWrite, TempDir: opts.TempDir, GoSum: sums,
	})
	return err
}
