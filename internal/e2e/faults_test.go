package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/modfetch/modfetch"
	"github.com/modfetch/modfetch/cache"
	"github.com/modfetch/modfetch/checksum"
	"github.com/modfetch/modfetch/internal/faultproxy"
	"github.com/modfetch/modfetch/internal/fixture"
	"github.com/modfetch/modfetch/proxy"
	"github.com/modfetch/modfetch/upstream"
)

// The module every cell of the fault matrix fetches: its zip (256 KiB of
// noise) is larger than checksum.ZipHold, so a verified stream releases
// bytes before the end, and a cut in the middle of it is a cut in the
// middle.
const (
	faultPath    = "example.com/fault"
	faultVersion = "v1.0.0"
	// matrixMaxZip is the upstream proxies' MaxZipSize in the matrix
	// (the default is x/mod's 500 MiB, too much to stream in a test).
	matrixMaxZip = 1 << 20
)

func faultSet() *fixture.Set {
	set := new(fixture.Set)
	set.Add(faultPath, faultVersion, map[string]string{
		"go.mod":   "module " + faultPath + "\n\ngo 1.21\n",
		"fault.go": "package fault\n",
		"data.bin": fixture.Noise(256 << 10),
	}, fixture.Day(3))
	set.LatestVersion = map[string]string{faultPath: faultVersion}
	return set
}

// A layer is what a cell of the matrix puts in front of the faulty
// upstream.
type layer string

const (
	commaChain layer = "comma-chain" // upstream.Chain "fault,healthy"
	pipeChain  layer = "pipe-chain"  // upstream.Chain "fault|healthy"
	verifyLay  layer = "verify"      // checksum.Verify over the faulty upstream alone
	cacheLay   layer = "cache"       // cache.Cache (DirStore) over Verify over it
	goCommand  layer = "go-command"  // the go command through proxy.Handler over the cache
)

var layers = []layer{commaChain, pipeChain, verifyLay, cacheLay, goCommand}

// An outcome is what a chain cell must give.
type outcome int

const (
	fails    outcome = iota // the fault's error (faultCase.is)
	genuine                 // the genuine answers
	tampered                // the tampered zip, without error: a chain does not verify
)

// A faultCase is one row of the matrix.
type faultCase struct {
	name        string
	fault       faultproxy.Fault                                                // injected into the faulty proxy...
	kinds       []faultproxy.Kind                                               // ...for these kinds of request
	url         func() string                                                   // or, instead of the faulty proxy, this base URL
	sumdb       bool                                                            // the checksum database fails instead of the module proxy
	is          func(error) bool                                                // the error the library layers return
	goErr       []string                                                        // what the go command's error says, after our handler's 502 (all of them)
	failAt      string                                                          // the request that fails below a chain: "info", "mod" or "zip"
	noZipBytes  bool                                                            // through Verify or a failing chain, not one byte of the zip is read
	comma, pipe outcome                                                         // what the chains give
	check       func(t *testing.T, e *faultEnv, l layer, elapsed time.Duration) // more checks, or nil
}

func isStatus(code int) func(error) bool {
	return func(err error) bool {
		var he *modfetch.HTTPError
		return errors.As(err, &he) && he.StatusCode == code
	}
}

func isSyntaxError(err error) bool {
	var se *json.SyntaxError
	return errors.As(err, &se)
}

func isMismatch(err error) bool {
	var me *checksum.MismatchError
	return errors.As(err, &me) && !me.GoMod && me.DB
}

func isRefused(err error) bool { return errors.Is(err, syscall.ECONNREFUSED) }

func isNoSuchHost(err error) bool {
	var de *net.DNSError
	return errors.As(err, &de) && de.IsNotFound
}

// attempts checks that the faulty proxy was asked n times for kind:
// retried after a ",", once before a "|".
func attempts(kind faultproxy.Kind, comma, pipe int) func(t *testing.T, e *faultEnv, l layer, _ time.Duration) {
	return func(t *testing.T, e *faultEnv, l layer, _ time.Duration) {
		want := comma
		if l == pipeChain {
			want = pipe
		}
		if l == commaChain || l == pipeChain {
			if n := e.faulty.Hits(kind); n != want {
				t.Errorf("faulty proxy asked %d times for %s, want %d", n, kind, want)
			}
		}
	}
}

