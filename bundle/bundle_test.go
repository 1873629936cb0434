package bundle_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"maps"
	"net/http/httptest"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"golang.org/x/mod/module"
	"golang.org/x/mod/sumdb/note"

	"github.com/modfetch/modfetch"
	"github.com/modfetch/modfetch/bundle"
	"github.com/modfetch/modfetch/cache"
	"github.com/modfetch/modfetch/checksum"
	"github.com/modfetch/modfetch/goenv"
	"github.com/modfetch/modfetch/internal/fixture"
)

// world is a fixture proxy and checksum database on loopback, and the
// Stack the go command would use with them.
type world struct {
	set   *fixture.Set
	sumdb *fixture.SumDB
	stack *goenv.Stack
	close func()
}

func newWorld(t *testing.T) *world {
	t.Helper()
	set := fixture.Standard()
	w := &world{set: set}
	w.sumdb = fixture.NewSumDB("sum.example.com", set.GoSumLines)
	dbsrv := httptest.NewServer(w.sumdb)
	psrv := httptest.NewServer(&fixture.Server{Set: set})
	w.close = func() { dbsrv.Close(); psrv.Close() }
	t.Cleanup(w.close)
	cfg := &goenv.Config{
		GOPROXY:    psrv.URL,
		GOSUMDB:    w.sumdb.Key + " " + dbsrv.URL,
		GOMODCACHE: filepath.Join(t.TempDir(), "modcache"),
	}
	st, err := cfg.Resolver(&goenv.Options{NoDirect: true})
	if err != nil {
		t.Fatal(err)
	}
	w.stack = st
	return w
}

// items are every fixture module in full, and one go.mod only.
func (w *world) items() []modfetch.BulkItem {
	var items []modfetch.BulkItem
	for _, m := range w.set.Modules() {
		items = append(items, modfetch.BulkItem{Module: module.Version{Path: m.Path, Version: m.Version}, GoModOnly: m.Path == "example.com/hello" && m.Version == "v1.0.0"})
	}
	return items
}

func (w *world) export(t *testing.T, out string) *bundle.Verified {
	t.Helper()
	v, err := bundle.Export(context.Background(), out, w.items(), &bundle.ExportOptions{Resolver: w.stack, DB: w.stack.DB})
	if err != nil {
		t.Fatalf("Export: %v", err)
	}
	return v
}

