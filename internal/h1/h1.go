// Package h1 computes the go command's h1: hashes (dirhash.Hash1): of a
// module zip, over every entry under its full name, read from an
// io.ReaderAt (so that callers need no file name) or while its bytes
// stream by; and of a go.mod file. It holds the one rule for a usable
// .ziphash file.
package h1

import (
	"archive/zip"
	"bytes"
	"fmt"
	"io"

	"golang.org/x/mod/sumdb/dirhash"
)

// Zip returns the h1: hash of the zip of the given size read through r.
func Zip(r io.ReaderAt, size int64) (string, error) {
	z, err := zip.NewReader(r, size)
	if err != nil {
		return "", err
	}
	return ZipReader(z)
}

// ZipReader returns the h1: hash of an opened zip. Duplicate entry names
// are an error.
func ZipReader(z *zip.Reader) (string, error) {
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

// ValidZiphash reports whether data is a usable .ziphash file content, by the go
// command's rule: no NUL bytes and exactly the length of an h1: hash.
func ValidZiphash(data []byte) bool {
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

// GoMod returns the h1: hash of a go.mod file, as go.sum records it on
// "path version/go.mod" lines: dirhash.Hash1 over a single file named
// "go.mod" holding exactly data.
func GoMod(data []byte) (string, error) {
	return dirhash.Hash1([]string{"go.mod"}, func(string) (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	})
}
