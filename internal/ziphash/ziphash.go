// Package ziphash computes the h1: hash of a module zip (dirhash.Hash1
// over every entry, under its full name) from an io.ReaderAt, so that
// callers need no file name.
package ziphash

import (
	"archive/zip"
	"fmt"
	"io"

	"golang.org/x/mod/sumdb/dirhash"
)

// Hash returns the h1: hash of the zip of the given size read through r.
func Hash(r io.ReaderAt, size int64) (string, error) {
	z, err := zip.NewReader(r, size)
	if err != nil {
		return "", err
	}
	return HashReader(z)
}

// HashReader returns the h1: hash of an opened zip. Duplicate entry names
// are an error.
func HashReader(z *zip.Reader) (string, error) {
	names := make([]string, 0, len(z.File))
	files := make(map[string]*zip.File, len(z.File))
	for _, f := range z.File {
		if _, dup := files[f.Name]; dup {
			return "", fmt.Errorf("zip has duplicate entry %s", f.Name)
		}
		names = append(names, f.Name)
		files[f.Name] = f
	}
	return dirhash.Hash1(names, func(name string) (io.ReadCloser, error) {
		return files[name].Open()
	})
}

// Valid reports whether data is a usable .ziphash file content, by the go
// command's rule: no NUL bytes and exactly the length of an h1: hash.
func Valid(data []byte) bool {
	if len(data) != len("h1:")+44 {
		return false
	}
	for _, b := range data {
		if b == 0 {
			return false
		}
	}
	return string(data[:3]) == "h1:"
}
