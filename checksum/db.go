package checksum

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/mod/module"
	"golang.org/x/mod/sumdb"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/modfetch/modfetch"
	"github.com/modfetch/modfetch/cache"
	"github.com/modfetch/modfetch/internal/flight"
	"github.com/modfetch/modfetch/internal/lockedfile"
	"github.com/modfetch/modfetch/internal/lru"
	"github.com/modfetch/modfetch/internal/web"
)

// SumGolangOrg is the verifier key of the Go checksum database, built into
// the go command (cmd/go/internal/modfetch/key.go).
const SumGolangOrg = "sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8"

// knownKeys maps database names to their built-in verifier keys.
var knownKeys = map[string]string{"sum.golang.org": SumGolangOrg}

// ParseGOSUMDB parses a GOSUMDB value the way the go command does
// (cmd/go/internal/modfetch: dbDial) and returns a DB with Key and URL set,
// or nil and a nil error for "off". Accepted forms:
//
//	sum.golang.org                 a known name: the built-in key
//	name+hash+key                  a verifier key (see golang.org/x/mod/sumdb/note)
//	name+hash+key https://url      a key and the URL to reach the database
//	sum.golang.google.cn           sum.golang.org through https://sum.golang.google.cn
//	off                            no checksum database
//
// Errors use the go command's texts: "missing GOSUMDB", "invalid GOSUMDB:
// too many fields", "invalid GOSUMDB: malformed verifier id", "invalid
// sumdb name (must be host[/path]): ...".
func ParseGOSUMDB(gosumdb string) (*DB, error) {
	if gosumdb == "sum.golang.google.cn" {
		gosumdb = "sum.golang.org https://sum.golang.google.cn"
	}
	if gosumdb == "off" {
		return nil, nil
	}
	f := strings.Fields(gosumdb)
	if len(f) >= 1 {
		if k := knownKeys[f[0]]; k != "" {
			f[0] = k
		}
	}
	if len(f) == 0 {
		return nil, errors.New("missing GOSUMDB")
	}
	if len(f) > 2 {
		return nil, errors.New("invalid GOSUMDB: too many fields")
	}
	v, err := note.NewVerifier(f[0])
	if err != nil {
		return nil, fmt.Errorf("invalid GOSUMDB: %v", err)
	}
	name := v.Name()
	direct, err := url.Parse("https://" + name)
	if err != nil || strings.HasSuffix(name, "/") || *direct != (url.URL{Scheme: "https", Host: direct.Host, Path: direct.Path, RawPath: direct.RawPath}) || direct.RawPath != "" || direct.Host == "" {
		return nil, fmt.Errorf("invalid sumdb name (must be host[/path]): %s", name)
	}
	db := &DB{Key: f[0]}
	if len(f) == 2 {
		u, err := url.Parse(f[1])
		if err != nil {
			return nil, fmt.Errorf("invalid GOSUMDB URL: %v", err)
		}
		db.URL = u.String()
	}
	return db, nil
}

