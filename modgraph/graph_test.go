package modgraph_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"golang.org/x/mod/module"

	"github.com/modfetch/modfetch"
	"github.com/modfetch/modfetch/checksum"
	"github.com/modfetch/modfetch/internal/fixture"
	"github.com/modfetch/modfetch/modgraph"
)

// world is a module world with pruned (go 1.21) and unpruned (go 1.16,
// none) go.mod files; the e2e test TestDownloadSetMatchesGoModDownload
// checks the same shapes against the go command.
func world() *fixture.Set {
	s := new(fixture.Set)
	add := func(pv, gomod string) {
		path, version, _ := strings.Cut("example.com/"+pv, "@")
		s.Add(path, version, map[string]string{"go.mod": "module " + path + "\n" + gomod}, fixture.Day(0))
	}
	add("a@v1.0.0", "go 1.16\nrequire example.com/c v1.0.0\n")
	add("b@v1.0.0", "go 1.21\nrequire (\n\texample.com/c v1.1.0\n\texample.com/d v1.0.0\n)\n")
	add("b@v1.0.1", "go 1.21\nrequire example.com/d v1.0.0\n")
	add("c@v1.0.0", "go 1.16\nrequire example.com/e v1.0.0\n")
	add("c@v1.1.0", "")
	add("c@v1.2.0", "go 1.21\n")
	add("d@v1.0.0", "go 1.21\nrequire example.com/f v1.0.0\n")
	add("e@v1.0.0", "go 1.21\n")
	add("f@v1.0.0", "go 1.21\n")
	add("a2@v1.1.0", "go 1.21\nrequire example.com/f v1.0.0\n")
	add("h@v1.0.0", "go 1.21\n")
	add("cycle@v1.0.0", "go 1.16\nrequire example.com/main v0.1.0\n")
	add("main@v0.1.0", "go 1.16\nrequire example.com/h v1.0.0\n")
	return s
}

// short writes versions as "a@v1.0.0" (the main module as "main").
func short(list []module.Version) string {
	var s []string
	for _, m := range list {
		p := strings.TrimPrefix(m.Path, "example.com/")
		if m.Version == "" {
			s = append(s, p)
		} else {
			s = append(s, p+"@"+m.Version)
		}
	}
	return strings.Join(s, " ")
}

