package e2e

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"

	"github.com/modfetch/modfetch"
	"github.com/modfetch/modfetch/checksum"
	"github.com/modfetch/modfetch/internal/gitfixture"
	"github.com/modfetch/modfetch/internal/h1"
	"github.com/modfetch/modfetch/upstream"
)

// directHome is a go command environment that fetches with GOPROXY=direct
// from the fixture world s.
func directHome(t *testing.T, s *gitfixture.Standard) *home {
	t.Helper()
	h := newHome(t, &world{})
	for k, v := range s.GoEnv() {
		h.env[k] = v
	}
	return h
}

// directFor is our Direct in the same world.
func directFor(t *testing.T, s *gitfixture.Standard) *upstream.Direct {
	return &upstream.Direct{
		WorkDir: t.TempDir(),
		Client:  s.Client(),
		Env:     s.GitEnv(),
	}
}

// workDirRE matches the directory a git command ran in, which differs
// between the go command and us (and between runs).
var workDirRE = regexp.MustCompile(` in /[^:\s]*:`)

func normError(s string) string {
	return workDirRE.ReplaceAllString(s, " in $$DIR:")
}

// directArgs are the module versions compared by `go mod download`.
func directArgs(s *gitfixture.Standard) []string {
	h := s.Hash
	// pv is the pseudo-version of hash at hour n after major or older.
	pv := func(major, older string, n int, hash string) string {
		return module.PseudoVersion(major, older, gitfixture.At(n), hash[:12])
	}
	return []string{
		"github.com/fix/basic@v1.0.0",
		"github.com/fix/basic@v1.1.0",                                          // annotated tag
		"github.com/fix/basic@v1.2.0-rc.1",                                     // pre-release on a branch
		"github.com/fix/basic@" + pv("", "v1.1.0", 2, h["basic/main"]),         // pseudo, form 2
		"github.com/fix/basic@" + pv("", "v1.2.0-rc.1", 4, h["basic/feature"]), // form 3
		"github.com/fix/basic@" + pv("", "v1.0.0", 2, h["basic/main"]),         // lower base, still valid
		"github.com/fix/basic@" + pv("", "", 2, h["basic/main"]),               // no base, v0
		"github.com/fix/basic@v1.9.9",                                          // unknown revision
		"github.com/fix/basic@" + pv("", "v1.1.0", 2, "000000000000"),          // wrong revision
		"github.com/fix/basic@v1.1.1-0.20990101000000-" + h["basic/main"][:12], // wrong time
		"github.com/fix/basic@" + pv("", "v1.1.0", 1, h["basic/v1.1.0"]),       // base is the commit's own tag
		"github.com/fix/basic@" + pv("", "v1.3.0", 2, h["basic/main"]),         // base tag missing
		"github.com/fix/multi@v1.0.0",                                          // nested module excluded
		"github.com/fix/multi/sub@v1.0.0",                                      // subdirectory module, root LICENSE
		"github.com/fix/multi/sub@v1.1.0",                                      //
		"github.com/fix/multi/v2@v2.0.0",                                       // /v2 in a subdirectory
		"github.com/fix/multi@v2.0.0+incompatible",                             // has go.mod: not incompatible
		"github.com/fix/multi/sub@" + pv("", "v1.0.0", 2, h["multi/main"]),     // subdir pseudo
		"github.com/fix/major@v1.0.0",                                          //
		"github.com/fix/major/v2@v2.0.0",                                       // /v2 on a branch
		"github.com/fix/major/v2@" + pv("v2", "", 1, h["major/v2-first"]),      // form 1, major 2
		"github.com/fix/major@v2.0.0",                                          // go.mod says /v2
		"github.com/fix/nomod@v1.0.0",                                          // synthesised go.mod
		"github.com/fix/nomod@v2.0.0+incompatible",                             //
		"github.com/fix/nomod@" + pv("", "v3.0.0", 3, h["nomod/main"]) + "+incompatible",
		"github.com/fix/nomod@v2.0.0",                                // needs +incompatible
		"github.com/fix/notags@" + pv("", "", 1, h["notags/main"]),   // form 1
		"github.com/fix/notags@" + pv("v1", "", 1, h["notags/main"]), // v1 without a tag
		"github.com/fix/wrongpath@v1.0.0",                            // go.mod declares another path
		"github.com/fix/wrongpath@v1.1.0",                            // go.mod declares a /v3 path
		"github.com/fix/huge@v1.0.0",                                 // a 12 MiB file
		"github.com/fix/huge@v1.1.0",                                 // LICENSE over 16 MiB
		"github.com/fix/huge@v1.2.0",                                 // go.mod over 16 MiB
		"github.com/fix/layout@v1.0.0",                               // vendor, nested module, symlink
		"github.com/fix/empty@v1.0.0",                                // no commits
		"github.com/fix/missing@v1.0.0",                              // no such repository
		"github.com/user@v1.0.0",                                     // invalid github.com path
		"github.com/fix/basic.git@v1.0.0",                            // VCS suffix
		"vanity.example.com/lib@v1.0.0",                              // go-import
		"vanity.example.com/lib/sub@v0.1.0",                          // go-import for a prefix
		"vanity.example.com/sd@v1.0.0",                               // go-import with subdir
		"vanity.example.com/viaproxy@v1.0.0",                         // go-import "mod"
		"vanity.example.com/liar/pkg@v1.0.0",                         // disagreeing tags
		"vanity.example.com/none@v1.0.0",                             // a page without tags
		"vanity.example.com/nothere@v1.0.0",                          // 404 without tags
		"vanity.example.com/svnrepo@v1.0.0",                          // GOVCS
		"gopkg.in/fix.v1@v1.0.0",                                     // gopkg.in
		"gopkg.in/fix.v1@v2.0.0",                                     // wrong major for .v1
	}
}

