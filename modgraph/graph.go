package modgraph

import (
	"context"
	"errors"
	"fmt"
	"go/version"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"

	"github.com/modfetch/modfetch"
)

// prunedGoVersion is the first go version whose go.mod files list every
// module providing a package their packages import, so that graphs can be
// pruned at them (cmd/go/internal/gover: ExplicitIndirectVersion).
const prunedGoVersion = "1.17"

// strictGoVersion is the first go version whose go directive is a
// requirement: a go.mod file from it on needs at least that go
// (cmd/go/internal/gover: GoStrictVersion).
const strictGoVersion = "1.21"

// A Graph is the module graph of a main module, loaded by [Load]. Its
// methods are safe for concurrent use; it does not change once loaded.
type Graph struct {
	main       module.Version // Version ""
	goVersion  string         // the main module's go directive, "" when absent
	pruned     bool
	requires   []module.Version // the main module's require directives, as written
	replace    map[module.Version]module.Version
	roots      []module.Version // final roots: one per path, at its selected version
	reqs       map[module.Version][]module.Version
	selected   map[string]string
	goModsRead []module.Version // actual versions (replacements) whose go.mod was fetched
}

// Load reads the main module's go.mod file, data, and loads its module
// graph through r as the go command does (see the package
// documentation). dir is the main module's directory: directory
// replacements are relative to it ("" is the current directory). data
// must parse with modfile.Parse, with canonical versions only (the go
// command would resolve others as queries).
//
// Every go.mod that the graph needs is fetched with r.GoMod, up to
// GOMAXPROCS at a time (see [LoadFileWith] for more). Load fails if any
// of them cannot be fetched or parsed, declares a module path other than
// the one required (or its replacement), or if a directory replacement
// has no go.mod; the error joins every such failure, each a
// *RequirementError (how the main module requires it) around a
// *module.ModuleError naming the module version (the replacement, when
// replaced), so errors.Is and errors.As see the causes (fs.ErrNotExist
// for a go.mod that does not exist), in the order a breadth-first walk
// of the requirements meets them: the first is the one the go command
// reports. With such failures only, Load also returns the graph as the
// go command reads it then: without the failed files' requirements and,
// for a pruned graph, with its roots as go.mod requires them (not raised
// to the versions the graph selects). Any other failure (ctx ending, a
// conflicting replacement), and any failure for a go.mod without a go
// directive (whose conversion to a pruned graph needs the whole graph),
// returns no graph.
func Load(ctx context.Context, r modfetch.Resolver, dir string, data []byte) (*Graph, error) {
	f, err := Parse(filepath.Join(dir, "go.mod"), data)
	if err != nil {
		return nil, err
	}
	return LoadFile(ctx, r, dir, f)
}

// Parse parses data, the go.mod file named file (for error messages), as
// [Load] does: with modfile.Parse, refusing any version that is not
// canonical. The go command would resolve such a version ("v1", a branch
// name) as a query and rewrite go.mod ('go mod tidy' does); a loader of
// the build list cannot.
func Parse(file string, data []byte) (*modfile.File, error) {
	return modfile.Parse(file, data, func(path, vers string) (string, error) {
		if module.CanonicalVersion(vers) != vers {
			return "", fmt.Errorf("version %q is not canonical (run 'go mod tidy' to resolve it)", vers)
		}
		return vers, nil
	})
}

// LoadFile is [Load] for a go.mod file already parsed. It does not
// modify f.
func LoadFile(ctx context.Context, r modfetch.Resolver, dir string, f *modfile.File) (*Graph, error) {
	return LoadFileWith(ctx, r, dir, f, nil)
}

// LoadOptions adjust [LoadFileWith]. The zero value (or nil) loads as
// [LoadFile] does.
type LoadOptions struct {
	// Parallel is the most go.mod files fetched at a time; zero or less
	// means GOMAXPROCS, as the go command. Each fetch of a cold go.mod
	// file waits on the network (the file, and the checksum database
	// when go.sum does not record it) far more than on the processor, so
	// a client on a machine with few processors loads a large graph
	// several times faster with more.
	Parallel int

	// Toolchain, if set, is the go toolchain the graph is for: a go.mod
	// file of the graph whose go directive (go 1.21 or later) needs a
	// newer go is a failure of that file (see [Load]): a
	// *module.ModuleError wrapping a *modfetch.TooNewError
	// ("path@version: module path@version requires go >= ..."), as in the
	// go command when it cannot switch toolchains (GOTOOLCHAIN=local).
	// The main module's own go directive is the caller's to check.
	Toolchain *modfetch.Toolchain
}

