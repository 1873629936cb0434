package proxy

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/modfetch/modfetch"
)

// AccessLog returns h logging one record per request, at level, to
// logger: method, path, status, body bytes sent, duration, the cache's
// result for the request ("hit", "miss", "merged"; "" when the request
// needed no cache lookup), the upstream that answered the fetch it
// started (if any), and how it ended ("complete"; "aborted" when the
// response was cut off after its status was sent, such as a zip that
// failed verification in the middle, logged at Warn whatever level;
// "client left" when the client went away first). It learns the cache
// result and upstream from hooks in the request's context
// (modfetch.WithHooks). Credentials are never logged.
//
// The records are written on the request's goroutine: give logger a
// buffered writer if the log's writes would slow requests down.
func AccessLog(logger *slog.Logger, level slog.Level, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		if !logger.Enabled(ctx, level) && !logger.Enabled(ctx, slog.LevelWarn) {
			h.ServeHTTP(w, r)
			return
		}
		start := time.Now()
		rec := &recorder{ResponseWriter: w, status: http.StatusOK}
		note := new(requestNote)
		r = r.WithContext(modfetch.WithHooks(ctx, note.hooks()))
		defer func() {
			p := recover()
			lvl, outcome := level, "complete"
			switch {
			case p != nil:
				lvl, outcome = slog.LevelWarn, "aborted"
			case ctx.Err() != nil:
				outcome = "client left"
			}
			cache, upstream := note.get()
			logger.LogAttrs(context.WithoutCancel(ctx), lvl, "request",
				slog.String("method", r.Method), slog.String("path", r.URL.Path),
				slog.Int("status", rec.status), slog.Int64("bytes", rec.n),
				slog.Duration("duration", time.Since(start)),
				slog.String("cache", cache), slog.String("upstream", upstream),
				slog.String("outcome", outcome))
			if p != nil {
				panic(p) // let net/http abort the response as the handler asked
			}
		}()
		h.ServeHTTP(rec, r)
	})
}

// A requestNote keeps what one request caused, from its context's hooks.
type requestNote struct {
	mu       sync.Mutex
	cache    string
	upstream string
}

func (n *requestNote) hooks() *modfetch.Hooks {
	return &modfetch.Hooks{
		CacheLookup: func(l modfetch.CacheLookup) {
			n.mu.Lock()
			if n.cache == "" {
				n.cache = l.Result // the request's own lookup comes first
			}
			n.mu.Unlock()
		},
		UpstreamRequest: func(u modfetch.UpstreamRequest) {
			if u.ErrClass == modfetch.ErrClassNone {
				n.mu.Lock()
				n.upstream = u.Upstream
				n.mu.Unlock()
			}
		},
	}
}

func (n *requestNote) get() (cache, upstream string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.cache, n.upstream
}