// TestExportImportFormats: a bundle of every fixture module, as a
// directory, a .tar.gz and a .zip, verifies with the database's key
// alone after the servers are gone, and imports into an empty module
// cache holding then exactly the bundle's modules, extracted, and into a
// proxy's store.
func TestExportImportFormats(t *testing.T) {
	for _, name := range []string{"dir", "b.tar.gz", "b.zip"} {
		t.Run(name, func(t *testing.T) {
			w := newWorld(t)
			out := filepath.Join(t.TempDir(), name)
			exported := w.export(t, out)
			if got, want := len(exported.Modules), len(w.items()); got != want {
				t.Fatalf("exported %d modules, want %d", got, want)
			}
			key := w.sumdb.Key
			w.close() // no network from here on

			b, err := bundle.Open(context.Background(), out, t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			v, err := b.Verify(context.Background(), &bundle.VerifyOptions{Key: key})
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if !slices.Equal(v.Modules, exported.Modules) {
				t.Errorf("Verify modules = %v, want %v", v.Modules, exported.Modules)
			}
			for _, m := range w.set.Modules() {
				goModOnly := m.Path == "example.com/hello" && m.Version == "v1.0.0"
				if h := v.Sums.Hashes(m.Path, m.Version, true); !slices.Equal(h, []string{m.ModSum()}) {
					t.Errorf("%s@%s go.mod hash %v, want %s", m.Path, m.Version, h, m.ModSum())
				}
				if h := v.Sums.Hashes(m.Path, m.Version, false); !goModOnly && !slices.Equal(h, []string{m.ZipSum()}) {
					t.Errorf("%s@%s zip hash %v, want %s", m.Path, m.Version, h, m.ZipSum())
				}
			}

			modcache := t.TempDir()
			if _, err := bundle.Import(context.Background(), out, &bundle.ImportOptions{VerifyOptions: bundle.VerifyOptions{Key: key}, ModCache: modcache, ReadWrite: true, TempDir: t.TempDir()}); err != nil {
				t.Fatalf("Import: %v", err)
			}
			for _, m := range w.set.Modules() {
				em, _ := modfetch.EscapeModule(m.Path, m.Version)
				_, err := os.Stat(filepath.Join(modcache, filepath.FromSlash(em)))
				goModOnly := m.Path == "example.com/hello" && m.Version == "v1.0.0"
				if goModOnly != errors.Is(err, fs.ErrNotExist) {
					t.Errorf("%s: extracted directory: %v (go.mod only: %v)", em, err, goModOnly)
				}
			}
			store := &cache.DirStore{Dir: filepath.Join(t.TempDir(), "download")}
			if _, err := bundle.Import(context.Background(), out, &bundle.ImportOptions{VerifyOptions: bundle.VerifyOptions{Key: key}, Store: store}); err != nil {
				t.Fatalf("Import into a store: %v", err)
			}
			data, err := cache.ReadValue(context.Background(), store, "example.com/hello/@v/v1.1.0.mod", 1<<20)
			if err != nil || string(data) != string(w.set.Module("example.com/hello", "v1.1.0").Mod) {
				t.Errorf("store's .mod = %q, %v", data, err)
			}
		})
	}
}

// TestExportRefusesExisting: an output that exists (a file, a directory
// that is not empty) is refused and left alone.
func TestExportRefusesExisting(t *testing.T) {
	w := newWorld(t)
	dir := t.TempDir()
	full := filepath.Join(dir, "full")
	os.MkdirAll(full, 0o777)
	os.WriteFile(filepath.Join(full, "x"), []byte("keep"), 0o666)
	file := filepath.Join(dir, "b.zip")
	os.WriteFile(file, []byte("keep"), 0o666)
	for _, out := range []string{full, file} {
		_, err := bundle.Export(context.Background(), out, w.items(), &bundle.ExportOptions{Resolver: w.stack, DB: w.stack.DB})
		if !errors.Is(err, fs.ErrExist) {
			t.Errorf("Export(%s) = %v, want fs.ErrExist", out, err)
		}
	}
	if data, _ := os.ReadFile(file); string(data) != "keep" {
		t.Errorf("%s changed", file)
	}
	empty := filepath.Join(dir, "empty")
	os.MkdirAll(empty, 0o777)
	w.export(t, empty)
	if _, err := os.Stat(filepath.Join(empty, "sumdb", "sum.example.com", "latest")); err != nil {
		t.Errorf("bundle into an empty directory: %v", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 3 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("output directory holds %s, want only full, b.zip and empty (no staging left)", strings.Join(names, ", "))
	}
}

// copyDir copies the tree src to dst.
func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o777)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), data, 0o666)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func edit(t *testing.T, name string, f func([]byte) []byte) {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, f(data), 0o666); err != nil {
		t.Fatal(err)
	}
}

