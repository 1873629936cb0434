// Package web fetches URLs the way modfetch's clients need: GET only, with
// bounded retries and exponential backoff for transient failures, an idle
// timeout for servers that stop sending, size limits, the go command's
// extraction of error detail from text/plain bodies, redirects that never
// downgrade from https, and file:// URLs read from disk.
//
// Errors for answers other than 200 are *modfetch.HTTPError values; a
// response over its size limit is an error wrapping modfetch.ErrTooLarge.
package web

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/cenkalti/backoff/v4"

	"github.com/modfetch/modfetch"
)

// The errors of the time budgets, wrapped by the error of a request
// that ran out of one.
var (
	// ErrConnect: no connection to the server within ConnectTimeout.
	ErrConnect = errors.New("no connection within the connect timeout")
	// ErrFirstByte: no answer (status and headers) within
	// FirstByteTimeout of sending the request.
	ErrFirstByte = errors.New("server did not answer within the first-byte timeout")
	// ErrIdle: while the body was being read, the server sent less than
	// MinProgress bytes in an IdleTimeout.
	ErrIdle = errors.New("server sent too little within the idle timeout")
)

// Default time budgets of a request.
const (
	DefaultConnectTimeout   = 10 * time.Second
	DefaultFirstByteTimeout = 60 * time.Second
	DefaultIdleTimeout      = 30 * time.Second

	// MinProgress is what a body must deliver in each IdleTimeout while
	// its reader waits for it: a server that trickles less is cut off.
	MinProgress = 1024
)

// An Attempt is what one request to a server came to: reported once when
// the answer starts (or the request fails before it does), and once more
// for a 200 answer's body when it ends, for health records and metrics.
type Attempt struct {
	URL     string        // redacted
	Status  int           // the answer's status code; 0 when there was none
	Err     error         // the failure; nil for a 200 answer, or a body read to its end and not refused by GetChecked's check
	Latency time.Duration // from sending the request to its answer or failure
	Body    bool          // a report on the body: Err is its failure, Bytes its length
	// Ctx is the context of the request (for the values it carries).
	Ctx context.Context
	// Duration is from sending the request to the end of what is
	// reported: the body's end for a report on the body, else Latency.
	Duration time.Duration
	Bytes    int64 // body bytes read
	// Canceled: the request ended because its caller left (its context
	// ended, or it closed the body early); this says nothing of the server.
	Canceled bool
}

// Timer is the clock the retry loop waits on; tests substitute a fake.
type Timer interface {
	// Sleep waits for d or until ctx is done.
	Sleep(ctx context.Context, d time.Duration) error
	// Now returns the current time.
	Now() time.Time
}

type realTimer struct{}

func (realTimer) Now() time.Time { return time.Now() }
func (realTimer) Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-t.C:
		return nil
	}
}

// A Client fetches URLs. The zero value is ready to use.
type Client struct {
	HTTP  *http.Client   // nil: a client like http.DefaultClient
	Retry modfetch.Retry // retry bounds

	// Time budgets of each attempt; zero means the Default... constant,
	// a negative value none. ConnectTimeout bounds the wait for a
	// connection (dial and TLS); FirstByteTimeout the wait for the answer
	// from the request's start; IdleTimeout, in a body, each interval in
	// which a waiting reader must get MinProgress bytes.
	ConnectTimeout, FirstByteTimeout, IdleTimeout time.Duration

	// Observe, when set, is told of each attempt (see Attempt).
	Observe func(Attempt)

	// GiveUp, when set, is asked before each retry: true stops retrying
	// (for example, the upstream was just found unwell).
	GiveUp func() bool

	// Timer replaces the real clock (tests). Jitter is the backoff
	// randomisation factor: 0 means 0.5, negative means none.
	Timer  Timer
	Jitter float64

	// OnRetry, when set, is called before each wait with the failure and
	// the wait (for logging).
	OnRetry func(u string, err error, wait time.Duration)

	clientOnce sync.Once
	client     *http.Client
}

