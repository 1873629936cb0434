package faultproxy

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/mod/module"
	modzip "golang.org/x/mod/zip"

	"github.com/modfetch/modfetch"
	"github.com/modfetch/modfetch/internal/fixture"
)

// A Fault is what the server does instead of answering properly.
type Fault int

const (
	None            Fault = iota // the genuine answer
	Status500                    // 500 Internal Server Error
	Status502                    // 502 Bad Gateway
	Status503                    // 503 Service Unavailable
	TooManyRequests              // 429 Too Many Requests with Retry-After (Server.RetryAfter)
	Reset                        // half the body, then a TCP reset
	Truncate                     // half the body under a Content-Length for all of it, then a clean close
	Stall                        // the headers, then nothing until the client leaves
	GarbageInfo                  // .info and @latest: 200 with a body that is not JSON
	EmptyInfo                    // .info and @latest: 200 with an empty body
	Oversize                     // 200 with a body one byte over its kind's limit (Server.Limits)
	Tamper                       // .zip and .mod: 200 with other bytes than the genuine ones
)

var faultNames = [...]string{"none", "500", "502", "503", "429", "reset", "truncate", "stall", "garbage-info", "empty-info", "oversize", "tamper"}

func (f Fault) String() string {
	if f >= 0 && int(f) < len(faultNames) {
		return faultNames[f]
	}
	return "fault(" + strconv.Itoa(int(f)) + ")"
}

// A Kind is a kind of request the server answers: modfetch's request
// kinds.
type Kind string

const (
	Info   Kind = modfetch.KindInfo   // $path/@v/$version.info
	Mod    Kind = modfetch.KindMod    // $path/@v/$version.mod
	Zip    Kind = modfetch.KindZip    // $path/@v/$version.zip
	List   Kind = modfetch.KindList   // $path/@v/list
	Latest Kind = modfetch.KindLatest // $path/@latest
	SumDB  Kind = modfetch.KindSumDB  // /sumdb/...
	Other  Kind = modfetch.KindOther  // anything else (a health probe of the base URL, say)
)

// Module is every kind of module request.
var Module = []Kind{Info, Mod, Zip, List, Latest}

// DefaultLimits are the sizes an Oversize body exceeds by one byte: the
// limits of the go command and of x/mod (the .info and list limits are
// modfetch's upstream.DefaultMaxInfoSize and DefaultMaxListSize).
var DefaultLimits = map[Kind]int64{
	Info:   1 << 20,
	Latest: 1 << 20,
	List:   16 << 20,
	Mod:    modzip.MaxGoMod,
	Zip:    modzip.MaxZipFile,
	SumDB:  1 << 20,
	Other:  1 << 20,
}

// Unresolvable is the base URL of a proxy whose host name never resolves:
// .invalid is reserved for that (RFC 6761).
const Unresolvable = "http://modfetch-fault.invalid"

// RefusedURL returns the base URL of a loopback address where nothing
// listens: the address of a listener that has been closed, so that a
// connection is refused at once.
func RefusedURL() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		return "", err
	}
	return "http://" + addr, nil
}

// A Server is a module proxy with injected faults. Set its fields, then
// call Start; Inject, Heal and the counters may be used concurrently
// with requests.
type Server struct {
	Set   *fixture.Set
	SumDB *fixture.SumDB // served under /sumdb/<name>/ when set

	// Limits overrides DefaultLimits for Oversize bodies, for a client
	// configured with smaller limits.
	Limits map[Kind]int64

	// RetryAfter is the Retry-After of TooManyRequests answers, in whole
	// seconds; zero means 1.
	RetryAfter int

	// URL is the server's base URL, set by Start.
	URL string

	srv     *httptest.Server
	genuine *fixture.Server
	quit    chan struct{}
	closed  sync.Once
	active  atomic.Int64

	mu     sync.Mutex
	faults map[Kind]Fault
	hits   map[Kind]int
}

