package cache

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/mod/module"
	modzip "golang.org/x/mod/zip"

	"github.com/modfetch/modfetch"
	"github.com/modfetch/modfetch/internal/flight"
	"github.com/modfetch/modfetch/internal/h1"
	"github.com/modfetch/modfetch/internal/hooks"
	"github.com/modfetch/modfetch/internal/lru"
)

// Defaults for a Cache's zero fields.
const (
	DefaultMutableTTL  = time.Minute
	DefaultNotFoundTTL = 30 * time.Second
	DefaultLockerRetry = 5 * time.Second
)

// maxNotFoundBytes bounds the memory of a Cache's not-found answers.
const maxNotFoundBytes = 1 << 20

// Cache is a caching [modfetch.Resolver] in front of Next, keeping answers
// in Store by their mutability, like the go command's module cache
// (cmd/go/internal/modfetch: cachingRepo):
//
//   - the .info, .mod and .zip of a canonical version never change: once
//     stored they are answered from Store forever, without asking Next;
//   - @v/list, @latest and the .info of non-canonical revisions (branches,
//     commit hashes, versions that resolve to another one) change: they are
//     reused for MutableTTL;
//   - a not-found answer is remembered, in memory only, for NotFoundTTL;
//   - other errors are never remembered.
//
// Identical concurrent requests that miss the cache are one request to
// Next. That request is detached from any one caller's cancellation: it
// runs until it finishes or every caller waiting for it has given up, and
// each caller returns as soon as its own context ends.
//
// An answer is in Store when the call that fetched it returns (for a zip,
// before its reader is returned), as the go command leaves its module
// cache. How fast and where Store keeps it is Store's business: a
// [Tiered] store keeps small answers in memory too, a [WriteBehind] store
// returns before a slow store has them.
//
// Cache stores what Next returns, so put it above a verifying layer
// ([checksum.Verify]) to store only verified bytes. A failure to write
// Store is logged and the answer still returned.
//
// Stored keys follow the go command's $GOMODCACHE/cache/download layout
// (see DirStore and modfetch.VersionFile): "<escaped path>/@v/<escaped
// version>.info", ".mod", ".zip" and ".ziphash" (the zip's h1: hash).
// Mutable answers live under "modfetch/", which can never be a module
// path, with the time they were fetched.
//
// Set the exported fields before first use and do not change them later.
type Cache struct {
	Next modfetch.Resolver

	// Store keeps the answers; nil means a &MemStore{} (64 MiB).
	Store Store

	// MutableTTL is how long list, latest and non-canonical revision
	// answers are reused. Zero means DefaultMutableTTL; a negative value
	// means they are never reused (every call asks Next, like the go
	// command).
	MutableTTL time.Duration

	// NotFoundTTL is how long a not-found answer is remembered in memory.
	// Zero means DefaultNotFoundTTL; a negative value disables it.
	NotFoundTTL time.Duration

	// Logger, if set, receives failures to write Store, and the Locker's
	// outages.
	Logger *slog.Logger

	// Locker, if set, is shared with the other processes that use the
	// same Store (replicas of a server on shared object storage): of
	// their requests for the same .info, .mod or .zip of a canonical
	// version that miss the Store, only the one holding its lock asks
	// Next, and the others wait for the lock and then read the answer
	// from Store. So Store must hold a value once its Put returns: not a
	// WriteBehind in front of the shared store, or the others miss it and
	// ask Next too. When the Locker fails (its service unreachable), the
	// Cache logs it and goes on with its own merging of identical
	// requests alone, asking the Locker again after LockerRetry.
	Locker Locker

	// Hooks, if set, are told of each answer (hit, miss or merged) and
	// each write to Store.
	Hooks *modfetch.Hooks

	// LockerRetry is how long the Cache goes without a failed Locker.
	// Zero means DefaultLockerRetry.
	LockerRetry time.Duration

	now func() time.Time // test hook

	// alt names the alternative of Next's walk that a view made by Try
	// stands for, in its mutable keys ("" for the Cache itself).
	alt string

	lockerMu        sync.Mutex
	lockerDownUntil time.Time // the Locker failed; not asked until then
	lockerDown      bool      // its outage was logged

	once     sync.Once
	store    Store
	notFound lru.Cache[string, notFoundEntry]

	infos  flight.Group[string, *modfetch.Info]
	lists  flight.Group[string, []string]
	gomods flight.Group[string, []byte]
	zips   flight.Group[string, *spareZip]
}

