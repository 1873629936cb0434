package goenv_test

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/modfetch/modfetch"
	"github.com/modfetch/modfetch/goenv"
)

func ExampleConfig_Resolver() {
	// A module proxy (a file tree in the GOPROXY layout, its zip made on
	// the spot), and a throwaway module cache.
	var zipData bytes.Buffer
	zw := zip.NewWriter(&zipData)
	w, _ := zw.Create("example.com/hello@v1.1.0/go.mod")
	w.Write([]byte("module example.com/hello\n\ngo 1.21\n"))
	zw.Close()
	tree, _ := os.MkdirTemp("", "proxy")
	defer os.RemoveAll(tree)
	os.MkdirAll(filepath.Join(tree, "example.com/hello/@v"), 0o777)
	for name, data := range map[string]string{
		"v1.1.0.info": `{"Version":"v1.1.0","Time":"2024-02-01T10:00:00Z"}`,
		"v1.1.0.mod":  "module example.com/hello\n\ngo 1.21\n",
		"v1.1.0.zip":  zipData.String(),
	} {
		os.WriteFile(filepath.Join(tree, "example.com/hello/@v", name), []byte(data), 0o666)
	}
	dir, _ := os.MkdirTemp("", "goenv-example")
	defer os.RemoveAll(dir)

	// In a program: cfg, err := goenv.Load().
	cfg := &goenv.Config{
		GOPROXY:    "file://" + filepath.ToSlash(tree),
		GOSUMDB:    "off",
		GOPRIVATE:  "corp.example.com",
		GONOPROXY:  "corp.example.com",
		GOMODCACHE: filepath.Join(dir, "pkg", "mod"),
		GOPATH:     dir,
	}
	stack, err := cfg.Resolver(nil)
	if err != nil {
		panic(err)
	}
	d, err := modfetch.Download(context.Background(), stack, "example.com/hello", "v1.1.0", nil)
	if err != nil {
		panic(err)
	}
	fmt.Println(d.Version, d.GoModSum)
	_, err = os.Stat(filepath.Join(cfg.GOMODCACHE, "cache", "download", "example.com", "hello", "@v", "v1.1.0.zip"))
	fmt.Println("in the module cache:", err == nil)
	// Output:
	// v1.1.0 h1:NnGvEkTHyKKlgPcQSue0skqyqiS1EfBSAh+0WaWZYmE=
	// in the module cache: true
}
