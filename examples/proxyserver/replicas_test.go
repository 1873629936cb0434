package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/modfetch/modfetch/internal/fixture"
)

// The replica tests run the built server as separate processes sharing
// one bucket of a real S3 server and one real Redis, from the variables
// .ci/services exports.

// services returns the S3 endpoint and bucket and the Redis address, or
// skips t (fails it under MODFETCH_TEST_SERVICES=required) when unset.
func services(t *testing.T) (s3, bucket, redis string) {
	t.Helper()
	s3, bucket, redis = os.Getenv("MODFETCH_TEST_S3_ENDPOINT"), os.Getenv("MODFETCH_TEST_S3_BUCKET"), os.Getenv("MODFETCH_TEST_REDIS")
	if s3 == "" || bucket == "" || redis == "" || os.Getenv("AWS_ACCESS_KEY_ID") == "" {
		msg := "needs an S3 server and Redis: set MODFETCH_TEST_S3_ENDPOINT, MODFETCH_TEST_S3_BUCKET, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and MODFETCH_TEST_REDIS (. .ci/services start does)"
		if os.Getenv("MODFETCH_TEST_SERVICES") == "required" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return s3, bucket, redis
}

var (
	serverOnce sync.Once
	serverBin  string
	serverErr  error
)

// serverBinary builds this program once per test run.
func serverBinary(t *testing.T) string {
	t.Helper()
	serverOnce.Do(func() {
		dir, err := os.MkdirTemp("", "modfetch-proxyserver")
		if err != nil {
			serverErr = err
			return
		}
		serverBin = filepath.Join(dir, "proxyserver")
		out, err := exec.Command("go", "build", "-o", serverBin, ".").CombinedOutput()
		if err != nil {
			serverErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if serverErr != nil {
		t.Fatal(serverErr)
	}
	return serverBin
}

// A replica is a running server process.
type replica struct {
	addr string
	cmd  *exec.Cmd
	logs *syncBuffer
}

// startReplica runs the server with env (added to a clean go
// environment) and args, until the test ends.
func startReplica(t *testing.T, env []string, args ...string) *replica {
	t.Helper()
	r := &replica{logs: new(syncBuffer)}
	r.cmd = exec.Command(serverBinary(t), append([]string{"-addr", "127.0.0.1:0", "-cache", t.TempDir()}, args...)...)
	r.cmd.Env = append(os.Environ(), env...)
	r.cmd.Stderr = r.logs
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		r.cmd.Process.Signal(os.Interrupt)
		r.cmd.Wait()
		if t.Failed() {
			t.Logf("replica %s log:\n%s", r.addr, r.logs.String())
		}
	})
	r.addr = fixture.ListeningAddr(t, r.logs)
	return r
}

// waitLog waits for the replica's log, written through a buffer, to
// hold s.
func (r *replica) waitLog(t *testing.T, s string) {
	t.Helper()
	fixture.WaitFor(t, "the log to say "+s, func() bool { return strings.Contains(r.logs.String(), s) })
}

// replicaWorld is an upstream with a checksum database and the settings
// of replicas sharing a fresh prefix of the bucket and Redis.
type replicaWorld struct {
	set      *fixture.Set
	sdb      *fixture.SumDB
	up       *httptest.Server
	env      []string
	store    string // -store URL
	lock     string // -lock URL
	prefix   string
	bucket   string
	s3       *minio.Client
	zipGets  atomic.Int64
	zipFault func(w http.ResponseWriter, r *http.Request) bool // optional
}

func newReplicaWorld(t *testing.T, set *fixture.Set) *replicaWorld {
	t.Helper()
	s3, bucket, redis := services(t)
	w := &replicaWorld{set: set, bucket: bucket}
	w.sdb = fixture.NewSumDB("sum.example.com", set.GoSumLines)
	fs := &fixture.Server{Set: set, SumDB: w.sdb}
	w.up = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, ".zip") {
			w.zipGets.Add(1)
			if w.zipFault != nil && w.zipFault(rw, r) {
				return
			}
		}
		fs.ServeHTTP(rw, r)
	}))
	t.Cleanup(w.up.Close)
	var b [6]byte
	rand.Read(b[:])
	w.prefix = "replicas-" + hex.EncodeToString(b[:])
	w.store = fmt.Sprintf("s3://%s/%s?endpoint=%s&region=us-east-1&insecure=true", bucket, w.prefix, s3)
	w.lock = "redis://" + redis + "/0"
	home := t.TempDir()
	w.env = []string{
		"GOPROXY=" + w.up.URL, "GOSUMDB=" + w.sdb.Key, "GOENV=off", "HOME=" + home,
		"GOPATH=" + filepath.Join(home, "go"), "GOMODCACHE=" + filepath.Join(home, "go", "pkg", "mod"),
		"GOPRIVATE=", "GONOPROXY=", "GONOSUMDB=", "GOFLAGS=", "GOINSECURE=",
	}
	client, err := minio.New(s3, &minio.Options{Creds: credentials.NewEnvAWS(), Secure: false, Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	w.s3 = client
	ctx := context.Background()
	if ok, err := client.BucketExists(ctx, bucket); err != nil {
		t.Fatal(err)
	} else if !ok {
		if err := client.MakeBucket(ctx, bucket, minio.MakeBucketOptions{Region: "us-east-1"}); err != nil {
			t.Fatal(err)
		}
	}
	return w
}

// objects returns the sizes of the objects under the world's prefix, by
// key below it, and the number of multipart uploads not completed.
func (w *replicaWorld) objects(t *testing.T) (map[string]int64, int) {
	t.Helper()
	ctx := context.Background()
	objs := make(map[string]int64)
	for o := range w.s3.ListObjects(ctx, w.bucket, minio.ListObjectsOptions{Prefix: w.prefix + "/", Recursive: true}) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		objs[strings.TrimPrefix(o.Key, w.prefix+"/")] = o.Size
	}
	n := 0
	for u := range w.s3.ListIncompleteUploads(ctx, w.bucket, w.prefix+"/", true) {
		if u.Err != nil {
			t.Fatal(u.Err)
		}
		n++
	}
	return objs, n
}