func TestLoad(t *testing.T) {
	for _, tc := range []struct {
		name      string
		gomod     string
		files     map[string]string // beside main/, for directory replacements
		buildList string
		goMods    string // DownloadSet().GoMods
		zips      string // DownloadSet().Zips
		pruned    bool
	}{
		{
			name:      "unpruned",
			gomod:     "go 1.16\nrequire (\n\texample.com/a v1.0.0\n\texample.com/b v1.0.0\n)\n",
			buildList: "main a@v1.0.0 b@v1.0.0 c@v1.1.0 d@v1.0.0 e@v1.0.0 f@v1.0.0",
			goMods:    "a@v1.0.0 b@v1.0.0 c@v1.0.0 c@v1.1.0 d@v1.0.0 e@v1.0.0 f@v1.0.0",
			zips:      "a@v1.0.0 b@v1.0.0 c@v1.1.0 d@v1.0.0 e@v1.0.0 f@v1.0.0",
		},
		{
			name:      "pruned",
			gomod:     "go 1.21\nrequire (\n\texample.com/b v1.0.0\n\texample.com/d v1.0.0 // indirect\n)\n",
			buildList: "main b@v1.0.0 c@v1.1.0 d@v1.0.0 f@v1.0.0",
			goMods:    "b@v1.0.0 d@v1.0.0",
			zips:      "b@v1.0.0 d@v1.0.0",
			pruned:    true,
		},
		{
			name:      "pruned-over-unpruned",
			gomod:     "go 1.21\nrequire example.com/a v1.0.0\n",
			buildList: "main a@v1.0.0 c@v1.0.0 e@v1.0.0",
			goMods:    "a@v1.0.0 c@v1.0.0 e@v1.0.0",
			zips:      "a@v1.0.0",
			pruned:    true,
		},
		{
			name:      "no-go-directive",
			gomod:     "require example.com/a v1.0.0\n",
			buildList: "main a@v1.0.0 c@v1.0.0 e@v1.0.0",
			goMods:    "a@v1.0.0 c@v1.0.0 e@v1.0.0",
			zips:      "a@v1.0.0",
			pruned:    true,
		},
		{
			name:      "untidy-roots-raised",
			gomod:     "go 1.21\nrequire (\n\texample.com/b v1.0.0\n\texample.com/c v1.0.0\n)\n",
			buildList: "main b@v1.0.0 c@v1.1.0 d@v1.0.0",
			goMods:    "b@v1.0.0 c@v1.0.0 c@v1.1.0 e@v1.0.0",
			zips:      "b@v1.0.0 c@v1.1.0",
			pruned:    true,
		},
		{
			name:      "replace",
			gomod:     "go 1.21\nrequire (\n\texample.com/a v1.0.0\n\texample.com/b v1.0.0\n)\nreplace example.com/a v1.0.0 => example.com/a2 v1.1.0\nreplace example.com/b => example.com/b v1.0.1\n",
			buildList: "main a@v1.0.0 b@v1.0.0 d@v1.0.0 f@v1.0.0",
			goMods:    "a2@v1.1.0 b@v1.0.1",
			zips:      "a2@v1.1.0 b@v1.0.1",
			pruned:    true,
		},
		{
			name:      "replace-directory",
			gomod:     "go 1.16\nrequire example.com/local v0.0.0\nreplace example.com/local => ../local\n",
			files:     map[string]string{"local/go.mod": "module example.com/local\ngo 1.21\nrequire example.com/c v1.0.0\n"},
			buildList: "main c@v1.0.0 e@v1.0.0 local@v0.0.0",
			goMods:    "c@v1.0.0 e@v1.0.0",
			zips:      "c@v1.0.0 e@v1.0.0",
		},
		{
			name:      "exclude-dropped-not-raised",
			gomod:     "go 1.16\nrequire example.com/a v1.0.0\nexclude example.com/c v1.0.0\n",
			buildList: "main a@v1.0.0",
			goMods:    "a@v1.0.0",
			zips:      "a@v1.0.0",
		},
		{
			// A dependency requires the main module at a version: its
			// go.mod is read, but the main module stays selected.
			name:      "requires-main",
			gomod:     "go 1.16\nrequire example.com/cycle v1.0.0\n",
			buildList: "main cycle@v1.0.0 h@v1.0.0",
			goMods:    "cycle@v1.0.0 h@v1.0.0 main@v0.1.0",
			zips:      "cycle@v1.0.0 h@v1.0.0",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			for name, data := range tc.files {
				writeFile(t, filepath.Join(root, name), data)
			}
			g, err := modgraph.Load(context.Background(), world(), filepath.Join(root, "main"), []byte("module example.com/main\n"+tc.gomod))
			if err != nil {
				t.Fatal(err)
			}
			if got := short(g.BuildList()); got != tc.buildList {
				t.Errorf("BuildList() = %s, want %s", got, tc.buildList)
			}
			ds := g.DownloadSet()
			if got := short(ds.GoMods); got != tc.goMods {
				t.Errorf("GoMods = %s, want %s", got, tc.goMods)
			}
			if got := short(g.GoModsRead()); got != tc.goMods {
				// Every case's zips are among the go.mod files read.
				t.Errorf("GoModsRead() = %s, want %s", got, tc.goMods)
			}
			if got := short(ds.Zips); got != tc.zips {
				t.Errorf("Zips = %s, want %s", got, tc.zips)
			}
			if g.Pruned() != tc.pruned {
				t.Errorf("Pruned() = %v", g.Pruned())
			}
			if ds.Err() != nil {
				t.Errorf("Err() = %v", ds.Err())
			}
			for _, m := range g.BuildList() {
				if v, ok := g.Selected(m.Path); !ok || v != m.Version {
					t.Errorf("Selected(%s) = %s, %v", m.Path, v, ok)
				}
			}
		})
	}
}