func (c *Client) timer() Timer {
	if c.Timer != nil {
		return c.Timer
	}
	return realTimer{}
}

var defaultHTTP = &http.Client{Transport: http.DefaultTransport}

// httpClient returns the client to send requests with: c.HTTP (or a
// default one) whose redirect policy never follows a redirect from https
// to another scheme, before applying the client's own policy (or, without
// one, the limit of 10 redirects).
func (c *Client) httpClient() *http.Client {
	c.clientOnce.Do(func() {
		h := c.HTTP
		if h == nil {
			h = defaultHTTP
		}
		c.client = SecureRedirects(h)
	})
	return c.client
}

// SecureRedirects returns a copy of h whose redirect policy never follows
// a redirect from https to another scheme (the go command's rule), then
// applies h's own policy or, without one, the limit of 10 redirects.
func SecureRedirects(h *http.Client) *http.Client {
	cp := *h
	own := h.CheckRedirect
	cp.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) > 0 && via[0].URL.Scheme == "https" && req.URL.Scheme != "https" {
			return fmt.Errorf("redirected from secure URL %s to insecure URL %s", via[len(via)-1].URL.Redacted(), req.URL.Redacted())
		}
		if own != nil {
			return own(req, via)
		}
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		return nil
	}
	return &cp
}

// GetBytes returns the body of u, at most limit bytes (limit <= 0: no
// limit). A failure of any attempt — including reading the body — that is
// transient is retried.
func (c *Client) GetBytes(ctx context.Context, u *url.URL, limit int64) ([]byte, error) {
	return c.GetChecked(ctx, u, limit, nil)
}

// GetChecked is GetBytes with check, if not nil, run on the answer
// before it counts as one: an answer that check refuses is its
// attempt's failure, reported to Observe as the body's error (not as a
// whole body) and returned as it is, without retries.
func (c *Client) GetChecked(ctx context.Context, u *url.URL, limit int64, check func([]byte) error) ([]byte, error) {
	var data []byte
	err := c.retry(ctx, u, func(ctx context.Context) error {
		rc, err := c.open(ctx, u, 0)
		if err != nil {
			return err
		}
		defer rc.Close()
		b, _ := rc.(*body)
		if b != nil {
			b.deferEOF = true // reported below, once checked
		}
		if data, err = readLimited(rc, u, limit); err != nil {
			return err
		}
		if check != nil {
			if err := check(data); err != nil {
				if b != nil {
					b.report(err)
				}
				return permanent{err}
			}
		}
		if b != nil {
			b.report(io.EOF)
		}
		return nil
	})
	return data, err
}

// Open returns the body of u as a stream. Failures before the body starts
// are retried; the caller sees failures while reading it, each wrapped in a
// *url.Error with Op "read".
func (c *Client) Open(ctx context.Context, u *url.URL) (io.ReadCloser, error) {
	return c.OpenFrom(ctx, u, 0)
}

// OpenFrom is Open for the body from byte offset on: it asks for the
// range with a Range request and, from a server that sends the whole body
// instead, skips offset bytes.
func (c *Client) OpenFrom(ctx context.Context, u *url.URL, offset int64) (io.ReadCloser, error) {
	var body io.ReadCloser
	err := c.retry(ctx, u, func(ctx context.Context) error {
		var err error
		body, err = c.open(ctx, u, offset)
		return err
	})
	if err != nil {
		return nil, err
	}
	return body, nil
}

// Ping sends one GET of u, without retries, and reads at most 4 KiB of
// its answer: for the Observe hook (a health probe) more than for the
// answer, whose status is in the error (nil for 200).
func (c *Client) Ping(ctx context.Context, u *url.URL) error {
	body, err := c.open(ctx, u, 0)
	if err != nil {
		return final(err)
	}
	io.CopyN(io.Discard, body, 4<<10)
	return body.Close()
}

