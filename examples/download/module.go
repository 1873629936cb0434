package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/module"

	"github.com/modfetch/modfetch"
	"github.com/modfetch/modfetch/cache"
	"github.com/modfetch/modfetch/checksum"
	"github.com/modfetch/modfetch/goenv"
	"github.com/modfetch/modfetch/modgraph"
)

// defaultJobs is the default of -j: the go command downloads GOMAXPROCS
// modules at a time, and downloads wait on the network more than on the
// processor, so at least 8.
func defaultJobs() int { return max(8, runtime.GOMAXPROCS(0)) }

// checkFlags returns what is wrong with the flags, or "".
func checkFlags(jobs int, gosum string, nargs int) string {
	switch {
	case jobs < 1:
		return "-j must be at least 1"
	case gosum != "" && nargs > 0:
		return "-gosum takes no module arguments"
	}
	return ""
}

// bulkFlags are the flags of a download without module arguments.
type bulkFlags struct {
	json  bool
	jobs  int    // -j
	gosum string // -gosum
}

// runBulk downloads, with no module arguments, what `go mod download`
// downloads in the main module around the current directory, or with
// -gosum what a go.sum file records.
func runBulk(ctx context.Context, fl bulkFlags, stdout, stderr io.Writer) int {
	cfg, err := goenv.Load()
	if err != nil {
		fmt.Fprintf(stderr, "go: %v\n", err)
		return 1
	}
	if fl.gosum != "" {
		return runGoSum(ctx, cfg, fl, stdout, stderr)
	}
	return runModule(ctx, cfg, fl, stdout, stderr)
}

// runModule is `go mod download` with no arguments in the main module
// whose go.mod is in the current directory or the nearest parent.
func runModule(ctx context.Context, cfg *goenv.Config, fl bulkFlags, stdout, stderr io.Writer) int {
	root, code := mainModuleRoot(cfg, stderr)
	if root == "" {
		return code
	}
	gomod := filepath.Join(root, "go.mod")
	data, err := os.ReadFile(gomod)
	if err != nil {
		fmt.Fprintf(stderr, "go: %v\n", err)
		return 1
	}
	// With GOTOOLCHAIN=local the go command refuses a main module that
	// needs a newer go, before it parses go.mod strictly (modload:
	// ReadModFile).
	tc := toolchain()
	if lax, err := modfile.ParseLax(shortPath(gomod), data, nil); err == nil && lax.Go != nil {
		if err := tc.CheckGo(shortPath(gomod), lax.Go.Version); err != nil {
			fmt.Fprintf(stderr, "go: %v\n", err)
			return 1
		}
	}
	f, err := modgraph.Parse(shortPath(gomod), data)
	if err != nil {
		fmt.Fprintf(stderr, "go: errors parsing %s:\n%v\n", shortPath(gomod), err)
		return 1
	}
	// The go command checks downloads against the main module's go.sum
	// first, then the checksum database.
	gs, err := checksum.ReadGoSum(filepath.Join(root, "go.sum"))
	if err != nil {
		fmt.Fprintf(stderr, "go: %v\n", err)
		return 1
	}
	stack, err := cfg.Resolver(stackOptions(cfg, gs))
	if err != nil {
		fmt.Fprintf(stderr, "go: %v\n", err)
		return 1
	}
	for _, r := range f.Require {
		if excluded(f, r.Mod) {
			fmt.Fprintf(stderr, "go: dropping requirement on excluded version %s %s\n", r.Mod.Path, r.Mod.Version)
		}
	}
	g, graphErr := modgraph.LoadFileWith(ctx, stack, root, f, &modgraph.LoadOptions{Parallel: graphJobs(fl.jobs), Toolchain: tc})
	// From go 1.17 the go command loads the graph first and stops at its
	// errors; before, it lists "all" from what it could load, downloads
	// that, and reports the graph's errors last (modcmd: runDownload).
	if graphErr != nil && (g == nil || g.Pruned()) {
		printGraphError(stderr, graphErr)
		return 1
	}
	listed := listedModules(g, f)
	if len(listed) == 0 {
		fmt.Fprintf(stderr, "go: no module dependencies to download\n")
	}
	ds := g.DownloadSet()
	results := downloadAll(ctx, cfg, stack, gs, ds.Items(), fl.jobs, tc, stderr)

	mods := make([]*moduleJSON, len(listed))
	for i, l := range listed {
		if l.unknown {
			// The go command's words (modload: "not a known dependency").
			mods[i] = &moduleJSON{Path: l.Path, Error: fmt.Sprintf("module %s: %v", l.Path, modgraph.ErrNotKnown)}
			continue
		}
		mods[i] = results.module(stack, l.Version)
	}
	code = report(mods, results.others(listed), fl.json, stdout, stderr)
	// Without -json the go command has exited at the modules' errors.
	if graphErr != nil && (fl.json || code == 0) {
		printGraphError(stderr, graphErr)
		code = 1
	}
	return code
}

