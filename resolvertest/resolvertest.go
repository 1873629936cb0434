package resolvertest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"

	"github.com/modfetch/modfetch"
	"github.com/modfetch/modfetch/internal/h1"
)

// Options says how the Resolver under test relates to the Source it is
// built from. The zero Options is for a Resolver that reads through the
// Source (a decorator, or a client of a server in front of it) and may
// pass it alternatives of its own.
type Options struct {
	// Copies says that the Resolver serves copies of the Source's modules
	// (git repositories built from their files, say) instead of asking
	// the Source: the tests that hold the Source's calls are skipped, and
	// Requests must count what the Resolver does instead.
	Copies bool

	// Decorator says that the Resolver wraps the Resolver it is given, as
	// checksum.Verify and cache.Cache do, and so must pass on its
	// alternatives: given a modfetch.Walker, it must be one, whose Try
	// hands fn each alternative behind its own layer, in order.
	Decorator bool

	// IgnoreTime says that Info.Time may differ from the Source's (a
	// Resolver that dates versions itself).
	IgnoreTime bool

	// Requests, if set, counts the requests the Resolver makes to the
	// outside (HTTP requests, processes): the invalid-path test checks
	// that it does not change, besides the Source's own count.
	Requests func() int64
}

// Run runs the conformance tests for a [modfetch.Resolver] as subtests of
// t. newResolver returns a fresh Resolver built over src, a Resolver of
// the suite's [Modules]: src is a *[Source], or, in the decorator test, a
// modfetch.Walker of two Sources. It should register any cleanup with
// t.Cleanup.
//
// The tests check the contract in the Resolver documentation:
//
//   - an invalid module path is an error wrapping *module.InvalidPathError,
//     returned without any I/O;
//   - an unknown module or version is an error for which
//     errors.Is(err, fs.ErrNotExist) holds, with module context;
//   - the answers: lists sorted, valid and without duplicates; Stat of a
//     canonical version answers that version; go.mod files byte for byte;
//     zips with the Source's h1: hash; Latest the highest version, or
//     not found;
//   - concurrent calls all answer correctly;
//   - a call waiting for the Source returns when its context ends;
//   - a failure of the Source is a failure, not "not found", and is not
//     remembered;
//   - a zip streams: reading it allocates far less than its size;
//   - the zip reader's optional abilities (modfetch.Summer, Stater,
//     io.ReaderAt, io.Seeker, modfetch.Reopener) tell the truth;
//   - a decorator passes on the alternatives of a modfetch.Walker.
//
// Run does not call t.Parallel: the streaming test measures the process's
// allocations.
func Run(t *testing.T, newResolver func(t *testing.T, src modfetch.Resolver) modfetch.Resolver, opts Options) {
	t.Helper()
	e := &env{newResolver: newResolver, mods: Modules(), opts: opts}
	tests := []struct {
		name string
		f    func(t *testing.T, e *env)
	}{
		{"InvalidPath", testInvalidPath},
		{"NotFound", testNotFound},
		{"Answers", testAnswers},
		{"Concurrent", testConcurrent},
		{"Cancel", testCancel},
		{"Failures", testFailures},
		{"StreamsZips", testStreamsZips},
		{"ZipAbilities", testZipAbilities},
		{"Walker", testWalker},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.f(t, e) })
	}
}

// env is what the tests share.
type env struct {
	newResolver func(t *testing.T, src modfetch.Resolver) modfetch.Resolver
	mods        []*Module
	opts        Options
}

// fresh returns a new Source of the test modules and a new Resolver over it.
func (e *env) fresh(t *testing.T) (modfetch.Resolver, *Source) {
	t.Helper()
	src := NewSource(e.mods)
	r := e.newResolver(t, src)
	if r == nil {
		t.Fatal("newResolver returned a nil Resolver")
	}
	return r, src
}

// badPaths are invalid module paths.
var badPaths = []string{"", "/abs/path", "example.com/../x", "example.com/a b", ".example.com/x", "example.com/x/", "example.com//x"}

