package s3store

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/iotest"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/modfetch/modfetch/cache"
	"github.com/modfetch/modfetch/cache/cachetest"
)

// The S3 service the tests use, from the environment.
const (
	envEndpoint = "MODFETCH_TEST_S3_ENDPOINT" // host:port, plain HTTP
	envBucket   = "MODFETCH_TEST_S3_BUCKET"   // created if missing
	envServices = "MODFETCH_TEST_SERVICES"    // "required": no skipping
)

// testService returns the endpoint and bucket of the test service, or
// skips t (fails it under MODFETCH_TEST_SERVICES=required) if they are
// not set.
func testService(t testing.TB) (endpoint, bucket string) {
	t.Helper()
	endpoint, bucket = os.Getenv(envEndpoint), os.Getenv(envBucket)
	var missing []string
	for _, v := range []string{envEndpoint, envBucket, "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} {
		if os.Getenv(v) == "" {
			missing = append(missing, v)
		}
	}
	if len(missing) > 0 {
		msg := fmt.Sprintf("no S3 service to test against: set %s (see doc.go: Testing)", strings.Join(missing, ", "))
		if os.Getenv(envServices) == "required" {
			t.Fatalf("%s=required: %s", envServices, msg)
		}
		t.Skip(msg)
	}
	return endpoint, bucket
}

var prefixSeq atomic.Int64

// uniquePrefix returns a prefix no other test or run uses.
func uniquePrefix(t testing.TB) string {
	name := strings.Map(func(r rune) rune {
		if 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '-' {
			return r
		}
		return '-'
	}, t.Name())
	return fmt.Sprintf("modfetch-test/%s-%d-%d/", name, time.Now().UnixNano(), prefixSeq.Add(1))
}

// newTestStore returns a Store on a fresh prefix of the test bucket. If
// client is nil, the Store makes its own, with credentials from the
// environment. Afterwards it checks that no incomplete upload is left
// under the prefix and removes the prefix's objects.
func newTestStore(t testing.TB, client *minio.Client) *Store {
	t.Helper()
	endpoint, bucket := testService(t)
	s := &Store{
		Client:   client,
		Endpoint: endpoint,
		Insecure: true,
		Bucket:   bucket,
		Prefix:   uniquePrefix(t),
		PartSize: MinPartSize,
	}
	if err := s.CreateBucket(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx := context.Background()
		c, _ := s.minioClient()
		if n := incompleteUploads(t, c, bucket, s.Prefix); n > 0 {
			t.Errorf("%d incomplete multipart uploads left under %s", n, s.Prefix)
		}
		for obj := range c.ListObjects(ctx, bucket, minio.ListObjectsOptions{Prefix: s.Prefix, Recursive: true}) {
			if obj.Err != nil {
				t.Logf("listing %s: %v", s.Prefix, obj.Err)
				break
			}
			c.RemoveObject(ctx, bucket, obj.Key, minio.RemoveObjectOptions{})
		}
	})
	return s
}

// incompleteUploads counts the multipart uploads in progress under
// prefix.
func incompleteUploads(t testing.TB, c *minio.Client, bucket, prefix string) int {
	t.Helper()
	n := 0
	for u := range c.ListIncompleteUploads(context.Background(), bucket, prefix, true) {
		if u.Err != nil {
			t.Errorf("listing incomplete uploads: %v", u.Err)
			return n
		}
		n++
	}
	return n
}

func TestConformance(t *testing.T) {
	testService(t)
	cachetest.Run(t, func(t *testing.T) cache.Store {
		return newTestStore(t, nil)
	}, cachetest.Options{LargeSize: 64 << 20})
}

func TestGetMissing(t *testing.T) {
	s := newTestStore(t, nil)
	_, err := s.Get(t.Context(), "example.com/m/@v/v1.0.0.zip")
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Get of a missing key: %v, want errors.Is(err, fs.ErrNotExist)", err)
	}
	var resp minio.ErrorResponse
	if !errors.As(err, &resp) || resp.StatusCode != http.StatusNotFound {
		t.Errorf("Get of a missing key: %v does not carry the service's 404 answer", err)
	}
}

// randomBytes returns n random bytes.
func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// cancelAfter calls cancel once n bytes have been read through it.
type cancelAfter struct {
	r      io.Reader
	n      int64
	cancel context.CancelFunc
}

func (c *cancelAfter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n -= int64(n)
	if c.n <= 0 {
		c.cancel()
	}
	return n, err
}

