// Command bundle moves Go modules to a machine with no network, verified
// end to end by the checksum database.
//
// Usage:
//
//	bundle export -o OUT [-gosum FILE | MODULE_DIR]
//	bundle import [-modcache DIR | -cache DIR] [-gosum FILE] IN
//
// # export
//
// export fetches modules through the stack the go command would use
// (GOPROXY, GONOPROXY, GOPRIVATE, GOSUMDB, GONOSUMDB, GOMODCACHE, the go
// env files), verifying each against the checksum database, and writes
// them with the checksum database's data needed to verify them (its
// signed tree head, the lookups and the tiles) as a bundle: OUT is a
// directory in the GOPROXY layout, or one archive file when OUT ends in
// ".tar.gz" or ".zip". The modules are those a go.sum file records with
// -gosum FILE (in full for a zip hash, the go.mod file alone for a
// "/go.mod" hash), or else what `go mod download` fetches in the module
// at MODULE_DIR (default "."): its build list's go.mod files, and in full
// the modules it requires; they are checked against MODULE_DIR/go.sum
// first, or the -gosum FILE. Like `go mod download`, export reads and
// fills the module cache (GOMODCACHE). OUT must not exist, or be an
// empty directory; it appears only once complete and checked.
//
// On the other side, a directory bundle is a GOPROXY as it is, checksum
// database included:
//
//	GOPROXY=file:///path/to/OUT GOSUMDB=sum.golang.org go mod download
//
// verifies everything with no network (for a GOPATH whose checksum
// database state, GOPATH/pkg/sumdb, is not newer than the bundle), and
// examples/proxyserver serves it with GOPROXY=file:///path/to/OUT.
//
// # import
//
// import verifies every file of the bundle IN (a directory or an
// archive) against the checksum database's data in it, authenticated
// with the key of GOSUMDB, and against the go.sum FILE if given, then
// writes the modules into the module cache (-modcache DIR, default
// GOMODCACHE: files under DIR/cache/download, zips extracted as `go mod
// download` extracts them) or into a proxy's store (-cache DIR: the
// store examples/proxyserver -cache DIR keeps at DIR/download). A bundle
// with any file that does not verify is refused as a whole, and nothing
// is written. Modules GONOSUMDB (or GOPRIVATE) matches must be vouched
// for by -gosum.
//
// Progress is reported on standard error, one line per module; errors
// too, and the exit status is 1.
package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"

	"github.com/modfetch/modfetch"
	"github.com/modfetch/modfetch/bundle"
	"github.com/modfetch/modfetch/cache"
	"github.com/modfetch/modfetch/checksum"
	"github.com/modfetch/modfetch/goenv"
	"github.com/modfetch/modfetch/modgraph"
)

