package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/modfetch/modfetch"
	"github.com/modfetch/modfetch/checksum"
	"github.com/modfetch/modfetch/upstream"
)

// A request is one file of one module version.
type request struct {
	target
	kind string // "info", "mod" or "zip"
}

func (r request) String() string { return r.target.String() + " ." + r.kind }

// requests lists what each mirror is asked, reps times over: each
// version's .info, .mod and, when the sample wants it, .zip.
func requests(sample []target, reps int) []request {
	var list []request
	for range reps {
		for _, t := range sample {
			list = append(list, request{t, "info"}, request{t, "mod"})
			if t.zip {
				list = append(list, request{t, "zip"})
			}
		}
	}
	return list
}

// errNoRecord: neither go.sum nor the checksum database may be asked
// about the version (GOSUMDB=off, or GONOSUMDB matches it), so its answers
// cannot be checked.
var errNoRecord = errors.New("no hash on record")

// A verifier checks hashes against a go.sum file first, then the checksum
// database, as checksum.Verify does. It remembers the versions the
// database could not be asked about, to report each once.
type verifier struct {
	sum *checksum.GoSum // nil: no go.sum
	db  *checksum.DB    // nil: GOSUMDB=off

	mu     sync.Mutex
	failed map[string]error // database lookups that failed, by path@version
	order  []string
}

// useDB reports whether path's hashes are looked up in the database
// (cmd/go/internal/modfetch: useSumDB).
func (v *verifier) useDB(path string) bool {
	return v.db != nil && (path == "golang.org/toolchain" || !v.db.Skip(path))
}

// recorded reports whether go.sum records a hash for t (of its go.mod
// when goMod).
func (v *verifier) recorded(t target, goMod bool) bool {
	return v.sum != nil && len(v.sum.Hashes(t.path, t.version, goMod)) > 0
}

// prefetch looks up in the database, jobs at a time, every version of
// sample whose hashes go.sum does not hold, so that the checks of the
// mirrors' answers find them known (the database client keeps what it
// authenticated) and a version it cannot answer for is asked about once.
func (v *verifier) prefetch(ctx context.Context, sample []target, jobs int, stderr io.Writer) {
	var todo []target
	for _, t := range sample {
		if v.useDB(t.path) && (!v.recorded(t, true) || t.zip && !v.recorded(t, false)) {
			todo = append(todo, t)
		}
	}
	if len(todo) == 0 {
		return
	}
	fmt.Fprintf(stderr, "mirrorcheck: looking up %d module versions in %s\n", len(todo), v.db.Name())
	var g errgroup.Group
	g.SetLimit(jobs)
	for _, t := range todo {
		g.Go(func() error {
			if _, err := v.db.Lookup(ctx, t.path, t.version); err != nil {
				v.fail(t, err)
			}
			return nil
		})
	}
	g.Wait()
}

func (v *verifier) fail(t target, err error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.failed == nil {
		v.failed = make(map[string]error)
	}
	if _, ok := v.failed[t.String()]; !ok {
		v.failed[t.String()] = err
		v.order = append(v.order, t.String())
	}
}

func (v *verifier) lookupFailed(t target) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.failed[t.String()]
}

// expects reports whether a hash is on record for t (its go.mod when
// goMod), or should be: a check of it cannot end in errNoRecord.
func (v *verifier) expects(t target, goMod bool) bool {
	return v.recorded(t, goMod) || v.useDB(t.path)
}

// check checks hash, of t's zip or go.mod file. It returns nil when hash
// is the one on record, a *checksum.MismatchError when it is not, an
// error wrapping errNoRecord when nothing may be asked, and another error
// when the database could not be asked.
func (v *verifier) check(ctx context.Context, t target, goMod bool, hash string) error {
	if v.sum != nil {
		found, err := v.sum.Check(t.path, t.version, goMod, hash)
		if err != nil || found {
			return err
		}
	}
	if !v.useDB(t.path) {
		return fmt.Errorf("%s: %w", t, errNoRecord)
	}
	if err := v.lookupFailed(t); err != nil {
		return err
	}
	err := v.db.Check(ctx, t.path, t.version, goMod, hash)
	var mismatch *checksum.MismatchError
	if err != nil && !errors.As(err, &mismatch) && ctx.Err() == nil {
		v.fail(t, err)
	}
	return err
}

// report prints the versions the database could not be asked about, and
// reports whether there were any.
func (v *verifier) report(stderr io.Writer) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, k := range v.order {
		fmt.Fprintf(stderr, "mirrorcheck: answers for %s not checked: %v\n", k, v.failed[k])
	}
	return len(v.order) > 0
}

// A result is what one mirror's checks came to.
type result struct {
	mirror
	requests, failures, mismatches int
	latencies                      []time.Duration // of the requests answered
	bytes                          int64           // body bytes received
	busy                           time.Duration   // time spent in requests
	gaveUp                         int             // failures in a row when the mirror was given up on; 0 if it was not
	problems                       []problem       // every mismatch, the first few failures
}

// A problem is a mismatch or a failure of one request.
type problem struct {
	req      request
	mismatch bool
	err      error
	times    int // mismatches of the same request (with -n)
}

// maxFailuresShown bounds the failures a result keeps to show.
const maxFailuresShown = 3

// A checker asks mirrors for requests and checks their answers.
type checker struct {
	client   *http.Client
	verify   *verifier
	timeout  time.Duration
	jobs     int
	giveUp   int
	tempDir  string
	progress *progress
}

