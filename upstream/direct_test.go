package upstream

import (
	"archive/zip"
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/mod/module"

	"github.com/modfetch/modfetch"
	"github.com/modfetch/modfetch/internal/fixture"
	"github.com/modfetch/modfetch/internal/gitfixture"
	"github.com/modfetch/modfetch/internal/vcs"
)

func TestParseGOVCS(t *testing.T) {
	for _, tt := range []struct {
		in, err string
		n       int
	}{
		{"", "", 0},
		{"  ", "", 0},
		{"private:all,public:git|hg", "", 2},
		{" github.com : git | hg , *.corp.example.com:all ", "", 2},
		{"a.com:git,,b.com:hg", "empty entry in GOVCS", 0},
		{"a.com", `malformed entry in GOVCS (missing colon): "a.com"`, 0},
		{":git", `empty pattern in GOVCS: ":git"`, 0},
		{"a.com:", `empty VCS list in GOVCS: "a.com:"`, 0},
		{"a.com:git||hg", `empty VCS name in GOVCS: "a.com:git||hg"`, 0},
		{"./x:git", `relative pattern not allowed in GOVCS: "./x"`, 0},
		{"a.com:git,a.com:hg", `unreachable pattern in GOVCS: "a.com:hg" after "a.com:git"`, 0},
	} {
		cfg, err := parseGOVCS(tt.in)
		if tt.err != "" {
			if err == nil || err.Error() != tt.err {
				t.Errorf("parseGOVCS(%q) = %v, want error %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || len(cfg) != tt.n {
			t.Errorf("parseGOVCS(%q) = %v, %v", tt.in, cfg, err)
		}
	}
}

func TestGOVCSAllow(t *testing.T) {
	for _, tt := range []struct {
		govcs, private, root, vcs string
		ok                        bool
	}{
		{"", "", "github.com/a/b", "git", true},
		{"", "", "example.com/r", "hg", true},
		{"", "", "example.com/r", "svn", false},
		{"", "", "example.com/r", "bzr", false},
		{"", "example.com", "example.com/r", "svn", true},
		{"", "example.com", "example.com/r", "fossil", true},
		{"public:git", "", "example.com/r", "hg", false},
		{"private:git", "example.com", "example.com/r", "hg", false},
		{"example.com:svn", "", "example.com/r", "svn", true},
		{"example.com:svn", "", "example.com/r", "git", false},
		{"*.example.com:off", "", "git.example.com/r", "git", false},
		{"*.example.com:off", "", "example.com/r", "git", true},
		{"github.com:all", "", "github.com/a/b", "svn", true},
		{"", "", "example.com/r", "mod", true},
		{"example.com:off", "", "example.com/r", "mod", true},
	} {
		d := &Direct{GOVCS: tt.govcs, GOPRIVATE: tt.private}
		d.init()
		err := d.checkGOVCS(tt.vcs, tt.root)
		if (err == nil) != tt.ok {
			t.Errorf("GOVCS=%q GOPRIVATE=%q %s %s: %v, want ok=%v", tt.govcs, tt.private, tt.vcs, tt.root, err, tt.ok)
		}
	}
	d := &Direct{GOPRIVATE: "example.com"}
	d.init()
	if err := d.checkGOVCS("git", "example.com/r"); err != nil {
		t.Fatal(err)
	}
	d = &Direct{GOVCS: "private:git", GOPRIVATE: "example.com"}
	d.init()
	if err := d.checkGOVCS("hg", "example.com/r"); err == nil || err.Error() != "GOVCS disallows using hg for private example.com/r; see 'go help vcs'" {
		t.Errorf("err = %v", err)
	}
}

// noGit is a Direct that must not run git or reach the network.
func noGit(t *testing.T) *Direct {
	return &Direct{
		WorkDir: t.TempDir(),
		Git:     filepath.Join(t.TempDir(), "no-git-here"),
		Client:  &http.Client{Transport: failTransport{t}},
	}
}

type failTransport struct{ t *testing.T }

func (f failTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	f.t.Errorf("unexpected request %s", r.URL)
	return nil, errors.New("no network in this test")
}

// TestDirectStaticLookups: the go command's table of hosting sites, its
// errors, and GOVCS, all without running git or using the network.
func TestDirectStaticLookups(t *testing.T) {
	ctx := context.Background()
	d := noGit(t)
	for _, tt := range []struct{ path, root, vcs, url, err string }{
		{path: "github.com/user", err: `invalid github.com import path "github.com/user"`},
		{path: "github.com/a/b.git", err: "invalid version control suffix in github.com/ path"},
		{path: "github.com/a/b/c/d", root: "github.com/a/b", vcs: "git", url: "https://github.com/a/b"},
		{path: "bitbucket.org/a/b/c", root: "bitbucket.org/a/b", vcs: "git", url: "https://bitbucket.org/a/b"},
		{path: "git.apache.org/thrift.git/lib/go", root: "git.apache.org/thrift.git", vcs: "git", url: "https://git.apache.org/thrift.git"},
		{path: "git.openstack.org/openstack/x/y", root: "git.openstack.org/openstack/x", vcs: "git", url: "https://git.openstack.org/openstack/x"},
		{path: "git.openstack.org/openstack/x.git/y", root: "git.openstack.org/openstack/x.git", vcs: "git", url: "https://git.openstack.org/openstack/x.git"}, // the go command's regexp keeps .git
		{path: "chiselapp.com/user/a/repository/b", err: "GOVCS disallows using fossil for public chiselapp.com/user/a/repository/b; see 'go help vcs'"},
		{path: "example.com/repo.svn/x", err: "GOVCS disallows using svn for public example.com/repo.svn; see 'go help vcs'"},
		{path: "example.com/repo.bzr", err: "GOVCS disallows using bzr for public example.com/repo.bzr; see 'go help vcs'"},
		{path: "example.com/repo.hg/x", root: "example.com/repo.hg", vcs: "hg", url: "https://example.com/repo"},
		{path: "example.net/x", err: "no modules on example.net"},
		{path: "rsc.io", err: "rsc.io is not a module"},
		{path: "https://x.com/y", err: `"https://" not allowed in import path`},
	} {
		rr, err := d.RepoRoot(ctx, tt.path)
		if tt.err != "" {
			if err == nil || err.Error() != tt.err || !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("RepoRoot(%s) = %+v, %v; want not-found error %q", tt.path, rr, err, tt.err)
			}
			continue
		}
		if err != nil || rr.Root != tt.root || rr.VCS != tt.vcs || rr.URL != tt.url || rr.Custom {
			t.Errorf("RepoRoot(%s) = %+v, %v", tt.path, rr, err)
		}
	}

	// Module methods give module context; hg is found but not run.
	_, err := d.Stat(ctx, "example.com/repo.svn", "v1.0.0")
	if err == nil || err.Error() != "example.com/repo.svn@v1.0.0: GOVCS disallows using svn for public example.com/repo.svn; see 'go help vcs'" || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("svn: %v", err)
	}
	_, err = d.List(ctx, "example.com/repo.hg")
	if !errors.Is(err, ErrVCSNotSupported) || errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "lookup example.com/repo.hg: hg repository https://example.com/repo") {
		t.Errorf("hg: %v", err)
	}
	// A bad GOVCS is reported where GOVCS is consulted.
	bad := noGit(t)
	bad.GOVCS = "nocolon"
	if _, err := bad.Stat(ctx, "github.com/a/b", "v1.0.0"); err == nil || !strings.Contains(err.Error(), `malformed entry in GOVCS (missing colon): "nocolon"`) {
		t.Errorf("bad GOVCS: %v", err)
	}
	// Invalid module paths fail before any lookup.
	var ipe *module.InvalidPathError
	if _, err := d.Stat(ctx, "Example.com/x", "v1.0.0"); !errors.As(err, &ipe) {
		t.Errorf("invalid path: %v", err)
	}
}

