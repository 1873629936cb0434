package upstream

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"sync"
	"time"

	"golang.org/x/mod/module"

	"github.com/modfetch/modfetch"
)

// An Entry is one element of a [Chain].
type Entry struct {
	Resolver modfetch.Resolver

	// FallBackOnError is true when the entry was followed by "|" in
	// GOPROXY: any error moves on to the next entry. When false (a ","),
	// only a not-found error does.
	FallBackOnError bool

	// Direct marks an entry that fetches from the module's origin, like
	// the go command's "direct": when every entry fails, its error is
	// reported in preference to proxies' errors.
	Direct bool

	// Health, if set, is the entry's health record: while its breaker is
	// open the Chain does not ask the entry and takes an error wrapping
	// ErrUnavailable as its answer. The Resolver reports its requests'
	// outcomes to it (a [Proxy] does through its Health field).
	Health *Health
}

// A Chain tries its entries in order, like the go command walks GOPROXY
// (cmd/go/internal/modfetch: TryProxies). A request returns the first
// success. After a failure the walk goes on only if the error is not found
// (errors.Is(err, fs.ErrNotExist)) or the entry has FallBackOnError.
//
// When every entry fails, the reported error is the most helpful one, by
// the go command's ranking: the last error from a Direct entry; else the
// last error that is not a not-found error; else the last not-found error.
//
// Module paths matching NoProxy never reach Entries: they are answered by
// Direct alone, as the go command's GONOPROXY (by default GOPRIVATE) has
// them fetched directly even when GOPROXY=off.
//
// Zip falls through only on errors that happen before the body starts; a
// failure in the middle of a body is the reader's error.
//
// An entry with a [Health] whose breaker is open is not asked: its answer
// is an error wrapping [ErrUnavailable]. After a "|" the walk moves on at
// once (a dead mirror costs nothing while it cools down); after a ","
// the go command's rule is kept exactly: a failure that is not a
// not-found error ends the walk, the breaker only makes it fail fast.
type Chain struct {
	Entries []Entry

	// NoProxy is a GONOPROXY value: comma-separated glob patterns of module
	// path prefixes (see module.MatchPrefixPatterns).
	NoProxy string

	// Direct answers for module paths matching NoProxy. If nil, asking
	// for one fails with ErrDirectNotConfigured.
	Direct modfetch.Resolver

	// Hedge, if not zero, hedges small requests (List, Stat, Latest,
	// GoMod): when an entry followed by "|" has not answered within the
	// delay, the next entry is asked as well, the first success is taken
	// and the other request canceled. A positive Hedge is the delay;
	// HedgeAuto takes each entry's observed 95th-percentile latency (see
	// [Health]). Either answer is one the "|" walk could have given.
	Hedge time.Duration
}

// HedgeAuto is the [Chain.Hedge] value that hedges after each entry's
// observed 95th-percentile latency (500ms until it has 16 answers, never
// less than 10ms).
const HedgeAuto time.Duration = -1

// ErrNoEntries is the go command's error for a GOPROXY that names nothing.
var ErrNoEntries = errors.New("GOPROXY list is not the empty string, but contains no entries")

// Try calls fn with each entry's Resolver, following the chain's rules, and
// returns nil after the first success or the most helpful error. Queries
// that must be answered whole by one entry (such as the go command's version
// queries) use Try rather than the Resolver methods.
func (c *Chain) Try(path string, fn func(r modfetch.Resolver) error) error {
	if c.NoProxy != "" && module.MatchPrefixPatterns(c.NoProxy, path) {
		return fn(directOrMissing(c.Direct))
	}
	return c.tryEntries(fn)
}

// tryIndexed is Try, telling fn which entry it asks (-1: Direct, for a
// NoProxy module).
func (c *Chain) tryIndexed(path string, fn func(i int, r modfetch.Resolver) error) error {
	if c.NoProxy != "" && module.MatchPrefixPatterns(c.NoProxy, path) {
		return fn(-1, directOrMissing(c.Direct))
	}
	return c.walkEntries(fn)
}

// tryEntries is Try over the GOPROXY entries, without GONOPROXY routing.
func (c *Chain) tryEntries(fn func(r modfetch.Resolver) error) error {
	return c.walkEntries(func(_ int, r modfetch.Resolver) error { return fn(r) })
}

