package modfetch

import (
	"context"
	"strings"
	"time"
)

// Hooks observe what the layers of a stack do, for metrics and logs, in
// the manner of net/http/httptrace: upstream.Config, checksum.Verify,
// cache.Cache and proxy.Handler each take a *Hooks and call the fields
// that are set. Each hook is called synchronously on the goroutine doing
// the work, so it must be quick and safe for concurrent use. A nil *Hooks,
// or a nil field, costs nothing.
type Hooks struct {
	// UpstreamRequest is called when a request to an upstream proxy ends:
	// its body read to the end or abandoned, or the request failed. A
	// request retried is reported once per attempt.
	UpstreamRequest func(UpstreamRequest)

	// CacheLookup is called once per answer a cache gives.
	CacheLookup func(CacheLookup)

	// CacheWrite is called after a cache wrote an answer to its store, or
	// failed to.
	CacheWrite func(CacheWrite)

	// Verification is called when a go.mod or zip has been checked
	// against go.sum or the checksum database (not for bytes accepted
	// with nothing to check them against: GOSUMDB=off, GONOSUMDB).
	Verification func(Verification)

	// ServerRequest is called when a proxy.Handler has answered a request.
	ServerRequest func(ServerRequest)
}

// Kinds of request, by GOPROXY endpoint: the Kind of the events and the
// result of [RequestKind].
const (
	KindList   = "list"
	KindInfo   = "info"
	KindLatest = "latest"
	KindMod    = "mod"
	KindZip    = "zip"
	KindSumDB  = "sumdb"
	KindOther  = "other"
)

// RequestKind returns the kind of the GOPROXY request whose URL path is p
// (with any prefix): one of the Kind constants.
func RequestKind(p string) string {
	switch {
	case strings.Contains(p, "/sumdb/"):
		return KindSumDB
	case strings.HasSuffix(p, "/@v/list"):
		return KindList
	case strings.HasSuffix(p, "/@latest"):
		return KindLatest
	case !strings.Contains(p, "/@v/"):
		return KindOther
	case strings.HasSuffix(p, ".info"):
		return KindInfo
	case strings.HasSuffix(p, ".mod"):
		return KindMod
	case strings.HasSuffix(p, ".zip"):
		return KindZip
	}
	return KindOther
}

// Classes of upstream failure, the ErrClass of an [UpstreamRequest].
const (
	ErrClassNone     = ""          // success
	ErrClassStatus   = "status"    // an HTTP error status (see Status)
	ErrClassTimeout  = "timeout"   // a time budget ran out
	ErrClassConnect  = "connect"   // no connection (refused, unresolvable, unreachable)
	ErrClassBody     = "body"      // the body broke, was cut short, or was refused whole (an .info that does not parse)
	ErrClassTooLarge = "too_large" // an answer over its size limit
	ErrClassCanceled = "canceled"  // the caller left; says nothing of the upstream
	ErrClassOther    = "other"
)

// An UpstreamRequest is one request to an upstream proxy.
type UpstreamRequest struct {
	Upstream string        // the proxy's URL, without credentials
	Kind     string        // a Kind constant
	Status   int           // the answer's status code; 0 when there was none
	ErrClass string        // an ErrClass constant; "" for success
	Err      error         // the failure, nil for success
	Duration time.Duration // from sending the request to its end
	Bytes    int64         // body bytes received
}

// Results of a [CacheLookup].
const (
	CacheHit    = "hit"    // answered from the store
	CacheMiss   = "miss"   // fetched by this call
	CacheMerged = "merged" // answered by another call's fetch
)

// A CacheLookup is one answer a cache gave.
type CacheLookup struct {
	Kind   string // a Kind constant
	Result string // CacheHit, CacheMiss or CacheMerged
	Err    error  // the answer's error, if any
}

// A CacheWrite is one write to a cache's store.
type CacheWrite struct {
	Kind  string // a Kind constant; "sumdb" for checksum database data
	Bytes int64  // bytes written (0 for a failure)
	Err   error  // nil for success
}

// A Verification is one check of a go.mod or zip.
type Verification struct {
	Kind          string // KindMod or KindZip
	Path, Version string
	Err           error // nil when it passed
}

// A ServerRequest is one request a proxy.Handler answered.
type ServerRequest struct {
	Kind     string // a Kind constant
	Method   string
	Status   int
	Bytes    int64 // body bytes sent
	Duration time.Duration
}

type hooksKey struct{}

// WithHooks returns a copy of ctx that carries h: the layers report what
// they do for work under that context to h as well as to their own
// Hooks. A server gives each request's context hooks that note what the
// request caused (an access log's cache result and upstream). Work that
// several callers share (a cache's single fetch) reports to the hooks of
// the caller that started it.
func WithHooks(ctx context.Context, h *Hooks) context.Context {
	return context.WithValue(ctx, hooksKey{}, h)
}

// ContextHooks returns the hooks WithHooks put in ctx, or nil.
func ContextHooks(ctx context.Context) *Hooks {
	h, _ := ctx.Value(hooksKey{}).(*Hooks)
	return h
}
