package cache

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path"
	"sync"
	"sync/atomic"
	"time"

	"github.com/modfetch/modfetch/internal/background"
	"github.com/modfetch/modfetch/internal/fileinfo"
)

// Defaults for a WriteBehind's zero fields.
const (
	DefaultWriteBehindBytes   = 256 << 20
	DefaultWriteBehindTimeout = 10 * time.Minute
)

// maxHeldInMemory is the largest value a WriteBehind holds in memory;
// larger ones wait in a temporary file.
const maxHeldInMemory = 64 << 10

// maxWriters bounds the background writes running at once; past it,
// writes happen in the foreground, which slows callers down to Next's
// pace.
const maxWriters = 256

// WriteBehind is a [Store] that returns from Put as soon as it holds the
// value itself, and writes it to Next in the background, so that callers
// do not wait for a slow store (a disk's synchronous writes, an object
// store's round trips). Servers use it; tools that read the store right
// after a call returns (the go command reading a module cache) must not.
//
// A value is held — in memory up to 64 KiB, else in an unlinked temporary
// file — from the moment Put returns until Next has it, and Get serves it
// from there meanwhile (the reader of a value held in a file has
// io.ReaderAt, io.Seeker and modfetch.Stater). Delete is written behind
// too. For one key, writes reach Next in the order of the calls, and a
// value replaced before its write started is never written. Put is all or
// nothing like any Store's: if r fails or ctx ends while Put reads it,
// nothing is held and nothing changes.
//
// The bytes held, counting those of the values Puts are still reading,
// are bounded by MaxBytes: while the bound is passed and values wait to be
// written, a Put reading a large value waits between its chunks of 64 KiB
// until writes have made room, so that a store slower than its callers
// slows them down instead of filling memory or disk. (Each Put may go past
// the bound by one chunk, and small values are never held up.)
//
// A background write that fails (or takes longer than Timeout) is logged
// and its value dropped; for a failed Put, the key is then deleted from
// Next too, as far as Next allows, so that later Gets miss, as after an
// eviction, rather than see an older value. So a value that Next refuses
// (a MemStore too small for it) is accepted by Put and then dropped; put a
// WriteBehind only in front of a store that takes what its callers put.
//
// Flush waits until everything held has been written. Set the fields
// before first use and do not change them afterwards.
type WriteBehind struct {
	Next Store

	// MaxBytes bounds the bytes of the values held. Zero means
	// DefaultWriteBehindBytes.
	MaxBytes int64

	// TempDir holds the temporary files of large values; "" means
	// os.TempDir().
	TempDir string

	// Timeout bounds each background write. Zero means
	// DefaultWriteBehindTimeout.
	Timeout time.Duration

	// Logger, if set, receives failures of background writes.
	Logger *slog.Logger

	once sync.Once
	bg   *background.Group

	mu      sync.Mutex
	keys    map[string]*keyWrites
	held    int64         // bytes of the values being read and of those in keys
	queued  int64         // bytes of the values in keys
	room    chan struct{} // closed when held shrinks
	empty   chan struct{} // closed when keys empties
	waiters int           // Puts waiting for room
}

// keyWrites is what remains to be written for one key: its latest
// operation, which a single writer writes to Next.
type keyWrites struct {
	latest  *heldValue // nil: a delete
	version int        // changes with every new operation
	running bool       // a writer is writing
}

// A heldValue is a value a WriteBehind holds: in memory or in a file,
// shared by the background write and readers, released after the last.
type heldValue struct {
	w       *WriteBehind
	name    string // the key's last element
	modTime time.Time
	size    int64
	data    []byte   // a small value
	f       *os.File // a large value
	tmpName string   // f's name, to remove on close, where it was not unlinked

	refs int // guarded by w.mu
}

func (w *WriteBehind) init() {
	w.once.Do(func() { w.bg = background.New(maxWriters) })
}

func (w *WriteBehind) maxBytes() int64 {
	if w.MaxBytes <= 0 {
		return DefaultWriteBehindBytes
	}
	return w.MaxBytes
}

// Get implements [Store]: a value still held is read from where it is
// held, others from Next.
func (w *WriteBehind) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	if err := checkStoreKey(key); err != nil {
		return nil, err
	}
	w.mu.Lock()
	if kw := w.keys[key]; kw != nil {
		hv := kw.latest
		if hv == nil {
			w.mu.Unlock()
			return nil, &fs.PathError{Op: "get", Path: key, Err: fs.ErrNotExist}
		}
		hv.refs++
		w.mu.Unlock()
		return hv.reader(), nil
	}
	w.mu.Unlock()
	return w.Next.Get(ctx, key)
}

// Put implements [Store].
func (w *WriteBehind) Put(ctx context.Context, key string, r io.Reader) error {
	if err := checkStoreKey(key); err != nil {
		return err
	}
	w.init()
	hv, err := w.hold(ctx, key, r)
	if err != nil {
		return fmt.Errorf("cache: put %s: %w", key, err)
	}
	w.mu.Lock()
	w.enqueue(key, hv)
	w.mu.Unlock()
	w.startWriter(key)
	return nil
}