// TestDirectMatchesGoCommand compares upstream.Direct with the go command
// (GOPROXY=direct) on the standard git fixtures, served hermetically.
func TestDirectMatchesGoCommand(t *testing.T) {
	goBin(t)
	s := gitfixture.NewStandard(t)
	t.Run("Download", func(t *testing.T) { testDirectDownload(t, s) })
	t.Run("Queries", func(t *testing.T) { testDirectQueries(t, s) })
	t.Run("GOVCSAndInsecure", func(t *testing.T) { testDirectGOVCSAndInsecure(t, s) })
}

// testDirectDownload downloads every fixture with the go command
// (GOPROXY=direct) and with upstream.Direct, and compares the versions,
// .info files (Version, Time, Origin), go.mod bytes, h1: hashes of zip and
// go.mod, and failures.
func testDirectDownload(t *testing.T, s *gitfixture.Standard) {
	h := directHome(t, s)
	d := directFor(t, s)
	args := directArgs(s)

	// The go command and ours run at the same time; ours does several
	// downloads at a time, as the go command does.
	ctx := context.Background()
	var out, stderr string
	goDone := make(chan struct{})
	goPath, goDir := goBin(t), t.TempDir()
	go func() {
		defer close(goDone)
		out, stderr, _ = h.run(t, goDir, goPath, append([]string{"mod", "download", "-json"}, args...)...)
	}()
	ours := make([]ourResult, len(args))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4)
	for i, arg := range args {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			path, vers, _ := strings.Cut(arg, "@")
			ours[i] = ourDownload(ctx, d, path, vers)
		}()
	}
	wg.Wait()
	<-goDone
	gm := decodeModules(t, out)
	if len(gm) != len(args) {
		t.Fatalf("go printed %d modules for %d arguments\n%s%s", len(gm), len(args), out, stderr)
	}
	for i, arg := range args {
		g, o := gm[i], ours[i]
		if arg == "github.com/fix/huge@v1.2.0" {
			// Known divergence: the go command reads a go.mod of any size
			// and fails only when making the zip; we refuse to read more
			// than the 16 MiB go.mod limit, so we fail at Stat.
			if g.Error == "" || !strings.Contains(o.Error, "go.mod file too large (max size is 16777216 bytes)") {
				t.Errorf("%s: go: %s, ours: %s", arg, g.Error, o.Error)
			}
			continue
		}
		if !sameError(arg, g.Error, o) {
			t.Errorf("%s: Error differs:\n  go:   %s\n  ours: %s", arg, g.Error, o.Error)
			continue
		}
		if g.Error != "" {
			continue
		}
		var gi modfetch.Info
		gInfo, _ := os.ReadFile(g.Info)
		if err := json.Unmarshal(gInfo, &gi); err != nil {
			t.Errorf("%s: go's .info: %v", arg, err)
			continue
		}
		oInfo, _ := json.Marshal(o.info)
		if g.Version != o.info.Version || !gi.Time.Equal(o.info.Time) || string(gInfo) != string(oInfo) {
			t.Errorf("%s: .info differs:\n  go:   %s\n  ours: %s", arg, gInfo, oInfo)
		}
		gMod, _ := os.ReadFile(g.GoMod)
		if !bytes.Equal(gMod, o.mod) {
			t.Errorf("%s: go.mod differs:\n  go:   %.200q\n  ours: %.200q", arg, gMod, o.mod)
		}
		if g.Sum != o.sum || g.GoModSum != o.modSum {
			t.Errorf("%s: sums differ: go %s %s, ours %s %s", arg, g.Sum, g.GoModSum, o.sum, o.modSum)
		}
	}

	// The failures that mean "not found" in the go command are not-found
	// errors here.
	for _, arg := range []string{"github.com/fix/basic@v1.9.9", "github.com/fix/missing@v1.0.0", "vanity.example.com/nothere@v1.0.0", "github.com/user@v1.0.0", "vanity.example.com/svnrepo@v1.0.0"} {
		path, vers, _ := strings.Cut(arg, "@")
		if _, err := d.Stat(ctx, path, vers); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s: %v is not a not-found error", arg, err)
		}
	}
	if _, err := d.Latest(ctx, "github.com/fix/empty"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("empty repository: Latest: %v is not a not-found error", err)
	}
}