// goCommand runs the go command in dir with env and returns its combined
// output, failing t if it fails.
func goCommand(t *testing.T, dir string, env []string, args ...string) string {
	t.Helper()
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// TestReplicasFetchOnce: 64 concurrent requests for one uncached zip,
// split between two replicas sharing a bucket and Redis, make exactly one
// upstream zip request, and every body is the verified zip.
func TestReplicasFetchOnce(t *testing.T) {
	set := fixture.Bulk("replicas", 1, 2<<20)
	w := newReplicaWorld(t, set)
	gate := make(chan struct{})
	w.zipFault = func(http.ResponseWriter, *http.Request) bool {
		<-gate // until every client request has been sent
		return false
	}
	a := startReplica(t, w.env, "-store", w.store, "-lock", w.lock)
	b := startReplica(t, w.env, "-store", w.store, "-lock", w.lock)
	m := set.Modules()[0]
	const clients = 64
	var sent sync.WaitGroup
	sent.Add(clients)
	bodies := make([][]byte, clients)
	errs := make([]error, clients)
	var wg sync.WaitGroup
	for i := range clients {
		addr := a.addr
		if i%2 == 1 {
			addr = b.addr
		}
		wg.Go(func() {
			var once sync.Once
			trace := &httptrace.ClientTrace{WroteRequest: func(httptrace.WroteRequestInfo) { once.Do(sent.Done) }}
			req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace),
				"GET", "http://"+addr+"/"+m.Path+"/@v/"+m.Version+".zip", nil)
			resp, err := http.DefaultClient.Do(req)
			once.Do(sent.Done)
			if err != nil {
				errs[i] = err
				return
			}
			defer resp.Body.Close()
			bodies[i], errs[i] = io.ReadAll(resp.Body)
			if errs[i] == nil && resp.StatusCode != http.StatusOK {
				errs[i] = fmt.Errorf("%s", resp.Status)
			}
		})
	}
	sent.Wait()
	close(gate)
	wg.Wait()
	for i := range clients {
		if errs[i] != nil {
			t.Errorf("client %d: %v", i, errs[i])
		} else if !bytes.Equal(bodies[i], m.Zip) {
			t.Errorf("client %d: %d bytes, not the zip", i, len(bodies[i]))
		}
	}
	if n := w.zipGets.Load(); n != 1 {
		t.Errorf("upstream zip requests: %d, want 1", n)
	}
	objs, uploads := w.objects(t)
	key := m.Path + "/@v/" + m.Version + ".zip"
	if objs[key] != int64(len(m.Zip)) || uploads != 0 {
		t.Errorf("bucket holds %s with %d bytes (want %d), %d incomplete uploads", key, objs[key], len(m.Zip), uploads)
	}
}