// Start starts serving on loopback.
func (s *Server) Start() {
	s.genuine = &fixture.Server{Set: s.Set, SumDB: s.SumDB}
	s.quit = make(chan struct{})
	s.srv = httptest.NewServer(s)
	s.URL = s.srv.URL
}

// Close ends stalled answers, closes every connection and waits for
// every handler to return.
func (s *Server) Close() {
	s.closed.Do(func() {
		close(s.quit)
		s.srv.Close()
	})
}

// Inject makes f the answer to the given kinds of request (all of Module
// when none are given). None restores the genuine answer.
func (s *Server) Inject(f Fault, kinds ...Kind) {
	if len(kinds) == 0 {
		kinds = Module
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.faults == nil {
		s.faults = make(map[Kind]Fault)
	}
	for _, k := range kinds {
		s.faults[k] = f
	}
}

// Heal removes every fault.
func (s *Server) Heal() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// Hits returns how many requests of the given kinds (all kinds when none
// are given) the server has had.
func (s *Server) Hits(kinds ...Kind) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(kinds) == 0 {
		n := 0
		for _, c := range s.hits {
			n += c
		}
		return n
	}
	n := 0
	for _, k := range kinds {
		n += s.hits[k]
	}
	return n
}

// Active returns how many requests are being answered now.
func (s *Server) Active() int { return int(s.active.Load()) }

// KindOf returns the kind of a request for the URL path p
// (modfetch.RequestKind).
func KindOf(p string) Kind { return Kind(modfetch.RequestKind(p)) }

func (s *Server) limit(k Kind) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n, ok := s.Limits[k]; ok {
		return n
	}
	return DefaultLimits[k]
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.active.Add(1)
	defer s.active.Add(-1)
	k := KindOf(r.URL.Path)
	s.mu.Lock()
	if s.hits == nil {
		s.hits = make(map[Kind]int)
	}
	s.hits[k]++
	f := s.faults[k]
	s.mu.Unlock()

	switch f {
	case None:
		s.genuine.ServeHTTP(w, r)
		return
	case Status500, Status502, Status503, TooManyRequests:
		code := map[Fault]int{Status500: 500, Status502: 502, Status503: 503, TooManyRequests: 429}[f]
		if f == TooManyRequests {
			ra := s.RetryAfter
			if ra <= 0 {
				ra = 1
			}
			w.Header().Set("Retry-After", strconv.Itoa(ra))
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(code)
		fmt.Fprintf(w, "injected fault: %d %s\n", code, http.StatusText(code))
		return
	}

	// The other faults change a genuine answer: find it first.
	rec := httptest.NewRecorder()
	s.genuine.ServeHTTP(rec, r)
	body := rec.Body.Bytes()
	if rec.Code != http.StatusOK && rec.Code != http.StatusPartialContent {
		copyAnswer(w, rec.Code, rec.Header(), body)
		return
	}
	switch f {
	case Reset:
		reset(w, rec.Code, rec.Header(), body)
	case Truncate:
		hdr := w.Header()
		for key, v := range rec.Header() {
			hdr[key] = v
		}
		hdr.Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(rec.Code)
		w.Write(body[:len(body)/2])
		// Returning with less than the Content-Length written makes
		// net/http close the connection: a clean end of a short body.
	case Stall:
		hdr := w.Header()
		for key, v := range rec.Header() {
			hdr[key] = v
		}
		hdr.Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(rec.Code)
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
		case <-s.quit:
		}
	case GarbageInfo, EmptyInfo:
		if k != Info && k != Latest {
			copyAnswer(w, rec.Code, rec.Header(), body)
			return
		}
		var b []byte
		if f == GarbageInfo {
			b = []byte("<html>this is not the .info you are looking for\n")
		}
		copyAnswer(w, http.StatusOK, http.Header{"Content-Type": {"application/json"}}, b)
	case Oversize:
		s.oversize(w, r, k, body)
	case Tamper:
		s.tamper(w, r, k, rec, body)
	default:
		copyAnswer(w, rec.Code, rec.Header(), body)
	}
}