// walkEntries is tryEntries, telling fn which entry it asks.
func (c *Chain) walkEntries(fn func(i int, r modfetch.Resolver) error) error {
	if len(c.Entries) == 0 {
		return ErrNoEntries
	}
	const (
		notExistRank = iota
		proxyRank
		directRank
	)
	var best error
	rank := notExistRank
	for i, e := range c.Entries {
		err := c.try(e, func(r modfetch.Resolver) error { return fn(i, r) })
		if err == nil {
			return nil
		}
		notExist := errors.Is(err, fs.ErrNotExist)
		switch {
		case e.Direct:
			best, rank = err, directRank
		case rank <= proxyRank && !notExist:
			best, rank = err, proxyRank
		case rank == notExistRank:
			best = err
		}
		if !e.FallBackOnError && !notExist {
			break
		}
	}
	return best
}

// try asks e, unless its breaker is open.
func (c *Chain) try(e Entry, fn func(r modfetch.Resolver) error) error {
	ok, probe := e.Health.allow()
	if !ok {
		return &unavailableError{name: e.Health.Name}
	}
	if probe {
		defer e.Health.endProbe()
	}
	return fn(e.Resolver)
}

// unavailableError is the answer of an entry whose breaker is open.
type unavailableError struct{ name string }

func (e *unavailableError) Error() string { return e.name + ": " + ErrUnavailable.Error() }
func (e *unavailableError) Unwrap() error { return ErrUnavailable }

// Health returns the health of the chain's entries that have a record,
// in chain order.
func (c *Chain) Health() []HealthStats {
	var all []HealthStats
	for _, e := range c.Entries {
		if e.Health != nil {
			all = append(all, e.Health.Stats())
		}
	}
	return all
}

// List implements [modfetch.Resolver].
func (c *Chain) List(ctx context.Context, path string) ([]string, error) {
	return small(ctx, c, path, "", func(ctx context.Context, r modfetch.Resolver) ([]string, error) { return r.List(ctx, path) })
}

// Stat implements [modfetch.Resolver].
func (c *Chain) Stat(ctx context.Context, path, rev string) (*modfetch.Info, error) {
	return small(ctx, c, path, rev, func(ctx context.Context, r modfetch.Resolver) (*modfetch.Info, error) { return r.Stat(ctx, path, rev) })
}

// Latest implements [modfetch.Resolver].
func (c *Chain) Latest(ctx context.Context, path string) (*modfetch.Info, error) {
	return small(ctx, c, path, "", func(ctx context.Context, r modfetch.Resolver) (*modfetch.Info, error) { return r.Latest(ctx, path) })
}

// GoMod implements [modfetch.Resolver].
func (c *Chain) GoMod(ctx context.Context, path, version string) ([]byte, error) {
	return small(ctx, c, path, version, func(ctx context.Context, r modfetch.Resolver) ([]byte, error) { return r.GoMod(ctx, path, version) })
}

// small answers a request for a small answer: hedged when c.Hedge is set
// and the module is not routed to Direct, else by the plain walk.
func small[T any](ctx context.Context, c *Chain, path, version string, ask func(context.Context, modfetch.Resolver) (T, error)) (T, error) {
	if c.Hedge == 0 || len(c.Entries) < 2 || c.NoProxy != "" && module.MatchPrefixPatterns(c.NoProxy, path) {
		return walk(c, path, version, func(r modfetch.Resolver) (T, error) { return ask(ctx, r) })
	}
	return hedged(ctx, c, ask)
}

// hedgeDelay is how long entry i may take before the next is asked too.
func (c *Chain) hedgeDelay(i int) time.Duration {
	if c.Hedge > 0 {
		return c.Hedge
	}
	if h := c.Entries[i].Health; h != nil {
		if st := h.Stats(); st.Requests-st.Failures >= 16 {
			return max(st.P95, 10*time.Millisecond)
		}
	}
	return 500 * time.Millisecond
}

