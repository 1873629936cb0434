package cachetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"math/rand/v2"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/iotest"

	"github.com/modfetch/modfetch"
	"github.com/modfetch/modfetch/cache"
)

// Options describes what a store under test may do differently from the
// most capable store. The zero Options expects a store that holds values
// of any size outside memory.
type Options struct {
	// MaxValueSize, when > 0, says the store refuses values larger than
	// this many bytes. If LargeSize is larger, the large-value test
	// expects Put to fail, to leave nothing under the key, and to have
	// read at most MaxValueSize+1 MiB of the value instead of checking
	// memory use.
	//
	// A store that keeps values in memory cannot stream a value through
	// Put within the large-value test's allocation bound, so it must set
	// MaxValueSize below LargeSize.
	MaxValueSize int64

	// LargeSize is the size in bytes of the large value the large-value
	// test streams through Put and Get. Zero means 64 MiB. When the store
	// accepts it, Put and reading it back through Get must each allocate
	// less than LargeSize/4 bytes.
	LargeSize int64
}

// Run runs the conformance tests for a [cache.Store] as subtests of t.
// Each subtest calls newStore for a fresh, empty store; newStore should
// register any cleanup with t.Cleanup and fail t if it cannot make the
// store. Run does not call t.Parallel: the large-value test measures the
// process's allocations, so Run should not share the process with
// parallel tests either.
func Run(t *testing.T, newStore func(t *testing.T) cache.Store, opts Options) {
	t.Helper()
	if opts.LargeSize <= 0 {
		opts.LargeSize = 64 << 20
	}
	tests := []struct {
		name string
		f    func(t *testing.T, newStore func(*testing.T) cache.Store, opts Options)
	}{
		{"GetMissing", testGetMissing},
		{"RoundTrip", testRoundTrip},
		{"Overwrite", testOverwrite},
		{"Delete", testDelete},
		{"DeleteMissing", testDeleteMissing},
		{"Empty", testEmpty},
		{"OddKeys", testOddKeys},
		{"PrefixKeys", testPrefixKeys},
		{"InvalidKeys", testInvalidKeys},
		{"FailingReader", testFailingReader},
		{"CanceledMidway", testCanceledMidway},
		{"CanceledBefore", testCanceledBefore},
		{"ConcurrentOneKey", testConcurrentOneKey},
		{"ConcurrentManyKeys", testConcurrentManyKeys},
		{"OpenReaderStable", testOpenReaderStable},
		{"ReaderExtras", testReaderExtras},
		{"Large", testLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.f(t, func(t *testing.T) cache.Store {
				t.Helper()
				s := newStore(t)
				if s == nil {
					t.Fatal("newStore returned a nil Store")
				}
				return s
			}, opts)
		})
	}
}

// errBoom is the error of failing test readers.
var errBoom = errors.New("cachetest: reader failed on purpose")

func testGetMissing(t *testing.T, newStore func(*testing.T) cache.Store, _ Options) {
	s := newStore(t)
	wantMissing(t, s, "example.com/m/@v/v1.0.0.info")
	// A key below a missing directory and one next to an existing key.
	wantMissing(t, s, "a/b/c/d/e")
	mustPut(t, s, "x/@v/v1.0.0.info", []byte(`{"Version":"v1.0.0"}`))
	wantMissing(t, s, "x/@v/v1.0.1.info")
	wantMissing(t, s, "x/@v/v1.0.0.mod")
	wantMissing(t, s, "x/@v/v1.0.0")
}

func testRoundTrip(t *testing.T, newStore func(*testing.T) cache.Store, _ Options) {
	s := newStore(t)
	for _, tc := range []struct {
		key  string
		size int
	}{
		{"example.com/m/@v/v1.0.0.info", 1},
		{"example.com/m/@v/v1.0.0.mod", 100},
		{"example.com/m/@v/v1.0.0.zip", 1 << 17},
		{"example.com/m/@v/list", 3*32<<10 + 17},
	} {
		val := pattern(uint64(tc.size), tc.size)
		mustPut(t, s, tc.key, val)
		wantValue(t, s, tc.key, val)
	}
}