func writeFile(t *testing.T, name, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(name), 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, []byte(data), 0o666); err != nil {
		t.Fatal(err)
	}
}

func TestGraphAccessors(t *testing.T) {
	gomod := "module example.com/main\ngo 1.21\nrequire (\n\texample.com/b v1.0.0\n\texample.com/c v1.0.0\n\texample.com/h v1.0.0\n)\n" +
		"replace example.com/b => example.com/b v1.0.1\nreplace example.com/h v1.0.0 => ./h\nexclude example.com/e v1.0.0\n"
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "h", "go.mod"), "module example.com/h\ngo 1.21\nrequire example.com/e v1.0.0\n")
	g, err := modgraph.Load(context.Background(), world(), dir, []byte(gomod))
	if err != nil {
		t.Fatal(err)
	}
	if g.Main() != (module.Version{Path: "example.com/main"}) || g.GoVersion() != "1.21" || !g.Pruned() {
		t.Errorf("Main() = %v, GoVersion() = %q, Pruned() = %v", g.Main(), g.GoVersion(), g.Pruned())
	}
	// The root c v1.0.0 is raised to what b v1.0.1... does not require:
	// b v1.0.1 requires only d, so c stays at v1.0.0.
	for _, tc := range []struct {
		m        module.Version
		required string
		ok       bool
	}{
		{g.Main(), "b@v1.0.0 c@v1.0.0 h@v1.0.0", true},
		{module.Version{Path: "example.com/b", Version: "v1.0.0"}, "d@v1.0.0", true}, // from its replacement b v1.0.1
		{module.Version{Path: "example.com/c", Version: "v1.0.0"}, "", true},         // e v1.0.0 excluded
		{module.Version{Path: "example.com/h", Version: "v1.0.0"}, "", true},         // from ./h, e excluded
		{module.Version{Path: "example.com/d", Version: "v1.0.0"}, "", false},        // pruned: not read
	} {
		reqs, ok := g.Required(tc.m)
		if got := short(reqs); got != tc.required || ok != tc.ok {
			t.Errorf("Required(%v) = %q, %v; want %q, %v", tc.m, got, ok, tc.required, tc.ok)
		}
	}
	for _, tc := range []struct {
		m, want module.Version
		ok      bool
	}{
		{module.Version{Path: "example.com/b", Version: "v1.0.0"}, module.Version{Path: "example.com/b", Version: "v1.0.1"}, true},
		{module.Version{Path: "example.com/h", Version: "v1.0.0"}, module.Version{Path: "./h"}, true},
		{module.Version{Path: "example.com/h", Version: "v1.1.0"}, module.Version{Path: "example.com/h", Version: "v1.1.0"}, false},
		{g.Main(), g.Main(), false},
	} {
		if r, ok := g.Replacement(tc.m); r != tc.want || ok != tc.ok {
			t.Errorf("Replacement(%v) = %v, %v; want %v, %v", tc.m, r, ok, tc.want, tc.ok)
		}
	}
	if _, ok := g.Selected("example.com/e"); ok {
		t.Errorf("excluded e is selected")
	}
	if got := short(g.BuildList()); got != "main b@v1.0.0 c@v1.0.0 d@v1.0.0 h@v1.0.0" {
		t.Errorf("BuildList() = %s", got)
	}
}