// TestReplicasShareTheStore: the go command downloads modules through
// replica A; then, with a fresh module cache and the upstream gone,
// through replica B: everything comes from the shared bucket, and go mod
// verify passes.
func TestReplicasShareTheStore(t *testing.T) {
	set := fixture.Standard()
	w := newReplicaWorld(t, set)
	a := startReplica(t, w.env, "-store", w.store, "-lock", w.lock)
	b := startReplica(t, w.env, "-store", w.store, "-lock", w.lock)

	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/client\n\ngo 1.21\n\nrequire (\n\texample.com/hello v1.1.0\n\texample.com/major/v2 v2.1.0\n)\n"), 0o666)
	os.WriteFile(filepath.Join(dir, "main.go"), []byte("package main\n\nimport (\n\t\"example.com/hello\"\n\t_ \"example.com/major/v2\"\n)\n\nfunc main() { println(hello.Hello()) }\n"), 0o666)
	client := func(proxy string) []string {
		home := t.TempDir()
		return []string{
			"GOPROXY=http://" + proxy, "GOSUMDB=" + w.sdb.Key, "GOFLAGS=-mod=mod", "GOENV=off", "HOME=" + home,
			"GOPATH=" + filepath.Join(home, "go"), "GOMODCACHE=" + filepath.Join(home, "go", "pkg", "mod"),
			"GOPRIVATE=", "GONOPROXY=", "GONOSUMDB=", "GOTOOLCHAIN=local",
		}
	}
	goCommand(t, dir, client(a.addr), "mod", "tidy")
	goCommand(t, dir, client(a.addr), "build", "./...")
	zips := w.zipGets.Load()
	if zips == 0 {
		t.Fatal("no zip fetched from upstream through A")
	}
	w.up.Close() // the upstream is gone
	envB := client(b.addr)
	goCommand(t, dir, envB, "mod", "download")
	goCommand(t, dir, envB, "build", "./...")
	if out := goCommand(t, dir, envB, "mod", "verify"); !strings.Contains(out, "all modules verified") {
		t.Errorf("go mod verify: %s", out)
	}
	if n := w.zipGets.Load(); n != zips {
		t.Errorf("upstream zip requests grew from %d to %d through B", zips, n)
	}
}

