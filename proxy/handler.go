package proxy

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/mod/module"

	"github.com/modfetch/modfetch"
	"github.com/modfetch/modfetch/cache"
	"github.com/modfetch/modfetch/checksum"
)

// Default Cache-Control lifetimes.
const (
	DefaultMutableMaxAge  = time.Minute
	DefaultNotFoundMaxAge = time.Minute
)

// A Handler serves a [modfetch.Resolver] over the GOPROXY protocol, and
// checksum databases under /sumdb/. Mount it at the root of a server, or
// under a prefix with http.StripPrefix.
//
// Paths are parsed strictly: module paths and versions must be escaped as
// the protocol says ("!" for capitals; %21 and other percent-escapes are
// decoded first), .mod and .zip need canonical versions. Anything the
// Handler cannot supply — a malformed request, a module or version the
// Resolver does not find, a module kept private — is a 404, so that
// clients' GOPROXY "," chains fall through; 502 is reserved for failures of
// what is behind it (an upstream error, a checksum mismatch). Error bodies
// are short text/plain explanations without credentials or URL queries.
//
// Answers carry Cache-Control: a year and "immutable" for the .info, .mod
// and .zip of canonical versions and for verified checksum database data,
// MutableMaxAge for lists, @latest and revisions, NotFoundMaxAge for 404s,
// no-store for failures. Zips are served with Range, ETag and conditional
// request support (through the kernel's file-sending path when the Resolver
// returns an *os.File, as cache.DirStore does). GET and HEAD are allowed.
//
// Set the fields before serving and do not change them afterwards.
type Handler struct {
	// Resolver answers module requests.
	Resolver modfetch.Resolver

	// SumDBs are the checksum databases served under /sumdb/<name>/.
	// Lookups are authenticated by the DB before they are served (and
	// refused for the modules its NoSumDB matches); tiles the
	// DB authenticated are served from its cache, others are read through.
	// Nil entries are ignored (so a goenv.Stack's DB, nil under
	// GOSUMDB=off, can be passed as is).
	SumDBs []*checksum.DB

	// MutableMaxAge and NotFoundMaxAge set Cache-Control lifetimes; zero
	// means the defaults, negative means no-cache.
	MutableMaxAge  time.Duration
	NotFoundMaxAge time.Duration

	// Memory, if set, is the memory tier of the store that the
	// Resolver's cache and the SumDBs keep their answers in (the Fast
	// store of their cache.Tiered; goenv.Stack.Memory), in the go
	// command's module cache layout, whose keys are the protocol's request
	// paths. Immutable answers it holds — the .info and .mod of canonical
	// versions, checksum database lookups and tiles — are served from it
	// without asking the Resolver, as the Resolver's path would serve them
	// (checked once per value, with the cache's rules for .info and .mod
	// files and, for checksum database data, only what the DB vouches for),
	// their headers rendered once and kept with them
	// (cache.MemStore.Rendered), so that a hot answer costs about what
	// net/http itself costs. Zips are always served from the Resolver (a
	// DirStore's files go out through sendfile).
	Memory *cache.MemStore

	// Logger, if set, receives a record for each failed request.
	Logger *slog.Logger

	once   sync.Once
	render func(key string, data []byte, modTime time.Time) any
}

const immutable = "public, max-age=31536000, immutable"

