package resolvertest

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"
	modzip "golang.org/x/mod/zip"

	"github.com/modfetch/modfetch"
	"github.com/modfetch/modfetch/internal/fileinfo"
	"github.com/modfetch/modfetch/internal/h1"
)

// A Module is one version of a test module: its files, and the answers a
// module proxy gives for it.
type Module struct {
	Path, Version string
	Time          time.Time
	Files         map[string]string // file name (slash-separated) -> content
	Info          []byte            // .info JSON
	Mod           []byte            // .mod: the go.mod file, or one synthesised for a module without
	Zip           []byte            // .zip, as x/mod's zip.Create makes it
	ZipSum        string            // h1: hash of Zip
	ModSum        string            // h1: hash of Mod
}

// bigSize is the size of the incompressible file in the big module,
// whose zip the streaming test reads.
const bigSize = 4 << 20

// Modules returns the suite's test modules: several versions of a
// module, a path with capitals (escaped with "!"), a pre-release, a major
// version suffix, a +incompatible version of a module without go.mod, and
// a large zip of incompressible content. The Modules are new, but share
// their byte slices and maps with every other call's: do not modify them.
func Modules() []*Module {
	built.once.Do(func() { built.mods = buildModules() })
	mods := make([]*Module, len(built.mods))
	for i, m := range built.mods {
		cp := *m
		mods[i] = &cp
	}
	return mods
}

// built holds the modules, built once per process: the big one takes a
// while.
var built struct {
	once sync.Once
	mods []*Module
}

func buildModules() []*Module {
	day := func(n int) time.Time { return time.Date(2024, 1, n, 10, 0, 0, 0, time.UTC) }
	goMod := func(p string) string { return "module " + p + "\n\ngo 1.21\n" }
	specs := []struct {
		path, version string
		t             time.Time
		files         map[string]string
	}{
		{"example.com/hello", "v1.0.0", day(1), map[string]string{"go.mod": goMod("example.com/hello"), "hello.go": "package hello\n"}},
		{"example.com/hello", "v1.1.0", day(2), map[string]string{"go.mod": goMod("example.com/hello"), "hello.go": "package hello\n\nconst V = 1\n"}},
		{"example.com/Upper", "v1.0.0-rc.1", day(3), map[string]string{"go.mod": goMod("example.com/Upper"), "up.go": "package upper\n"}},
		{"example.com/major/v2", "v2.1.0", day(4), map[string]string{"go.mod": goMod("example.com/major/v2"), "m.go": "package major\n"}},
		{"example.com/nomod", "v2.0.0+incompatible", day(5), map[string]string{"nomod.go": "package nomod\n"}},
		{"example.com/big", "v1.0.0", day(6), map[string]string{"go.mod": goMod("example.com/big"), "blob.bin": noise(bigSize)}},
	}
	var mods []*Module
	for _, s := range specs {
		mods = append(mods, newModule(s.path, s.version, s.t, s.files))
	}
	return mods
}

// newModule builds a Module from its files.
func newModule(p, version string, t time.Time, files map[string]string) *Module {
	m := &Module{Path: p, Version: version, Time: t, Files: files}
	m.Info = fmt.Appendf(nil, `{"Version":%q,"Time":%q}`, version, t.Format(time.RFC3339))
	if gm, ok := files["go.mod"]; ok {
		m.Mod = []byte(gm)
	} else {
		m.Mod = modfetch.LegacyGoMod(p)
	}
	var zf []modzip.File
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		zf = append(zf, fileinfo.ZipFile{Name: name, Data: files[name]})
	}
	var buf bytes.Buffer
	if len(files["blob.bin"]) > 1<<20 {
		// Stored, not deflated: as valid a module zip, with the same
		// hash, made in a fraction of the time.
		storedZip(&buf, p+"@"+version+"/", names, files)
	} else if err := modzip.Create(&buf, module.Version{Path: p, Version: version}, zf); err != nil {
		panic(fmt.Sprintf("resolvertest: building %s@%s: %v", p, version, err))
	}
	m.Zip = buf.Bytes()
	var err error
	if m.ZipSum, err = h1.Zip(bytes.NewReader(m.Zip), int64(len(m.Zip))); err != nil {
		panic(err)
	}
	if m.ModSum, err = h1.GoMod(m.Mod); err != nil {
		panic(err)
	}
	return m
}