// hedged is the walk of tryEntries with hedging: while an entry followed
// by "|" has not answered within its delay, the next one is started too.
// The first success wins; the others are canceled and waited for, so
// nothing outlives the call. Failures are ranked as tryEntries ranks them.
func hedged[T any](ctx context.Context, c *Chain, ask func(context.Context, modfetch.Resolver) (T, error)) (T, error) {
	ctx, cancel := context.WithCancel(ctx)
	type result struct {
		i   int
		v   T
		err error
	}
	n := len(c.Entries)
	results := make(chan result, n)
	running, next := 0, 0
	start := func() {
		i := next
		next++
		running++
		go func() {
			var v T
			err := c.try(c.Entries[i], func(r modfetch.Resolver) error {
				var err error
				v, err = ask(ctx, r)
				return err
			})
			results <- result{i, v, err}
		}()
	}
	finish := func() {
		cancel()
		for ; running > 0; running-- {
			<-results
		}
	}
	defer finish()

	var best error
	rank, stopped := -1, false // rank: 0 not found, 1 proxy, 2 direct
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		if running == 0 {
			if stopped || next >= n {
				var zero T
				return zero, best
			}
			start()
		}
		var hedge <-chan time.Time
		if !stopped && next < n && c.Entries[next-1].FallBackOnError {
			if timer == nil {
				timer = time.NewTimer(c.hedgeDelay(next - 1))
			} else {
				timer.Reset(c.hedgeDelay(next - 1))
			}
			hedge = timer.C
		}
		select {
		case <-hedge:
			start()
		case r := <-results:
			running--
			if timer != nil {
				timer.Stop()
			}
			if r.err == nil {
				return r.v, nil
			}
			notExist := errors.Is(r.err, fs.ErrNotExist)
			switch e := c.Entries[r.i]; {
			case e.Direct:
				best, rank = r.err, 2
			case rank <= 1 && !notExist:
				best, rank = r.err, 1
			case rank <= 0:
				best, rank = r.err, 0
			}
			if !c.Entries[r.i].FallBackOnError && !notExist {
				stopped = true // the walk ends here; earlier entries may still answer
			} else if r.i == next-1 && next < n {
				start()
			}
		}
	}
}

// Zip implements [modfetch.Resolver]. A zip whose body breaks in the
// middle (a reset, a cut, a budget run out) is resumed where it broke,
// from the entry that was sending it and then from the entries after it
// that the "|" rule lets the walk reach, if they are [ZipResumer]s (a
// [Proxy] is): the reader sees one stream. An entry followed by "|" whose
// resumed stream breaks again is passed over for the next one. At most
// MaxResumes resumptions are tried per zip. Whatever the bytes' origin,
// they are only as good as the verification above the Chain
// (checksum.Verify) finds them.
func (c *Chain) Zip(ctx context.Context, path, version string) (io.ReadCloser, error) {
	var rc io.ReadCloser
	at := -1
	err := c.tryIndexed(path, func(i int, r modfetch.Resolver) error {
		z, err := r.Zip(ctx, path, version)
		if err == nil {
			rc, at = z, i
		}
		return err
	})
	if err != nil {
		return nil, c.err(path, version, err)
	}
	if at < 0 {
		return rc, nil // not from the entries: GONOPROXY's Direct
	}
	return &resumingZip{c: c, ctx: ctx, path: path, version: version, at: at, rc: rc}, nil
}

// MaxResumes bounds the resumptions of one zip by a [Chain].
const MaxResumes = 4

// A ZipResumer is a Resolver that can send a zip from an offset, as a
// [Proxy] does with a Range request.
type ZipResumer interface {
	ZipFrom(ctx context.Context, path, version string, offset int64) (io.ReadCloser, error)
}

// resumingZip is a Chain's zip stream, resumed where it breaks.
type resumingZip struct {
	c             *Chain
	ctx           context.Context // the Zip call's: a resumption is part of it
	path, version string
	at            int   // entry sending rc
	resumed       bool  // rc is a resumption from entry at
	n             int64 // bytes delivered
	failed        error // rc's failure, not yet resumed
	resumes       int

	// Close may come from another goroutine while a Read waits: mu
	// guards the swap of rc by a resumption against it.
	mu     sync.Mutex
	rc     io.ReadCloser
	closed bool
}

func (z *resumingZip) Read(p []byte) (int, error) {
	for {
		if err := z.failed; err != nil {
			if !z.resumable(err) || !z.resume() {
				return 0, err
			}
			z.failed = nil
		}
		z.mu.Lock()
		rc := z.rc
		z.mu.Unlock()
		n, err := rc.Read(p)
		z.n += int64(n)
		if err != nil && err != io.EOF {
			// Deliver what came; the next Read resumes or fails.
			z.failed = err
			if n == 0 {
				continue
			}
			err = nil
		}
		return n, err
	}
}

