package cache

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/modfetch/modfetch"
	"github.com/modfetch/modfetch/internal/fileinfo"
	"github.com/modfetch/modfetch/internal/lru"
)

// defaultMemStoreBytes is the capacity of a MemStore whose MaxBytes is not
// positive.
const defaultMemStoreBytes = 64 << 20

// A MemStore is a [Store] that keeps values in memory, bounded in size:
// the sum of the lengths of the values it holds never exceeds MaxBytes.
// To make room for a new value it evicts values not used recently (by
// CLOCK, an approximation of least recently used), where Put, Get and
// Rendered count as uses. Values are gone when the process ends.
//
// The zero value is an empty store of the default size, ready to use. A
// MemStore is safe for concurrent use by multiple goroutines. It must not
// be copied after first use, and MaxBytes must not change after first
// use.
type MemStore struct {
	// MaxBytes is the capacity of the store in bytes, counting only the
	// values (not keys or bookkeeping). Zero or negative means 64 MiB.
	// A single value larger than MaxBytes cannot be stored.
	MaxBytes int64

	once sync.Once
	vals lru.Cache[string, *memValue]
}

// A memValue is an immutable value: once built it is only read, so any
// number of readers may share it while the store replaces or drops it.
type memValue struct {
	name    string   // last key element, for Stat
	chunks  [][]byte // the content, in order; none empty; one up to maxMemChunk
	starts  []int64  // starts[i] is the offset of chunks[i]
	size    int64
	modTime time.Time

	rendered atomic.Pointer[rendering] // what Rendered made of it
}

// A rendering is what a Rendered caller made of a value.
type rendering struct{ v any }

func (m *MemStore) limit() int64 {
	if m.MaxBytes <= 0 {
		return defaultMemStoreBytes
	}
	return m.MaxBytes
}

func (m *MemStore) init() {
	m.once.Do(func() {
		m.vals.MaxCost = m.limit()
		m.vals.Cost = func(_ string, v *memValue) int64 { return v.size }
	})
}

// Get returns a reader over the value of key and marks it as recently
// used. The reader sees a snapshot: later Puts, Deletes and evictions do
// not change what it reads. Besides io.ReadCloser it implements
// io.Seeker, io.ReaderAt, io.WriterTo and Stat() (fs.FileInfo, error),
// whose FileInfo has the last key element as Name, the value's length as
// Size, the time of the Put as ModTime and mode 0444. After Close, its
// methods return errors wrapping fs.ErrClosed.
//
// When there is no value under key (never stored, deleted or evicted),
// Get returns an *fs.PathError wrapping fs.ErrNotExist. It also fails if
// key is invalid or ctx is already done.
func (m *MemStore) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	if err := checkOp(ctx, "get", key); err != nil {
		return nil, err
	}
	m.init()
	v, ok := m.vals.Get(key)
	if !ok {
		return nil, &fs.PathError{Op: "get", Path: key, Err: fs.ErrNotExist}
	}
	return &memReader{v: v}, nil
}

// Put reads r to its end and stores the bytes as the value of key,
// replacing any previous value and evicting least recently used values as
// needed to stay within MaxBytes. It reads at most MaxBytes+1 bytes: if r
// holds more than MaxBytes bytes, Put returns an error wrapping
// [modfetch.ErrTooLarge]. If r fails, ctx ends before Put returns, or key is
// invalid, Put returns an error too. Whenever Put returns an error the
// store is unchanged.
func (m *MemStore) Put(ctx context.Context, key string, r io.Reader) error {
	if err := checkStoreKey(key); err != nil {
		return err
	}
	limit := m.limit()
	v, err := readMemValue(ctx, r, limit)
	if err == errOverLimit {
		return fmt.Errorf("cache: put %s: %w (limit %d bytes)", key, err, limit)
	}
	if err != nil {
		return fmt.Errorf("cache: put %s: %w", key, err)
	}
	v.name = path.Base(key)
	v.modTime = time.Now()
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("cache: put %s: %w", key, context.Cause(ctx))
	}
	m.init()
	m.vals.Add(key, v) // v.size <= limit: it fits
	return nil
}