func TestParseMetaGoImports(t *testing.T) {
	for _, tt := range []struct {
		page string
		want []metaImport
		err  bool
	}{
		{`<meta name="go-import" content="a.com/b git https://x/b">`, []metaImport{{"a.com/b", "git", "https://x/b", ""}}, false},
		{`<html><head><META NAME="go-import" CONTENT="a.com/b git https://x/b sub/dir"></head>`, []metaImport{{"a.com/b", "git", "https://x/b", "sub/dir"}}, false},
		{`<meta name="go-import" content="a.com/b git">`, nil, false},
		{`<meta name="go-import" content="a b c d e">`, nil, false},
		{`<head></head><meta name="go-import" content="a.com/b git https://x/b">`, nil, false},
		{`<body><meta name="go-import" content="a.com/b git https://x/b">`, nil, false},
		{`<meta name="go-import" content="a.com/b git https://x/b"><meta name="go-import" content="a.com/b mod https://p">`,
			[]metaImport{{"a.com/b", "mod", "https://p", ""}}, false},
		{`<meta name="go-import" content="a.com/c git https://x/c"><meta name="go-import" content="a.com/b mod https://p">`,
			[]metaImport{{"a.com/b", "mod", "https://p", ""}, {"a.com/c", "git", "https://x/c", ""}}, false},
		{`<?xml version="1.0" encoding="latin1"?><meta name="go-import" content="a.com/b git https://x/b">`, nil, true},
	} {
		got, err := parseMetaGoImports(strings.NewReader(tt.page))
		if (err != nil) != tt.err || !slices.Equal(got, tt.want) {
			t.Errorf("parse(%q) = %v, %v; want %v (error %v)", tt.page, got, err, tt.want, tt.err)
		}
	}
}