type notFoundEntry struct {
	err   error
	until time.Time
}

func (c *Cache) init() {
	c.once.Do(func() {
		c.store = c.Store
		if c.store == nil {
			c.store = &MemStore{}
		}
		if c.now == nil {
			c.now = time.Now
		}
		c.notFound.MaxCost = maxNotFoundBytes
		c.notFound.Cost = func(k string, _ notFoundEntry) int64 { return int64(len(k)) + 256 }
	})
}

func (c *Cache) mutableTTL() time.Duration {
	if c.MutableTTL == 0 {
		return DefaultMutableTTL
	}
	return c.MutableTTL
}

func (c *Cache) notFoundTTL() time.Duration {
	if c.NotFoundTTL == 0 {
		return DefaultNotFoundTTL
	}
	return c.NotFoundTTL
}

func (c *Cache) mutableKey(path, what string) (string, error) {
	enc, err := module.EscapePath(path)
	if err != nil {
		return "", err
	}
	return "modfetch/" + c.alt + enc + "/" + what, nil
}

// Not-found memory.

func (c *Cache) rememberedNotFound(key string) error {
	if c.notFoundTTL() < 0 {
		return nil
	}
	e, ok := c.notFound.Get(key)
	if !ok {
		return nil
	}
	if c.now().After(e.until) {
		c.notFound.Remove(key)
		return nil
	}
	return e.err
}

func (c *Cache) noteError(key string, err error) {
	if err == nil || c.notFoundTTL() < 0 || !errors.Is(err, fs.ErrNotExist) {
		return
	}
	c.notFound.Add(key, notFoundEntry{err: err, until: c.now().Add(c.notFoundTTL())})
}

// get returns the value of key in the store, at most limit bytes (a
// longer value is an error).
func (c *Cache) get(ctx context.Context, key string, limit int64) ([]byte, error) {
	return ReadValue(ctx, c.store, key, limit)
}

// put stores data under key, logging a failure.
func (c *Cache) put(ctx context.Context, key string, data []byte) {
	err := c.store.Put(ctx, key, bytes.NewReader(data))
	if err != nil && c.Logger != nil {
		c.Logger.Warn("cache write failed", "key", key, "error", err)
	}
	c.wrote(ctx, key, int64(len(data)), err)
}

// wrote tells the hooks (c's and ctx's) of a write of n bytes under key.
func (c *Cache) wrote(ctx context.Context, key string, n int64, err error) {
	if err != nil {
		n = 0
	}
	hooks.Each(ctx, c.Hooks, func(h *modfetch.Hooks) {
		if h.CacheWrite != nil {
			h.CacheWrite(modfetch.CacheWrite{Kind: modfetch.RequestKind(key), Bytes: n, Err: err})
		}
	})
}

// looked tells the hooks (c's and ctx's) of an answer.
func (c *Cache) looked(ctx context.Context, kind, result string, err error) {
	hooks.Each(ctx, c.Hooks, func(h *modfetch.Hooks) {
		if h.CacheLookup != nil {
			h.CacheLookup(modfetch.CacheLookup{Kind: kind, Result: result, Err: err})
		}
	})
}

func hasLookup(h *modfetch.Hooks) bool { return h.CacheLookup != nil }

// fetched is the lookup result of an answer from a fetch this call
// started (a miss) or joined (merged).
func fetched(joined bool) string {
	if joined {
		return modfetch.CacheMerged
	}
	return modfetch.CacheMiss
}

// Store access.

// A mutable entry is stored as "modfetch-cache <unix nanoseconds>\n" and
// the answer's bytes.
const mutableHeader = "modfetch-cache "

func (c *Cache) getMutable(ctx context.Context, key string) ([]byte, bool) {
	ttl := c.mutableTTL()
	if ttl < 0 {
		return nil, false
	}
	data, err := c.get(ctx, key, 64<<20)
	if err != nil {
		return nil, false
	}
	line, body, ok := bytes.Cut(data, []byte("\n"))
	if !ok || !bytes.HasPrefix(line, []byte(mutableHeader)) {
		return nil, false
	}
	ns, err := strconv.ParseInt(string(line[len(mutableHeader):]), 10, 64)
	if err != nil {
		return nil, false
	}
	age := c.now().Sub(time.Unix(0, ns))
	if age < 0 || age > ttl {
		return nil, false
	}
	return body, true
}