// copyAnswer writes an answer.
func copyAnswer(w http.ResponseWriter, code int, h http.Header, body []byte) {
	hdr := w.Header()
	for key, v := range h {
		hdr[key] = v
	}
	hdr.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(code)
	w.Write(body)
}

// reset sends the status, the headers (with a Content-Length for the
// whole body) and half the body, then resets the connection.
func reset(w http.ResponseWriter, code int, h http.Header, body []byte) {
	conn, bw, err := w.(http.Hijacker).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	defer conn.Close()
	fmt.Fprintf(bw, "HTTP/1.1 %d %s\r\n", code, http.StatusText(code))
	h = h.Clone()
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Write(bw)
	bw.WriteString("\r\n")
	bw.Write(body[:len(body)/2])
	bw.Flush()
	if tc, ok := conn.(*net.TCPConn); ok {
		tc.SetLinger(0) // close sends RST
	}
}

// oversize answers with a body of the kind's limit plus one byte, the
// genuine answer padded (for .info and @latest, as valid JSON; for .mod,
// as a comment), streamed.
func (s *Server) oversize(w http.ResponseWriter, r *http.Request, k Kind, body []byte) {
	n := s.limit(k) + 1
	prefix, suffix := body, []byte(nil)
	fill := byte(0)
	switch k {
	case Info, Latest:
		j := bytes.TrimRight(body, " \t\r\n")
		if len(j) > 0 && j[len(j)-1] == '}' {
			prefix = append(append([]byte(nil), j[:len(j)-1]...), `,"Pad":"`...)
			suffix = []byte(`"}`)
			fill = 'x'
		}
	case Mod:
		prefix = append(append([]byte(nil), body...), "\n// "...)
		suffix = []byte("\n")
		fill = 'x'
	}
	if int64(len(prefix)+len(suffix)) > n {
		prefix, suffix = nil, nil
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.FormatInt(n, 10))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	if _, err := w.Write(prefix); err != nil {
		return
	}
	chunk := bytes.Repeat([]byte{fill}, 32<<10)
	for left := n - int64(len(prefix)+len(suffix)); left > 0; {
		c := chunk[:min(left, int64(len(chunk)))]
		if _, err := w.Write(c); err != nil {
			return // the client stopped reading
		}
		left -= int64(len(c))
	}
	w.Write(suffix)
}

// tamper answers a .zip or .mod with other bytes than the genuine ones:
// a zip of the module with one more file (well-formed, so only its hash
// tells), a go.mod with one more line.
func (s *Server) tamper(w http.ResponseWriter, r *http.Request, k Kind, rec *httptest.ResponseRecorder, body []byte) {
	path, version, ok := moduleVersion(r.URL.Path)
	m := (*fixture.Module)(nil)
	if ok {
		m = s.Set.Module(path, version)
	}
	if m == nil || (k != Zip && k != Mod) {
		copyAnswer(w, rec.Code, rec.Header(), body)
		return
	}
	if k == Mod {
		copyAnswer(w, http.StatusOK, http.Header{"Content-Type": {"text/plain; charset=utf-8"}}, append(append([]byte(nil), m.Mod...), "// tampered\n"...))
		return
	}
	z, err := fixture.MakeZip(path, version, map[string]string{
		"go.mod":      string(m.Mod),
		"tampered.go": "package tampered\n",
	})
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/zip")
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(z)) // with Range requests
}

// moduleVersion returns the module path and version of a request for
// /$path/@v/$version.$ext.
func moduleVersion(p string) (path, version string, ok bool) {
	enc, file, ok := strings.Cut(strings.TrimPrefix(p, "/"), "/@v/")
	if !ok {
		return "", "", false
	}
	i := strings.LastIndexByte(file, '.')
	if i < 0 {
		return "", "", false
	}
	path, err := module.UnescapePath(enc)
	if err != nil {
		return "", "", false
	}
	version, err = module.UnescapeVersion(file[:i])
	if err != nil {
		return "", "", false
	}
	return path, version, true
}
