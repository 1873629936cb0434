package modfetch

import (
	"context"
	"errors"
	"io"
	"os"
	"runtime"
	"sync"

	"golang.org/x/mod/module"
	"golang.org/x/sync/errgroup"
)

// A BulkItem is one module version for [DownloadAll] to fetch.
type BulkItem struct {
	Module module.Version // Module.Version must be canonical

	// GoModOnly fetches only the version's go.mod file, as the go command
	// does for modules it needs only to load the module graph. Otherwise
	// the item is downloaded like [Download] does: .info, go.mod and zip.
	GoModOnly bool
}

// BulkOptions configures [DownloadAll]. The zero value (or nil) fetches
// GOMAXPROCS items at a time, reports nothing and extracts nothing.
type BulkOptions struct {
	// Parallel is the most items fetched at once; zero or less means
	// runtime.GOMAXPROCS(0).
	Parallel int

	// Progress, if set, is called for every event (see [BulkEvent]).
	// Calls are serialized, never concurrent, and come from DownloadAll's
	// goroutines before DownloadAll returns; Progress must not block for
	// long, since fetching waits for it.
	Progress func(BulkEvent)

	// DownloadOptions apply to each item downloaded in full: with
	// ModCache set, zips are extracted into that module cache.
	DownloadOptions
}

// A BulkEventKind says what a [BulkEvent] reports.
type BulkEventKind int

const (
	// BulkStarted: fetching the item began. Every item that starts has
	// exactly one BulkStarted event, then exactly one BulkDone or
	// BulkFailed event.
	BulkStarted BulkEventKind = iota + 1
	// BulkBytes: N more bytes of the item's zip were read from the
	// Resolver. A zip that the Resolver hands over as a file on local
	// disk (a DirStore's, which a cache.Cache fills before answering) is
	// used in place, unread: its size counts at once, in one event.
	BulkBytes
	// BulkDone: the item was fetched (and extracted, when asked).
	BulkDone
	// BulkFailed: the item failed; Err says why.
	BulkFailed
)

func (k BulkEventKind) String() string {
	switch k {
	case BulkStarted:
		return "started"
	case BulkBytes:
		return "bytes"
	case BulkDone:
		return "done"
	case BulkFailed:
		return "failed"
	}
	return "BulkEventKind(?)"
}

// A BulkEvent is a progress report of [DownloadAll].
type BulkEvent struct {
	Kind BulkEventKind
	Item BulkItem
	N    int64 // BulkBytes: bytes read by this step
	Err  error // BulkFailed: the item's error, as in its BulkResult

	// Totals after this event.
	Totals BulkTotals
}

// BulkTotals counts the progress of a [DownloadAll] call.
type BulkTotals struct {
	Items   int   // items asked for
	Started int   // items started
	Done    int   // items fetched
	Failed  int   // items that failed after starting
	Bytes   int64 // zip bytes read from the Resolver, or handed over as files
}

// A BulkResult is the outcome of one [BulkItem].
type BulkResult struct {
	Item BulkItem

	// Downloaded describes an item downloaded in full; nil for a
	// GoModOnly item or a failure, except a *TooNewError (downloaded,
	// but for a newer go than DownloadOptions.Toolchain).
	Downloaded *Downloaded

	// GoMod and GoModSum are a GoModOnly item's go.mod file and its
	// go.sum hash.
	GoMod    []byte
	GoModSum string

	// Err is the item's failure, nil on success. It wraps the
	// Resolver's error (errors.Is(err, fs.ErrNotExist) for a version
	// that does not exist, a checksum mismatch from a verifying
	// Resolver, ...) with module context, or the context's error for
	// an item that never started because ctx ended.
	Err error
}

