package modfetch_test

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/modfetch/modfetch"
	"github.com/modfetch/modfetch/upstream"
)

func ExampleDownload() {
	// A module proxy holding example.com/hello v1.1.0: a file tree in the
	// GOPROXY layout, with the zip made on the spot.
	var zipData bytes.Buffer
	zw := zip.NewWriter(&zipData)
	for _, f := range [][2]string{{"go.mod", "module example.com/hello\n\ngo 1.21\n"}, {"hello.go", "package hello\n"}} {
		w, _ := zw.Create("example.com/hello@v1.1.0/" + f[0])
		w.Write([]byte(f[1]))
	}
	zw.Close()
	tree, _ := os.MkdirTemp("", "proxy")
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
	modcache, _ := os.MkdirTemp("", "modcache")
	defer os.RemoveAll(modcache)

	proxy := &upstream.Proxy{URL: "file://" + filepath.ToSlash(tree)}
	d, err := modfetch.Download(context.Background(), proxy, "example.com/hello", "v1.1.0",
		&modfetch.DownloadOptions{ModCache: modcache, ReadWrite: true})
	if err != nil {
		panic(err)
	}
	dir, _ := filepath.Rel(modcache, d.Dir)
	fmt.Println(d.Version, d.Info.Time.Format("2006-01-02"))
	fmt.Println(d.GoModSum)
	fmt.Println(d.Sum)
	fmt.Println(filepath.ToSlash(dir))
	// Output:
	// v1.1.0 2024-02-01
	// h1:NnGvEkTHyKKlgPcQSue0skqyqiS1EfBSAh+0WaWZYmE=
	// h1:Gjx7E0lkfu3Ha3oCYPSg5T4Ho8vj3jPhEc2eTLyYUxI=
	// example.com/hello@v1.1.0
}

func ExampleQuerier_Query() {
	// A module proxy as a file tree: example.com/hello's versions, its
	// branch main, and example.com/retract, whose latest version
	// retracts itself.
	tree, _ := os.MkdirTemp("", "proxy")
	defer os.RemoveAll(tree)
	info := func(v string) string { return `{"Version":"` + v + `","Time":"2024-02-01T10:00:00Z"}` }
	for name, data := range map[string]string{
		"example.com/hello/@v/list":          "v1.0.0\nv1.0.1\nv1.1.0\n",
		"example.com/hello/@v/v1.0.0.info":   info("v1.0.0"),
		"example.com/hello/@v/v1.0.1.info":   info("v1.0.1"),
		"example.com/hello/@v/v1.1.0.info":   info("v1.1.0"),
		"example.com/hello/@v/main.info":     info("v1.1.0"),
		"example.com/retract/@v/list":        "v1.0.0\nv1.2.0\n",
		"example.com/retract/@v/v1.0.0.info": info("v1.0.0"),
		"example.com/retract/@v/v1.2.0.info": info("v1.2.0"),
		"example.com/retract/@v/v1.2.0.mod":  "module example.com/retract\n\nretract v1.2.0 // published too early\n",
	} {
		os.MkdirAll(filepath.Dir(filepath.Join(tree, name)), 0o777)
		os.WriteFile(filepath.Join(tree, name), []byte(data), 0o666)
	}

	q := &modfetch.Querier{Resolver: &upstream.Proxy{URL: "file://" + filepath.ToSlash(tree)}}
	ctx := context.Background()
	for _, query := range []string{"latest", "v1.0", ">=v1.0.1", "main"} {
		info, err := q.Query(ctx, "example.com/hello", query, nil)
		if err != nil {
			panic(err)
		}
		fmt.Printf("%s -> %s\n", query, info.Version)
	}
	// Retracted versions are skipped unless asked for.
	latest, _ := q.Query(ctx, "example.com/retract", "latest", nil)
	fmt.Println("retract@latest ->", latest.Version)
	fmt.Println(q.Retracted(ctx, "example.com/retract", "v1.2.0"))
	_, err := q.Query(ctx, "example.com/hello", "v3", nil)
	fmt.Println(err)
	// Output:
	// latest -> v1.1.0
	// v1.0 -> v1.0.1
	// >=v1.0.1 -> v1.0.1
	// main -> v1.1.0
	// retract@latest -> v1.0.0
	// example.com/retract@v1.2.0: retracted by module author: published too early
	// module example.com/hello: no matching versions for query "v3"
}

func ExampleAs() {
	// A reader that adds an ability (here a hash) to a file, and unwraps
	// to it: the file's own abilities are found through it.
	f, _ := os.CreateTemp("", "zip")
	defer os.Remove(f.Name())
	f.WriteString("PK...")
	var rc io.ReadCloser = hashedFile{f}

	if st, ok := modfetch.As[modfetch.Stater](rc); ok {
		fi, _ := st.Stat()
		fmt.Println("size:", fi.Size())
	}
	if s, ok := modfetch.As[modfetch.Summer](rc); ok {
		fmt.Println("sum:", s.Sum())
	}
	_, ok := modfetch.As[*os.File](rc)
	fmt.Println("file behind it:", ok)
	rc.Close()
	// Output:
	// size: 5
	// sum: h1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=
	// file behind it: true
}

// hashedFile is a file with a known hash.
type hashedFile struct{ *os.File }

func (f hashedFile) Sum() string       { return "h1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=" }
func (f hashedFile) Unwrap() io.Reader { return f.File }