// TestImportRefusesTampered: a bundle with one file altered is refused as
// a whole, with an error naming what failed, and nothing is written.
func TestImportRefusesTampered(t *testing.T) {
	w := newWorld(t)
	good := filepath.Join(t.TempDir(), "good")
	w.export(t, good)
	key := w.sumdb.Key
	w.close()
	db := filepath.Join("sumdb", "sum.example.com")
	otherSigner, _ := fixture.GenerateKey("sum.example.com")

	cases := []struct {
		name   string
		tamper func(t *testing.T, dir string)
		check  func(t *testing.T, err error)
	}{
		{"zip altered", func(t *testing.T, dir string) {
			z, err := fixture.MakeZip("example.com/hello", "v1.1.0", map[string]string{"go.mod": "module example.com/hello\n\ngo 1.21\n", "hello.go": "package hello\n\nfunc Hello() string { return \"evil\" }\n"})
			if err != nil {
				t.Fatal(err)
			}
			os.WriteFile(filepath.Join(dir, "example.com/hello/@v/v1.1.0.zip"), z, 0o666)
		}, wantMismatch("example.com/hello", false)},
		{"zip not a module zip", func(t *testing.T, dir string) {
			os.WriteFile(filepath.Join(dir, "example.com/hello/@v/v1.1.0.zip"), fixture.RawZip(map[string]string{"other@v1.1.0/x.go": "package x\n"}), 0o666)
		}, wantText("example.com/hello@v1.1.0")},
		{".mod altered", func(t *testing.T, dir string) {
			edit(t, filepath.Join(dir, "example.com/major/v2/@v/v2.1.0.mod"), func(b []byte) []byte { return append(b, "// more\n"...) })
		}, wantMismatch("example.com/major/v2", true)},
		{"go.mod-only .mod altered", func(t *testing.T, dir string) {
			edit(t, filepath.Join(dir, "example.com/hello/@v/v1.0.0.mod"), func(b []byte) []byte { return append(b, "// more\n"...) })
		}, wantMismatch("example.com/hello", true)},
		{"lookup line altered", func(t *testing.T, dir string) {
			edit(t, filepath.Join(dir, db, "lookup", "example.com/hello@v1.1.0"), func(b []byte) []byte {
				i := bytes.Index(b, []byte("h1:"))
				b[i+3] ^= 1
				return b
			})
		}, wantText("cannot authenticate record data")},
		{"lookup missing", func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, db, "lookup", "example.com/nomod@v1.0.0"))
		}, wantText("example.com/nomod@v1.0.0")},
		{"tree head signed by another key", func(t *testing.T, dir string) {
			edit(t, filepath.Join(dir, db, "latest"), func(b []byte) []byte {
				text, _, _ := bytes.Cut(b, []byte("\n\n"))
				s, err := note.NewSigner(otherSigner)
				if err != nil {
					t.Fatal(err)
				}
				signed, err := note.Sign(&note.Note{Text: string(text) + "\n"}, s)
				if err != nil {
					t.Fatal(err)
				}
				return signed
			})
		}, wantIs(bundle.ErrTreeHead)},
		{"tree head missing", func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, db, "latest"))
		}, wantIs(bundle.ErrTreeHead)},
		{"tile altered", func(t *testing.T, dir string) {
			tiles := tileFiles(t, filepath.Join(dir, db, "tile", "8", "0"))
			edit(t, tiles[0], func(b []byte) []byte { b[0] ^= 1; return b })
		}, wantIs(bundle.ErrTiles)},
		{"tile missing", func(t *testing.T, dir string) {
			tiles := tileFiles(t, filepath.Join(dir, db, "tile", "8", "0"))
			os.Remove(tiles[0])
		}, wantText("missing from the bundle")},
		{"no modules", func(t *testing.T, dir string) {
			for _, p := range []string{"example.com", "gopkg.in"} {
				os.RemoveAll(filepath.Join(dir, p))
			}
		}, wantIs(bundle.ErrLayout)},
		{"stray file", func(t *testing.T, dir string) {
			os.WriteFile(filepath.Join(dir, "example.com/hello/@v/v1.1.0.txt"), []byte("x"), 0o666)
		}, wantIs(bundle.ErrLayout)},
		{"info names another version", func(t *testing.T, dir string) {
			os.WriteFile(filepath.Join(dir, "example.com/hello/@v/v1.1.0.info"), []byte(`{"Version":"v1.0.0"}`), 0o666)
		}, wantIs(bundle.ErrLayout)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "b")
			copyDir(t, good, dir)
			tc.tamper(t, dir)
			for _, form := range []string{"dir", "b.tar.gz"} {
				in := dir
				if form != "dir" {
					in = filepath.Join(t.TempDir(), form)
					f, err := os.Create(in)
					if err != nil {
						t.Fatal(err)
					}
					if err := bundle.Pack(context.Background(), f, dir, bundle.FormatOf(in)); err != nil {
						t.Fatal(err)
					}
					f.Close()
				}
				modcache := t.TempDir()
				_, err := bundle.Import(context.Background(), in, &bundle.ImportOptions{VerifyOptions: bundle.VerifyOptions{Key: key}, ModCache: modcache, TempDir: t.TempDir()})
				if err == nil {
					t.Fatalf("%s: Import succeeded", form)
				}
				if !errors.Is(err, bundle.ErrRefused) {
					t.Errorf("%s: Import error is not ErrRefused: %v", form, err)
				}
				t.Logf("%s: %v", form, err)
				tc.check(t, err)
				if entries, _ := os.ReadDir(modcache); len(entries) != 0 {
					t.Errorf("%s: Import wrote into the module cache: %v", form, entries)
				}
			}
		})
	}
}