// TestReplicaKilledMidFetch: a replica killed (SIGKILL) while it fetches
// a cold zip under its lock: the other replica takes over once the lock
// expires, the go command gets the verified zip, and nothing partial is
// in the bucket.
func TestReplicaKilledMidFetch(t *testing.T) {
	set := fixture.Bulk("killed", 1, 4<<20)
	m := set.Modules()[0]
	w := newReplicaWorld(t, set)
	var first atomic.Bool
	halfway := make(chan struct{})
	w.zipFault = func(rw http.ResponseWriter, r *http.Request) bool {
		if !first.CompareAndSwap(false, true) {
			return false // later requests are served
		}
		rw.Header().Set("Content-Length", fmt.Sprint(len(m.Zip)))
		rw.Write(m.Zip[:len(m.Zip)/2])
		rw.(http.Flusher).Flush()
		close(halfway)
		<-r.Context().Done() // the killed replica's connection closes
		return true
	}
	const ttl = 3 * time.Second
	a := startReplica(t, w.env, "-store", w.store, "-lock", w.lock, "-lock-ttl", ttl.String())
	b := startReplica(t, w.env, "-store", w.store, "-lock", w.lock, "-lock-ttl", ttl.String())
	zipURL := "/" + m.Path + "/@v/" + m.Version + ".zip"
	go func() {
		if resp, err := http.Get("http://" + a.addr + zipURL); err == nil {
			resp.Body.Close()
		}
	}()
	<-halfway
	if err := a.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	a.cmd.Wait()
	start := time.Now()
	resp, err := http.Get("http://" + b.addr + zipURL)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK || !bytes.Equal(body, m.Zip) {
		t.Fatalf("through B after A died: %s, %d bytes, %v", resp.Status, len(body), err)
	}
	t.Logf("B answered %v after A was killed (lock TTL %v)", time.Since(start).Round(time.Millisecond), ttl)
	if n := w.zipGets.Load(); n != 2 {
		t.Errorf("upstream zip requests: %d, want 2 (A's, cut, and B's)", n)
	}
	objs, uploads := w.objects(t)
	key := m.Path + "/@v/" + m.Version + ".zip"
	if objs[key] != int64(len(m.Zip)) || uploads != 0 {
		t.Errorf("bucket holds %s with %d bytes (want %d), %d incomplete uploads", key, objs[key], len(m.Zip), uploads)
	}
	// And the go command takes it from B.
	dir := t.TempDir()
	home := t.TempDir()
	out := goCommand(t, dir, []string{
		"GOPROXY=http://" + b.addr, "GOSUMDB=" + w.sdb.Key, "GOENV=off", "HOME=" + home, "GOFLAGS=",
		"GOPATH=" + filepath.Join(home, "go"), "GOMODCACHE=" + filepath.Join(home, "go", "pkg", "mod"),
		"GOPRIVATE=", "GONOPROXY=", "GONOSUMDB=",
	}, "mod", "download", "-json", m.Path+"@"+m.Version)
	if !strings.Contains(out, `"Sum": "`+m.ZipSum()+`"`) {
		t.Errorf("go mod download: %s", out)
	}
}

// TestReplicaRedirects: with -redirect, the go command downloads modules
// through the replica while the replica sends no zip bytes for zips
// already in the bucket: it redirects to the bucket.
func TestReplicaRedirects(t *testing.T) {
	set := fixture.Standard()
	w := newReplicaWorld(t, set)
	a := startReplica(t, w.env, "-store", w.store, "-lock", w.lock)
	r := startReplica(t, w.env, "-store", w.store, "-lock", w.lock, "-redirect")
	env := func(proxy string) []string {
		home := t.TempDir()
		return []string{
			"GOPROXY=http://" + proxy, "GOSUMDB=" + w.sdb.Key, "GOENV=off", "HOME=" + home, "GOFLAGS=",
			"GOPATH=" + filepath.Join(home, "go"), "GOMODCACHE=" + filepath.Join(home, "go", "pkg", "mod"),
			"GOPRIVATE=", "GONOPROXY=", "GONOSUMDB=",
		}
	}
	mods := []string{"example.com/hello@v1.0.0", "example.com/hello@v1.1.0", "example.com/major/v2@v2.1.0"}
	dir := t.TempDir()
	goCommand(t, dir, env(a.addr), append([]string{"mod", "download"}, mods...)...) // into the bucket
	out := goCommand(t, dir, env(r.addr), append([]string{"mod", "download", "-json"}, mods...)...)
	for _, mv := range mods {
		path, version, _ := strings.Cut(mv, "@")
		if !strings.Contains(out, `"Sum": "`+set.Module(path, version).ZipSum()+`"`) {
			t.Errorf("%s: no verified zip in go mod download's output:\n%s", mv, out)
		}
	}
	// The log is buffered: wait for the three zip records.
	fixture.WaitFor(t, "the zip requests' log records", func() bool {
		return strings.Count(r.logs.String(), ".zip status=") >= len(mods)
	})
	redirected := 0
	for _, line := range strings.Split(r.logs.String(), "\n") {
		if !strings.Contains(line, "msg=request") || !strings.Contains(line, ".zip ") {
			continue
		}
		if !strings.Contains(line, "status=302") {
			t.Errorf("zip not redirected: %s", line)
			continue
		}
		redirected++
		var n int
		if _, err := fmt.Sscanf(line[strings.Index(line, "bytes="):], "bytes=%d", &n); err != nil || n != 0 {
			t.Errorf("redirect sent %d body bytes: %s", n, line)
		}
	}
	if redirected != len(mods) {
		t.Errorf("%d zip requests redirected, want %d:\n%s", redirected, len(mods), r.logs.String())
	}
}