func maxAge(d, def time.Duration) string {
	if d == 0 {
		d = def
	}
	if d < 0 {
		return "no-cache"
	}
	return "public, max-age=" + strconv.Itoa(int(d/time.Second))
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		h.fail(w, r, http.StatusMethodNotAllowed, "method not allowed", nil)
		return
	}
	p := r.URL.Path
	if h.Memory != nil && h.serveHot(w, r) {
		return
	}
	if rest, ok := strings.CutPrefix(p, "/sumdb/"); ok {
		h.serveSumDB(w, r, rest)
		return
	}
	enc, what, ok := splitModulePath(p)
	if !ok {
		h.notFound(w, r, "not found: unrecognized path "+quotePath(p))
		return
	}
	path, err := module.UnescapePath(enc)
	if err != nil {
		h.notFound(w, r, "not found: "+err.Error())
		return
	}
	ctx := r.Context()
	switch {
	case what == "@latest":
		info, err := h.Resolver.Latest(ctx, path)
		if err != nil {
			h.resolverError(w, r, err)
			return
		}
		h.serveInfo(w, r, info, false)
	case what == "@v/list":
		list, err := h.Resolver.List(ctx, path)
		if err != nil {
			h.resolverError(w, r, err)
			return
		}
		var buf bytes.Buffer
		for _, v := range list {
			buf.WriteString(v)
			buf.WriteByte('\n')
		}
		h.serveBytes(w, r, "text/plain; charset=utf-8", maxAge(h.MutableMaxAge, DefaultMutableMaxAge), "", buf.Bytes())
	default:
		file := strings.TrimPrefix(what, "@v/")
		i := strings.LastIndexByte(file, '.')
		if i < 0 {
			h.notFound(w, r, "not found: unrecognized path "+quotePath(p))
			return
		}
		version, err := module.UnescapeVersion(file[:i])
		if err != nil {
			h.notFound(w, r, "not found: "+err.Error())
			return
		}
		ext := file[i+1:]
		canonical := modfetch.IsCanonical(version)
		if ext != "info" && !canonical {
			h.notFound(w, r, fmt.Sprintf("not found: %s@%s: version must be canonical", path, version))
			return
		}
		switch ext {
		case "info":
			info, err := h.Resolver.Stat(ctx, path, version)
			if err != nil {
				h.resolverError(w, r, err)
				return
			}
			h.serveInfo(w, r, info, canonical && info.Version == version)
		case "mod":
			data, err := h.Resolver.GoMod(ctx, path, version)
			if err != nil {
				h.resolverError(w, r, err)
				return
			}
			h.serveBytes(w, r, "text/plain; charset=utf-8", immutable, etag(p), data)
		case "zip":
			h.serveZip(w, r, path, version)
		default:
			h.notFound(w, r, "not found: unrecognized path "+quotePath(p))
		}
	}
}

// splitModulePath splits "/<escaped path>/@v/<file>" or
// "/<escaped path>/@latest" into the escaped path and "@v/<file>" or
// "@latest".
func splitModulePath(p string) (enc, what string, ok bool) {
	p, ok = strings.CutPrefix(p, "/")
	if !ok {
		return "", "", false
	}
	if enc, ok := strings.CutSuffix(p, "/@latest"); ok {
		return enc, "@latest", enc != ""
	}
	i := strings.Index(p, "/@v/")
	if i <= 0 {
		return "", "", false
	}
	what = p[i+1:]
	if strings.Contains(what[len("@v/"):], "/") || len(what) == len("@v/") {
		return "", "", false
	}
	return p[:i], what, true
}

// etag is a strong validator for an immutable answer: a hash of its
// request path (the answer at a path never changes).
func etag(p string) string {
	h := fnv.New64a()
	io.WriteString(h, p)
	var b [16]byte
	return `"` + hex.EncodeToString(h.Sum(b[:0])) + `"`
}

func (h *Handler) serveInfo(w http.ResponseWriter, r *http.Request, info *modfetch.Info, immutableAnswer bool) {
	if immutableAnswer {
		// As the cache keeps it, so that every answer at this path (and
		// ETag) is the same, whether it came from Store or not.
		info = info.Clean()
	}
	data, err := json.Marshal(info)
	if err != nil {
		h.fail(w, r, http.StatusInternalServerError, "encoding info failed", err)
		return
	}
	if immutableAnswer {
		h.serveBytes(w, r, "application/json", immutable, etag(r.URL.Path), data)
		return
	}
	h.serveBytes(w, r, "application/json", maxAge(h.MutableMaxAge, DefaultMutableMaxAge), "", data)
}