// A DB is a client of a checksum database such as sum.golang.org, built on
// golang.org/x/mod/sumdb.Client: every answer is authenticated against the
// database's signed tree, and each new signed tree must extend the latest
// one seen, across runs when StateDir is set, so a database that forks or
// rolls back is detected.
//
// Set the exported fields before the first Lookup and do not change them
// afterwards. A DB is safe for concurrent use.
type DB struct {
	// Key is the database's verifier key, "name+hash+base64key" (see
	// ParseGOSUMDB for the forms of GOSUMDB).
	Key string

	// URL is the base URL to reach the database at, bypassing proxies (the
	// optional second field of GOSUMDB). Empty means FindURL decides.
	URL string

	// FindURL, used when URL is empty, returns the base URL of a proxy that
	// serves the database (such as (*upstream.Chain).SumDBURL), or "" to
	// reach it directly at https://<name>. It is called when the first
	// remote read is needed. A proxy's URL is kept for the DB's lifetime;
	// "" (no proxy serves the database) is kept for only DirectRecheck, so
	// that a proxy that answered 404 once, or that failed and was fallen
	// back from, is asked again; an error is returned, not kept, and the
	// next remote read asks again. DirectRecheck says how this differs
	// from the go command, and why.
	FindURL func(ctx context.Context, name string) (string, error)

	// Client sends requests; nil means a client like http.DefaultClient.
	Client *http.Client

	// Store keeps the lookups and tiles the DB has authenticated, under
	// "sumdb/<name>/lookup/<escaped path>@<escaped version>" and
	// "sumdb/<name>/tile/...": the go command's layout below
	// $GOMODCACHE/cache/download, so a cache.DirStore there shares the go
	// command's cache, and a store shared by several servers (an object
	// store) shares what each has authenticated. Nil means a
	// &cache.MemStore{MaxBytes: 16 << 20}. A failure to write Store is
	// logged.
	Store cache.Store

	// StateDir keeps the latest signed tree head of each database: the go
	// command uses $GOPATH/pkg/sumdb. Empty means it is kept in memory, so
	// forks and rollbacks are detected only within this DB's lifetime.
	StateDir string

	// NoSumDB is the GONOSUMDB value (by default GOPRIVATE): module paths
	// it matches are never looked up (patterns as in
	// module.MatchPrefixPatterns); Lookup and Record refuse them with a
	// not-found error that says so, without a request.
	NoSumDB string

	// Logger, if set, receives the database client's log messages.
	Logger *slog.Logger

	timer web.Timer // test hook: the retry clock

	initOnce sync.Once
	name     string
	initErr  error
	web      web.Client

	mu        sync.Mutex
	base      string     // resolved base URL, "" until found
	baseUntil time.Time  // when base (the direct URL FindURL chose) must be found again; zero: never
	client    *clientOps // current client generation
	uses      int        // lookups done by client
	store     cache.Store
	latest    []byte      // latest tree when StateDir is empty
	secMsg    string      // last security report
	failed    atomic.Bool // secMsg is set

	verifier      note.Verifier
	vouched       lru.Cache[string, [sha256.Size]byte] // hashes of values served or kept as verified, by store key
	verifiedTiles lru.Cache[tlog.Tile, int]            // widest width authenticated, by tile
	wideTiles     lru.Cache[tlog.Tile, []byte]         // wider tiles read for narrower reads, unauthenticated
	maxTree       int64                                // largest tree seen signed
	lookupSeq     uint64                               // lookup answers started
	lookupsBusy   map[uint64]bool                      // lookup answers being read
	lookupDone    chan struct{}                        // closed when one has been read
	tileWait      time.Duration                        // test hook: maxTileWait if zero
	onTileWait    func()                               // test hook: called when widest starts to wait

	lookups flight.Group[string, []string]
	bases   flight.Group[string, string]
	tiles   flight.Group[string, []byte]
}

// Skip reports whether NoSumDB keeps path from the database.
func (db *DB) Skip(path string) bool {
	return module.MatchPrefixPatterns(db.NoSumDB, path)
}

// errSkipped is x/mod's text for a module NoSumDB matches; it is not
// found, as far as the database is concerned.
var errSkipped = modfetch.NotExist(sumdb.ErrGONOSUMDB)

// notNotFound is an error that is not fs.ErrNotExist although its cause
// is; errors.As still reaches the cause (an *modfetch.HTTPError, say).
type notNotFound struct{ err error }

func (e notNotFound) Error() string      { return e.err.Error() }
func (e notNotFound) As(target any) bool { return errors.As(e.err, target) }

// clientLifetime is the number of lookups after which a fresh
// sumdb.Client replaces the current one, bounding the memory its caches
// hold in a long-running process.
const clientLifetime = 1024

func (db *DB) init() error {
	db.initOnce.Do(func() {
		v, err := note.NewVerifier(db.Key)
		if err != nil {
			db.initErr = fmt.Errorf("invalid checksum database key: %v", err)
			return
		}
		db.name = v.Name()
		db.verifier = v
		db.web = web.Client{HTTP: db.Client, Timer: db.timer}
		db.store = db.Store
		if db.store == nil {
			db.store = &cache.MemStore{MaxBytes: 16 << 20}
		}
		db.verifiedTiles.MaxCost = maxTileBooks
		db.verifiedTiles.Cost = func(tlog.Tile, int) int64 { return tileBookCost }
		db.vouched.MaxCost = maxVouchedBytes
		db.vouched.Cost = func(key string, _ [sha256.Size]byte) int64 { return int64(len(key)) + tileBookCost }
		db.wideTiles.MaxCost = maxWideTileBytes
		db.wideTiles.Cost = func(_ tlog.Tile, data []byte) int64 { return int64(len(data)) + tileBookCost }
	})
	return db.initErr
}

