package checksum_test

import (
	"bytes"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"golang.org/x/mod/module"
	modzip "golang.org/x/mod/zip"

	"github.com/modfetch/modfetch/checksum"
)

// The go.sum lines of a module to be imported by hand, from its files
// and from the zip x/mod/zip makes of them: the zip's hash and its
// go.mod file's hash are the same either way.
func ExampleHashDir() {
	dir, err := os.MkdirTemp("", "example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	files := map[string]string{
		"go.mod":   "module example.com/greet\n\ngo 1.22\n",
		"greet.go": "package greet\n\nfunc Hello() string { return \"hello\" }\n",
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o666); err != nil {
			log.Fatal(err)
		}
	}
	const path, version = "example.com/greet", "v1.0.0"

	// From the directory.
	dirHash, err := checksum.HashDir(dir, path, version)
	if err != nil {
		log.Fatal(err)
	}
	goMod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		log.Fatal(err)
	}
	modHash, err := checksum.HashGoMod(goMod)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(checksum.GoSumLines(path, version, dirHash, modHash))

	// From the zip.
	var zip bytes.Buffer
	if err := modzip.CreateFromDir(&zip, module.Version{Path: path, Version: version}, dir); err != nil {
		log.Fatal(err)
	}
	r := bytes.NewReader(zip.Bytes())
	zipHash, err := checksum.HashZip(r, r.Size())
	if err != nil {
		log.Fatal(err)
	}
	zipGoMod, err := checksum.ZipGoMod(r, r.Size(), path, version)
	if err != nil {
		log.Fatal(err)
	}
	zipModHash, err := checksum.HashGoMod(zipGoMod)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(zipHash == dirHash, zipModHash == modHash)
	// Output:
	// example.com/greet v1.0.0 h1:6PiySufarLo87yeD8mP1UuL85V5qolLU0fnnaou3s28=
	// example.com/greet v1.0.0/go.mod h1:cq0P48hwMNXGoO60yjlgQnfIyddJXHav9+MU5dF8bFg=
	// true true
}
