// Command list is a work-alike of
// `go list -m [-json] [-versions] [-retracted] [-u] [-e] mod[@query]...`
// run outside a main module, built on modfetch: the same environment, the
// same module cache, the same fields (Path, Version, Query, Versions, Time,
// Update, Dir, GoMod, GoVersion, Retracted, Deprecated, Error, Origin) with
// the go command's meaning for each flag.
//
// Usage:
//
//	go run ./examples/list -m -json [-versions] [-retracted] [-u] [-e] path@query...
//
// -m is accepted for familiarity and implied.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	goversion "go/version"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"time"

	"golang.org/x/mod/module"
	"golang.org/x/sync/errgroup"

	"github.com/modfetch/modfetch"
	"github.com/modfetch/modfetch/cache"
	"github.com/modfetch/modfetch/goenv"
)

// modulePublic is the go command's modinfo.ModulePublic, as `go list -m
// -json` prints it.
type modulePublic struct {
	Path       string           `json:",omitempty"`
	Version    string           `json:",omitempty"`
	Query      string           `json:",omitempty"`
	Versions   []string         `json:",omitempty"`
	Time       *time.Time       `json:",omitempty"`
	Update     *modulePublic    `json:",omitempty"`
	Dir        string           `json:",omitempty"`
	GoMod      string           `json:",omitempty"`
	GoVersion  string           `json:",omitempty"`
	Retracted  []string         `json:",omitempty"`
	Deprecated string           `json:",omitempty"`
	Error      *moduleError     `json:",omitempty"`
	Origin     *modfetch.Origin `json:",omitempty"`
}

type moduleError struct {
	Err string
}