// serveBytes writes a small answer, honouring conditional requests when it
// has an ETag.
func (h *Handler) serveBytes(w http.ResponseWriter, r *http.Request, ctype, cacheControl, tag string, data []byte) {
	hdr := w.Header()
	hdr.Set("Content-Type", ctype)
	hdr.Set("Cache-Control", cacheControl)
	if tag != "" {
		hdr.Set("ETag", tag)
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(data))
		return
	}
	hdr.Set("Content-Length", strconv.Itoa(len(data)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(data)
	}
}

func (h *Handler) serveZip(w http.ResponseWriter, r *http.Request, path, version string) {
	rc, err := h.Resolver.Zip(r.Context(), path, version)
	if err != nil {
		h.resolverError(w, r, err)
		return
	}
	defer rc.Close()
	hdr := w.Header()
	hdr.Set("Content-Type", "application/zip")
	hdr.Set("Cache-Control", immutable)
	hdr.Set("ETag", etag(r.URL.Path))
	var modtime time.Time
	var size int64 = -1
	if st, ok := modfetch.As[modfetch.Stater](rc); ok {
		if fi, err := st.Stat(); err == nil && fi.Mode().IsRegular() {
			modtime, size = fi.ModTime(), fi.Size()
		}
	}
	if sk, ok := modfetch.As[io.ReadSeeker](rc); ok && size >= 0 {
		// Range, If-Range, If-None-Match, If-Modified-Since, HEAD; a
		// file goes out through sendfile.
		var rs io.ReadSeeker = sk
		if f, ok := modfetch.As[*os.File](rc); ok {
			rs = &sizedFile{f: f, size: size}
		}
		http.ServeContent(w, r, "", modtime, rs)
		return
	}
	if inm := r.Header.Get("If-None-Match"); inm != "" && strings.Contains(inm, hdr.Get("ETag")) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	if size >= 0 {
		hdr.Set("Content-Length", strconv.FormatInt(size, 10))
	}
	if r.Method == http.MethodHead {
		w.WriteHeader(http.StatusOK)
		return
	}
	// A streaming reader waits for its download: stop waiting when the
	// client leaves.
	stop := context.AfterFunc(r.Context(), func() { rc.Close() })
	defer stop()
	// A streaming reader (a download being verified) may still fail:
	// wait for its first bytes before committing to a status, so that a
	// zip that fails verification before any byte is released (every zip
	// smaller than the held-back tail) gets a proper error status.
	buf := make([]byte, 32<<10)
	n, err := io.ReadAtLeast(rc, buf, 1)
	if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		hdr.Del("Content-Length")
		hdr.Del("ETag")
		hdr.Del("Content-Type")
		h.resolverError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusOK)
	w.Write(buf[:n])
	if err == nil {
		if _, err := io.CopyBuffer(w, rc, buf); err != nil {
			// The status is sent: abort the response so the client sees a
			// failure, not a short zip.
			if r.Context().Err() == nil {
				h.log(r, http.StatusBadGateway, "zip stream failed: "+errorText(err), err)
			}
			panic(http.ErrAbortHandler)
		}
	}
}

// resolverError answers a Resolver failure: 404 for not found, 502 for
// everything else (the failure is behind the handler).
func (h *Handler) resolverError(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, fs.ErrNotExist) {
		h.notFound(w, r, "not found: "+errorText(err))
		return
	}
	if ctxErr := r.Context().Err(); ctxErr != nil && errors.Is(err, ctxErr) {
		// The client went away; nobody reads the answer.
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	h.fail(w, r, http.StatusBadGateway, errorText(err), err)
}

func (h *Handler) notFound(w http.ResponseWriter, r *http.Request, msg string) {
	w.Header().Set("Cache-Control", maxAge(h.NotFoundMaxAge, DefaultNotFoundMaxAge))
	writeText(w, r, http.StatusNotFound, msg)
}