func TestMatchGoImport(t *testing.T) {
	imports := []metaImport{{"a.com/b", "git", "https://x/b", ""}, {"a.com/bc", "git", "https://x/bc", ""}}
	if m, err := matchGoImport(imports, "a.com/b/c"); err != nil || m.Prefix != "a.com/b" {
		t.Errorf("match = %v, %v", m, err)
	}
	_, err := matchGoImport(imports, "a.com/x")
	if err == nil || err.Error() != "meta tag a.com/b did not match import path a.com/x, meta tag a.com/bc did not match import path a.com/x" {
		t.Errorf("mismatch: %v", err)
	}
	_, err = matchGoImport(append(imports, metaImport{"a.com/b", "hg", "https://y", ""}), "a.com/b")
	if err == nil || err.Error() != `multiple meta tags match import path "a.com/b"` {
		t.Errorf("multiple: %v", err)
	}
	m, err := matchGoImport([]metaImport{{"a.com/b", "mod", "https://p", ""}, {"a.com/b", "git", "https://x", ""}}, "a.com/b")
	if err != nil || m.VCS != "mod" {
		t.Errorf("mod first: %v, %v", m, err)
	}
}

func standardDirect(t *testing.T, s *gitfixture.Standard) *Direct {
	return &Direct{WorkDir: t.TempDir(), Client: s.Client(), Env: s.GitEnv(), GitTimeout: time.Minute}
}

// TestDirectWorld runs the tests that need the standard fixture world,
// sharing one (building it takes a few seconds).
func TestDirectWorld(t *testing.T) {
	s := gitfixture.NewStandard(t)
	t.Run("Discovery", func(t *testing.T) { testDirectDiscovery(t, s) })
	t.Run("Modules", func(t *testing.T) { testDirectModules(t, s) })
	t.Run("RepositoryDisappears", func(t *testing.T) { testDirectRepositoryDisappears(t, s) })
	t.Run("GitHangs", func(t *testing.T) { testDirectGitHangs(t, s) })
	t.Run("FailedFetchLeavesNothing", func(t *testing.T) { testDirectFailedFetchLeavesNothing(t, s) })
	t.Run("RemoveWorkDir", func(t *testing.T) { testDirectRemoveWorkDir(t, s) })
	t.Run("RefsTTL", func(t *testing.T) { testDirectRefsTTL(t, s) })
	t.Run("ConcurrentFetches", func(t *testing.T) { testDirectConcurrentFetches(t, s) })
	t.Run("Cancel", func(t *testing.T) { testDirectCancel(t, s) })
}

// testDirectDiscovery: go-get discovery through the World, its errors,
// its cache, and GOINSECURE.
func testDirectDiscovery(t *testing.T, s *gitfixture.Standard) {
	ctx := context.Background()
	d := standardDirect(t, s)

	rr, err := d.RepoRoot(ctx, "vanity.example.com/lib/sub")
	if err != nil || *rr != (RepoRoot{VCS: "git", URL: "https://git.example.com/lib", Root: "vanity.example.com/lib", Custom: true}) {
		t.Fatalf("RepoRoot = %+v, %v", rr, err)
	}
	rr, err = d.RepoRoot(ctx, "vanity.example.com/sd")
	if err != nil || rr.Subdir != "go/sd" || rr.URL != "https://git.example.com/monorepo" {
		t.Fatalf("RepoRoot(sd) = %+v, %v", rr, err)
	}
	n := len(s.Requests())
	if _, err := d.RepoRoot(ctx, "vanity.example.com/lib/sub"); err != nil || len(s.Requests()) != n {
		t.Errorf("second lookup: %v, %d new requests", err, len(s.Requests())-n)
	}

	for _, tt := range []struct{ path, err string }{
		{"vanity.example.com/liar/pkg", `unrecognized import path "vanity.example.com/liar/pkg": https://vanity.example.com/liar/pkg?go-get=1 and //vanity.example.com/liar?go-get=1 disagree about go-import for vanity.example.com/liar`},
		{"vanity.example.com/none", `unrecognized import path "vanity.example.com/none": parse https://vanity.example.com/none?go-get=1: no go-import meta tags ()`},
		{"vanity.example.com/nothere", `unrecognized import path "vanity.example.com/nothere": reading https://vanity.example.com/nothere?go-get=1: 404 Not Found` + "\n\tserver response: no such page"},
		{"nodot/x", `unrecognized import path "nodot/x": import path does not begin with hostname`},
	} {
		_, err := d.RepoRoot(ctx, tt.path)
		if err == nil || err.Error() != tt.err || !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("RepoRoot(%s) = %v\nwant not-found error %q", tt.path, err, tt.err)
		}
	}
	var he *modfetch.HTTPError
	if _, err := d.RepoRoot(ctx, "vanity.example.com/nothere"); !errors.As(err, &he) || he.StatusCode != 404 {
		t.Errorf("404 page: %v", err)
	}

	// A client that does not trust the server: https fails, unless
	// GOINSECURE allows skipping the check.
	un := standardDirect(t, s)
	un.Client = s.UntrustingClient()
	_, err = un.RepoRoot(ctx, "vanity.example.com/lib")
	if err == nil || !strings.HasPrefix(err.Error(), `unrecognized import path "vanity.example.com/lib": https fetch: Get "https://vanity.example.com/lib?go-get=1": tls: failed to verify certificate`) {
		t.Errorf("untrusted: %v", err)
	}
	if errors.Is(err, fs.ErrNotExist) {
		t.Errorf("untrusted: a failure to reach the server is not-found: %v", err)
	}
	un = standardDirect(t, s)
	un.Client = s.UntrustingClient()
	un.GOINSECURE = "vanity.example.com"
	if rr, err := un.RepoRoot(ctx, "vanity.example.com/lib"); err != nil || rr.Root != "vanity.example.com/lib" {
		t.Errorf("GOINSECURE: %+v, %v", rr, err)
	}
	// The same through a transport wrapping the untrusting one (as
	// goenv's netrc transport does): the wrapper stays in use.
	un = standardDirect(t, s)
	uc := *s.UntrustingClient()
	hw := &headerWrapper{next: uc.Transport, used: new(atomic.Int32)}
	uc.Transport = hw
	un.Client = &uc
	un.GOINSECURE = "vanity.example.com"
	if rr, err := un.RepoRoot(ctx, "vanity.example.com/lib"); err != nil || rr.Root != "vanity.example.com/lib" {
		t.Errorf("GOINSECURE through a wrapping transport: %+v, %v", rr, err)
	}
	if hw.used.Load() == 0 {
		t.Error("GOINSECURE did not reach the host over https through the wrapping transport")
	}

	// A host without https: only GOINSECURE falls back to http.
	_, err = d.RepoRoot(ctx, "insecure.example.com/lib")
	if err == nil || !strings.HasPrefix(err.Error(), `unrecognized import path "insecure.example.com/lib": https fetch: Get "https://insecure.example.com/lib?go-get=1":`) || errors.Is(err, fs.ErrNotExist) {
		t.Errorf("http-only host: %v; want a failure that is not not-found", err)
	}
	in := standardDirect(t, s)
	in.GOINSECURE = "insecure.example.com"
	info, err := in.Stat(ctx, "insecure.example.com/lib", "v1.0.0")
	if err != nil || info.Version != "v1.0.0" {
		t.Errorf("GOINSECURE http fallback: %+v, %v", info, err)
	}
	if !slices.Contains(s.Requests(), "insecure.example.com/lib?go-get=1") {
		t.Errorf("no plain http request: %v", s.Requests())
	}

	// A "mod" tag hands the module to a proxy.
	info, err = d.Stat(ctx, "vanity.example.com/viaproxy", "v1.0.0")
	if err != nil || info.Version != "v1.0.0" {
		t.Fatalf("viaproxy: %+v, %v", info, err)
	}
	if !slices.Contains(s.Requests(), "proxy.example.com/vanity.example.com/viaproxy/@v/v1.0.0.info") {
		t.Errorf("proxy not asked: %v", s.Requests())
	}
}

