package e2e

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/mod/module"

	"github.com/modfetch/modfetch"
	"github.com/modfetch/modfetch/internal/fixture"
	"github.com/modfetch/modfetch/modgraph"
)

// graphModules is a module world for build lists: pruned (go 1.21) and
// unpruned (go 1.16, no go directive) go.mod files, versions to select
// between, a module to replace others with.
func graphModules() *fixture.Set {
	s := new(fixture.Set)
	add := func(path, version, gomod string) {
		s.Add(path, version, map[string]string{
			"go.mod": "module " + path + "\n" + gomod,
			"x.go":   "package x\n",
		}, fixture.Day(len(s.Modules())))
	}
	const p = "example.com/g/"
	add(p+"a", "v1.0.0", "go 1.16\nrequire example.com/g/c v1.0.0\n")
	add(p+"b", "v1.0.0", "go 1.21\nrequire (\n\texample.com/g/c v1.1.0\n\texample.com/g/d v1.0.0\n)\n")
	add(p+"b", "v1.0.1", "go 1.21\nrequire example.com/g/d v1.0.0\n")
	add(p+"c", "v1.0.0", "go 1.16\nrequire example.com/g/e v1.0.0\n")
	add(p+"c", "v1.1.0", "") // no go directive: unpruned
	add(p+"c", "v1.2.0", "go 1.21\n")
	add(p+"d", "v1.0.0", "go 1.21\nrequire example.com/g/f v1.0.0\n")
	add(p+"e", "v1.0.0", "go 1.21\n")
	add(p+"f", "v1.0.0", "go 1.21\n")
	add(p+"a2", "v1.1.0", "go 1.21\nrequire example.com/g/f v1.0.0\n")
	add(p+"h", "v1.0.0", "go 1.21\n")
	add(p+"h", "v1.1.0", "go 1.21\n")
	add("example.com/main", "v0.1.0", "go 1.16\nrequire example.com/g/h v1.1.0\n")
	// A dependency's replace and exclude directives do not apply.
	add(p+"r", "v1.0.0", "go 1.16\nrequire (\n\texample.com/g/c v1.0.0\n\texample.com/g/Upper v1.0.0-RC1\n)\nreplace example.com/g/c => example.com/g/c v1.2.0\nexclude example.com/g/e v1.0.0\n")
	add(p+"Upper", "v1.0.0-RC1", "go 1.21\n")
	return s
}

// A graphCase is a main module: its go.mod and files beside it (directory
// replacements), relative to a temporary directory holding main/.
type graphCase struct {
	name  string
	gomod string
	files map[string]string // relative to the main module's parent
	// mainDir is the main module's directory, relative to a temporary
	// directory; "" means "main".
	mainDir string
	// Hand-checked expectations, besides the go command's verdict.
	zips    []string // path@version downloaded in full
	unknown []string
}

