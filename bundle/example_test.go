package bundle_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io/fs"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"

	"golang.org/x/mod/module"
	"golang.org/x/mod/sumdb"
	"golang.org/x/mod/sumdb/note"
	modzip "golang.org/x/mod/zip"

	"github.com/modfetch/modfetch"
	"github.com/modfetch/modfetch/bundle"
	"github.com/modfetch/modfetch/checksum"
	"github.com/modfetch/modfetch/goenv"
)

// A bundle of one module, exported from a GOPROXY and a checksum
// database, then imported into an empty module cache with only the
// database's key: the database is gone by then.
func Example() {
	ctx := context.Background()
	tmp, err := os.MkdirTemp("", "bundle-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	must := func(err error) {
		if err != nil {
			log.Fatal(err)
		}
	}

	// A module proxy (a file:// GOPROXY) holding example.com/greet v1.0.0.
	m := module.Version{Path: "example.com/greet", Version: "v1.0.0"}
	src := filepath.Join(tmp, "src")
	must(os.MkdirAll(src, 0o777))
	must(os.WriteFile(filepath.Join(src, "go.mod"), []byte("module example.com/greet\n"), 0o666))
	must(os.WriteFile(filepath.Join(src, "greet.go"), []byte("package greet\n"), 0o666))
	var zip bytes.Buffer
	must(modzip.CreateFromDir(&zip, m, src))
	proxyDir := filepath.Join(tmp, "proxy")
	v := filepath.Join(proxyDir, "example.com", "greet", "@v")
	must(os.MkdirAll(v, 0o777))
	must(os.WriteFile(filepath.Join(v, "v1.0.0.info"), []byte(`{"Version":"v1.0.0"}`), 0o666))
	must(os.WriteFile(filepath.Join(v, "v1.0.0.mod"), []byte("module example.com/greet\n"), 0o666))
	must(os.WriteFile(filepath.Join(v, "v1.0.0.zip"), zip.Bytes(), 0o666))

	// A checksum database vouching for it.
	zipHash, err := checksum.HashDir(src, m.Path, m.Version)
	must(err)
	modHash, err := checksum.HashGoMod([]byte("module example.com/greet\n"))
	must(err)
	skey, vkey, err := note.GenerateKey(rand.Reader, "sum.example.com")
	must(err)
	db := httptest.NewServer(sumdb.NewServer(sumdb.NewTestServer(skey, func(path, version string) ([]byte, error) {
		return []byte(checksum.GoSumLines(path, version, zipHash, modHash)), nil
	})))

	// Export, through the stack the go command would use.
	cfg := &goenv.Config{GOPROXY: "file://" + filepath.ToSlash(proxyDir), GOSUMDB: vkey + " " + db.URL, GOMODCACHE: filepath.Join(tmp, "cache")}
	st, err := cfg.Resolver(&goenv.Options{NoDirect: true})
	must(err)
	out := filepath.Join(tmp, "bundle")
	_, err = bundle.Export(ctx, out, []modfetch.BulkItem{{Module: m}}, &bundle.ExportOptions{Resolver: st, DB: st.DB})
	must(err)
	db.Close()
	filepath.WalkDir(out, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(out, p)
			fmt.Println(filepath.ToSlash(rel))
		}
		return nil
	})

	// Import into an empty module cache, verified with the key alone.
	modcache := filepath.Join(tmp, "modcache")
	verified, err := bundle.Import(ctx, out, &bundle.ImportOptions{VerifyOptions: bundle.VerifyOptions{Key: vkey}, ModCache: modcache, ReadWrite: true})
	must(err)
	fmt.Println(verified.Modules)
	data, err := os.ReadFile(filepath.Join(modcache, "example.com", "greet@v1.0.0", "greet.go"))
	must(err)
	fmt.Printf("%s", data)
	// Output:
	// example.com/greet/@v/list
	// example.com/greet/@v/v1.0.0.info
	// example.com/greet/@v/v1.0.0.mod
	// example.com/greet/@v/v1.0.0.zip
	// sumdb/sum.example.com/latest
	// sumdb/sum.example.com/lookup/example.com/greet@v1.0.0
	// sumdb/sum.example.com/supported
	// sumdb/sum.example.com/tile/8/0/000.p/1
	// [{example.com/greet v1.0.0 false}]
	// package greet
}

// FormatOf chooses a bundle's form by its name.
func ExampleFormatOf() {
	for _, name := range []string{"out", "out.tar.gz", "out.zip"} {
		fmt.Println(name, bundle.FormatOf(name))
	}
	// Output:
	// out directory
	// out.tar.gz tar.gz
	// out.zip zip
}