// tileFiles lists the files below dir, failing when there are none.
func tileFiles(t *testing.T, dir string) []string {
	t.Helper()
	var list []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			list = append(list, p)
		}
		return nil
	})
	if len(list) == 0 {
		t.Fatalf("no tile below %s", dir)
	}
	return list
}

func wantMismatch(path string, goMod bool) func(*testing.T, error) {
	return func(t *testing.T, err error) {
		t.Helper()
		var me *checksum.MismatchError
		if !errors.As(err, &me) || me.Path != path || me.GoMod != goMod || !me.DB {
			t.Errorf("error is not a database mismatch of %s (go.mod %v): %v", path, goMod, err)
		}
	}
}

func wantText(s string) func(*testing.T, error) {
	return func(t *testing.T, err error) {
		t.Helper()
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error does not say %q: %v", s, err)
		}
	}
}

func wantIs(target error) func(*testing.T, error) {
	return func(t *testing.T, err error) {
		t.Helper()
		if !errors.Is(err, target) {
			t.Errorf("error is not %v: %v", target, err)
		}
	}
}

// TestNoSumDBNeedsGoSum: modules GONOSUMDB keeps from the database have
// no lookups in the bundle; they are exported and imported only when a
// go.sum vouches for them, and a go.sum that disagrees is a mismatch.
func TestNoSumDBNeedsGoSum(t *testing.T) {
	w := newWorld(t)
	w.stack.DB.NoSumDB = "example.com/hello"
	hello := w.set.Module("example.com/hello", "v1.1.0")
	items := []modfetch.BulkItem{{Module: module.Version{Path: "example.com/hello", Version: "v1.1.0"}}, {Module: module.Version{Path: "example.com/major/v2", Version: "v2.1.0"}}}
	gs := new(checksum.GoSum)
	gs.Add(hello.Path, hello.Version, false, hello.ZipSum())
	gs.Add(hello.Path, hello.Version, true, hello.ModSum())

	out := filepath.Join(t.TempDir(), "b")
	if _, err := bundle.Export(context.Background(), out, items, &bundle.ExportOptions{Resolver: w.stack, DB: w.stack.DB}); !errors.Is(err, bundle.ErrUnverified) {
		t.Fatalf("Export without a go.sum for a GONOSUMDB module = %v, want ErrUnverified", err)
	}
	if _, err := os.Stat(out); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("a failed Export left %s: %v", out, err)
	}
	if _, err := bundle.Export(context.Background(), out, items, &bundle.ExportOptions{Resolver: w.stack, DB: w.stack.DB, GoSum: gs}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(out, "sumdb", "sum.example.com", "lookup", "example.com", "hello@v1.1.0")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the bundle has a lookup of a GONOSUMDB module: %v", err)
	}
	key := w.sumdb.Key
	w.close()

	imp := func(opts bundle.VerifyOptions) error {
		_, err := bundle.Import(context.Background(), out, &bundle.ImportOptions{VerifyOptions: opts, ModCache: t.TempDir()})
		return err
	}
	if err := imp(bundle.VerifyOptions{Key: key, NoSumDB: "example.com/hello"}); !errors.Is(err, bundle.ErrUnverified) {
		t.Errorf("Import without go.sum = %v, want ErrUnverified", err)
	}
	if err := imp(bundle.VerifyOptions{Key: key}); err == nil || !strings.Contains(err.Error(), "example.com/hello@v1.1.0") {
		t.Errorf("Import looking example.com/hello up in the bundle's database = %v, want a failed lookup", err)
	}
	if err := imp(bundle.VerifyOptions{Key: key, NoSumDB: "example.com/hello", GoSum: gs}); err != nil {
		t.Errorf("Import with go.sum: %v", err)
	}
	bad := new(checksum.GoSum)
	bad.Add(hello.Path, hello.Version, true, hello.ModSum())
	bad.Add(hello.Path, hello.Version, false, "h1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")
	var me *checksum.MismatchError
	if err := imp(bundle.VerifyOptions{Key: key, NoSumDB: "example.com/hello", GoSum: bad}); !errors.As(err, &me) || me.DB || me.Path != hello.Path {
		t.Errorf("Import with a go.sum that disagrees = %v, want a go.sum mismatch", err)
	}
	// Without a database, go.sum must vouch for everything.
	if err := imp(bundle.VerifyOptions{GoSum: gs}); !errors.Is(err, bundle.ErrUnverified) || !strings.Contains(err.Error(), "example.com/major/v2") {
		t.Errorf("Import with no database = %v, want ErrUnverified for example.com/major/v2", err)
	}
}

