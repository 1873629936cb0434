package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/mod/module"
	modzip "golang.org/x/mod/zip"

	"github.com/modfetch/modfetch/internal/fixture"
)

func runCmd(args ...string) (int, string, string) {
	var o, e bytes.Buffer
	code := run(args, &o, &e)
	return code, o.String(), e.String()
}

// TestFixtures: for every fixture module (with and without go.mod, major
// versions, upper case, pre-releases, +incompatible, nested modules),
// modhash -zip and -dir (the zip unpacked) print the fixture database's
// go.sum lines.
func TestFixtures(t *testing.T) {
	set := fixture.Standard()
	for _, m := range set.Modules() {
		t.Run(m.Path+"@"+m.Version, func(t *testing.T) {
			want, err := set.GoSumLines(m.Path, m.Version)
			if err != nil {
				t.Fatal(err)
			}
			zipFile := filepath.Join(t.TempDir(), "m.zip")
			if err := os.WriteFile(zipFile, m.Zip, 0o666); err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			if err := modzip.Unzip(dir, module.Version{Path: m.Path, Version: m.Version}, zipFile); err != nil {
				t.Fatal(err)
			}
			for _, args := range [][]string{{"-zip", zipFile}, {"-dir", dir}} {
				code, out, stderr := runCmd(append(args, m.Path+"@"+m.Version)...)
				if code != 0 || out != string(want) {
					t.Errorf("modhash %s: exit %d, printed\n%s%s\nwant\n%s", args[0], code, out, stderr, want)
				}
			}
		})
	}
}

func TestErrors(t *testing.T) {
	set := fixture.Standard()
	hello := set.Module("example.com/hello", "v1.1.0")
	zipFile := filepath.Join(t.TempDir(), "m.zip")
	os.WriteFile(zipFile, hello.Zip, 0o666)
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{nil, 2, "usage: modhash"},
		{[]string{"example.com/hello@v1.1.0"}, 2, "usage: modhash"},
		{[]string{"-zip", zipFile, "-dir", ".", "example.com/hello@v1.1.0"}, 2, "usage: modhash"},
		{[]string{"-zip", zipFile}, 2, "usage: modhash"},
		{[]string{"-zip", zipFile, "example.com/hello"}, 1, "not MODULE@VERSION"},
		{[]string{"-zip", zipFile, "example.com/hello@v1.1"}, 1, "not canonical"},
		{[]string{"-zip", zipFile, "example.com/other@v1.1.0"}, 1, `path does not have prefix "example.com/other@v1.1.0/"`},
		{[]string{"-zip", filepath.Join(t.TempDir(), "none.zip"), "example.com/hello@v1.1.0"}, 1, "no such file"},
		{[]string{"-dir", t.TempDir(), "example.com/hello/v2@v1.0.0"}, 1, "modhash:"},
	} {
		code, out, stderr := runCmd(tc.args...)
		if code != tc.code || out != "" || !strings.Contains(stderr, tc.want) {
			t.Errorf("modhash %q: exit %d, stdout %q, stderr %q; want %d and %q", tc.args, code, out, stderr, tc.code, tc.want)
		}
	}
}