var graphCases = []graphCase{
	{
		name:  "dependency-directives-ignored",
		gomod: "go 1.16\nrequire example.com/g/r v1.0.0\n",
		zips:  []string{"Upper@v1.0.0-RC1", "c@v1.0.0", "e@v1.0.0", "r@v1.0.0"},
	},
	{
		// One replacement for every version of c: the go.mod of c v1.2.0
		// stands for both c v1.0.0 and c v1.1.0.
		name:  "replace-all-versions-unpruned",
		gomod: "go 1.16\nrequire (\n\texample.com/g/a v1.0.0\n\texample.com/g/b v1.0.0\n)\nreplace example.com/g/c => example.com/g/c v1.2.0\n",
		zips:  []string{"a@v1.0.0", "b@v1.0.0", "c@v1.2.0", "d@v1.0.0", "f@v1.0.0"},
	},
	{
		// Pruned: the go command keeps the highest of each path's roots
		// before reading any go.mod (modload: updatePrunedRoots).
		name:  "pruned-duplicate-requires",
		gomod: "go 1.21\nrequire (\n\texample.com/g/c v1.0.0\n\texample.com/g/c v1.1.0\n)\n",
		zips:  []string{"c@v1.1.0"},
	},
	{
		// Unpruned: both versions' go.mod files count.
		name:  "unpruned-duplicate-requires",
		gomod: "go 1.16\nrequire (\n\texample.com/g/c v1.0.0\n\texample.com/g/c v1.1.0\n)\n",
		zips:  []string{"c@v1.1.0", "e@v1.0.0"},
	},
	{
		name:  "pruned-requires-itself",
		gomod: "go 1.21\nrequire (\n\texample.com/main v0.1.0\n\texample.com/g/e v1.0.0\n)\n",
		zips:  []string{"e@v1.0.0"},
	},
	{
		name:  "unpruned-requires-itself",
		gomod: "go 1.16\nrequire (\n\texample.com/main v0.1.0\n\texample.com/g/e v1.0.0\n)\n",
		zips:  []string{"e@v1.0.0", "h@v1.1.0"},
	},
	{
		name:  "unpruned",
		gomod: "go 1.16\nrequire (\n\texample.com/g/a v1.0.0\n\texample.com/g/b v1.0.0\n)\n",
		zips:  []string{"a@v1.0.0", "b@v1.0.0", "c@v1.1.0", "d@v1.0.0", "e@v1.0.0", "f@v1.0.0"},
	},
	{
		// With -mod=mod the go command gives go.mod its own go version:
		// the full graph is read, but only a is downloaded.
		name:  "no-go-directive",
		gomod: "require example.com/g/a v1.0.0\n",
		zips:  []string{"a@v1.0.0"},
	},
	{
		name:  "no-requirements",
		gomod: "go 1.16\n",
		zips:  []string{},
	},
	{
		// d's requirement on f is pruned out: f is in the build list,
		// but neither its go.mod nor its zip is fetched.
		name:  "pruned",
		gomod: "go 1.21\nrequire example.com/g/b v1.0.0\nrequire (\n\texample.com/g/c v1.1.0 // indirect\n\texample.com/g/d v1.0.0 // indirect\n)\n",
		zips:  []string{"b@v1.0.0", "c@v1.1.0", "d@v1.0.0"},
	},
	{
		// Below an unpruned dependency the graph is loaded in full.
		name:  "pruned-over-unpruned",
		gomod: "go 1.21\nrequire example.com/g/a v1.0.0\n",
		zips:  []string{"a@v1.0.0"},
	},
	{
		// b requires c v1.1.0 above the root c v1.0.0: the root is
		// raised and the graph loaded again.
		name:  "pruned-untidy-roots",
		gomod: "go 1.21\nrequire (\n\texample.com/g/b v1.0.0\n\texample.com/g/c v1.0.0\n)\n",
		zips:  []string{"b@v1.0.0", "c@v1.1.0"},
	},
	{
		name:  "replace-version",
		gomod: "go 1.21\nrequire (\n\texample.com/g/a v1.0.0\n\texample.com/g/b v1.0.0\n)\nreplace example.com/g/a v1.0.0 => example.com/g/a2 v1.1.0\nreplace example.com/g/b => example.com/g/b v1.0.1\n",
		zips:  []string{"a2@v1.1.0", "b@v1.0.1"},
	},
	{
		name:  "replace-version-unpruned",
		gomod: "go 1.16\nrequire example.com/g/a v1.0.0\nreplace example.com/g/c v1.0.0 => example.com/g/c v1.2.0\n",
		zips:  []string{"a@v1.0.0", "c@v1.2.0"},
	},
	{
		name:  "replace-directory",
		gomod: "go 1.21\nrequire (\n\texample.com/g/h v1.0.0\n\texample.com/g/local v0.0.0\n)\nreplace example.com/g/local => ./local\n",
		files: map[string]string{"main/local/go.mod": "module example.com/g/local\n\ngo 1.16\n\nrequire example.com/g/c v1.0.0\n"},
		zips:  []string{"h@v1.0.0"},
	},
	{
		name:  "replace-directory-unpruned",
		gomod: "go 1.16\nrequire example.com/g/local v0.0.0\nreplace example.com/g/local => ../local\n",
		files: map[string]string{"local/go.mod": "module example.com/g/local\n\ngo 1.21\n\nrequire example.com/g/c v1.0.0\n"},
		zips:  []string{"c@v1.0.0", "e@v1.0.0"},
	},
	{
		// The excluded c v1.0.0 is dropped, not raised: e is never reached.
		name:  "exclude-unpruned",
		gomod: "go 1.16\nrequire (\n\texample.com/g/a v1.0.0\n\texample.com/g/b v1.0.0\n)\nexclude example.com/g/c v1.0.0\n",
		zips:  []string{"a@v1.0.0", "b@v1.0.0", "c@v1.1.0", "d@v1.0.0", "f@v1.0.0"},
	},
	{
		// The root c v1.0.0 is excluded; b's requirement selects v1.1.0.
		name:  "exclude-pruned",
		gomod: "go 1.21\nrequire (\n\texample.com/g/b v1.0.0\n\texample.com/g/c v1.0.0\n\texample.com/g/d v1.0.0\n)\nexclude example.com/g/c v1.0.0\n",
		zips:  []string{"b@v1.0.0", "c@v1.1.0", "d@v1.0.0"},
	},
	{
		// Nothing else requires h: not a known dependency.
		name:    "exclude-unknown",
		gomod:   "go 1.21\nrequire (\n\texample.com/g/b v1.0.0\n\texample.com/g/h v1.0.0\n)\nexclude example.com/g/h v1.0.0\n",
		zips:    []string{"b@v1.0.0"},
		unknown: []string{"example.com/g/h"},
	},
}