// TestImportSystemTar: a bundle directory archived by tar(1) from inside
// it (entries named "./...") imports like Export's own archives.
func TestImportSystemTar(t *testing.T) {
	tarBin, err := exec.LookPath("tar")
	if err != nil {
		t.Skip("skipping: no tar command")
	}
	w := newWorld(t)
	dir := filepath.Join(t.TempDir(), "b")
	w.export(t, dir)
	w.close()
	tgz := filepath.Join(t.TempDir(), "b.tar.gz")
	if out, err := exec.Command(tarBin, "-C", dir, "-czf", tgz, ".").CombinedOutput(); err != nil {
		t.Fatalf("tar: %v\n%s", err, out)
	}
	v, err := bundle.Import(context.Background(), tgz, &bundle.ImportOptions{VerifyOptions: bundle.VerifyOptions{Key: w.sumdb.Key}, ModCache: t.TempDir(), TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(v.Modules), len(w.items()); got != want {
		t.Errorf("imported %d modules, want %d", got, want)
	}
}

// TestImportRefusesForgedDatabase: a whole bundle made consistent by a
// database of the same name with another key (every lookup, tile and the
// tree head agree) is refused: the key comes from GOSUMDB, never from
// the bundle.
func TestImportRefusesForgedDatabase(t *testing.T) {
	forger := newWorld(t)
	out := filepath.Join(t.TempDir(), "forged.zip")
	forger.export(t, out)
	_, realKey := fixture.GenerateKey("sum.example.com")
	modcache := t.TempDir()
	_, err := bundle.Import(context.Background(), out, &bundle.ImportOptions{VerifyOptions: bundle.VerifyOptions{Key: realKey}, ModCache: modcache, TempDir: t.TempDir()})
	if !errors.Is(err, bundle.ErrTreeHead) || !errors.Is(err, bundle.ErrRefused) {
		t.Fatalf("Import of a forged bundle = %v, want ErrRefused and ErrTreeHead", err)
	}
	if entries, _ := os.ReadDir(modcache); len(entries) != 0 {
		t.Errorf("Import wrote into the module cache: %v", entries)
	}
}

// TestImportIntoStore: importing into a proxy's store writes exactly each
// module's .info, .mod, .zip and .ziphash (the .mod alone for a go.mod
// only module), the @v/list files and the database's files; a store
// already holding a file that disagrees with the bundle's verified
// hashes fails the import of that module with a mismatch, the other
// modules are imported.
func TestImportIntoStore(t *testing.T) {
	w := newWorld(t)
	out := filepath.Join(t.TempDir(), "b")
	w.export(t, out)
	key := w.sumdb.Key
	w.close()

	keys := func(dir string) map[string]bool {
		got := make(map[string]bool)
		filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.Type().IsRegular() && !strings.HasSuffix(p, ".lock") {
				rel, _ := filepath.Rel(dir, p)
				got[filepath.ToSlash(rel)] = true
			}
			return nil
		})
		return got
	}
	dir := filepath.Join(t.TempDir(), "download")
	v, err := bundle.Import(context.Background(), out, &bundle.ImportOptions{VerifyOptions: bundle.VerifyOptions{Key: key}, Store: &cache.DirStore{Dir: dir}})
	if err != nil {
		t.Fatalf("Import: %v", err)
	}
	want := make(map[string]bool)
	for _, m := range v.Modules {
		exts := []string{"info", "mod", "zip", "ziphash"}
		if m.GoModOnly {
			exts = []string{"mod"}
		}
		for _, ext := range exts {
			k, _ := modfetch.VersionFile(m.Path, m.Version, ext)
			want[k] = true
			// The DirStore keeps each path's @v/list, as the go
			// command's download cache does.
			want[path.Dir(k)+"/list"] = true
		}
	}
	for _, f := range v.SumDBFiles {
		want["sumdb/"+v.DBName+"/"+f] = true
	}
	if got := keys(dir); !maps.Equal(got, want) {
		t.Errorf("store holds %v\nwant %v", slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want)))
	}

	// A store whose hello v1.1.0 .mod was altered.
	dir2 := filepath.Join(t.TempDir(), "download")
	store := &cache.DirStore{Dir: dir2}
	if err := store.Put(context.Background(), "example.com/hello/@v/v1.1.0.mod", strings.NewReader("module example.com/hello // altered\n")); err != nil {
		t.Fatal(err)
	}
	_, err = bundle.Import(context.Background(), out, &bundle.ImportOptions{VerifyOptions: bundle.VerifyOptions{Key: key}, Store: store})
	var mismatch *checksum.MismatchError
	if !errors.As(err, &mismatch) || mismatch.Path != "example.com/hello" || mismatch.Version != "v1.1.0" || !mismatch.GoMod {
		t.Fatalf("Import into a store with an altered .mod = %v, want a go.mod mismatch of example.com/hello@v1.1.0", err)
	}
	got := keys(dir2)
	for k := range want {
		if strings.HasPrefix(k, "example.com/hello/@v/") || strings.HasPrefix(k, "sumdb/") {
			continue // hello: its imports run into the mismatch; sumdb files come last
		}
		if !got[k] {
			t.Errorf("after one module's mismatch, %s was not imported", k)
		}
	}
}

