package bundle

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"

	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
	modzip "golang.org/x/mod/zip"
	"golang.org/x/sync/errgroup"

	"github.com/modfetch/modfetch"
	"github.com/modfetch/modfetch/checksum"
)

// A Module is one module version a bundle holds.
type Module struct {
	Path    string
	Version string

	// GoModOnly is true when the bundle holds only the version's go.mod
	// file (a module the build list needed only for its requirements);
	// otherwise it holds the .info, .mod and .zip files.
	GoModOnly bool
}

// Errors of bundle verification. Each failure names its file or module
// and wraps one of these, or a *checksum.MismatchError, or a
// *checksum.SecurityError.
var (
	// ErrUnverified: a file nothing vouches for: the module is not
	// looked up in the checksum database (GONOSUMDB, or no database)
	// and the go.sum given has no hash for it.
	ErrUnverified = errors.New("not vouched for by the checksum database nor by go.sum")

	// ErrLayout: a file or directory the GOPROXY layout has no place
	// for, a file that is not a regular file, or a missing file.
	ErrLayout = errors.New("not in the bundle layout")

	// ErrTreeHead: the bundle's signed tree head (sumdb/<name>/latest)
	// is missing, malformed, or not signed by the database's key.
	ErrTreeHead = errors.New("bad signed tree head")

	// ErrTiles: the bundle's tiles are missing or do not hash to its
	// signed tree head.
	ErrTiles = errors.New("tiles do not authenticate the signed tree head")
)

// VerifyOptions says what vouches for a bundle's files.
type VerifyOptions struct {
	// Key is the checksum database's verifier key (the key part of
	// GOSUMDB, see checksum.ParseGOSUMDB); empty means no database
	// (GOSUMDB=off), so that GoSum must vouch for every file.
	Key string

	// NoSumDB holds the GONOSUMDB patterns: modules they match are not
	// looked up in the database, and GoSum must vouch for them.
	NoSumDB string

	// GoSum, if set, is checked first, like the go command checks
	// go.sum: a recorded h1: hash that differs is a mismatch.
	GoSum *checksum.GoSum
}

// A Verified is what [Bundle.Verify] checked.
type Verified struct {
	Modules []Module

	// Sums holds the h1: hash of every .mod and .zip of Modules, each
	// vouched for.
	Sums *checksum.GoSum

	// DBName is the checksum database's name ("" without a Key), and
	// SumDBFiles the files below the bundle's sumdb/<DBName>/ that
	// verification read ("lookup/...", "tile/..."), sorted: the ones to
	// keep in a module cache beside the modules.
	DBName     string
	SumDBFiles []string
}

// maxSmallFile bounds a .info, .mod, list or checksum database file.
const maxSmallFile = 16 << 20