func (h *Handler) fail(w http.ResponseWriter, r *http.Request, status int, msg string, err error) {
	w.Header().Set("Cache-Control", "no-store")
	writeText(w, r, status, msg)
	h.log(r, status, msg, err)
}

func (h *Handler) log(r *http.Request, status int, msg string, err error) {
	if h.Logger == nil {
		return
	}
	h.Logger.LogAttrs(r.Context(), slog.LevelWarn, "request failed",
		slog.String("method", r.Method), slog.String("path", r.URL.Path),
		slog.Int("status", status), slog.String("error", msg))
}

func writeText(w http.ResponseWriter, r *http.Request, status int, msg string) {
	hdr := w.Header()
	hdr.Set("Content-Type", "text/plain; charset=utf-8")
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Del("ETag")
	body := msg + "\n"
	hdr.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		io.WriteString(w, body)
	}
}

// urlSecrets matches the parts of URLs that may hold credentials: userinfo
// and queries.
var urlSecrets = regexp.MustCompile(`([a-zA-Z][a-zA-Z0-9+.-]*://)[^/@\s"]*@|\?[^\s"]*`)

// errorText is err's text made safe to send: no userinfo or query strings
// of any URL in it, at most 8 lines and 1000 bytes.
func errorText(err error) string {
	s := urlSecrets.ReplaceAllStringFunc(err.Error(), func(m string) string {
		if strings.HasPrefix(m, "?") {
			if strings.HasSuffix(m, ":") {
				return ":" // "URL?query: status"
			}
			return ""
		}
		return m[:strings.Index(m, "://")+3]
	})
	lines := strings.Split(s, "\n")
	if len(lines) > 8 {
		lines = lines[:8]
	}
	s = strings.Join(lines, "\n")
	if len(s) > 1000 {
		s = s[:1000]
	}
	return s
}

// quotePath quotes a request path for an error message, bounded.
func quotePath(p string) string {
	if len(p) > 200 {
		p = p[:200] + "..."
	}
	return strconv.Quote(p)
}

// serveSumDBData answers with a lookup record or tile: immutable when the
// DB authenticated it, else cacheable only briefly (its client checks it).
func (h *Handler) serveSumDBData(w http.ResponseWriter, r *http.Request, ctype string, data []byte, verified bool, err error) {
	if err != nil {
		h.resolverError(w, r, err)
		return
	}
	if !verified {
		// Read from the database again as is: other bytes than another
		// read's, so no validator.
		h.serveBytes(w, r, ctype, maxAge(h.MutableMaxAge, DefaultMutableMaxAge), "", data)
		return
	}
	h.serveBytes(w, r, ctype, immutable, etag(r.URL.Path), data)
}

// serveSumDB serves /sumdb/<name>/{supported,lookup/...,tile/...,latest}.
// sumDB returns the database of rest ("<name>/<op>"), the one with the
// longest name when several match, and op.
func (h *Handler) sumDB(rest string) (db *checksum.DB, op string) {
	for _, d := range h.SumDBs {
		if d == nil {
			continue
		}
		if name := d.Name(); name != "" && (db == nil || len(name) > len(db.Name())) {
			if o, ok := strings.CutPrefix(rest, name+"/"); ok {
				db, op = d, o
			}
		}
	}
	return db, op
}

