package modfetch_test

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/modfetch/modfetch"
	"github.com/modfetch/modfetch/internal/fixture"
)

func TestDownloadExtracts(t *testing.T) {
	set := fixture.Standard()
	ctx := context.Background()
	for _, rw := range []bool{false, true} {
		modcache := t.TempDir()
		t.Cleanup(func() { chmodAll(modcache) })
		m := set.Module("example.com/Upper/Case", "v1.0.0-RC1")
		d, err := modfetch.Download(ctx, set, m.Path, m.Version, &modfetch.DownloadOptions{ModCache: modcache, ReadWrite: rw})
		if err != nil {
			t.Fatal(err)
		}
		if d.Version != m.Version || d.Sum != m.ZipSum() || d.GoModSum != m.ModSum() || string(d.GoMod) != string(m.Mod) {
			t.Fatalf("Downloaded = %+v", d)
		}
		wantDir := filepath.Join(modcache, "example.com", "!upper", "!case@v1.0.0-!r!c1")
		if d.Dir != wantDir {
			t.Fatalf("Dir = %s, want %s", d.Dir, wantDir)
		}
		fi, err := os.Stat(filepath.Join(d.Dir, "upper.go"))
		if err != nil || fi.Mode().Perm() != 0o444 {
			t.Fatalf("upper.go: %v, %v", fi, err)
		}
		di, err := os.Stat(d.Dir)
		if err != nil {
			t.Fatal(err)
		}
		if writable := di.Mode().Perm()&0o200 != 0; writable != rw {
			t.Fatalf("dir mode %v with ReadWrite=%v", di.Mode(), rw)
		}
		vdir := filepath.Join(modcache, "cache", "download", "example.com", "!upper", "!case", "@v")
		if _, err := os.Stat(filepath.Join(vdir, "v1.0.0-!r!c1.partial")); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf(".partial left: %v", err)
		}
		if _, err := os.Stat(filepath.Join(vdir, "v1.0.0-!r!c1.lock")); err != nil {
			t.Fatalf("no lock file: %v", err)
		}
		if data, err := os.ReadFile(filepath.Join(vdir, "v1.0.0-!r!c1.ziphash")); err != nil || string(data) != m.ZipSum() {
			t.Fatalf(".ziphash = %q, %v", data, err)
		}
	}
}

func TestDownloadResumesPartialAndKeepsComplete(t *testing.T) {
	set := fixture.Standard()
	ctx := context.Background()
	modcache := t.TempDir()
	t.Cleanup(func() { chmodAll(modcache) })
	m := set.Module("example.com/hello", "v1.1.0")
	opts := &modfetch.DownloadOptions{ModCache: modcache, ReadWrite: true}

	// A previous extraction was killed midway: a .partial marker and a
	// half-filled directory.
	dir := filepath.Join(modcache, "example.com", "hello@v1.1.0")
	vdir := filepath.Join(modcache, "cache", "download", "example.com", "hello", "@v")
	os.MkdirAll(dir, 0o777)
	os.MkdirAll(vdir, 0o777)
	os.WriteFile(filepath.Join(dir, "junk.go"), []byte("package junk"), 0o666)
	os.WriteFile(filepath.Join(vdir, "v1.1.0.partial"), nil, 0o666)

	d, err := modfetch.Download(ctx, set, m.Path, m.Version, opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(d.Dir, "junk.go")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatal("partial directory was not replaced")
	}
	if _, err := os.Stat(filepath.Join(d.Dir, "LICENSE")); err != nil {
		t.Fatal(err)
	}

	// A complete directory is left alone.
	marker := filepath.Join(d.Dir, "added-later")
	if err := os.WriteFile(marker, nil, 0o666); err != nil {
		t.Fatal(err)
	}
	if _, err := modfetch.Download(ctx, set, m.Path, m.Version, opts); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(marker); err != nil {
		t.Fatal("complete directory was extracted again")
	}
}

func TestDownloadRejectsBadZip(t *testing.T) {
	set := fixture.Standard()
	m := set.Module("example.com/hello", "v1.0.0")
	// A go.mod in a subdirectory: the go command caches such a zip if its
	// hash checks out, but refuses to extract it.
	m.Zip = fixture.RawZip(map[string]string{
		"example.com/hello@v1.0.0/go.mod":     "module example.com/hello\n",
		"example.com/hello@v1.0.0/sub/GO.MOD": "module example.com/hello/sub\n",
	})
	modcache := t.TempDir()
	t.Cleanup(func() { chmodAll(modcache) })
	_, err := modfetch.Download(context.Background(), set, m.Path, m.Version, &modfetch.DownloadOptions{ModCache: modcache})
	if err == nil || !strings.Contains(err.Error(), "go.mod file not in module root directory") {
		t.Fatalf("err = %v", err)
	}
	if _, err := os.Stat(filepath.Join(modcache, "example.com", "hello@v1.0.0")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatal("failed extraction left its directory")
	}
	if _, err := os.Stat(filepath.Join(modcache, "cache", "download", "example.com", "hello", "@v", "v1.0.0.partial")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatal("failed extraction left .partial")
	}
}