// scan lists the modules of the GOPROXY layout under dir, refusing any
// file that has no place in it. Files below sumdb/ are left to the
// checksum database's verification.
func scan(dir string) ([]Module, error) {
	type files struct{ info, mod, zip bool }
	found := make(map[module.Version]*files)
	var errs []error
	err := filepath.WalkDir(dir, func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, name)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if rel == "sumdb" {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			errs = append(errs, fmt.Errorf("%s: %w (not a regular file)", rel, ErrLayout))
			return nil
		}
		enc, file, ok := strings.Cut(rel, "/@v/")
		if !ok || strings.Contains(file, "/") {
			errs = append(errs, fmt.Errorf("%s: %w", rel, ErrLayout))
			return nil
		}
		path, err := module.UnescapePath(enc)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w: %v", rel, ErrLayout, err))
			return nil
		}
		if file == "list" {
			return nil
		}
		i := strings.LastIndex(file, ".")
		if i < 0 {
			errs = append(errs, fmt.Errorf("%s: %w", rel, ErrLayout))
			return nil
		}
		version, err := module.UnescapeVersion(file[:i])
		if err == nil && module.CanonicalVersion(version) != version {
			err = errors.New("version not canonical")
		}
		if err == nil {
			err = module.Check(path, version)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w: %v", rel, ErrLayout, err))
			return nil
		}
		m := module.Version{Path: path, Version: version}
		f := found[m]
		if f == nil {
			f = new(files)
			found[m] = f
		}
		switch file[i+1:] {
		case "info":
			f.info = true
		case "mod":
			f.mod = true
		case "zip":
			f.zip = true
		default:
			errs = append(errs, fmt.Errorf("%s: %w", rel, ErrLayout))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var mods []Module
	for m, f := range found {
		switch {
		case !f.mod:
			errs = append(errs, fmt.Errorf("%s@%s: %w: no .mod file", m.Path, m.Version, ErrLayout))
		case f.zip != f.info:
			errs = append(errs, fmt.Errorf("%s@%s: %w: a .zip needs a .info file and a .info a .zip", m.Path, m.Version, ErrLayout))
		default:
			mods = append(mods, Module{Path: m.Path, Version: m.Version, GoModOnly: !f.zip})
		}
	}
	if len(errs) > 0 {
		sort.Slice(errs, func(i, j int) bool { return errs[i].Error() < errs[j].Error() })
		return nil, errors.Join(errs...)
	}
	if len(mods) == 0 {
		return nil, fmt.Errorf("%s: %w: no modules", dir, ErrLayout)
	}
	sortModules(mods)
	return mods, nil
}

func sortModules(mods []Module) {
	sort.Slice(mods, func(i, j int) bool {
		if mods[i].Path != mods[j].Path {
			return mods[i].Path < mods[j].Path
		}
		return semver.Compare(mods[i].Version, mods[j].Version) < 0
	})
}

// readSmall reads a file of at most maxSmallFile bytes.
func readSmall(name string) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxSmallFile+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxSmallFile {
		return nil, fmt.Errorf("%s: larger than %d bytes", name, maxSmallFile)
	}
	return data, nil
}

// sumdbDir is the bundle directory of database name's files.
func sumdbDir(root, name string) string {
	return filepath.Join(root, "sumdb", filepath.FromSlash(name))
}

// dbReader returns the read function of a sumOps serving the files of
// the database's directory dir ("/lookup/...", "/tile/..."); a file that
// is not there is asked of missing, if set.
func dbReader(dir string, missing func(string) ([]byte, error)) func(string) ([]byte, error) {
	return func(p string) ([]byte, error) {
		rel := strings.TrimPrefix(p, "/")
		if !filepath.IsLocal(filepath.FromSlash(rel)) {
			return nil, fmt.Errorf("%s: %w", p, fs.ErrNotExist)
		}
		data, err := readSmall(filepath.Join(dir, filepath.FromSlash(rel)))
		if errors.Is(err, fs.ErrNotExist) {
			if missing != nil {
				return missing(p)
			}
			return nil, fmt.Errorf("%s: %w (missing from the bundle)", rel, fs.ErrNotExist)
		}
		return data, err
	}
}

// Verify checks every file of the bundle: each .mod and .zip must hash to
// what the database records (authenticated as the go command's client
// authenticates it: the lookup records against the tiles and the signed
// tree head, the tree head against Key) and to what opts.GoSum records;
// each .zip must be a valid module zip of its version; each .info must
// name its version. It returns every failure, joined, each with the name
// of the file or module (see the Err* variables).
//
// Verification runs x/mod's checksum database client with an empty
// cache and, as its stored state, the bundle's sumdb/<name>/latest: the
// go command's client on a machine that has seen no later tree head of
// the database. It reads only the bundle.
func (b *Bundle) Verify(ctx context.Context, opts *VerifyOptions) (*Verified, error) {
	return b.verify(ctx, opts, nil)
}

