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
	"sort"
	"strings"

	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/modfetch/modfetch"
	"github.com/modfetch/modfetch/checksum"
)

// A Bundle is a bundle opened for reading: a directory in the GOPROXY
// layout. A Bundle is not safe for concurrent use with Close.
type Bundle struct {
	// Dir is the bundle's root directory: the bundle itself, or a
	// temporary directory holding an archive's files.
	Dir string

	tmp string // removed by Close
}

// Open opens the bundle name: a directory is used in place, and must not
// change while it is used; an archive (see [FormatOf]) is unpacked into a
// new directory in tempDir (os.TempDir() if empty), removed by Close.
// Unpacking refuses entries that are not regular files or directories,
// names that are not clean relative paths, names given twice, and
// entries larger than a module zip may be (or 16 MiB for other files).
func Open(ctx context.Context, name, tempDir string) (*Bundle, error) {
	f := FormatOf(name)
	fi, err := os.Stat(name)
	if err != nil {
		return nil, err
	}
	if f == Dir || fi.IsDir() {
		if !fi.IsDir() {
			return nil, fmt.Errorf("%s: not a directory, nor a .tar.gz or .zip file", name)
		}
		abs, err := filepath.Abs(name)
		if err != nil {
			return nil, err
		}
		return &Bundle{Dir: abs}, nil
	}
	tmp, err := os.MkdirTemp(tempDir, "bundle-*")
	if err != nil {
		return nil, err
	}
	if err := unpack(ctx, name, f, tmp); err != nil {
		os.RemoveAll(tmp)
		return nil, err
	}
	abs, err := filepath.Abs(tmp)
	if err != nil {
		os.RemoveAll(tmp)
		return nil, err
	}
	return &Bundle{Dir: abs, tmp: abs}, nil
}

// Close removes the files Open unpacked, if any.
func (b *Bundle) Close() error {
	if b.tmp == "" {
		return nil
	}
	err := os.RemoveAll(b.tmp)
	b.tmp = ""
	return err
}

// ErrExist is wrapped by the error of an Export whose output exists (a
// file, or a directory that is not empty).
var ErrExist = fs.ErrExist

// ExportOptions configures [Export].
type ExportOptions struct {
	// Resolver fetches the modules. It should verify what it returns (a
	// goenv.Stack does: go.sum, then the checksum database); Export
	// checks every file again against DB's records before it writes
	// the bundle. Required.
	Resolver modfetch.Resolver

	// DB is the checksum database whose records, tiles and signed tree
	// head the bundle carries (the Stack's DB). Required.
	DB *checksum.DB

	// GoSum, if set, is checked too in Export's final check (a hash it
	// records that differs is a *checksum.MismatchError), and vouches
	// for the modules DB does not look up (DB.NoSumDB); without it such
	// modules are refused (ErrUnverified).
	GoSum *checksum.GoSum

	// Parallel bounds the fetches at once; zero means GOMAXPROCS.
	Parallel int

	// Progress, if set, receives the fetches' events (see
	// modfetch.BulkOptions.Progress).
	Progress func(modfetch.BulkEvent)

	// TempDir holds an archive's files before they are packed; empty
	// means os.TempDir(). A directory bundle is assembled beside its
	// final name.
	TempDir string
}