// runGoSum downloads every module version a go.sum file records: in full
// when it records the zip's hash, only the go.mod file otherwise. Each is
// checked against the file's hashes, then the checksum database.
func runGoSum(ctx context.Context, cfg *goenv.Config, fl bulkFlags, stdout, stderr io.Writer) int {
	data, err := os.ReadFile(fl.gosum)
	if err != nil {
		fmt.Fprintf(stderr, "download: -gosum: %v\n", err)
		return 1
	}
	gs, err := checksum.ParseGoSum(fl.gosum, data)
	if err != nil {
		fmt.Fprintf(stderr, "download: -gosum: %v\n", err)
		return 1
	}
	stack, err := cfg.Resolver(stackOptions(cfg, gs))
	if err != nil {
		fmt.Fprintf(stderr, "go: %v\n", err)
		return 1
	}
	items := modgraph.GoSumItems(gs)
	if len(items) == 0 {
		fmt.Fprintf(stderr, "go: no module dependencies to download\n")
		return 0
	}
	results := downloadAll(ctx, cfg, stack, gs, items, fl.jobs, nil, stderr)
	var mods []*moduleJSON
	for _, it := range items {
		mods = append(mods, results.module(stack, it.Module))
	}
	return report(mods, nil, fl.json, stdout, stderr)
}

// A listedModule is one module the go command lists for `go mod
// download` with no arguments, in its order: the module supplying the
// content (a replacement), or a path it does not know.
type listedModule struct {
	module.Version
	unknown bool
}

// listedModules returns the modules `go mod download` with no arguments
// prints with -json, in its order (cmd/go/internal/modcmd: runDownload):
// for a pruned graph the selected version of each require directive's
// path, as often as it is required; otherwise the build list, if go.mod
// requires anything. Directory replacements and the main module are left
// out.
func listedModules(g *modgraph.Graph, f *modfile.File) []listedModule {
	var list []module.Version
	switch {
	case g.Pruned():
		for _, r := range f.Require {
			list = append(list, module.Version{Path: r.Mod.Path})
		}
	case len(f.Require) > 0:
		list = g.BuildList()[1:]
	}
	var out []listedModule
	for _, m := range list {
		if m.Path == g.Main().Path {
			continue
		}
		if m.Version == "" {
			v, ok := g.Selected(m.Path)
			if !ok {
				out = append(out, listedModule{Version: m, unknown: true})
				continue
			}
			m.Version = v
		}
		if r, _ := g.Replacement(m); r.Version != "" {
			out = append(out, listedModule{Version: r})
		}
	}
	return out
}

// excluded reports whether f excludes m.
func excluded(f *modfile.File, m module.Version) bool {
	for _, x := range f.Exclude {
		if x.Mod == m {
			return true
		}
	}
	return false
}

// bulkResults are DownloadAll's results, in item order and by module
// version.
type bulkResults struct {
	list []modfetch.BulkResult
	by   map[module.Version]*modfetch.BulkResult
}

// downloadAll downloads items through stack, at most jobs at a time,
// extracting zips into the module cache, and shows progress on stderr.
// Modules the cache holds already are checked against gs too.
func downloadAll(ctx context.Context, cfg *goenv.Config, stack *goenv.Stack, gs *checksum.GoSum, items []modfetch.BulkItem, jobs int, tc *modfetch.Toolchain, stderr io.Writer) *bulkResults {
	p := newProgress(stderr)
	list, _ := modfetch.DownloadAll(ctx, stack, items, &modfetch.BulkOptions{
		Parallel: jobs,
		Progress: p.event,
		DownloadOptions: modfetch.DownloadOptions{
			ModCache:  cfg.GOMODCACHE,
			ReadWrite: cfg.ModCacheRW,
			GoSum:     gs,
			Toolchain: tc,
		},
	})
	p.finish()
	r := &bulkResults{list: list, by: make(map[module.Version]*modfetch.BulkResult, len(list))}
	for i := range list {
		r.by[list[i].Item.Module] = &list[i]
	}
	return r
}

