package cache

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"runtime"
	"sync"
	"time"
)

// maxMemValue is the largest value the memory tier keeps.
const maxMemValue = 64 << 10

// maxBackground bounds the store writes running in the background; past
// it, writes happen in the foreground, which slows callers down to the
// store's pace.
const maxBackground = 256

// pendingZip is a zip on its way to the store, which callers read
// meanwhile: either a complete local file they share (closed after the
// last of them), or a download in progress whose source opens a reader
// per caller (checksum.Verify's readers do).
type pendingZip struct {
	open func() io.ReadCloser // a new reader, or nil once closed
}

func (p *pendingZip) reader() io.ReadCloser {
	if p == nil {
		return nil
	}
	return p.open()
}

// sparePending hands spare, an open reader of a download, to the first
// caller, and newReader's readers to the others (nil once the download's
// every reader is closed). If no caller ever takes spare, it is closed
// when the pendingZip is garbage.
func sparePending(spare io.ReadCloser, newReader func() io.ReadCloser) *pendingZip {
	h := &spareHolder{r: spare}
	p := &pendingZip{open: func() io.ReadCloser {
		if r := h.take(); r != nil {
			return r
		}
		return newReader()
	}}
	runtime.AddCleanup(p, func(h *spareHolder) {
		if r := h.take(); r != nil {
			r.Close()
		}
	}, h)
	return p
}

type spareHolder struct {
	mu sync.Mutex
	r  io.ReadCloser
}

func (h *spareHolder) take() io.ReadCloser {
	h.mu.Lock()
	defer h.mu.Unlock()
	r := h.r
	h.r = nil
	return r
}

// sharedFile is a complete local file shared by readers; done closes it
// after the last one.
type sharedFile struct {
	ra   io.ReaderAt
	size int64
	mu   sync.Mutex
	refs int
	done func() error
}

func (f *sharedFile) open() io.ReadCloser {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.refs == 0 {
		return nil
	}
	f.refs++
	return &pendingReader{SectionReader: io.NewSectionReader(f.ra, 0, f.size), f: f}
}

func (f *sharedFile) release() {
	f.mu.Lock()
	f.refs--
	last := f.refs == 0
	f.mu.Unlock()
	if last {
		f.done()
	}
}

// pendingReader reads a sharedFile; it also implements io.Seeker,
// io.ReaderAt and Stat, so servers can answer Range requests.
type pendingReader struct {
	*io.SectionReader
	f    *sharedFile
	once sync.Once
}

func (r *pendingReader) Close() error {
	r.once.Do(r.f.release)
	return nil
}

func (r *pendingReader) Stat() (fs.FileInfo, error) {
	return fileInfo{name: "zip", size: r.f.size}, nil
}

// get returns the value of key: from the values being written behind,
// the memory tier, or the store (promoting small values to memory).
func (c *Cache) get(ctx context.Context, key string, limit int64) ([]byte, error) {
	c.mu.Lock()
	pv := c.pending[key]
	var data []byte
	if pv != nil {
		data = pv.data
	}
	c.mu.Unlock()
	if pv != nil {
		return data, nil
	}
	if c.mem != nil {
		if rc, err := c.mem.Get(ctx, key); err == nil {
			data, err := io.ReadAll(rc)
			rc.Close()
			if err == nil {
				return data, nil
			}
		}
	}
	rc, err := c.store.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	data, err = io.ReadAll(io.LimitReader(rc, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, &fs.PathError{Op: "get", Path: key, Err: errTooLargeEntry}
	}
	if c.mem != nil && len(data) <= maxMemValue {
		c.mem.Put(ctx, key, bytes.NewReader(data))
	}
	return data, nil
}

var errTooLargeEntry = fs.ErrInvalid

// put stores data under key: in the memory tier at once, and in the store
// now or, with WriteBehind, in the background.
func (c *Cache) put(ctx context.Context, key string, data []byte) {
	if c.mem != nil && len(data) <= maxMemValue {
		c.mem.Put(ctx, key, bytes.NewReader(data))
	}
	if c.WriteBehind {
		c.mu.Lock()
		if pv := c.pending[key]; pv != nil {
			// A write of key is under way: it writes this value next,
			// so the store never ends with an older one.
			pv.data = data
			pv.version++
			c.mu.Unlock()
			return
		}
		if c.pending == nil {
			c.pending = make(map[string]*pendingValue)
		}
		pv := &pendingValue{data: data}
		c.pending[key] = pv
		c.mu.Unlock()
		write := func(ctx context.Context) { c.writePending(ctx, key, pv) }
		if !c.background(write) {
			write(ctx)
		}
		return
	}
	c.putStore(ctx, key, data)
}

// A pendingValue is a small value being written behind. One writer per
// key writes it; a put meanwhile replaces data for the writer to write
// next.
type pendingValue struct {
	data    []byte
	version int
}

// writePending writes pv's value to the store until it has written the
// latest one, then forgets pv.
func (c *Cache) writePending(ctx context.Context, key string, pv *pendingValue) {
	for {
		c.mu.Lock()
		data, version := pv.data, pv.version
		c.mu.Unlock()
		c.putStore(ctx, key, data)
		c.mu.Lock()
		if pv.version == version {
			delete(c.pending, key)
			c.mu.Unlock()
			return
		}
		c.mu.Unlock()
	}
}

func (c *Cache) putStore(ctx context.Context, key string, data []byte) {
	if err := c.store.Put(ctx, key, bytes.NewReader(data)); err != nil && c.Logger != nil {
		c.Logger.Warn("cache write failed", "key", key, "error", err)
	}
}

// background runs f in a goroutine, detached from ctx cancellation, if
// fewer than maxBackground are running; it reports whether it did.
func (c *Cache) background(f func(ctx context.Context)) bool {
	return c.bg.TryGo(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		f(ctx)
	})
}