// readLimited reads body to its end, failing with modfetch.ErrTooLarge
// (permanently) past limit bytes (limit <= 0: no limit).
func readLimited(body io.ReadCloser, u *url.URL, limit int64) ([]byte, error) {
	tooLarge := func() error {
		return permanent{fmt.Errorf("reading %s: response %w (limit %d bytes)", u.Redacted(), modfetch.ErrTooLarge, limit)}
	}
	if limit > 0 && Length(body) > limit {
		return nil, tooLarge() // declared too large: refused unread
	}
	// The first bytes in memory, the rest, if any, in a temporary file
	// until the end shows the size (whatever the server declared): an
	// answer over the limit, or one that stalls, costs no more memory than
	// a small one, and one within it is held once, in a slice of its size.
	r := io.Reader(body)
	if limit > 0 {
		r = io.LimitReader(r, limit+1)
	}
	head, err := io.ReadAll(io.LimitReader(r, spillAt))
	if err != nil {
		return nil, err
	}
	if int64(len(head)) < spillAt {
		if limit > 0 && int64(len(head)) > limit {
			return nil, tooLarge()
		}
		return head, nil
	}
	f, err := os.CreateTemp("", "modfetch-body-*")
	if err != nil {
		return nil, err
	}
	name := f.Name()
	if os.Remove(name) == nil {
		name = "" // unlinked: nothing is left behind, even after a crash
	}
	defer func() {
		f.Close()
		if name != "" {
			os.Remove(name) // where an open file cannot be unlinked
		}
	}()
	rest, err := io.Copy(f, r)
	if err != nil {
		return nil, err
	}
	if limit > 0 && int64(len(head))+rest > limit {
		return nil, tooLarge()
	}
	data := make([]byte, int64(len(head))+rest)
	copy(data, head)
	if _, err := f.ReadAt(data[len(head):], 0); err != nil && err != io.EOF {
		return nil, err
	}
	return data, nil
}

// spillAt is how much of a body GetBytes reads into memory before it
// spills the rest to a temporary file.
const spillAt = 256 << 10

// permanent marks an error that must not be retried.
type permanent struct{ err error }

func (p permanent) Error() string { return p.err.Error() }
func (p permanent) Unwrap() error { return p.err }

// retry runs op until it succeeds, fails permanently, or the retry bounds
// are reached, and returns op's last error. The waits are
// backoff/v4's exponential backoff, lengthened to any Retry-After the
// server asked for.
func (c *Client) retry(ctx context.Context, u *url.URL, op func(context.Context) error) error {
	r := c.Retry
	if r.Attempts <= 0 {
		r.Attempts = 4
	}
	if r.MaxElapsed <= 0 {
		r.MaxElapsed = 30 * time.Second
	}
	if r.Initial <= 0 {
		r.Initial = 250 * time.Millisecond
	}
	if r.Max <= 0 {
		r.Max = 8 * time.Second
	}
	jitter := c.Jitter
	if jitter == 0 {
		jitter = 0.5
	} else if jitter < 0 {
		jitter = 0
	}
	tm := c.timer()
	exp := &backoff.ExponentialBackOff{
		InitialInterval:     r.Initial,
		RandomizationFactor: jitter,
		Multiplier:          2,
		MaxInterval:         r.Max,
		MaxElapsedTime:      r.MaxElapsed,
		Stop:                backoff.Stop,
		Clock:               tm,
	}
	policy := &retryPolicy{exp: exp, attempts: r.Attempts}
	var waits backoff.Timer // nil: backoff's own, on the real clock
	if c.Timer != nil {
		waits = &timerAdapter{tm: tm}
	}
	var last error
	err := backoff.RetryNotifyWithTimer(func() error {
		err := op(ctx)
		last = err
		if err == nil {
			return nil
		}
		var p permanent
		if errors.As(err, &p) {
			return backoff.Permanent(p.err)
		}
		if ctx.Err() != nil || !retryable(err) || c.GiveUp != nil && c.GiveUp() {
			return backoff.Permanent(err)
		}
		policy.retryAfter = retryAfter(err)
		return err
	}, backoff.WithContext(policy, ctx), func(err error, wait time.Duration) {
		if c.OnRetry != nil {
			c.OnRetry(u.Redacted(), final(err), wait)
		}
	}, waits)
	if err != nil && ctx.Err() != nil && last != nil {
		// Canceled while waiting: report the request's own failure.
		err = last
	}
	return final(err)
}

