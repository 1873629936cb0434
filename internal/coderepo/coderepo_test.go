package coderepo

import (
	"context"
	"errors"
	"io/fs"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/modfetch/modfetch"
	"github.com/modfetch/modfetch/internal/vcs"
)

// memCode is a repository in memory: one commit per tag (tags name
// themselves as revisions), no history.
type memCode struct {
	files map[string]map[string]string // rev -> file -> content
}

func (m *memCode) Tags(ctx context.Context, prefix string) ([]vcs.Tag, error) {
	t := []vcs.Tag{}
	for rev := range m.files {
		if strings.HasPrefix(rev, prefix) {
			t = append(t, vcs.Tag{Name: rev, Hash: hashOf(rev)})
		}
	}
	sort.Slice(t, func(i, j int) bool { return t[i].Name < t[j].Name })
	return t, nil
}

func hashOf(rev string) string {
	h := []byte(strings.Repeat("0", 40))
	for i := 0; i < len(rev) && i < 40; i++ {
		h[i] = "0123456789abcdef"[rev[i]%16]
	}
	return string(h)
}

func (m *memCode) Stat(ctx context.Context, rev string) (*vcs.RevInfo, error) {
	for r := range m.files {
		if r == rev || hashOf(r) == rev {
			return &vcs.RevInfo{Name: hashOf(r), Short: hashOf(r)[:12], Version: r, Time: time.Unix(1e9, 0).UTC(), Tags: []string{r}, Origin: &modfetch.Origin{VCS: "git", Hash: hashOf(r)}}, nil
		}
	}
	return nil, &vcs.UnknownRevisionError{Rev: rev}
}

func (m *memCode) Latest(ctx context.Context) (*vcs.RevInfo, error) { return nil, vcs.ErrNoCommits }

func (m *memCode) ReadFile(ctx context.Context, rev, file string, maxSize int64) ([]byte, error) {
	info, err := m.Stat(ctx, rev)
	if err != nil {
		return nil, err
	}
	data, ok := m.files[info.Version][file]
	if !ok {
		return nil, fs.ErrNotExist
	}
	return []byte(data), nil
}

func (m *memCode) ReadZip(ctx context.Context, rev, subdir, tmpDir string, maxSize int64) (*vcs.Archive, error) {
	return nil, errors.ErrUnsupported
}

func (m *memCode) RecentTag(ctx context.Context, rev, prefix string, allowed func(string) bool) (string, error) {
	return "", nil
}

func (m *memCode) DescendsFrom(ctx context.Context, rev, tag string) (bool, error) {
	return false, nil
}

func TestNew(t *testing.T) {
	for _, tt := range []struct{ root, subdir, path, dir, major, err string }{
		{"github.com/a/b", "", "github.com/a/b", "", "", ""},
		{"github.com/a/b", "", "github.com/a/b/sub", "sub", "", ""},
		{"github.com/a/b", "", "github.com/a/b/sub/v2", "sub", "/v2", ""},
		{"github.com/a/b", "", "github.com/a/b/v3", "", "/v3", ""},
		{"example.com/m/v2", "", "example.com/m/v2", "", "/v2", ""},
		{"gopkg.in/yaml.v2", "", "gopkg.in/yaml.v2", "", ".v2", ""},
		{"example.com/m", "go/m", "example.com/m/x", "x/go/m", "", ""},
		{"github.com/a/b", "", "github.com/a/c", "", "", "mismatched repo: found github.com/a/b for github.com/a/c"},
	} {
		r, err := New(&memCode{}, tt.root, tt.subdir, tt.path)
		if tt.err != "" {
			if err == nil || err.Error() != tt.err {
				t.Errorf("New(%s, %s) = %v, want %q", tt.root, tt.path, err, tt.err)
			}
			continue
		}
		if err != nil || r.codeDir != tt.dir || r.pathMajor != tt.major {
			t.Errorf("New(%s, %q, %s): dir %q major %q, %v", tt.root, tt.subdir, tt.path, r.codeDir, r.pathMajor, err)
		}
	}
}