func testOverwrite(t *testing.T, newStore func(*testing.T) cache.Store, _ Options) {
	s := newStore(t)
	const key = "example.com/m/@latest"
	vals := [][]byte{
		pattern(1, 5000),
		[]byte("short"), // shorter: a store must not keep the old tail
		pattern(2, 70000),
		{},
		[]byte("last"),
	}
	for i, val := range vals {
		mustPut(t, s, key, val)
		if got := mustGet(t, s, key); !bytes.Equal(got, val) {
			t.Fatalf("after Put #%d, Get(%q): %s", i, key, diffBytes(got, val))
		}
	}
}

func testDelete(t *testing.T, newStore func(*testing.T) cache.Store, _ Options) {
	s := newStore(t)
	const key, other = "example.com/m/@v/v1.0.0.mod", "example.com/m/@v/v1.0.1.mod"
	mustPut(t, s, key, []byte("module example.com/m\n"))
	mustPut(t, s, other, []byte("module example.com/m // other\n"))
	mustDelete(t, s, key)
	wantMissing(t, s, key)
	wantValue(t, s, other, []byte("module example.com/m // other\n"))
	mustDelete(t, s, key) // again: now missing
	// A deleted key can be stored again.
	mustPut(t, s, key, []byte("again"))
	wantValue(t, s, key, []byte("again"))
}

func testDeleteMissing(t *testing.T, newStore func(*testing.T) cache.Store, _ Options) {
	s := newStore(t)
	mustDelete(t, s, "never/stored")
	mustDelete(t, s, "example.com/m/@v/v1.0.0.zip")
	wantMissing(t, s, "never/stored")
}

func testEmpty(t *testing.T, newStore func(*testing.T) cache.Store, _ Options) {
	s := newStore(t)
	const key = "example.com/m/@v/list"
	mustPut(t, s, key, nil)
	wantValue(t, s, key, []byte{})
	mustPut(t, s, key, []byte("v1.0.0\n"))
	mustPut(t, s, key, []byte{})
	wantValue(t, s, key, []byte{})
}

// oddKeys are valid keys that stores may find awkward.
func oddKeys() []string {
	return []string{
		"github.com/!burnt!sushi/toml/@v/v1.3.2.zip",
		"example.com/!upper/@v/v1.0.0-!r!c1.info",
		"gopkg.in/yaml.v3/@v/v3.0.0+incompatible.mod",
		"example.com/a~b/@v/list",
		"example.com/a_b-c/@v/v0.0.0-20240101000000-abcdef012345.info",
		"sumdb/sum.golang.org/tile/8/0/x001/234.p/5",
		"sumdb/sum.golang.org/lookup/golang.org/x/mod@v0.40.0",
		strings.Repeat("deep/", 20) + "leaf",
		"long/" + strings.Repeat("e", 200),
		"x",
	}
}

func testOddKeys(t *testing.T, newStore func(*testing.T) cache.Store, _ Options) {
	s := newStore(t)
	keys := oddKeys()
	// Store all before reading any, so that keys that collide in the
	// store show up as wrong values.
	for _, key := range keys {
		mustPut(t, s, key, []byte("value of "+key))
	}
	for _, key := range keys {
		wantValue(t, s, key, []byte("value of "+key))
	}
	for _, key := range keys {
		mustDelete(t, s, key)
		wantMissing(t, s, key)
	}
}

func testPrefixKeys(t *testing.T, newStore func(*testing.T) cache.Store, _ Options) {
	s := newStore(t)
	keys := []string{"a/b/c", "a/b/cd", "a/b/c.d", "a/bc", "a/b/c~", "ab/c"}
	for _, key := range keys {
		mustPut(t, s, key, []byte("value of "+key))
	}
	for _, key := range keys {
		wantValue(t, s, key, []byte("value of "+key))
	}
	mustDelete(t, s, "a/b/c")
	wantMissing(t, s, "a/b/c")
	for _, key := range keys[1:] {
		wantValue(t, s, key, []byte("value of "+key))
	}
}

