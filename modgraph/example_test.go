package modgraph_test

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"log"

	"github.com/modfetch/modfetch"
	"github.com/modfetch/modfetch/modgraph"
)

// goMods is a Resolver that knows only go.mod files, by "path@version".
// A program would use a module proxy (upstream.Proxy), a cache and
// checksum.Verify instead.
type goMods map[string]string

func (r goMods) GoMod(ctx context.Context, path, version string) ([]byte, error) {
	if data, ok := r[path+"@"+version]; ok {
		return []byte(data), nil
	}
	return nil, fs.ErrNotExist
}

func (goMods) List(context.Context, string) ([]string, error) { return nil, fs.ErrNotExist }
func (goMods) Stat(context.Context, string, string) (*modfetch.Info, error) {
	return nil, fs.ErrNotExist
}
func (goMods) Latest(context.Context, string) (*modfetch.Info, error) { return nil, fs.ErrNotExist }
func (goMods) Zip(context.Context, string, string) (io.ReadCloser, error) {
	return nil, fs.ErrNotExist
}

// The build list of a main module at go 1.21, whose graph is pruned: the
// go.mod files of its requirements are read, and what they require joins
// the graph without its own go.mod being read (example.com/color, and
// example.com/json v1.2.0, which v1.3.0 outranks). `go mod download`
// would fetch the zips of the modules go.mod names and the go.mod files
// read.
func ExampleLoad() {
	r := goMods{
		"example.com/http@v1.4.0": "module example.com/http\n\ngo 1.21\n\nrequire example.com/json v1.2.0\n",
		"example.com/json@v1.3.0": "module example.com/json\n\ngo 1.21\n",
		"example.com/log@v0.9.0":  "module example.com/log\n\ngo 1.20\n\nrequire example.com/color v1.0.0\n",
	}
	gomod := `module example.com/app

go 1.21

require (
	example.com/http v1.4.0
	example.com/log v0.9.0
)

require example.com/json v1.3.0 // indirect
`
	g, err := modgraph.Load(context.Background(), r, ".", []byte(gomod))
	if err != nil {
		log.Fatal(err)
	}
	for _, m := range g.BuildList() {
		fmt.Println(m)
	}
	ds := g.DownloadSet()
	fmt.Println("zips:", ds.Zips)
	fmt.Println("go.mod files:", ds.GoMods)
	// Output:
	// example.com/app
	// example.com/color@v1.0.0
	// example.com/http@v1.4.0
	// example.com/json@v1.3.0
	// example.com/log@v0.9.0
	// zips: [example.com/http@v1.4.0 example.com/json@v1.3.0 example.com/log@v0.9.0]
	// go.mod files: [example.com/http@v1.4.0 example.com/json@v1.3.0 example.com/log@v0.9.0]
}