func (c *Cache) putMutable(ctx context.Context, key string, body []byte) {
	if c.mutableTTL() < 0 {
		return
	}
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "%s%d\n", mutableHeader, c.now().UnixNano())
	buf.Write(body)
	c.put(ctx, key, buf.Bytes())
}

// encodeInfo is the content of a .info file: info as the go command
// keeps it (Info.Clean). It is nil when info cannot be encoded (a time
// outside the years 0 to 9999), and then nothing is stored.
func encodeInfo(info *modfetch.Info) []byte {
	data, err := json.Marshal(info.Clean())
	if err != nil {
		return nil
	}
	return data
}

func (c *Cache) getInfo(ctx context.Context, path, version string) (*modfetch.Info, bool) {
	key, err := modfetch.VersionFile(path, version, "info")
	if err != nil {
		return nil, false
	}
	data, err := c.get(ctx, key, 1<<20)
	if err != nil {
		return nil, false
	}
	info, err := modfetch.ParseInfo(data)
	if err != nil || info.Version != version {
		return nil, false // unparseable entries count as missing, like the go command's
	}
	return info, true
}

func (c *Cache) putInfo(ctx context.Context, path string, info *modfetch.Info) {
	key, err := modfetch.VersionFile(path, info.Version, "info")
	if err != nil {
		return
	}
	if data := encodeInfo(info); data != nil {
		c.put(ctx, key, data)
	}
}

// ensureInfo keeps info as its canonical version's .info unless one is
// kept already (it never changes).
func (c *Cache) ensureInfo(ctx context.Context, path string, info *modfetch.Info) {
	if _, ok := c.getInfo(ctx, path, info.Version); !ok {
		c.putInfo(ctx, path, info)
	}
}

func copyInfo(info *modfetch.Info) *modfetch.Info {
	if info == nil {
		return nil
	}
	cp := *info
	if info.Origin != nil {
		o := *info.Origin
		cp.Origin = &o
	}
	return &cp
}

// Stat implements [modfetch.Resolver].
func (c *Cache) Stat(ctx context.Context, path, rev string) (_ *modfetch.Info, err error) {
	c.init()
	res := modfetch.CacheHit
	if hooks.Any(ctx, c.Hooks, hasLookup) {
		defer func() { c.looked(ctx, modfetch.KindInfo, res, err) }()
	}
	canonical := modfetch.IsCanonical(rev)
	if canonical {
		if info, ok := c.getInfo(ctx, path, rev); ok {
			return info, nil
		}
	}
	// A revision that is not a valid file name element (a branch named
	// "a/b", say) is resolved but its answer not kept.
	mkey := ""
	if erev, err := module.EscapeVersion(rev); err == nil {
		mkey, err = c.mutableKey(path, "@v/"+erev+".info")
		if err != nil {
			res = modfetch.CacheMiss
			return c.Next.Stat(ctx, path, rev) // Next reports the bad path
		}
	}
	if mkey != "" {
		if data, ok := c.getMutable(ctx, mkey); ok {
			if info, err := modfetch.ParseInfo(data); err == nil {
				return info, nil
			}
		}
	}
	fkey := "stat\x00" + path + "\x00" + rev
	if err := c.rememberedNotFound(fkey); err != nil {
		return nil, err
	}
	info, err, joined := c.infos.Do(ctx, fkey, func(ctx context.Context) (*modfetch.Info, error) {
		if canonical {
			release, err := c.lockFetch(ctx, path, rev, "info")
			if err != nil {
				return nil, err
			}
			defer release()
			if c.Locker != nil {
				if info, ok := c.getInfo(ctx, path, rev); ok {
					return info, nil // another process fetched it meanwhile
				}
			}
		}
		info, err := c.Next.Stat(ctx, path, rev)
		if err != nil {
			c.noteError(fkey, err)
			return nil, err
		}
		switch {
		case canonical && info.Version == rev:
			c.putInfo(ctx, path, info) // getInfo missed above
		case modfetch.IsCanonical(info.Version):
			c.ensureInfo(ctx, path, info)
		}
		if info.Version != rev && mkey != "" {
			if data := encodeInfo(info); data != nil {
				c.putMutable(ctx, mkey, data)
			}
		}
		return info, nil
	})
	res = fetched(joined)
	return copyInfo(info), err
}

