package modfetch

import (
	"archive/zip"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"sync"

	"golang.org/x/mod/module"
)

// A PackageModule is a module version that provides a package.
type PackageModule struct {
	Path string // module path
	Info *Info  // the version the query chose
}

// A PackageNotInModuleError is a query that found a module at the import
// path (or one of its prefixes) but not the package in it. Like the go
// command's, it is not a not-found error: a GOPROXY walk stops at it.
type PackageNotInModuleError struct {
	Module  module.Version // the module version found
	Query   string
	Package string
}

func (e *PackageNotInModuleError) Error() string {
	found := ""
	if e.Query != e.Module.Version {
		found = fmt.Sprintf(" (%s)", e.Module.Version)
	}
	return fmt.Sprintf("module %s@%s found%s, but does not contain package %s", e.Module.Path, e.Query, found, e.Package)
}

// QueryPackage finds the modules that provide the package with import path
// pkg at query, like the go command does for `go get pkg@query`
// (cmd/go/internal/modload: QueryPattern): it asks, concurrently, pkg and
// each of its prefixes that can be a module path, resolves query for each
// module found, and looks in the module's zip for a directory of .go files
// at the package's place.
//
// The result lists the modules that contain the package, longest module
// path first; more than one means the import is ambiguous (the go command
// reports it when building). When none does, the error is the most useful
// one, in the go command's order: package not in module, no matching
// version, no patch base, invalid path, invalid version, not found.
//
// When the Resolver is a Walker (a GOPROXY list), each alternative answers
// for every prefix; the next alternative is asked only if every answer was
// "not found", so the package path reaches a later proxy only where the go
// command would send it. Module paths matching the list's private patterns
// never reach a proxy.
func (q *Querier) QueryPackage(ctx context.Context, pkg, query string, opts *QueryOptions) ([]PackageModule, error) {
	if opts == nil {
		opts = new(QueryOptions)
	}
	if err := module.CheckImportPath(pkg); err != nil {
		return nil, err
	}
	allowed := q.allowed(query, opts)
	candidates := modulePrefixes(pkg)
	var found []PackageModule
	err := try(q.Resolver, pkg, func(r Resolver) error {
		type result struct {
			mod PackageModule
			has bool
			err error
		}
		results := make([]result, len(candidates))
		var wg sync.WaitGroup
		for i, path := range candidates {
			wg.Add(1)
			go func() {
				defer wg.Done()
				res := &results[i]
				info, err := q.queryOne(ctx, r, path, query, opts.Current, allowed)
				if err != nil {
					res.err = err
					return
				}
				res.mod = PackageModule{Path: path, Info: info}
				res.has, res.err = q.containsPackage(ctx, path, info.Version, pkg)
				if res.err == nil && !res.has {
					res.err = &PackageNotInModuleError{Module: module.Version{Path: path, Version: info.Version}, Query: query, Package: pkg}
				}
			}()
		}
		wg.Wait()

		found = found[:0]
		// The first failure of each kind, the most helpful kind first.
		var (
			other, noPackage, noVersion, noPatchBase error
			invalidPath, invalidVersion, notExist    error
		)
		keep := func(first *error, err error) {
			if *first == nil {
				*first = err
			}
		}
		for _, res := range results {
			err := res.err
			if err == nil {
				if res.has {
					found = append(found, res.mod)
				}
				continue
			}
			var pe *PackageNotInModuleError
			var nm *NoMatchingVersionError
			var np *NoPatchBaseError
			var ip *module.InvalidPathError
			var iv *module.InvalidVersionError
			switch {
			case errors.As(err, &pe):
				keep(&noPackage, pe)
			case errors.As(err, &nm):
				keep(&noVersion, nm)
			case errors.As(err, &np):
				keep(&noPatchBase, np)
			case errors.As(err, &ip):
				keep(&invalidPath, ip)
			case errors.Is(err, fs.ErrNotExist):
				keep(&notExist, err)
			case errors.As(err, &iv):
				keep(&invalidVersion, err)
			default:
				// A failure for a shorter path does not matter once a longer
				// one may hold the package (go.dev/issue/34094).
				if len(found) == 0 && noPackage == nil {
					keep(&other, err)
				}
			}
		}
		if len(found) > 0 {
			return nil
		}
		if err := cmp.Or(other, noPackage, noVersion, noPatchBase, invalidPath, invalidVersion, notExist); err != nil {
			return err
		}
		return fmt.Errorf("no module provides package %s", pkg)
	})
	if err != nil {
		return nil, queryErr(pkg, query, err)
	}
	return found, nil
}

// modulePrefixes returns pkg and its prefixes that can be module paths,
// longest first (cmd/go/internal/modload: modulePrefixesExcludingTarget).
func modulePrefixes(pkg string) []string {
	var list []string
	for path := pkg; ; {
		if _, _, ok := module.SplitPathVersion(path); ok {
			list = append(list, path)
		}
		i := strings.LastIndexByte(path, '/')
		if i < 0 {
			return list
		}
		path = path[:i]
	}
}

// containsPackage reports whether the zip of path@version holds .go files
// directly in the package directory of pkg.
func (q *Querier) containsPackage(ctx context.Context, path, version, pkg string) (bool, error) {
	rc, err := q.Resolver.Zip(ctx, path, version)
	if err != nil {
		return false, err
	}
	defer rc.Close()
	// A reader of a download in progress waits for it: stop waiting when
	// ctx ends.
	stop := context.AfterFunc(ctx, func() { rc.Close() })
	ra, size, cleanup, err := readerAt(rc)
	if !stop() {
		if err == nil {
			cleanup()
		}
		err = context.Cause(ctx)
	}
	if err != nil {
		return false, err
	}
	defer cleanup()
	z, err := zip.NewReader(ra, size)
	if err != nil {
		return false, &module.ModuleError{Path: path, Version: version, Err: err}
	}
	dir := path + "@" + version + "/"
	if pkg != path {
		dir += strings.TrimPrefix(pkg, path+"/") + "/"
	}
	for _, f := range z.File {
		rest, ok := strings.CutPrefix(f.Name, dir)
		if ok && !strings.Contains(rest, "/") && strings.HasSuffix(rest, ".go") && !f.Mode().IsDir() {
			return true, nil
		}
	}
	return false, nil
}

// readerAt gives random access to a zip stream: the stream itself when it
// allows it, else a temporary copy.
func readerAt(rc io.Reader) (io.ReaderAt, int64, func(), error) {
	if ra, ok := As[io.ReaderAt](rc); ok {
		if st, ok := As[Stater](rc); ok {
			if fi, err := st.Stat(); err == nil {
				return ra, fi.Size(), func() {}, nil
			}
		}
	}
	f, size, cleanup, err := spoolZip(rc, "")
	if err != nil {
		return nil, 0, nil, err
	}
	return f, size, cleanup, nil
}