func TestLoadErrors(t *testing.T) {
	set := world()
	set.Add("example.com/wrongpath", "v1.0.0", map[string]string{"go.mod": "module example.com/other\n"}, fixture.Day(0))
	set.Add("example.com/nomodule", "v1.0.0", map[string]string{"go.mod": "go 1.21\n"}, fixture.Day(0))
	set.Add("example.com/bad", "v1.0.0", map[string]string{"go.mod": "module example.com/bad\nrequire (\n"}, fixture.Day(0))
	set.Add("example.com/ind", "v1.0.0", map[string]string{"go.mod": "module example.com/ind\ngo 1.16\nrequire example.com/a v1.9.0\n"}, fixture.Day(0))
	for _, tc := range []struct {
		name  string
		gomod string
		check func(t *testing.T, err error)
		list  string // the build list of the graph returned with the error; "" for none
	}{
		{
			name:  "indirect",
			gomod: "go 1.21\nrequire example.com/ind v1.0.0\n",
			list:  "main a@v1.9.0 ind@v1.0.0",
			check: func(t *testing.T, err error) {
				var re *modgraph.RequirementError
				if !errors.As(err, &re) || short(re.Path) != "main ind@v1.0.0 a@v1.9.0" || !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("err = %v, want a *modgraph.RequirementError from main through ind to a@v1.9.0", err)
				}
				if want := "example.com/ind@v1.0.0 requires\n\texample.com/a@v1.9.0: "; !strings.HasPrefix(err.Error(), want) {
					t.Errorf("err = %q, want it to start %q", err, want)
				}
			},
		},
		{
			name:  "indirect, no go directive",
			gomod: "require example.com/ind v1.0.0\n",
			check: func(t *testing.T, err error) {
				var re *modgraph.RequirementError
				if !errors.As(err, &re) || short(re.Path) != "main ind@v1.0.0 a@v1.9.0" {
					t.Errorf("err = %v, want a *modgraph.RequirementError from main through ind to a@v1.9.0", err)
				}
			},
		},
		{
			name:  "missing version",
			list:  "main a@v1.9.0",
			gomod: "go 1.21\nrequire example.com/a v1.9.0\n",
			check: func(t *testing.T, err error) {
				var me *module.ModuleError
				if !errors.Is(err, fs.ErrNotExist) || !errors.As(err, &me) || me.Path != "example.com/a" || me.Version != "v1.9.0" {
					t.Errorf("err = %v, want a not-found *module.ModuleError for example.com/a@v1.9.0", err)
				}
			},
		},
		{
			name:  "every failure joined",
			list:  "main a@v1.9.0 nomodule@v1.0.0 wrongpath@v1.0.0",
			gomod: "go 1.16\nrequire (\n\texample.com/a v1.9.0\n\texample.com/wrongpath v1.0.0\n\texample.com/nomodule v1.0.0\n)\n",
			check: func(t *testing.T, err error) {
				var pm *modgraph.PathMismatchError
				if !errors.Is(err, fs.ErrNotExist) || !errors.As(err, &pm) || pm.Declared != "example.com/other" || pm.Required != "example.com/wrongpath" {
					t.Errorf("err = %v", err)
				}
				if !strings.Contains(err.Error(), "example.com/nomodule@v1.0.0: parsing go.mod: missing module line") {
					t.Errorf("err = %v, want the missing module line too", err)
				}
				// In the order of the requirements (sorted, in a root's).
				var re *modgraph.RequirementError
				if errors.As(err, &re) && short(re.Path) != "main a@v1.9.0" {
					t.Errorf("first failure %s, want a@v1.9.0's", short(re.Path))
				}
			},
		},
		{
			name:  "unparsable go.mod",
			list:  "main bad@v1.0.0",
			gomod: "go 1.21\nrequire example.com/bad v1.0.0\n",
			check: func(t *testing.T, err error) {
				var me *module.ModuleError
				if !errors.As(err, &me) || me.Path != "example.com/bad" || !strings.Contains(err.Error(), "parsing go.mod") {
					t.Errorf("err = %v", err)
				}
			},
		},
		{
			name:  "directory without go.mod",
			list:  "main x@v1.0.0",
			gomod: "go 1.21\nrequire example.com/x v1.0.0\nreplace example.com/x => ./nowhere\n",
			check: func(t *testing.T, err error) {
				if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), filepath.Join("nowhere", "go.mod")) {
					t.Errorf("err = %v", err)
				}
			},
		},
		{
			name:  "conflicting replacements",
			gomod: "go 1.21\nreplace example.com/a => ./a\nreplace example.com/a => ./b\n",
			check: func(t *testing.T, err error) {
				if err == nil || !strings.Contains(err.Error(), "conflicting replacements") {
					t.Errorf("err = %v", err)
				}
			},
		},
		{
			name:  "canceled",
			gomod: "go 1.21\nrequire example.com/a v1.0.0\n",
			check: func(t *testing.T, err error) {
				if !errors.Is(err, context.Canceled) {
					t.Errorf("err = %v, want context.Canceled", err)
				}
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			var r modfetch.Resolver = set
			if tc.name == "canceled" {
				c, cancel := context.WithCancel(ctx)
				cancel()
				ctx = c
				r = ctxResolver{set}
			}
			g, err := modgraph.Load(ctx, r, t.TempDir(), []byte("module example.com/main\n"+tc.gomod))
			switch {
			case tc.list == "" && g != nil:
				t.Errorf("Load returned a graph with error %v", err)
			case tc.list != "" && g == nil:
				t.Errorf("Load returned no graph with error %v", err)
			case g != nil && short(g.BuildList()) != tc.list:
				t.Errorf("build list %s, want %s", short(g.BuildList()), tc.list)
			}
			tc.check(t, err)
		})
	}
	if _, err := modgraph.Load(context.Background(), set, "", []byte("go 1.21\n")); err == nil {
		t.Errorf("Load of a go.mod without a module directive succeeded")
	}
	if _, err := modgraph.Load(context.Background(), set, "", []byte("module m\nrequire example.com/a v1\n")); err == nil {
		t.Errorf("Load of a non-canonical version succeeded")
	}
}