// zipCounter counts Zip calls per module version.
type zipCounter struct {
	modfetch.Resolver
	mu sync.Mutex
	n  map[module.Version]int
}

func (z *zipCounter) Zip(ctx context.Context, path, version string) (io.ReadCloser, error) {
	z.mu.Lock()
	z.n[module.Version{Path: path, Version: version}]++
	z.mu.Unlock()
	return z.Resolver.Zip(ctx, path, version)
}

// TestExportFetchesZipsOnce: Export asks its Resolver for each zip once,
// and the bundle's zip is the verified one.
func TestExportFetchesZipsOnce(t *testing.T) {
	w := newWorld(t)
	zc := &zipCounter{Resolver: w.stack, n: make(map[module.Version]int)}
	out := filepath.Join(t.TempDir(), "b")
	v, err := bundle.Export(context.Background(), out, w.items(), &bundle.ExportOptions{Resolver: zc, DB: w.stack.DB})
	if err != nil {
		t.Fatalf("Export: %v", err)
	}
	want := make(map[module.Version]int)
	for _, m := range v.Modules {
		if !m.GoModOnly {
			want[module.Version{Path: m.Path, Version: m.Version}] = 1
		}
	}
	if len(want) == 0 || !maps.Equal(zc.n, want) {
		t.Errorf("Zip calls %v, want %v", zc.n, want)
	}
	for mv := range want {
		name, _ := modfetch.VersionFile(mv.Path, mv.Version, "zip")
		data, err := os.ReadFile(filepath.Join(out, filepath.FromSlash(name)))
		if err != nil || !bytes.Equal(data, w.set.Module(mv.Path, mv.Version).Zip) {
			t.Errorf("%s in the bundle: %d bytes, %v; want the fixture's %d bytes", name, len(data), err, len(w.set.Module(mv.Path, mv.Version).Zip))
		}
	}
}