// TestDownloadSetMatchesGoModDownload: for each main module, the files
// that `go mod download` (no arguments, -mod=mod) puts in a fresh module
// cache's download directory (.info, .mod, .zip) are exactly those
// modgraph computes and those that DownloadAll of its items puts in
// another fresh cache, through the stack the go command's environment
// gives (proxy, checksum database, cache); both ask the proxy for the
// same files and extract the same module directories.
func TestDownloadSetMatchesGoModDownload(t *testing.T) {
	goBin(t)
	for _, tc := range graphCases {
		t.Run(tc.name, func(t *testing.T) {
			set := graphModules()
			tc.check(t, set, "module example.com/main\n\n"+tc.gomod)
		})
	}
}

func (tc *graphCase) check(t *testing.T, set *fixture.Set, gomod string) {
	t.Helper()
	w := newWorld(t, set)
	root := t.TempDir()
	mainRel := tc.mainDir
	if mainRel == "" {
		mainRel = "main"
	}
	files := map[string]string{mainRel + "/go.mod": gomod}
	for name, data := range tc.files {
		files[name] = data
	}
	writeFiles(t, root, files)
	mainDir := filepath.Join(root, filepath.FromSlash(mainRel))

	// The go command.
	gohome := newHome(t, w)
	gohome.env["GOFLAGS"] = "-mod=mod -modcacherw"
	_, stderr, goErr := gohome.goCmd(t, mainDir, "mod", "download")
	goFiles := fixture.CacheFiles(t, gohome.gomodcache)
	goReqs := fileRequests(w.proxy.Requests())
	if tc.unknown == nil && goErr != nil {
		t.Fatalf("go mod download: %v\n%s", goErr, stderr)
	}
	for _, p := range tc.unknown {
		if goErr == nil || !strings.Contains(stderr, p+": not a known dependency") {
			t.Errorf("go mod download: %v, want %s: not a known dependency; stderr:\n%s", goErr, p, stderr)
		}
	}
	// go.mod as written, since -mod=mod may have rewritten it.
	writeFiles(t, root, map[string]string{mainRel + "/go.mod": gomod})

	// modgraph, then DownloadAll through the go command's stack.
	w.proxy.Reset()
	ours := newHome(t, w)
	stack, err := ours.config().Resolver(nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	g, err := modgraph.Load(ctx, stack, mainDir, []byte(gomod))
	if err != nil {
		t.Fatal(err)
	}
	ds := g.DownloadSet()
	if got, want := shortList(ds.Zips), tc.zips; want != nil && !slices.Equal(got, want) {
		t.Errorf("DownloadSet().Zips = %v, want %v", got, want)
	}
	if !slices.Equal(ds.Unknown, tc.unknown) {
		t.Errorf("DownloadSet().Unknown = %v, want %v", ds.Unknown, tc.unknown)
	}
	if err := ds.Err(); (err != nil) != (tc.unknown != nil) || err != nil && !errors.Is(err, modgraph.ErrNotKnown) {
		t.Errorf("DownloadSet().Err() = %v", err)
	}
	results, err := modfetch.DownloadAll(ctx, stack, ds.Items(), &modfetch.BulkOptions{
		DownloadOptions: modfetch.DownloadOptions{ModCache: ours.gomodcache},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, res := range results {
		if !res.Item.GoModOnly {
			if _, ok := modfetch.ExtractedDir(ours.gomodcache, res.Item.Module.Path, res.Item.Module.Version); !ok {
				t.Errorf("%v not extracted", res.Item.Module)
			}
		}
	}
	ourFiles := fixture.CacheFiles(t, ours.gomodcache)
	ourReqs := fileRequests(w.proxy.Requests())

	var computed []string
	for _, m := range ds.GoMods {
		computed = append(computed, versionFile(t, m, "mod"))
	}
	for _, m := range ds.Zips {
		computed = append(computed, versionFile(t, m, "info"), versionFile(t, m, "zip"))
	}
	slices.Sort(computed)

	if !slices.Equal(computed, goFiles) {
		t.Errorf("computed:\n\t%s\ngo mod download's cache:\n\t%s", strings.Join(computed, "\n\t"), strings.Join(goFiles, "\n\t"))
	}
	if !slices.Equal(ourFiles, goFiles) {
		t.Errorf("DownloadAll's cache:\n\t%s\ngo mod download's cache:\n\t%s", strings.Join(ourFiles, "\n\t"), strings.Join(goFiles, "\n\t"))
	}
	if goDirs, ourDirs := fixture.ExtractedDirs(t, gohome.gomodcache), fixture.ExtractedDirs(t, ours.gomodcache); !slices.Equal(ourDirs, goDirs) {
		t.Errorf("DownloadAll extracted:\n\t%s\ngo mod download extracted:\n\t%s", strings.Join(ourDirs, "\n\t"), strings.Join(goDirs, "\n\t"))
	}
	if !slices.Equal(ourReqs, goReqs) {
		t.Errorf("our requests:\n\t%s\nthe go command's:\n\t%s", strings.Join(ourReqs, "\n\t"), strings.Join(goReqs, "\n\t"))
	}
	t.Logf("%d files: %d go.mod, %d zips", len(goFiles), len(ds.GoMods), len(ds.Zips))
}

// shortList names versions without the "example.com/g/" prefix.
func shortList(list []module.Version) []string {
	var s []string
	for _, m := range list {
		s = append(s, strings.TrimPrefix(m.Path, "example.com/g/")+"@"+m.Version)
	}
	return s
}

// TestDownloadSetMatchesGoModDownloadReal is TestDownloadSetMatchesGoModDownload
// for real projects: their go.mod files and those of their dependencies
// (testdata/realmods, copied from a module cache), with zips of their
// go.mod alone. The main modules are released versions of testify, objx,
// gopkg.in/ini.v1, x/text and x/mod, whose own dependencies' go.mod files
// require them back at other versions, and this repository's go.mod and
// examples/proxyserver's (a directory replacement of the repository
// root), as of this test's writing (testdata/realmain).
func TestDownloadSetMatchesGoModDownloadReal(t *testing.T) {
	goBin(t)
	readMain := func(name string) string {
		data, err := os.ReadFile(filepath.Join("testdata", "realmain", name))
		if err != nil {
			t.Fatal(err)
		}
		return string(data)
	}
	cases := []struct {
		graphCase
		main  string // path@version of a module in testdata/realmods
		gomod string // or this go.mod
	}{
		{graphCase: graphCase{name: "testify-v1.8.4"}, main: "github.com/stretchr/testify@v1.8.4"},
		{graphCase: graphCase{name: "testify-v1.8.0"}, main: "github.com/stretchr/testify@v1.8.0"},
		{graphCase: graphCase{name: "testify-v1.11.1"}, main: "github.com/stretchr/testify@v1.11.1"},
		{graphCase: graphCase{name: "objx-v0.5.0"}, main: "github.com/stretchr/objx@v0.5.0"},
		{graphCase: graphCase{name: "ini-v1.67.3"}, main: "gopkg.in/ini.v1@v1.67.3"},
		{graphCase: graphCase{name: "x-text-v0.44.0"}, main: "golang.org/x/text@v0.44.0"},
		{graphCase: graphCase{name: "x-mod-v0.40.0"}, main: "golang.org/x/mod@v0.40.0"},
		{graphCase: graphCase{name: "modfetch"}, gomod: readMain("modfetch.go.mod")},
		{
			graphCase: graphCase{
				name:    "modfetch-proxyserver",
				mainDir: "repo/examples/proxyserver",
				files:   map[string]string{"repo/go.mod": readMain("modfetch.go.mod")},
			},
			gomod: readMain("proxyserver.go.mod"),
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			set := realModules(t)
			gomod := tc.gomod
			if tc.main != "" {
				path, version, _ := strings.Cut(tc.main, "@")
				m := set.Module(path, version)
				if m == nil {
					t.Fatalf("%s is not in testdata/realmods", tc.main)
				}
				gomod = string(m.Mod)
			}
			tc.zips = nil // checked against the go command only
			tc.check(t, set, gomod)
		})
	}
}

func versionFile(t *testing.T, m module.Version, ext string) string {
	t.Helper()
	f, err := modfetch.VersionFile(m.Path, m.Version, ext)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// fileRequests returns the distinct .info, .mod and .zip files among
// proxy requests, without the leading slash, and fails on any other
// module request (lists, @latest).
func fileRequests(reqs []string) []string {
	var list []string
	for _, r := range reqs {
		r = strings.TrimPrefix(r, "/")
		if strings.HasPrefix(r, "sumdb/") {
			continue
		}
		switch filepath.Ext(r) {
		case ".info", ".mod", ".zip":
		default:
			r = "other: " + r
		}
		// Requests carry unescaped paths; files are escaped.
		if enc, rest, ok := strings.Cut(r, "/@v/"); ok {
			if e, err := module.EscapePath(enc); err == nil {
				r = e + "/@v/" + rest
			}
		}
		list = append(list, r)
	}
	slices.Sort(list)
	return slices.Compact(list)
}

// realModules returns a fixture module for every go.mod file under
// testdata/realmods (in the module cache's layout: <escaped
// path>/@v/<escaped version>.mod): the go.mod files of real projects and
// of their dependencies, copied from a module cache that built them. Each
// module's zip holds its go.mod and one Go file.
func realModules(t *testing.T) *fixture.Set {
	t.Helper()
	s := new(fixture.Set)
	root := filepath.Join("testdata", "realmods")
	err := filepath.WalkDir(root, func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Ext(name) != ".mod" {
			return err
		}
		rel, _ := filepath.Rel(root, name)
		enc, file, ok := strings.Cut(filepath.ToSlash(rel), "/@v/")
		if !ok {
			return fmt.Errorf("%s: not in the module cache layout", name)
		}
		path, err := module.UnescapePath(enc)
		if err != nil {
			return err
		}
		version, err := module.UnescapeVersion(strings.TrimSuffix(file, ".mod"))
		if err != nil {
			return err
		}
		data, err := os.ReadFile(name)
		if err != nil {
			return err
		}
		s.Add(path, version, map[string]string{"go.mod": string(data), "doc.go": "package x\n"}, fixture.Day(0))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}
