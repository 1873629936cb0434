package upstream_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"

	"github.com/modfetch/modfetch"
	"github.com/modfetch/modfetch/upstream"
)

func ExampleParse() {
	list, err := upstream.Parse("https://corp.example/proxy|proxy.golang.org,direct,https://ignored.example")
	if err != nil {
		panic(err)
	}
	for _, e := range list {
		fmt.Printf("%s fallBackOnError=%v\n", e.URL, e.FallBackOnError)
	}
	_, err = upstream.Parse("ftp://mirror.example")
	fmt.Println(err)
	// Output:
	// https://corp.example/proxy fallBackOnError=true
	// https://proxy.golang.org fallBackOnError=false
	// direct fallBackOnError=false
	// invalid proxy URL scheme (must be https, http, file): ftp://mirror.example
}

func ExampleProxy() {
	// A module proxy holding example.com/hello: a file tree in the GOPROXY
	// layout (.info and .mod files), over HTTP.
	tree, _ := os.MkdirTemp("", "proxy")
	defer os.RemoveAll(tree)
	os.MkdirAll(filepath.Join(tree, "example.com/hello/@v"), 0o777)
	for name, data := range map[string]string{
		"list":        "v1.0.0\nv1.1.0\n",
		"v1.0.0.info": `{"Version":"v1.0.0","Time":"2024-01-01T10:00:00Z"}`,
		"v1.1.0.info": `{"Version":"v1.1.0","Time":"2024-02-01T10:00:00Z"}`,
		"v1.0.0.mod":  "module example.com/hello\n\ngo 1.21\n",
	} {
		os.WriteFile(filepath.Join(tree, "example.com/hello/@v", name), []byte(data), 0o666)
	}
	srv := httptest.NewServer(http.FileServer(http.Dir(tree)))
	defer srv.Close()

	p := &upstream.Proxy{URL: srv.URL}
	ctx := context.Background()
	versions, _ := p.List(ctx, "example.com/hello")
	fmt.Println(versions)
	info, _ := p.Stat(ctx, "example.com/hello", "v1.1.0")
	fmt.Println(info.Version, info.Time)
	_, err := p.Stat(ctx, "example.com/hello", "v9.9.9")
	fmt.Println(errors.Is(err, fs.ErrNotExist))
	// Output:
	// [v1.0.0 v1.1.0]
	// v1.1.0 2024-02-01 10:00:00 +0000 UTC
	// true
}

func ExampleChain() {
	// The first proxy knows nothing (404), the second has the module.
	empty := httptest.NewServer(http.NotFoundHandler())
	defer empty.Close()
	// The second holds example.com/hello: a file tree in the GOPROXY
	// layout (.info and .mod files), over HTTP.
	tree, _ := os.MkdirTemp("", "proxy")
	defer os.RemoveAll(tree)
	os.MkdirAll(filepath.Join(tree, "example.com/hello/@v"), 0o777)
	for name, data := range map[string]string{
		"list":        "v1.0.0\nv1.1.0\n",
		"v1.0.0.info": `{"Version":"v1.0.0","Time":"2024-01-01T10:00:00Z"}`,
		"v1.1.0.info": `{"Version":"v1.1.0","Time":"2024-02-01T10:00:00Z"}`,
		"v1.0.0.mod":  "module example.com/hello\n\ngo 1.21\n",
	} {
		os.WriteFile(filepath.Join(tree, "example.com/hello/@v", name), []byte(data), 0o666)
	}
	full := httptest.NewServer(http.FileServer(http.Dir(tree)))
	defer full.Close()

	chain, err := (&upstream.Config{}).Parse(empty.URL + "," + full.URL)
	if err != nil {
		panic(err)
	}
	mod, _ := chain.GoMod(context.Background(), "example.com/hello", "v1.0.0")
	fmt.Printf("%s", mod)

	// Private modules never reach a proxy: without a direct Resolver
	// they fail clearly.
	private := &upstream.Config{NoProxy: "example.com/private"}
	chain = private.Chain([]upstream.Element{{URL: full.URL}})
	_, err = chain.Stat(context.Background(), "example.com/private/m", "v1.0.0")
	fmt.Println(errors.Is(err, upstream.ErrDirectNotConfigured))
	// Output:
	// module example.com/hello
	//
	// go 1.21
	// true
}

var _ modfetch.Resolver = (*upstream.Proxy)(nil)
var _ modfetch.Resolver = (*upstream.Chain)(nil)
var _ modfetch.Resolver = upstream.Off{}
