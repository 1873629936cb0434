// Command download is a work-alike of `go mod download [-json]
// [mod@query...]`, built on modfetch: it reads the same environment
// (GOPROXY, GONOPROXY, GOPRIVATE, GOSUMDB, GONOSUMDB, GOMODCACHE, GOPATH,
// GOFLAGS, GOAUTH and the go env files), fills the same module cache,
// prints the same JSON fields, and exits with status 1 when any module
// failed.
//
// Usage:
//
//	go run ./examples/download [-json] [-j N] path@query...
//	go run ./examples/download [-json] [-j N]
//	go run ./examples/download [-json] [-j N] -gosum FILE
//
// A query is anything the go command accepts: a version (v1.2.3), a
// revision (a branch or commit the upstream can resolve), latest, a prefix
// (v1, v1.2) or a comparison (>=v1.2.0, <v2). "upgrade" and "patch" need
// a main module's requirement: like the go command outside a module, it
// refuses them ("go.mod file not found ...") and downloads nothing. With
// GOTOOLCHAIN=local, a module whose go.mod needs a newer go than the one
// this program was built with fails as in the go command ("requires go >=
// X (running go Y; GOTOOLCHAIN=local)"), once downloaded and extracted.
//
// With no module arguments, in a module (a go.mod in the current directory
// or a parent), it downloads what `go mod download` downloads there: the
// go.mod files of the module graph, and in full (extracted into GOMODCACHE)
// the modules the main module requires, or every module of the build list
// before go 1.17; afterwards, with a go.sum that lists them, `GOPROXY=off
// go build ./...` and `GOPROXY=off go mod verify` succeed. Downloads are
// checked against the module's go.sum, then the checksum database. -json prints what the go command prints for each
// module downloaded in full (or required but unknown). Outside a module it
// fails as the go command does; in workspace mode (a go.work) it fails
// unless GOWORK=off. It never writes go.mod or go.sum.
//
// -gosum FILE downloads every module version the go.sum file records,
// checked against it: in full when it records the zip's hash, only the
// go.mod file when it records only "path version/go.mod"; -json prints an
// object for each (with GoMod and GoModSum alone for a go.mod file).
//
// -j N downloads at most N modules at a time (default GOMAXPROCS, at least
// 8), and loads the module graph's go.mod files 2N at a time. While it
// downloads, a progress bar is drawn on standard error when
// that is a terminal; otherwise a line is printed there for each module
// finished: "downloaded path@version (3/41)", "downloaded
// path@version/go.mod (4/41)" or "failed path@version (5/41)". Errors
// follow, as the go command prints them.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"go/version"
	"io"
	"os"
	"os/signal"
	"runtime"
	"strings"

	"golang.org/x/mod/module"
	"golang.org/x/sync/errgroup"

	"github.com/modfetch/modfetch"
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

// noMainModule is the go command's error outside a module.
const noMainModule = "go.mod file not found in current directory or any parent directory; see 'go help modules'"

func main() {
	limitMemory()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("download", flag.ContinueOnError)
	fs.SetOutput(stderr)
	jsonFlag := fs.Bool("json", false, "print a JSON object for each module")
	jobs := fs.Int("j", defaultJobs(), "download at most `N` modules at a time")
	gosum := fs.String("gosum", "", "download the module versions the go.sum `FILE` records")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: download [-json] [-j N] [-gosum FILE] [path@version...]\n")
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if msg := checkFlags(*jobs, *gosum, fs.NArg()); msg != "" {
		fmt.Fprintf(stderr, "download: %s\n", msg)
		fs.Usage()
		return 2
	}
	if fs.NArg() == 0 {
		return runBulk(ctx, bulkFlags{json: *jsonFlag, jobs: *jobs, gosum: *gosum}, stdout, stderr)
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
			fmt.Fprintf(stderr, "go: cannot match %q without -versions or an explicit version: %s\n", arg, noMainModule)
			return 1
		}
		if vers == "upgrade" || vers == "patch" {
			// Relative to a main module's requirement, which there is
			// none of: the go command refuses the whole command.
			fmt.Fprintf(stderr, "go: cannot match %q: %s\n", arg, noMainModule)
			return 1
		}
		targets = append(targets, target{path, vers})
	}

	cfg, err := goenv.Load()
	if err != nil {
		fmt.Fprintf(stderr, "go: %v\n", err)
		return 1
	}
	// The module cache as the no-argument mode writes it (no fsync per
	// file, like the go command; no memory tier).
	stack, stackErr := cfg.Resolver(stackOptions(cfg, nil))
	// One Querier for all arguments: it remembers retractions and go.mod
	// files between them.
	q := &modfetch.Querier{Resolver: stack}

	// Several downloads at a time, as the go command does.
	mods := make([]*moduleJSON, len(targets))
	var g errgroup.Group
	g.SetLimit(*jobs)
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
	return report(mods, nil, *jsonFlag, stdout, stderr)
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
		Toolchain: toolchain(),
	})
	if errors.Is(err, modfetch.ErrTooNew) {
		// Downloaded and extracted, but not for this go: the go command
		// reports the files without the directory.
		m.fill(stack, d)
	}
	if err != nil {
		m.Error = err.Error()
		return
	}
	m.fill(stack, d)
}

// toolchain is the go toolchain downloads are for: with GOTOOLCHAIN=local
// the go command refuses a module whose go.mod needs a newer go than its
// own (this program's, as built). Otherwise it would switch to a newer
// toolchain, which this program does not do: no check.
func toolchain() *modfetch.Toolchain {
	if v := os.Getenv("GOTOOLCHAIN"); v != "local" {
		return nil
	}
	running := runtime.Version()
	if !version.IsValid(running) {
		return nil // a development toolchain ("devel go1.27-..."): no version to compare
	}
	return &modfetch.Toolchain{GoVersion: strings.TrimPrefix(running, "go"), GOTOOLCHAIN: "local"}
}

// moduleError gives err the module context the go command's JSON shows.
func moduleError(path, vers string, err error) error {
	var me *module.ModuleError
	if errors.As(err, &me) {
		return err
	}
	return &module.ModuleError{Path: path, Version: vers, Err: err}
}
