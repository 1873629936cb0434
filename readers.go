package modfetch

import (
	"context"
	"io"
	"io/fs"
	"net/url"
	"time"
)

// Readers that modfetch's layers return — a Resolver's zip, a store's
// value — may have optional abilities beyond io.ReadCloser. Each is a named
// interface, found with [As]:
//
//   - [Summer]: the zip's verified h1: hash;
//   - [Stater]: the size and modification time of the whole value;
//   - io.ReaderAt and io.Seeker: reading at an offset (Range requests);
//   - *os.File: the file on local disk holding the whole value, for
//     zero-copy sends (sendfile) and for code that needs a file name;
//   - [Reopener]: more readers of the same download in progress.
//
// A reader that wraps another without changing its bytes (to add an
// ability, or to do something on Close) has an Unwrap method (see
// [Unwrapper]) returning the wrapped reader, so that the abilities of the
// reader inside are found through it, as http.ResponseController finds
// those of a wrapped http.ResponseWriter. A wrapper that changes the bytes
// (limits, decompresses, verifies) must not have one: reading the inner
// reader at an offset would bypass it.

// A Summer is a zip reader that knows the zip's h1: hash, as checked by a
// verifying layer or recorded by a cache beside the zip.
type Summer interface {
	// Sum returns the zip's h1: hash ("h1:" and 44 base64 characters), or
	// "" while it is not known yet (a download still being verified) or
	// not known at all.
	Sum() string
}

// A Stater knows the size and modification time of the whole value it
// reads, whatever has been read so far, as an *os.File does.
type Stater interface {
	Stat() (fs.FileInfo, error)
}

// A Reopener is a download in progress that can feed several readers at
// once, such as checksum.Verify's zips: a cache stores one reader's bytes
// while it serves another's.
type Reopener interface {
	// NewReader opens another reader of the same bytes, from the start,
	// or returns nil once every reader of the download has been closed.
	NewReader() io.ReadCloser
}

// An Unwrapper is a reader that passes through the bytes of another
// reader, which Unwrap returns.
type Unwrapper interface {
	Unwrap() io.Reader
}

// As returns the first reader in the chain of r and the readers its
// Unwrap methods return that is a T — one of the interfaces above,
// io.ReaderAt, io.Seeker, or a concrete type such as *os.File — and
// whether there is one. Methods of the reader it returns act on the
// same bytes as r: seeking it moves r's offset.
//
//	if st, ok := modfetch.As[modfetch.Stater](rc); ok {
//		fi, err := st.Stat()
//		...
//	}
func As[T any](r io.Reader) (T, bool) {
	for r != nil {
		if t, ok := r.(T); ok {
			return t, true
		}
		u, ok := r.(Unwrapper)
		if !ok {
			break
		}
		r = u.Unwrap()
	}
	var zero T
	return zero, false
}

// A ZipURLer is a Resolver that can give a URL from which a client can
// fetch a stored zip itself, for a limited time (cache.Cache.ZipURL, on
// an object store that signs URLs). Decorators that can answer for their
// Next pass it on (rules.Filter does, for the versions it allows).
type ZipURLer interface {
	ZipURL(ctx context.Context, path, version string, expiry time.Duration) (*url.URL, error)
}
