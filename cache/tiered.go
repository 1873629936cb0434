package cache

import (
	"bytes"
	"context"
	"errors"
	"hash/maphash"
	"io"
	"net/url"
	"path"
	"sync"
	"time"

	"github.com/modfetch/modfetch"
)

// DefaultMaxFastValue is the size of the largest value a [Tiered] store
// keeps in its Fast store when its MaxFastValue is zero.
const DefaultMaxFastValue = 64 << 10

// Tiered is a [Store] of two: a small, fast one (usually a [MemStore])
// in front of a large, slow one (a [DirStore], an object store). Every
// value is kept in Slow; values of up to MaxFastValue bytes are kept in
// Fast too, so that hot small values (.info, .mod, lists, checksum
// database answers) are read from memory, while zips go to and come from
// Slow.
//
//   - Get answers from Fast when it can; otherwise from Slow, copying a
//     small value into Fast on the way (a promotion).
//   - Put streams the value to Slow, keeping a copy of its first
//     MaxFastValue+1 bytes, and when Slow has accepted the value and it
//     was small, puts it in Fast too; a large value removes any older
//     value of the key from Fast. If Slow fails, Put fails and neither
//     store changes.
//   - Delete deletes from Slow, then from Fast.
//
// Fast never keeps a value other than Slow's for long: a Get that reads a
// value from Slow while a Put or Delete of the same key runs does not
// promote what it read, and when writes of one key overlap (so that the
// order in which Slow took them is unknown), the last to finish removes
// the key from Fast instead of putting its value there. Fast's operations
// run under a lock, so Fast must not block (a MemStore does not).
//
// Fast's own evictions are invisible: a value evicted from Fast is read
// from Slow again. Fast failing to keep a value (a MemStore too small for
// it, say) is not an error.
//
// Set the fields before first use and do not change them afterwards.
type Tiered struct {
	Fast, Slow Store

	// MaxFastValue is the size of the largest value kept in Fast. Zero
	// means DefaultMaxFastValue; negative means none (Fast is then only
	// read, for values another writer put there).
	MaxFastValue int64

	mu    sync.Mutex
	seed  maphash.Seed
	once  sync.Once
	slots [256]slot // writes of keys, by hash of the key
}

// A slot counts the writes (Puts and Deletes) of the keys that hash to it.
type slot struct {
	gen    uint64 // changes at the start and the end of every write
	active int    // writes under way
}

func (t *Tiered) maxFast() int64 {
	if t.MaxFastValue == 0 {
		return DefaultMaxFastValue
	}
	return t.MaxFastValue
}

// slot returns key's slot.
func (t *Tiered) slot(key string) *slot {
	t.once.Do(func() { t.seed = maphash.MakeSeed() })
	return &t.slots[maphash.String(t.seed, key)%uint64(len(t.slots))]
}

// startWrite records the start of a write of key and returns its slot
// and the slot's gen once started.
func (t *Tiered) startWrite(key string) (*slot, uint64) {
	sl := t.slot(key)
	t.mu.Lock()
	defer t.mu.Unlock()
	sl.gen++
	sl.active++
	return sl, sl.gen
}

// endWrite records the end of the write started at gen and reports
// whether no other write of the slot overlapped it (so that Fast may take
// its value). t.mu is held by the caller.
func (t *Tiered) endWrite(sl *slot, gen uint64) (alone bool) {
	alone = sl.gen == gen && sl.active == 1
	sl.gen++
	sl.active--
	return alone
}

// Get implements [Store].
func (t *Tiered) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	if rc, err := t.Fast.Get(ctx, key); err == nil {
		return rc, nil
	}
	sl := t.slot(key)
	t.mu.Lock()
	before := sl.gen
	t.mu.Unlock()
	rc, err := t.Slow.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	limit := t.maxFast()
	st, ok := modfetch.As[modfetch.Stater](rc)
	if !ok || limit < 0 {
		return rc, nil
	}
	fi, err := st.Stat()
	if err != nil || fi.Size() > limit {
		return rc, nil
	}
	data, err := io.ReadAll(io.LimitReader(rc, limit+1))
	rc.Close()
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		// The value changed size under us (replaced meanwhile): read
		// it afresh without promoting.
		return t.Slow.Get(ctx, key)
	}
	t.mu.Lock()
	if sl.gen == before && sl.active == 0 {
		t.Fast.Put(ctx, key, bytes.NewReader(data))
	}
	t.mu.Unlock()
	return newValueReader(path.Base(key), data, fi.ModTime()), nil
}

// Put implements [Store].
func (t *Tiered) Put(ctx context.Context, key string, r io.Reader) error {
	limit := t.maxFast()
	tee := &headCopy{r: r, limit: limit}
	sl, gen := t.startWrite(key)
	err := t.Slow.Put(ctx, key, tee)
	t.mu.Lock()
	defer t.mu.Unlock()
	alone := t.endWrite(sl, gen)
	if err != nil {
		if !alone {
			t.Fast.Delete(context.WithoutCancel(ctx), key)
		}
		return err
	}
	if alone && limit >= 0 && !tee.over {
		if err := t.Fast.Put(ctx, key, bytes.NewReader(tee.buf)); err == nil {
			return nil
		}
	}
	// Fast must not keep an older value of key. Its failure to delete
	// one (a canceled ctx) would leave one: use a context that cannot
	// end, as Fast is local.
	t.Fast.Delete(context.WithoutCancel(ctx), key)
	return nil
}

// Delete implements [Store].
func (t *Tiered) Delete(ctx context.Context, key string) error {
	sl, gen := t.startWrite(key)
	err := t.Slow.Delete(ctx, key)
	t.mu.Lock()
	defer t.mu.Unlock()
	t.endWrite(sl, gen)
	if ferr := t.Fast.Delete(context.WithoutCancel(ctx), key); err == nil {
		err = ferr
	}
	return err
}

// headCopy reads r, keeping a copy of what it reads as long as that is
// at most limit bytes.
type headCopy struct {
	r     io.Reader
	limit int64
	buf   []byte
	over  bool // more than limit bytes were read
}

func (h *headCopy) Read(p []byte) (int, error) {
	n, err := h.r.Read(p)
	if !h.over && n > 0 {
		if int64(len(h.buf)+n) > h.limit {
			h.over, h.buf = true, nil
		} else {
			h.buf = append(h.buf, p[:n]...)
		}
	}
	return n, err
}

// newValueReader returns a reader of data like a MemStore's: it has the
// abilities of one (Stater, io.ReaderAt, io.Seeker, io.WriterTo).
func newValueReader(name string, data []byte, modTime time.Time) io.ReadCloser {
	v := &memValue{name: name, modTime: modTime}
	if len(data) > 0 {
		v.add(data)
	}
	return &memReader{v: v}
}

// SignedURL implements [URLSigner] when Slow does (every value is in
// Slow); otherwise it fails with errors.ErrUnsupported.
func (t *Tiered) SignedURL(ctx context.Context, key string, expiry time.Duration) (*url.URL, error) {
	s, ok := t.Slow.(URLSigner)
	if !ok {
		return nil, errors.ErrUnsupported
	}
	return s.SignedURL(ctx, key, expiry)
}
