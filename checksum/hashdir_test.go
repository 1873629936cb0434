package checksum_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/mod/module"
	modzip "golang.org/x/mod/zip"

	"github.com/modfetch/modfetch/checksum"
)

// TestHashDir: HashDir is the hash of the zip x/mod/zip.CreateFromDir
// makes of the directory, whatever it leaves out (vendored code, nested
// modules, VCS directories, irregular files), and fails where it fails.
func TestHashDir(t *testing.T) {
	tests := []struct {
		name    string
		path    string
		version string
		files   map[string]string
		symlink bool
		wantErr bool
	}{
		{name: "plain", path: "example.com/m", version: "v1.0.0", files: map[string]string{"go.mod": "module example.com/m\n", "m.go": "package m\n", "sub/s.go": "package sub\n"}},
		{name: "vendor and nested module left out", path: "example.com/m", version: "v1.2.3", files: map[string]string{
			"go.mod": "module example.com/m\n", "m.go": "package m\n",
			"vendor/modules.txt": "# x\n", "vendor/example.com/x/x.go": "package x\n",
			"nested/go.mod": "module example.com/m/nested\n", "nested/n.go": "package nested\n",
			".git/HEAD": "ref: refs/heads/main\n",
		}},
		{name: "symlink left out", path: "example.com/m", version: "v1.0.0", files: map[string]string{"go.mod": "module example.com/m\n", "m.go": "package m\n"}, symlink: true},
		{name: "no go.mod, +incompatible", path: "example.com/nomod", version: "v2.0.0+incompatible", files: map[string]string{"n.go": "package nomod\n"}},
		{name: "major version suffix", path: "example.com/m/v2", version: "v2.1.0", files: map[string]string{"go.mod": "module example.com/m/v2\n"}},
		{name: "pre-release, upper case", path: "example.com/Upper", version: "v1.0.0-RC1", files: map[string]string{"go.mod": "module example.com/Upper\n"}},
		{name: "version not canonical", path: "example.com/m", version: "v1.0", files: map[string]string{"go.mod": "module example.com/m\n"}, wantErr: true},
		{name: "major version mismatch", path: "example.com/m", version: "v2.0.0", files: map[string]string{"go.mod": "module example.com/m\n"}, wantErr: true},
		{name: "file name a zip may not hold", path: "example.com/m", version: "v1.0.0", files: map[string]string{"go.mod": "module example.com/m\n", "a\x01b.go": "package m\n"}, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, data := range tc.files {
				p := filepath.Join(dir, filepath.FromSlash(name))
				if err := os.MkdirAll(filepath.Dir(p), 0o777); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte(data), 0o666); err != nil {
					t.Fatal(err)
				}
			}
			if tc.symlink {
				if err := os.Symlink("m.go", filepath.Join(dir, "link.go")); err != nil {
					t.Skip("no symlinks here:", err)
				}
			}
			got, err := checksum.HashDir(dir, tc.path, tc.version)
			var zip bytes.Buffer
			zerr := modzip.CreateFromDir(&zip, module.Version{Path: tc.path, Version: tc.version}, dir)
			if tc.wantErr {
				if err == nil || zerr == nil {
					t.Fatalf("HashDir = %q, %v; CreateFromDir: %v; want both to fail", got, err, zerr)
				}
				return
			}
			if err != nil || zerr != nil {
				t.Fatalf("HashDir: %v; CreateFromDir: %v", err, zerr)
			}
			r := bytes.NewReader(zip.Bytes())
			want, err := checksum.HashZip(r, r.Size())
			if err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Errorf("HashDir = %s, hash of CreateFromDir's zip = %s", got, want)
			}
			goMod, err := checksum.ZipGoMod(r, r.Size(), tc.path, tc.version)
			if err != nil {
				t.Fatal(err)
			}
			wantMod := tc.files["go.mod"]
			if wantMod == "" {
				wantMod = "module " + tc.path + "\n"
			}
			if string(goMod) != wantMod {
				t.Errorf("ZipGoMod = %q, want %q", goMod, wantMod)
			}
		})
	}
}
