package cache_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"

	"github.com/modfetch/modfetch/cache"
	"github.com/modfetch/modfetch/upstream"
)

func ExampleCache() {
	// An upstream module proxy (a file tree in the GOPROXY layout, over
	// HTTP) that counts the requests it serves.
	tree, _ := os.MkdirTemp("", "upstream")
	defer os.RemoveAll(tree)
	os.MkdirAll(filepath.Join(tree, "example.com/hello/@v"), 0o777)
	os.WriteFile(filepath.Join(tree, "example.com/hello/@v/v1.1.0.mod"), []byte("module example.com/hello\n"), 0o666)
	var requests atomic.Int32
	files := http.FileServer(http.Dir(tree))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		files.ServeHTTP(w, r)
	}))
	defer srv.Close()

	c := &cache.Cache{
		Next:  &upstream.Proxy{URL: srv.URL},
		Store: &cache.MemStore{MaxBytes: 16 << 20},
	}
	ctx := context.Background()
	for range 3 {
		if _, err := c.GoMod(ctx, "example.com/hello", "v1.1.0"); err != nil {
			panic(err)
		}
	}
	fmt.Println("upstream requests:", requests.Load())
	// Output: upstream requests: 1
}

func ExampleDirStore_Put() {
	dir, err := os.MkdirTemp("", "modcache")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()
	s := &cache.DirStore{Dir: filepath.Join(dir, "cache", "download")}

	for _, v := range []string{"v1.10.0", "v1.2.0", "v1.9.9"} {
		key := "example.com/m/@v/" + v + ".mod"
		if err := s.Put(ctx, key, strings.NewReader("module example.com/m\n")); err != nil {
			fmt.Println(err)
			return
		}
	}
	// Like the go command, the store keeps @v/list up to date.
	rc, err := s.Get(ctx, "example.com/m/@v/list")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer rc.Close()
	list, _ := io.ReadAll(rc)
	fmt.Print(string(list))
	// Output:
	// v1.2.0
	// v1.9.9
	// v1.10.0
}

func ExampleTiered() {
	dir, _ := os.MkdirTemp("", "store")
	defer os.RemoveAll(dir)
	ctx := context.Background()
	memory := &cache.MemStore{MaxBytes: 64 << 20}
	s := &cache.Tiered{Fast: memory, Slow: &cache.DirStore{Dir: dir}}

	s.Put(ctx, "example.com/m/@v/v1.0.0.mod", strings.NewReader("module example.com/m\n"))
	// Small values are in both stores: hot reads come from memory.
	_, err := memory.Get(ctx, "example.com/m/@v/v1.0.0.mod")
	fmt.Println("in memory:", err == nil)
	_, err = os.Stat(filepath.Join(dir, "example.com/m/@v/v1.0.0.mod"))
	fmt.Println("on disk:", err == nil)
	// Output:
	// in memory: true
	// on disk: true
}
