package checksum

import (
	"io"

	"github.com/modfetch/modfetch/internal/h1"
)

// HashGoMod returns the h1: hash of a go.mod file, as go.sum records it
// on "path version/go.mod" lines: dirhash.Hash1 over a single file named
// "go.mod" holding exactly data.
func HashGoMod(data []byte) (string, error) {
	return h1.GoMod(data)
}

// HashZip returns the h1: hash of a module zip of the given size read
// through r, as go.sum records it: dirhash.Hash1 over every entry of the
// zip, under its full name ("path@version/file").
func HashZip(r io.ReaderAt, size int64) (string, error) {
	return h1.Zip(r, size)
}