// Export fetches items through opts.Resolver and writes them as a bundle
// named out, in the format [FormatOf] gives its name: the GOPROXY layout
// (<path>/@v/list, <version>.info, .mod and, unless GoModOnly, .zip),
// plus the checksum database's data a client needs to verify them with
// no network (sumdb/<name>/supported, latest, lookup/<path>@<version> and
// the tiles).
//
// Every lookup in the bundle carries the same signed tree head, the
// largest the database signed for any of them, which is also
// sumdb/<name>/latest, and the bundle holds every tile that x/mod's
// client (the go command's) reads to authenticate those lookups against
// that tree head, starting with no tree head or with that one: Export
// runs that client over the bundle, reading missing tiles from DB, so
// each file is checked before the bundle is published. A client that
// has already seen a larger tree head of the database would need tiles
// of that tree, which the bundle does not hold.
//
// out must not exist, or be an empty directory: Export refuses to
// overwrite anything ([ErrExist]). The bundle appears at out only when
// complete; on failure nothing is left at out (an empty directory that
// was there stays).
func Export(ctx context.Context, out string, items []modfetch.BulkItem, opts *ExportOptions) (*Verified, error) {
	if opts == nil || opts.Resolver == nil || opts.DB == nil {
		return nil, errors.New("bundle: Export needs a Resolver and a checksum database (is GOSUMDB off?)")
	}
	format := FormatOf(out)
	if err := CheckOutput(out); err != nil {
		return nil, err
	}
	stageIn := opts.TempDir
	if format == Dir {
		stageIn = filepath.Dir(out)
	}
	stage, err := os.MkdirTemp(stageIn, ".bundle-export-*")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(stage)

	// Each zip is fetched once: teeZips writes it into the stage as
	// DownloadAll reads (and hashes) it.
	results, err := modfetch.DownloadAll(ctx, teeZips{opts.Resolver, stage}, items, &modfetch.BulkOptions{
		Parallel: opts.Parallel, Progress: opts.Progress, DownloadOptions: modfetch.DownloadOptions{TempDir: opts.TempDir},
	})
	if err != nil {
		return nil, err
	}
	versions := make(map[string][]string)
	for _, res := range results {
		if err := writeModule(stage, res); err != nil {
			return nil, err
		}
		m := res.Item.Module
		versions[m.Path] = append(versions[m.Path], m.Version)
	}
	for path, list := range versions {
		if err := writeList(stage, path, list); err != nil {
			return nil, err
		}
	}
	if err := writeSumDB(ctx, stage, opts.DB, results); err != nil {
		return nil, err
	}

	// Check the bundle as an importer would, fetching the tiles that
	// check reads into it.
	db := opts.DB
	dbDir := sumdbDir(stage, db.Name())
	b := &Bundle{Dir: stage}
	v, err := b.verify(ctx, &VerifyOptions{Key: db.Key, NoSumDB: db.NoSumDB, GoSum: opts.GoSum}, func(p string) ([]byte, error) {
		tile, ok := strings.CutPrefix(p, "/tile/")
		if !ok {
			return nil, fmt.Errorf("%s: %w", p, fs.ErrNotExist)
		}
		data, _, err := db.Tile(ctx, tile)
		if err != nil {
			return nil, err
		}
		if err := writeFile(filepath.Join(dbDir, filepath.FromSlash(strings.TrimPrefix(p, "/"))), data); err != nil {
			return nil, err
		}
		return data, nil
	})
	if err != nil {
		return nil, fmt.Errorf("checking the bundle: %w", err)
	}
	return v, publish(ctx, stage, out, format)
}

// CheckOutput reports whether Export may write a bundle named out: an
// error wrapping [ErrExist] when out exists, unless it is an empty
// directory and a directory bundle is to be written. Export checks
// again; a program calls CheckOutput to fail before fetching anything.
func CheckOutput(out string) error {
	f := FormatOf(out)
	fi, err := os.Stat(out)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if f == Dir && fi.IsDir() {
		entries, err := os.ReadDir(out)
		if err != nil {
			return err
		}
		if len(entries) == 0 {
			return nil
		}
		return fmt.Errorf("%s: %w and is not empty", out, ErrExist)
	}
	return fmt.Errorf("%s: %w", out, ErrExist)
}

// publish moves the finished stage to out, or packs it into the archive
// out, never replacing what appeared there meanwhile.
func publish(ctx context.Context, stage, out string, f Format) error {
	if f == Dir {
		if err := os.Chmod(stage, 0o755); err != nil { // MkdirTemp made it 0700
			return err
		}
		if fi, err := os.Stat(out); err == nil && fi.IsDir() {
			// An empty directory: rename replaces only an empty one.
			if err := os.Remove(out); err != nil {
				return fmt.Errorf("%s: %w", out, err)
			}
		}
		if err := os.Rename(stage, out); err != nil {
			return err
		}
		return nil
	}
	tmp, err := os.CreateTemp(filepath.Dir(out), ".bundle-*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	err = Pack(ctx, tmp, stage, f)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o644) // CreateTemp made it 0600
	}
	if err != nil {
		return err
	}
	// A hard link never replaces an existing file.
	if err := os.Link(tmp.Name(), out); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%s: %w", out, ErrExist)
		}
		return err
	}
	return nil
}

// writeFile writes data at name, creating its directory.
func writeFile(name string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(name), 0o777); err != nil {
		return err
	}
	return os.WriteFile(name, data, 0o666)
}

// teeZips is a Resolver whose Zip readers write what they read into the
// stage, at the zip's place in the GOPROXY layout. It does not unwrap to
// the reader it copies (modfetch.As), so that a caller reads every byte
// through it.
type teeZips struct {
	modfetch.Resolver
	stage string
}

func (t teeZips) Zip(ctx context.Context, path, version string) (io.ReadCloser, error) {
	name, err := stageFile(t.stage, path, version, "zip")
	if err != nil {
		return nil, err
	}
	rc, err := t.Resolver.Zip(ctx, path, version)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(name), 0o777); err != nil {
		rc.Close()
		return nil, err
	}
	f, err := os.Create(name) // a second call starts the file again
	if err != nil {
		rc.Close()
		return nil, err
	}
	return &teeReader{rc: rc, f: f}, nil
}

// A teeReader writes what it reads from rc into f.
type teeReader struct {
	rc   io.ReadCloser
	f    *os.File
	werr error
}

func (t *teeReader) Read(p []byte) (int, error) {
	n, err := t.rc.Read(p)
	if n > 0 && t.werr == nil {
		if _, t.werr = t.f.Write(p[:n]); t.werr != nil {
			return n, t.werr
		}
	}
	return n, err
}

