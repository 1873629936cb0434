package cache_test

import (
	"context"
	"fmt"
	"net/http/httptest"

	"github.com/modfetch/modfetch/cache"
	"github.com/modfetch/modfetch/internal/fixture"
	"github.com/modfetch/modfetch/upstream"
)

func ExampleCache() {
	srv := &fixture.Server{Set: fixture.Standard()}
	hs := httptest.NewServer(srv)
	defer hs.Close()

	c := &cache.Cache{
		Next:  &upstream.Proxy{URL: hs.URL},
		Store: &cache.MemStore{MaxBytes: 16 << 20},
	}
	ctx := context.Background()
	for range 3 {
		if _, err := c.GoMod(ctx, "example.com/hello", "v1.1.0"); err != nil {
			panic(err)
		}
	}
	fmt.Println("upstream requests:", srv.Hits("/example.com/hello/@v/v1.1.0.mod"))
	// Output: upstream requests: 1
}
