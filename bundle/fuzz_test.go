package bundle_test

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modfetch/modfetch/bundle"
	"github.com/modfetch/modfetch/internal/fixture"
)

// FuzzOpen: any bytes as a .tar.gz or .zip bundle: Open and Verify never
// panic, and nothing is written outside the directory Open unpacks into,
// which Close removes.
func FuzzOpen(f *testing.F) {
	dir := f.TempDir()
	for name, data := range map[string]string{
		"example.com/m/@v/list":           "v1.0.0\n",
		"example.com/m/@v/v1.0.0.mod":     "module example.com/m\n",
		"sumdb/sum.example.com/latest":    "go.sum database tree\n1\nAAAA\n",
		"sumdb/sum.example.com/supported": "",
	} {
		p := filepath.Join(dir, filepath.FromSlash(name))
		os.MkdirAll(filepath.Dir(p), 0o777)
		os.WriteFile(p, []byte(data), 0o666)
	}
	for _, format := range []bundle.Format{bundle.TarGz, bundle.Zip} {
		var buf bytes.Buffer
		if err := bundle.Pack(context.Background(), &buf, dir, format); err != nil {
			f.Fatal(err)
		}
		f.Add(buf.Bytes(), format == bundle.Zip)
	}
	for _, name := range []string{"../evil", "/abs", "a/../../b", "ok/./x", "dup", "dup"} {
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		w, _ := zw.Create(name)
		w.Write([]byte("x"))
		zw.Close()
		f.Add(buf.Bytes(), true)

		buf.Reset()
		gw := gzip.NewWriter(&buf)
		tw := tar.NewWriter(gw)
		tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Size: 1, Mode: 0o644})
		tw.Write([]byte("x"))
		tw.WriteHeader(&tar.Header{Name: "link", Typeflag: tar.TypeSymlink, Linkname: "/etc/passwd"})
		tw.Close()
		gw.Close()
		f.Add(buf.Bytes(), false)
	}
	_, key := fixture.GenerateKey("sum.example.com")
	f.Fuzz(func(t *testing.T, data []byte, isZip bool) {
		root := t.TempDir()
		name := filepath.Join(root, "in", "b.tar.gz")
		if isZip {
			name = filepath.Join(root, "in", "b.zip")
		}
		os.MkdirAll(filepath.Dir(name), 0o777)
		if err := os.WriteFile(name, data, 0o666); err != nil {
			t.Fatal(err)
		}
		tmp := filepath.Join(root, "tmp")
		os.MkdirAll(tmp, 0o777)
		b, err := bundle.Open(context.Background(), name, tmp)
		if err == nil {
			b.Verify(context.Background(), &bundle.VerifyOptions{Key: key})
			filepath.WalkDir(b.Dir, func(p string, d fs.DirEntry, err error) error {
				if err == nil && !d.IsDir() && !d.Type().IsRegular() {
					t.Errorf("Open left %s, not a regular file", p)
				}
				return nil
			})
			if err := b.Close(); err != nil {
				t.Fatal(err)
			}
		}
		// Nothing outside tmp, and nothing left in it.
		filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || p == root || p == tmp || p == filepath.Dir(name) || p == name {
				return nil
			}
			t.Errorf("left behind: %s", strings.TrimPrefix(p, root))
			return nil
		})
	})
}