func (h *Handler) serveSumDB(w http.ResponseWriter, r *http.Request, rest string) {
	db, op := h.sumDB(rest)
	if db == nil {
		h.notFound(w, r, "not found: unknown checksum database")
		return
	}
	ctx := r.Context()
	switch {
	case op == "supported":
		h.serveBytes(w, r, "text/plain; charset=utf-8", maxAge(h.MutableMaxAge, DefaultMutableMaxAge), "", nil)
	case strings.HasPrefix(op, "lookup/"):
		mv := strings.TrimPrefix(op, "lookup/")
		i := strings.LastIndexByte(mv, '@')
		if i <= 0 {
			h.notFound(w, r, "not found: malformed lookup")
			return
		}
		path, err1 := module.UnescapePath(mv[:i])
		version, err2 := module.UnescapeVersion(mv[i+1:])
		if err1 != nil || err2 != nil {
			h.notFound(w, r, "not found: malformed lookup")
			return
		}
		data, verified, err := db.Record(ctx, path, version)
		h.serveSumDBData(w, r, "text/plain; charset=utf-8", data, verified, err)
	case strings.HasPrefix(op, "tile/"):
		tile := strings.TrimPrefix(op, "tile/")
		if !validTilePath(tile) {
			h.notFound(w, r, "not found: malformed tile path")
			return
		}
		data, verified, err := db.Tile(ctx, tile)
		h.serveSumDBData(w, r, "application/octet-stream", data, verified, err)
	case op == "latest":
		data, err := db.ReadRemote(ctx, "/latest")
		if err != nil {
			h.resolverError(w, r, err)
			return
		}
		h.serveBytes(w, r, "text/plain; charset=utf-8", "no-cache", "", data)
	default:
		h.notFound(w, r, "not found: unrecognized checksum database path")
	}
}

// tilePathRE matches the tile paths of the checksum database protocol:
// H/L/NNN with "x" prefixed groups, optionally ".p/W"; L may be "data".
var tilePathRE = regexp.MustCompile(`^[0-9]+/(data|[0-9]+)(/x[0-9]{3})*/[0-9]{3}(\.p/[0-9]+)?$`)

func validTilePath(p string) bool { return tilePathRE.MatchString(p) }

// Header values of stored answers, shared and never modified.
var (
	immutableHeader = []string{immutable}
	jsonHeader      = []string{"application/json"}
	textHeader      = []string{"text/plain; charset=utf-8"}
	octetHeader     = []string{"application/octet-stream"}
)

// A hotKind is a kind of immutable answer that Memory may hold.
type hotKind int

const (
	notHot hotKind = iota
	hotInfo
	hotMod
	hotLookup
	hotTile
)

// classify tells what kind of immutable answer the request path p is,
// and for checksum database data which DB's; notHot for everything else:
// mutable answers, zips, the cache's own keys under "modfetch/", lookups
// of modules the DB skips, malformed paths. It allocates nothing for the
// common, unescaped paths.
func (h *Handler) classify(p string) (hotKind, *checksum.DB) {
	if rest, ok := strings.CutPrefix(p, "/sumdb/"); ok {
		db, op := h.sumDB(rest)
		if db == nil {
			return notHot, nil
		}
		if tile, ok := strings.CutPrefix(op, "tile/"); ok && validTilePath(tile) {
			return hotTile, db
		}
		mv, ok := strings.CutPrefix(op, "lookup/")
		i := strings.LastIndexByte(mv, '@')
		if !ok || i <= 0 {
			return notHot, nil
		}
		if db.NoSumDB != "" {
			if path, err := unescape(mv[:i], module.UnescapePath); err != nil || db.Skip(path) {
				return notHot, nil
			}
		}
		return hotLookup, db
	}
	enc, what, ok := splitModulePath(p)
	if !ok || strings.HasPrefix(enc, "modfetch/") {
		// Not a module path: cache.Cache's keys for mutable answers.
		return notHot, nil
	}
	kind, file := hotInfo, strings.TrimPrefix(what, "@v/")
	file, ok = strings.CutSuffix(file, ".info")
	if !ok {
		if file, ok = strings.CutSuffix(file, ".mod"); !ok {
			return notHot, nil
		}
		kind = hotMod
	}
	if v, err := unescape(file, module.UnescapeVersion); err != nil || !modfetch.IsCanonical(v) {
		return notHot, nil
	}
	return kind, nil
}

// unescape undoes the "!" escaping of s with f, without allocating when
// there is none.
func unescape(s string, f func(string) (string, error)) (string, error) {
	if !strings.Contains(s, "!") {
		return s, nil
	}
	return f(s)
}