func testInvalidKeys(t *testing.T, newStore func(*testing.T) cache.Store, _ Options) {
	s := newStore(t)
	ctx := t.Context()
	for _, tc := range []struct {
		key string
		// aliases are valid keys a careless store might have written
		// the value to; they must stay missing.
		aliases []string
	}{
		{"", nil},
		{"/abs", []string{"abs"}},
		{"a/../b", []string{"b", "a/b"}},
		{"a//b", []string{"a/b"}},
		{"./a", []string{"a"}},
		{"a/", []string{"a"}},
		{"a\\b", []string{"a/b", "b"}},
		{"a\x00b", []string{"a", "ab"}},
		{"..", nil},
		{"a/.", []string{"a"}},
	} {
		if err := s.Put(ctx, tc.key, strings.NewReader("invalid")); err == nil {
			t.Errorf("Put(%q) succeeded, want error for an invalid key", tc.key)
		}
		for _, alias := range tc.aliases {
			wantMissing(t, s, alias)
		}
		rc, err := s.Get(ctx, tc.key)
		if err == nil {
			rc.Close()
			t.Errorf("Get(%q) succeeded, want error for an invalid key", tc.key)
		}
		if err := s.Delete(ctx, tc.key); err == nil {
			t.Errorf("Delete(%q) succeeded, want error for an invalid key", tc.key)
		}
	}
}

func testFailingReader(t *testing.T, newStore func(*testing.T) cache.Store, _ Options) {
	for _, n := range []int{0, 100, 300 << 10} {
		for _, prev := range []bool{false, true} {
			t.Run(fmt.Sprintf("after=%d/prev=%v", n, prev), func(t *testing.T) {
				s := newStore(t)
				const key = "example.com/m/@v/v1.0.0.zip"
				old := pattern(7, 50000)
				if prev {
					mustPut(t, s, key, old)
				}
				r := io.MultiReader(bytes.NewReader(pattern(8, n)), iotest.ErrReader(errBoom))
				err := s.Put(t.Context(), key, r)
				if err == nil {
					t.Fatalf("Put from a reader failing after %d bytes succeeded, want error", n)
				}
				if !errors.Is(err, errBoom) {
					t.Errorf("Put from a failing reader: error %q does not wrap the reader's error", err)
				}
				if prev {
					wantValue(t, s, key, old)
				} else {
					wantMissing(t, s, key)
				}
			})
		}
	}
}

// cancelReader reads r and calls cancel once it has returned at least
// after bytes; it keeps returning data afterwards.
type cancelReader struct {
	r      io.Reader
	after  int64
	n      int64
	cancel context.CancelFunc
}

func (c *cancelReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if c.n >= c.after {
		c.cancel()
	}
	return n, err
}

func testCanceledMidway(t *testing.T, newStore func(*testing.T) cache.Store, _ Options) {
	for _, prev := range []bool{false, true} {
		t.Run(fmt.Sprintf("prev=%v", prev), func(t *testing.T) {
			s := newStore(t)
			const key = "example.com/m/@v/v1.0.0.zip"
			old := pattern(9, 40000)
			if prev {
				mustPut(t, s, key, old)
			}
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			r := &cancelReader{r: bytes.NewReader(pattern(10, 1<<20)), after: 64 << 10, cancel: cancel}
			err := s.Put(ctx, key, r)
			wantCanceled(t, err, fmt.Sprintf("Put whose ctx was canceled after %d bytes", r.n))
			wantPrevious(t, s, key, prev, old)
		})
	}
}

// wantCanceled checks that err, of what, wraps context.Canceled.
func wantCanceled(t *testing.T, err error, what string) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s succeeded, want error", what)
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("%s: error %q does not wrap context.Canceled", what, err)
	}
}

// wantPrevious checks that key still has old when prev, else nothing.
func wantPrevious(t *testing.T, s cache.Store, key string, prev bool, old []byte) {
	t.Helper()
	if prev {
		wantValue(t, s, key, old)
	} else {
		wantMissing(t, s, key)
	}
}