// zipNames returns the sorted entry names of a module zip.
func zipNames(t *testing.T, rc io.ReadCloser) []string {
	t.Helper()
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
	}
	sort.Strings(names)
	return names
}

// testDirectModules: versions, go.mod files and zip contents of the
// standard fixtures (the end-to-end tests compare them with the go
// command's; these pin the rules down independently).
func testDirectModules(t *testing.T, s *gitfixture.Standard) {
	ctx := context.Background()
	d := standardDirect(t, s)

	list, err := d.List(ctx, "github.com/fix/basic")
	if want := []string{"v1.0.0", "v1.1.0", "v1.2.0-rc.1"}; err != nil || !slices.Equal(list, want) {
		t.Errorf("List(basic) = %v, %v; want %v", list, err, want)
	}
	list, err = d.List(ctx, "github.com/fix/nomod")
	if want := []string{"v1.0.0", "v2.0.0+incompatible", "v3.0.0+incompatible"}; err != nil || !slices.Equal(list, want) {
		t.Errorf("List(nomod) = %v, %v; want %v", list, err, want)
	}
	list, err = d.List(ctx, "github.com/fix/multi")
	if want := []string{"v1.0.0"}; err != nil || !slices.Equal(list, want) {
		t.Errorf("List(multi) = %v, %v; want %v (v2.0.0 has a go.mod: not +incompatible)", list, err, want)
	}

	info, err := d.Stat(ctx, "github.com/fix/basic", "main")
	want := module.PseudoVersion("", "v1.1.0", gitfixture.At(2), s.Hash["basic/main"][:12])
	if err != nil || info.Version != want || info.Origin.Ref != "" || info.Origin.Hash != s.Hash["basic/main"] {
		t.Errorf("Stat(main) = %+v, %v; want %s", info, err, want)
	}
	info, err = d.Stat(ctx, "github.com/fix/multi/sub", "v1.1.0")
	if err != nil || info.Origin.Subdir != "sub" || info.Origin.Ref != "refs/tags/sub/v1.1.0" {
		t.Errorf("Stat(sub) = %+v %+v, %v", info, info.Origin, err)
	}
	if _, err := d.Stat(ctx, "github.com/fix/basic", "v1.9.9"); !errors.Is(err, fs.ErrNotExist) || err.Error() != "github.com/fix/basic@v1.9.9: invalid version: unknown revision v1.9.9" {
		t.Errorf("unknown version: %v", err)
	}
	// Versions that are not the module's: not found, so that a proxy
	// answers 404 as proxy.golang.org does.
	for _, v := range []string{
		"v1.1.1-0.20000101000000-" + s.Hash["basic/main"][:12], // wrong time
		"v2.0.0+incompatible", // basic has a go.mod
	} {
		if _, err := d.Stat(ctx, "github.com/fix/basic", v); err == nil || !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Stat(basic@%s) = %v; want a not-found error", v, err)
		}
	}
	// A version with no tag has no go.mod, not a synthesised one, and
	// no zip.
	for _, m := range []struct{ path, version string }{
		{"github.com/fix/basic", "v1.9.9"},
		{"github.com/fix/nomod", "v9.0.0+incompatible"},
	} {
		if mod, err := d.GoMod(ctx, m.path, m.version); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("GoMod(%s@%s) = %q, %v; want not found", m.path, m.version, mod, err)
		}
		if rc, err := d.Zip(ctx, m.path, m.version); !errors.Is(err, fs.ErrNotExist) {
			if rc != nil {
				rc.Close()
			}
			t.Errorf("Zip(%s@%s): %v; want not found", m.path, m.version, err)
		}
	}

	mod, err := d.GoMod(ctx, "github.com/fix/nomod", "v2.0.0+incompatible")
	if err != nil || string(mod) != "module github.com/fix/nomod\n" {
		t.Errorf("synthesised go.mod = %q, %v", mod, err)
	}
	if _, err := d.GoMod(ctx, "github.com/fix/basic", "main"); err == nil {
		t.Error("GoMod accepted a branch name")
	}

	rc, err := d.Zip(ctx, "github.com/fix/layout", "v1.0.0")
	if err != nil {
		t.Fatal(err)
	}
	p := "github.com/fix/layout@v1.0.0/"
	names := zipNames(t, rc)
	// go 1.24: vendor/modules.txt and deep/vendor/... are dropped too.
	if want := []string{p + "LICENSE", p + "go.mod", p + "l.go", p + "vendor/keep.go"}; !slices.Equal(names, want) {
		t.Errorf("layout zip = %v\nwant %v", names, want)
	}
	rc, err = d.Zip(ctx, "github.com/fix/multi/sub", "v1.0.0")
	if err != nil {
		t.Fatal(err)
	}
	p = "github.com/fix/multi/sub@v1.0.0/"
	if names, want := zipNames(t, rc), []string{p + "LICENSE", p + "README", p + "go.mod", p + "sub.go"}; !slices.Equal(names, want) {
		t.Errorf("sub zip = %v\nwant %v (with the root LICENSE)", names, want)
	}
	rc, err = d.Zip(ctx, "github.com/fix/multi", "v1.0.0")
	if err != nil {
		t.Fatal(err)
	}
	p = "github.com/fix/multi@v1.0.0/"
	if names, want := zipNames(t, rc), []string{p + "LICENSE", p + "go.mod", p + "root.go"}; !slices.Equal(names, want) {
		t.Errorf("multi zip = %v\nwant %v (without the nested module)", names, want)
	}
	if _, err := d.Zip(ctx, "github.com/fix/huge", "v1.1.0"); err == nil || !strings.Contains(err.Error(), "LICENSE file too large") {
		t.Errorf("huge LICENSE: %v", err)
	}

	// Temporary files do not outlive the calls.
	tmp := t.TempDir()
	d2 := standardDirect(t, s)
	d2.TempDir = tmp
	rc, err = d2.Zip(ctx, "github.com/fix/basic", "v1.0.0")
	if err != nil {
		t.Fatal(err)
	}
	rc.Close()
	if _, err := d2.Zip(ctx, "github.com/fix/huge", "v1.1.0"); err == nil {
		t.Error("huge LICENSE accepted")
	}
	if ents, _ := os.ReadDir(tmp); len(ents) != 0 {
		t.Errorf("temporary files left: %v", ents)
	}
}