func testInvalidPath(t *testing.T, e *env) {
	r, src := e.fresh(t)
	opts := e.opts
	ctx := t.Context()
	before, reqs := src.Calls(), requests(opts)
	for _, p := range badPaths {
		for _, c := range calls(r, p, "v1.0.0") {
			err := c.do(ctx)
			var ipe *module.InvalidPathError
			if !errors.As(err, &ipe) || errors.Is(err, fs.ErrNotExist) {
				t.Errorf("%s(%q): err = %v, want one wrapping *module.InvalidPathError, and not not-found", c.name, p, err)
			}
		}
	}
	if n := src.Calls() - before; n != 0 {
		t.Errorf("invalid paths made %d calls reach the Source", n)
	}
	if n := requests(opts) - reqs; n != 0 {
		t.Errorf("invalid paths made %d requests", n)
	}
}

func requests(opts Options) int64 {
	if opts.Requests == nil {
		return 0
	}
	return opts.Requests()
}

// A call is one Resolver method with its arguments, reading a zip whole.
type call struct {
	name string
	do   func(ctx context.Context) error
}

func calls(r modfetch.Resolver, p, version string) []call {
	return []call{
		{"List", func(ctx context.Context) error { _, err := r.List(ctx, p); return err }},
		{"Stat", func(ctx context.Context) error { _, err := r.Stat(ctx, p, version); return err }},
		{"Latest", func(ctx context.Context) error { _, err := r.Latest(ctx, p); return err }},
		{"GoMod", func(ctx context.Context) error { _, err := r.GoMod(ctx, p, version); return err }},
		{"Zip", func(ctx context.Context) error {
			rc, err := r.Zip(ctx, p, version)
			if err != nil {
				return err
			}
			defer rc.Close()
			_, err = io.Copy(io.Discard, rc)
			return err
		}},
	}
}

func testNotFound(t *testing.T, e *env) {
	r, _ := e.fresh(t)
	ctx := t.Context()
	check := func(name, p, version string, err error) {
		t.Helper()
		if !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s(%s@%s): err = %v, want not found (errors.Is(err, fs.ErrNotExist))", name, p, version, err)
			return
		}
		if !strings.Contains(err.Error(), p) {
			t.Errorf("%s(%s@%s): error %q does not name the module", name, p, version, err)
		}
	}
	for _, c := range calls(r, "example.com/unknown", "v1.0.0") {
		check(c.name, "example.com/unknown", "v1.0.0", c.do(ctx))
	}
	for _, c := range calls(r, "example.com/hello", "v1.9.9")[3:] { // GoMod, Zip
		check(c.name, "example.com/hello", "v1.9.9", c.do(ctx))
	}
	_, err := r.Stat(ctx, "example.com/hello", "v1.9.9")
	check("Stat", "example.com/hello", "v1.9.9", err)
}

// checkModule checks every answer about m.
func checkModule(ctx context.Context, r modfetch.Resolver, src *Source, m *Module, opts Options) error {
	list, err := r.List(ctx, m.Path)
	if err != nil {
		return fmt.Errorf("List(%s): %v", m.Path, err)
	}
	if err := checkList(list); err != nil {
		return fmt.Errorf("List(%s) = %q: %v", m.Path, list, err)
	}
	if !slices.Contains(list, m.Version) {
		return fmt.Errorf("List(%s) = %q, missing %s", m.Path, list, m.Version)
	}
	info, err := r.Stat(ctx, m.Path, m.Version)
	if err != nil {
		return fmt.Errorf("Stat(%s, %s): %v", m.Path, m.Version, err)
	}
	if info.Version != m.Version || !opts.IgnoreTime && !info.Time.Equal(m.Time) {
		return fmt.Errorf("Stat(%s, %s) = %s %v, want %s %v", m.Path, m.Version, info.Version, info.Time, m.Version, m.Time)
	}
	mod, err := r.GoMod(ctx, m.Path, m.Version)
	if err != nil || !bytes.Equal(mod, m.Mod) {
		return fmt.Errorf("GoMod(%s, %s) = %q, %v; want %q", m.Path, m.Version, mod, err, m.Mod)
	}
	sum, err := zipSum(ctx, r, m)
	if err != nil || sum != m.ZipSum {
		return fmt.Errorf("Zip(%s, %s): hash %s, %v; want %s", m.Path, m.Version, sum, err, m.ZipSum)
	}
	latest, err := r.Latest(ctx, m.Path)
	want := src.versions(m.Path)
	if err != nil || latest.Version != want[len(want)-1] {
		return fmt.Errorf("Latest(%s) = %v, %v; want %s", m.Path, latest, err, want[len(want)-1])
	}
	return nil
}