// Rendered returns what render made of key's value, and whether key has
// a value that render accepted. render is given the value's bytes (which
// it must not modify, and may keep) and time of Put, and is called once
// per stored value: on the first call after the Put that it does not
// decline by returning nil (concurrent first callers may each call it;
// one result is kept). The result is kept with the value and goes with
// it, when it is replaced, deleted or evicted. This is how a server keeps
// what it derives from hot values, such as an HTTP answer's headers, in
// the one memory layer that bounds them; the result is not counted in
// MaxBytes, so it should be small beside the value. A value over 1 MiB,
// or none, reports false. Rendered neither checks key (a key that is not
// valid has no value) nor blocks.
func (m *MemStore) Rendered(key string, render func(key string, data []byte, modTime time.Time) any) (any, bool) {
	m.init()
	v, ok := m.vals.Get(key)
	if !ok || len(v.chunks) > 1 {
		return nil, false
	}
	if r := v.rendered.Load(); r != nil {
		return r.v, true
	}
	var data []byte
	if len(v.chunks) == 1 {
		data = v.chunks[0]
	}
	rv := render(key, data, v.modTime)
	if rv == nil {
		return nil, false // declined: asked again next time
	}
	r := &rendering{rv}
	if !v.rendered.CompareAndSwap(nil, r) {
		r = v.rendered.Load()
	}
	return r.v, true
}

// Delete removes the value of key, if any. Deleting a missing key is not
// an error. Delete fails only if key is invalid or ctx is already done.
// Readers already returned by Get keep reading the deleted value.
func (m *MemStore) Delete(ctx context.Context, key string) error {
	if err := checkOp(ctx, "delete", key); err != nil {
		return err
	}
	m.init()
	m.vals.Remove(key)
	return nil
}

// Chunk sizes used while reading a value: each new chunk is as large as
// everything read so far, within these bounds, so a value costs about
// its own size in memory and small values stay small.
const (
	minMemChunk = 512
	maxMemChunk = 1 << 20
)

// errOverLimit is the failure of a value larger than the whole store
// (and not a reader's own failure that wraps modfetch.ErrTooLarge).
var errOverLimit = fmt.Errorf("value %w for the store", modfetch.ErrTooLarge)

