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

func ExampleQuerier_Query() {
	modules := fixture.Queries()
	srv := httptest.NewServer(&fixture.Server{Set: modules})
	defer srv.Close()

	q := &modfetch.Querier{Resolver: &upstream.Proxy{URL: srv.URL}}
	ctx := context.Background()
	for _, query := range []string{"latest", "v1.0", ">=v1.0.1", "main"} {
		info, err := q.Query(ctx, "example.com/hello", query, nil)
		if err != nil {
			panic(err)
		}
		fmt.Printf("%s -> %s\n", query, info.Version)
	}
	// Retracted versions are skipped unless asked for.
	info, _ := q.Query(ctx, "example.com/retract", "latest", nil)
	fmt.Println("retract@latest ->", info.Version)
	fmt.Println(q.Retracted(ctx, "example.com/retract", "v1.2.0"))
	_, err := q.Query(ctx, "example.com/hello", "v3", nil)
	fmt.Println(err)
	// Output:
	// latest -> v1.1.0
	// v1.0 -> v1.0.0
	// >=v1.0.1 -> v1.1.0
	// main -> v1.1.0
	// retract@latest -> v1.0.0
	// example.com/retract@v1.2.0: retracted by module author: published too early
	// module example.com/hello: no matching versions for query "v3"
}