func testCanceledBefore(t *testing.T, newStore func(*testing.T) cache.Store, _ Options) {
	for _, prev := range []bool{false, true} {
		t.Run(fmt.Sprintf("prev=%v", prev), func(t *testing.T) {
			s := newStore(t)
			const key = "example.com/m/@v/v1.0.0.mod"
			old := []byte("module example.com/m\n")
			if prev {
				mustPut(t, s, key, old)
			}
			ctx, cancel := context.WithCancel(t.Context())
			cancel()
			for _, val := range [][]byte{{}, []byte("module example.com/m // new\n")} {
				err := s.Put(ctx, key, bytes.NewReader(val))
				wantCanceled(t, err, fmt.Sprintf("Put of %d bytes with an already canceled ctx", len(val)))
			}
			wantPrevious(t, s, key, prev, old)
		})
	}
}

// selfCheckHeaderLen is the length of the header of a self-checking
// value: the body length in 8 decimal digits, a space, the hex SHA-256 of
// the body and a newline.
const selfCheckHeaderLen = 8 + 1 + 64 + 1

// selfChecking returns a value that carries its own length and hash,
// with a body of size pseudo-random bytes from seed.
func selfChecking(seed uint64, size int) []byte {
	body := pattern(seed, size)
	sum := sha256.Sum256(body)
	v := fmt.Appendf(nil, "%08d %x\n", len(body), sum)
	return append(v, body...)
}

// checkSelfChecking reports whether v is a whole value made by
// selfChecking, returning the hash of its body.
func checkSelfChecking(v []byte) ([sha256.Size]byte, error) {
	var sum [sha256.Size]byte
	if len(v) < selfCheckHeaderLen {
		return sum, fmt.Errorf("value of %d bytes is shorter than its header", len(v))
	}
	hdr, body := v[:selfCheckHeaderLen], v[selfCheckHeaderLen:]
	n, err := strconv.Atoi(string(hdr[:8]))
	if err != nil || hdr[8] != ' ' || hdr[len(hdr)-1] != '\n' {
		return sum, fmt.Errorf("value has a corrupt header %q", hdr)
	}
	if n != len(body) {
		return sum, fmt.Errorf("value has a body of %d bytes, its header says %d", len(body), n)
	}
	sum = sha256.Sum256(body)
	if want := fmt.Sprintf("%x", sum); string(hdr[9:9+64]) != want {
		return sum, fmt.Errorf("value body (%d bytes) hashes to %s, its header says %s", len(body), want, hdr[9:9+64])
	}
	return sum, nil
}

func testConcurrentOneKey(t *testing.T, newStore func(*testing.T) cache.Store, _ Options) {
	s := newStore(t)
	ctx := t.Context()
	const (
		key     = "example.com/m/@v/v1.0.0.zip"
		writers = 8
		puts    = 4
		readers = 8
	)
	sizes := []int{0, 1, 100, 4096, 65535, 300000, 1 << 20, 777777, 32 << 10, 123456}
	seed := func(w, i int) uint64 { return uint64(1000 + w*puts + i) }
	size := func(w, i int) int { return sizes[(w*puts+i)%len(sizes)] }

	// Every value that may be read, by body hash.
	written := make(map[[sha256.Size]byte]bool)
	first := selfChecking(1, 5000)
	written[sha256.Sum256(first[selfCheckHeaderLen:])] = true
	for w := range writers {
		for i := range puts {
			v := selfChecking(seed(w, i), size(w, i))
			written[sha256.Sum256(v[selfCheckHeaderLen:])] = true
		}
	}
	mustPut(t, s, key, first)

	var done atomic.Bool
	var reads atomic.Int64
	var wgReaders, wgWriters sync.WaitGroup
	for range readers {
		wgReaders.Go(func() {
			for {
				stop := done.Load() // read once more after the writers are done
				rc, err := s.Get(ctx, key)
				if err != nil {
					t.Errorf("Get during concurrent Puts: %v", err)
					return
				}
				v, err := io.ReadAll(rc)
				rc.Close()
				if err != nil {
					t.Errorf("reading value during concurrent Puts: %v", err)
					return
				}
				sum, err := checkSelfChecking(v)
				if err != nil {
					t.Errorf("Get during concurrent Puts returned a torn or wrong value: %v", err)
					return
				}
				if !written[sum] {
					t.Errorf("Get during concurrent Puts returned a value (%d bytes) that was never written", len(v))
					return
				}
				reads.Add(1)
				if stop {
					return
				}
			}
		})
	}
	for w := range writers {
		wgWriters.Go(func() {
			for i := range puts {
				v := selfChecking(seed(w, i), size(w, i))
				if err := s.Put(ctx, key, bytes.NewReader(v)); err != nil {
					t.Errorf("concurrent Put #%d of writer %d: %v", i, w, err)
				}
			}
		})
	}
	wgWriters.Wait()
	done.Store(true)
	wgReaders.Wait()
	if t.Failed() {
		return
	}
	if n := reads.Load(); n < readers {
		t.Errorf("%d readers made only %d successful reads", readers, n)
	}
	// The final value is one of the last values written.
	v := mustGet(t, s, key)
	sum, err := checkSelfChecking(v)
	if err != nil {
		t.Fatalf("after concurrent Puts: %v", err)
	}
	last := false
	for w := range writers {
		lv := selfChecking(seed(w, puts-1), size(w, puts-1))
		if sha256.Sum256(lv[selfCheckHeaderLen:]) == sum {
			last = true
		}
	}
	if !last {
		t.Errorf("after concurrent Puts, the value is not the last value of any writer")
	}
}