// TestLoadTooNew: with a Toolchain, a go.mod file of go 1.21 or later
// that needs a newer go fails the load, its requirements unread, and the
// rest of the graph comes with the error.
func TestLoadTooNew(t *testing.T) {
	set := world()
	set.Add("example.com/toonew", "v1.0.0", map[string]string{"go.mod": "module example.com/toonew\ngo 1.30\nrequire example.com/h v1.0.0\n"}, fixture.Day(0))
	set.Add("example.com/old", "v1.0.0", map[string]string{"go.mod": "module example.com/old\ngo 1.20\n"}, fixture.Day(0))
	// x@v1.0.0 is too new; y raises x to v1.1.0, which is not.
	set.Add("example.com/x", "v1.0.0", map[string]string{"go.mod": "module example.com/x\ngo 1.30\n"}, fixture.Day(0))
	set.Add("example.com/x", "v1.1.0", map[string]string{"go.mod": "module example.com/x\ngo 1.16\n"}, fixture.Day(0))
	set.Add("example.com/y", "v1.0.0", map[string]string{"go.mod": "module example.com/y\ngo 1.16\nrequire example.com/x v1.1.0\n"}, fixture.Day(0))
	// Too new and declaring another path: the go command names the go
	// version first.
	set.Add("example.com/moved", "v1.0.0", map[string]string{"go.mod": "module example.com/elsewhere\ngo 1.30\n"}, fixture.Day(0))
	const main = "module example.com/main\ngo 1.21\nrequire (\n\texample.com/e v1.0.0\n\texample.com/old v1.0.0\n\texample.com/toonew v1.0.0\n)\n"
	local := &modfetch.Toolchain{GoVersion: "1.19", GOTOOLCHAIN: "local"}
	for _, tc := range []struct {
		name      string
		gomod     string
		toolchain *modfetch.Toolchain
		wantList  string // "" for no graph
		wantErr   string // "" for none
	}{
		{name: "no toolchain", gomod: main, wantList: "main e@v1.0.0 h@v1.0.0 old@v1.0.0 toonew@v1.0.0"},
		{name: "new enough", gomod: main, toolchain: &modfetch.Toolchain{GoVersion: "1.30"}, wantList: "main e@v1.0.0 h@v1.0.0 old@v1.0.0 toonew@v1.0.0"},
		{
			name: "too new", gomod: main, toolchain: local,
			// e (go 1.21) is too new for 1.19 as well; old's go 1.20 is
			// no requirement; toonew's requirement on h goes unread.
			wantList: "main e@v1.0.0 old@v1.0.0 toonew@v1.0.0",
			wantErr:  "example.com/e@v1.0.0: module example.com/e@v1.0.0 requires go >= 1.21 (running go 1.19; GOTOOLCHAIN=local)\nexample.com/toonew@v1.0.0: module example.com/toonew@v1.0.0 requires go >= 1.30 (running go 1.19; GOTOOLCHAIN=local)",
		},
		{
			name: "and a missing version", gomod: main + "require example.com/a v1.9.0\n", toolchain: local,
			wantList: "main a@v1.9.0 e@v1.0.0 old@v1.0.0 toonew@v1.0.0",
			wantErr:  "example.com/a@v1.9.0: ",
		},
		{
			// The go command does not raise the roots of a graph with
			// errors: x@v1.0.0 stays a root and fails.
			name: "a root the graph raises", gomod: "module example.com/main\ngo 1.21\nrequire (\n\texample.com/x v1.0.0\n\texample.com/y v1.0.0\n)\n",
			toolchain: &modfetch.Toolchain{GoVersion: "1.26", GOTOOLCHAIN: "local"},
			wantList:  "main x@v1.1.0 y@v1.0.0",
			wantErr:   "example.com/x@v1.0.0: module example.com/x@v1.0.0 requires go >= 1.30 (running go 1.26; GOTOOLCHAIN=local)",
		},
		{
			name: "another path", gomod: "module example.com/main\ngo 1.21\nrequire example.com/moved v1.0.0\n",
			toolchain: &modfetch.Toolchain{GoVersion: "1.26", GOTOOLCHAIN: "local"},
			wantList:  "main moved@v1.0.0",
			wantErr:   "example.com/moved@v1.0.0: module example.com/moved@v1.0.0 requires go >= 1.30",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := modgraph.Parse("go.mod", []byte(tc.gomod))
			if err != nil {
				t.Fatal(err)
			}
			g, err := modgraph.LoadFileWith(context.Background(), set, t.TempDir(), f, &modgraph.LoadOptions{Toolchain: tc.toolchain})
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("err = %v, want %q", err, tc.wantErr)
			}
			if tc.wantErr != "" {
				var tn *modfetch.TooNewError
				if !errors.As(err, &tn) || !errors.Is(err, modfetch.ErrTooNew) {
					t.Errorf("err = %v, want a *modfetch.TooNewError in it", err)
				}
			}
			if tc.wantList == "" {
				if g != nil {
					t.Errorf("a graph with error %v", err)
				}
				return
			}
			if g == nil {
				t.Fatalf("no graph with error %v", err)
			}
			if got := short(g.BuildList()); got != tc.wantList {
				t.Errorf("build list %s, want %s", got, tc.wantList)
			}
			// The roots are go.mod's requirements, not raised past a
			// failure.
			if roots, _ := g.Required(g.Main()); tc.name == "a root the graph raises" && short(roots) != "x@v1.0.0 y@v1.0.0" {
				t.Errorf("roots %s, want x@v1.0.0 y@v1.0.0 as required", short(roots))
			}
		})
	}
}

