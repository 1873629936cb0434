package goenv_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"

	"github.com/modfetch/modfetch"
	"github.com/modfetch/modfetch/goenv"
	"github.com/modfetch/modfetch/internal/fixture"
)

func ExampleConfig_Resolver() {
	// A module proxy, and a throwaway module cache.
	srv := httptest.NewServer(&fixture.Server{Set: fixture.Standard()})
	defer srv.Close()
	dir, _ := os.MkdirTemp("", "goenv-example")
	defer os.RemoveAll(dir)

	// In a program: cfg, err := goenv.Load().
	cfg := &goenv.Config{
		GOPROXY:    srv.URL,
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