func testConcurrentManyKeys(t *testing.T, newStore func(*testing.T) cache.Store, _ Options) {
	s := newStore(t)
	ctx := t.Context()
	const goroutines, n = 8, 200
	key := func(i int) string {
		// Keys share directories, so that stores that create them race.
		return fmt.Sprintf("example.com/many%d/@v/v1.0.%d.mod", i%5, i)
	}
	val := func(i int) []byte { return pattern(uint64(i), 100+i*37) }
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := g; i < n; i += goroutines {
				if err := s.Put(ctx, key(i), bytes.NewReader(val(i))); err != nil {
					t.Errorf("concurrent Put(%q): %v", key(i), err)
				}
			}
		})
	}
	wg.Wait()
	for i := range n {
		wantValue(t, s, key(i), val(i))
	}
}

func testOpenReaderStable(t *testing.T, newStore func(*testing.T) cache.Store, _ Options) {
	s := newStore(t)
	ctx := t.Context()
	const key = "example.com/m/@v/v1.0.0.zip"
	old := pattern(11, 300<<10)
	mustPut(t, s, key, old)

	rc, err := s.Get(ctx, key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	defer rc.Close()
	// A second reader that has read nothing yet.
	rc2, err := s.Get(ctx, key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	defer rc2.Close()

	head := make([]byte, 1000)
	if _, err := io.ReadFull(rc, head); err != nil {
		t.Fatalf("reading the first %d bytes: %v", len(head), err)
	}
	mustPut(t, s, key, pattern(12, 200<<10))
	mustDelete(t, s, key)
	wantMissing(t, s, key)

	rest, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("reading the rest of a value after it was overwritten and deleted: %v", err)
	}
	if got := append(head, rest...); !bytes.Equal(got, old) {
		t.Errorf("reader opened before overwrite and delete: %s", diffBytes(got, old))
	}
	got2, err := io.ReadAll(rc2)
	if err != nil {
		t.Fatalf("reading a value after it was overwritten and deleted: %v", err)
	}
	if !bytes.Equal(got2, old) {
		t.Errorf("second reader opened before overwrite and delete: %s", diffBytes(got2, old))
	}
}

func testReaderExtras(t *testing.T, newStore func(*testing.T) cache.Store, _ Options) {
	s := newStore(t)
	ctx := t.Context()
	const key = "example.com/m/@v/v1.0.0.zip"
	val := pattern(13, 10000)
	mustPut(t, s, key, val)

	rc, err := s.Get(ctx, key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	defer rc.Close()
	var checked []string

	if st, ok := modfetch.As[modfetch.Stater](rc); ok {
		checked = append(checked, "Stat")
		fi, err := st.Stat()
		if err != nil {
			t.Errorf("Stat: %v", err)
		} else if fi.Size() != int64(len(val)) {
			t.Errorf("Stat().Size() = %d, want %d", fi.Size(), len(val))
		} else if fi.IsDir() {
			t.Errorf("Stat().IsDir() = true for a value")
		}
	}

	if ra, ok := modfetch.As[io.ReaderAt](rc); ok {
		checked = append(checked, "ReadAt")
		p := make([]byte, 100)
		if n, err := ra.ReadAt(p, 5000); n != len(p) || err != nil {
			t.Errorf("ReadAt(100 bytes, 5000) = %d, %v; want 100, nil", n, err)
		} else if !bytes.Equal(p, val[5000:5100]) {
			t.Errorf("ReadAt(100 bytes, 5000): %s", diffBytes(p, val[5000:5100]))
		}
		p = make([]byte, 20)
		n, err := ra.ReadAt(p, int64(len(val))-10)
		if n != 10 || err == nil {
			t.Errorf("ReadAt(20 bytes, len-10) = %d, %v; want 10 and an error (io.EOF)", n, err)
		} else if !bytes.Equal(p[:n], val[len(val)-10:]) {
			t.Errorf("ReadAt(20 bytes, len-10): %s", diffBytes(p[:n], val[len(val)-10:]))
		}
	}

	if sk, ok := modfetch.As[io.Seeker](rc); ok {
		checked = append(checked, "Seek")
		seek := func(off int64, whence int, want int64) {
			t.Helper()
			got, err := sk.Seek(off, whence)
			if err != nil || got != want {
				t.Fatalf("Seek(%d, %d) = %d, %v; want %d, nil", off, whence, got, err, want)
			}
		}
		seek(1234, io.SeekStart, 1234)
		p := make([]byte, 100)
		if _, err := io.ReadFull(rc, p); err != nil {
			t.Fatalf("reading after Seek: %v", err)
		}
		if !bytes.Equal(p, val[1234:1334]) {
			t.Errorf("reading 100 bytes after Seek(1234, io.SeekStart): %s", diffBytes(p, val[1234:1334]))
		}
		seek(0, io.SeekCurrent, 1334)
		seek(-10, io.SeekEnd, int64(len(val))-10)
		rest, err := io.ReadAll(rc)
		if err != nil {
			t.Fatalf("reading after Seek: %v", err)
		}
		if !bytes.Equal(rest, val[len(val)-10:]) {
			t.Errorf("reading after Seek(-10, io.SeekEnd): %s", diffBytes(rest, val[len(val)-10:]))
		}
		seek(0, io.SeekStart, 0)
		all, err := io.ReadAll(rc)
		if err != nil {
			t.Fatalf("reading after Seek: %v", err)
		}
		if !bytes.Equal(all, val) {
			t.Errorf("reading after Seek(0, io.SeekStart): %s", diffBytes(all, val))
		}
	}
	if len(checked) == 0 {
		t.Logf("the reader %T implements none of Stat, io.ReaderAt and io.Seeker; nothing to check", rc)
	}
}

// genReader produces n pseudo-random bytes from a seeded generator
// without holding them, hashing what it produced.
type genReader struct {
	rng      *rand.ChaCha8
	left     int64
	produced int64
	h        hash.Hash
}

func newGenReader(seed uint64, n int64) *genReader {
	var s [32]byte
	binary.LittleEndian.PutUint64(s[:], seed)
	return &genReader{rng: rand.NewChaCha8(s), left: n, h: sha256.New()}
}

func (g *genReader) Read(p []byte) (int, error) {
	if g.left == 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > g.left {
		p = p[:g.left]
	}
	g.rng.Read(p)
	g.h.Write(p)
	g.left -= int64(len(p))
	g.produced += int64(len(p))
	return len(p), nil
}

func testLarge(t *testing.T, newStore func(*testing.T) cache.Store, opts Options) {
	s := newStore(t)
	ctx := t.Context()
	const key = "example.com/large/@v/v1.0.0.zip"
	size := opts.LargeSize
	gen := newGenReader(uint64(size), size)

	if opts.MaxValueSize > 0 && size > opts.MaxValueSize {
		err := s.Put(ctx, key, gen)
		if err == nil {
			t.Fatalf("Put of %d bytes succeeded, want error: Options.MaxValueSize is %d", size, opts.MaxValueSize)
		}
		wantMissing(t, s, key)
		if limit := opts.MaxValueSize + 1<<20; gen.produced > limit {
			t.Errorf("Put of a value over MaxValueSize (%d bytes) read %d bytes of it, want at most %d",
				opts.MaxValueSize, gen.produced, limit)
		}
		return
	}

	bound := uint64(size / 4)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	err := s.Put(ctx, key, gen)
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatalf("Put of %d bytes: %v", size, err)
	}
	if gen.produced != size {
		t.Fatalf("Put of %d bytes returned after reading only %d", size, gen.produced)
	}
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("Put of %d bytes allocated %d bytes", size, alloc)
	if alloc >= bound {
		t.Errorf("Put of %d bytes allocated %d bytes, want less than %d: it must stream", size, alloc, bound)
	}
	want := gen.h.Sum(nil)

	runtime.GC()
	runtime.ReadMemStats(&before)
	rc, err := s.Get(ctx, key)
	if err != nil {
		t.Fatalf("Get of a %d-byte value: %v", size, err)
	}
	h := sha256.New()
	n, err := io.Copy(h, rc)
	cerr := rc.Close()
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatalf("reading a %d-byte value: %v", size, err)
	}
	if cerr != nil {
		t.Errorf("closing the reader: %v", cerr)
	}
	if n != size {
		t.Fatalf("read %d bytes of a %d-byte value", n, size)
	}
	if got := h.Sum(nil); !bytes.Equal(got, want) {
		t.Fatalf("the %d-byte value read back hashes to %x, want %x", size, got, want)
	}
	alloc = after.TotalAlloc - before.TotalAlloc
	t.Logf("reading %d bytes allocated %d bytes", size, alloc)
	if alloc >= bound {
		t.Errorf("reading a %d-byte value allocated %d bytes, want less than %d: it must stream", size, alloc, bound)
	}

	mustDelete(t, s, key)
	wantMissing(t, s, key)
}