// ctxResolver answers GoMod only while ctx lasts.
type ctxResolver struct{ *fixture.Set }

func (r ctxResolver) GoMod(ctx context.Context, path, version string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return r.Set.GoMod(ctx, path, version)
}

// countingResolver counts GoMod calls.
type countingResolver struct {
	*fixture.Set
	mu sync.Mutex
	n  map[module.Version]int
}

func (r *countingResolver) GoMod(ctx context.Context, path, version string) ([]byte, error) {
	r.mu.Lock()
	if r.n == nil {
		r.n = make(map[module.Version]int)
	}
	r.n[module.Version{Path: path, Version: version}]++
	r.mu.Unlock()
	return r.Set.GoMod(ctx, path, version)
}

// TestLoadReadsEachGoModOnce: a go.mod reached along many paths, in two
// rounds of loading, or both pruned and unpruned, is fetched once.
func TestLoadReadsEachGoModOnce(t *testing.T) {
	r := &countingResolver{Set: world()}
	gomod := "module example.com/main\ngo 1.21\nrequire (\n\texample.com/a v1.0.0\n\texample.com/b v1.0.0\n\texample.com/c v1.0.0\n\texample.com/d v1.0.0\n)\n"
	g, err := modgraph.Load(context.Background(), r, "", []byte(gomod))
	if err != nil {
		t.Fatal(err)
	}
	var fetched []module.Version
	for m, n := range r.n {
		if n != 1 {
			t.Errorf("%v fetched %d times", m, n)
		}
		fetched = append(fetched, m)
	}
	slices.SortFunc(fetched, func(a, b module.Version) int { return strings.Compare(a.String(), b.String()) })
	if got, want := short(fetched), short(g.GoModsRead()); got != want {
		t.Errorf("fetched %s, GoModsRead() = %s", got, want)
	}
}