// Name returns the database's name, taken from its key ("" if the key is
// invalid).
func (db *DB) Name() string {
	db.init()
	return db.name
}

// Lookup returns the go.sum lines the database records for path@version
// ("path version h1:..."); when version ends in "/go.mod", the go.mod
// file's lines. Errors carry the module's context. A misbehaving database
// (its signed tree does not extend the one seen before) is a
// *SecurityError (errors.Is(err, ErrSecurity)), and from then on every
// Lookup of this DB fails with it.
func (db *DB) Lookup(ctx context.Context, path, version string) ([]string, error) {
	if err := db.init(); err != nil {
		return nil, err
	}
	if db.Skip(path) {
		return nil, &module.ModuleError{Path: path, Version: version, Err: errSkipped}
	}
	// x/mod's client takes no context: the lookup runs detached, bounded
	// by the HTTP layer's retry and idle limits, and the caller's ctx bounds
	// only the wait. The client shares one remote read between the zip and
	// go.mod lines of a version.
	lines, err, _ := db.lookups.Do(ctx, path+"@"+version, func(context.Context) ([]string, error) {
		if err := db.securityError(); err != nil {
			return nil, err
		}
		gen := db.currentClient()
		lines, err := gen.client.Lookup(path, version)
		if err != nil {
			// x/mod's client wraps errors with %v: learn of a security
			// error from the SecurityError callback instead.
			if serr := db.securityError(); serr != nil {
				return nil, serr
			}
			// x/mod's client remembers failed lookups; start afresh next time.
			db.dropClient(gen)
			if remote := gen.lookupError(path, version); remote != nil {
				err = &lookupError{msg: err.Error(), remote: remote}
			}
		}
		return lines, err
	})
	return lines, err
}

// A lookupError is x/mod's text for a failed lookup, wrapping the remote
// read's error that the text describes (an *modfetch.HTTPError, a
// network error).
type lookupError struct {
	msg    string
	remote error
}

func (e *lookupError) Error() string { return e.msg }
func (e *lookupError) Unwrap() error { return e.remote }

// securityError returns the misbehavior report, once there is one: like
// the go command, which exits, the DB refuses every later lookup.
func (db *DB) securityError() error {
	db.mu.Lock()
	defer db.mu.Unlock()
	if db.secMsg == "" {
		return nil
	}
	return &SecurityError{DB: db.name, Msg: db.secMsg}
}

// currentClient returns the current client generation, starting a new
// one when there is none or the current one is worn out.
func (db *DB) currentClient() *clientOps {
	db.mu.Lock()
	defer db.mu.Unlock()
	if db.client == nil || db.uses >= clientLifetime {
		ops := &clientOps{db: db}
		ops.client = sumdb.NewClient(ops)
		db.client = ops
		db.uses = 0
	}
	db.uses++
	return db.client
}

func (db *DB) dropClient(gen *clientOps) {
	db.mu.Lock()
	defer db.mu.Unlock()
	if db.client == gen {
		db.client = nil
		// One of the unauthenticated wide tiles may be why gen failed.
		db.wideTiles.RemoveIf(func(tlog.Tile, []byte) bool { return true })
	}
}

// Check looks path@version up and checks hash against the database's
// record of the zip (or of the go.mod file when goMod is true). A
// different record is a *MismatchError; a record without the line is a
// *MismatchError with an empty Want. A database that does not know the
// version at all (Lookup's error is not found) is an error that is not
// not-found itself: the version exists but cannot be verified.
func (db *DB) Check(ctx context.Context, path, version string, goMod bool, hash string) error {
	v := version
	if goMod {
		v += "/go.mod"
	}
	lines, err := db.Lookup(ctx, path, v)
	if err != nil {
		noun := "module"
		if goMod {
			noun = "go.mod"
		}
		if errors.Is(err, fs.ErrNotExist) {
			// The database has no record: the version cannot be
			// verified, which is a failure, not "no such version".
			err = notNotFound{err}
		}
		return &module.ModuleError{Path: path, Version: version, Err: fmt.Errorf("verifying %s: %w", noun, err)}
	}
	have := path + " " + v + " " + hash
	prefix := path + " " + v + " h1:"
	for _, line := range lines {
		if line == have {
			return nil
		}
		if strings.HasPrefix(line, prefix) {
			return &MismatchError{Path: path, Version: version, GoMod: goMod, Got: hash, Want: line[len(prefix)-len("h1:"):], Source: db.name, DB: true}
		}
	}
	return &MismatchError{Path: path, Version: version, GoMod: goMod, Got: hash, Source: db.name, DB: true}
}

