package modfetch_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"

	"github.com/modfetch/modfetch"
	"github.com/modfetch/modfetch/internal/fixture"
	"github.com/modfetch/modfetch/upstream"
)

func ExampleDownload() {
	// A module proxy holding example.com/hello.
	srv := httptest.NewServer(&fixture.Server{Set: fixture.Standard()})
	defer srv.Close()
	modcache, _ := os.MkdirTemp("", "modcache")
	defer os.RemoveAll(modcache)

	proxy := &upstream.Proxy{URL: srv.URL}
	d, err := modfetch.Download(context.Background(), proxy, "example.com/hello", "v1.1.0",
		&modfetch.DownloadOptions{ModCache: modcache, ReadWrite: true})
	if err != nil {
		panic(err)
	}
	dir, _ := filepath.Rel(modcache, d.Dir)
	fmt.Println(d.Version, d.Info.Time.Format("2006-01-02"))
	fmt.Println(d.GoModSum)
	fmt.Println(filepath.ToSlash(dir))
	// Output:
	// v1.1.0 2024-02-01
	// h1:NnGvEkTHyKKlgPcQSue0skqyqiS1EfBSAh+0WaWZYmE=
	// example.com/hello@v1.1.0
}