// resumptions checks how a zip broken in the middle was resumed: after a
// ",", from the faulty proxy until the resumptions ran out; after a "|",
// from the faulty proxy once, then from the healthy one.
func resumptions(t *testing.T, e *faultEnv, l layer, _ time.Duration) {
	var faulty, healthy int
	switch l {
	case commaChain:
		faulty, healthy = 1+upstream.MaxResumes, 0
	case pipeChain:
		faulty, healthy = 2, 1
	default:
		return
	}
	if f, h := e.faulty.Hits(faultproxy.Zip), e.healthy.Hits(faultproxy.Zip); f != faulty || h != healthy {
		t.Errorf("zip requests: %d to the faulty proxy, %d to the healthy one; want %d and %d", f, h, faulty, healthy)
	}
}

var faultCases = []faultCase{
	{name: "500", fault: faultproxy.Status500, is: isStatus(500), failAt: "info",
		goErr: []string{"reading upstream: 500 Internal Server Error"}, pipe: genuine, check: attempts(faultproxy.Info, 2, 1)},
	{name: "502", fault: faultproxy.Status502, is: isStatus(502), failAt: "info",
		goErr: []string{"reading upstream: 502 Bad Gateway"}, pipe: genuine, check: attempts(faultproxy.Info, 2, 1)},
	{name: "503", fault: faultproxy.Status503, is: isStatus(503), failAt: "info",
		goErr: []string{"reading upstream: 503 Service Unavailable"}, pipe: genuine, check: attempts(faultproxy.Info, 2, 1)},
	{name: "429-retry-after", fault: faultproxy.TooManyRequests, is: isStatus(429), failAt: "info",
		goErr: []string{"reading upstream: 429 Too Many Requests"}, pipe: genuine,
		check: func(t *testing.T, e *faultEnv, l layer, elapsed time.Duration) {
			attempts(faultproxy.Info, 2, 1)(t, e, l, elapsed)
			if l == commaChain && elapsed < time.Second {
				t.Errorf("retried after %v, before the server's Retry-After: 1", elapsed)
			}
		}},
	{name: "connection-refused", url: mustRefused, is: isRefused, failAt: "info",
		goErr: []string{"Get upstream: dial tcp: connect: connection refused"}, pipe: genuine},
	{name: "unresolvable-host", url: func() string { return faultproxy.Unresolvable }, is: isNoSuchHost, failAt: "info",
		goErr: []string{"lookup upstream host: no such host"}, pipe: genuine},
	{name: "reset-mid-zip", fault: faultproxy.Reset, kinds: []faultproxy.Kind{faultproxy.Zip}, failAt: "zip",
		is:    func(err error) bool { return errors.Is(err, syscall.ECONNRESET) },
		goErr: []string{"read upstream: read tcp: read: connection reset by peer"}, pipe: genuine, check: resumptions},
	{name: "truncated-zip", fault: faultproxy.Truncate, kinds: []faultproxy.Kind{faultproxy.Zip}, failAt: "zip",
		is:    func(err error) bool { return errors.Is(err, io.ErrUnexpectedEOF) },
		goErr: []string{"read upstream: unexpected EOF"}, pipe: genuine, check: resumptions},
	{name: "stalled-zip", fault: faultproxy.Stall, kinds: []faultproxy.Kind{faultproxy.Zip}, failAt: "zip",
		is:    func(err error) bool { return errors.Is(err, upstream.ErrIdleTimeout) },
		goErr: []string{"read upstream: server sent too little within the idle timeout (1024 bytes in 300ms)"}, pipe: genuine, check: resumptions},
	{name: "garbage-info", fault: faultproxy.GarbageInfo, kinds: []faultproxy.Kind{faultproxy.Info, faultproxy.Latest}, failAt: "info",
		is: isSyntaxError, goErr: []string{`invalid response from proxy "upstream": invalid character '<'`}, pipe: genuine},
	{name: "empty-info", fault: faultproxy.EmptyInfo, kinds: []faultproxy.Kind{faultproxy.Info, faultproxy.Latest}, failAt: "info",
		is: isSyntaxError, goErr: []string{`invalid response from proxy "upstream": unexpected end of JSON input`}, pipe: genuine},
	{name: "oversize-info", fault: faultproxy.Oversize, kinds: []faultproxy.Kind{faultproxy.Info}, failAt: "info",
		is:    func(err error) bool { return errors.Is(err, modfetch.ErrTooLarge) },
		goErr: []string{"reading upstream: response too large (limit 1048576 bytes)"}, pipe: genuine},
	{name: "oversize-mod", fault: faultproxy.Oversize, kinds: []faultproxy.Kind{faultproxy.Mod}, failAt: "mod",
		is:    func(err error) bool { return errors.Is(err, modfetch.ErrTooLarge) },
		goErr: []string{"reading upstream: response too large (limit 16777216 bytes)"}, pipe: genuine},
	{name: "oversize-zip", fault: faultproxy.Oversize, kinds: []faultproxy.Kind{faultproxy.Zip}, failAt: "zip",
		is:    func(err error) bool { return errors.Is(err, modfetch.ErrZipTooLarge) },
		goErr: []string{"downloaded zip file too large"}, pipe: genuine, noZipBytes: true},
	{name: "tampered-zip", fault: faultproxy.Tamper, kinds: []faultproxy.Kind{faultproxy.Zip}, failAt: "zip",
		is: isMismatch, goErr: []string{"verifying module: checksum mismatch", "downloaded: h1:", "sum.example.com: h1:"},
		comma: tampered, pipe: tampered, noZipBytes: true},
	{name: "sumdb-unreachable", sumdb: true, failAt: "mod",
		is:    func(err error) bool { return isRefused(err) && !isMismatch(err) },
		goErr: []string{"verifying go.mod: ", "Get upstream: dial tcp: connect: connection refused"},
		// The chains' part in reaching the database: a proxy's
		// /sumdb/ answering 503 (Chain.SumDBURL).
		pipe: genuine},
}