// TestPutInterrupted interrupts multipart uploads after some parts went
// out: the object must not appear and no upload must be left.
func TestPutInterrupted(t *testing.T) {
	s := newTestStore(t, nil)
	c, _ := s.minioClient()
	const key = "example.com/m/@v/v1.0.0.zip"
	size := 4*MinPartSize + 1000
	after := 2*MinPartSize + 100 // in the third part
	val := randomBytes(size)

	t.Run("canceled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		r := &cancelAfter{r: bytes.NewReader(val), n: int64(after), cancel: cancel}
		err := s.Put(ctx, key, r)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Put canceled after %d bytes: %v, want context.Canceled", after, err)
		}
	})
	t.Run("reader-fails", func(t *testing.T) {
		boom := errors.New("boom")
		r := io.MultiReader(bytes.NewReader(val[:after]), iotest.ErrReader(boom))
		err := s.Put(t.Context(), key, r)
		if !errors.Is(err, boom) {
			t.Fatalf("Put from a reader failing after %d bytes: %v, want the reader's error", after, err)
		}
	})
	t.Run("deadline", func(t *testing.T) {
		// The deadline passes while Put waits for the reader, after
		// two parts went out.
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		r := io.MultiReader(bytes.NewReader(val[:after]), &slowReader{ctx: ctx, r: bytes.NewReader(val[after:])})
		err := s.Put(ctx, key, r)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Put past its deadline: %v, want context.DeadlineExceeded", err)
		}
	})
	if _, err := s.Get(t.Context(), key); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("after interrupted Puts, Get: %v, want fs.ErrNotExist", err)
	}
	if n := incompleteUploads(t, c, s.Bucket, s.Prefix); n != 0 {
		t.Errorf("after interrupted Puts, %d incomplete multipart uploads are left", n)
	}
	// A whole Put of the same value works and is multipart.
	if err := s.Put(t.Context(), key, bytes.NewReader(val)); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, s, key); !bytes.Equal(got, val) {
		t.Errorf("value read back differs")
	}
}

// slowReader gives nothing until ctx is done, then fails.
type slowReader struct {
	ctx context.Context
	r   io.Reader
}

func (s *slowReader) Read(p []byte) (int, error) {
	<-s.ctx.Done()
	return 0, s.ctx.Err()
}

func readAll(t *testing.T, s *Store, key string) []byte {
	t.Helper()
	rc, err := s.Get(t.Context(), key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("reading %q: %v", key, err)
	}
	return b
}

// countingTransport counts the requests it sends and the body bytes the
// client reads.
type countingTransport struct {
	base     *http.Transport
	requests atomic.Int64
	read     atomic.Int64 // body bytes read
}

func (c *countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := c.base.RoundTrip(req)
	c.requests.Add(1)
	if err != nil {
		return nil, err
	}
	resp.Body = &countingBody{ReadCloser: resp.Body, n: &c.read}
	return resp, nil
}

type countingBody struct {
	io.ReadCloser
	n *atomic.Int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n.Add(int64(n))
	return n, err
}

// countingClient returns a client of endpoint that counts its requests.
func countingClient(t testing.TB, endpoint string) (*minio.Client, *countingTransport) {
	t.Helper()
	ct := &countingTransport{base: NewTransport()}
	c, err := minio.New(endpoint, &minio.Options{
		Creds:     credentials.NewEnvAWS(),
		Transport: ct,
	})
	if err != nil {
		t.Fatal(err)
	}
	return c, ct
}

// A countingProxy forwards TCP connections to a server and counts the
// bytes it passes from the server to the clients: what the network
// carried to them, whatever the clients read of it.
type countingProxy struct {
	ln     net.Listener
	down   atomic.Int64 // bytes sent to clients so far
	active atomic.Int64 // connections open
}

// countingWriter adds what it writes to n.
type countingWriter struct {
	w io.Writer
	n *atomic.Int64
}

func (c countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n.Add(int64(n))
	return n, err
}

func newCountingProxy(t testing.TB, target string) *countingProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &countingProxy{ln: ln}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.active.Add(1)
			wg.Go(func() {
				defer p.active.Add(-1)
				defer c.Close()
				u, err := net.Dial("tcp", target)
				if err != nil {
					return
				}
				defer u.Close()
				go func() {
					io.Copy(u, c)
					u.Close()
				}()
				io.Copy(countingWriter{c, &p.down}, u)
			})
		}
	})
	return p
}

