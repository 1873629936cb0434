package checksum

import (
	"archive/zip"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/modfetch/modfetch"
	"golang.org/x/mod/module"
	"golang.org/x/mod/sumdb/dirhash"
	modzip "golang.org/x/mod/zip"
)

// HashDir returns the h1: hash that go.sum records for modPath@version
// ("path version h1:...") when the module's zip is made from the files
// in dir: the hash of the zip golang.org/x/mod/zip.CreateFromDir would
// create, computed without creating it. The same files are included
// (regular files, no vendor/ directories but vendor/modules.txt, no
// nested modules or VCS directories) and the same checks apply: a
// canonical version matching modPath's major version suffix, file
// names a module zip may hold, the size limits; a file that may not be
// in a module zip is an error, as it is for CreateFromDir.
func HashDir(dir, modPath, version string) (string, error) {
	if v := module.CanonicalVersion(version); v != version {
		return "", fmt.Errorf("version %q is not canonical (should be %q)", version, v)
	}
	if err := module.Check(modPath, version); err != nil {
		return "", err
	}
	cf, err := modzip.CheckDir(dir)
	if err != nil {
		return "", err
	}
	prefix := modPath + "@" + version + "/"
	names := make([]string, len(cf.Valid))
	files := make(map[string]string, len(cf.Valid))
	for i, file := range cf.Valid {
		rel, err := filepath.Rel(dir, file)
		if err != nil {
			return "", err
		}
		names[i] = prefix + filepath.ToSlash(rel)
		files[names[i]] = file
	}
	return dirhash.Hash1(names, func(name string) (io.ReadCloser, error) {
		return os.Open(files[name])
	})
}

// ZipGoMod returns the go.mod file of modPath@version in its module zip
// (size bytes read through r): the zip's "path@version/go.mod" entry, or
// modfetch.LegacyGoMod(modPath) when there is none.
func ZipGoMod(r io.ReaderAt, size int64, modPath, version string) ([]byte, error) {
	z, err := zip.NewReader(r, size)
	if err != nil {
		return nil, err
	}
	name := modPath + "@" + version + "/go.mod"
	for _, f := range z.File {
		if f.Name != name {
			continue
		}
		if f.UncompressedSize64 > modzip.MaxGoMod {
			return nil, fmt.Errorf("%s: go.mod larger than %d bytes", name, modzip.MaxGoMod)
		}
		rc, err := f.Open()
		if err != nil {
			return nil, err
		}
		defer rc.Close()
		return io.ReadAll(io.LimitReader(rc, modzip.MaxGoMod))
	}
	return modfetch.LegacyGoMod(modPath), nil
}

// GoSumLines returns the two go.sum lines of modPath@version for the
// given hashes of its zip and its go.mod file, as the go command writes
// them.
func GoSumLines(modPath, version, zipHash, goModHash string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s %s\n", modPath, version, zipHash)
	fmt.Fprintf(&b, "%s %s/go.mod %s\n", modPath, version, goModHash)
	return b.String()
}