func mustRefused() string {
	u, err := faultproxy.RefusedURL()
	if err != nil {
		panic(err)
	}
	return u
}

// TestFaultMatrix runs every fault against every layer (subtests
// "<fault>/<layer>"): each ends in the go command's answer or a clear
// error, stores nothing unverified or partial, and leaves no goroutine or
// open file behind.
func TestFaultMatrix(t *testing.T) {
	goBin(t)
	for _, fc := range faultCases {
		t.Run(fc.name, func(t *testing.T) {
			for _, l := range layers {
				t.Run(string(l), func(t *testing.T) { runCell(t, fc, l) })
			}
		})
	}
}

// faultEnv is one cell's world: the faulty upstream, a healthy one, the
// checksum database, and a client whose connections the cell closes.
type faultEnv struct {
	set      *fixture.Set
	mod      *fixture.Module
	sdb      *fixture.SumDB
	sdbSrv   *httptest.Server
	faulty   *faultproxy.Server
	faultURL string
	healthy  *faultproxy.Server
	tr       *http.Transport
	client   *http.Client
	dbURL    string
	tmp      string // Verify's spool directory
	closers  []func()
}

func newFaultEnv(t *testing.T, fc faultCase) *faultEnv {
	e := &faultEnv{set: faultSet(), tmp: t.TempDir()}
	e.mod = e.set.Module(faultPath, faultVersion)
	e.sdb = fixture.NewSumDB("sum.example.com", e.set.GoSumLines)
	e.sdbSrv = httptest.NewServer(e.sdb)
	e.closers = append(e.closers, e.sdbSrv.Close)
	e.dbURL = e.sdbSrv.URL
	limits := map[faultproxy.Kind]int64{faultproxy.Zip: matrixMaxZip}
	e.faulty = &faultproxy.Server{Set: e.set, SumDB: e.sdb, Limits: limits}
	e.faulty.Start()
	e.closers = append(e.closers, e.faulty.Close)
	e.faultURL = e.faulty.URL
	switch {
	case fc.url != nil:
		e.faultURL = fc.url()
	case fc.sumdb:
		e.faulty.Inject(faultproxy.Status503, faultproxy.SumDB)
		e.dbURL = mustRefused()
	default:
		e.faulty.Inject(fc.fault, fc.kinds...)
	}
	e.healthy = &faultproxy.Server{Set: e.set, SumDB: e.sdb}
	e.healthy.Start()
	e.closers = append(e.closers, e.healthy.Close)
	e.tr = &http.Transport{}
	e.client = &http.Client{Transport: e.tr}
	e.closers = append(e.closers, e.tr.CloseIdleConnections)
	t.Cleanup(e.close) // if the cell stops early
	return e
}