// readMemValue reads r to its end into a new memValue. It reads at most
// limit+1 bytes and fails with errOverLimit if r holds more than limit. It
// checks ctx before every Read.
func readMemValue(ctx context.Context, r io.Reader, limit int64) (*memValue, error) {
	v := new(memValue)
	var buf []byte
	for {
		if err := ctx.Err(); err != nil {
			return nil, context.Cause(ctx)
		}
		if len(buf) == cap(buf) {
			if len(buf) > 0 {
				v.add(buf)
			}
			size := min(max(v.size, minMemChunk), maxMemChunk)
			if room := limit - v.size; room < size {
				size = room + 1 // read one byte past the limit to detect it
			}
			buf = make([]byte, 0, size)
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		if n < 0 || n > cap(buf)-len(buf) {
			return nil, fmt.Errorf("invalid Read count %d from %T", n, r)
		}
		buf = buf[:len(buf)+n]
		if v.size+int64(len(buf)) > limit {
			return nil, errOverLimit
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	if len(buf) > 0 {
		if cap(buf) > len(buf) {
			buf = append([]byte(nil), buf...)
		}
		v.add(buf)
	}
	if len(v.chunks) > 1 && v.size <= maxMemChunk {
		// Contiguous, so that Rendered can lend it whole.
		whole := make([]byte, 0, v.size)
		for _, c := range v.chunks {
			whole = append(whole, c...)
		}
		v.chunks, v.starts = [][]byte{whole}, []int64{0}
	}
	return v, nil
}

// add appends a non-empty chunk to v.
func (v *memValue) add(b []byte) {
	v.chunks = append(v.chunks, b)
	v.starts = append(v.starts, v.size)
	v.size += int64(len(b))
}

// readAt copies the bytes of v from off on into p and returns how many
// it copied: fewer than len(p) only at the end of v.
func (v *memValue) readAt(p []byte, off int64) int {
	if off >= v.size {
		return 0
	}
	// The last chunk starting at or before off.
	i := sort.Search(len(v.starts), func(i int) bool { return v.starts[i] > off }) - 1
	n := 0
	for ; i < len(v.chunks) && n < len(p); i++ {
		n += copy(p[n:], v.chunks[i][off-v.starts[i]:])
		off = v.starts[i] + int64(len(v.chunks[i]))
	}
	return n
}

// A memReader reads a memValue. Read, Seek and WriteTo share an offset
// and are not for concurrent use; ReadAt, Stat and Close may be called
// concurrently with anything.
type memReader struct {
	v      *memValue
	off    int64
	closed atomic.Bool
}

func (r *memReader) errClosed(op string) error {
	return &fs.PathError{Op: op, Path: r.v.name, Err: fs.ErrClosed}
}

// Read implements io.Reader.
func (r *memReader) Read(p []byte) (int, error) {
	if r.closed.Load() {
		return 0, r.errClosed("read")
	}
	if r.off >= r.v.size {
		return 0, io.EOF
	}
	n := r.v.readAt(p, r.off)
	r.off += int64(n)
	return n, nil
}

// ReadAt implements io.ReaderAt.
func (r *memReader) ReadAt(p []byte, off int64) (int, error) {
	if r.closed.Load() {
		return 0, r.errClosed("read")
	}
	if off < 0 {
		return 0, &fs.PathError{Op: "readat", Path: r.v.name, Err: errors.New("negative offset")}
	}
	n := r.v.readAt(p, off)
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// Seek implements io.Seeker. Seeking past the end is allowed; reads there
// return io.EOF.
func (r *memReader) Seek(offset int64, whence int) (int64, error) {
	if r.closed.Load() {
		return 0, r.errClosed("seek")
	}
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += r.off
	case io.SeekEnd:
		offset += r.v.size
	default:
		return 0, &fs.PathError{Op: "seek", Path: r.v.name, Err: errors.New("invalid whence")}
	}
	if offset < 0 {
		return 0, &fs.PathError{Op: "seek", Path: r.v.name, Err: errors.New("negative position")}
	}
	r.off = offset
	return offset, nil
}

// WriteTo implements io.WriterTo, writing the rest of the value to w
// without copying it.
func (r *memReader) WriteTo(w io.Writer) (int64, error) {
	if r.closed.Load() {
		return 0, r.errClosed("read")
	}
	var total int64
	for i, c := range r.v.chunks {
		end := r.v.starts[i] + int64(len(c))
		if end <= r.off {
			continue
		}
		n, err := w.Write(c[r.off-r.v.starts[i]:])
		r.off += int64(n)
		total += int64(n)
		if err != nil {
			return total, err
		}
		if r.off < end {
			return total, io.ErrShortWrite
		}
	}
	return total, nil
}

// Stat returns the value's name (the last key element), size, time of
// Put and mode 0444.
func (r *memReader) Stat() (fs.FileInfo, error) {
	if r.closed.Load() {
		return nil, r.errClosed("stat")
	}
	return fileinfo.New(r.v.name, r.v.size, 0o444, r.v.modTime), nil
}

// Close marks the reader closed. Closing it again returns an error
// wrapping fs.ErrClosed, like an *os.File.
func (r *memReader) Close() error {
	if r.closed.Swap(true) {
		return r.errClosed("close")
	}
	return nil
}