// LoadFileWith is [LoadFile] with options; the graph is the same
// whatever Parallel is.
func LoadFileWith(ctx context.Context, r modfetch.Resolver, dir string, f *modfile.File, opts *LoadOptions) (*Graph, error) {
	parallel := runtime.GOMAXPROCS(0)
	if opts != nil && opts.Parallel > 0 {
		parallel = opts.Parallel
	}
	if f.Module == nil {
		return nil, errors.New("go.mod: no module directive")
	}
	g := &Graph{
		main:    module.Version{Path: f.Module.Mod.Path},
		replace: make(map[module.Version]module.Version),
	}
	if f.Go != nil {
		g.goVersion = f.Go.Version
		g.pruned = !goBefore(g.goVersion, prunedGoVersion)
	}
	for _, rep := range f.Replace {
		if prev, dup := g.replace[rep.Old]; dup && prev != rep.New {
			return nil, fmt.Errorf("go.mod: conflicting replacements for %v:\n\t%v\n\t%v", rep.Old, prev, rep.New)
		}
		g.replace[rep.Old] = rep.New
	}
	exclude := make(map[module.Version]bool)
	for _, x := range f.Exclude {
		exclude[x.Mod] = true
	}
	var roots []module.Version
	for _, req := range f.Require {
		g.requires = append(g.requires, req.Mod)
		if !exclude[req.Mod] {
			roots = append(roots, req.Mod)
		}
	}
	module.Sort(roots)
	if g.pruned {
		// Redundant roots — a path required twice, a requirement on the
		// main module — make the go command keep the highest of each path
		// before it reads any go.mod (modload: loadModFile,
		// updatePrunedRoots). A full graph reads them all.
		roots = slices.DeleteFunc(roots, func(m module.Version) bool { return m.Path == g.main.Path })
		roots = highestOfEachPath(roots)
	}

	l := &loader{g: g, r: r, dir: dir, exclude: exclude, parallel: parallel, sums: make(map[module.Version]*summaryCall)}
	var failed error // of go.mod files of the graph, the only failures
	if opts != nil {
		l.toolchain = opts.Toolchain
	}
	readGraph := func(roots []module.Version) error {
		failed = nil // the error of the last read: the graph's
		err := l.readGraph(ctx, roots)
		if err != nil && ctx.Err() == nil && onlyRequirementErrors(err) {
			failed, err = err, nil
		}
		return err
	}
	if f.Go == nil {
		// With -mod=mod the go command adds a go directive of its own
		// version (1.17 or later) to such a go.mod, and converts its
		// requirements from the full graph's to a pruned graph's: every
		// module of the full build list becomes a root (modload:
		// loadModFile, convertPruning).
		if err := readGraph(roots); err != nil {
			return nil, err
		}
		if failed != nil {
			return nil, failed // the go command stops: the conversion needs the whole graph
		}
		roots = g.BuildList()[1:]
		g.pruned = true
	}
	for {
		if err := readGraph(roots); err != nil {
			return nil, err
		}
		if failed != nil || !g.pruned || l.allRootsSelected(roots) {
			break
		}
		// The graph selects some root at another version than go.mod
		// requires: raise the roots to their selected versions and load
		// again until they agree (modload: updatePrunedRoots).
		var next []module.Version
		seen := make(map[string]bool)
		for _, m := range roots {
			if seen[m.Path] {
				continue
			}
			seen[m.Path] = true
			next = append(next, module.Version{Path: m.Path, Version: g.selected[m.Path]})
		}
		if slices.Equal(next, roots) {
			break
		}
		roots = next
	}
	seen := map[string]bool{g.main.Path: true}
	for _, m := range roots {
		if !seen[m.Path] {
			seen[m.Path] = true
			v := g.selected[m.Path]
			if failed != nil && g.pruned {
				v = m.Version // not raised: see Load
			}
			g.roots = append(g.roots, module.Version{Path: m.Path, Version: v})
		}
	}
	g.goModsRead = l.fetched()
	return g, failed
}