// String is the go command's one-line form.
func (m *modulePublic) String() string {
	s := m.Path
	vs := func(mm *modulePublic) string {
		if len(mm.Retracted) == 0 {
			return mm.Version
		}
		return mm.Version + " (retracted)"
	}
	if m.Version != "" {
		s += " " + vs(m)
		if m.Update != nil {
			s += " [" + vs(m.Update) + "]"
		}
	}
	if m.Deprecated != "" {
		s += " (deprecated)"
	}
	if len(m.Versions) > 0 {
		s += " " + strings.Join(m.Versions, " ")
	}
	return s
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

type flags struct {
	json, versions, retracted, u, e bool
}

const noMainModule = "go.mod file not found in current directory or any parent directory; see 'go help modules'"

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("list", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var f flags
	fs.Bool("m", true, "list modules (implied)")
	fs.BoolVar(&f.json, "json", false, "print JSON")
	fs.BoolVar(&f.versions, "versions", false, "list available versions")
	fs.BoolVar(&f.retracted, "retracted", false, "report and include retracted versions")
	fs.BoolVar(&f.u, "u", false, "report available updates, retractions and deprecations")
	fs.BoolVar(&f.e, "e", false, "report errors in the output instead of failing")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() == 0 {
		fmt.Fprintf(stderr, "go: %s\n", noMainModule)
		return 1
	}
	for _, arg := range fs.Args() {
		_, vers, found := strings.Cut(arg, "@")
		if len(vers) > 0 && (vers[0] == '-' || vers[0] == '/') {
			fmt.Fprintf(stderr, "go: invalid module version %q\n", vers)
			return 1
		}
		if arg == "all" || strings.Contains(arg, "...") {
			fmt.Fprintf(stderr, "go: cannot match %q: %s\n", arg, noMainModule)
			return 1
		}
		if found && (vers == "upgrade" || vers == "patch") {
			fmt.Fprintf(stderr, "go: cannot match %q: %s\n", arg, noMainModule)
			return 1
		}
		if !found && !f.versions {
			fmt.Fprintf(stderr, "go: cannot match %q without -versions or an explicit version: %s\n", arg, noMainModule)
			return 1
		}
	}

	cfg, err := goenv.Load()
	if err != nil {
		fmt.Fprintf(stderr, "go: %v\n", err)
		return 1
	}
	stack, stackErr := cfg.Resolver(nil)

	mods := make([]*modulePublic, fs.NArg())
	for i, arg := range fs.Args() {
		path, vers, _ := strings.Cut(arg, "@")
		mods[i] = &modulePublic{Path: path, Version: vers}
	}
	if stackErr != nil {
		for _, m := range mods {
			m.Error = &moduleError{Err: wrap(m.Path, m.Version, stackErr).Error()}
		}
	} else {
		// Several modules at a time; one Querier for all, which remembers
		// retractions and go.mod files between them.
		q := &modfetch.Querier{Resolver: stack}
		var g errgroup.Group
		g.SetLimit(runtime.GOMAXPROCS(0))
		for _, m := range mods {
			g.Go(func() error {
				list(ctx, cfg, stack, q, m, f)
				return nil
			})
		}
		g.Wait()
	}

	code := 0
	if !f.e {
		for _, m := range mods {
			if m.Error != nil {
				fmt.Fprintf(stderr, "go: %s\n", m.Error.Err)
				code = 1
			}
		}
		if code != 0 {
			return code
		}
	}
	for _, m := range mods {
		if f.json {
			b, _ := json.MarshalIndent(m, "", "\t")
			stdout.Write(append(b, '\n'))
		} else {
			fmt.Fprintln(stdout, m.String())
		}
	}
	return code
}

// list fills m for one argument, like the go command's listModules and
// moduleInfo.
func list(ctx context.Context, cfg *goenv.Config, stack *goenv.Stack, q *modfetch.Querier, m *modulePublic, f flags) {
	path, query := m.Path, m.Version
	if query != "" {
		opts := &modfetch.QueryOptions{AllowRetracted: f.retracted}
		info, err := q.Query(ctx, path, query, opts)
		if err != nil {
			m.Error = &moduleError{Err: err.Error()}
			return
		}
		m.Version = info.Version
		if query != info.Version {
			m.Query = query
		}
		m.Origin = info.Origin
		t := info.Time
		m.Time = &t
		// The go.mod file: its go directive, and the path of its cached copy.
		if gv, err := q.GoVersion(ctx, path, m.Version); err == nil && !(modfetch.IsRevisionQuery(query) && tooNew(gv)) {
			// The go command shows the go directive of a go.mod it read
			// for the query (the latest one, for retractions), but of
			// no other go.mod that needs a newer go than its own.
			m.GoVersion = gv
		}
		if ds, ok := stack.Store.(*cache.DirStore); ok {
			if key, err := modfetch.VersionFile(path, m.Version, "mod"); err == nil {
				if p, err := ds.Path(key); err == nil {
					if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
						m.GoMod = p
					}
				}
			}
		}
		if dir, ok := modfetch.ExtractedDir(cfg.GOMODCACHE, path, m.Version); ok {
			m.Dir = dir
		}
	}

	if f.u && m.Version != "" {
		up, err := q.Update(ctx, path, m.Version)
		if err != nil {
			if m.Error == nil {
				m.Error = &moduleError{Err: err.Error()}
			}
		} else if up != nil {
			t := up.Time
			m.Update = &modulePublic{Path: path, Version: up.Version, Time: &t}
		}
	}
	if f.versions {
		versions, err := q.Versions(ctx, path, f.retracted)
		if err != nil && m.Error == nil {
			m.Error = &moduleError{Err: err.Error()}
		}
		m.Versions = versions
	}
	if (f.retracted || f.u) && m.Version != "" {
		err := q.Retracted(ctx, path, m.Version)
		var re *modfetch.RetractedError
		var nm *modfetch.NoMatchingVersionError
		switch {
		case err == nil, errors.As(err, &nm), errors.Is(err, fs.ErrNotExist):
			// Not retracted, or nothing known about the module's versions.
		case errors.As(err, &re):
			m.Retracted = re.Rationale
			if len(m.Retracted) == 0 {
				m.Retracted = []string{"retracted by module author"}
			}
		default:
			if m.Error == nil {
				m.Error = &moduleError{Err: err.Error()}
			}
		}
	}
	if f.u {
		dep, err := q.Deprecated(ctx, path)
		var nm *modfetch.NoMatchingVersionError
		switch {
		case err == nil:
			m.Deprecated = dep
		case errors.As(err, &nm), errors.Is(err, fs.ErrNotExist):
		default:
			if m.Error == nil {
				m.Error = &moduleError{Err: err.Error()}
			}
		}
	}
}

// wrap gives err the module context the go command's output shows.
func wrap(path, vers string, err error) error {
	var me *module.ModuleError
	if errors.As(err, &me) {
		return err
	}
	return &module.ModuleError{Path: path, Version: vers, Err: err}
}

// tooNew reports whether a go.mod with the go directive gv needs a newer
// go than this program's (the go command's own check of go.mod files).
func tooNew(gv string) bool {
	running := runtime.Version()
	return goversion.IsValid(running) && goversion.Compare("go"+gv, running) > 0
}