const usage = `usage: bundle export -o OUT [-gosum FILE | MODULE_DIR]
       bundle import [-modcache DIR | -cache DIR] [-gosum FILE] IN

export writes the modules of a go.sum file (-gosum) or of the build list
of the module in MODULE_DIR (default ".") into OUT (a directory, or a
file ending in .tar.gz or .zip), with the checksum database data that
verifies them.

import verifies the bundle IN and writes its modules into the module
cache (-modcache, default GOMODCACHE) or a proxy's store (-cache DIR, as
examples/proxyserver -cache DIR).
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// errUsage is a command line error: the usage text is printed.
var errUsage = errors.New("usage")

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var err error
	switch {
	case len(args) > 0 && args[0] == "export":
		err = runExport(ctx, args[1:], stderr)
	case len(args) > 0 && args[0] == "import":
		err = runImport(ctx, args[1:], stderr)
	case len(args) > 0 && (args[0] == "-h" || args[0] == "-help" || args[0] == "help"):
		fmt.Fprint(stdout, usage)
		return 0
	default:
		err = errUsage
	}
	if errors.Is(err, errUsage) {
		fmt.Fprint(stderr, usage)
		return 2
	}
	if err != nil {
		fmt.Fprintf(stderr, "bundle: %v\n", err)
		return 1
	}
	return 0
}

func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {}
	return fs
}

func runExport(ctx context.Context, args []string, stderr io.Writer) error {
	fs := newFlags("export", stderr)
	out := fs.String("o", "", "the bundle to write: a directory, or a .tar.gz or .zip file")
	gosumFile := fs.String("gosum", "", "export every module version this go.sum file records")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if *out == "" || fs.NArg() > 1 || (*gosumFile != "" && fs.NArg() > 0) {
		return errUsage
	}
	if err := bundle.CheckOutput(*out); err != nil {
		return err
	}
	cfg, err := goenv.Load()
	if err != nil {
		return err
	}
	var (
		gs    *checksum.GoSum
		items []modfetch.BulkItem
		dir   = "."
	)
	if fs.NArg() == 1 {
		dir = fs.Arg(0)
	}
	if *gosumFile != "" {
		data, err := os.ReadFile(*gosumFile)
		if err != nil {
			return err
		}
		if gs, err = checksum.ParseGoSum(*gosumFile, data); err != nil {
			return err
		}
	} else if gs, err = checksum.ReadGoSum(filepath.Join(dir, "go.sum")); err != nil {
		return err
	}
	st, err := cfg.Resolver(&goenv.Options{GoSum: gs})
	if err != nil {
		return err
	}
	if st.DB == nil {
		return errors.New("GOSUMDB is off: a bundle carries the checksum database's data, so export needs one")
	}
	if *gosumFile != "" {
		items = modgraph.GoSumItems(gs)
	} else {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err != nil {
			return err
		}
		fmt.Fprintf(stderr, "loading the module graph of %s\n", dir)
		g, err := modgraph.Load(ctx, st, dir, data)
		if err != nil {
			return err
		}
		set := g.DownloadSet()
		if err := set.Err(); err != nil {
			return err
		}
		items = set.Items()
	}
	if len(items) == 0 {
		return errors.New("no modules to export")
	}
	v, err := bundle.Export(ctx, *out, items, &bundle.ExportOptions{
		Resolver: st,
		DB:       st.DB,
		GoSum:    gs,
		Progress: func(e modfetch.BulkEvent) {
			m := e.Item.Module.Path + "@" + e.Item.Module.Version
			if e.Item.GoModOnly {
				m += "/go.mod"
			}
			switch e.Kind {
			case modfetch.BulkDone:
				fmt.Fprintf(stderr, "fetched %s (%d/%d)\n", m, e.Totals.Done+e.Totals.Failed, e.Totals.Items)
			case modfetch.BulkFailed:
				fmt.Fprintf(stderr, "failed %s (%d/%d)\n", m, e.Totals.Done+e.Totals.Failed, e.Totals.Items)
			}
		},
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "wrote %s: %d module versions, %d checksum database files of %s\n", *out, len(v.Modules), len(v.SumDBFiles), v.DBName)
	return nil
}

func runImport(ctx context.Context, args []string, stderr io.Writer) error {
	fs := newFlags("import", stderr)
	modcache := fs.String("modcache", "", "module cache to import into (default GOMODCACHE)")
	cacheDir := fs.String("cache", "", "proxy cache directory to import into (its store is DIR/download, as examples/proxyserver -cache)")
	gosumFile := fs.String("gosum", "", "go.sum file the modules must also match")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if fs.NArg() != 1 || (*modcache != "" && *cacheDir != "") {
		return errUsage
	}
	in := fs.Arg(0)
	cfg, err := goenv.Load()
	if err != nil {
		return err
	}
	opts := &bundle.ImportOptions{ReadWrite: cfg.ModCacheRW}
	db, err := checksum.ParseGOSUMDB(cfg.GOSUMDB)
	if err != nil {
		return err
	}
	if db != nil {
		opts.Key = db.Key
		opts.NoSumDB = cmp.Or(cfg.GONOSUMDB, cfg.GOPRIVATE) // as the go command
	}
	if *gosumFile != "" {
		data, err := os.ReadFile(*gosumFile)
		if err != nil {
			return err
		}
		if opts.GoSum, err = checksum.ParseGoSum(*gosumFile, data); err != nil {
			return err
		}
	}
	if db == nil && opts.GoSum == nil {
		return errors.New("GOSUMDB is off and no -gosum given: nothing to verify the bundle with")
	}
	switch {
	case *cacheDir != "":
		opts.Store = &cache.DirStore{Dir: filepath.Join(*cacheDir, "download")}
	case *modcache != "":
		opts.ModCache = *modcache
	default:
		opts.ModCache = cfg.GOMODCACHE
	}
	dest := opts.ModCache
	if dest == "" {
		dest = *cacheDir
	}
	fmt.Fprintf(stderr, "verifying %s\n", in)
	opts.Progress = func(m bundle.Module, done, total int) {
		name := m.Path + "@" + m.Version
		if m.GoModOnly {
			name += "/go.mod"
		}
		fmt.Fprintf(stderr, "imported %s (%d/%d)\n", name, done, total)
	}
	v, err := bundle.Import(ctx, in, opts)
	if err != nil {
		return fmt.Errorf("%s: %w", in, err)
	}
	fmt.Fprintf(stderr, "imported %d module versions into %s\n", len(v.Modules), dest)
	return nil
}