// onlyRequirementErrors reports whether err is, or joins only,
// *RequirementErrors: failures of go.mod files of the graph.
func onlyRequirementErrors(err error) bool {
	is := func(err error) bool {
		_, ok := err.(*RequirementError)
		return ok
	}
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		return !slices.ContainsFunc(joined.Unwrap(), func(e error) bool { return !is(e) })
	}
	return is(err)
}

// highestOfEachPath keeps the last version of each path of list, sorted
// by path and version.
func highestOfEachPath(list []module.Version) []module.Version {
	var out []module.Version
	for i, m := range list {
		if i+1 < len(list) && list[i+1].Path == m.Path {
			continue
		}
		out = append(out, m)
	}
	return out
}

// goBefore reports whether go version v is before w (both like "1.17",
// "1.21.3", "1.22rc1"), as the go command compares them (go/version).
func goBefore(v, w string) bool { return version.Compare("go"+v, "go"+w) < 0 }

// A summary is what the graph needs of a go.mod file.
type summary struct {
	require []module.Version // after dropping excluded versions
	pruned  bool             // go 1.17 or later
}

type summaryCall struct {
	done chan struct{}
	s    *summary
	err  error
}

type loader struct {
	g       *Graph
	r       modfetch.Resolver
	dir     string
	exclude map[module.Version]bool

	parallel  int                 // go.mod files fetched at a time
	toolchain *modfetch.Toolchain // nil: no go version check

	mu    sync.Mutex
	sums  map[module.Version]*summaryCall // by module version as required
	reads map[module.Version]bool         // actual versions fetched
}

// replacement returns the module that supplies m's content, and whether
// m is replaced.
func (g *Graph) replacement(m module.Version) (module.Version, bool) {
	if r, ok := g.replace[m]; ok {
		return r, true
	}
	if r, ok := g.replace[module.Version{Path: m.Path}]; ok {
		return r, true
	}
	return m, false
}

// summary returns m's go.mod summary, loading it once.
func (l *loader) summary(ctx context.Context, m module.Version) (*summary, error) {
	l.mu.Lock()
	c, ok := l.sums[m]
	if !ok {
		c = &summaryCall{done: make(chan struct{})}
		l.sums[m] = c
	}
	l.mu.Unlock()
	if ok {
		<-c.done
		return c.s, c.err
	}
	c.s, c.err = l.load(ctx, m)
	close(c.done)
	return c.s, c.err
}

func (l *loader) load(ctx context.Context, m module.Version) (*summary, error) {
	actual, _ := l.g.replacement(m)
	var (
		name string
		data []byte
		err  error
	)
	if actual.Version == "" {
		dir := actual.Path
		if !filepath.IsAbs(dir) {
			dir = filepath.Join(l.dir, dir)
		}
		name = filepath.Join(dir, "go.mod")
		if data, err = os.ReadFile(name); err != nil {
			return nil, &module.ModuleError{Path: actual.Path, Err: fmt.Errorf("reading %s: %w", name, err)}
		}
	} else {
		name = "go.mod"
		if data, err = l.r.GoMod(ctx, actual.Path, actual.Version); err != nil {
			var me *module.ModuleError
			if errors.As(err, &me) {
				return nil, err
			}
			return nil, &module.ModuleError{Path: actual.Path, Version: actual.Version, Err: err}
		}
		l.mu.Lock()
		if l.reads == nil {
			l.reads = make(map[module.Version]bool)
		}
		l.reads[actual] = true // fetched, whatever it holds
		l.mu.Unlock()
	}
	f, err := modfile.ParseLax(name, data, nil)
	if err != nil {
		return nil, &module.ModuleError{Path: actual.Path, Version: actual.Version, Err: fmt.Errorf("parsing %s: %w", name, err)}
	}
	if f.Go != nil && !goBefore(f.Go.Version, strictGoVersion) {
		// Before the module path, as the go command (modload:
		// rawGoModSummary, then goModSummary); its requirements are not
		// read (readModGraph).
		if err := l.toolchain.CheckGo("module "+actual.String(), f.Go.Version); err != nil {
			return nil, &module.ModuleError{Path: actual.Path, Version: actual.Version, Err: err}
		}
	}
	if actual.Version != "" {
		// As the go command checks it (modload: goModSummary); a
		// directory replacement may declare anything.
		var mpath string
		if f.Module != nil {
			mpath = f.Module.Mod.Path
		}
		if mpath == "" {
			return nil, &module.ModuleError{Path: actual.Path, Version: actual.Version, Err: errors.New("parsing go.mod: missing module line")}
		}
		if mpath != m.Path && mpath != actual.Path {
			return nil, &module.ModuleError{Path: actual.Path, Version: actual.Version, Err: &PathMismatchError{Declared: mpath, Required: m.Path}}
		}
	}
	s := &summary{pruned: f.Go != nil && !goBefore(f.Go.Version, prunedGoVersion)}
	for _, req := range f.Require {
		if !l.exclude[req.Mod] {
			s.require = append(s.require, req.Mod)
		}
	}
	return s, nil
}