// count adds n bytes to those held (n < 0 removes them), waking Puts
// waiting for room when they shrink. w.mu is held.
func (w *WriteBehind) count(n int64) {
	w.held += n
	if n < 0 && w.room != nil {
		close(w.room)
		w.room = nil
	}
}

// waitRoom waits while the bytes held pass the bound and values wait to
// be written (whose writes will make room), or until ctx ends.
func (w *WriteBehind) waitRoom(ctx context.Context) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	for w.held > w.maxBytes() && w.queued > 0 {
		if w.room == nil {
			w.room = make(chan struct{})
		}
		room := w.room
		w.waiters++
		w.mu.Unlock()
		var err error
		select {
		case <-room:
		case <-ctx.Done():
			err = context.Cause(ctx)
		}
		w.mu.Lock()
		w.waiters--
		if err != nil {
			return err
		}
	}
	return nil
}

// Delete implements [Store]: the key reads as missing at once, and is
// deleted from Next in the background.
func (w *WriteBehind) Delete(ctx context.Context, key string) error {
	if err := checkOp(ctx, "delete", key); err != nil {
		return err
	}
	w.init()
	w.mu.Lock()
	w.enqueue(key, nil)
	w.mu.Unlock()
	w.startWriter(key)
	return nil
}

// Flush waits until every value held has been written to Next (or its
// write failed), or until ctx ends, returning its cause. A server calls
// it when it shuts down, so that what it fetched is not lost.
func (w *WriteBehind) Flush(ctx context.Context) error {
	w.init()
	for {
		w.mu.Lock()
		if len(w.keys) == 0 {
			w.mu.Unlock()
			return w.bg.Wait(ctx)
		}
		if w.empty == nil {
			w.empty = make(chan struct{})
		}
		empty := w.empty
		w.mu.Unlock()
		select {
		case <-empty:
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}
}

// hold reads r to its end into a new heldValue (with one reference, the
// caller's), counting its bytes as held as they arrive.
func (w *WriteBehind) hold(ctx context.Context, key string, r io.Reader) (*heldValue, error) {
	hv := &heldValue{w: w, name: path.Base(key), refs: 1}
	var counted int64 // bytes counted as held so far
	ok := false
	defer func() {
		held := int64(0)
		if ok {
			held = hv.size
		} else {
			hv.close()
		}
		w.mu.Lock()
		w.count(held - counted)
		w.mu.Unlock()
	}()
	buf := make([]byte, 0, 4<<10)
	for int64(len(buf)) <= maxHeldInMemory {
		if err := ctx.Err(); err != nil {
			return nil, context.Cause(ctx)
		}
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):min(cap(buf), maxHeldInMemory+1)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			hv.data, hv.size, hv.modTime = buf, int64(len(buf)), time.Now()
			ok = true
			return hv, nil
		}
		if err != nil {
			return nil, err
		}
	}
	// Large: spill into an unlinked temporary file, a chunk at a time,
	// waiting for room between chunks.
	f, err := os.CreateTemp(w.TempDir, "modfetch-writebehind-*")
	if err != nil {
		return nil, err
	}
	if err := os.Remove(f.Name()); err != nil {
		// Some systems (Windows) cannot unlink an open file: the name
		// then goes when the file is released.
		hv.tmpName = f.Name()
	}
	hv.f = f
	chunk := buf[:cap(buf)]
	for n := len(buf); ; {
		if _, err := f.Write(chunk[:n]); err != nil {
			return nil, err
		}
		w.mu.Lock()
		w.count(int64(n))
		counted += int64(n)
		w.mu.Unlock()
		if err := w.waitRoom(ctx); err != nil {
			return nil, err
		}
		if err := ctx.Err(); err != nil {
			return nil, context.Cause(ctx)
		}
		var rerr error
		n, rerr = io.ReadFull(r, chunk)
		if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
			if _, err := f.Write(chunk[:n]); err != nil {
				return nil, err
			}
			hv.size, hv.modTime = counted+int64(n), time.Now()
			ok = true
			return hv, nil
		}
		if rerr != nil {
			return nil, rerr
		}
	}
}

// enqueue makes hv (nil: a delete) key's latest operation, taking over
// the caller's reference. w.mu is held.
func (w *WriteBehind) enqueue(key string, hv *heldValue) {
	if w.keys == nil {
		w.keys = make(map[string]*keyWrites)
	}
	kw := w.keys[key]
	if kw == nil {
		kw = new(keyWrites)
		w.keys[key] = kw
	}
	if old := kw.latest; old != nil {
		w.unhold(old)
	}
	kw.latest = hv
	kw.version++
	if hv != nil {
		w.queued += hv.size
	}
}

// startWriter makes sure a writer writes key's latest operation: in the
// background when a slot is free, else now.
func (w *WriteBehind) startWriter(key string) {
	w.mu.Lock()
	kw := w.keys[key]
	if kw == nil || kw.running {
		w.mu.Unlock()
		return
	}
	kw.running = true
	w.mu.Unlock()
	if !w.bg.TryGo(func() { w.write(key, kw) }) {
		w.write(key, kw)
	}
}