// retryPolicy bounds backoff/v4's exponential backoff by a number of
// attempts and stretches a wait to the server's Retry-After.
type retryPolicy struct {
	exp        *backoff.ExponentialBackOff
	attempts   int
	n          int
	retryAfter time.Duration // of the last failure
}

func (p *retryPolicy) Reset() {
	p.exp.Reset()
	p.n = 0
}

func (p *retryPolicy) NextBackOff() time.Duration {
	p.n++
	if p.n >= p.attempts {
		return backoff.Stop
	}
	next := p.exp.NextBackOff()
	if next == backoff.Stop {
		return backoff.Stop
	}
	if p.retryAfter > next {
		if p.exp.GetElapsedTime()+p.retryAfter > p.exp.MaxElapsedTime {
			return backoff.Stop
		}
		next = p.retryAfter
	}
	return next
}

// timerAdapter runs backoff/v4's waits on a substitute Timer (tests).
type timerAdapter struct {
	tm     Timer
	ch     chan time.Time
	cancel context.CancelFunc
}

func (t *timerAdapter) Start(d time.Duration) {
	t.Stop()
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan time.Time, 1)
	t.ch, t.cancel = ch, cancel
	go func() {
		if t.tm.Sleep(ctx, d) == nil {
			ch <- t.tm.Now()
		}
	}()
}

func (t *timerAdapter) Stop() {
	if t.cancel != nil {
		t.cancel()
		t.cancel = nil
	}
}

func (t *timerAdapter) C() <-chan time.Time { return t.ch }

// retryAfterError carries a server's Retry-After wish with a status error.
type retryAfterError struct {
	*modfetch.HTTPError
	after time.Duration
}

func (e *retryAfterError) Unwrap() error { return e.HTTPError }

// final strips the retry bookkeeping from an error returned to callers.
func final(err error) error {
	if ra, ok := err.(*retryAfterError); ok {
		return ra.HTTPError
	}
	return err
}

func retryAfter(err error) time.Duration {
	var ra *retryAfterError
	if errors.As(err, &ra) {
		return ra.after
	}
	return 0
}

// retryable reports whether err is worth another attempt: 408, 429, 5xx,
// and network failures other than ones that will not change (unknown
// host, bad certificates, bad URLs, redirect policy, size limits).
func retryable(err error) bool {
	var se *modfetch.HTTPError
	if errors.As(err, &se) {
		switch c := se.StatusCode; {
		case c == 408, c == 429, c >= 500 && c <= 599:
			return true
		}
		return false
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, modfetch.ErrTooLarge) {
		return false
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) && dnsErr.IsNotFound {
		return false
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		msg := ue.Err.Error()
		if strings.Contains(msg, "redirect") || strings.Contains(msg, "unsupported protocol scheme") ||
			strings.Contains(msg, "certificate") || strings.Contains(msg, "x509") {
			return false
		}
		return true
	}
	return errors.Is(err, ErrIdle) || errors.Is(err, io.ErrUnexpectedEOF)
}