// Latest implements [modfetch.Resolver].
func (c *Cache) Latest(ctx context.Context, path string) (_ *modfetch.Info, err error) {
	c.init()
	res := modfetch.CacheHit
	if hooks.Any(ctx, c.Hooks, hasLookup) {
		defer func() { c.looked(ctx, modfetch.KindLatest, res, err) }()
	}
	mkey, err := c.mutableKey(path, "@latest")
	if err != nil {
		res = modfetch.CacheMiss
		return c.Next.Latest(ctx, path)
	}
	if data, ok := c.getMutable(ctx, mkey); ok {
		if info, err := modfetch.ParseInfo(data); err == nil {
			return info, nil
		}
	}
	fkey := "latest\x00" + path
	if err := c.rememberedNotFound(fkey); err != nil {
		return nil, err
	}
	info, err, joined := c.infos.Do(ctx, fkey, func(ctx context.Context) (*modfetch.Info, error) {
		info, err := c.Next.Latest(ctx, path)
		if err != nil {
			c.noteError(fkey, err)
			return nil, err
		}
		if modfetch.IsCanonical(info.Version) {
			c.ensureInfo(ctx, path, info)
		}
		if data := encodeInfo(info); data != nil {
			c.putMutable(ctx, mkey, data)
		}
		return info, nil
	})
	res = fetched(joined)
	return copyInfo(info), err
}

// List implements [modfetch.Resolver].
func (c *Cache) List(ctx context.Context, path string) (_ []string, err error) {
	c.init()
	res := modfetch.CacheHit
	if hooks.Any(ctx, c.Hooks, hasLookup) {
		defer func() { c.looked(ctx, modfetch.KindList, res, err) }()
	}
	mkey, err := c.mutableKey(path, "@v/list")
	if err != nil {
		res = modfetch.CacheMiss
		return c.Next.List(ctx, path)
	}
	if data, ok := c.getMutable(ctx, mkey); ok {
		return strings.Fields(string(data)), nil
	}
	fkey := "list\x00" + path
	if err := c.rememberedNotFound(fkey); err != nil {
		return nil, err
	}
	list, err, joined := c.lists.Do(ctx, fkey, func(ctx context.Context) ([]string, error) {
		list, err := c.Next.List(ctx, path)
		if err != nil {
			c.noteError(fkey, err)
			return nil, err
		}
		var buf bytes.Buffer
		for _, v := range list {
			buf.WriteString(v)
			buf.WriteByte('\n')
		}
		c.putMutable(ctx, mkey, buf.Bytes())
		return list, nil
	})
	res = fetched(joined)
	if list == nil && err == nil {
		return []string{}, nil
	}
	return append([]string(nil), list...), err
}

// GoMod implements [modfetch.Resolver].
func (c *Cache) GoMod(ctx context.Context, path, version string) (_ []byte, err error) {
	c.init()
	res := modfetch.CacheHit
	if hooks.Any(ctx, c.Hooks, hasLookup) {
		defer func() { c.looked(ctx, modfetch.KindMod, res, err) }()
	}
	key, err := modfetch.VersionFile(path, version, "mod")
	if err != nil || !modfetch.IsCanonical(version) {
		res = modfetch.CacheMiss
		return c.Next.GoMod(ctx, path, version) // Next reports the bad input
	}
	if data, err := c.get(ctx, key, 64<<20); err == nil && !bytes.HasPrefix(data, []byte("//vgo 0.0.")) {
		return data, nil
	}
	fkey := "mod\x00" + path + "\x00" + version
	if err := c.rememberedNotFound(fkey); err != nil {
		return nil, err
	}
	data, err, joined := c.gomods.Do(ctx, fkey, func(ctx context.Context) ([]byte, error) {
		release, err := c.lockFetch(ctx, path, version, "mod")
		if err != nil {
			return nil, err
		}
		defer release()
		if c.Locker != nil {
			if data, err := c.get(ctx, key, 64<<20); err == nil && !bytes.HasPrefix(data, []byte("//vgo 0.0.")) {
				return data, nil // another process fetched it meanwhile
			}
		}
		data, err := c.Next.GoMod(ctx, path, version)
		if err != nil {
			c.noteError(fkey, err)
			return nil, err
		}
		c.put(ctx, key, data)
		return data, nil
	})
	res = fetched(joined)
	if err != nil {
		return nil, err
	}
	return append([]byte(nil), data...), nil
}