// testDirectRepositoryDisappears: a repository deleted between calls is
// not found (through the go command's existence check); what the work
// directory already holds stays consistent, and the repository coming
// back is picked up.
func testDirectRepositoryDisappears(t *testing.T, s *gitfixture.Standard) {
	ctx := context.Background()
	d := standardDirect(t, s)
	if _, err := d.Stat(ctx, "github.com/fix/basic", "v1.0.0"); err != nil {
		t.Fatal(err)
	}
	saved := filepath.Join(t.TempDir(), "saved")
	if err := os.Rename(s.RepoDir("github.com/fix/basic"), saved); err != nil {
		t.Fatal(err)
	}
	_, err := d.Stat(ctx, "github.com/fix/basic", "main")
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "repository 'https://github.com/fix/basic/' not found") {
		t.Errorf("Stat after deletion: %v", err)
	}
	if _, err := d.List(ctx, "github.com/fix/basic"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("List after deletion: %v", err)
	}
	rr, _ := d.RepoRoot(ctx, "github.com/fix/basic")
	repo, _ := d.gitRepo(rr.URL)
	if out, err := exec.Command("git", "--git-dir", repo.Dir(), "fsck", "--no-progress").CombinedOutput(); err != nil {
		t.Errorf("work directory damaged: %v\n%s", err, out)
	}
	// Tags already fetched are still served from the work directory,
	// as by the go command.
	if info, err := d.Stat(ctx, "github.com/fix/basic", "v1.0.0"); err != nil || info.Version != "v1.0.0" {
		t.Errorf("cached tag after deletion: %+v, %v", info, err)
	}
	if err := os.Rename(saved, s.RepoDir("github.com/fix/basic")); err != nil {
		t.Fatal(err)
	}
	if info, err := d.Stat(ctx, "github.com/fix/basic", "feature"); err != nil || !strings.HasPrefix(info.Version, "v1.2.0-rc.1.0.") {
		t.Errorf("Stat after the repository came back: %+v, %v", info, err)
	}
}