// storedZip writes a zip of files (in the order of names) under prefix,
// without compression.
func storedZip(w io.Writer, prefix string, names []string, files map[string]string) {
	zw := zip.NewWriter(w)
	for _, name := range names {
		fw, err := zw.CreateHeader(&zip.FileHeader{Name: prefix + name, Method: zip.Store})
		if err == nil {
			_, err = io.WriteString(fw, files[name])
		}
		if err != nil {
			panic(err)
		}
	}
	if err := zw.Close(); err != nil {
		panic(err)
	}
}

// noise returns n pseudo-random bytes that do not compress, the same
// every time: 64 KiB of them, repeated (deflate's window is 32 KiB), which
// is quick to make.
func noise(n int) string {
	const block = 64 << 10
	b := make([]byte, n)
	rand.NewChaCha8([32]byte{'r', 'e', 's', 'o', 'l', 'v', 'e', 'r'}).Read(b[:min(n, block)])
	for off := block; off < n; off *= 2 {
		copy(b[off:], b[:off])
	}
	return string(b)
}

// A Source is the suite's reference Resolver: it serves a set of Modules
// from memory, exactly by the Resolver contract, counting the calls that
// reach its modules. Hold makes those calls wait, so that tests can
// cancel callers while they wait.
type Source struct {
	mods []*Module

	calls   atomic.Int64
	mu      sync.Mutex
	held    chan struct{} // when not nil, calls wait for it to be closed
	waiting int           // calls waiting
	fail    error         // when not nil, the error of every call
}

// NewSource returns a Source of mods.
func NewSource(mods []*Module) *Source { return &Source{mods: mods} }

// Modules returns the Source's modules.
func (s *Source) Modules() []*Module { return s.mods }

// Module returns path@version, or nil.
func (s *Source) Module(path, version string) *Module {
	for _, m := range s.mods {
		if m.Path == path && m.Version == version {
			return m
		}
	}
	return nil
}

// Calls returns the number of calls that reached the Source's modules
// (calls refused for an invalid path do not count).
func (s *Source) Calls() int64 { return s.calls.Load() }

// Hold makes the calls that reach the Source wait until Release or until
// their context ends.
func (s *Source) Hold() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.held == nil {
		s.held = make(chan struct{})
	}
}

// Release lets the calls held by Hold go on.
func (s *Source) Release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.held != nil {
		close(s.held)
		s.held = nil
	}
}

// Fail makes every call that reaches the Source's modules fail with err,
// in the module's context, until Fail(nil).
func (s *Source) Fail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail = err
}

// Waiting returns the number of calls waiting because of Hold.
func (s *Source) Waiting() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.waiting
}

func (s *Source) enter(ctx context.Context, p, version string) error {
	if err := module.CheckPath(p); err != nil {
		return &module.ModuleError{Path: p, Version: version, Err: err}
	}
	s.calls.Add(1)
	s.mu.Lock()
	held, fail := s.held, s.fail
	if held != nil && fail == nil {
		s.waiting++
	}
	s.mu.Unlock()
	if fail != nil {
		return &module.ModuleError{Path: p, Version: version, Err: fail}
	}
	if held == nil {
		return nil
	}
	defer func() {
		s.mu.Lock()
		s.waiting--
		s.mu.Unlock()
	}()
	select {
	case <-held:
		return nil
	case <-ctx.Done():
		return &module.ModuleError{Path: p, Version: version, Err: context.Cause(ctx)}
	}
}

func notFound(p, version, what string) error {
	return &module.ModuleError{Path: p, Version: version, Err: modfetch.NotExist(errors.New(what + " not found"))}
}

// versions returns the versions of p, sorted.
func (s *Source) versions(p string) []string {
	var list []string
	for _, m := range s.mods {
		if m.Path == p {
			list = append(list, m.Version)
		}
	}
	semver.Sort(list)
	return list
}