// TestRangeReads checks that ReadAt and Seek read a few bytes of a large
// object without transferring the object. Get asks for all of it, and
// the reader drops that response at the first read elsewhere than at 0,
// so what comes over the network is what the network buffers held by
// then (0.1 to 4 MB on loopback) and the few ranged GETs.
func TestRangeReads(t *testing.T) {
	endpoint, _ := testService(t)
	proxy := newCountingProxy(t, endpoint)
	c, ct := countingClient(t, proxy.ln.Addr().String())
	s := newTestStore(t, c)
	const key = "example.com/big/@v/v1.0.0.zip"
	const size = 64 << 20
	val := randomBytes(size)
	if err := s.Put(t.Context(), key, bytes.NewReader(val)); err != nil {
		t.Fatal(err)
	}

	for _, how := range []string{"ReadAt", "Seek"} {
		t.Run(how, func(t *testing.T) {
			down0, read0, req0 := proxy.down.Load(), ct.read.Load(), ct.requests.Load()
			rc, err := s.Get(t.Context(), key)
			if err != nil {
				t.Fatal(err)
			}
			fi, err := rc.(interface{ Stat() (fs.FileInfo, error) }).Stat()
			if err != nil || fi.Size() != size || fi.ModTime().IsZero() {
				t.Fatalf("Stat() = %v, %v; want size %d and a modification time", fi, err, size)
			}
			p := make([]byte, 1024)
			for _, off := range []int64{10 << 20, 3 << 20, size - 1024} {
				switch how {
				case "ReadAt":
					if _, err := rc.(io.ReaderAt).ReadAt(p, off); err != nil {
						t.Fatalf("ReadAt(1 KiB, %d): %v", off, err)
					}
				case "Seek":
					if _, err := rc.(io.Seeker).Seek(off, io.SeekStart); err != nil {
						t.Fatal(err)
					}
					if _, err := io.ReadFull(rc, p); err != nil {
						t.Fatalf("Read of 1 KiB at %d: %v", off, err)
					}
				}
				if !bytes.Equal(p, val[off:off+1024]) {
					t.Fatalf("1 KiB at %d: wrong bytes", off)
				}
			}
			rc.Close()
			// Every byte the proxy sends is counted once all
			// connections have ended.
			ct.base.CloseIdleConnections()
			deadline := time.Now().Add(10 * time.Second)
			for proxy.active.Load() > 0 {
				if time.Now().After(deadline) {
					t.Fatalf("%d connections still open 10 s after the reader was closed", proxy.active.Load())
				}
				time.Sleep(10 * time.Millisecond)
			}
			down := proxy.down.Load() - down0
			if down < 3*1024 {
				t.Fatalf("the proxy counted %d bytes, fewer than the 3 KiB read: it does not see the store's traffic", down)
			}
			t.Logf("3 reads of 1 KiB of a %d-byte object: %d requests; %d bytes came over the network, %d were read",
				size, ct.requests.Load()-req0, down, ct.read.Load()-read0)
			if down > size/8 {
				t.Errorf("3 reads of 1 KiB of a %d-byte object transferred %d bytes, want at most %d", size, down, size/8)
			}
		})
	}
}

// TestSequentialReads checks that reading a large value through uses few
// requests and that ReadAt in order reads from the open window.
func TestSequentialReads(t *testing.T) {
	endpoint, _ := testService(t)
	c, ct := countingClient(t, endpoint)
	s := newTestStore(t, c)
	const key = "example.com/big/@v/v1.0.0.zip"
	val := randomBytes(40 << 20)
	if err := s.Put(t.Context(), key, bytes.NewReader(val)); err != nil {
		t.Fatal(err)
	}
	before := ct.requests.Load()
	if got := readAll(t, s, key); !bytes.Equal(got, val) {
		t.Fatal("value read back differs")
	}
	seq := ct.requests.Load() - before

	rc, err := s.Get(t.Context(), key)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	before = ct.requests.Load()
	ra := rc.(io.ReaderAt)
	p := make([]byte, 4096)
	for off := int64(5 << 20); off < 10<<20; off += int64(len(p)) + 100 { // small gaps, as in a zip
		if _, err := ra.ReadAt(p, off); err != nil || !bytes.Equal(p, val[off:off+int64(len(p))]) {
			t.Fatalf("ReadAt(%d): %v or wrong bytes", off, err)
		}
	}
	readAts := ct.requests.Load() - before
	t.Logf("reading 40 MiB took %d requests; 5 MiB of 4 KiB ReadAts took %d", seq, readAts)
	if seq > 10 || readAts > 10 {
		t.Errorf("too many requests: %d to read 40 MiB, %d for 5 MiB of ReadAts", seq, readAts)
	}
}

