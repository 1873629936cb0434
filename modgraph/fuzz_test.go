package modgraph_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"

	"github.com/modfetch/modfetch/modgraph"
)

// FuzzLoad loads arbitrary main go.mod files over a fixed module world:
// Load never panics, and a graph it returns is consistent: the main
// module first in a build list sorted by path with one version each,
// every selected version at least each requirement in the graph, and the
// download set's zips among its go.mod files.
func FuzzLoad(f *testing.F) {
	for _, seed := range []string{
		"module example.com/main\ngo 1.16\nrequire (\n\texample.com/a v1.0.0\n\texample.com/b v1.0.0\n)\n",
		"module example.com/main\ngo 1.21\nrequire example.com/b v1.0.0\nrequire example.com/d v1.0.0 // indirect\n",
		"module example.com/main\nrequire example.com/a v1.0.0\n",
		"module example.com/main\ngo 1.21\nrequire (\n\texample.com/b v1.0.0\n\texample.com/c v1.0.0\n)\nexclude example.com/c v1.0.0\n",
		"module example.com/main\ngo 1.21\nrequire example.com/a v1.0.0\nreplace example.com/a v1.0.0 => example.com/a2 v1.1.0\n",
		"module example.com/main\ngo 1.16\nrequire example.com/cycle v1.0.0\n",
		"module example.com/main\ngo 1.21\nrequire example.com/x v1.0.0\nreplace example.com/x => ./x\n",
		"module m\ngo 1.22rc1\nrequire example.com/c v1.2.0\n",
	} {
		f.Add(seed)
	}
	set := world()
	f.Fuzz(func(t *testing.T, gomod string) {
		g, err := modgraph.Load(context.Background(), set, t.TempDir(), []byte(gomod))
		if err != nil {
			return
		}
		list := g.BuildList()
		if len(list) == 0 || list[0] != g.Main() || g.Main().Version != "" {
			t.Fatalf("BuildList() = %v, Main() = %v", list, g.Main())
		}
		rest := list[1:]
		if !slices.IsSortedFunc(rest, func(a, b module.Version) int { return strings.Compare(a.Path, b.Path) }) {
			t.Fatalf("BuildList() not sorted: %v", list)
		}
		for i := 1; i < len(rest); i++ {
			if rest[i].Path == rest[i-1].Path {
				t.Fatalf("BuildList() has %s twice", rest[i].Path)
			}
		}
		for _, m := range list {
			reqs, _ := g.Required(m)
			for _, r := range reqs {
				v, ok := g.Selected(r.Path)
				if !ok || r.Path != g.Main().Path && semver.Compare(v, r.Version) < 0 {
					t.Fatalf("%v requires %v, but %s is selected", m, r, v)
				}
			}
		}
		ds := g.DownloadSet()
		for _, z := range ds.Zips {
			if !slices.Contains(ds.GoMods, z) {
				t.Fatalf("zip %v without its go.mod", z)
			}
		}
	})
}