// List implements [modfetch.Resolver].
func (s *Source) List(ctx context.Context, p string) ([]string, error) {
	if err := s.enter(ctx, p, ""); err != nil {
		return nil, err
	}
	list := s.versions(p)
	if list == nil {
		return nil, notFound(p, "", "module")
	}
	return list, nil
}

// Stat implements [modfetch.Resolver]: canonical versions only.
func (s *Source) Stat(ctx context.Context, p, rev string) (*modfetch.Info, error) {
	if err := s.enter(ctx, p, rev); err != nil {
		return nil, err
	}
	m := s.Module(p, rev)
	if m == nil {
		return nil, notFound(p, rev, "version")
	}
	return modfetch.ParseInfo(m.Info)
}

// Latest implements [modfetch.Resolver]: the highest version.
func (s *Source) Latest(ctx context.Context, p string) (*modfetch.Info, error) {
	if err := s.enter(ctx, p, ""); err != nil {
		return nil, err
	}
	list := s.versions(p)
	if list == nil {
		return nil, notFound(p, "", "module")
	}
	return modfetch.ParseInfo(s.Module(p, list[len(list)-1]).Info)
}

// GoMod implements [modfetch.Resolver].
func (s *Source) GoMod(ctx context.Context, p, version string) ([]byte, error) {
	if err := s.enter(ctx, p, version); err != nil {
		return nil, err
	}
	m := s.Module(p, version)
	if m == nil {
		return nil, notFound(p, version, "version")
	}
	return bytes.Clone(m.Mod), nil
}

// Zip implements [modfetch.Resolver]. The reader has every optional
// ability: modfetch.Summer, modfetch.Stater, io.ReaderAt and io.Seeker.
func (s *Source) Zip(ctx context.Context, p, version string) (io.ReadCloser, error) {
	if err := s.enter(ctx, p, version); err != nil {
		return nil, err
	}
	m := s.Module(p, version)
	if m == nil {
		return nil, notFound(p, version, "version")
	}
	return &zipReader{Reader: bytes.NewReader(m.Zip), m: m}, nil
}

// zipReader is a Source's zip, with every optional ability.
type zipReader struct {
	*bytes.Reader
	m *Module
}

func (z *zipReader) Close() error { return nil }
func (z *zipReader) Sum() string  { return z.m.ZipSum }
func (z *zipReader) Stat() (fs.FileInfo, error) {
	return fileinfo.New(z.m.Version+".zip", int64(len(z.m.Zip)), 0o444, z.m.Time), nil
}

// walker is a Resolver of alternatives, like a GOPROXY list with ","
// (upstream.Chain): it walks them on not-found errors.
type walker struct {
	alts []modfetch.Resolver
}

func (w *walker) Try(p string, fn func(modfetch.Resolver) error) error {
	var err error
	for _, r := range w.alts {
		if err = fn(r); err == nil || !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return err
}

func (w *walker) List(ctx context.Context, p string) (list []string, err error) {
	err = w.Try(p, func(r modfetch.Resolver) error { list, err = r.List(ctx, p); return err })
	return list, err
}

func (w *walker) Stat(ctx context.Context, p, rev string) (info *modfetch.Info, err error) {
	err = w.Try(p, func(r modfetch.Resolver) error { info, err = r.Stat(ctx, p, rev); return err })
	return info, err
}

func (w *walker) Latest(ctx context.Context, p string) (info *modfetch.Info, err error) {
	err = w.Try(p, func(r modfetch.Resolver) error { info, err = r.Latest(ctx, p); return err })
	return info, err
}

func (w *walker) GoMod(ctx context.Context, p, version string) (data []byte, err error) {
	err = w.Try(p, func(r modfetch.Resolver) error { data, err = r.GoMod(ctx, p, version); return err })
	return data, err
}

func (w *walker) Zip(ctx context.Context, p, version string) (rc io.ReadCloser, err error) {
	err = w.Try(p, func(r modfetch.Resolver) error { rc, err = r.Zip(ctx, p, version); return err })
	return rc, err
}