// Zip implements [modfetch.Resolver]. The reader of a stored zip is the
// Store's (an *os.File for a DirStore), wrapped so that it also knows the
// zip's hash recorded beside it (a modfetch.Summer) and unwraps to the
// Store's reader for its other abilities. A zip that is not stored yet is
// fetched, stored with its hash, and then read from Store.
func (c *Cache) Zip(ctx context.Context, path, version string) (_ io.ReadCloser, err error) {
	c.init()
	res := modfetch.CacheHit
	if hooks.Any(ctx, c.Hooks, hasLookup) {
		defer func() { c.looked(ctx, modfetch.KindZip, res, err) }()
	}
	key, err := modfetch.VersionFile(path, version, "zip")
	if err != nil || !modfetch.IsCanonical(version) {
		res = modfetch.CacheMiss
		return c.Next.Zip(ctx, path, version)
	}
	if rc := c.storedZip(ctx, key); rc != nil {
		return rc, nil
	}
	fkey := "zip\x00" + path + "\x00" + version
	if err := c.rememberedNotFound(fkey); err != nil {
		return nil, err
	}
	spare, err, joined := c.zips.Do(ctx, fkey, func(ctx context.Context) (*spareZip, error) {
		release, err := c.lockFetch(ctx, path, version, "zip")
		if err != nil {
			return nil, err
		}
		defer release()
		if c.Locker != nil {
			if rc := c.storedZip(ctx, key); rc != nil {
				rc.Close()
				return nil, nil // another process fetched it meanwhile
			}
		}
		return c.fetchZip(ctx, path, version, key, fkey)
	})
	res = fetched(joined)
	if err != nil {
		return nil, err
	}
	if rc := spare.reader(); rc != nil {
		return rc, nil
	}
	if rc := c.storedZip(ctx, key); rc != nil {
		return rc, nil
	}
	// The store could not keep the zip (or lost it at once): fetch it
	// again for this caller alone.
	return c.Next.Zip(ctx, path, version)
}

// storedZip returns the stored zip at key, or nil.
func (c *Cache) storedZip(ctx context.Context, key string) io.ReadCloser {
	rc, err := c.store.Get(ctx, key)
	if err != nil {
		return nil
	}
	return &storedZip{ReadCloser: rc, c: c, key: ziphashKey(key)}
}

// A storedZip is a zip read from the store. Its Sum reads the hash
// recorded beside it when asked, until it has found one.
type storedZip struct {
	io.ReadCloser
	c   *Cache
	key string // of the .ziphash

	mu  sync.Mutex
	sum string
}

// Sum implements modfetch.Summer: the h1: hash recorded beside the zip
// when it was stored, or "" if there is none (yet: the hash is stored
// just after the zip).
func (z *storedZip) Sum() string {
	z.mu.Lock()
	defer z.mu.Unlock()
	if z.sum == "" {
		// A small read from the store that has just answered; Sum has no
		// context of its own.
		data, err := z.c.get(context.Background(), z.key, 1<<10)
		if data = bytes.TrimSpace(data); err == nil && h1.ValidZiphash(data) {
			z.sum = string(data)
		}
	}
	return z.sum
}

// Unwrap returns the store's reader, for modfetch.As.
func (z *storedZip) Unwrap() io.Reader { return z.ReadCloser }

// fetchZip fetches Next's zip and stores it with its hash. An error is
// Next's; a failure to store is logged, and then the download itself is
// returned when it can feed more readers.
func (c *Cache) fetchZip(ctx context.Context, path, version, key, fkey string) (*spareZip, error) {
	rc, err := c.Next.Zip(ctx, path, version)
	if err != nil {
		c.noteError(fkey, err)
		return nil, err
	}
	defer rc.Close()
	// A download that can feed several readers (a verifying one) is kept
	// open, so that a failure to store it does not mean fetching it again.
	ro, multi := modfetch.As[modfetch.Reopener](rc)
	var spare io.ReadCloser
	if multi {
		spare = ro.NewReader()
	}
	// When every caller has left, the download is abandoned: closing its
	// readers ends a Read waiting for it (a store's Put reading it), and
	// Next's download with them, whatever pace the upstream keeps.
	abandon := context.AfterFunc(ctx, func() {
		rc.Close()
		if spare != nil {
			spare.Close()
		}
	})
	defer abandon()
	sum, srcErr, err := c.storeZip(ctx, key, rc)
	if err != nil {
		if spare != nil && srcErr == nil && ctx.Err() == nil {
			return newSpareZip(spare, ro.NewReader), nil
		}
		if spare != nil {
			spare.Close()
		}
		return nil, srcErr // Next failed mid-stream: nothing is stored
	}
	if spare != nil {
		spare.Close()
	}
	if sum != "" {
		// Even when every caller has left: a zip stored without its hash
		// would never get one (it is immutable, and not fetched again).
		c.put(context.WithoutCancel(ctx), ziphashKey(key), []byte(sum))
	}
	return nil, nil
}