// write writes key's operations to Next until it has written the latest,
// then forgets the key.
func (w *WriteBehind) write(key string, kw *keyWrites) {
	for {
		w.mu.Lock()
		hv, version := kw.latest, kw.version
		if hv != nil {
			hv.refs++
		}
		w.mu.Unlock()

		ctx, cancel := context.WithTimeout(context.Background(), cmpOr(w.Timeout, DefaultWriteBehindTimeout))
		var err error
		if hv == nil {
			err = w.Next.Delete(ctx, key)
		} else {
			err = w.Next.Put(ctx, key, hv.section())
			w.release(hv)
		}
		cancel()
		if err != nil {
			if w.Logger != nil {
				w.Logger.Warn("cache write failed", "key", key, "error", err)
			}
			if hv != nil {
				// Not an older value in place of the one dropped.
				ctx, cancel := context.WithTimeout(context.Background(), cmpOr(w.Timeout, DefaultWriteBehindTimeout))
				if err := w.Next.Delete(ctx, key); err != nil && w.Logger != nil {
					w.Logger.Warn("cache delete after a failed write failed", "key", key, "error", err)
				}
				cancel()
			}
		}

		w.mu.Lock()
		if kw.version == version {
			if hv := kw.latest; hv != nil {
				w.unhold(hv)
			}
			delete(w.keys, key)
			if len(w.keys) == 0 && w.empty != nil {
				close(w.empty)
				w.empty = nil
			}
			w.mu.Unlock()
			return
		}
		w.mu.Unlock()
	}
}

// unhold drops hv from the values held, waking Puts waiting for room.
// w.mu is held.
func (w *WriteBehind) unhold(hv *heldValue) {
	w.queued -= hv.size
	w.count(-hv.size)
	w.releaseLocked(hv)
}

func (w *WriteBehind) release(hv *heldValue) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.releaseLocked(hv)
}

// releaseLocked drops a reference to hv, closing its file after the last.
// w.mu is held.
func (w *WriteBehind) releaseLocked(hv *heldValue) {
	hv.refs--
	if hv.refs == 0 {
		hv.close()
	}
}

func (hv *heldValue) close() {
	if hv.f != nil {
		hv.f.Close()
		if hv.tmpName != "" {
			os.Remove(hv.tmpName)
		}
	}
}

// section returns a reader of the whole value.
func (hv *heldValue) section() io.Reader {
	if hv.f == nil {
		return bytes.NewReader(hv.data)
	}
	return io.NewSectionReader(hv.f, 0, hv.size)
}

// reader returns a reader of the value for Get, which holds one of its
// references.
func (hv *heldValue) reader() io.ReadCloser {
	if hv.f == nil {
		hv.w.release(hv) // memory needs no reference
		return newValueReader(hv.name, hv.data, hv.modTime)
	}
	return &heldReader{sr: io.NewSectionReader(hv.f, 0, hv.size), hv: hv}
}

// A heldReader reads a value held in a file. Besides io.ReadCloser it
// has the abilities io.ReaderAt, io.Seeker and modfetch.Stater. After
// Close, its methods fail with fs.ErrClosed.
type heldReader struct {
	sr     *io.SectionReader
	hv     *heldValue
	closed atomic.Bool
}

func (r *heldReader) errClosed(op string) error {
	return &fs.PathError{Op: op, Path: r.hv.name, Err: fs.ErrClosed}
}

func (r *heldReader) Read(p []byte) (int, error) {
	if r.closed.Load() {
		return 0, r.errClosed("read")
	}
	return r.sr.Read(p)
}

func (r *heldReader) ReadAt(p []byte, off int64) (int, error) {
	if r.closed.Load() {
		return 0, r.errClosed("read")
	}
	return r.sr.ReadAt(p, off)
}

func (r *heldReader) Seek(offset int64, whence int) (int64, error) {
	if r.closed.Load() {
		return 0, r.errClosed("seek")
	}
	return r.sr.Seek(offset, whence)
}

func (r *heldReader) Close() error {
	if r.closed.Swap(true) {
		return r.errClosed("close")
	}
	r.hv.w.release(r.hv)
	return nil
}

func (r *heldReader) Stat() (fs.FileInfo, error) {
	if r.closed.Load() {
		return nil, r.errClosed("stat")
	}
	return fileinfo.New(r.hv.name, r.hv.size, 0o444, r.hv.modTime), nil
}

func cmpOr(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// SignedURL implements [URLSigner] when Next does, for values Next has:
// for a key whose write is still under way it fails with an error for
// which errors.Is(err, fs.ErrNotExist) holds (Next has not got it yet).
func (w *WriteBehind) SignedURL(ctx context.Context, key string, expiry time.Duration) (*url.URL, error) {
	s, ok := w.Next.(URLSigner)
	if !ok {
		return nil, errors.ErrUnsupported
	}
	w.mu.Lock()
	_, held := w.keys[key]
	w.mu.Unlock()
	if held {
		return nil, &fs.PathError{Op: "sign", Path: key, Err: fs.ErrNotExist}
	}
	return s.SignedURL(ctx, key, expiry)
}
