// Package ctxio makes a reader fail once its context ends, for copies
// that must stop when their caller gives up.
package ctxio

import (
	"context"
	"io"
)

// Reader returns a reader of r whose reads fail with ctx's cause once ctx
// is done (checked before each read).
func Reader(ctx context.Context, r io.Reader) io.Reader {
	return &reader{ctx, r}
}

type reader struct {
	ctx context.Context
	r   io.Reader
}

func (c *reader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, context.Cause(c.ctx)
	}
	return c.r.Read(p)
}