// open performs one GET of u, for the body from offset on.
func (c *Client) open(ctx context.Context, u *url.URL, offset int64) (io.ReadCloser, error) {
	if u.Scheme == "file" {
		f, err := openFile(u)
		if err == nil && offset > 0 {
			if _, err = f.(io.Seeker).Seek(offset, io.SeekStart); err != nil {
				f.Close()
				return nil, err
			}
		}
		return f, err
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, permanent{fmt.Errorf("unsupported scheme in %s", u.Redacted())}
	}
	if u.User != nil && u.Scheme == "http" {
		return nil, permanent{fmt.Errorf("refusing to pass credentials to insecure URL: %s", u.Redacted())}
	}

	start := c.timer().Now()
	connect := budget(c.ConnectTimeout, DefaultConnectTimeout)
	first := budget(c.FirstByteTimeout, DefaultFirstByteTimeout)
	idle := budget(c.IdleTimeout, DefaultIdleTimeout)
	parent := ctx
	ctx, cancel := context.WithCancelCause(ctx)
	var timers []*time.Timer
	arm := func(d time.Duration, cause error) *time.Timer {
		if d <= 0 {
			return nil
		}
		t := time.AfterFunc(d, func() { cancel(fmt.Errorf("%w (%v)", cause, d)) })
		timers = append(timers, t)
		return t
	}
	connTimer := arm(connect, ErrConnect)
	arm(first, ErrFirstByte)
	stopTimers := func() {
		for _, t := range timers {
			t.Stop()
		}
	}
	if connTimer != nil {
		ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
			GotConn: func(httptrace.GotConnInfo) { connTimer.Stop() },
		})
	}
	observe := func(a Attempt) {
		if c.Observe != nil {
			a.URL = u.Redacted()
			a.Ctx = parent
			if a.Duration == 0 {
				a.Duration = a.Latency
			}
			a.Canceled = a.Canceled || a.Err != nil && parent.Err() != nil
			c.Observe(a)
		}
	}

	req, err := http.NewRequestWithContext(ctx, "GET", u.String(), nil)
	if err != nil {
		stopTimers()
		cancel(nil)
		return nil, permanent{err}
	}
	if offset > 0 {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-", offset))
	}
	resp, err := c.httpClient().Do(req)
	stopTimers()
	latency := c.timer().Now().Sub(start)
	if err != nil {
		if cause := context.Cause(ctx); parent.Err() == nil && cause != nil && cause != ctx.Err() {
			// One of our budgets ran out, not the caller's context.
			err = &url.Error{Op: "Get", URL: u.Redacted(), Err: cause}
		}
		cancel(nil)
		observe(Attempt{Err: err, Latency: latency})
		return nil, err
	}
	b := &body{rc: resp.Body, url: u.Redacted(), cancel: cancel, ctx: ctx, parent: parent, idle: idle, start: start, latency: latency, c: c, observe: observe, length: resp.ContentLength}
	if idle > 0 {
		b.timer = time.AfterFunc(idle, b.tick)
	}
	if offset > 0 && resp.StatusCode == http.StatusPartialContent {
		if start, ok := rangeStart(resp.Header.Get("Content-Range")); !ok || start != offset {
			b.observe = nil
			b.Close()
			err := fmt.Errorf("GET %s: answer to a range from %d has Content-Range %q", u.Redacted(), offset, resp.Header.Get("Content-Range"))
			observe(Attempt{Status: resp.StatusCode, Err: err, Latency: latency})
			return nil, permanent{err}
		}
		resp.StatusCode = http.StatusOK
	} else if offset > 0 && resp.StatusCode == http.StatusOK {
		// The whole body: skip to offset.
		if b.length >= 0 {
			b.length = max(b.length-offset, 0)
		}
		if _, err := io.CopyN(io.Discard, b, offset); err != nil {
			b.Close()
			if err == io.EOF {
				err = &url.Error{Op: "read", URL: u.Redacted(), Err: io.ErrUnexpectedEOF}
			}
			return nil, err
		}
	}
	if resp.StatusCode != http.StatusOK {
		defer b.Close()
		b.observe = nil // reported here, not as a body
		se := &modfetch.HTTPError{
			URL:        u.Redacted(),
			Status:     resp.Status,
			StatusCode: resp.StatusCode,
			Detail:     ErrorDetail(resp.Header.Get("Content-Type"), b),
		}
		observe(Attempt{Status: resp.StatusCode, Err: se, Latency: latency})
		if d := parseRetryAfter(resp.Header.Get("Retry-After"), c.timer().Now()); d > 0 {
			return nil, &retryAfterError{se, d}
		}
		return nil, se
	}
	observe(Attempt{Status: resp.StatusCode, Latency: latency})
	return b, nil
}