func TestDownloadConcurrent(t *testing.T) {
	set := fixture.Standard()
	modcache := t.TempDir()
	t.Cleanup(func() { chmodAll(modcache) })
	m := set.Module("example.com/major/v2", "v2.1.0")
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d, err := modfetch.Download(context.Background(), set, m.Path, m.Version, &modfetch.DownloadOptions{ModCache: modcache})
			if err == nil && d.Sum != m.ZipSum() {
				err = errors.New("wrong sum " + d.Sum)
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat(filepath.Join(modcache, "example.com", "major", "v2@v2.1.0", "sub", "sub.go")); err != nil {
		t.Fatal(err)
	}
}

func TestDownloadWithoutModCache(t *testing.T) {
	set := fixture.Standard()
	d, err := modfetch.Download(context.Background(), set, "example.com/nomod", "v2.0.0+incompatible", nil)
	if err != nil {
		t.Fatal(err)
	}
	m := set.Module("example.com/nomod", "v2.0.0+incompatible")
	if d.Dir != "" || d.Sum != m.ZipSum() || d.GoModSum != "h1:"+strings.TrimPrefix(m.ModSum(), "h1:") {
		t.Fatalf("Downloaded = %+v", d)
	}
	// A revision resolves through Stat.
	set.Revs = map[string]string{"example.com/hello@main": "v1.1.0"}
	d, err = modfetch.Download(context.Background(), set, "example.com/hello", "main", nil)
	if err != nil || d.Version != "v1.1.0" {
		t.Fatalf("Download(main) = %+v, %v", d, err)
	}
	// Errors are the Resolver's.
	_, err = modfetch.Download(context.Background(), set, "example.com/hello", "v1.9.9", nil)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("err = %v", err)
	}
	// A relative module cache is refused with the go command's words.
	_, err = modfetch.Download(context.Background(), set, "example.com/hello", "v1.0.0", &modfetch.DownloadOptions{ModCache: "rel/cache"})
	if err == nil || err.Error() != `GOMODCACHE entry is relative; must be absolute path: "rel/cache".` {
		t.Fatalf("err = %v", err)
	}
}

func TestDownloadCanceled(t *testing.T) {
	set := fixture.Standard()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := modfetch.Download(ctx, slowSet{set}, "example.com/hello", "v1.0.0", &modfetch.DownloadOptions{ModCache: t.TempDir()})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
}

// slowSet honours cancellation in Stat, like a network Resolver.
type slowSet struct{ *fixture.Set }

func (s slowSet) Stat(ctx context.Context, path, rev string) (*modfetch.Info, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return s.Set.Stat(ctx, path, rev)
}

// chmodAll makes a module cache removable by t.TempDir's cleanup.
func chmodAll(dir string) {
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			os.Chmod(path, 0o777)
		}
		return nil
	})
}

// fileResolver answers Zip with a file it writes at name, wrapped in a
// type of its own (as Direct's and DirStore's zips are) that unwraps to
// the file and, when sum is set, reports it as the zip's hash.
type fileResolver struct {
	modfetch.Resolver
	name string
	sum  string
}

type wrappedFile struct {
	*os.File
	sum string
}

func (f wrappedFile) Unwrap() io.Reader { return f.File }

type summedFile struct{ wrappedFile }

func (f summedFile) Sum() string { return f.sum }

func (r *fileResolver) Zip(ctx context.Context, path, version string) (io.ReadCloser, error) {
	rc, err := r.Resolver.Zip(ctx, path, version)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	if err := os.MkdirAll(filepath.Dir(r.name), 0o777); err != nil {
		return nil, err
	}
	f, err := os.Create(r.name)
	if err != nil {
		return nil, err
	}
	if _, err := io.Copy(f, rc); err != nil {
		f.Close()
		return nil, err
	}
	f.Seek(0, io.SeekStart)
	if r.sum != "" {
		return summedFile{wrappedFile{f, r.sum}}, nil
	}
	return wrappedFile{f, ""}, nil
}

// TestDownloadTakesSumFromReader: Download takes a zip's hash from its
// reader (a modfetch.Summer, such as a cache's reader of a zip it
// verified) and otherwise hashes the zip; a .ziphash file beside the
// reader's file, even in a module cache's layout, is never trusted.
func TestDownloadTakesSumFromReader(t *testing.T) {
	set := fixture.Standard()
	m := set.Module("example.com/hello", "v1.0.0")
	const recorded = "h1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
	dir := t.TempDir()
	name := filepath.Join(dir, "store", "example.com", "hello", "@v", "v1.0.0.zip")
	if err := os.MkdirAll(filepath.Dir(name), 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(strings.TrimSuffix(name, ".zip")+".ziphash", []byte(recorded), 0o666); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		sum, want string
	}{
		{"", m.ZipSum()},
		{recorded, recorded},
	} {
		d, err := modfetch.Download(context.Background(), &fileResolver{set, name, tt.sum}, m.Path, m.Version, nil)
		if err != nil || d.Sum != tt.want {
			t.Errorf("reader's Sum %q: Download = %+v, %v; want Sum %s", tt.sum, d, err, tt.want)
		}
	}
}