// freeAddr returns a loopback address no one listens on (yet).
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// A service is a private S3 server or Redis the test stops and starts.
type service struct {
	t    *testing.T
	name string
	argv []string
	env  []string
	addr string
	cmd  *exec.Cmd
}

func (s *service) start() {
	s.t.Helper()
	s.cmd = exec.Command(s.argv[0], s.argv[1:]...)
	s.cmd.Env = append(os.Environ(), s.env...)
	s.cmd.Stdout, s.cmd.Stderr = io.Discard, io.Discard
	if err := s.cmd.Start(); err != nil {
		s.t.Fatalf("starting %s: %v", s.name, err)
	}
	s.t.Cleanup(s.stop)
	fixture.WaitFor(s.t, s.name+" to listen", func() bool {
		c, err := net.Dial("tcp", s.addr)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
}

func (s *service) stop() {
	if s.cmd != nil && s.cmd.ProcessState == nil {
		s.cmd.Process.Kill()
		s.cmd.Wait()
	}
}

// versitygw returns the path of the S3 server's binary.
func versitygw(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("MODFETCH_TEST_VERSITYGW"); p != "" {
		return p
	}
	if p, err := exec.LookPath("versitygw"); err == nil {
		return p
	}
	out, err := exec.Command("go", "env", "GOPATH").Output()
	if err == nil {
		p := filepath.Join(strings.TrimSpace(string(out)), "bin", "versitygw")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	t.Fatal("versitygw not found (MODFETCH_TEST_VERSITYGW, PATH, GOPATH/bin): . .ci/services start builds it")
	return ""
}

// TestReplicaOutages: with the bucket's server down, then back, and Redis
// down, then back, every request succeeds; what was fetched while the
// store was down is not in it, what is fetched after is, and the logs say
// what happened.
func TestReplicaOutages(t *testing.T) {
	services(t) // the same tools: skipped or required alike
	redisServer, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatal("redis-server not found: . .ci/services start installs it")
	}
	data := t.TempDir()
	os.MkdirAll(filepath.Join(data, "s3"), 0o777)
	os.MkdirAll(filepath.Join(data, "meta"), 0o777)
	s3 := &service{t: t, name: "versitygw", addr: freeAddr(t)}
	s3.argv = []string{versitygw(t), "--port", s3.addr, "--region", "us-east-1", "posix", "--sidecar", filepath.Join(data, "meta"), filepath.Join(data, "s3")}
	s3.env = []string{"ROOT_ACCESS_KEY_ID=" + os.Getenv("AWS_ACCESS_KEY_ID"), "ROOT_SECRET_ACCESS_KEY=" + os.Getenv("AWS_SECRET_ACCESS_KEY")}
	redis := &service{t: t, name: "redis-server", addr: freeAddr(t)}
	_, port, _ := net.SplitHostPort(redis.addr)
	redis.argv = []string{redisServer, "--bind", "127.0.0.1", "--port", port, "--save", "", "--appendonly", "no"}
	s3.start()
	redis.start()

	set := fixture.Bulk("outage", 6, 64<<10)
	t.Setenv("MODFETCH_TEST_S3_ENDPOINT", s3.addr)
	t.Setenv("MODFETCH_TEST_REDIS", redis.addr)
	w := newReplicaWorld(t, set)
	rep := startReplica(t, w.env, "-store", w.store, "-lock", w.lock)
	mods := set.Modules()
	fetch := func(i int) {
		t.Helper()
		m := mods[i]
		for _, ext := range []string{"info", "mod", "zip"} {
			resp, err := http.Get("http://" + rep.addr + "/" + m.Path + "/@v/" + m.Version + "." + ext)
			if err != nil {
				t.Fatalf("module %d .%s: %v", i, ext, err)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || resp.StatusCode != http.StatusOK {
				t.Fatalf("module %d .%s: %s, %v", i, ext, resp.Status, err)
			}
			if ext == "zip" && !bytes.Equal(body, m.Zip) {
				t.Fatalf("module %d: wrong zip", i)
			}
		}
	}
	stored := func(i int) bool {
		objs, _ := w.objects(t)
		_, ok := objs[mods[i].Path+"/@v/"+mods[i].Version+".zip"]
		return ok
	}

	fetch(0)
	if !stored(0) {
		t.Fatal("module 0 not in the bucket")
	}
	s3.stop()
	fetch(1)                             // from upstream, degraded
	fetch(0)                             // was stored: fetched again from upstream
	rep.waitLog(t, "cache write failed") // the store's outage is logged
	s3.start()
	fetch(2)
	if !stored(2) || stored(1) {
		t.Errorf("after the store came back: module 2 stored %v (want true), module 1 %v (want false)", stored(2), stored(1))
	}

	redis.stop()
	fetch(3)
	rep.waitLog(t, "lock service unavailable")
	redis.start()
	// The replica asks Redis again after its retry delay (5 s): ask for
	// uncached versions (each takes a lock) until it has.
	deadline := time.Now().Add(30 * time.Second)
	for i := 0; !strings.Contains(rep.logs.String(), "lock service back"); i++ {
		if time.Now().After(deadline) {
			t.Fatalf("Redis not used again 30 s after it came back:\n%s", rep.logs.String())
		}
		resp, err := http.Get(fmt.Sprintf("http://%s/%s/@v/v0.0.%d.info", rep.addr, mods[4].Path, i))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Fatalf("unknown version: %s, want 404", resp.Status)
		}
		time.Sleep(250 * time.Millisecond)
	}
	fetch(4)
	if !stored(4) {
		t.Error("module 4 not stored after Redis came back")
	}
}

// TestReplicaPeakRSS: the server's peak resident memory while it streams
// a 100 MB zip cold from upstream through the S3 store stays under 64 MB.
func TestReplicaPeakRSS(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a 100 MB zip")
	}
	set := fixture.Bulk("rss", 1, 100<<20)
	m := set.Modules()[0]
	w := newReplicaWorld(t, set)
	rep := startReplica(t, w.env, "-store", w.store, "-lock", w.lock)
	before := peakRSS(t, rep.cmd.Process.Pid)
	resp, err := http.Get("http://" + rep.addr + "/" + m.Path + "/@v/" + m.Version + ".zip")
	if err != nil {
		t.Fatal(err)
	}
	h := newHashWriter()
	n, err := io.Copy(h, resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK || n != int64(len(m.Zip)) || h.sum() != sha256Sum(m.Zip) {
		t.Fatalf("zip: %s, %d of %d bytes, %v", resp.Status, n, len(m.Zip), err)
	}
	peak := peakRSS(t, rep.cmd.Process.Pid)
	t.Logf("peak RSS of the server: %d MB before, %d MB after streaming a %d MB zip cold through S3", before>>20, peak>>20, len(m.Zip)>>20)
	if peak > 64<<20 {
		t.Errorf("peak RSS %d MB, want under 64 MB", peak>>20)
	}
}

// peakRSS returns the peak resident set size of process pid (VmHWM).
func peakRSS(t *testing.T, pid int) int64 {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatalf("reading the server's memory use: %v", err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			var kb int64
			fmt.Sscanf(strings.TrimSpace(rest), "%d kB", &kb)
			return kb << 10
		}
	}
	t.Fatal("no VmHWM in /proc/PID/status")
	return 0
}

type hashWriter struct{ h hash.Hash }

func newHashWriter() *hashWriter                  { return &hashWriter{sha256.New()} }
func (w *hashWriter) Write(p []byte) (int, error) { return w.h.Write(p) }
func (w *hashWriter) sum() string                 { return hex.EncodeToString(w.h.Sum(nil)) }

func sha256Sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}