// storeZip copies the zip r to the store under key, logging a failure,
// and returns its h1: hash: r's own (a verifying reader's, read to its
// end), else computed from the stored copy; "" if that cannot be read at
// random. srcErr is r's own failure, err the failure to store.
func (c *Cache) storeZip(ctx context.Context, key string, r io.Reader) (sum string, srcErr, err error) {
	src := &zipSource{r: r}
	if err := c.store.Put(ctx, key, src); err != nil {
		if src.err == nil && c.Logger != nil {
			c.Logger.Warn("cache write failed", "key", key, "error", err)
		}
		if src.err == nil {
			c.wrote(ctx, key, 0, err)
		}
		return "", src.err, err
	}
	c.wrote(ctx, key, src.n, nil)
	if s, ok := modfetch.As[modfetch.Summer](r); ok {
		sum = s.Sum()
	}
	if sum == "" {
		sum = c.hashStored(ctx, key)
	}
	return sum, nil, nil
}

// ziphashKey is the key of the .ziphash beside the .zip at key.
func ziphashKey(key string) string { return strings.TrimSuffix(key, ".zip") + ".ziphash" }

// hashStored computes the h1: hash of a stored zip, or "" if the store's
// reader cannot be read at random.
func (c *Cache) hashStored(ctx context.Context, key string) string {
	rc, err := c.store.Get(ctx, key)
	if err != nil {
		return ""
	}
	defer rc.Close()
	ra, ok1 := modfetch.As[io.ReaderAt](rc)
	st, ok2 := modfetch.As[modfetch.Stater](rc)
	if !ok1 || !ok2 {
		return ""
	}
	fi, err := st.Stat()
	if err != nil {
		return ""
	}
	h, err := h1.Zip(ra, fi.Size())
	if err != nil {
		return ""
	}
	return h
}

// A spareZip is an open reader of a download that the store could not
// keep, for the callers waiting for it: the first caller takes it, the
// others get new readers of the same download (nil once every reader of
// it is closed). If no caller takes it, it is closed when the spareZip is
// garbage.
type spareZip struct {
	h         *spareHolder
	newReader func() io.ReadCloser
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

func newSpareZip(spare io.ReadCloser, newReader func() io.ReadCloser) *spareZip {
	z := &spareZip{h: &spareHolder{r: spare}, newReader: newReader}
	runtime.AddCleanup(z, func(h *spareHolder) {
		if r := h.take(); r != nil {
			r.Close()
		}
	}, z.h)
	return z
}

// reader returns a reader of the download, or nil (also for a nil z).
func (z *spareZip) reader() io.ReadCloser {
	if z == nil {
		return nil
	}
	if r := z.h.take(); r != nil {
		return r
	}
	return z.newReader()
}

// Sum returns the h1: hash of path@version's zip recorded in the store
// (its .ziphash), or "" if there is none.
func (c *Cache) Sum(ctx context.Context, path, version string) string {
	c.init()
	key, err := modfetch.VersionFile(path, version, "ziphash")
	if err != nil {
		return ""
	}
	data, err := c.get(ctx, key, 1<<10)
	if err != nil {
		return ""
	}
	data = bytes.TrimSpace(data)
	if !h1.ValidZiphash(data) {
		return ""
	}
	return string(data)
}

// zipSource reads a zip from Next, failing once it is longer than
// modzip.MaxZipFile, and remembers the error of the reading (its source's
// or the limit's), to tell a failing source from a failing store.
type zipSource struct {
	r   io.Reader
	n   int64
	err error
}

func (s *zipSource) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	s.n += int64(n)
	if s.n > modzip.MaxZipFile {
		err = modfetch.ErrZipTooLarge
	}
	if err != nil && err != io.EOF {
		s.err = err
	}
	return n, err
}