// A PathMismatchError is a go.mod file that declares another module path
// than the one required.
type PathMismatchError struct {
	Declared, Required string
}

func (e *PathMismatchError) Error() string {
	return fmt.Sprintf("parsing go.mod:\n\tmodule declares its path as: %s\n\t        but was required as: %s", e.Declared, e.Required)
}

func (l *loader) fetched() []module.Version {
	l.mu.Lock()
	defer l.mu.Unlock()
	list := slices.Collect(maps.Keys(l.reads))
	module.Sort(list)
	return list
}

// readGraph loads the graph from roots into l.g (modload: readModGraph).
func (l *loader) readGraph(ctx context.Context, roots []module.Version) error {
	g := l.g
	g.reqs = map[module.Version][]module.Version{g.main: roots}
	g.selected = map[string]string{g.main.Path: ""}
	for _, m := range roots {
		g.selectMax(m)
	}

	type key struct {
		m      module.Version
		pruned bool
	}
	var (
		mu     sync.Mutex
		queued = make(map[key]bool)
		failed = make(map[module.Version]error) // go.mod files that did not load
		errs   []error                          // other failures
		wg     sync.WaitGroup
		sem    = make(chan struct{}, l.parallel)
	)
	var enqueue func(m module.Version, pruned bool)
	enqueue = func(m module.Version, pruned bool) {
		// Called with mu held.
		k := key{m, pruned}
		if queued[k] || m.Path == g.main.Path && m.Version == "" {
			return
		}
		queued[k] = true
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				mu.Lock()
				errs = append(errs, context.Cause(ctx))
				mu.Unlock()
				return
			}
			s, err := l.summary(ctx, m)
			<-sem
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				failed[m] = err
				return
			}
			if _, dup := g.reqs[m]; !dup {
				g.reqs[m] = s.require
				for _, r := range s.require {
					g.selectMax(r)
				}
			}
			next := s.pruned && pruned
			for _, r := range s.require {
				// Below a pruned module in a pruned graph, only the
				// requirements themselves count, not their go.mod files.
				if !pruned || !s.pruned {
					enqueue(r, next)
				}
			}
		}()
	}
	mu.Lock()
	for _, m := range roots {
		enqueue(m, g.pruned)
	}
	mu.Unlock()
	wg.Wait()
	if len(failed) == 0 && len(errs) == 0 {
		return nil
	}
	all := g.requirementErrors(failed)
	if len(errs) > 0 {
		all = append(all, joinSorted(errs))
	}
	if len(all) == 1 {
		return all[0]
	}
	return errors.Join(all...)
}

// requirementErrors returns failed's errors as *RequirementErrors, in the
// order a breadth-first walk of the requirements from the main module
// meets them (the go command's mvs.Graph.FindPath), each with the path
// the walk took.
func (g *Graph) requirementErrors(failed map[module.Version]error) []error {
	var out []error
	from := map[module.Version]module.Version{g.main: {}}
	queue := []module.Version{g.main}
	for len(queue) > 0 {
		m := queue[0]
		queue = queue[1:]
		if err, ok := failed[m]; ok {
			path := []module.Version{m}
			for p := from[m]; p != (module.Version{}); p = from[p] {
				path = append(path, p)
			}
			slices.Reverse(path)
			out = append(out, &RequirementError{Path: path, Err: err})
			delete(failed, m)
		}
		for _, r := range g.reqs[m] {
			if _, seen := from[r]; !seen {
				from[r] = m
				queue = append(queue, r)
			}
		}
	}
	// Never reached from the main module: none the walk would not meet.
	rest := slices.Collect(maps.Keys(failed))
	module.Sort(rest)
	for _, m := range rest {
		out = append(out, &RequirementError{Path: []module.Version{m}, Err: failed[m]})
	}
	return out
}