// resumable reports whether a failure in the middle of the body is worth
// resuming: not the caller's leaving, not a size limit.
func (z *resumingZip) resumable(err error) bool {
	z.mu.Lock()
	closed := z.closed
	z.mu.Unlock()
	return !closed && z.ctx.Err() == nil && z.resumes < MaxResumes &&
		!errors.Is(err, modfetch.ErrZipTooLarge) && !errors.Is(err, modfetch.ErrTooLarge)
}

// resume opens the rest of the zip from the entry that was sending it,
// then the entries after it while "|" lets the walk go on. An entry
// whose resumed stream broke again is not asked again when a "|" lets
// the walk move on: like the go command, which takes a failed download
// after a "|" from the next proxy, a mirror that keeps breaking must not
// use up the resumptions.
func (z *resumingZip) resume() bool {
	entries := z.c.Entries
	first := z.at
	if z.resumed && entries[z.at].FallBackOnError && z.at+1 < len(entries) {
		first = z.at + 1
	}
	for i := first; i < len(entries) && z.resumes < MaxResumes; i++ {
		if i > z.at && !entries[i-1].FallBackOnError {
			break
		}
		e := entries[i]
		zr, ok := e.Resolver.(ZipResumer)
		if !ok {
			continue
		}
		z.resumes++
		var rc io.ReadCloser
		err := z.c.try(e, func(modfetch.Resolver) error {
			var err error
			rc, err = zr.ZipFrom(z.ctx, z.path, z.version, z.n)
			return err
		})
		if err == nil {
			z.mu.Lock()
			old, closed := z.rc, z.closed
			if !closed {
				z.rc, z.at, z.resumed = rc, i, true
			}
			z.mu.Unlock()
			old.Close()
			if closed {
				rc.Close()
				return false
			}
			return true
		}
	}
	return false
}

// Close closes the stream; it may be called while a Read waits, from
// another goroutine, and that Read then fails.
func (z *resumingZip) Close() error {
	z.mu.Lock()
	z.closed = true
	rc := z.rc
	z.mu.Unlock()
	return rc.Close()
}

// walk returns the first answer of ask from c's entries, by c's rules.
func walk[T any](c *Chain, path, version string, ask func(modfetch.Resolver) (T, error)) (T, error) {
	var answer T
	err := c.Try(path, func(r modfetch.Resolver) error {
		v, err := ask(r)
		if err == nil {
			answer = v
		}
		return err
	})
	return answer, c.err(path, version, err)
}

// err gives chain-level errors (which no entry produced) module context.
func (c *Chain) err(path, version string, err error) error {
	if err == ErrNoEntries {
		return &module.ModuleError{Path: path, Version: version, Err: err}
	}
	return err
}

// SumDBURL finds how to reach the checksum database name the way the go
// command does (cmd/go/internal/modfetch: dbClient.initBase): it asks each
// proxy entry, in chain order, for $proxy/sumdb/$name/supported and
// returns "$proxy/sumdb/$name" for the first that answers 200. Entries that
// are not proxies (direct, off) count as not-found answers. When every
// answer is a not-found one, SumDBURL returns "" and a nil error: the
// database is to be reached directly. Any other failure stops the walk (or
// moves on after a "|") and is returned.
func (c *Chain) SumDBURL(ctx context.Context, name string) (string, error) {
	var base string
	// GONOPROXY routes modules, not the database (the go command's
	// initBase walks the proxies whatever GONOPROXY says).
	err := c.tryEntries(func(r modfetch.Resolver) error {
		p, ok := r.(SumDBProxy)
		if !ok {
			return errNotSumDBProxy
		}
		b, err := p.SumDBURL(ctx, name)
		if err == nil {
			base = b
		}
		return err
	})
	if err == nil {
		return base, nil
	}
	if errors.Is(err, fs.ErrNotExist) || err == ErrNoEntries {
		return "", nil
	}
	return "", err
}

var errNotSumDBProxy = modfetch.NotExist(errors.New("not a checksum database proxy"))

// A SumDBProxy is a Resolver that can say whether it serves a checksum
// database, as a [Proxy] does: [Chain.SumDBURL] asks the entries that are.
type SumDBProxy interface {
	modfetch.Resolver
	// SumDBURL returns the base URL of the checksum database name through
	// the proxy, or an error (not found when it does not serve it).
	SumDBURL(ctx context.Context, name string) (string, error)
}