// onlyWriter hides a file's ReadFrom, so that io.Copy reads through the
// reader under test instead of letting the file pull from it.
type onlyWriter struct{ io.Writer }

// small returns the modules but the big one, which the streaming test
// reads: hashing it in every test would test the machine, not the
// Resolver.
func small(mods []*Module) []*Module {
	var out []*Module
	for _, m := range mods {
		if m.Path != "example.com/big" {
			out = append(out, m)
		}
	}
	return out
}

// checkList checks that list is valid, sorted semantic versions without
// duplicates.
func checkList(list []string) error {
	for i, v := range list {
		if !semver.IsValid(v) {
			return fmt.Errorf("%q is not a valid version", v)
		}
		if i > 0 && semver.Compare(list[i-1], v) >= 0 {
			return fmt.Errorf("%s before %s: not sorted, or a duplicate", list[i-1], v)
		}
	}
	return nil
}

// zipSum reads m's zip through r and returns its h1: hash.
func zipSum(ctx context.Context, r modfetch.Resolver, m *Module) (string, error) {
	rc, err := r.Zip(ctx, m.Path, m.Version)
	if err != nil {
		return "", err
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		return "", err
	}
	return h1.Zip(bytes.NewReader(data), int64(len(data)))
}

func testAnswers(t *testing.T, e *env) {
	r, src := e.fresh(t)
	ctx := t.Context()
	// Twice: a caching Resolver answers the second time from its cache.
	for range 2 {
		for _, m := range small(src.Modules()) {
			if err := checkModule(ctx, r, src, m, e.opts); err != nil {
				t.Error(err)
			}
		}
	}
}

func testConcurrent(t *testing.T, e *env) {
	r, src := e.fresh(t)
	ctx := t.Context()
	mods := small(src.Modules())
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range mods {
				m := mods[(g+i)%len(mods)]
				if err := checkModule(ctx, r, src, m, e.opts); err != nil {
					t.Errorf("goroutine %d: %v", g, err)
				}
			}
		})
	}
	wg.Wait()
}

func testCancel(t *testing.T, e *env) {
	if e.opts.Copies {
		t.Skip("the Resolver serves copies of the Source's modules: the Source cannot hold its calls (Options.Copies)")
	}
	for i := range 5 {
		// A fresh Resolver, so that nothing is cached.
		r, src := e.fresh(t)
		m := src.Module("example.com/hello", "v1.1.0")
		c := calls(r, m.Path, m.Version)[i]
		src.Hold()
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- c.do(ctx) }()
		deadline := time.Now().Add(10 * time.Second)
		for src.Waiting() == 0 {
			select {
			case err := <-done:
				src.Release()
				t.Fatalf("%s returned (%v) before reaching the Source", c.name, err)
			default:
				if time.Now().After(deadline) {
					src.Release()
					t.Fatalf("%s did not reach the Source in 10s", c.name)
				}
				runtime.Gosched()
			}
		}
		cancel()
		select {
		case err := <-done:
			if !errors.Is(err, context.Canceled) || errors.Is(err, fs.ErrNotExist) {
				t.Errorf("%s canceled while the Source holds it: err = %v, want context.Canceled, and not not-found", c.name, err)
			}
		case <-time.After(3 * time.Second):
			src.Release()
			t.Fatalf("%s still waiting 3s after its context was canceled", c.name)
		}
		src.Release()
	}
}

// errFault is the Source's failure in the failures test: neither not
// found nor anything a Resolver may keep.
var errFault = errors.New("resolvertest: the source failed on purpose")

func testFailures(t *testing.T, e *env) {
	if e.opts.Copies {
		t.Skip("the Resolver serves copies of the Source's modules: the Source cannot fail them (Options.Copies)")
	}
	r, src := e.fresh(t)
	m := src.Module("example.com/hello", "v1.1.0")
	ctx := t.Context()
	src.Fail(errFault)
	for _, c := range calls(r, m.Path, m.Version) {
		if err := c.do(ctx); err == nil || errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s while the Source fails: err = %v, want a failure that is not not-found", c.name, err)
		}
	}
	// A failure is never remembered.
	src.Fail(nil)
	if err := checkModule(ctx, r, src, m, e.opts); err != nil {
		t.Errorf("after the Source recovered: %v", err)
	}
}