// testDirectGitHangs: git talking to a server that never answers is
// killed at GitTimeout, with its helper processes.
func testDirectGitHangs(t *testing.T, s *gitfixture.Standard) {
	// A repository name of its own, so that processes of other tests
	// (running in parallel) are not mistaken for ours.
	name := fmt.Sprintf("hang%d", time.Now().UnixNano())
	release := make(chan struct{})
	defer close(release)
	t.Cleanup(func() { s.Intercept(nil) })
	s.Intercept(func(w http.ResponseWriter, r *http.Request) bool {
		if strings.HasPrefix(r.URL.Path, "/fix/"+name+"/") {
			select {
			case <-r.Context().Done():
			case <-release:
			}
			return true
		}
		return false
	})
	d := standardDirect(t, s)
	d.GitTimeout = 500 * time.Millisecond
	start := time.Now()
	_, err := d.Stat(context.Background(), "github.com/fix/"+name, "v1.0.0")
	var te *vcs.TimeoutError
	if !errors.As(err, &te) || !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("err = %v, want a timeout", err)
	}
	if el := time.Since(start); el > 10*time.Second {
		t.Errorf("took %v", el)
	}
	// No git process for the repository is left.
	if runtime.GOOS == "linux" {
		fixture.WaitFor(t, "the repository's git processes to end", func() bool {
			return len(processesMentioning("https://github.com/fix/"+name)) == 0
		})
	}
}

// processesMentioning lists live (not zombie) processes whose command
// line contains s.
func processesMentioning(s string) []string {
	ents, _ := os.ReadDir("/proc")
	var found []string
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		cmdline, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil || !bytes.Contains(cmdline, []byte(s)) {
			continue
		}
		stat, _ := os.ReadFile("/proc/" + e.Name() + "/stat")
		if i := bytes.LastIndexByte(stat, ')'); i >= 0 && i+2 < len(stat) && (stat[i+2] == 'Z' || stat[i+2] == 'X') {
			continue
		}
		found = append(found, string(bytes.ReplaceAll(cmdline, []byte{0}, []byte{' '})))
	}
	return found
}

// TestDirectFakeGitHangs: with a git that never exits, the whole process
// group goes at the timeout and no zombie is left.
func TestDirectFakeGitHangs(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("skipping: inspects /proc")
	}
	dir := t.TempDir()
	fake := filepath.Join(dir, "git")
	os.WriteFile(fake, []byte("#!/bin/sh\necho $$ > \"$PIDDIR/leader\"\nsleep 1000 &\necho $! > \"$PIDDIR/child\"\nwait\n"), 0o777)
	d := noGit(t)
	d.Git = fake
	d.GitTimeout = time.Second
	d.Env = []string{"PIDDIR=" + dir}
	_, err := d.List(context.Background(), "github.com/fix/basic")
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "timed out after 1s") {
		t.Fatalf("err = %v", err)
	}
	for _, name := range []string{"leader", "child"} {
		data, _ := os.ReadFile(filepath.Join(dir, name))
		pid, _ := strconv.Atoi(strings.TrimSpace(string(data)))
		if pid == 0 {
			t.Fatalf("no %s pid", name)
		}
		fixture.WaitFor(t, fmt.Sprintf("%s (pid %d) to end", name, pid), func() bool {
			stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
			if err != nil {
				return true // gone, reaped
			}
			// Our child must be reaped (no zombie); the grandchild,
			// re-parented, may wait for init to reap it.
			i := bytes.LastIndexByte(stat, ')')
			return name == "child" && i >= 0 && i+2 < len(stat) && stat[i+2] == 'Z'
		})
	}
}