func TestGoSumItems(t *testing.T) {
	gs, err := checksum.ParseGoSum("go.sum", []byte(
		"example.com/a v1.0.0/go.mod h1:x=\n"+
			"example.com/a v1.1.0 h1:y=\n"+
			"example.com/a v1.1.0/go.mod h1:z=\n"+
			"example.com/b v0.1.0 h1:w=\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := []modfetch.BulkItem{
		{Module: module.Version{Path: "example.com/a", Version: "v1.0.0"}, GoModOnly: true},
		{Module: module.Version{Path: "example.com/a", Version: "v1.1.0"}},
		{Module: module.Version{Path: "example.com/b", Version: "v0.1.0"}},
	}
	if got := modgraph.GoSumItems(gs); !slices.Equal(got, want) {
		t.Errorf("GoSumItems = %v, want %v", got, want)
	}
}

func TestDownloadSetUnknown(t *testing.T) {
	gomod := "module example.com/main\ngo 1.21\nrequire (\n\texample.com/b v1.0.0\n\texample.com/h v1.0.0\n)\nexclude example.com/h v1.0.0\n"
	g, err := modgraph.Load(context.Background(), world(), "", []byte(gomod))
	if err != nil {
		t.Fatal(err)
	}
	ds := g.DownloadSet()
	if !slices.Equal(ds.Unknown, []string{"example.com/h"}) || short(ds.Zips) != "b@v1.0.0" {
		t.Errorf("DownloadSet() = %+v", ds)
	}
	err = ds.Err()
	if !errors.Is(err, modgraph.ErrNotKnown) || err.Error() != "example.com/h: not a known dependency" {
		t.Errorf("Err() = %v", err)
	}
	items := ds.Items()
	want := []modfetch.BulkItem{{Module: module.Version{Path: "example.com/b", Version: "v1.0.0"}}}
	if !slices.Equal(items, want) {
		t.Errorf("Items() = %v, want %v", items, want)
	}
}

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		gomod   string
		wantErr string // "" for success
	}{
		{"module m\nrequire example.com/a v1.2.3\n", ""},
		{"module m\nrequire example.com/a v1.2.3-pre.0.20240102030405-abcdefabcdef\n", ""},
		{"module m\nrequire example.com/a v2.0.0+incompatible\n", ""},
		{"module m\nrequire example.com/a v1\n", `version "v1" is not canonical`},
		{"module m\nrequire example.com/a master\n", `version "master" is not canonical`},
		{"module m\nreplace example.com/a => example.com/b v1.2\n", `version "v1.2" is not canonical`},
		{"module m\nexclude example.com/a v1.0\n", `version "v1.0" is not canonical`},
		{"module m\nrequire example.com/a\n", "usage: require module/path v1.2.3"},
	} {
		f, err := modgraph.Parse("dir/go.mod", []byte(tc.gomod))
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("Parse(%q): %v", tc.gomod, err)
		case tc.wantErr == "" && f.Module.Mod.Path != "m":
			t.Errorf("Parse(%q): module %q, want m", tc.gomod, f.Module.Mod.Path)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), "dir/go.mod:2")):
			t.Errorf("Parse(%q) = %v, want an error at dir/go.mod:2 containing %q", tc.gomod, err, tc.wantErr)
		}
	}
}
