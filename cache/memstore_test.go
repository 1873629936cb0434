package cache_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/modfetch/modfetch"
	"github.com/modfetch/modfetch/cache"
	"github.com/modfetch/modfetch/cache/cachetest"
)

func TestMemStoreConformance(t *testing.T) {
	cachetest.Run(t, func(t *testing.T) cache.Store {
		return &cache.MemStore{MaxBytes: 8 << 20}
	}, cachetest.Options{MaxValueSize: 8 << 20, LargeSize: 32 << 20})
}

func TestMemStoreDefaultConformance(t *testing.T) {
	// The zero MemStore holds 64 MiB.
	cachetest.Run(t, func(t *testing.T) cache.Store {
		return new(cache.MemStore)
	}, cachetest.Options{MaxValueSize: 64 << 20, LargeSize: 80 << 20})
}

// TestMemStoreLRU runs scripts of operations on a store of 1000 bytes
// and checks which keys survive.
//
// Script steps: "put k n" stores n bytes under k; "get k" reads k (which
// must exist); "del k" deletes k; "fail k n" attempts a Put of n bytes
// from a reader failing at the end, which must fail; "big k n" attempts a
// Put of n bytes, which must fail with ErrTooLarge.
func TestMemStoreLRU(t *testing.T) {
	for _, tc := range []struct {
		name   string
		script string
		want   string // surviving keys with their sizes, sorted: "a=400 b=400"
	}{
		{"fits", "put a 400; put b 400", "a=400 b=400"},
		{"evicts oldest", "put a 400; put b 400; put c 400", "b=400 c=400"},
		{"evicts several", "put a 300; put b 300; put c 300; put d 900", "d=900"},
		{"get refreshes", "put a 400; put b 400; get a; put c 400", "a=400 c=400"},
		{"put refreshes", "put a 400; put b 400; put a 400; put c 400", "a=400 c=400"},
		{"exactly full", "put a 500; put b 500", "a=500 b=500"},
		{"whole store", "put a 1; put b 1000", "b=1000"},
		{"one byte over", "put a 500; put b 500; put c 1", "b=500 c=1"},
		{"overwrite shrinks", "put a 400; put b 400; put a 100; put c 500", "a=100 b=400 c=500"},
		{"overwrite grows", "put a 100; put b 400; put a 600", "a=600 b=400"},
		{"overwrite grows evicts", "put a 100; put b 400; put c 100; put a 600", "a=600 c=100"},
		{"delete frees", "put a 600; del a; put b 1000", "b=1000"},
		{"delete missing", "put a 10; del b", "a=10"},
		{"empty values", "put a 0; put b 1000", "a=0 b=1000"},
		{"too large leaves all", "put a 400; put b 400; big c 1001", "a=400 b=400"},
		{"too large keeps old value", "put a 400; big a 5000", "a=400"},
		{"failed put evicts nothing", "put a 600; fail b 600", "a=600"},
		{"failed overwrite keeps old", "put a 600; fail a 300", "a=600"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			s := &cache.MemStore{MaxBytes: 1000}
			var stored []string // every key ever stored
			for step := range strings.SplitSeq(tc.script, "; ") {
				f := strings.Fields(step)
				key := f[1]
				var n int
				if len(f) > 2 {
					var err error
					if n, err = strconv.Atoi(f[2]); err != nil {
						t.Fatalf("bad step %q", step)
					}
				}
				val := bytes.Repeat([]byte{key[0]}, n)
				switch f[0] {
				case "put":
					if err := s.Put(ctx, key, bytes.NewReader(val)); err != nil {
						t.Fatalf("%s: %v", step, err)
					}
					stored = append(stored, key)
				case "get":
					mustStoreGet(t, s, key)
				case "del":
					if err := s.Delete(ctx, key); err != nil {
						t.Fatalf("%s: %v", step, err)
					}
				case "fail":
					r := io.MultiReader(bytes.NewReader(val), iotest.ErrReader(errors.New("boom")))
					if err := s.Put(ctx, key, r); err == nil {
						t.Fatalf("%s: Put succeeded, want error", step)
					}
				case "big":
					if err := s.Put(ctx, key, bytes.NewReader(val)); !errors.Is(err, modfetch.ErrTooLarge) {
						t.Fatalf("%s: Put error = %v, want ErrTooLarge", step, err)
					}
				default:
					t.Fatalf("bad step %q", step)
				}
			}
			var got []string
			slices.Sort(stored)
			for _, key := range slices.Compact(stored) {
				rc, err := s.Get(ctx, key)
				if errors.Is(err, fs.ErrNotExist) {
					continue
				}
				if err != nil {
					t.Fatalf("Get(%q): %v", key, err)
				}
				val, err := io.ReadAll(rc)
				rc.Close()
				if err != nil {
					t.Fatal(err)
				}
				if strings.Trim(string(val), key[:1]) != "" {
					t.Errorf("value of %q holds bytes of another value", key)
				}
				got = append(got, fmt.Sprintf("%s=%d", key, len(val)))
			}
			if g := strings.Join(got, " "); g != tc.want {
				t.Errorf("after %q:\nhave %s\nwant %s", tc.script, g, tc.want)
			}
		})
	}
}

