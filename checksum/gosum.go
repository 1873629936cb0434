package checksum

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"

	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"
)

// emptyGoModHash is the hash of an empty go.mod, which an old go command
// bug wrote into go.sum files; the go command drops such lines.
const emptyGoModHash = "h1:G7mAYYxgmS0lVkHyy2hEOLQCFB0DlQFTMLWggykrydY="

// A GoSum holds the hashes recorded in a go.sum file. The zero value is
// an empty set named "go.sum". A GoSum is safe for concurrent use.
type GoSum struct {
	// Name is the file name used in mismatch reports ("go.sum",
	// "go.work.sum", ...). Empty means "go.sum".
	Name string

	mu sync.RWMutex
	m  map[module.Version][]string // version may end in "/go.mod"
}

// ParseGoSum parses go.sum content. name is the file's name, used in
// error messages and mismatch reports. Blank lines are skipped; lines
// recording the hash of an empty go.mod are dropped (like the go command);
// a line with other than three fields is an error worded like the go
// command's: "malformed go.sum:\n<name>:<line>: wrong number of fields N".
func ParseGoSum(name string, data []byte) (*GoSum, error) {
	s := &GoSum{Name: filepath.Base(name)}
	s.m = make(map[module.Version][]string)
	lineno := 0
	for len(data) > 0 {
		var line []byte
		lineno++
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			line, data = data, nil
		}
		f := strings.Fields(string(line))
		if len(f) == 0 {
			continue
		}
		if len(f) != 3 {
			return nil, fmt.Errorf("malformed go.sum:\n%s:%d: wrong number of fields %v", name, lineno, len(f))
		}
		if f[2] == emptyGoModHash {
			continue
		}
		mod := module.Version{Path: f[0], Version: f[1]}
		s.m[mod] = append(s.m[mod], f[2])
	}
	return s, nil
}

// ReadGoSum reads and parses the go.sum file name. A missing file is an
// empty GoSum.
func ReadGoSum(name string) (*GoSum, error) {
	data, err := os.ReadFile(name)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	return ParseGoSum(name, data)
}

func (s *GoSum) name() string {
	if s.Name == "" {
		return "go.sum"
	}
	return s.Name
}

func key(path, version string, goMod bool) module.Version {
	if goMod {
		version += "/go.mod"
	}
	return module.Version{Path: path, Version: version}
}

// Hashes returns the hashes recorded for path@version (the go.mod file's
// when goMod is true), in file order.
func (s *GoSum) Hashes(path, version string, goMod bool) []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return append([]string(nil), s.m[key(path, version, goMod)]...)
}

// Check checks hash against the recorded hashes of path@version (of its
// go.mod file when goMod is true) the way the go command does: walking the
// recorded hashes in file order, a hash equal to hash means found; the
// first "h1:" hash that differs is a *MismatchError, even when a later line
// matches; hashes of unknown algorithms are skipped. found is false, with a
// nil error, when nothing applicable is recorded.
func (s *GoSum) Check(path, version string, goMod bool, hash string) (found bool, err error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, h := range s.m[key(path, version, goMod)] {
		if h == hash {
			return true, nil
		}
		if strings.HasPrefix(h, "h1:") {
			return false, &MismatchError{Path: path, Version: version, GoMod: goMod, Got: hash, Want: h, Source: s.name()}
		}
	}
	return false, nil
}

// Add records hash for path@version (its go.mod file when goMod is true),
// unless it is already recorded.
func (s *GoSum) Add(path, version string, goMod bool, hash string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = make(map[module.Version][]string)
	}
	k := key(path, version, goMod)
	for _, h := range s.m[k] {
		if h == hash {
			return
		}
	}
	s.m[k] = append(s.m[k], hash)
}

// compareGoSum orders module versions as module.Sort does (the go
// command's go.sum order, modfetch.WriteGoSum), then, among versions
// semver finds equal (invalid ones, build metadata), by their text, so
// that the same hashes always give the same bytes.
func compareGoSum(a, b module.Version) int {
	if a.Path != b.Path {
		return strings.Compare(a.Path, b.Path)
	}
	va, vb := a.Version, b.Version
	var fa, fb string
	if k := strings.Index(va, "/"); k >= 0 {
		va, fa = va[:k], va[k:]
	}
	if k := strings.Index(vb, "/"); k >= 0 {
		vb, fb = vb[:k], vb[k:]
	}
	if va != vb {
		if c := semver.Compare(va, vb); c != 0 {
			return c
		}
		return strings.Compare(va, vb)
	}
	return strings.Compare(fa, fb)
}

// Bytes returns the content of a go.sum file holding s's hashes, sorted
// like the go command writes them: by module path, then by version (with
// the "/go.mod" line after the zip line of the same version), then by hash.
func (s *GoSum) Bytes() []byte {
	s.mu.RLock()
	defer s.mu.RUnlock()
	mods := make([]module.Version, 0, len(s.m))
	for m := range s.m {
		mods = append(mods, m)
	}
	slices.SortFunc(mods, compareGoSum)
	var buf bytes.Buffer
	for _, m := range mods {
		hs := append([]string(nil), s.m[m]...)
		sort.Strings(hs)
		for _, h := range hs {
			fmt.Fprintf(&buf, "%s %s %s\n", m.Path, m.Version, h)
		}
	}
	return buf.Bytes()
}

// A GoSumEntry is one hash recorded in a go.sum file: one line.
type GoSumEntry struct {
	Path    string
	Version string // without the "/go.mod" suffix
	GoMod   bool   // the hash is the go.mod file's ("path version/go.mod h1:...")
	Hash    string
}

// Entries returns every hash recorded in s, one entry per go.sum line, in
// the order [GoSum.Bytes] writes them: by module path, then version (the
// zip's line before the go.mod file's), then hash.
func (s *GoSum) Entries() []GoSumEntry {
	s.mu.RLock()
	defer s.mu.RUnlock()
	mods := make([]module.Version, 0, len(s.m))
	for m := range s.m {
		mods = append(mods, m)
	}
	slices.SortFunc(mods, compareGoSum)
	var list []GoSumEntry
	for _, m := range mods {
		hs := append([]string(nil), s.m[m]...)
		sort.Strings(hs)
		v, goMod := strings.CutSuffix(m.Version, "/go.mod")
		for _, h := range hs {
			list = append(list, GoSumEntry{Path: m.Path, Version: v, GoMod: goMod, Hash: h})
		}
	}
	return list
}

// Modules returns the module versions s records any hash for (of the zip
// or of the go.mod file), each once, sorted by path and version; full
// reports for each whether a zip hash is recorded, not only a go.mod one.
func (s *GoSum) Modules() (mods []module.Version, full []bool) {
	for _, e := range s.Entries() {
		m := module.Version{Path: e.Path, Version: e.Version}
		if n := len(mods); n > 0 && mods[n-1] == m {
			full[n-1] = full[n-1] || !e.GoMod
			continue
		}
		mods = append(mods, m)
		full = append(full, !e.GoMod)
	}
	return mods, full
}