func testStreamsZips(t *testing.T, e *env) {
	r, src := e.fresh(t)
	big, small := src.Module("example.com/big", "v1.0.0"), src.Module("example.com/hello", "v1.1.0")
	ctx := t.Context()
	// Warm up whatever the Resolver sets up once: a zip of another
	// module, and what it learns of the big one's version before it
	// reads its zip (a repository fetched, say).
	if _, err := zipSum(ctx, r, src.Module("example.com/hello", "v1.0.0")); err != nil {
		t.Fatal(err)
	}
	if _, err := r.GoMod(ctx, big.Path, big.Version); err != nil {
		t.Fatal(err)
	}
	// Each measure of the big zip is taken against the same measure of a
	// small zip of as many files, which tells what reading a zip costs
	// whatever its size (buffers, pooled compressors). A zip is held when
	// its reader, read to its end and not closed, keeps the live heap
	// higher by half its size or more; it is copied through memory when
	// reading it allocates half its size or more. Either is a failure.
	for _, phase := range []string{"first", "second"} {
		_, baseAlloc, baseHeld := readAllocs(t, ctx, r, small, phase)
		n, alloc, held := readAllocs(t, ctx, r, big, phase)
		// A negative baseline is other goroutines' garbage collected
		// during the measure, not a cost below nothing.
		if held-max(baseHeld, 0) > n/2 {
			t.Errorf("%s read of a %d-byte zip: its reader held %d bytes of memory (%d for a small zip)", phase, n, held, baseHeld)
		}
		if alloc > baseAlloc && int64(alloc-baseAlloc) > n/2 {
			t.Errorf("%s read of a %d-byte zip allocated %d bytes (%d for a small zip): it was copied through memory", phase, n, alloc, baseAlloc)
		}
	}
}

// readAllocs reads m's zip through r, checking its hash, and returns its
// length, the bytes allocated meanwhile, and how much the live heap grew
// while the reader, read to its end, was still open.
func readAllocs(t *testing.T, ctx context.Context, r modfetch.Resolver, m *Module, phase string) (n int64, alloc uint64, held int64) {
	t.Helper()
	// Into a file, to check its hash afterwards without holding it.
	f, err := os.CreateTemp(t.TempDir(), "zip")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var before, read, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	rc, err := r.Zip(ctx, m.Path, m.Version)
	if err != nil {
		t.Fatal(err)
	}
	n, err = io.Copy(onlyWriter{f}, rc)
	runtime.ReadMemStats(&after)
	runtime.GC()
	runtime.ReadMemStats(&read)
	rc.Close()
	if err != nil {
		t.Fatalf("%s read of %s@%s: %d bytes, %v", phase, m.Path, m.Version, n, err)
	}
	if sum, err := h1.Zip(f, n); err != nil || sum != m.ZipSum {
		t.Fatalf("%s read of %s@%s: hash %s, %v; want %s", phase, m.Path, m.Version, sum, err, m.ZipSum)
	}
	return n, after.TotalAlloc - before.TotalAlloc, int64(read.HeapAlloc) - int64(before.HeapAlloc)
}

func testZipAbilities(t *testing.T, e *env) {
	r, src := e.fresh(t)
	m := src.Module("example.com/hello", "v1.1.0")
	ctx := t.Context()
	for round := range 2 { // fetched, then perhaps cached
		rc, err := r.Zip(ctx, m.Path, m.Version)
		if err != nil {
			t.Fatal(err)
		}
		checkAbilities(t, fmt.Sprintf("round %d", round+1), rc, m)
		rc.Close()
	}
}