func TestFindDir(t *testing.T) {
	code := &memCode{files: map[string]map[string]string{
		"v2.0.0":     {"go.mod": "module example.com/m/v2\n"},
		"v2.1.0":     {"go.mod": "module example.com/m\n", "v2/go.mod": "module example.com/m/v2\n"},
		"v2.2.0":     {"go.mod": "module example.com/m/v2\n", "v2/go.mod": "module example.com/m/v2\n"},
		"v2.3.0":     {"go.mod": "module example.com/m\n", "v2/go.mod": "module example.com/m/v3\n"},
		"v2.4.0":     {"README": "no go.mod\n"},
		"v1.0.0":     {"go.mod": "module example.com/m/v3\n"},
		"v1.1.0":     {"go.mod": "module example.com/m\n"},
		"v1.2.0":     {"go.mod": "// no module line\n"},
		"sub/v1.0.0": {"README": "no go.mod in sub\n"},
	}}
	for _, tt := range []struct{ path, version, dir, err string }{
		{"example.com/m/v2", "v2.0.0", "", ""},
		{"example.com/m/v2", "v2.1.0", "v2", ""},
		{"example.com/m/v2", "v2.2.0", "", "example.com/m/go.mod and .../v2/go.mod both have .../v2 module paths at revision v2.2.0"},
		{"example.com/m/v2", "v2.3.0", "", `example.com/m/v2/go.mod has non-.../v2 module path "example.com/m/v3" at revision v2.3.0`},
		{"example.com/m/v2", "v2.4.0", "", "missing example.com/m/go.mod and .../v2/go.mod at revision v2.4.0"},
		{"example.com/m", "v2.4.0", "", ""},
		{"example.com/m", "v1.0.0", "", `go.mod has post-v1 module path "example.com/m/v3" at revision v1.0.0`},
		{"example.com/m", "v1.1.0", "", ""},
		{"example.com/m", "v1.2.0", "", "go.mod is missing module path at revision v1.2.0"},
		{"example.com/m/sub", "v1.0.0", "", "missing example.com/m/sub/go.mod at revision sub/v1.0.0"},
		{"example.com/m", "nonsense", "", "example.com/m@nonsense: invalid version: syntax error"},
		{"example.com/m", "v9.9.9", "", "reading example.com/m/go.mod at revision v9.9.9: unknown revision v9.9.9"},
	} {
		r, err := New(code, "example.com/m", "", tt.path)
		if err != nil {
			t.Fatal(err)
		}
		_, dir, _, err := r.findDir(context.Background(), tt.version)
		if tt.err != "" {
			if err == nil || err.Error() != tt.err {
				t.Errorf("findDir(%s@%s) = %v\nwant %q", tt.path, tt.version, err, tt.err)
			}
			// Each says the version holds no such module: not found.
			if !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("findDir(%s@%s): %v is not fs.ErrNotExist", tt.path, tt.version, err)
			}
			continue
		}
		if err != nil || dir != tt.dir {
			t.Errorf("findDir(%s@%s) = %q, %v", tt.path, tt.version, dir, err)
		}
	}
}

// failingCode fails to read files, as git does when it breaks.
type failingCode struct{ memCode }

func (f *failingCode) ReadFile(ctx context.Context, rev, file string, maxSize int64) ([]byte, error) {
	return nil, errors.New("git cat-file: exit status 128")
}

// TestFindDirFailureIsNotNotFound: a failure to read is not a reason the
// module does not exist.
func TestFindDirFailureIsNotNotFound(t *testing.T) {
	code := &failingCode{memCode{files: map[string]map[string]string{"v1.0.0": {"go.mod": "module example.com/m\n"}}}}
	r, err := New(code, "example.com/m", "", "example.com/m")
	if err != nil {
		t.Fatal(err)
	}
	_, _, _, err = r.findDir(context.Background(), "v1.0.0")
	if err == nil || errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("findDir with a failing read = %v; want a failure that is not fs.ErrNotExist", err)
	}
	if _, err := r.GoMod(context.Background(), "v1.0.0"); err == nil || errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("GoMod with a failing read = %v; want a failure that is not fs.ErrNotExist", err)
	}
}

func TestVersionsIncompatible(t *testing.T) {
	code := &memCode{files: map[string]map[string]string{
		"v1.0.0": {},
		"v2.0.0": {},
		"v2.1.0": {},
		"v3.0.0": {"go.mod": "module example.com/m/v3\n"},
		"v3.0.1": {},
		"v4.0.0": {"go.mod": "module example.com/m/v4\n"}, // the latest of v4 has one
		"v1.2":   {},                                      // not canonical
	}}
	r, _ := New(code, "example.com/m", "", "example.com/m")
	list, err := r.Versions(context.Background(), "")
	want := []string{"v1.0.0", "v2.0.0+incompatible", "v2.1.0+incompatible", "v3.0.0+incompatible", "v3.0.1+incompatible"}
	if err != nil || !slices.Equal(list, want) {
		t.Errorf("Versions = %v, %v\nwant %v", list, err, want)
	}
	// A go.mod in the latest compatible version hides them all.
	code.files["v1.0.0"] = map[string]string{"go.mod": "module example.com/m\n"}
	list, err = r.Versions(context.Background(), "")
	if err != nil || !slices.Equal(list, []string{"v1.0.0"}) {
		t.Errorf("Versions with go.mod = %v, %v", list, err)
	}
	// gopkg.in -unstable paths have no versions.
	r, _ = New(code, "gopkg.in/x.v2-unstable", "", "gopkg.in/x.v2-unstable")
	if list, err := r.Versions(context.Background(), ""); err != nil || len(list) != 0 {
		t.Errorf("unstable: %v, %v", list, err)
	}
}

func TestIsMajor(t *testing.T) {
	for _, tt := range []struct {
		mpath, major string
		ok           bool
	}{
		{"example.com/m", "", true},
		{"gopkg.in/x.v1", "", true},
		{"gopkg.in/x.v2", "", false},
		{"example.com/m/v2", "", false},
		{"example.com/m/v2", "/v2", true},
		{"gopkg.in/x.v2", "/v2", true},
		{"example.com/m", "/v2", false},
		{"example.com/m/v3", "/v2", false},
		{"", "", false},
		{"example.com/m/v1", "", false},
	} {
		if got := isMajor(tt.mpath, tt.major); got != tt.ok {
			t.Errorf("isMajor(%q, %q) = %v", tt.mpath, tt.major, got)
		}
	}
}