// pattern returns size pseudo-random bytes determined by seed.
func pattern(seed uint64, size int) []byte {
	var s [32]byte
	binary.LittleEndian.PutUint64(s[:], seed)
	binary.LittleEndian.PutUint64(s[8:], uint64(size))
	b := make([]byte, size)
	rand.NewChaCha8(s).Read(b)
	return b
}

// diffBytes describes how got differs from want without printing
// megabytes.
func diffBytes(got, want []byte) string {
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	if i == len(got) && i == len(want) {
		return "values are equal"
	}
	return fmt.Sprintf("got %d bytes, want %d; they differ from offset %d on", len(got), len(want), i)
}

func mustPut(t *testing.T, s cache.Store, key string, val []byte) {
	t.Helper()
	if err := s.Put(t.Context(), key, bytes.NewReader(val)); err != nil {
		t.Fatalf("Put(%q, %d bytes): %v", key, len(val), err)
	}
}

func mustGet(t *testing.T, s cache.Store, key string) []byte {
	t.Helper()
	rc, err := s.Get(t.Context(), key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	if rc == nil {
		t.Fatalf("Get(%q) returned a nil reader and no error", key)
	}
	val, err := io.ReadAll(rc)
	if cerr := rc.Close(); cerr != nil {
		t.Errorf("Get(%q): Close: %v", key, cerr)
	}
	if err != nil {
		t.Fatalf("Get(%q): reading: %v", key, err)
	}
	return val
}

func mustDelete(t *testing.T, s cache.Store, key string) {
	t.Helper()
	if err := s.Delete(t.Context(), key); err != nil {
		t.Fatalf("Delete(%q): %v", key, err)
	}
}

func wantValue(t *testing.T, s cache.Store, key string, want []byte) {
	t.Helper()
	if got := mustGet(t, s, key); !bytes.Equal(got, want) {
		t.Errorf("Get(%q): %s", key, diffBytes(got, want))
	}
}

func wantMissing(t *testing.T, s cache.Store, key string) {
	t.Helper()
	rc, err := s.Get(t.Context(), key)
	if err == nil {
		val, _ := io.ReadAll(rc)
		rc.Close()
		t.Errorf("Get(%q) returned a value of %d bytes, want an error for a missing key", key, len(val))
		return
	}
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Get(%q) of a missing key: error %q does not satisfy errors.Is(err, fs.ErrNotExist)", key, err)
	}
}
