package modfetch_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log"
	"os"
	"strings"
	"time"

	"golang.org/x/mod/module"
	modzip "golang.org/x/mod/zip"

	"github.com/modfetch/modfetch"
)

// memFile is a file of a module zip built in memory.
type memFile struct{ name, data string }

func (f memFile) Path() string                 { return f.name }
func (f memFile) Lstat() (fs.FileInfo, error)  { return memInfo(f), nil }
func (f memFile) Open() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(f.data)), nil }

type memInfo memFile

func (i memInfo) Name() string       { return i.name }
func (i memInfo) Size() int64        { return int64(len(i.data)) }
func (i memInfo) Mode() fs.FileMode  { return 0o444 }
func (i memInfo) ModTime() time.Time { return time.Time{} }
func (i memInfo) IsDir() bool        { return false }
func (i memInfo) Sys() any           { return nil }

// memResolver serves module versions whose only file is their go.mod.
// A program would use upstream.Proxy, checksum.Verify and a cache instead.
type memResolver map[module.Version]bool

func (r memResolver) check(path, version string) error {
	if !r[module.Version{Path: path, Version: version}] {
		return &module.ModuleError{Path: path, Version: version, Err: fs.ErrNotExist}
	}
	return nil
}

func (r memResolver) Stat(ctx context.Context, path, version string) (*modfetch.Info, error) {
	if err := r.check(path, version); err != nil {
		return nil, err
	}
	return &modfetch.Info{Version: version, Time: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)}, nil
}

func (r memResolver) GoMod(ctx context.Context, path, version string) ([]byte, error) {
	if err := r.check(path, version); err != nil {
		return nil, err
	}
	return []byte("module " + path + "\n"), nil
}

func (r memResolver) Zip(ctx context.Context, path, version string) (io.ReadCloser, error) {
	if err := r.check(path, version); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	files := []modzip.File{memFile{"go.mod", "module " + path + "\n"}}
	if err := modzip.Create(&buf, module.Version{Path: path, Version: version}, files); err != nil {
		return nil, err
	}
	return io.NopCloser(&buf), nil
}

func (memResolver) List(context.Context, string) ([]string, error) { return nil, fs.ErrNotExist }
func (memResolver) Latest(context.Context, string) (*modfetch.Info, error) {
	return nil, fs.ErrNotExist
}

// DownloadAll fetches many module versions, two at a time, reporting
// progress and going on past failures, each of which it reports.
func ExampleDownloadAll() {
	r := memResolver{
		{Path: "example.com/a", Version: "v1.0.0"}: true,
		{Path: "example.com/b", Version: "v1.2.0"}: true,
	}
	items := []modfetch.BulkItem{
		{Module: module.Version{Path: "example.com/a", Version: "v1.0.0"}},
		{Module: module.Version{Path: "example.com/b", Version: "v1.2.0"}, GoModOnly: true},
		{Module: module.Version{Path: "example.com/c", Version: "v0.1.0"}},
	}
	modcache, err := os.MkdirTemp("", "modcache")
	if err != nil {
		log.Fatal(err)
	}
	defer func() {
		os.Chmod(modcache+"/example.com/a@v1.0.0", 0o777) // extracted directories are read-only
		os.RemoveAll(modcache)
	}()
	var last modfetch.BulkTotals
	results, err := modfetch.DownloadAll(context.Background(), r, items, &modfetch.BulkOptions{
		Parallel:        2,
		Progress:        func(e modfetch.BulkEvent) { last = e.Totals },
		DownloadOptions: modfetch.DownloadOptions{ModCache: modcache},
	})
	for _, res := range results {
		switch {
		case res.Err != nil:
			fmt.Println(res.Item.Module, "failed; not found:", errors.Is(res.Err, fs.ErrNotExist))
		case res.Item.GoModOnly:
			fmt.Println(res.Item.Module, "go.mod", res.GoModSum)
		default:
			fmt.Println(res.Item.Module, "zip", res.Downloaded.Sum, "extracted:", res.Downloaded.Dir != "")
		}
	}
	fmt.Println("error:", err)
	totals, _ := json.Marshal(last)
	fmt.Println(string(totals))
	// Output:
	// example.com/a@v1.0.0 zip h1:DaLgb81tB9bWlUSbzgQDlxb08dI2NyLKbjnOeG7aC8M= extracted: true
	// example.com/b@v1.2.0 go.mod h1:8xdIx8LpQAK6ksT91/F2aGI0Kq4z+yBUFDU6f3g9/PU=
	// example.com/c@v0.1.0 failed; not found: true
	// error: example.com/c@v0.1.0: file does not exist
	// {"Items":3,"Started":3,"Done":2,"Failed":1,"Bytes":195}
}