// DownloadAll fetches items through r, at most opts.Parallel at a time,
// and returns their results in the order of items. It goes on past
// failures: every item is tried (until ctx ends), and the error, nil only
// when every item succeeded, joins every item's error in item order, so
// errors.Is and errors.As see each of them.
//
// Each item is fetched like [Download] fetches it (or, for GoModOnly,
// with r.GoMod alone), so the same rules hold: verifying hashes is r's
// business — compose r with checksum.Verify to fetch only what go.sum and
// the checksum database vouch for — and storing files is r's too (a
// cache.Cache over a DirStore fills a module cache's download directory),
// while opts.ModCache extracts zips.
//
// When ctx ends, items not started yet are not started (their results
// carry the context's error and have no events), items in progress stop
// with the error their Resolver returns, and DownloadAll returns once
// every goroutine it started has ended; a download that stops leaves no
// temporary file, and no partial extraction (see [Download]).
func DownloadAll(ctx context.Context, r Resolver, items []BulkItem, opts *BulkOptions) ([]BulkResult, error) {
	if opts == nil {
		opts = new(BulkOptions)
	}
	n := opts.Parallel
	if n <= 0 {
		n = runtime.GOMAXPROCS(0)
	}
	p := &bulkProgress{fn: opts.Progress, totals: BulkTotals{Items: len(items)}}
	results := make([]BulkResult, len(items))
	var g errgroup.Group
	g.SetLimit(n)
	for i, it := range items {
		results[i].Item = it
		if ctx.Err() != nil {
			results[i].Err = bulkErr(it, context.Cause(ctx))
			continue
		}
		g.Go(func() error {
			if ctx.Err() != nil {
				results[i].Err = bulkErr(it, context.Cause(ctx))
				return nil
			}
			p.event(BulkEvent{Kind: BulkStarted, Item: it})
			res := &results[i]
			if it.GoModOnly {
				res.GoMod, res.Err = r.GoMod(ctx, it.Module.Path, it.Module.Version)
				if res.Err == nil {
					if res.GoModSum, res.Err = goModSum(opts.GoSum, it.Module.Path, it.Module.Version, res.GoMod); res.Err != nil {
						res.GoMod = nil
					}
				}
			} else {
				zr := r
				if opts.Progress != nil {
					zr = &countingResolver{Resolver: r, add: func(n int64) {
						p.event(BulkEvent{Kind: BulkBytes, Item: it, N: n})
					}}
				}
				res.Downloaded, res.Err = Download(ctx, zr, it.Module.Path, it.Module.Version, &opts.DownloadOptions)
			}
			if res.Err != nil {
				res.Err = bulkErr(it, res.Err)
				p.event(BulkEvent{Kind: BulkFailed, Item: it, Err: res.Err})
			} else {
				p.event(BulkEvent{Kind: BulkDone, Item: it})
			}
			return nil
		})
	}
	g.Wait()
	var errs []error
	for _, res := range results {
		if res.Err != nil {
			errs = append(errs, res.Err)
		}
	}
	return results, errors.Join(errs...)
}

// bulkErr gives err module context unless it has it.
func bulkErr(it BulkItem, err error) error {
	var me *module.ModuleError
	if errors.As(err, &me) {
		return err
	}
	return &module.ModuleError{Path: it.Module.Path, Version: it.Module.Version, Err: err}
}

type bulkProgress struct {
	fn     func(BulkEvent)
	mu     sync.Mutex
	totals BulkTotals
}

func (p *bulkProgress) event(e BulkEvent) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch e.Kind {
	case BulkStarted:
		p.totals.Started++
	case BulkBytes:
		p.totals.Bytes += e.N
	case BulkDone:
		p.totals.Done++
	case BulkFailed:
		p.totals.Failed++
	}
	if p.fn != nil {
		e.Totals = p.totals
		p.fn(e)
	}
}

// countingResolver reports the bytes read from its zips.
type countingResolver struct {
	Resolver
	add func(n int64)
}

func (r *countingResolver) Zip(ctx context.Context, path, version string) (io.ReadCloser, error) {
	rc, err := r.Resolver.Zip(ctx, path, version)
	if err != nil {
		return nil, err
	}
	if f, ok := As[*os.File](rc); ok {
		// Download uses such a file in place, unread (or, if it cannot,
		// copies it once): count it whole now.
		if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
			r.add(fi.Size())
			return rc, nil
		}
	}
	return &countingReader{rc: rc, add: r.add}, nil
}

// countingReader passes its zip's bytes through unchanged, so it unwraps
// to it (see [Unwrapper]).
type countingReader struct {
	rc  io.ReadCloser
	add func(n int64)
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.rc.Read(b)
	if n > 0 {
		c.add(int64(n))
	}
	return n, err
}

func (c *countingReader) Close() error { return c.rc.Close() }

func (c *countingReader) Unwrap() io.Reader { return c.rc }