func (t *teeReader) Close() error {
	err := t.rc.Close()
	if cerr := t.f.Close(); t.werr == nil {
		t.werr = cerr
	}
	if err == nil {
		err = t.werr
	}
	return err
}

// stageFile is the name of path@version's file with extension ext in
// the stage.
func stageFile(stage, path, version, ext string) (string, error) {
	name, err := modfetch.VersionFile(path, version, ext)
	if err != nil {
		return "", err
	}
	return filepath.Join(stage, filepath.FromSlash(name)), nil
}

// writeModule writes the .info and .mod files of one fetched item into
// the stage, and checks that its zip there (written by teeZips) is the
// one DownloadAll hashed.
func writeModule(stage string, res modfetch.BulkResult) error {
	m := res.Item.Module
	mod, err := stageFile(stage, m.Path, m.Version, "mod")
	if err != nil {
		return err
	}
	if res.Item.GoModOnly {
		return writeFile(mod, res.GoMod)
	}
	d := res.Downloaded
	info, err := json.Marshal(d.Info.Clean())
	if err != nil {
		return err
	}
	if err := writeFile(strings.TrimSuffix(mod, ".mod")+".info", info); err != nil {
		return err
	}
	if err := writeFile(mod, d.GoMod); err != nil {
		return err
	}
	zip, err := stageFile(stage, m.Path, m.Version, "zip")
	if err != nil {
		return err
	}
	f, err := os.Open(zip)
	if err != nil {
		return &module.ModuleError{Path: m.Path, Version: m.Version, Err: err}
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	sum, err := checksum.HashZip(f, fi.Size())
	if err != nil {
		return &module.ModuleError{Path: m.Path, Version: m.Version, Err: err}
	}
	if sum != d.Sum {
		return &module.ModuleError{Path: m.Path, Version: m.Version, Err: fmt.Errorf("the zip written into the bundle is not the one downloaded: %s, downloaded %s", sum, d.Sum)}
	}
	return nil
}

// writeList writes path's @v/list: its versions in the bundle.
func writeList(stage, path string, list []string) error {
	semver.Sort(list)
	var buf strings.Builder
	for i, v := range list {
		if i > 0 && list[i-1] == v {
			continue
		}
		buf.WriteString(v + "\n")
	}
	enc, err := module.EscapePath(path)
	if err != nil {
		return err
	}
	return writeFile(filepath.Join(stage, filepath.FromSlash(enc), "@v", "list"), []byte(buf.String()))
}

// writeSumDB writes the database's lookups of the fetched modules, each
// carrying the largest signed tree head among them, which is also
// written as latest.
func writeSumDB(ctx context.Context, stage string, db *checksum.DB, results []modfetch.BulkResult) error {
	verifier, err := note.NewVerifier(db.Key)
	if err != nil {
		return fmt.Errorf("invalid checksum database key: %v", err)
	}
	type record struct {
		file string
		id   int64
		text []byte
	}
	var (
		records []record
		latest  []byte
		latestN int64 = -1
	)
	seen := make(map[module.Version]bool)
	for _, res := range results {
		m := res.Item.Module
		if seen[m] || db.Skip(m.Path) {
			continue
		}
		seen[m] = true
		data, _, err := db.Record(ctx, m.Path, m.Version)
		if err != nil {
			return err
		}
		id, text, treeMsg, err := tlog.ParseRecord(data)
		if err != nil {
			return &module.ModuleError{Path: m.Path, Version: m.Version, Err: fmt.Errorf("checksum database record: %v", err)}
		}
		n, err := note.Open(treeMsg, note.VerifierList(verifier))
		if err != nil {
			return &module.ModuleError{Path: m.Path, Version: m.Version, Err: fmt.Errorf("checksum database tree head: %v", err)}
		}
		tree, err := tlog.ParseTree([]byte(n.Text))
		if err != nil {
			return &module.ModuleError{Path: m.Path, Version: m.Version, Err: fmt.Errorf("checksum database tree head: %v", err)}
		}
		if tree.N > latestN {
			latestN, latest = tree.N, treeMsg
		}
		em, err := modfetch.EscapeModule(m.Path, m.Version)
		if err != nil {
			return err
		}
		records = append(records, record{file: em, id: id, text: text})
	}
	dir := sumdbDir(stage, db.Name())
	if err := writeFile(filepath.Join(dir, "supported"), nil); err != nil {
		return err
	}
	if latest == nil {
		return nil // nothing looked up: no tree head to carry
	}
	sort.Slice(records, func(i, j int) bool { return records[i].file < records[j].file })
	for _, r := range records {
		msg, err := tlog.FormatRecord(r.id, r.text)
		if err != nil {
			return err
		}
		if err := writeFile(filepath.Join(dir, "lookup", filepath.FromSlash(r.file)), append(msg, latest...)); err != nil {
			return err
		}
	}
	return writeFile(filepath.Join(dir, "latest"), latest)
}