// verify is Verify that asks missing for the checksum database files
// the bundle lacks.
func (b *Bundle) verify(ctx context.Context, opts *VerifyOptions, missing func(string) ([]byte, error)) (*Verified, error) {
	if opts == nil {
		opts = new(VerifyOptions)
	}
	mods, err := scan(b.Dir)
	if err != nil {
		return nil, err
	}
	v := &Verified{Modules: mods, Sums: new(checksum.GoSum)}
	var ops *sumOps
	lookup := func(path, version string) ([]string, error) {
		return nil, nil
	}
	useDB := func(path string) bool { return false }
	if opts.Key != "" {
		useDB = func(path string) bool { return !module.MatchPrefixPatterns(opts.NoSumDB, path) }
	}
	needDB := false
	for _, m := range mods {
		needDB = needDB || useDB(m.Path)
	}
	if opts.Key != "" {
		verifier, err := note.NewVerifier(opts.Key)
		if err != nil {
			return nil, fmt.Errorf("invalid checksum database key: %v", err)
		}
		v.DBName = verifier.Name()
		if needDB {
			if ops, lookup, err = b.openDB(opts.Key, verifier, missing); err != nil {
				return nil, err
			}
		}
	}
	var (
		mu   sync.Mutex
		errs = make([]error, len(mods))
	)
	var g errgroup.Group
	g.SetLimit(runtime.GOMAXPROCS(0))
	for i, m := range mods {
		g.Go(func() error {
			if err := ctx.Err(); err != nil {
				errs[i] = err
				return nil
			}
			sums, err := b.verifyModule(m, useDB(m.Path), lookup, opts.GoSum, v.DBName)
			if err != nil {
				var me *checksum.MismatchError
				if !errors.As(err, &me) { // which names the module itself
					err = &module.ModuleError{Path: m.Path, Version: m.Version, Err: err}
				}
				errs[i] = err
				return nil
			}
			mu.Lock()
			v.Sums.Add(m.Path, m.Version, true, sums[0])
			if !m.GoModOnly {
				v.Sums.Add(m.Path, m.Version, false, sums[1])
			}
			mu.Unlock()
			return nil
		})
	}
	g.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if ops != nil {
		for _, p := range ops.paths() {
			v.SumDBFiles = append(v.SumDBFiles, strings.TrimPrefix(p, "/"))
		}
		sort.Strings(v.SumDBFiles)
	}
	return v, nil
}

// openDB returns a client of the bundle's checksum database data, and
// its lookup function, starting from the bundle's signed tree head.
func (b *Bundle) openDB(key string, verifier note.Verifier, missing func(string) ([]byte, error)) (*sumOps, func(path, version string) ([]string, error), error) {
	name := verifier.Name()
	dir := sumdbDir(b.Dir, name)
	latest, err := readSmall(filepath.Join(dir, "latest"))
	if err != nil {
		return nil, nil, fmt.Errorf("sumdb/%s/latest: %w: %v", name, ErrTreeHead, err)
	}
	n, err := note.Open(latest, note.VerifierList(verifier))
	if err != nil {
		return nil, nil, fmt.Errorf("sumdb/%s/latest: %w: %v", name, ErrTreeHead, err)
	}
	tree, err := tlog.ParseTree([]byte(n.Text))
	if err != nil {
		return nil, nil, fmt.Errorf("sumdb/%s/latest: %w: %v", name, ErrTreeHead, err)
	}
	client, ops := newClient(key, name, latest, dbReader(dir, missing))
	// The client checks this first too, but reports a failure for every
	// lookup: say it once.
	if _, err := tlog.TreeHash(tree.N, tlog.TileHashReader(tree, tileReader{ops.ReadRemote})); err != nil {
		return nil, nil, fmt.Errorf("sumdb/%s: %w (tree of %d records): %v", name, ErrTiles, tree.N, err)
	}
	lookup := func(path, version string) ([]string, error) {
		lines, err := client.Lookup(path, version)
		if serr := ops.securityError(); serr != nil {
			return nil, serr
		}
		return lines, err
	}
	return ops, lookup, nil
}

// tileReader is a tlog.TileReader over a sumOps read function.
type tileReader struct {
	read func(string) ([]byte, error)
}

