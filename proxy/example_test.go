package proxy_test

import (
	"archive/zip"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"

	"github.com/modfetch/modfetch/cache"
	"github.com/modfetch/modfetch/checksum"
	"github.com/modfetch/modfetch/proxy"
	"github.com/modfetch/modfetch/upstream"
)

// A caching, verifying module proxy in a few lines: an upstream, checksum
// verification, a cache with a memory tier, and the handler.
func Example() {
	// An upstream module proxy: a file tree in the GOPROXY layout holding
	// example.com/hello v1.1.0 (its zip made on the spot), served over HTTP.
	var zipData bytes.Buffer
	zw := zip.NewWriter(&zipData)
	for _, f := range [][2]string{{"go.mod", "module example.com/hello\n\ngo 1.21\n"}, {"hello.go", "package hello\n"}} {
		w, _ := zw.Create("example.com/hello@v1.1.0/" + f[0])
		w.Write([]byte(f[1]))
	}
	zw.Close()
	tree, _ := os.MkdirTemp("", "upstream")
	defer os.RemoveAll(tree)
	for name, data := range map[string]string{
		"list":        "v1.1.0\n",
		"v1.1.0.info": `{"Version":"v1.1.0","Time":"2024-02-01T10:00:00Z"}`,
		"v1.1.0.mod":  "module example.com/hello\n\ngo 1.21\n",
		"v1.1.0.zip":  zipData.String(),
	} {
		os.MkdirAll(filepath.Join(tree, "example.com/hello/@v"), 0o777)
		os.WriteFile(filepath.Join(tree, "example.com/hello/@v", name), []byte(data), 0o666)
	}
	upstreamSrv := httptest.NewServer(http.FileServer(http.Dir(tree)))
	defer upstreamSrv.Close()

	// What the module's go.sum lines say (a checksum.DB would do too).
	sums, _ := checksum.ParseGoSum("go.sum", []byte(
		"example.com/hello v1.1.0 h1:Gjx7E0lkfu3Ha3oCYPSg5T4Ho8vj3jPhEc2eTLyYUxI=\n"+
			"example.com/hello v1.1.0/go.mod h1:NnGvEkTHyKKlgPcQSue0skqyqiS1EfBSAh+0WaWZYmE=\n"))
	cacheDir, _ := os.MkdirTemp("", "cache")
	defer os.RemoveAll(cacheDir)
	memory := &cache.MemStore{MaxBytes: 64 << 20}
	handler := &proxy.Handler{
		Resolver: &cache.Cache{
			Next:  &checksum.Verify{Next: &upstream.Proxy{URL: upstreamSrv.URL}, GoSum: sums},
			Store: &cache.Tiered{Fast: memory, Slow: &cache.DirStore{Dir: cacheDir}},
		},
		Memory: memory, // hot answers straight from memory
	}
	srv := httptest.NewServer(handler)
	defer srv.Close()

	// GOPROXY=srv.URL now works for the go command; ask it directly here.
	for _, p := range []string{"/example.com/hello/@v/list", "/example.com/hello/@v/v1.1.0.info", "/example.com/hello/@v/v1.1.0.zip", "/example.com/hello/@v/v9.9.9.info"} {
		resp, err := http.Get(srv.URL + p)
		if err != nil {
			panic(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.HasSuffix(p, ".zip") {
			body = []byte(fmt.Sprintf("%d bytes", len(body)))
		}
		fmt.Printf("%s %d %q\n", p, resp.StatusCode, body)
	}
	// Output:
	// /example.com/hello/@v/list 200 "v1.1.0\n"
	// /example.com/hello/@v/v1.1.0.info 200 "{\"Version\":\"v1.1.0\",\"Time\":\"2024-02-01T10:00:00Z\"}"
	// /example.com/hello/@v/v1.1.0.zip 200 "394 bytes"
	// /example.com/hello/@v/v9.9.9.info 404 "not found: example.com/hello@v9.9.9: reading upstream: 404 Not Found\n\tserver response: 404 page not found\n"
}