// ReadRemote reads path ("/lookup/..." or "/tile/...", or "/latest" and
// "/supported") from the database, through the proxy FindURL found when
// there is one. The answer is not authenticated: callers that serve it on
// (a proxy's /sumdb/ endpoint) leave authentication to their clients.
func (db *DB) ReadRemote(ctx context.Context, path string) ([]byte, error) {
	if err := db.init(); err != nil {
		return nil, err
	}
	base, err := db.baseURL(ctx)
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(strings.TrimSuffix(base, "/") + path)
	if err != nil {
		return nil, err
	}
	return db.web.GetBytes(ctx, u, 4<<20)
}

// Record returns the database's answer to /lookup/<path>@<version>
// (version without "/go.mod") — the record and the signed tree head it was
// authenticated against — after authenticating it like Lookup does. A
// proxy serves it to its clients, who authenticate it again. verified
// reports whether data is the authenticated answer itself; it is false
// when that answer was no longer kept (its Store evicted it) and
// data was read from the database again, as is.
func (db *DB) Record(ctx context.Context, path, version string) (data []byte, verified bool, err error) {
	if _, err := db.Lookup(ctx, path, version); err != nil {
		return nil, false, err
	}
	rp, err := lookupPath(path, version)
	if err != nil {
		return nil, false, err
	}
	if data, err := db.readCache(db.name + rp); err == nil {
		db.vouch(db.name+rp, data)
		return data, true, nil
	}
	data, err = db.ReadRemote(ctx, rp)
	return data, false, err
}

// Misbehaved reports whether the database has been caught misbehaving
// (see ErrSecurity): from then on the DB refuses every lookup, and
// nothing it vouched for before should be served either.
func (db *DB) Misbehaved() bool {
	return db.failed.Load()
}

// maxVouchedBytes bounds the memory of the DB's record of what it vouched
// for.
const maxVouchedBytes = 1 << 20

// vouch records that data is the verified value of file ("<name>/lookup/...",
// "<name>/tile/...").
func (db *DB) vouch(file string, data []byte) {
	db.vouched.Add("sumdb/"+file, sha256.Sum256(data))
}

// Vouches reports whether data is a value this DB has, in this process,
// kept or served as verified (a lookup or tile it authenticated, see
// Record and Tile) under the store key ("sumdb/<name>/lookup/...",
// "sumdb/<name>/tile/..."), and the DB has seen no misbehavior. A server
// that keeps the DB's Store in memory uses it before serving a value from
// there, so that it serves nothing the DB would not.
func (db *DB) Vouches(key string, data []byte) bool {
	if db.init() != nil || db.Misbehaved() {
		return false
	}
	sum, ok := db.vouched.Get(key)
	return ok && sum == sha256.Sum256(data)
}

// Tile returns the tile at tilePath ("8/0/x001/234", "8/1/000.p/5", as in
// /tile/<tilePath>). verified reports whether it came from the tiles this
// DB authenticated, or is a prefix of a wider one it authenticated, so
// that a proxy's clients, whose trees may be smaller than the DB's, read
// no tile the DB has read; otherwise it was read from the database as is,
// for the caller's client to authenticate, and is not kept.
func (db *DB) Tile(ctx context.Context, tilePath string) (data []byte, verified bool, err error) {
	if err := db.init(); err != nil {
		return nil, false, err
	}
	t, terr := tlog.ParseTilePath("tile/" + tilePath)
	if data, err := db.readCache(db.name + "/tile/" + tilePath); err == nil && (terr != nil || t.L < 0 || len(data) == t.W*tlog.HashSize) {
		db.vouch(db.name+"/tile/"+tilePath, data)
		return data, true, nil
	}
	if terr == nil && t.L >= 0 {
		if data, _ := db.heldTile(t, true); data != nil {
			return data, true, nil
		}
	}
	data, err = db.ReadRemote(ctx, "/tile/"+tilePath)
	return data, false, err
}

