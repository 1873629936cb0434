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

// ErrIdle is wrapped by the error for a server that sent nothing for the
// client's idle timeout.
var ErrIdle = errors.New("server sent nothing within the idle timeout")

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
	HTTP        *http.Client   // nil: a client like http.DefaultClient
	Retry       modfetch.Retry // retry bounds
	IdleTimeout time.Duration  // no bytes for this long fails the request [60s]; <0 none

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
	var data []byte
	err := c.retry(ctx, u, func(ctx context.Context) error {
		body, err := c.open(ctx, u)
		if err != nil {
			return err
		}
		defer body.Close()
		data, err = readLimited(body, u, limit)
		return err
	})
	return data, err
}

// Open returns the body of u as a stream. Failures before the body starts
// are retried; the caller sees failures while reading it, each wrapped in a
// *url.Error with Op "read".
func (c *Client) Open(ctx context.Context, u *url.URL) (io.ReadCloser, error) {
	var body io.ReadCloser
	err := c.retry(ctx, u, func(ctx context.Context) error {
		var err error
		body, err = c.open(ctx, u)
		return err
	})
	if err != nil {
		return nil, err
	}
	return body, nil
}

func readLimited(r io.Reader, u *url.URL, limit int64) ([]byte, error) {
	if limit > 0 {
		r = io.LimitReader(r, limit+1)
	}
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, err // already a *url.Error from the body wrapper
	}
	if limit > 0 && int64(len(data)) > limit {
		return nil, permanent{fmt.Errorf("reading %s: response %w (limit %d bytes)", u.Redacted(), modfetch.ErrTooLarge, limit)}
	}
	return data, nil
}

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
		if ctx.Err() != nil || !retryable(err) {
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

// open performs one GET of u.
func (c *Client) open(ctx context.Context, u *url.URL) (io.ReadCloser, error) {
	if u.Scheme == "file" {
		return openFile(u)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, permanent{fmt.Errorf("unsupported scheme in %s", u.Redacted())}
	}
	if u.User != nil && u.Scheme == "http" {
		return nil, permanent{fmt.Errorf("refusing to pass credentials to insecure URL: %s", u.Redacted())}
	}

	idle := c.IdleTimeout
	if idle == 0 {
		idle = 60 * time.Second
	}
	ctx, cancel := context.WithCancelCause(ctx)
	var timer *time.Timer
	idled := new(atomic.Bool) // the idle timer fired
	if idle > 0 {
		timer = time.AfterFunc(idle, func() {
			idled.Store(true)
			cancel(ErrIdle)
		})
	}
	stop := func() {
		if timer != nil {
			timer.Stop()
		}
		cancel(nil)
	}

	req, err := http.NewRequestWithContext(ctx, "GET", u.String(), nil)
	if err != nil {
		stop()
		return nil, permanent{err}
	}
	resp, err := c.httpClient().Do(req)
	if err != nil {
		if errors.Is(context.Cause(ctx), ErrIdle) {
			err = &url.Error{Op: "Get", URL: u.Redacted(), Err: fmt.Errorf("%w (%v)", ErrIdle, idle)}
		}
		stop()
		return nil, err
	}
	if timer != nil {
		timer.Reset(idle)
	}
	body := &body{rc: resp.Body, url: u.Redacted(), idled: idled, timer: timer, idle: idle, stop: stop}
	if resp.StatusCode != http.StatusOK {
		defer body.Close()
		se := &modfetch.HTTPError{
			URL:        u.Redacted(),
			Status:     resp.Status,
			StatusCode: resp.StatusCode,
			Detail:     ErrorDetail(resp.Header.Get("Content-Type"), body),
		}
		if d := parseRetryAfter(resp.Header.Get("Retry-After"), c.timer().Now()); d > 0 {
			return nil, &retryAfterError{se, d}
		}
		return nil, se
	}
	return body, nil
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

// body wraps a response body: each read restarts the idle timer, and read
// errors carry the URL like the go command's.
type body struct {
	rc    io.ReadCloser
	url   string
	idled *atomic.Bool
	timer *time.Timer
	idle  time.Duration
	stop  func()
}

func (b *body) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if b.timer != nil && n > 0 {
		b.timer.Reset(b.idle)
	}
	if err != nil && err != io.EOF {
		if b.idled.Load() {
			err = fmt.Errorf("%w (%v)", ErrIdle, b.idle)
		}
		err = &url.Error{Op: "read", URL: b.url, Err: err}
	}
	return n, err
}

func (b *body) Close() error {
	err := b.rc.Close()
	b.stop()
	return err
}

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