// sameError reports whether our failure is the go command's. Where the go
// command reports a download (go.mod or zip) failure bare, ours carries
// the module context every Resolver error has: "path@version: ".
func sameError(arg, goErr string, o ourResult) bool {
	g, e := normError(goErr), normError(o.Error)
	if o.afterStat && g != "" && !strings.HasPrefix(g, arg+":") {
		g = o.version + ": " + g
	}
	return g == e
}

type ourResult struct {
	Error       string
	afterStat   bool   // the failure came after Stat succeeded
	version     string // path@version as Stat resolved it
	info        *modfetch.Info
	mod         []byte
	sum, modSum string
}

// ourDownload does what `go mod download` does with a Resolver: Stat,
// GoMod, Zip, stopping at the first failure.
func ourDownload(ctx context.Context, d *upstream.Direct, path, vers string) ourResult {
	var r ourResult
	info, err := d.Stat(ctx, path, vers)
	if err != nil {
		r.Error = err.Error()
		return r
	}
	r.info = info
	r.afterStat, r.version = true, path+"@"+info.Version
	mod, err := d.GoMod(ctx, path, info.Version)
	if err != nil {
		r.Error = err.Error()
		return r
	}
	r.mod = mod
	r.modSum, _ = checksum.HashGoMod(mod)
	rc, err := d.Zip(ctx, path, info.Version)
	if err != nil {
		r.Error = err.Error()
		return r
	}
	defer rc.Close()
	f, err := os.CreateTemp("", "modfetch-e2e-zip-")
	if err != nil {
		r.Error = err.Error()
		return r
	}
	defer os.Remove(f.Name())
	defer f.Close()
	size, err := io.Copy(f, rc)
	if err != nil {
		r.Error = err.Error()
		return r
	}
	zr, err := zip.NewReader(f, size)
	if err != nil {
		r.Error = err.Error()
		return r
	}
	for _, zf := range zr.File {
		if !strings.HasPrefix(zf.Name, path+"@"+info.Version+"/") {
			r.Error = "bad zip entry " + zf.Name
			return r
		}
	}
	r.sum, err = h1.ZipReader(zr)
	if err != nil {
		r.Error = err.Error()
	}
	return r
}

// listJSON is `go list -m -json` output.
type listJSON struct {
	Path, Version string
	Versions      []string
	Time          *time.Time
	Error         *struct{ Err string }
}

func goList(t *testing.T, h *home, args ...string) []listJSON {
	t.Helper()
	out, stderr, err := h.goCmd(t, t.TempDir(), append([]string{"list", "-m", "-e", "-json"}, args...)...)
	if err != nil && out == "" {
		t.Fatalf("go list: %v\n%s", err, stderr)
	}
	var list []listJSON
	dec := json.NewDecoder(strings.NewReader(out))
	for dec.More() {
		var m listJSON
		if err := dec.Decode(&m); err != nil {
			t.Fatalf("decoding %q: %v", out, err)
		}
		list = append(list, m)
	}
	return list
}