// Flush waits until the writes WriteBehind left running have reached
// Store, or until ctx ends (returning its error). A server calls it when
// it shuts down, so that what it fetched is not lost.
func (c *Cache) Flush(ctx context.Context) error {
	c.init()
	return c.bg.Wait(ctx)
}

// pendingZipReader returns a reader of a zip being written behind, or nil.
func (c *Cache) pendingZipReader(key string) io.ReadCloser {
	c.mu.Lock()
	p := c.pendingZips[key]
	c.mu.Unlock()
	if p == nil {
		return nil
	}
	return p.reader()
}

// keepZipBehind takes Next's zip reader rc and makes it readable by
// callers at once, while a background write stores it and its hash. It
// returns the pending zip, or nil if the zip was stored in the foreground
// instead (no background slot free). The first caller to open the pending
// zip gets a reader opened here, so the download cannot end unread before
// it does; when ctx has ended (no caller is waiting) there is none.
func (c *Cache) keepZipBehind(ctx context.Context, rc io.ReadCloser, key string) (*pendingZip, error) {
	var p *pendingZip
	var storeReader io.ReadCloser
	var finishSource func()
	var local io.ReaderAt // a local copy to hash, if the source has no Sum
	var size int64
	if ns, ok := rc.(multiReader); ok {
		// A download in progress that can feed several readers: stream it
		// to callers and to the store together.
		storeReader = ns.NewReader()
		if storeReader == nil {
			rc.Close()
			return nil, errors.New("cache: zip download closed")
		}
		if ctx.Err() != nil {
			rc.Close()
			p = &pendingZip{open: ns.NewReader}
		} else {
			p = sparePending(rc, ns.NewReader)
		}
		finishSource = func() {}
	} else {
		ra, ok1 := rc.(io.ReaderAt)
		st, ok2 := rc.(interface{ Stat() (fs.FileInfo, error) })
		done := rc.Close
		if ok1 && ok2 {
			fi, err := st.Stat()
			if err != nil {
				rc.Close()
				return nil, err
			}
			size = fi.Size()
		} else {
			// Spool it: the zip must be on local disk to be shared.
			f, err := os.CreateTemp("", "modfetch-cache-*.zip")
			if err != nil {
				rc.Close()
				return nil, err
			}
			os.Remove(f.Name()) // unlinked: nothing left behind
			src := &zipSource{r: rc}
			n, err := io.Copy(f, src)
			rc.Close()
			if err != nil {
				f.Close()
				if src.err != nil {
					return nil, src.err
				}
				return nil, err
			}
			ra, size, done = f, n, f.Close
		}
		shared := &sharedFile{ra: ra, size: size, refs: 1, done: done}
		p = &pendingZip{open: shared.open}
		if ctx.Err() == nil {
			p = sparePending(shared.open(), shared.open)
		}
		storeReader = shared.open()
		finishSource = shared.release
		local = ra
	}
	c.mu.Lock()
	if c.pendingZips == nil {
		c.pendingZips = make(map[string]*pendingZip)
	}
	c.pendingZips[key] = p
	c.mu.Unlock()
	finish := func(ctx context.Context) {
		defer finishSource()
		defer storeReader.Close()
		defer func() {
			c.mu.Lock()
			if c.pendingZips[key] == p {
				delete(c.pendingZips, key)
			}
			c.mu.Unlock()
		}()
		sum, _, err := c.storeZip(ctx, key, storeReader, local, size)
		if err == nil && sum != "" {
			c.putStore(ctx, ziphashKey(key), []byte(sum))
		}
	}
	if !c.background(finish) {
		finish(context.Background())
		// Nobody will open p: close the reader kept for its first caller.
		if r := p.reader(); r != nil {
			r.Close()
		}
		return nil, nil
	}
	return p, nil
}
