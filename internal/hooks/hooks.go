// Package hooks calls a layer's modfetch.Hooks and those of the work's
// context.
package hooks

import (
	"context"

	"github.com/modfetch/modfetch"
)

// Each calls f with h and with ctx's hooks (modfetch.ContextHooks), each
// when not nil.
func Each(ctx context.Context, h *modfetch.Hooks, f func(*modfetch.Hooks)) {
	if h != nil {
		f(h)
	}
	if ch := modfetch.ContextHooks(ctx); ch != nil && ch != h {
		f(ch)
	}
}

// Any reports whether h or ctx's hooks have a hook that pick selects.
func Any(ctx context.Context, h *modfetch.Hooks, pick func(*modfetch.Hooks) bool) bool {
	if h != nil && pick(h) {
		return true
	}
	ch := modfetch.ContextHooks(ctx)
	return ch != nil && pick(ch)
}