func (tileReader) Height() int { return 8 } // as x/mod's client and the go command

func (r tileReader) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	data := make([][]byte, len(tiles))
	for i, t := range tiles {
		d, err := r.read("/" + t.Path())
		if err != nil {
			return nil, err
		}
		data[i] = d
	}
	return data, nil
}

func (tileReader) SaveTiles([]tlog.Tile, [][]byte) {}

// verifyModule checks m's files and returns the hashes of its .mod and
// (unless GoModOnly) .zip.
func (b *Bundle) verifyModule(m Module, useDB bool, lookup func(path, version string) ([]string, error), gs *checksum.GoSum, dbName string) ([2]string, error) {
	var sums [2]string
	base, err := modfetch.VersionFile(m.Path, m.Version, "")
	if err != nil {
		return sums, err
	}
	base = filepath.Join(b.Dir, filepath.FromSlash(strings.TrimSuffix(base, ".")))
	var lines []string
	if useDB {
		// One lookup answers for the zip and the go.mod file.
		l1, err := lookup(m.Path, m.Version+"/go.mod")
		if err != nil {
			return sums, err
		}
		lines = l1
		if !m.GoModOnly {
			l2, err := lookup(m.Path, m.Version)
			if err != nil {
				return sums, err
			}
			lines = append(lines, l2...)
		}
	}
	mod, err := readSmall(base + ".mod")
	if err != nil {
		return sums, err
	}
	if sums[0], err = checksum.HashGoMod(mod); err != nil {
		return sums, err
	}
	if err := vouch(m.Path, m.Version, true, sums[0], useDB, lines, gs, dbName); err != nil {
		return sums, err
	}
	if m.GoModOnly {
		return sums, nil
	}
	info, err := readSmall(base + ".info")
	if err != nil {
		return sums, err
	}
	var inf modfetch.Info
	if err := json.Unmarshal(info, &inf); err != nil {
		return sums, fmt.Errorf("%s.info: %w: %v", m.Version, ErrLayout, err)
	}
	if inf.Version != m.Version {
		return sums, fmt.Errorf("%s.info: %w: it names version %q", m.Version, ErrLayout, inf.Version)
	}
	zipFile := base + ".zip"
	if _, err := modzip.CheckZip(module.Version{Path: m.Path, Version: m.Version}, zipFile); err != nil {
		return sums, fmt.Errorf("%s.zip: %w", m.Version, err)
	}
	f, err := os.Open(zipFile)
	if err != nil {
		return sums, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return sums, err
	}
	if sums[1], err = checksum.HashZip(f, fi.Size()); err != nil {
		return sums, fmt.Errorf("%s.zip: %w", m.Version, err)
	}
	if err := vouch(m.Path, m.Version, false, sums[1], useDB, lines, gs, dbName); err != nil {
		return sums, err
	}
	return sums, nil
}

// vouch checks hash against go.sum, then against the database's lines,
// and fails unless one of them vouched for it.
func vouch(path, version string, goMod bool, hash string, useDB bool, lines []string, gs *checksum.GoSum, dbName string) error {
	vouched := false
	if gs != nil {
		found, err := gs.Check(path, version, goMod, hash)
		if err != nil {
			return err
		}
		vouched = found
	}
	if useDB {
		v := version
		if goMod {
			v += "/go.mod"
		}
		prefix := path + " " + v + " "
		want := ""
		for _, line := range lines {
			h, ok := strings.CutPrefix(line, prefix)
			if !ok {
				continue
			}
			if h == hash {
				return nil
			}
			want = h
		}
		return &checksum.MismatchError{Path: path, Version: version, GoMod: goMod, Got: hash, Want: want, Source: dbName, DB: true}
	}
	if !vouched {
		what := "zip"
		if goMod {
			what = "go.mod"
		}
		return fmt.Errorf("%s %s: %w", what, hash, ErrUnverified)
	}
	return nil
}
