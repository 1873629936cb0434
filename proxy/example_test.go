package proxy_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/modfetch/modfetch/cache"
	"github.com/modfetch/modfetch/checksum"
	"github.com/modfetch/modfetch/internal/fixture"
	"github.com/modfetch/modfetch/proxy"
	"github.com/modfetch/modfetch/upstream"
)

// A caching, verifying module proxy in a few lines: an upstream, checksum
// verification, a cache, and the handler.
func Example() {
	// An upstream proxy and the checksum database that vouches for it.
	modules := fixture.Standard()
	upstreamSrv := httptest.NewServer(&fixture.Server{Set: modules})
	defer upstreamSrv.Close()
	db := fixture.NewSumDB("sum.example.com", modules.GoSumLines)
	dbSrv := httptest.NewServer(db)
	defer dbSrv.Close()

	sumdb := &checksum.DB{Key: db.Key, URL: dbSrv.URL}
	handler := &proxy.Handler{
		Resolver: &cache.Cache{
			Next: &checksum.Verify{
				Next: &upstream.Proxy{URL: upstreamSrv.URL},
				DB:   sumdb,
			},
			Store: &cache.MemStore{},
		},
		SumDBs: []*checksum.DB{sumdb},
	}
	srv := httptest.NewServer(handler)
	defer srv.Close()

	// GOPROXY=srv.URL now works for the go command; ask it directly here.
	for _, p := range []string{"/example.com/hello/@v/list", "/example.com/hello/@v/v1.1.0.info", "/example.com/hello/@v/v9.9.9.info", "/sumdb/sum.example.com/supported"} {
		resp, err := http.Get(srv.URL + p)
		if err != nil {
			panic(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Printf("%s %d %q\n", p, resp.StatusCode, strings.ReplaceAll(string(body), upstreamSrv.URL, "UPSTREAM"))
	}
	// Output:
	// /example.com/hello/@v/list 200 "v1.0.0\nv1.1.0\n"
	// /example.com/hello/@v/v1.1.0.info 200 "{\"Version\":\"v1.1.0\",\"Time\":\"2024-02-01T10:00:00Z\"}"
	// /example.com/hello/@v/v9.9.9.info 404 "not found: example.com/hello@v9.9.9: reading UPSTREAM/example.com/hello/@v/v9.9.9.info: 404 Not Found\n\tserver response: not found: example.com/hello/@v/v9.9.9.info\n"
	// /sumdb/sum.example.com/supported 200 ""
}