// TestMemStoreAccounting checks that sizes add up exactly: values filling
// MaxBytes all stay, one byte more evicts exactly one value.
func TestMemStoreAccounting(t *testing.T) {
	ctx := t.Context()
	s := &cache.MemStore{MaxBytes: 100}
	for i := range 10 {
		mustStorePut(t, s, fmt.Sprintf("k%d", i), bytes.Repeat([]byte("x"), 10))
	}
	// Ten values of ten bytes fill the store exactly: all are there.
	for i := range 10 {
		mustStoreGet(t, s, fmt.Sprintf("k%d", i))
	}
	// One more byte evicts exactly the least recently used, k0.
	mustStorePut(t, s, "k10", []byte("y"))
	if _, err := s.Get(ctx, "k0"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Get(k0) after overflow: err = %v, want fs.ErrNotExist", err)
	}
	for i := 1; i <= 10; i++ {
		mustStoreGet(t, s, fmt.Sprintf("k%d", i))
	}
	// 91 bytes are in use; 9 more fit without eviction.
	mustStorePut(t, s, "k11", bytes.Repeat([]byte("z"), 9))
	for i := 1; i <= 11; i++ {
		mustStoreGet(t, s, fmt.Sprintf("k%d", i))
	}
}

func TestMemStoreTooLarge(t *testing.T) {
	ctx := t.Context()
	for _, tc := range []struct {
		max, size int64
		wantErr   bool
	}{
		{10, 10, false},
		{10, 11, true},
		{10, 1 << 20, true},
		{1, 0, false},
		{0, 64 << 20, false}, // default capacity
		{0, 64<<20 + 1, true},
		{-5, 64 << 20, false}, // negative means default too
		{math.MaxInt64, 100000, false},
	} {
		t.Run(fmt.Sprintf("max=%d/size=%d", tc.max, tc.size), func(t *testing.T) {
			s := &cache.MemStore{MaxBytes: tc.max}
			r := &byteCounter{r: io.LimitReader(zeroReader{}, tc.size)}
			err := s.Put(ctx, "k", r)
			if tc.wantErr {
				if !errors.Is(err, modfetch.ErrTooLarge) {
					t.Fatalf("Put of %d bytes into a store of %d: err = %v, want ErrTooLarge", tc.size, tc.max, err)
				}
				limit := tc.max
				if limit <= 0 {
					limit = 64 << 20
				}
				if r.n > limit+1 {
					t.Errorf("Put read %d bytes, want at most MaxBytes+1 = %d", r.n, limit+1)
				}
				if _, err := s.Get(ctx, "k"); !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("Get after refused Put: err = %v, want fs.ErrNotExist", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Put of %d bytes into a store of %d: %v", tc.size, tc.max, err)
			}
			rc, err := s.Get(ctx, "k")
			if err != nil {
				t.Fatal(err)
			}
			defer rc.Close()
			if n, err := io.Copy(io.Discard, rc); err != nil || n != tc.size {
				t.Errorf("Get returned %d bytes, %v; want %d", n, err, tc.size)
			}
		})
	}
}

func TestMemStoreStat(t *testing.T) {
	ctx := t.Context()
	var s cache.MemStore
	const key = "example.com/m/@v/v1.0.0.zip"
	before := time.Now()
	mustStorePut(t, &s, key, []byte("hello, world"))
	after := time.Now()

	rc, err := s.Get(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	st, ok := rc.(modfetch.Stater)
	if !ok {
		t.Fatalf("MemStore reader %T has no Stat method", rc)
	}
	check := func(fi fs.FileInfo) {
		t.Helper()
		if fi.Name() != "v1.0.0.zip" {
			t.Errorf("Name() = %q, want %q", fi.Name(), "v1.0.0.zip")
		}
		if fi.Size() != 12 {
			t.Errorf("Size() = %d, want 12", fi.Size())
		}
		if fi.Mode() != 0o444 {
			t.Errorf("Mode() = %v, want %v", fi.Mode(), fs.FileMode(0o444))
		}
		if fi.IsDir() {
			t.Errorf("IsDir() = true")
		}
		if mt := fi.ModTime(); mt.Before(before) || mt.After(after) {
			t.Errorf("ModTime() = %v, want between %v and %v", mt, before, after)
		}
	}
	fi, err := st.Stat()
	if err != nil {
		t.Fatal(err)
	}
	check(fi)

	// The reader is a snapshot: its Stat does not change with the key.
	mustStorePut(t, &s, key, []byte("a different, longer value"))
	fi, err = st.Stat()
	if err != nil {
		t.Fatal(err)
	}
	check(fi)
	newRC, err := s.Get(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	defer newRC.Close()
	fi2, err := newRC.(modfetch.Stater).Stat()
	if err != nil {
		t.Fatal(err)
	}
	if fi2.ModTime().Before(fi.ModTime()) {
		t.Errorf("ModTime after overwrite = %v, before the old value's %v", fi2.ModTime(), fi.ModTime())
	}
	if fi2.Size() != int64(len("a different, longer value")) {
		t.Errorf("Size after overwrite = %d", fi2.Size())
	}
}

// TestMemStoreReader checks the reader's methods across chunk boundaries
// and after Close.
func TestMemStoreReader(t *testing.T) {
	ctx := t.Context()
	var s cache.MemStore
	val := make([]byte, 3<<20+12345) // many chunks of different sizes
	for i := range val {
		val[i] = byte(i * 7 / 3)
	}
	mustStorePut(t, &s, "v", val)
	rc, err := s.Get(ctx, "v")
	if err != nil {
		t.Fatal(err)
	}
	ra := rc.(io.ReaderAt)
	for _, off := range []int64{0, 1, 511, 512, 1023, 1024, 1025, 4095, 1<<20 - 1, 1 << 20, 2<<20 + 5, int64(len(val)) - 3000} {
		p := make([]byte, 3000)
		if n, err := ra.ReadAt(p, off); n != len(p) || err != nil {
			t.Fatalf("ReadAt(3000, %d) = %d, %v", off, n, err)
		}
		if !bytes.Equal(p, val[off:off+3000]) {
			t.Fatalf("ReadAt(3000, %d) returned wrong bytes", off)
		}
	}
	if n, err := ra.ReadAt(make([]byte, 10), int64(len(val))); n != 0 || err != io.EOF {
		t.Errorf("ReadAt at end = %d, %v; want 0, io.EOF", n, err)
	}
	if _, err := ra.ReadAt(make([]byte, 10), -1); err == nil {
		t.Errorf("ReadAt at -1 succeeded")
	}
	sk := rc.(io.Seeker)
	if _, err := sk.Seek(-1, io.SeekStart); err == nil {
		t.Errorf("Seek to -1 succeeded")
	}
	if _, err := sk.Seek(int64(len(val))+10, io.SeekStart); err != nil {
		t.Errorf("Seek past end: %v", err)
	}
	if n, err := rc.Read(make([]byte, 1)); n != 0 || err != io.EOF {
		t.Errorf("Read past end = %d, %v; want 0, io.EOF", n, err)
	}
	// WriteTo from the middle.
	if _, err := sk.Seek(700000, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if n, err := rc.(io.WriterTo).WriteTo(&buf); err != nil || n != int64(len(val))-700000 {
		t.Fatalf("WriteTo = %d, %v", n, err)
	}
	if !bytes.Equal(buf.Bytes(), val[700000:]) {
		t.Fatalf("WriteTo wrote wrong bytes")
	}

	if err := rc.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := rc.Read(make([]byte, 1)); !errors.Is(err, fs.ErrClosed) {
		t.Errorf("Read after Close: err = %v, want fs.ErrClosed", err)
	}
	if err := rc.Close(); !errors.Is(err, fs.ErrClosed) {
		t.Errorf("second Close: err = %v, want fs.ErrClosed", err)
	}
}

func TestMemStoreMissingError(t *testing.T) {
	var s cache.MemStore
	_, err := s.Get(t.Context(), "example.com/m/@v/list")
	var pe *fs.PathError
	if !errors.As(err, &pe) || pe.Path != "example.com/m/@v/list" || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Get of missing key: err = %#v, want *fs.PathError for the key wrapping fs.ErrNotExist", err)
	}
}

func TestMemStoreCanceledGetDelete(t *testing.T) {
	var s cache.MemStore
	mustStorePut(t, &s, "k", []byte("v"))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := s.Get(ctx, "k"); !errors.Is(err, context.Canceled) {
		t.Errorf("Get with canceled ctx: err = %v, want context.Canceled", err)
	}
	if err := s.Delete(ctx, "k"); !errors.Is(err, context.Canceled) {
		t.Errorf("Delete with canceled ctx: err = %v, want context.Canceled", err)
	}
	mustStoreGet(t, &s, "k")
}

func ExampleMemStore_Get() {
	ctx := context.Background()
	s := &cache.MemStore{MaxBytes: 10}
	s.Put(ctx, "a", strings.NewReader("12345"))
	s.Put(ctx, "b", strings.NewReader("67890"))
	s.Put(ctx, "c", strings.NewReader("!")) // evicts "a"

	_, err := s.Get(ctx, "a")
	fmt.Println(errors.Is(err, fs.ErrNotExist))
	rc, _ := s.Get(ctx, "b")
	defer rc.Close()
	b, _ := io.ReadAll(rc)
	fmt.Println(string(b))

	err = s.Put(ctx, "d", strings.NewReader("far too long"))
	fmt.Println(errors.Is(err, modfetch.ErrTooLarge))
	// Output:
	// true
	// 67890
	// true
}

// zeroReader is an endless reader of zero bytes.
type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// byteCounter counts the bytes read through it.
type byteCounter struct {
	r io.Reader
	n int64
}

func (c *byteCounter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func mustStorePut(t *testing.T, s cache.Store, key string, val []byte) {
	t.Helper()
	if err := s.Put(t.Context(), key, bytes.NewReader(val)); err != nil {
		t.Fatalf("Put(%q): %v", key, err)
	}
}

func mustStoreGet(t *testing.T, s cache.Store, key string) []byte {
	t.Helper()
	rc, err := s.Get(t.Context(), key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	defer rc.Close()
	val, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("reading %q: %v", key, err)
	}
	return val
}
