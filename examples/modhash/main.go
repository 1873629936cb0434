// Command modhash prints the go.sum lines of a module version from its
// files or its zip, for modules brought in by hand (a vendored copy, a
// zip from elsewhere) whose hashes must be recorded or compared.
//
// Usage:
//
//	modhash -dir DIR MODULE@VERSION
//	modhash -zip FILE MODULE@VERSION
//
// It prints two lines, exactly as the go command writes them into go.sum:
//
//	MODULE VERSION h1:<hash of the module zip>
//	MODULE VERSION/go.mod h1:<hash of its go.mod file>
//
// With -dir, the zip's hash is that of the zip x/mod/zip.CreateFromDir
// (and so the go command) makes of DIR, and the go.mod file is DIR/go.mod.
// With -zip, FILE is a module zip whose entries are under
// "MODULE@VERSION/", and the go.mod file is its entry
// "MODULE@VERSION/go.mod". For a module without a go.mod file, the go.mod
// hash is that of the one the go command serves for it ("module MODULE").
// VERSION must be canonical. Errors are printed on standard error, with
// exit status 1.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/mod/module"
	modzip "golang.org/x/mod/zip"

	"github.com/modfetch/modfetch"
	"github.com/modfetch/modfetch/checksum"
)

const usage = `usage: modhash -dir DIR MODULE@VERSION
       modhash -zip FILE MODULE@VERSION

Prints the go.sum lines of MODULE@VERSION (its zip's hash and its go.mod
file's) computed from the module's files in DIR or from its zip FILE.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fset := flag.NewFlagSet("modhash", flag.ContinueOnError)
	fset.SetOutput(stderr)
	fset.Usage = func() { fmt.Fprint(stderr, usage) }
	dir := fset.String("dir", "", "directory holding the module's files")
	zipFile := fset.String("zip", "", "the module's zip file")
	if err := fset.Parse(args); err != nil {
		return 2
	}
	if fset.NArg() != 1 || (*dir == "") == (*zipFile == "") {
		fset.Usage()
		return 2
	}
	lines, err := sums(*dir, *zipFile, fset.Arg(0))
	if err != nil {
		fmt.Fprintf(stderr, "modhash: %v\n", err)
		return 1
	}
	fmt.Fprint(stdout, lines)
	return 0
}

// sums returns the go.sum lines of mv ("path@version") from dir or
// zipFile.
func sums(dir, zipFile, mv string) (string, error) {
	path, version, ok := strings.Cut(mv, "@")
	if !ok {
		return "", fmt.Errorf("%s: not MODULE@VERSION", mv)
	}
	if err := module.Check(path, version); err != nil {
		return "", err
	}
	if v := module.CanonicalVersion(version); v != version {
		return "", fmt.Errorf("%s: version not canonical (%s)", mv, v)
	}
	var (
		zipHash string
		goMod   []byte
		err     error
	)
	if dir != "" {
		if zipHash, err = checksum.HashDir(dir, path, version); err != nil {
			return "", err
		}
		goMod, err = os.ReadFile(filepath.Join(dir, "go.mod"))
		if errors.Is(err, fs.ErrNotExist) {
			goMod, err = modfetch.LegacyGoMod(path), nil
		}
		if err != nil {
			return "", err
		}
	} else {
		// A module zip must be valid for its version: the go command
		// refuses to extract any other.
		if _, err := modzip.CheckZip(module.Version{Path: path, Version: version}, zipFile); err != nil {
			return "", err
		}
		f, err := os.Open(zipFile)
		if err != nil {
			return "", err
		}
		defer f.Close()
		fi, err := f.Stat()
		if err != nil {
			return "", err
		}
		if zipHash, err = checksum.HashZip(f, fi.Size()); err != nil {
			return "", err
		}
		if goMod, err = checksum.ZipGoMod(f, fi.Size(), path, version); err != nil {
			return "", err
		}
	}
	modHash, err := checksum.HashGoMod(goMod)
	if err != nil {
		return "", err
	}
	return checksum.GoSumLines(path, version, zipHash, modHash), nil
}