// rangeStart returns the first byte of a Content-Range "bytes A-B/N".
func rangeStart(cr string) (int64, bool) {
	rest, ok := strings.CutPrefix(cr, "bytes ")
	if !ok {
		return 0, false
	}
	a, _, ok := strings.Cut(rest, "-")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(a, 10, 64)
	return n, err == nil && n >= 0
}

// budget is a time budget v with its default def (zero: def; negative: none).
func budget(v, def time.Duration) time.Duration {
	switch {
	case v == 0:
		return def
	case v < 0:
		return 0
	}
	return v
}

func parseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return t.Sub(now)
	}
	return 0
}

// body wraps a response body: it cuts off a server that sends less than
// MinProgress bytes in an idle interval while a reader waits, gives read
// errors the URL like the go command's, and reports how the body ended.
type body struct {
	rc      io.ReadCloser
	url     string
	ctx     context.Context // the attempt's: canceled with a budget's error
	parent  context.Context // the caller's
	cancel  context.CancelCauseFunc
	idle    time.Duration
	timer   *time.Timer
	start   time.Time
	latency time.Duration
	c       *Client
	observe func(Attempt) // nil once reported
	// deferEOF: the end of the body is not reported by Read, but by
	// the reader, which checks the whole answer first.
	deferEOF bool

	length   int64        // the length the server declared (from offset on), or -1
	waiting  atomic.Int32 // reads under way
	progress atomic.Int64 // bytes since the last tick
	n        atomic.Int64 // bytes read (Close may report while a Read runs)
	once     sync.Once
}

// tick ends an idle interval: a reader that waited through it for less
// than MinProgress bytes is cut off.
func (b *body) tick() {
	if b.progress.Swap(0) < MinProgress && b.waiting.Load() > 0 {
		b.cancel(fmt.Errorf("%w (%d bytes in %v)", ErrIdle, MinProgress, b.idle))
		return
	}
	b.timer.Reset(b.idle)
}

func (b *body) Read(p []byte) (int, error) {
	b.waiting.Add(1)
	n, err := b.rc.Read(p)
	b.waiting.Add(-1)
	b.progress.Add(int64(n))
	b.n.Add(int64(n))
	if err != nil && err != io.EOF {
		if cause := context.Cause(b.ctx); cause != nil && b.parent.Err() == nil && cause != b.ctx.Err() {
			err = cause
		}
		err = &url.Error{Op: "read", URL: b.url, Err: err}
	}
	if err != nil && (err != io.EOF || !b.deferEOF) {
		b.report(err)
	}
	return n, err
}

// Length returns the length of a body from Open or OpenFrom as its
// server declared it (Content-Length, from the offset on), or -1 when it
// did not, or when rc is not such a body (a file:// URL's file, say).
func Length(rc io.ReadCloser) int64 {
	if b, ok := rc.(*body); ok {
		return b.length
	}
	return -1
}

// report tells Observe, once, how the body ended (err io.EOF: whole).
func (b *body) report(err error) {
	b.once.Do(func() {
		if b.observe == nil {
			return
		}
		a := Attempt{Status: http.StatusOK, Body: true, Bytes: b.n.Load(), Latency: b.latency, Duration: b.c.timer().Now().Sub(b.start)}
		if err != io.EOF {
			a.Err = err
		}
		a.Canceled = err == errClosedEarly
		b.observe(a)
	})
}

func (b *body) Close() error {
	err := b.rc.Close()
	if b.timer != nil {
		b.timer.Stop()
	}
	b.report(errClosedEarly)
	b.cancel(nil)
	return err
}

// errClosedEarly is the body's outcome when its reader closed it before
// its end: the caller left.
var errClosedEarly = &url.Error{Op: "read", Err: context.Canceled}