// DirectRecheck is how long a DB whose FindURL answered "" (no proxy
// serves the database: every proxy answered 404 or 410 to
// /sumdb/<name>/supported, or failed and was fallen back from after a
// "|") reaches the database directly before it calls FindURL again. It is
// the cache package's DefaultNotFoundTTL: a not-found answer is
// remembered briefly.
//
// Here a DB differs from the go command, which finds how to reach the
// database once per run (cmd/go/internal/modfetch: dbClient.initBase,
// under a sync.Once) and keeps whatever it found, the direct URL and a
// failure included: a command runs for seconds and asks again on its next
// run. A DB lives as long as a server, so it keeps for good only what a
// restart would find again: a proxy that answered 200 (from which, like
// the go command and the checksum database design, it never falls back
// to a direct connection), URL, or the direct URL when FindURL is nil.
// Were a "" kept for good, one 404 or one fallen-back failure of a
// proxy's /supported would send every later read, for the life of the
// process, to https://<name>: a host the operator did not choose, and
// one that fails every verification where the database is reachable only
// through the proxy. A FindURL error is not kept at all (errors are never
// cached): that read fails and the next one asks again.
const DirectRecheck = cache.DefaultNotFoundTTL

// now returns the time on the DB's clock (the test hook's, if set).
func (db *DB) now() time.Time {
	if db.timer != nil {
		return db.timer.Now()
	}
	return time.Now()
}

// baseURL finds the database's base URL like the go command's initBase:
// URL if set; else the proxy URL FindURL returns; else, when FindURL is
// nil or answers "", the direct URL https://<name>, which is found again
// after DirectRecheck when it came from FindURL (see DirectRecheck).
func (db *DB) baseURL(ctx context.Context) (string, error) {
	db.mu.Lock()
	base, until := db.base, db.baseUntil
	db.mu.Unlock()
	if base != "" && (until.IsZero() || db.now().Before(until)) {
		return base, nil
	}
	// Concurrent reads (a zip's and a go.mod's lookups, say) share one
	// search.
	base, err, _ := db.bases.Do(ctx, "", func(ctx context.Context) (string, error) {
		base, until := "", time.Time{}
		switch {
		case db.URL != "":
			base = db.URL
		case db.FindURL != nil:
			b, err := db.FindURL(ctx, db.name)
			if err != nil {
				return "", err
			}
			base = b
			if base == "" {
				until = db.now().Add(DirectRecheck)
			}
		}
		if base == "" {
			base = "https://" + db.name
		}
		db.mu.Lock()
		changed := db.base != base
		db.base, db.baseUntil = base, until
		db.mu.Unlock()
		if changed && db.Logger != nil {
			shown := base
			if u, err := url.Parse(base); err == nil {
				shown = u.Redacted() // a proxy URL may carry a password
			}
			db.Logger.Info("reaching the checksum database", "db", db.name, "url", shown)
		}
		return base, nil
	})
	return base, err
}

// clientOps is one generation of the DB's x/mod client, and implements
// its sumdb.ClientOps. Its methods take no context: remote reads are
// bounded by the HTTP layer's retry and idle limits.
type clientOps struct {
	db     *DB
	client *sumdb.Client

	// failed holds the failures of this generation's /lookup/ reads
	// (path -> error): HTTP answers and network errors alike. x/mod's
	// client remembers a failed lookup for its lifetime and flattens its
	// error to text; failed lets Lookup say again, for errors.Is and
	// errors.As, what the failure was (a 404 is not found, a refused
	// connection syscall.ECONNREFUSED).
	failed sync.Map
}

func (o *clientOps) context() context.Context { return context.Background() }

func (o *clientOps) ReadRemote(path string) ([]byte, error) {
	if strings.HasPrefix(path, "/tile/") {
		return o.db.readTile(o.context(), path)
	}
	if !strings.HasPrefix(path, "/lookup/") {
		return o.db.ReadRemote(o.context(), path)
	}
	id := o.db.lookupStarted()
	data, err := o.db.ReadRemote(o.context(), path)
	o.db.lookupEnded(id, data)
	if err != nil {
		o.failed.Store(path, err)
	}
	return data, err
}

