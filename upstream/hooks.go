package upstream

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"syscall"

	"github.com/modfetch/modfetch"
	"github.com/modfetch/modfetch/internal/hooks"
	"github.com/modfetch/modfetch/internal/web"
)

// observer returns the web client's Observe hook for p: its Health's,
// and its Hooks' and the request context's (modfetch.WithHooks).
func (p *Proxy) observer() func(web.Attempt) {
	h, own := p.Health, p.Hooks
	upstream := p.redacted
	return func(a web.Attempt) {
		if h != nil {
			h.observeAttempt(a)
		}
		if !a.Body && a.Err == nil && a.Status == http.StatusOK {
			return // the answer's headers: its body is reported when it ends
		}
		ctx := a.Ctx
		if ctx == nil {
			ctx = context.Background()
		}
		if !hooks.Any(ctx, own, hasUpstream) {
			return
		}
		ev := modfetch.UpstreamRequest{
			Upstream: upstream,
			Kind:     kindOf(a.URL),
			Status:   a.Status,
			ErrClass: errClass(a),
			Err:      a.Err,
			Duration: a.Duration,
			Bytes:    a.Bytes,
		}
		hooks.Each(ctx, own, func(hk *modfetch.Hooks) {
			if hk.UpstreamRequest != nil {
				hk.UpstreamRequest(ev)
			}
		})
	}
}

func hasUpstream(h *modfetch.Hooks) bool { return h.UpstreamRequest != nil }

// kindOf returns the kind of request of a (redacted) URL.
func kindOf(u string) string {
	if pu, err := url.Parse(u); err == nil {
		return modfetch.RequestKind(pu.Path)
	}
	return modfetch.KindOther
}

// errClass classifies an attempt's failure.
func errClass(a web.Attempt) string {
	err := a.Err
	var op *net.OpError
	var dns *net.DNSError
	switch {
	case err == nil:
		return modfetch.ErrClassNone
	case a.Canceled:
		return modfetch.ErrClassCanceled
	case a.Status != 0 && a.Status != http.StatusOK:
		return modfetch.ErrClassStatus
	case errors.Is(err, web.ErrConnect), errors.Is(err, web.ErrFirstByte), errors.Is(err, web.ErrIdle):
		return modfetch.ErrClassTimeout
	case errors.Is(err, modfetch.ErrTooLarge), errors.Is(err, modfetch.ErrZipTooLarge):
		return modfetch.ErrClassTooLarge
	case a.Body:
		return modfetch.ErrClassBody
	case errors.As(err, &dns), errors.Is(err, syscall.ECONNREFUSED), errors.As(err, &op) && op.Op == "dial":
		return modfetch.ErrClassConnect
	}
	return modfetch.ErrClassOther
}