// TestReaderChanged checks that a reader whose object is replaced fails
// with ErrChanged rather than mix two values.
func TestReaderChanged(t *testing.T) {
	s := newTestStore(t, nil)
	const key = "example.com/big/@v/v1.0.0.zip"
	old := randomBytes(3 << 20)
	if err := s.Put(t.Context(), key, bytes.NewReader(old)); err != nil {
		t.Fatal(err)
	}
	rc, err := s.Get(t.Context(), key)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	p := make([]byte, 1000)
	if _, err := rc.(io.ReaderAt).ReadAt(p, 2<<20); err != nil || !bytes.Equal(p, old[2<<20:2<<20+1000]) {
		t.Fatalf("ReadAt before the change: %v or wrong bytes", err)
	}
	if err := s.Put(t.Context(), key, bytes.NewReader(randomBytes(3<<20))); err != nil {
		t.Fatal(err)
	}
	_, err = rc.(io.ReaderAt).ReadAt(p, 1<<20)
	if !errors.Is(err, ErrChanged) {
		t.Fatalf("ReadAt after the object was replaced: %v, want ErrChanged", err)
	}
}

func TestSignedURL(t *testing.T) {
	s := newTestStore(t, nil)
	const key = "github.com/!burnt!sushi/toml/@v/v1.3.2+incompatible.zip"
	val := randomBytes(100 << 10)
	if err := s.Put(t.Context(), key, bytes.NewReader(val)); err != nil {
		t.Fatal(err)
	}
	var signer cache.URLSigner = s
	u, err := signer.SignedURL(t.Context(), key, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || !bytes.Equal(got, val) {
		t.Fatalf("GET of the signed URL: %s, %d bytes, want 200 and the value (%d bytes)", resp.Status, len(got), len(val))
	}
	// Without its signature the URL is refused.
	plain := *u
	plain.RawQuery = ""
	resp2, err := http.Get(plain.String())
	if err != nil {
		t.Fatal(err)
	}
	resp2.Body.Close()
	if resp2.StatusCode == http.StatusOK {
		t.Errorf("GET of the URL without its signature succeeded")
	}
	// A key with no object is not signed.
	if u, err := signer.SignedURL(t.Context(), "example.com/absent/@v/v1.0.0.zip", time.Minute); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("SignedURL of a missing key = %v, %v; want fs.ErrNotExist", u, err)
	}
}

// TestServiceDown checks that calls to an endpoint where nothing listens
// fail within a few seconds.
func TestServiceDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	s := &Store{
		Endpoint:    addr,
		Insecure:    true,
		Region:      "us-east-1",
		Bucket:      "down",
		Credentials: credentials.NewStaticV4("id", "secret", ""),
	}
	const bound = 5 * time.Second
	for _, op := range []struct {
		name string
		f    func(context.Context) error
	}{
		{"Get", func(ctx context.Context) error { _, err := s.Get(ctx, "x/@v/list"); return err }},
		{"Put", func(ctx context.Context) error { return s.Put(ctx, "x/@v/list", strings.NewReader("v1.0.0\n")) }},
		{"Delete", func(ctx context.Context) error { return s.Delete(ctx, "x/@v/list") }},
	} {
		start := time.Now()
		err := op.f(t.Context())
		d := time.Since(start)
		t.Logf("%s with the service down: %v after %v", op.name, err, d)
		if err == nil {
			t.Errorf("%s with the service down succeeded", op.name)
		} else if errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s with the service down: %v is not-found, want another error", op.name, err)
		}
		if d > bound {
			t.Errorf("%s with the service down took %v, want less than %v", op.name, d, bound)
		}
	}
}

func TestNoBucket(t *testing.T) {
	var s Store
	if _, err := s.Get(t.Context(), "a"); err == nil {
		t.Error("Get of a Store with no Bucket succeeded")
	}
	if err := s.Put(t.Context(), "a", strings.NewReader("x")); err == nil {
		t.Error("Put of a Store with no Bucket succeeded")
	}
}
