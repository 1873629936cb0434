// Command download is a work-alike of `go mod download [-json] mod@query...`
// run outside a main module, built on modfetch: it reads the same
// environment (GOPROXY, GONOPROXY, GOPRIVATE, GOSUMDB, GONOSUMDB,
// GOMODCACHE, GOPATH, GOFLAGS, GOAUTH and the go env files), fills the same
// module cache, prints the same JSON fields, and exits with status 1 when
// any argument failed.
//
// Usage:
//
//	go run ./examples/download [-json] path@query...
//
// A query is anything the go command accepts: a version (v1.2.3), a
// revision (a branch or commit the upstream can resolve), latest, a prefix
// (v1, v1.2) or a comparison (>=v1.2.0, <v2).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"strings"

	"golang.org/x/mod/module"
	"golang.org/x/sync/errgroup"

	"github.com/modfetch/modfetch"
	"github.com/modfetch/modfetch/cache"
	"github.com/modfetch/modfetch/goenv"
)

// moduleJSON is the go command's ModuleJSON (cmd/go/internal/modcmd).
type moduleJSON struct {
	Path     string           `json:",omitempty"`
	Version  string           `json:",omitempty"`
	Query    string           `json:",omitempty"`
	Error    string           `json:",omitempty"`
	Info     string           `json:",omitempty"`
	GoMod    string           `json:",omitempty"`
	Zip      string           `json:",omitempty"`
	Dir      string           `json:",omitempty"`
	Sum      string           `json:",omitempty"`
	GoModSum string           `json:",omitempty"`
	Origin   *modfetch.Origin `json:",omitempty"`
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("download", flag.ContinueOnError)
	fs.SetOutput(stderr)
	jsonFlag := fs.Bool("json", false, "print a JSON object for each module")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: download [-json] path@version...\n")
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() == 0 {
		fmt.Fprintf(stderr, "go: no modules specified (see 'go help mod download')\n")
		return 1
	}
	type target struct{ path, query string }
	var targets []target
	for _, arg := range fs.Args() {
		path, vers, found := strings.Cut(arg, "@")
		if len(vers) > 0 && (vers[0] == '-' || vers[0] == '/') {
			fmt.Fprintf(stderr, "go: invalid module version %q\n", vers)
			return 1
		}
		if !found {
			fmt.Fprintf(stderr, "go: cannot match %q without -versions or an explicit version: go.mod file not found in current directory or any parent directory; see 'go help modules'\n", arg)
			return 1
		}
		targets = append(targets, target{path, vers})
	}

	cfg, err := goenv.Load()
	if err != nil {
		fmt.Fprintf(stderr, "go: %v\n", err)
		return 1
	}
	stack, stackErr := cfg.Resolver(nil)
	// One Querier for all arguments: it remembers retractions and go.mod
	// files between them.
	q := &modfetch.Querier{Resolver: stack}

	// Several downloads at a time, as the go command does.
	mods := make([]*moduleJSON, len(targets))
	var g errgroup.Group
	g.SetLimit(runtime.GOMAXPROCS(0))
	for i, t := range targets {
		m := &moduleJSON{Path: t.path, Version: t.query}
		mods[i] = m
		if stackErr != nil {
			m.Error = moduleError(t.path, t.query, stackErr).Error()
			continue
		}
		g.Go(func() error {
			download(ctx, cfg, stack, q, m)
			return nil
		})
	}
	g.Wait()

	code := 0
	for _, m := range mods {
		if m.Error != "" {
			code = 1
		}
		if *jsonFlag {
			b, _ := json.MarshalIndent(m, "", "\t")
			stdout.Write(append(b, '\n'))
		} else if m.Error != "" {
			fmt.Fprintf(stderr, "go: %s\n", m.Error)
		}
	}
	return code
}

// download resolves m.Path@m.Version and downloads it, filling m like the
// go command's DownloadModule.
func download(ctx context.Context, cfg *goenv.Config, stack *goenv.Stack, q *modfetch.Querier, m *moduleJSON) {
	query := m.Version
	info, err := q.Query(ctx, m.Path, query, nil)
	if err != nil {
		m.Error = moduleError(m.Path, query, err).Error()
		return
	}
	m.Version = info.Version
	if query != info.Version {
		m.Query = query
	}
	m.Origin = info.Origin

	d, err := modfetch.Download(ctx, stack, m.Path, m.Version, &modfetch.DownloadOptions{
		ModCache:  cfg.GOMODCACHE,
		ReadWrite: cfg.ModCacheRW,
	})
	if err != nil {
		m.Error = err.Error()
		return
	}
	m.GoModSum, m.Sum, m.Dir = d.GoModSum, d.Sum, d.Dir
	if ds, ok := stack.Store.(*cache.DirStore); ok {
		for ext, field := range map[string]*string{"info": &m.Info, "mod": &m.GoMod, "zip": &m.Zip} {
			if key, err := modfetch.VersionFile(m.Path, m.Version, ext); err == nil {
				*field, _ = ds.Path(key)
			}
		}
	}
}

// moduleError gives err the module context the go command's JSON shows.
func moduleError(path, vers string, err error) error {
	var me *module.ModuleError
	if errors.As(err, &me) {
		return err
	}
	return &module.ModuleError{Path: path, Version: vers, Err: err}
}