// close closes what the cell started, once.
func (e *faultEnv) close() {
	for i := len(e.closers) - 1; i >= 0; i-- {
		e.closers[i]()
	}
	e.closers = nil
}

// chain builds the Chain for goproxy as the go command would walk it,
// with short time budgets and retries.
func (e *faultEnv) chain(t *testing.T, goproxy string) *upstream.Chain {
	cfg := &upstream.Config{
		Client:           e.client,
		Retry:            modfetch.Retry{Attempts: 2, Initial: 20 * time.Millisecond, Max: 100 * time.Millisecond},
		ConnectTimeout:   2 * time.Second,
		FirstByteTimeout: 5 * time.Second,
		IdleTimeout:      300 * time.Millisecond,
	}
	ch, err := cfg.Parse(goproxy)
	if err != nil {
		t.Fatal(err)
	}
	for _, en := range ch.Entries {
		if p, ok := en.Resolver.(*upstream.Proxy); ok {
			p.MaxZipSize = matrixMaxZip
			// The short idle budget is for the faulty proxy's stalls;
			// a healthy transfer slowed by a loaded machine must not
			// trip it and change the counts the checks expect.
			if p.URL == e.healthy.URL {
				p.IdleTimeout = 10 * time.Second
			}
		}
	}
	return ch
}

func (e *faultEnv) db(url string) *checksum.DB {
	return &checksum.DB{Key: e.sdb.Key, URL: url, Client: e.client}
}

// verifying is Verify over the faulty upstream alone.
func (e *faultEnv) verifying(t *testing.T) *checksum.Verify {
	return &checksum.Verify{Next: e.chain(t, e.faultURL), DB: e.db(e.dbURL), TempDir: e.tmp}
}

// fetched is what `go mod download` asks of a Resolver: .info, .mod, .zip.
type fetched struct {
	info *modfetch.Info
	mod  []byte
	zip  []byte
	err  error
	step string // the request that failed: "info", "mod" or "zip"
}

func fetch(ctx context.Context, r modfetch.Resolver) (f fetched) {
	f.step = "info"
	if f.info, f.err = r.Stat(ctx, faultPath, faultVersion); f.err != nil {
		return f
	}
	f.step = "mod"
	if f.mod, f.err = r.GoMod(ctx, faultPath, faultVersion); f.err != nil {
		return f
	}
	f.step = "zip"
	rc, err := r.Zip(ctx, faultPath, faultVersion)
	if f.err = err; err != nil {
		return f
	}
	defer rc.Close()
	if f.zip, f.err = io.ReadAll(rc); f.err == nil {
		f.step = ""
	}
	return f
}

// checkFailure checks a fetch that must fail with fc's error, at fc's
// request.
func checkFailure(t *testing.T, fc faultCase, e *faultEnv, f fetched) {
	t.Helper()
	if f.err == nil || !fc.is(f.err) {
		t.Errorf("got error %v; want the fault's", f.err)
	}
	if f.step != fc.failAt {
		t.Errorf("the %s request failed, want the %s request", f.step, fc.failAt)
	}
	if len(f.zip) >= len(e.mod.Zip) {
		t.Errorf("read all %d bytes of an unverified zip", len(f.zip))
	}
	if fc.noZipBytes && len(f.zip) != 0 {
		t.Errorf("read %d bytes of the zip, want none", len(f.zip))
	}
}

func (e *faultEnv) isGenuine(f fetched) bool {
	return f.err == nil && f.info != nil && f.info.Version == faultVersion &&
		bytes.Equal(f.mod, e.mod.Mod) && bytes.Equal(f.zip, e.mod.Zip)
}