// A RequirementError is the failure of a go.mod file of the graph, with
// the requirements that lead to it from the main module: Path runs from
// the main module to the module that failed. Its text is the go
// command's (mvs.BuildListError): "a@v1 requires\n\tb@v1: reading ...".
type RequirementError struct {
	Path []module.Version
	Err  error
}

func (e *RequirementError) Error() string {
	stack := e.Path
	for len(stack) > 0 && stack[0].Version == "" {
		stack = stack[1:] // the main module goes unnamed
	}
	if len(stack) == 0 {
		return e.Err.Error()
	}
	var b strings.Builder
	for _, m := range stack[:len(stack)-1] {
		fmt.Fprintf(&b, "%s requires\n\t", m)
	}
	m := stack[len(stack)-1]
	me, ok := e.Err.(*module.ModuleError)
	if !ok {
		b.WriteString(module.VersionError(m, e.Err).Error())
		return b.String()
	}
	actual := module.Version{Path: me.Path, Version: me.Version}
	if v, isInvalid := me.Err.(*module.InvalidVersionError); isInvalid {
		actual.Version = v.Version
	}
	if actual == m {
		b.WriteString(e.Err.Error())
	} else {
		fmt.Fprintf(&b, "%s (replaced by %s): %v", m, actual, me.Err)
	}
	return b.String()
}

func (e *RequirementError) Unwrap() error { return e.Err }

// joinSorted joins errs in the order of their text, without duplicates,
// so that the same failures give the same error.
func joinSorted(errs []error) error {
	slices.SortFunc(errs, func(a, b error) int { return strings.Compare(a.Error(), b.Error()) })
	errs = slices.CompactFunc(errs, func(a, b error) bool { return a.Error() == b.Error() })
	if len(errs) == 1 {
		return errs[0]
	}
	return errors.Join(errs...)
}

func (g *Graph) selectMax(m module.Version) {
	if m.Path == g.main.Path {
		return // the main module is selected at "", above every version
	}
	if v, ok := g.selected[m.Path]; !ok || semver.Compare(m.Version, v) > 0 {
		g.selected[m.Path] = m.Version
	}
}

func (l *loader) allRootsSelected(roots []module.Version) bool {
	for _, m := range roots {
		if l.g.selected[m.Path] != m.Version {
			return false
		}
	}
	return true
}

// Main returns the main module (its version is "").
func (g *Graph) Main() module.Version { return g.main }

// GoVersion returns the main module's go version, "" when its go.mod has
// no go directive.
func (g *Graph) GoVersion() string { return g.goVersion }

// Pruned reports whether the graph is pruned: the main module is at go
// 1.17 or later, or has no go directive (see the package documentation).
func (g *Graph) Pruned() bool { return g.pruned }

// BuildList returns the selected version of every module in the graph,
// the main module first and the others sorted by path, as
// `go list -m all` lists them. Versions are those required: a replaced
// module is listed under its own path and version (see [Graph.Replacement]).
func (g *Graph) BuildList() []module.Version {
	list := []module.Version{g.main}
	for p, v := range g.selected {
		if p != g.main.Path {
			list = append(list, module.Version{Path: p, Version: v})
		}
	}
	module.Sort(list[1:])
	return list
}

// Selected returns the version of path that the graph selects, and
// whether it has one ("" and true for the main module).
func (g *Graph) Selected(path string) (string, bool) {
	v, ok := g.selected[path]
	return v, ok
}

// Required returns the requirements of m that the graph knows, after
// excluded versions are dropped, and whether m's go.mod was read: the main
// module's are its roots (its go.mod's requirements, one per path at its
// selected version). A module below a pruned one is in the graph without
// requirements of its own.
func (g *Graph) Required(m module.Version) ([]module.Version, bool) {
	if m == g.main {
		return slices.Clone(g.roots), true
	}
	reqs, ok := g.reqs[m]
	return slices.Clone(reqs), ok
}