// serveHot answers r from Memory when it holds the immutable answer r
// asks for, and reports whether it did. Requests with Range or
// preconditions other than If-None-Match are left to the Resolver's path.
func (h *Handler) serveHot(w http.ResponseWriter, r *http.Request) bool {
	p := r.URL.Path
	kind, db := h.classify(p)
	if kind == notHot || db != nil && db.Misbehaved() {
		return false
	}
	for _, k := range []string{"Range", "If-Match", "If-Unmodified-Since", "If-Range"} {
		if _, ok := r.Header[k]; ok {
			return false
		}
	}
	h.once.Do(func() { h.render = h.renderHot })
	v, ok := h.Memory.Rendered(p[1:], h.render)
	if !ok {
		return false
	}
	v.(*hotAnswer).serve(w, r)
	return true
}

// A hotAnswer is an immutable answer held in Memory, with its headers.
type hotAnswer struct {
	ctype, tag, length []string // header values, shared and never modified
	body               []byte
}

// renderHot makes the hotAnswer of data, the value of key (a request
// path without its leading "/") in Memory, for MemStore.Rendered — the
// answer the Resolver's path would give — or declines (nil) a value that
// path would not serve: an .info that does not parse or names another
// version (it is served as the cache reads it, cleaned), a synthesised
// go.mod the cache ignores, checksum database data its DB does not vouch
// for.
func (h *Handler) renderHot(key string, data []byte, _ time.Time) any {
	kind, db := h.classify("/" + key)
	ctype := textHeader
	switch kind {
	case hotInfo:
		_, what, _ := splitModulePath("/" + key)
		v, err := module.UnescapeVersion(strings.TrimSuffix(strings.TrimPrefix(what, "@v/"), ".info"))
		info, perr := modfetch.ParseInfo(data)
		if err != nil || perr != nil || info.Version != v {
			return nil
		}
		if data, err = json.Marshal(info.Clean()); err != nil {
			return nil
		}
		ctype = jsonHeader
	case hotMod:
		if bytes.HasPrefix(data, []byte("//vgo 0.0.")) {
			return nil
		}
	case hotLookup, hotTile:
		if !db.Vouches(key, data) {
			return nil
		}
		if kind == hotTile {
			ctype = octetHeader
		}
	default:
		return nil
	}
	return &hotAnswer{ctype: ctype, tag: []string{etag("/" + key)}, length: []string{strconv.Itoa(len(data))}, body: data}
}

// serve writes the answer to r: a plain or conditional GET or HEAD.
func (a *hotAnswer) serve(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	hdr["Cache-Control"] = immutableHeader
	hdr["Etag"] = a.tag
	if inm := r.Header.Get("If-None-Match"); inm != "" && (inm == "*" || strings.Contains(inm, a.tag[0])) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	hdr["Content-Type"] = a.ctype
	hdr["Content-Length"] = a.length
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(a.body)
	}
}

// sizedFile is a freshly opened file whose size is known. It answers
// http.ServeContent's size probe (Seek to the end and back) without
// system calls, and exposes the file's descriptor so that the body still
// goes out through sendfile.
type sizedFile struct {
	f       *os.File
	size    int64
	touched bool // the file offset may have moved from 0
}

func (f *sizedFile) Seek(offset int64, whence int) (int64, error) {
	if !f.touched && offset == 0 {
		switch whence {
		case io.SeekEnd:
			return f.size, nil // the offset stays at 0
		case io.SeekStart, io.SeekCurrent:
			return 0, nil
		}
	}
	f.touched = true
	return f.f.Seek(offset, whence)
}

func (f *sizedFile) Read(p []byte) (int, error) {
	f.touched = true
	return f.f.Read(p)
}

func (f *sizedFile) SyscallConn() (syscall.RawConn, error) {
	f.touched = true
	return f.f.SyscallConn()
}
