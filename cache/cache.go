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
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/mod/module"
	modzip "golang.org/x/mod/zip"

	"github.com/modfetch/modfetch"
	"github.com/modfetch/modfetch/internal/background"
	"github.com/modfetch/modfetch/internal/flight"
	"github.com/modfetch/modfetch/internal/h1"
)

// Defaults for a Cache's zero fields.
const (
	DefaultMutableTTL  = time.Minute
	DefaultNotFoundTTL = 30 * time.Second
)

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
// Cache stores what Next returns, so put it above a verifying layer
// ([checksum.Verify]) to store only verified bytes. A failure to write
// Store is logged and the answer still returned.
//
// Stored keys follow the go command's $GOMODCACHE/cache/download layout
// (see DirStore): "<escaped path>/@v/<escaped version>.info", ".mod",
// ".zip" and ".ziphash" (the zip's h1: hash). Mutable answers live under
// "modfetch/", which can never be a module path, with the time they were
// fetched.
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

	// MemoryBytes bounds a memory tier in front of Store for small
	// answers (.info, .mod, lists), so that hot ones are served without
	// touching Store. Zero means 16 MiB (none when Store is nil, which is
	// already memory); a negative value disables it.
	MemoryBytes int64

	// WriteBehind returns fetched answers before they reach Store: they
	// are served from memory (or, for zips, from the verified local file)
	// while a background write stores them. Servers set it to keep
	// storage latency out of cold requests. When false, an answer is in
	// Store when the call returns (the go command's behaviour, which tools
	// that read the module cache afterwards rely on).
	WriteBehind bool

	// Logger, if set, receives failures to write Store.
	Logger *slog.Logger

	now func() time.Time // test hook

	once        sync.Once
	store       Store
	mem         *MemStore
	bg          *background.Group // write-behind writes
	mu          sync.Mutex
	notFound    map[string]notFoundEntry
	pending     map[string]*pendingValue // small values being written behind
	pendingZips map[string]*pendingZip   // zips being written behind

	infos  flight.Group[string, *modfetch.Info]
	lists  flight.Group[string, []string]
	gomods flight.Group[string, []byte]
	zips   flight.Group[string, *pendingZip]
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
		} else if c.MemoryBytes >= 0 {
			limit := c.MemoryBytes
			if limit == 0 {
				limit = 16 << 20
			}
			c.mem = &MemStore{MaxBytes: limit}
		}
		c.bg = background.New(maxBackground)
		if c.now == nil {
			c.now = time.Now
		}
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

func mutableKey(path, what string) (string, error) {
	enc, err := module.EscapePath(path)
	if err != nil {
		return "", err
	}
	return "modfetch/" + enc + "/" + what, nil
}

// Not-found memory.