// Replacement returns the module that supplies m's content: m's
// replacement from the main module's go.mod — with an empty Version for a
// directory, whose Path is then the directory as written — or m itself
// when it is not replaced. ok reports whether m is replaced.
func (g *Graph) Replacement(m module.Version) (r module.Version, ok bool) {
	if m.Path == g.main.Path && m.Version == "" {
		return m, false
	}
	return g.replacement(m)
}

// GoModsRead returns the module versions whose go.mod files Load fetched
// through the Resolver (replacements in place of the modules they
// replace; directory replacements, read from disk, left out), sorted by
// path and version. Every one is in the module cache after `go mod
// download`.
func (g *Graph) GoModsRead() []module.Version {
	return slices.Clone(g.goModsRead)
}

// A DownloadSet is what `go mod download` with no arguments fetches for a
// main module (see the package documentation), as [Graph.DownloadSet]
// computes it. Its lists are sorted by path and version.
type DownloadSet struct {
	// Zips are the module versions downloaded in full: .info, .mod and
	// .zip. A replaced module is listed as its replacement.
	Zips []module.Version

	// GoMods are the module versions whose .mod file is fetched: those
	// whose go.mod the graph read, and the Zips.
	GoMods []module.Version

	// Unknown are the module paths required by the main module that the
	// graph does not select (every requirement on them was excluded):
	// the go command reports "not a known dependency" for each, and
	// downloads the rest.
	Unknown []string
}

// DownloadSet returns what `go mod download` with no arguments fetches
// for the main module (cmd/go/internal/modcmd: runDownload).
func (g *Graph) DownloadSet() *DownloadSet {
	s := new(DownloadSet)
	var list []module.Version // as the go command lists them, before replacement
	if !g.pruned {
		// "all": the whole build list, when go.mod requires anything.
		if len(g.requires) > 0 {
			list = g.BuildList()[1:]
		}
	} else {
		// The selected version of each path named in a require directive.
		seen := make(map[string]bool)
		for _, m := range g.requires {
			if seen[m.Path] || m.Path == g.main.Path {
				continue
			}
			seen[m.Path] = true
			v, ok := g.selected[m.Path]
			if !ok {
				s.Unknown = append(s.Unknown, m.Path)
				continue
			}
			list = append(list, module.Version{Path: m.Path, Version: v})
		}
	}
	zips := make(map[module.Version]bool)
	for _, m := range list {
		if r, _ := g.replacement(m); r.Version != "" {
			zips[r] = true
		}
	}
	mods := make(map[module.Version]bool)
	for _, m := range g.goModsRead {
		mods[m] = true
	}
	for m := range zips {
		s.Zips = append(s.Zips, m)
		mods[m] = true
	}
	for m := range mods {
		s.GoMods = append(s.GoMods, m)
	}
	module.Sort(s.Zips)
	module.Sort(s.GoMods)
	slices.Sort(s.Unknown)
	return s
}

// Err returns an error for each path of s.Unknown, joined, or nil.
// Each wraps [ErrNotKnown], in the go command's words: "path: not a known
// dependency".
func (s *DownloadSet) Err() error {
	var errs []error
	for _, p := range s.Unknown {
		errs = append(errs, fmt.Errorf("%s: %w", p, ErrNotKnown))
	}
	return errors.Join(errs...)
}

// ErrNotKnown is wrapped by the errors of module paths that the main
// module requires but its graph does not select.
var ErrNotKnown = errors.New("not a known dependency")

// Items returns the list for [modfetch.DownloadAll] that fetches what
// `go mod download` fetches: each of s.Zips in full, then each other
// version of s.GoMods for its go.mod file only.
func (s *DownloadSet) Items() []modfetch.BulkItem {
	zips := make(map[module.Version]bool)
	var items []modfetch.BulkItem
	for _, m := range s.Zips {
		zips[m] = true
		items = append(items, modfetch.BulkItem{Module: m})
	}
	for _, m := range s.GoMods {
		if !zips[m] {
			items = append(items, modfetch.BulkItem{Module: m, GoModOnly: true})
		}
	}
	return items
}