// module returns m's JSON from its result, as the go command fills it.
func (r *bulkResults) module(stack *goenv.Stack, m module.Version) *moduleJSON {
	mj := &moduleJSON{Path: m.Path, Version: m.Version}
	res := r.by[m]
	switch {
	case res == nil: // never: every listed module is an item
		mj.Error = fmt.Sprintf("%s@%s: not downloaded", m.Path, m.Version)
	case res.Err != nil:
		if errors.Is(res.Err, modfetch.ErrTooNew) && res.Downloaded != nil {
			// Downloaded, but not for this go: the files without the
			// directory, as in the argument mode.
			mj.fill(stack, res.Downloaded)
		}
		mj.Error = errorText(res.Err)
	case res.Item.GoModOnly:
		mj.GoModSum = res.GoModSum
		mj.GoMod = cachePath(stack, m, "mod")
	default:
		mj.fill(stack, res.Downloaded)
	}
	return mj
}

// others returns the errors of the items not listed, in item order:
// go.mod files the module graph needs, which the go command fetches
// while loading it.
func (r *bulkResults) others(listed []listedModule) []error {
	seen := make(map[module.Version]bool)
	for _, l := range listed {
		seen[l.Version] = true
	}
	var errs []error
	for _, res := range r.list {
		if !seen[res.Item.Module] && res.Err != nil {
			errs = append(errs, errors.New(errorText(res.Err)))
		}
	}
	return errs
}

// errorText is err's text as the go command shows it. A checksum
// mismatch names its module itself: DownloadAll's module context would
// repeat it.
func errorText(err error) string {
	var mm *checksum.MismatchError
	if errors.As(err, &mm) {
		return mm.Error()
	}
	var tn *modfetch.TooNewError
	if errors.As(err, &tn) {
		return tn.Error() // it names the module
	}
	return err.Error()
}

// fill sets m's fields from a completed download: hashes, the extracted
// directory and, when the module cache is a directory, its files.
func (m *moduleJSON) fill(stack *goenv.Stack, d *modfetch.Downloaded) {
	m.GoModSum, m.Sum, m.Dir = d.GoModSum, d.Sum, d.Dir
	mod := module.Version{Path: m.Path, Version: m.Version}
	m.Info = cachePath(stack, mod, "info")
	m.GoMod = cachePath(stack, mod, "mod")
	m.Zip = cachePath(stack, mod, "zip")
}

// cachePath returns the file of m with extension ext in the module cache
// on disk, or "" when the stack's store is not a directory.
func cachePath(stack *goenv.Stack, m module.Version, ext string) string {
	ds, ok := stack.Store.(*cache.DirStore)
	if !ok {
		return ""
	}
	key, err := modfetch.VersionFile(m.Path, m.Version, ext)
	if err != nil {
		return ""
	}
	name, _ := ds.Path(key)
	return name
}

// report prints mods as the go command does — a JSON object each with
// -json, else their errors — then the other errors, and returns the exit
// status: 1 when anything failed.
func report(mods []*moduleJSON, others []error, jsonOut bool, stdout, stderr io.Writer) int {
	code := 0
	for _, m := range mods {
		if m.Error != "" {
			code = 1
		}
		if jsonOut {
			printJSON(stdout, m)
		} else if m.Error != "" {
			fmt.Fprintf(stderr, "go: %s\n", m.Error)
		}
	}
	for _, err := range others {
		code = 1
		fmt.Fprintf(stderr, "go: %v\n", err)
	}
	return code
}

// printErrors prints each of the errors err joins on lines of its own,
// as the go command prints errors.
func printErrors(w io.Writer, err error) {
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range joined.Unwrap() {
			printErrors(w, e)
		}
		return
	}
	fmt.Fprintf(w, "go: %v\n", err)
}

// printGraphError prints the module graph's error as the go command
// does: its first failure in the order of the requirements (a
// *modgraph.RequirementError names how it is required), else every one.
func printGraphError(w io.Writer, err error) {
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		var re *modgraph.RequirementError
		if first := joined.Unwrap()[0]; errors.As(first, &re) {
			err = first
		}
	}
	printErrors(w, err)
}

// printJSON prints m as the go command prints it.
func printJSON(w io.Writer, m *moduleJSON) {
	b, _ := json.MarshalIndent(m, "", "\t")
	w.Write(append(b, '\n'))
}