const (
	maxErrorDetailLines = 8
	maxErrorDetailBytes = maxErrorDetailLines * 81
)

// ErrorDetail extracts the go command's short error detail from a
// text/plain body (cmd/go/internal/web: formatErrorDetail).
func ErrorDetail(contentType string, r io.Reader) string {
	mediaType, params, _ := mime.ParseMediaType(contentType)
	if mediaType != "text/plain" {
		return ""
	}
	switch strings.ToLower(params["charset"]) {
	case "us-ascii", "utf-8", "":
	default:
		return ""
	}
	// Read a little more than the detail can hold, so that truncation is
	// detected without reading unbounded bodies.
	buf, _ := io.ReadAll(io.LimitReader(r, maxErrorDetailBytes+maxErrorDetailLines*2+2))
	return formatDetail(buf)
}

// formatDetail trims a server's plain-text explanation the way the go
// command does: printable UTF-8 only, up to the first blank line, at most 8
// lines and 648 bytes, lines joined by "\n\t".
func formatDetail(buf []byte) string {
	// Keep at most maxErrorDetailLines+1 lines, like the go command's reader.
	if lines := bytes.SplitAfterN(buf, []byte("\n"), maxErrorDetailLines+2); len(lines) > maxErrorDetailLines+1 {
		buf = bytes.Join(lines[:maxErrorDetailLines+1], nil)
	}
	s := string(buf)
	if !utf8.ValidString(s) {
		return ""
	}
	for _, r := range s {
		if !unicode.IsGraphic(r) && !unicode.IsSpace(r) {
			return ""
		}
	}
	var detail strings.Builder
	for i, line := range strings.Split(s, "\n") {
		if strings.TrimSpace(line) == "" {
			break
		}
		if i > 0 {
			detail.WriteString("\n\t")
		}
		if i >= maxErrorDetailLines {
			detail.WriteString("[Truncated: too many lines.]")
			break
		}
		if detail.Len()+len(line) > maxErrorDetailBytes {
			detail.WriteString("[Truncated: too long.]")
			break
		}
		detail.WriteString(line)
	}
	return detail.String()
}

// openFile reads a file:// URL. A missing file is a 404 and a permission
// failure a 403, like the go command's.
func openFile(u *url.URL) (io.ReadCloser, error) {
	name, err := FilePath(u)
	if err != nil {
		return nil, permanent{err}
	}
	f, err := os.Open(name)
	switch {
	case err == nil:
		if fi, serr := f.Stat(); serr == nil && fi.IsDir() {
			f.Close()
			return nil, permanent{&modfetch.HTTPError{URL: u.Redacted(), Status: "Not Found", StatusCode: 404, Err: &fs.PathError{Op: "open", Path: name, Err: errors.New("is a directory")}}}
		}
		return f, nil
	case errors.Is(err, fs.ErrNotExist):
		return nil, permanent{&modfetch.HTTPError{URL: u.Redacted(), Status: http.StatusText(404), StatusCode: 404, Err: err}}
	case errors.Is(err, fs.ErrPermission):
		return nil, permanent{&modfetch.HTTPError{URL: u.Redacted(), Status: http.StatusText(403), StatusCode: 403, Err: err}}
	}
	return nil, permanent{err}
}

// FilePath returns the local path of a file:// URL, which must have no host
// and an absolute path.
func FilePath(u *url.URL) (string, error) {
	if u.Scheme != "file" {
		return "", errors.New("non-file URL")
	}
	if u.Host != "" || u.Path == "" {
		return "", fmt.Errorf("invalid file URL %s", u.Redacted())
	}
	p := filepath.FromSlash(u.Path)
	if !filepath.IsAbs(p) {
		// On Windows, file:///C:/x has the path "/C:/x".
		if q := filepath.FromSlash(strings.TrimPrefix(u.Path, "/")); filepath.IsAbs(q) {
			return q, nil
		}
		return "", fmt.Errorf("file URL path is not absolute: %s", u.Redacted())
	}
	return p, nil
}