// checkMirror sends reqs to m alone, c.jobs at a time, and returns what
// came of them. m is mirror n of total, for progress.
func (c *checker) checkMirror(ctx context.Context, n, total int, m mirror, reqs []request) *result {
	var received atomic.Int64
	hc := *c.client
	hc.Transport = &countingTransport{next: transport(c.client), n: &received}
	p := &upstream.Proxy{
		URL:              m.url,
		Client:           &hc,
		Retry:            modfetch.Retry{Attempts: 1},
		FirstByteTimeout: c.timeout,
	}
	res := &result{mirror: m}
	var (
		mu      sync.Mutex
		inARow  int
		wg      sync.WaitGroup
		slots   = make(chan struct{}, c.jobs)
		started = time.Now()
	)
	c.progress.start(n, total, m.name, len(reqs))
	for _, r := range reqs {
		// Take a slot first: every request that ended before it is
		// counted, so that no request starts after giveUp failures in a
		// row (with one job at a time, exactly giveUp are sent).
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		mu.Lock()
		stop := inARow >= c.giveUp
		if stop {
			res.gaveUp = inARow
		}
		mu.Unlock()
		if stop {
			break
		}
		wg.Go(func() {
			defer func() { <-slots }()
			o := c.fetch(ctx, p, r)
			if ctx.Err() != nil {
				return // the run was interrupted: says nothing of the mirror
			}
			mu.Lock()
			defer mu.Unlock()
			res.add(r, o)
			if o.err != nil {
				inARow++
			} else {
				inARow = 0
			}
			c.progress.update(res.requests, res.failures, res.mismatches)
		})
	}
	wg.Wait()
	res.bytes = received.Load()
	c.progress.done(res, time.Since(started))
	return res
}

// add counts the outcome of r.
func (res *result) add(r request, o outcome) {
	res.requests++
	res.busy += o.total
	switch {
	case o.err != nil:
		res.failures++
		if res.failures <= maxFailuresShown {
			res.problems = append(res.problems, problem{req: r, err: o.err})
		}
		return
	case o.mismatch != nil:
		res.mismatches++
		res.addMismatch(r, o.mismatch)
	}
	res.latencies = append(res.latencies, o.latency)
}

// addMismatch keeps a mismatch of r, once for each request.
func (res *result) addMismatch(r request, err error) {
	for i := range res.problems {
		if p := &res.problems[i]; p.mismatch && p.req == r {
			p.times++
			return
		}
	}
	res.problems = append(res.problems, problem{req: r, mismatch: true, err: err, times: 1})
}

// An outcome is what one request came to.
type outcome struct {
	latency  time.Duration // until the answer (a zip's: until it began)
	total    time.Duration // until the whole answer was read
	err      error         // the request failed
	mismatch error         // the answer is not what is on record
}

// fetch asks p for r within c.timeout and checks the answer.
func (c *checker) fetch(ctx context.Context, p *upstream.Proxy, r request) outcome {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	start := time.Now()
	switch r.kind {
	case "info":
		_, err := p.Stat(ctx, r.path, r.version)
		d := time.Since(start)
		return outcome{latency: d, total: d, err: err}
	case "mod":
		data, err := p.GoMod(ctx, r.path, r.version)
		d := time.Since(start)
		if err != nil {
			return outcome{latency: d, total: d, err: err}
		}
		hash, err := checksum.HashGoMod(data)
		if err != nil {
			return outcome{latency: d, total: d, err: err}
		}
		return outcome{latency: d, total: d, mismatch: c.mismatch(ctx, r, true, hash)}
	default:
		return c.fetchZip(ctx, p, r, start)
	}
}

// fetchZip streams r's zip to a temporary file and checks its hash.
func (c *checker) fetchZip(ctx context.Context, p *upstream.Proxy, r request, start time.Time) outcome {
	rc, err := p.Zip(ctx, r.path, r.version)
	latency := time.Since(start)
	if err != nil {
		return outcome{latency: latency, total: latency, err: err}
	}
	f, err := os.CreateTemp(c.tempDir, "*.zip")
	if err != nil {
		rc.Close()
		return outcome{latency: latency, total: latency, err: err}
	}
	defer os.Remove(f.Name())
	defer f.Close()
	n, err := io.Copy(f, rc)
	rc.Close()
	o := outcome{latency: latency, total: time.Since(start)}
	if err != nil {
		o.err = err
		return o
	}
	hash, err := checksum.HashZip(f, n)
	switch {
	case err != nil && c.verify.expects(r.target, false):
		o.mismatch = fmt.Errorf("%s: not a module zip: %w", r.target, err)
	case err != nil:
		o.err = fmt.Errorf("%s: not a module zip: %w", r.target, err)
	default:
		o.mismatch = c.mismatch(ctx, r, false, hash)
	}
	return o
}

// mismatch returns the verifier's error when it is a mismatch.
func (c *checker) mismatch(ctx context.Context, r request, goMod bool, hash string) error {
	err := c.verify.check(ctx, r.target, goMod, hash)
	var m *checksum.MismatchError
	if errors.As(err, &m) {
		return m
	}
	return nil
}

func transport(c *http.Client) http.RoundTripper {
	if c.Transport != nil {
		return c.Transport
	}
	return http.DefaultTransport
}

// countingTransport adds up the body bytes its responses deliver.
type countingTransport struct {
	next http.RoundTripper
	n    *atomic.Int64
}

func (t *countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(req)
	if err == nil {
		resp.Body = &countingBody{ReadCloser: resp.Body, n: t.n}
	}
	return resp, err
}

type countingBody struct {
	io.ReadCloser
	n *atomic.Int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n.Add(int64(n))
	return n, err
}