// testDirectFailedFetchLeavesNothing: a fetch that fails (the server
// breaks mid-way) leaves no half-made state; the next call works.
func testDirectFailedFetchLeavesNothing(t *testing.T, s *gitfixture.Standard) {
	var broken sync.Map
	broken.Store("on", true)
	t.Cleanup(func() { s.Intercept(nil) })
	s.Intercept(func(w http.ResponseWriter, r *http.Request) bool {
		if _, on := broken.Load("on"); on && strings.HasSuffix(r.URL.Path, "/git-upload-pack") {
			http.Error(w, "broken", http.StatusInternalServerError)
			return true
		}
		return false
	})
	d := standardDirect(t, s)
	ctx := context.Background()
	if _, err := d.Stat(ctx, "github.com/fix/basic", "v1.0.0"); err == nil {
		t.Fatal("fetch from a broken server succeeded")
	}
	ents, _ := os.ReadDir(d.WorkDir)
	for _, e := range ents {
		if strings.Contains(e.Name(), ".tmp-") {
			t.Errorf("temporary directory left: %s", e.Name())
		}
		if e.IsDir() {
			filepath.WalkDir(filepath.Join(d.WorkDir, e.Name()), func(p string, de fs.DirEntry, err error) error {
				if err == nil && (strings.HasSuffix(p, ".lock") || strings.Contains(filepath.Base(p), "tmp_pack")) {
					t.Errorf("left behind: %s", p)
				}
				return nil
			})
		}
	}
	broken.Delete("on")
	if info, err := d.Stat(ctx, "github.com/fix/basic", "v1.0.0"); err != nil || info.Version != "v1.0.0" {
		t.Fatalf("after the server recovered: %+v, %v", info, err)
	}
}

// testDirectRemoveWorkDir: the work directory goes, and comes back on the
// next request.
func testDirectRemoveWorkDir(t *testing.T, s *gitfixture.Standard) {
	ctx := context.Background()
	d := standardDirect(t, s)
	if _, err := d.Stat(ctx, "github.com/fix/multi/sub", "v1.0.0"); err != nil {
		t.Fatal(err)
	}
	rr, _ := d.RepoRoot(ctx, "github.com/fix/multi")
	repo, _ := d.gitRepo(rr.URL)
	if _, err := os.Stat(repo.Dir()); err != nil {
		t.Fatal(err)
	}
	if err := d.RemoveWorkDir(ctx, "github.com/fix/multi/sub"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(repo.Dir()); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("work dir still there: %v", err)
	}
	if info, err := d.Stat(ctx, "github.com/fix/multi/sub", "v1.1.0"); err != nil || info.Version != "v1.1.0" {
		t.Fatalf("after removal: %+v, %v", info, err)
	}
}

// testDirectRefsTTL: with RefsTTL, calls reuse the listing of refs.
func testDirectRefsTTL(t *testing.T, s *gitfixture.Standard) {
	ctx := context.Background()
	count := func() int {
		n := 0
		for _, r := range s.Requests() {
			if strings.HasPrefix(r, "github.com/fix/basic/info/refs") {
				n++
			}
		}
		return n
	}
	for _, ttl := range []time.Duration{0, time.Hour} {
		d := standardDirect(t, s)
		d.RefsTTL = ttl
		if _, err := d.Stat(ctx, "github.com/fix/basic", "v1.0.0"); err != nil {
			t.Fatal(err)
		}
		before := count()
		for range 3 {
			if _, err := d.GoMod(ctx, "github.com/fix/basic", "v1.0.0"); err != nil {
				t.Fatal(err)
			}
		}
		got := count() - before
		if ttl == 0 && got != 3 || ttl > 0 && got != 0 {
			t.Errorf("RefsTTL %v: %d listings for 3 calls", ttl, got)
		}
	}
}

// testDirectConcurrentFetches: Directs sharing a work directory, in this
// process and in two others, fetch one repository at once.
func testDirectConcurrentFetches(t *testing.T, s *gitfixture.Standard) {
	work := t.TempDir()
	ctx := context.Background()
	queries := []string{"v1.0.0", "v1.1.0", "main", "feature", s.Hash["basic/v1.1.0"][:8]}

	// Two other processes.
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	var procs []*exec.Cmd
	var outs []*bytes.Buffer
	for range 2 {
		cmd := exec.Command(exe, "-test.run=^TestDirectHelperProcess$")
		cmd.Env = append(os.Environ(),
			"MODFETCH_DIRECT_HELPER=1",
			"MODFETCH_HELPER_WORKDIR="+work,
			"MODFETCH_HELPER_PROXY="+s.ProxyURL(),
			"MODFETCH_HELPER_CA="+s.CAFile,
			"MODFETCH_HELPER_GITENV="+strings.Join(s.GitEnv(), "\x1f"),
			"MODFETCH_HELPER_QUERIES="+strings.Join(queries, ","),
		)
		out := new(bytes.Buffer)
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		procs = append(procs, cmd)
		outs = append(outs, out)
	}

	// And goroutines with two Directs here.
	results := make([][]string, 4)
	var wg sync.WaitGroup
	for i := range results {
		d := standardDirect(t, s)
		d.WorkDir = work
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = fetchAll(ctx, d, queries)
		}()
	}
	wg.Wait()
	for i, p := range procs {
		if err := p.Wait(); err != nil {
			t.Fatalf("helper process: %v\n%s", err, outs[i])
		}
		var lines []string
		sc := bufio.NewScanner(outs[i])
		for sc.Scan() {
			if l := sc.Text(); strings.HasPrefix(l, "RESULT ") {
				lines = append(lines, strings.TrimPrefix(l, "RESULT "))
			}
		}
		results = append(results, lines)
	}
	for i, r := range results {
		if !slices.Equal(r, results[0]) {
			t.Errorf("results %d differ:\n%v\n%v", i, r, results[0])
		}
	}
	for _, l := range results[0] {
		if strings.Contains(l, "ERROR") {
			t.Errorf("fetch failed: %s", l)
		}
	}
	if len(results[0]) != len(queries) {
		t.Fatalf("results: %v", results[0])
	}
	ents, _ := os.ReadDir(work)
	for _, e := range ents {
		if e.IsDir() {
			if out, err := exec.Command("git", "--git-dir", filepath.Join(work, e.Name()), "fsck", "--no-progress").CombinedOutput(); err != nil {
				t.Errorf("git fsck: %v\n%s", err, out)
			}
		}
	}
}