// Try implements [modfetch.Walker]: when Next is a Walker (a GOPROXY
// chain, say), fn sees each of its alternatives behind a view of this
// cache that shares the store for immutable answers (.info of canonical
// versions, .mod, .zip) and keeps the alternative's own mutable ones
// (lists, latest, revisions), which differ between alternatives, for
// MutableTTL apart from the others': alternatives are told apart by
// their place in the walk (so while a breaker skips an entry, the next
// one's answers are kept in its place, for MutableTTL at most).
// Otherwise fn sees c.
func (c *Cache) Try(path string, fn func(modfetch.Resolver) error) error {
	c.init()
	w, ok := c.Next.(modfetch.Walker)
	if !ok {
		return fn(c)
	}
	i := 0
	return w.Try(path, func(r modfetch.Resolver) error {
		alt := "alt" + strconv.Itoa(i) + "/"
		i++
		return fn(&Cache{Next: r, Store: c.store, MutableTTL: c.MutableTTL, NotFoundTTL: -1, Logger: c.Logger, now: c.now, alt: alt})
	})
}

// Locks across processes.

// lockFetch takes the Locker's lock of path@version's file ext (the key
// of the value the caller fetches), waiting while another process holds
// it, and returns its release. Without a Locker, or with a failed one, it
// returns at once with nothing to release. It fails only when ctx ends.
func (c *Cache) lockFetch(ctx context.Context, path, version, ext string) (release func(), err error) {
	nothing := func() {}
	if c.Locker == nil || !c.lockerUsable() {
		return nothing, nil
	}
	key, err := modfetch.VersionFile(path, version, ext)
	if err != nil {
		return nothing, nil
	}
	wait := 10 * time.Millisecond
	for {
		l, err := c.Locker.TryLock(ctx, key)
		switch {
		case err == nil:
			c.lockerWorks()
			return func() {
				// Even when every caller has left: an unreleased lock
				// holds the other processes up until it expires.
				uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
				defer cancel()
				l.Unlock(uctx)
			}, nil
		case errors.Is(err, ErrLocked):
			c.lockerWorks()
		case ctx.Err() != nil:
			return nil, context.Cause(ctx)
		default:
			c.lockerFailed(err)
			return nothing, nil
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, context.Cause(ctx)
		}
		wait = min(2*wait, 250*time.Millisecond)
	}
}

func (c *Cache) lockerUsable() bool {
	c.lockerMu.Lock()
	defer c.lockerMu.Unlock()
	return !c.now().Before(c.lockerDownUntil)
}

// lockerFailed notes that the Locker failed: it is not asked again for
// LockerRetry.
func (c *Cache) lockerFailed(err error) {
	retry := cmpOr(c.LockerRetry, DefaultLockerRetry)
	c.lockerMu.Lock()
	c.lockerDownUntil = c.now().Add(retry)
	logIt := !c.lockerDown
	c.lockerDown = true
	c.lockerMu.Unlock()
	if logIt && c.Logger != nil {
		c.Logger.Warn("lock service unavailable: fetching without it, each process on its own", "error", err, "retry", retry)
	}
}

// lockerWorks notes that the Locker answered.
func (c *Cache) lockerWorks() {
	c.lockerMu.Lock()
	logIt := c.lockerDown
	c.lockerDown = false
	c.lockerMu.Unlock()
	if logIt && c.Logger != nil {
		c.Logger.Info("lock service back")
	}
}

// ZipURL returns a URL from which a client can GET path@version's zip
// straight from Store for expiry, when Store can sign URLs (a
// [URLSigner]) and holds the zip; otherwise an error (one for which
// errors.Is(err, fs.ErrNotExist) holds when the zip is not stored). Only
// stored zips are signed: above checksum.Verify, verified ones.
func (c *Cache) ZipURL(ctx context.Context, path, version string, expiry time.Duration) (*url.URL, error) {
	c.init()
	signer, ok := c.store.(URLSigner)
	if !ok {
		return nil, errors.ErrUnsupported
	}
	key, err := modfetch.VersionFile(path, version, "zip")
	if err != nil || !modfetch.IsCanonical(version) {
		return nil, &fs.PathError{Op: "sign", Path: path + "@" + version, Err: fs.ErrNotExist}
	}
	return signer.SignedURL(ctx, key, expiry) // fs.ErrNotExist when not stored
}
