package cache

import (
	"context"
	"io"
	"io/fs"

	"github.com/modfetch/modfetch"
)

// A Store holds byte values under string keys. It is the whole contract a
// storage medium must meet to back a [Cache]: three byte-oriented methods,
// tested by cachetest.Run.
//
// A key is a slash-separated relative path of non-empty elements, none of
// them "." or "..", such as "github.com/!burnt!sushi/toml/@v/v1.3.2.zip".
// A Store may refuse a key that names a directory of another key (in the
// go command's layout that never happens). Keys hold only the characters
// of escaped module paths and versions plus "@", "!", "+", "~", "-", "_",
// "." and "/".
//
// Implementations are safe for concurrent use by multiple goroutines (and,
// for stores on shared media, processes).
type Store interface {
	// Get returns the value stored under key. It returns an error for which
	// errors.Is(err, fs.ErrNotExist) holds when there is none. The caller
	// must close the reader. The reader may also implement io.Seeker,
	// io.ReaderAt and Stat() (fs.FileInfo, error) (an *os.File does); a
	// Cache and the proxy use them when present.
	Get(ctx context.Context, key string) (io.ReadCloser, error)

	// Put stores the bytes of r under key, replacing any value. It is all
	// or nothing: if r fails, ctx ends, or the store cannot hold the value,
	// Put returns an error and readers keep seeing the previous value (or
	// none). Concurrent Gets see either the old or the whole new value.
	// Put streams r: a store that keeps values outside memory must not
	// need memory proportional to the value.
	Put(ctx context.Context, key string, r io.Reader) error

	// Delete removes key. Deleting a missing key is not an error.
	Delete(ctx context.Context, key string) error
}

// ReadValue returns the value of key in s, which must be at most limit
// bytes: a longer one is an error wrapping modfetch.ErrTooLarge, read no
// further than limit+1 bytes.
func ReadValue(ctx context.Context, s Store, key string, limit int64) ([]byte, error) {
	rc, err := s.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, &fs.PathError{Op: "get", Path: key, Err: modfetch.ErrTooLarge}
	}
	return data, nil
}