// ourQuery answers the go command's queries from Direct's answers: latest
// is the highest release in List (else pre-release, else Latest); a
// version prefix the highest matching listed version; anything else Stat.
// (The query layer itself lives in the root package; this is the little
// of it these comparisons need.)
func ourQuery(ctx context.Context, d *upstream.Direct, path, query string) (*modfetch.Info, error) {
	pick := func(match func(string) bool) (*modfetch.Info, error) {
		list, err := d.List(ctx, path)
		if err != nil {
			return nil, err
		}
		var best string
		for _, pre := range []bool{false, true} {
			for _, v := range list {
				if match(v) && (semver.Prerelease(v) != "") == pre && semver.Compare(v, best) > 0 {
					best = v
				}
			}
			if best != "" {
				return d.Stat(ctx, path, best)
			}
		}
		if query == "latest" {
			return d.Latest(ctx, path)
		}
		return nil, errors.New("no matching versions")
	}
	switch {
	case query == "latest":
		return pick(func(string) bool { return true })
	case versionPrefixRE.MatchString(query):
		return pick(func(v string) bool {
			return strings.HasPrefix(v, query+".") || strings.HasPrefix(semver.Canonical(v), query+".")
		})
	}
	return d.Stat(ctx, path, query)
}

var versionPrefixRE = regexp.MustCompile(`^v[0-9]+(\.[0-9]+)?$`)

// testDirectQueries compares the versions `go list -m`
// resolves for latest, branch, commit-hash, prefix and HEAD queries, and
// `go list -m -versions`, with what Direct answers.
func testDirectQueries(t *testing.T, s *gitfixture.Standard) {
	h := directHome(t, s)
	d := directFor(t, s)
	ctx := context.Background()

	queries := []string{
		"github.com/fix/basic@latest",
		"github.com/fix/basic@main",
		"github.com/fix/basic@feature",
		"github.com/fix/basic@HEAD",
		"github.com/fix/nomod@HEAD",
		"github.com/fix/notags@HEAD",
		"github.com/fix/multi/sub@HEAD",
		"github.com/fix/major/v2@HEAD",
		"github.com/fix/basic@" + s.Hash["basic/v1.0.0"][:7],
		"github.com/fix/basic@" + s.Hash["basic/main"][:12],
		"github.com/fix/basic@" + s.Hash["basic/feature"],
		"github.com/fix/basic@v1",
		"github.com/fix/basic@v1.0",
		"github.com/fix/basic@v1.1.0+meta",
		"github.com/fix/basic@nosuchbranch",
		"github.com/fix/multi@latest",
		"github.com/fix/multi/sub@latest",
		"github.com/fix/multi/sub@main",
		"github.com/fix/multi/v2@latest",
		"github.com/fix/major@main",
		"github.com/fix/major/v2@latest",
		"github.com/fix/major/v2@" + s.Hash["major/v2-first"][:10],
		"github.com/fix/nomod@latest",
		"github.com/fix/nomod@main",
		"github.com/fix/nomod@" + s.Hash["nomod/main"][:8],
		"github.com/fix/notags@latest",
		"github.com/fix/notags@" + s.Hash["notags/first"][:9],
		"vanity.example.com/lib@latest",
		"vanity.example.com/sd@latest",
		"vanity.example.com/lib/sub@latest",
		"gopkg.in/fix.v1@latest",
	}
	gl := goList(t, h, queries...)
	if len(gl) != len(queries) {
		t.Fatalf("go list printed %d modules for %d queries", len(gl), len(queries))
	}
	for i, q := range queries {
		path, query, _ := strings.Cut(q, "@")
		g := gl[i]
		info, err := ourQuery(ctx, d, path, query)
		switch {
		case g.Error != nil && err != nil:
			// Errors of latest and prefix queries are worded by the
			// query layer; the others are Direct's own.
			if query != "latest" && !versionPrefixRE.MatchString(query) && normError(g.Error.Err) != normError(err.Error()) {
				t.Errorf("%s: error differs:\n  go:   %s\n  ours: %s", q, g.Error.Err, err)
			}
		case g.Error != nil || err != nil:
			t.Errorf("%s: go: %+v, ours: %v", q, g.Error, err)
		case g.Version != info.Version || g.Time == nil || !g.Time.Equal(info.Time):
			t.Errorf("%s: go %s %v, ours %s %v", q, g.Version, g.Time, info.Version, info.Time)
		}
	}

	// Latest is HEAD's version.
	for i, q := range queries {
		m, query, _ := strings.Cut(q, "@")
		if query != "HEAD" {
			continue
		}
		g := gl[i]
		info, err := d.Latest(ctx, m)
		wantRef := "HEAD"
		if module.IsPseudoVersion(g.Version) {
			wantRef = "" // as in the go command's .info files
		}
		if g.Error != nil && err != nil {
			continue // both fail (compared as a Stat of HEAD above)
		}
		if err != nil || g.Error != nil || info.Version != g.Version || info.Origin == nil || info.Origin.Ref != wantRef {
			t.Errorf("%s: Latest %+v, %v; go list @HEAD %+v", m, info, err, g)
		}
	}

	// Version lists.
	mods := []string{"github.com/fix/basic", "github.com/fix/multi", "github.com/fix/multi/sub", "github.com/fix/multi/v2", "github.com/fix/major", "github.com/fix/major/v2", "github.com/fix/nomod", "github.com/fix/notags", "vanity.example.com/lib", "gopkg.in/fix.v1"}
	gv := goList(t, h, append([]string{"-versions"}, mods...)...)
	for i, m := range mods {
		list, err := d.List(ctx, m)
		if err != nil {
			t.Errorf("%s: List: %v", m, err)
			continue
		}
		if len(list) == 0 {
			list = nil
		}
		if !slices.Equal(list, gv[i].Versions) {
			t.Errorf("%s: versions: go %v, ours %v", m, gv[i].Versions, list)
		}
	}
}