// lookupError returns the failure of this generation's read of
// path@version's record (version may end in "/go.mod"), or nil.
func (o *clientOps) lookupError(path, version string) error {
	rp, err := lookupPath(path, strings.TrimSuffix(version, "/go.mod"))
	if err != nil {
		return nil
	}
	if err, ok := o.failed.Load(rp); ok {
		return err.(error)
	}
	return nil
}

// lookupPath is the database path of path@version's record,
// "/lookup/<escaped path>@<escaped version>".
func lookupPath(path, version string) (string, error) {
	em, err := modfetch.EscapeModule(path, version)
	if err != nil {
		return "", err
	}
	return "/lookup/" + em, nil
}

func (o *clientOps) ReadConfig(file string) ([]byte, error) {
	db := o.db
	if file == "key" {
		return []byte(db.Key), nil
	}
	if db.StateDir == "" {
		db.mu.Lock()
		defer db.mu.Unlock()
		return append([]byte(nil), db.latest...), nil
	}
	data, err := lockedfile.Read(o.context(), filepath.Join(db.StateDir, filepath.FromSlash(file)))
	if errors.Is(err, fs.ErrNotExist) {
		return []byte{}, nil // an empty tree, the first time
	}
	return data, err
}

func (o *clientOps) WriteConfig(file string, old, new []byte) error {
	db := o.db
	if file == "key" {
		return errors.New("cannot write key")
	}
	if db.StateDir == "" {
		db.mu.Lock()
		defer db.mu.Unlock()
		if len(db.latest) > 0 && !bytes.Equal(db.latest, old) {
			return sumdb.ErrWriteConflict
		}
		db.latest = append([]byte(nil), new...)
		return nil
	}
	name := filepath.Join(db.StateDir, filepath.FromSlash(file))
	if err := os.MkdirAll(filepath.Dir(name), 0o777); err != nil {
		return err
	}
	f, err := lockedfile.Edit(o.context(), name)
	if err != nil {
		return err
	}
	defer f.Close()
	data, err := io.ReadAll(f)
	if err != nil {
		return err
	}
	if len(data) > 0 && !bytes.Equal(data, old) {
		return sumdb.ErrWriteConflict
	}
	if _, err := f.Seek(0, 0); err != nil {
		return err
	}
	if err := f.Truncate(0); err != nil {
		return err
	}
	if _, err := f.Write(new); err != nil {
		return err
	}
	return f.Close()
}

func (o *clientOps) ReadCache(file string) ([]byte, error) {
	return o.db.readCache(file)
}

// maxCacheValue bounds a lookup or tile read from the store.
const maxCacheValue = 1 << 20

// readCache reads a verified lookup or tile ("<name>/lookup/...",
// "<name>/tile/...") from the store. An empty value is missing: the go
// command creates its cache files before it writes them under a lock.
func (db *DB) readCache(file string) ([]byte, error) {
	// x/mod's client gives no context.
	data, err := cache.ReadValue(context.Background(), db.store, "sumdb/"+file, maxCacheValue)
	if err == nil && len(data) == 0 {
		err = &fs.PathError{Op: "read", Path: "sumdb/" + file, Err: fs.ErrNotExist}
	}
	return data, err
}

func (o *clientOps) WriteCache(file string, data []byte) {
	db := o.db
	if strings.HasPrefix(file, db.name+"/tile/") {
		db.keptTile(file)
	}
	db.vouch(file, data)
	if err := db.store.Put(context.Background(), "sumdb/"+file, bytes.NewReader(data)); err != nil && db.Logger != nil {
		db.Logger.Warn("writing checksum database cache", "key", "sumdb/"+file, "error", err)
	}
}

func (o *clientOps) Log(msg string) {
	if o.db.Logger != nil {
		o.db.Logger.Debug(msg, "db", o.db.name)
	}
}

func (o *clientOps) SecurityError(msg string) {
	o.db.mu.Lock()
	o.db.secMsg = msg
	o.db.failed.Store(true)
	o.db.mu.Unlock()
	if o.db.Logger != nil {
		o.db.Logger.Error("checksum database misbehavior", "db", o.db.name, "report", msg)
	}
}