func (c *Cache) rememberedNotFound(key string) error {
	if c.notFoundTTL() < 0 {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.notFound[key]
	if !ok {
		return nil
	}
	if c.now().After(e.until) {
		delete(c.notFound, key)
		return nil
	}
	return e.err
}

func (c *Cache) noteError(key string, err error) {
	if err == nil || c.notFoundTTL() < 0 || !errors.Is(err, fs.ErrNotExist) {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.notFound == nil {
		c.notFound = make(map[string]notFoundEntry)
	}
	// Keep the map bounded: drop expired entries when it grows.
	if len(c.notFound) >= 4096 {
		now := c.now()
		for k, e := range c.notFound {
			if now.After(e.until) {
				delete(c.notFound, k)
			}
		}
		if len(c.notFound) >= 4096 {
			for k := range c.notFound {
				delete(c.notFound, k)
				break
			}
		}
	}
	c.notFound[key] = notFoundEntry{err: err, until: c.now().Add(c.notFoundTTL())}
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
// keeps it (Info.Clean).
func encodeInfo(info *modfetch.Info) []byte {
	data, _ := json.Marshal(info.Clean())
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
	c.put(ctx, key, encodeInfo(info))
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
func (c *Cache) Stat(ctx context.Context, path, rev string) (*modfetch.Info, error) {
	c.init()
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
		mkey, err = mutableKey(path, "@v/"+erev+".info")
		if err != nil {
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
	info, err, _ := c.infos.Do(ctx, fkey, func(ctx context.Context) (*modfetch.Info, error) {
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
			c.putMutable(ctx, mkey, encodeInfo(info))
		}
		return info, nil
	})
	return copyInfo(info), err
}

// Latest implements [modfetch.Resolver].
func (c *Cache) Latest(ctx context.Context, path string) (*modfetch.Info, error) {
	c.init()
	mkey, err := mutableKey(path, "@latest")
	if err != nil {
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
	info, err, _ := c.infos.Do(ctx, fkey, func(ctx context.Context) (*modfetch.Info, error) {
		info, err := c.Next.Latest(ctx, path)
		if err != nil {
			c.noteError(fkey, err)
			return nil, err
		}
		if modfetch.IsCanonical(info.Version) {
			c.ensureInfo(ctx, path, info)
		}
		c.putMutable(ctx, mkey, encodeInfo(info))
		return info, nil
	})
	return copyInfo(info), err
}

// List implements [modfetch.Resolver].
func (c *Cache) List(ctx context.Context, path string) ([]string, error) {
	c.init()
	mkey, err := mutableKey(path, "@v/list")
	if err != nil {
		return c.Next.List(ctx, path)
	}
	if data, ok := c.getMutable(ctx, mkey); ok {
		return strings.Fields(string(data)), nil
	}
	fkey := "list\x00" + path
	if err := c.rememberedNotFound(fkey); err != nil {
		return nil, err
	}
	list, err, _ := c.lists.Do(ctx, fkey, func(ctx context.Context) ([]string, error) {
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
	if list == nil && err == nil {
		return []string{}, nil
	}
	return append([]string(nil), list...), err
}

// GoMod implements [modfetch.Resolver].
func (c *Cache) GoMod(ctx context.Context, path, version string) ([]byte, error) {
	c.init()
	key, err := modfetch.VersionFile(path, version, "mod")
	if err != nil || !modfetch.IsCanonical(version) {
		return c.Next.GoMod(ctx, path, version) // Next reports the bad input
	}
	if data, err := c.get(ctx, key, 64<<20); err == nil && !bytes.HasPrefix(data, []byte("//vgo 0.0.")) {
		return data, nil
	}
	fkey := "mod\x00" + path + "\x00" + version
	if err := c.rememberedNotFound(fkey); err != nil {
		return nil, err
	}
	data, err, _ := c.gomods.Do(ctx, fkey, func(ctx context.Context) ([]byte, error) {
		data, err := c.Next.GoMod(ctx, path, version)
		if err != nil {
			c.noteError(fkey, err)
			return nil, err
		}
		c.put(ctx, key, data)
		return data, nil
	})
	if err != nil {
		return nil, err
	}
	return append([]byte(nil), data...), nil
}

// Zip implements [modfetch.Resolver]. A stored zip is returned as the
// Store's reader (an *os.File for a DirStore); with WriteBehind, a zip
// still being stored is read from its verified local file.
func (c *Cache) Zip(ctx context.Context, path, version string) (io.ReadCloser, error) {
	c.init()
	key, err := modfetch.VersionFile(path, version, "zip")
	if err != nil || !modfetch.IsCanonical(version) {
		return c.Next.Zip(ctx, path, version)
	}
	if rc := c.pendingZipReader(key); rc != nil {
		return rc, nil
	}
	if rc, err := c.store.Get(ctx, key); err == nil {
		return rc, nil
	}
	fkey := "zip\x00" + path + "\x00" + version
	if err := c.rememberedNotFound(fkey); err != nil {
		return nil, err
	}
	p, err, _ := c.zips.Do(ctx, fkey, func(ctx context.Context) (*pendingZip, error) {
		return c.fetchZip(ctx, path, version, key, fkey)
	})
	if err != nil {
		return nil, err
	}
	if p != nil {
		if rc := p.reader(); rc != nil {
			return rc, nil
		}
	}
	if rc := c.pendingZipReader(key); rc != nil {
		return rc, nil
	}
	if rc, err := c.store.Get(ctx, key); err == nil {
		return rc, nil
	}
	// The store could not keep the zip (or lost it at once): fetch it
	// again for this caller alone.
	return c.Next.Zip(ctx, path, version)
}

// fetchZip fetches Next's zip and stores it with its hash — in the
// background with WriteBehind, returning the pending zip. An error is
// Next's; a failure to store is logged.
func (c *Cache) fetchZip(ctx context.Context, path, version, key, fkey string) (*pendingZip, error) {
	rc, err := c.Next.Zip(ctx, path, version)
	if err != nil {
		c.noteError(fkey, err)
		return nil, err
	}
	if c.WriteBehind {
		return c.keepZipBehind(ctx, rc, key)
	}
	defer rc.Close()
	// A download that can feed several readers (a verifying one) is kept
	// open, so that a failure to store it does not mean fetching it again.
	ns, multi := rc.(multiReader)
	var spare io.ReadCloser
	if multi {
		spare = ns.NewReader()
	}
	sum, srcErr, err := c.storeZip(ctx, key, rc, nil, 0)
	if err != nil {
		if spare != nil && srcErr == nil && ctx.Err() == nil {
			return sparePending(spare, ns.NewReader), nil
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
		c.put(ctx, ziphashKey(key), []byte(sum))
	}
	return nil, nil
}

// A multiReader is a zip download that can feed several readers at once
// (checksum.Verify's): NewReader opens another, or returns nil once every
// reader is closed.
type multiReader interface {
	NewReader() io.ReadCloser
}

// storeZip copies the zip r to the store under key, logging a failure,
// and returns its h1: hash: r's own Sum when it has one (a verifying
// reader, read to its end), else computed from local (a local copy of
// size bytes) when given, else from the stored copy; "" if none can be
// read at random. srcErr is r's own failure, err the failure to store.
func (c *Cache) storeZip(ctx context.Context, key string, r io.Reader, local io.ReaderAt, size int64) (sum string, srcErr, err error) {
	src := &zipSource{r: r}
	if err := c.store.Put(ctx, key, src); err != nil {
		if src.err == nil && c.Logger != nil {
			c.Logger.Warn("cache write failed", "key", key, "error", err)
		}
		return "", src.err, err
	}
	if s, ok := r.(interface{ Sum() string }); ok {
		sum = s.Sum()
	}
	if sum == "" && local != nil {
		sum, _ = h1.Zip(local, size)
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
	ra, ok1 := rc.(io.ReaderAt)
	st, ok2 := rc.(interface{ Stat() (fs.FileInfo, error) })
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
// versions, .mod, .zip) but keeps no mutable ones (lists, latest,
// revisions), which differ between alternatives. Otherwise fn sees c.
func (c *Cache) Try(path string, fn func(modfetch.Resolver) error) error {
	c.init()
	w, ok := c.Next.(modfetch.Walker)
	if !ok {
		return fn(c)
	}
	return w.Try(path, func(r modfetch.Resolver) error {
		return fn(&Cache{Next: r, Store: c.store, MutableTTL: -1, NotFoundTTL: -1, MemoryBytes: -1, Logger: c.Logger, now: c.now})
	})
}