// fetchAll resolves each query and hashes the version's zip.
func fetchAll(ctx context.Context, d *Direct, queries []string) []string {
	var out []string
	for _, q := range queries {
		info, err := d.Stat(ctx, "github.com/fix/basic", q)
		if err != nil {
			out = append(out, fmt.Sprintf("%s ERROR %v", q, err))
			continue
		}
		rc, err := d.Zip(ctx, "github.com/fix/basic", info.Version)
		if err != nil {
			out = append(out, fmt.Sprintf("%s ERROR %v", q, err))
			continue
		}
		n, _ := io.Copy(io.Discard, rc)
		rc.Close()
		out = append(out, fmt.Sprintf("%s %s %d", q, info.Version, n))
	}
	return out
}

// TestDirectHelperProcess is run by testDirectConcurrentFetches in other
// processes.
func TestDirectHelperProcess(t *testing.T) {
	if os.Getenv("MODFETCH_DIRECT_HELPER") != "1" {
		t.Skip("skipping: helper process for TestDirectWorld/ConcurrentFetches")
	}
	pu, err := url.Parse(os.Getenv("MODFETCH_HELPER_PROXY"))
	if err != nil {
		t.Fatal(err)
	}
	pem, err := os.ReadFile(os.Getenv("MODFETCH_HELPER_CA"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	d := &Direct{
		WorkDir: os.Getenv("MODFETCH_HELPER_WORKDIR"),
		Env:     strings.Split(os.Getenv("MODFETCH_HELPER_GITENV"), "\x1f"),
		Client:  &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(pu), TLSClientConfig: &tls.Config{RootCAs: pool}}},
	}
	for _, l := range fetchAll(context.Background(), d, strings.Split(os.Getenv("MODFETCH_HELPER_QUERIES"), ",")) {
		fmt.Println("RESULT " + l)
	}
}

// testDirectCancel: a canceled request returns promptly with the
// context's error.
func testDirectCancel(t *testing.T, s *gitfixture.Standard) {
	t.Cleanup(func() { s.Intercept(nil) })
	s.Intercept(func(w http.ResponseWriter, r *http.Request) bool {
		if strings.HasPrefix(r.URL.Path, "/fix/basic/") {
			<-r.Context().Done()
			return true
		}
		return false
	})
	d := standardDirect(t, s)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := d.Stat(ctx, "github.com/fix/basic", "v1.0.0")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
	if el := time.Since(start); el > 10*time.Second {
		t.Errorf("took %v", el)
	}
}

// headerWrapper is a TransportWrapper that counts the https requests
// answered through any of its copies.
type headerWrapper struct {
	next http.RoundTripper
	used *atomic.Int32
}

func (h *headerWrapper) RoundTrip(req *http.Request) (*http.Response, error) {
	if h.used == nil {
		panic("headerWrapper without counter")
	}
	resp, err := h.next.RoundTrip(req)
	if err == nil && req.URL.Scheme == "https" {
		h.used.Add(1)
	}
	return resp, err
}

func (h *headerWrapper) Unwrap() http.RoundTripper { return h.next }

func (h *headerWrapper) Rewrap(next http.RoundTripper) http.RoundTripper {
	return &headerWrapper{next: next, used: h.used}
}

// TestUnreachable: what makes a failed repository lookup a failure
// rather than not-found (DESIGN: 403, 5xx, timeouts and DNS errors are
// not "not found").
func TestUnreachable(t *testing.T) {
	status := func(code int) error {
		return fmt.Errorf("unrecognized import path %q: %w", "x.example/m", &modfetch.HTTPError{StatusCode: code, Status: http.StatusText(code)})
	}
	for _, tt := range []struct {
		err  error
		want bool
	}{
		{status(404), false},
		{status(410), false},
		{status(403), true},
		{status(503), true},
		{fmt.Errorf("https fetch: %w", &url.Error{Op: "Get", URL: "https://x.example", Err: errors.New("dial tcp: lookup x.example: no such host")}), true},
		{errors.New("parse https://x.example: no go-import meta tags ()"), false},
	} {
		if got := unreachable(tt.err); got != tt.want {
			t.Errorf("unreachable(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}