func runCell(t *testing.T, fc faultCase, l layer) {
	base := countResources(t)
	e := newFaultEnv(t, fc)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	start := time.Now()
	switch l {
	case commaChain, pipeChain:
		sep, want := ",", fc.comma
		if l == pipeChain {
			sep, want = "|", fc.pipe
		}
		ch := e.chain(t, e.faultURL+sep+e.healthy.URL)
		if fc.sumdb {
			// The chain's part in reaching the database.
			u, err := ch.SumDBURL(ctx, e.sdb.Name)
			switch want {
			case fails:
				if !isStatus(503)(err) {
					t.Errorf("SumDBURL = %q, %v; want the first proxy's 503", u, err)
				}
				if n := e.healthy.Hits(); n != 0 {
					t.Errorf("the walk went on past a ',' after a failure: healthy proxy asked %d times", n)
				}
			case genuine:
				if err != nil || u != e.healthy.URL+"/sumdb/"+e.sdb.Name {
					t.Errorf("SumDBURL = %q, %v; want the second proxy's", u, err)
				}
			}
			break
		}
		f := fetch(ctx, ch)
		switch want {
		case fails:
			checkFailure(t, fc, e, f)
			if n := e.healthy.Hits(); n != 0 {
				t.Errorf("the walk went on past a ',' after a failure: healthy proxy asked %d times", n)
			}
		case genuine:
			if !e.isGenuine(f) {
				t.Errorf("got %d-byte zip, error %v; want the genuine answers from the next proxy", len(f.zip), f.err)
			}
		case tampered:
			if f.err != nil || bytes.Equal(f.zip, e.mod.Zip) || len(f.zip) == 0 {
				t.Errorf("got %d-byte zip, error %v; want the tampered zip passed on", len(f.zip), f.err)
			}
		}
	case verifyLay:
		checkFailure(t, fc, e, fetch(ctx, e.verifying(t)))
	case cacheLay:
		store := &cache.DirStore{Dir: filepath.Join(t.TempDir(), "download")}
		checkFailure(t, fc, e, fetch(ctx, &cache.Cache{Next: e.verifying(t), Store: store}))
		e.checkStore(t, store.Dir)
		// What the requests before the failing one fetched (with a .mod,
		// the @v/list DirStore keeps like the go command), and nothing
		// of the failing one.
		want := map[string]string{"info": "", "mod": "v1.0.0.info", "zip": "list v1.0.0.info v1.0.0.mod"}[fc.failAt]
		if got := strings.Join(storedFiles(store.Dir), " "); got != want {
			t.Errorf("after the failure the store holds %q, want %q", got, want)
		}
		// The same store, now over a healthy upstream and database: the
		// genuine answers, whatever the failure left.
		healed := &cache.Cache{Store: store, Next: &checksum.Verify{Next: e.chain(t, e.healthy.URL), DB: e.db(e.sdbSrv.URL), TempDir: e.tmp}}
		if f := fetch(ctx, healed); !e.isGenuine(f) {
			t.Errorf("after the fault, over a healthy upstream: %d-byte zip, error %v; want the genuine answers", len(f.zip), f.err)
		}
		e.checkStore(t, store.Dir)
		for _, ext := range []string{"info", "mod", "zip", "ziphash"} {
			if _, err := os.Stat(filepath.Join(store.Dir, faultPath, "@v", faultVersion+"."+ext)); err != nil {
				t.Errorf("healed cache did not keep the .%s: %v", ext, err)
			}
		}
	case goCommand:
		e.goCommand(t)
	}
	if fc.check != nil {
		fc.check(t, e, l, time.Since(start))
	}
	e.close()
	if entries, err := os.ReadDir(e.tmp); err != nil || len(entries) != 0 {
		t.Errorf("spool directory holds %d files (%v) after the cell", len(entries), err)
	}
	waitResources(t, base)
}