// testDirectGOVCSAndInsecure compares GOVCS refusals and
// GOINSECURE behaviour with the go command's.
func testDirectGOVCSAndInsecure(t *testing.T, s *gitfixture.Standard) {
	ctx := context.Background()
	for _, tt := range []struct {
		name        string
		env         map[string]string
		args        []string
		wantFail    bool
		unsupported bool
	}{
		{"GOVCS off for github", map[string]string{"GOVCS": "github.com:off"}, []string{"github.com/fix/basic@v1.0.0"}, true, false},
		{"GOVCS private svn", map[string]string{"GOVCS": "public:git", "GOPRIVATE": "vanity.example.com"}, []string{"vanity.example.com/svnrepo@v1.0.0"}, true, true},
		{"GOVCS public git only", map[string]string{"GOVCS": "public:git"}, []string{"vanity.example.com/lib@v1.0.0"}, false, false},
		{"GOVCS malformed", map[string]string{"GOVCS": "github.com"}, []string{"github.com/fix/basic@v1.0.0"}, true, false},
		{"http only without GOINSECURE", nil, []string{"insecure.example.com/lib@v1.0.0"}, true, false},
		{"http only with GOINSECURE", map[string]string{"GOINSECURE": "insecure.example.com"}, []string{"insecure.example.com/lib@v1.0.0"}, false, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := directHome(t, s)
			for k, v := range tt.env {
				h.env[k] = v
			}
			d := directFor(t, s)
			d.GOVCS, d.GOPRIVATE, d.GOINSECURE = tt.env["GOVCS"], tt.env["GOPRIVATE"], tt.env["GOINSECURE"]
			out, stderr, err := h.goCmd(t, t.TempDir(), append([]string{"mod", "download", "-json"}, tt.args...)...)
			if (err != nil) != tt.wantFail {
				t.Fatalf("go mod download: %v, want failure %v\n%s%s", err, tt.wantFail, out, stderr)
			}
			gm := decodeModules(t, out)
			for i, arg := range tt.args {
				path, vers, _ := strings.Cut(arg, "@")
				o := ourDownload(ctx, d, path, vers)
				if tt.unsupported {
					// Known divergence: GOVCS lets svn through, and the go
					// command runs svn; we run git only.
					if gm[i].Error == "" || !strings.Contains(o.Error, upstream.ErrVCSNotSupported.Error()) {
						t.Errorf("%s: go: %s, ours: %s", arg, gm[i].Error, o.Error)
					}
					continue
				}
				if !sameError(arg, gm[i].Error, o) {
					t.Errorf("%s: Error differs:\n  go:   %s\n  ours: %s", arg, gm[i].Error, o.Error)
				}
				if gm[i].Error == "" && o.sum != gm[i].Sum {
					t.Errorf("%s: Sum: go %s, ours %s", arg, gm[i].Sum, o.sum)
				}
			}
		})
	}
}