// checkAbilities reads rc, which must be m's zip by its h1: hash, and
// checks that what its optional abilities say is true of the bytes it
// reads.
func checkAbilities(t *testing.T, round string, rc io.ReadCloser, m *Module) {
	data, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("%s: reading the zip: %v", round, err)
	}
	if sum, err := h1.Zip(bytes.NewReader(data), int64(len(data))); err != nil || sum != m.ZipSum {
		t.Fatalf("%s: the zip's hash is %s, %v; want %s", round, sum, err, m.ZipSum)
	}
	if st, ok := modfetch.As[modfetch.Stater](rc); ok {
		if fi, err := st.Stat(); err != nil || fi.Size() != int64(len(data)) {
			t.Errorf("%s: Stat = %v, %v; want size %d", round, fi, err, len(data))
		}
	}
	if ra, ok := modfetch.As[io.ReaderAt](rc); ok {
		p := make([]byte, 100)
		off := int64(len(data)) - 150
		if n, err := ra.ReadAt(p, off); n != len(p) || err != nil && err != io.EOF || !bytes.Equal(p, data[off:off+100]) {
			t.Errorf("%s: ReadAt(100 bytes, %d) = %d, %v, or bytes other than the reader's", round, off, n, err)
		}
	}
	if sk, ok := modfetch.As[io.Seeker](rc); ok {
		if pos, err := sk.Seek(10, io.SeekStart); err != nil || pos != 10 {
			t.Errorf("%s: Seek(10, start) = %d, %v", round, pos, err)
		}
		rest, err := io.ReadAll(rc)
		if err != nil || !bytes.Equal(rest, data[10:]) {
			t.Errorf("%s: reading after Seek(10): %d bytes, %v; want the reader's from offset 10", round, len(rest), err)
		}
	}
	if s, ok := modfetch.As[modfetch.Summer](rc); ok {
		if sum := s.Sum(); sum != "" && sum != m.ZipSum {
			t.Errorf("%s: Sum() = %s after the whole zip was read, want %s", round, sum, m.ZipSum)
		}
	}
	if ro, ok := modfetch.As[modfetch.Reopener](rc); ok {
		if again := ro.NewReader(); again != nil {
			more, err := io.ReadAll(again)
			again.Close()
			if err != nil || !bytes.Equal(more, data) {
				t.Errorf("%s: a reader from NewReader read %d bytes, %v; want the first reader's", round, len(more), err)
			}
		} else {
			t.Errorf("%s: NewReader returned nil while a reader is open", round)
		}
	}
}

func testWalker(t *testing.T, e *env) {
	mods := e.mods
	if !e.opts.Decorator {
		t.Skip("not a decorator (Options.Decorator): it is given no alternatives to pass on")
	}
	// Two alternatives: the first knows only example.com/hello v1.0.0,
	// the second every module.
	var first []*Module
	for _, m := range mods {
		if m.Path == "example.com/hello" && m.Version == "v1.0.0" {
			first = append(first, m)
		}
	}
	a, b := NewSource(first), NewSource(mods)
	r := e.newResolver(t, &walker{alts: []modfetch.Resolver{a, b}})
	w, ok := r.(modfetch.Walker)
	if !ok {
		t.Fatalf("%T over a modfetch.Walker is not one", r)
	}
	ctx := t.Context()
	// fn sees each alternative, in order, each answering for itself.
	var lists [][]string
	errNext := modfetch.NotExist(errors.New("next, please"))
	err := w.Try("example.com/hello", func(alt modfetch.Resolver) error {
		if s, ok := alt.(*Source); ok && (s == a || s == b) {
			t.Errorf("fn was given an alternative as it is, without the %T's own layer", r)
		}
		list, err := alt.List(ctx, "example.com/hello")
		if err != nil {
			return err
		}
		lists = append(lists, list)
		return errNext
	})
	if !errors.Is(err, errNext) {
		t.Errorf("Try whose fn never succeeds = %v, want fn's last error", err)
	}
	if want := [][]string{{"v1.0.0"}, {"v1.0.0", "v1.1.0"}}; !slices.EqualFunc(lists, want, slices.Equal) {
		t.Fatalf("the alternatives listed %q, want %q (the first alternative's, then the second's)", lists, want)
	}
	// The walk stops at the first success.
	n := 0
	if err := w.Try("example.com/hello", func(modfetch.Resolver) error { n++; return nil }); err != nil || n != 1 {
		t.Errorf("Try whose fn succeeds at once = %v after %d calls, want nil after 1", err, n)
	}
	// Each alternative is behind the Resolver's own layer: a zip read
	// through it is still the right one.
	m := b.Module("example.com/hello", "v1.1.0")
	err = w.Try(m.Path, func(alt modfetch.Resolver) error {
		sum, err := zipSum(ctx, alt, m)
		if err == nil && sum != m.ZipSum {
			t.Errorf("zip through an alternative: hash %s, want %s", sum, m.ZipSum)
		}
		return err
	})
	if err != nil {
		t.Errorf("reading a zip that only the second alternative has: %v", err)
	}
}