// goCommand runs `go mod download -json` through a proxy.Handler over the
// cache, verification and the faulty upstream, with the checksum
// database reached through the handler's /sumdb/.
func (e *faultEnv) goCommand(t *testing.T) {
	store := &cache.DirStore{Dir: filepath.Join(t.TempDir(), "download")}
	v := e.verifying(t)
	h := &proxy.Handler{Resolver: &cache.Cache{Next: v, Store: store}, SumDBs: []*checksum.DB{v.DB}}
	srv := httptest.NewServer(h)
	defer srv.Close()

	c := newHome(t, &world{proxyURL: srv.URL, sumdb: e.sdb})
	c.env["GOSUMDB"] = e.sdb.Key
	out, stderr, err := c.goCmd(t, t.TempDir(), "mod", "download", "-json", faultPath+"@"+faultVersion)
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("go mod download: %v, want exit status 1\n%s%s", err, out, stderr)
	}
	ms := decodeModules(t, out)
	if len(ms) != 1 {
		t.Fatalf("go mod download: %v\n%s%s", err, out, stderr)
	}
	t.Logf("go command: %s", ms[0].Error)
	for _, want := range append([]string{": 502 Bad Gateway\n\tserver response:"}, faultCaseOf(t).goErr...) {
		if !strings.Contains(ms[0].Error, want) {
			t.Errorf("go command's error does not say %q:\n%s", want, ms[0].Error)
		}
	}
	if _, err := os.Stat(filepath.Join(c.gomodcache, "cache", "download", faultPath, "@v", faultVersion+".zip")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the go command kept a zip: %v", err)
	}
	srv.Close()
	e.checkStore(t, store.Dir)
}

// faultCaseOf finds the row of the running cell "<fault>/<layer>".
func faultCaseOf(t *testing.T) faultCase {
	name := strings.Split(t.Name(), "/")[1]
	for _, fc := range faultCases {
		if fc.name == name {
			return fc
		}
	}
	t.Fatalf("no fault case for %s", t.Name())
	return faultCase{}
}

// checkStore checks that a cache's directory holds only genuine, whole
// answers for the module: no partial or unverified file, no temporary
// file.
func (e *faultEnv) checkStore(t *testing.T, dir string) {
	t.Helper()
	want := map[string]func([]byte) bool{
		faultVersion + ".mod":     func(b []byte) bool { return bytes.Equal(b, e.mod.Mod) },
		faultVersion + ".zip":     func(b []byte) bool { return bytes.Equal(b, e.mod.Zip) },
		faultVersion + ".ziphash": func(b []byte) bool { return string(bytes.TrimSpace(b)) == e.mod.ZipSum() },
		faultVersion + ".info": func(b []byte) bool {
			info, err := modfetch.ParseInfo(b)
			return err == nil && info.Version == faultVersion
		},
		"list": func(b []byte) bool { return len(b) == 0 || string(b) == faultVersion+"\n" },
	}
	vdir := filepath.Join(dir, faultPath, "@v")
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(dir, p)
		ok := want[d.Name()]
		if ok == nil || filepath.Dir(p) != vdir {
			if !strings.HasSuffix(d.Name(), ".lock") {
				t.Errorf("store holds %s", rel)
			}
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil || !ok(data) {
			t.Errorf("store holds %s (%d bytes) that is not the genuine one", rel, len(data))
		}
		return nil
	})
}

// storedFiles lists the names of the module's stored files, sorted.
func storedFiles(dir string) []string {
	var names []string
	ents, _ := os.ReadDir(filepath.Join(dir, faultPath, "@v"))
	for _, d := range ents {
		if !strings.HasSuffix(d.Name(), ".lock") {
			names = append(names, d.Name())
		}
	}
	return names
}

// resources is what a cell must give back: goroutines and open files.
type resources struct{ goroutines, fds int }

func countResources(t *testing.T) resources {
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("skipping: cannot count open files: %v", err)
	}
	return resources{goroutines: runtime.NumGoroutine(), fds: len(fds)}
}

// waitResources waits for the goroutines and open files to come back to
// base: connections and handlers end asynchronously after a close.
func waitResources(t *testing.T, base resources) {
	t.Helper()
	var now resources
	deadline := time.Now().Add(10 * time.Second)
	for {
		now = countResources(t)
		if now.goroutines <= base.goroutines && now.fds <= base.fds {
			return
		}
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var fdList []string
	if ents, err := os.ReadDir("/proc/self/fd"); err == nil {
		for _, d := range ents {
			target, _ := os.Readlink(filepath.Join("/proc/self/fd", d.Name()))
			fdList = append(fdList, d.Name()+" -> "+target)
		}
	}
	t.Errorf("10 s after the cell: %d goroutines (before: %d), %d open files (before: %d)\nfiles: %s\n%s",
		now.goroutines, base.goroutines, now.fds, base.fds, strings.Join(fdList, ", "), buf)
}
