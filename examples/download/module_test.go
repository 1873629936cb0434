//go:build unix

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/module"

	"github.com/modfetch/modfetch"
	"github.com/modfetch/modfetch/internal/fixture"
)

// A modWorld is a module proxy and a checksum database on loopback for
// the tests of downloads without module arguments.
type modWorld struct {
	set      *fixture.Set
	proxy    *fixture.Server
	proxyURL string
	gosumdb  string
}

func newModWorld(t *testing.T, set *fixture.Set, fault func(http.ResponseWriter, *http.Request) bool) *modWorld {
	t.Helper()
	w := &modWorld{set: set, proxy: &fixture.Server{Set: set, Fault: fault}}
	db := fixture.NewSumDB("sum.example.com", set.GoSumLines)
	dbsrv := httptest.NewServer(db)
	t.Cleanup(dbsrv.Close)
	w.gosumdb = db.Key + " " + dbsrv.URL
	psrv := httptest.NewServer(w.proxy)
	t.Cleanup(psrv.Close)
	w.proxyURL = psrv.URL
	return w
}

// A modHome is a fresh user environment: HOME, GOPATH, GOMODCACHE.
type modHome struct {
	w          *modWorld
	dir        string
	gomodcache string
	env        []string // added to (and overriding) the environment
}

func (w *modWorld) newHome(t *testing.T) *modHome {
	t.Helper()
	h := &modHome{w: w, dir: t.TempDir()}
	h.gomodcache = filepath.Join(h.dir, "go", "pkg", "mod")
	// Telemetry off for good (GOTELEMETRY is read-only): otherwise a go
	// command leaves a child behind writing into HOME after it exits.
	writeFiles(t, h.dir, map[string]string{".config/go/telemetry/mode": "off 2026-01-01"})
	// GOFLAGS has -modcacherw: t.TempDir can remove the module caches.
	return h
}

func (h *modHome) environ(goproxy string) []string {
	return append([]string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + h.dir,
		"GOPATH=" + filepath.Join(h.dir, "go"),
		"GOMODCACHE=" + h.gomodcache,
		"GOCACHE=" + filepath.Join(h.dir, "gocache"),
		"GOPROXY=" + goproxy,
		"GOSUMDB=" + h.w.gosumdb,
		"GOFLAGS=-modcacherw",
		"GOENV=off", "GOTOOLCHAIN=local", "GOTELEMETRY=off", "GOWORK=off", "CGO_ENABLED=0",
		"GONOSUMDB=", "GOPRIVATE=", "GONOPROXY=", "GOINSECURE=", "GOAUTH=off",
	}, h.env...)
}

// A result is how a command ended.
type result struct {
	stdout, stderr string
	code           int
}

// run runs name in dir with h's environment and GOPROXY, for two
// minutes at most.
func (h *modHome) run(t *testing.T, goproxy, dir, name string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = h.environ(goproxy)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("%s %s: %v", name, strings.Join(args, " "), err)
	}
	return result{o.String(), e.String(), cmd.ProcessState.ExitCode()}
}

// download runs this program with args in dir.
func (h *modHome) download(t *testing.T, dir string, args ...string) result {
	t.Helper()
	return h.run(t, h.w.proxyURL, dir, buildDownload(t), args...)
}

// goCmd runs the go command with args in dir.
func (h *modHome) goCmd(t *testing.T, goproxy, dir string, args ...string) result {
	t.Helper()
	return h.run(t, goproxy, dir, goBin(t), args...)
}

const appPrefix = "example.com/app/"

// appSet is a module graph for a main module: a (pruned) imports c; b
// (unpruned, go 1.16) requires c v1.0.0 and e, whose go.mod files the
// graph reads but which are not downloaded in full under a pruned main
// module; m0 to m5 carry 64 KiB of data each; h is for excluding, r for
// replacing a with.
func appSet() *fixture.Set {
	s := new(fixture.Set)
	add := func(name, version, gomod, src string) {
		path := appPrefix + name
		s.Add(path, version, map[string]string{
			"go.mod": "module " + path + "\n\n" + gomod,
			"x.go":   "package " + strings.TrimRight(name, "0123456789") + "\n\n" + src,
		}, fixture.Day(len(s.Modules())))
	}
	add("a", "v1.0.0", "go 1.21\n\nrequire example.com/app/c v1.0.0\n", "import \"example.com/app/c\"\n\nconst X = c.X\n")
	add("b", "v1.0.0", "go 1.16\n\nrequire (\n\texample.com/app/c v1.0.0\n\texample.com/app/e v1.0.0\n)\n", "const X = 2\n")
	add("c", "v1.0.0", "go 1.21\n", "const X = 1\n")
	add("c", "v1.1.0", "go 1.21\n", "const X = 1\n")
	add("e", "v1.0.0", "go 1.21\n", "")
	add("h", "v1.0.0", "go 1.21\n", "")
	add("r", "v1.0.0", "go 1.21\n", "const X = 3\n")
	add("n", "v1.0.0", "go 1.999\n", "") // too new for GOTOOLCHAIN=local
	add("n", "v1.1.0", "go 1.21\n", "")
	// p raises n past the too-new version.
	add("p", "v1.0.0", "go 1.21\n\nrequire example.com/app/n v1.1.0\n", "")
	// q requires versions the proxy does not have.
	add("q", "v1.0.0", "go 1.16\n\nrequire (\n\texample.com/app/zz v1.0.0\n\texample.com/app/zy v1.0.0\n)\n", "")
	for i := range 6 {
		path := fmt.Sprintf("%sm%d", appPrefix, i)
		s.Add(path, "v1.0.0", map[string]string{
			"go.mod":   "module " + path + "\n\ngo 1.21\n",
			"m.go":     "package m\n",
			"data.bin": fixture.Noise(64 << 10),
		}, fixture.Day(10+i))
	}
	return s
}

// appGoMod is a tidy main module over appSet at go version goVersion.
func appGoMod(goVersion string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "module example.com/main\n\ngo %s\n\nrequire (\n\texample.com/app/a v1.0.0\n\texample.com/app/b v1.0.0\n", goVersion)
	for i := range 6 {
		fmt.Fprintf(&b, "\texample.com/app/m%d v1.0.0\n", i)
	}
	b.WriteString(")\n\nrequire example.com/app/c v1.1.0 // indirect\n")
	return b.String()
}

// appMain is the main package over appGoMod: it imports a package of
// every module the main module requires directly.
const appMain = `package main

import (
	"example.com/app/a"
	"example.com/app/b"
	_ "example.com/app/m0"
	_ "example.com/app/m1"
	_ "example.com/app/m2"
	_ "example.com/app/m3"
	_ "example.com/app/m4"
	_ "example.com/app/m5"
)

func main() { println(a.X + b.X) }
`

// goSum returns go.sum lines for every module of set.
func goSum(set *fixture.Set) string {
	var b strings.Builder
	for _, m := range set.Modules() {
		lines, _ := set.GoSumLines(m.Path, m.Version)
		b.Write(lines)
	}
	return b.String()
}

// writeMain writes a main module's files into a new directory and
// returns it.
func writeMain(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	writeFiles(t, dir, files)
	return filepath.Join(dir, "main")
}

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, data := range files {
		name = filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(name), 0o777); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(name, []byte(data), 0o666); err != nil {
			t.Fatal(err)
		}
	}
}

// TestNoArgsFillsModCache: run with no arguments in a subdirectory of a
// main module, this program fills a fresh module cache with exactly the
// files `go mod download` puts in another (.info, .mod, .zip under
// cache/download, and the extracted directories), asking the proxy for
// the same files; then the go command builds the main module and
// verifies its dependencies with GOPROXY=off. Not on a terminal, it
// prints a progress line for each file it downloaded.
func TestNoArgsFillsModCache(t *testing.T) {
	w := newModWorld(t, appSet(), nil)
	files := map[string]string{
		"main/go.mod":     appGoMod("1.21"),
		"main/go.sum":     goSum(w.set),
		"main/main.go":    appMain,
		"main/sub/doc.go": "package sub\n",
	}

	gohome := w.newHome(t)
	if r := gohome.goCmd(t, w.proxyURL, writeMain(t, files), "mod", "download"); r.code != 0 {
		t.Fatalf("go mod download: exit %d\n%s", r.code, r.stderr)
	}
	goReqs := fileRequests(w.proxy.Requests())
	w.proxy.Reset()

	ours := w.newHome(t)
	dir := writeMain(t, files)
	r := ours.download(t, filepath.Join(dir, "sub"))
	if r.code != 0 || r.stdout != "" {
		t.Fatalf("download: exit %d, stdout %q\n%s", r.code, r.stdout, r.stderr)
	}
	ourReqs := fileRequests(w.proxy.Requests())

	goFiles, ourFiles := fixture.CacheFiles(t, gohome.gomodcache), fixture.CacheFiles(t, ours.gomodcache)
	if !slices.Equal(ourFiles, goFiles) {
		t.Errorf("our cache:\n\t%s\ngo mod download's:\n\t%s", strings.Join(ourFiles, "\n\t"), strings.Join(goFiles, "\n\t"))
	}
	if goDirs, ourDirs := fixture.ExtractedDirs(t, gohome.gomodcache), fixture.ExtractedDirs(t, ours.gomodcache); !slices.Equal(ourDirs, goDirs) {
		t.Errorf("we extracted:\n\t%s\ngo mod download extracted:\n\t%s", strings.Join(ourDirs, "\n\t"), strings.Join(goDirs, "\n\t"))
	}
	if !slices.Equal(ourReqs, goReqs) {
		t.Errorf("our requests:\n\t%s\nthe go command's:\n\t%s", strings.Join(ourReqs, "\n\t"), strings.Join(goReqs, "\n\t"))
	}
	// The graph reads the go.mod files of c v1.0.0 and e below the
	// unpruned b; they are not downloaded in full.
	for _, f := range []string{"example.com/app/e/@v/v1.0.0.mod", "example.com/app/c/@v/v1.0.0.mod", "example.com/app/c/@v/v1.1.0.zip"} {
		if !slices.Contains(ourFiles, f) {
			t.Errorf("%s not in the cache", f)
		}
	}
	if slices.Contains(ourFiles, "example.com/app/e/@v/v1.0.0.zip") {
		t.Errorf("e's zip downloaded; only its go.mod is needed")
	}

	// A progress line per module file, numbered up to the total.
	var mods int
	for _, f := range ourFiles {
		if strings.HasSuffix(f, ".mod") {
			mods++
		}
	}
	lines := strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n")
	if len(lines) != mods {
		t.Errorf("%d lines on stderr, want a progress line for each of %d modules:\n%s", len(lines), mods, r.stderr)
	}
	for _, want := range []string{
		"downloaded example.com/app/a@v1.0.0 (",
		"downloaded example.com/app/e@v1.0.0/go.mod (",
		fmt.Sprintf(" (%d/%d)\n", mods, mods),
	} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr has no %q:\n%s", want, r.stderr)
		}
	}

	for _, args := range [][]string{{"build", "./..."}, {"mod", "verify"}} {
		if r := ours.goCmd(t, "off", dir, args...); r.code != 0 {
			t.Errorf("GOPROXY=off go %s: exit %d\n%s%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
		}
	}
}

// TestNoArgsLikeGoModDownload runs this program and `go mod download`
// with no arguments, with and without -json, each in its own copy of a
// main module with a fresh module cache: the JSON objects are equal field
// by field (module cache paths aside), so are the exit status, the
// messages on stderr (our progress lines aside) and the files in the
// module caches. The cases cover pruned and unpruned graphs, version and
// directory replacements, a required module that is not a known
// dependency (exit 1, the others downloaded), no requirements at all,
// a go.mod that requires a module version the proxy does not have
// (directly, or through a dependency, in a pruned and an unpruned graph),
// and, under GOTOOLCHAIN=local, a main module or a dependency that needs
// a newer go: direct, raised past by another requirement, and in an
// unpruned graph (downloaded, then refused).
func TestNoArgsLikeGoModDownload(t *testing.T) {
	cases := []struct {
		name  string
		files map[string]string
		code  int
	}{
		{name: "pruned", files: map[string]string{"main/go.mod": appGoMod("1.21")}},
		{name: "unpruned", files: map[string]string{"main/go.mod": appGoMod("1.16")}},
		{
			name: "replaced-excluded-unknown",
			files: map[string]string{
				"main/go.mod":  "module example.com/main\n\ngo 1.21\n\nrequire (\n\texample.com/app/h v1.0.0\n\texample.com/app/a v1.0.0\n\texample.com/app/local v0.0.0\n\texample.com/app/m0 v1.0.0\n\texample.com/app/a v1.0.0\n)\n\nexclude example.com/app/h v1.0.0\n\nreplace example.com/app/a v1.0.0 => example.com/app/r v1.0.0\n\nreplace example.com/app/local => ../local\n",
				"local/go.mod": "module example.com/app/local\n\ngo 1.16\n\nrequire example.com/app/b v1.0.0\n",
			},
			code: 1,
		},
		{name: "no-requirements", files: map[string]string{"main/go.mod": "module example.com/main\n\ngo 1.21\n"}},
		{name: "main-too-new", files: map[string]string{"main/go.mod": "module example.com/main\n\ngo 1.999\n\nrequire example.com/app/c v1.0.0\n"}, code: 1},
		{name: "dependency-too-new", files: map[string]string{"main/go.mod": "module example.com/main\n\ngo 1.21\n\nrequire (\n\texample.com/app/c v1.0.0\n\texample.com/app/n v1.0.0\n)\n"}, code: 1},
		{name: "indirect-missing-go.mod", files: map[string]string{"main/go.mod": "module example.com/main\n\ngo 1.21\n\nrequire (\n\texample.com/app/c v1.0.0\n\texample.com/app/q v1.0.0\n)\n"}, code: 1},
		{name: "indirect-missing-go.mod-no-go-directive", files: map[string]string{"main/go.mod": "module example.com/main\n\nrequire (\n\texample.com/app/c v1.0.0\n\texample.com/app/q v1.0.0\n)\n"}, code: 1},
		{name: "indirect-missing-go.mod-unpruned", files: map[string]string{"main/go.mod": "module example.com/main\n\ngo 1.16\n\nrequire (\n\texample.com/app/c v1.0.0\n\texample.com/app/q v1.0.0\n)\n"}, code: 1},
		{name: "dependency-too-new-raised", files: map[string]string{"main/go.mod": "module example.com/main\n\ngo 1.21\n\nrequire (\n\texample.com/app/n v1.0.0\n\texample.com/app/p v1.0.0\n)\n"}, code: 1},
		{name: "dependency-too-new-unpruned", files: map[string]string{"main/go.mod": "module example.com/main\n\ngo 1.16\n\nrequire (\n\texample.com/app/c v1.0.0\n\texample.com/app/n v1.0.0\n)\n"}, code: 1},
		{name: "missing-go.mod", files: map[string]string{"main/go.mod": "module example.com/main\n\ngo 1.21\n\nrequire example.com/app/zz v1.0.0\n"}, code: 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := newModWorld(t, appSet(), nil)
			for _, jsonFlag := range []bool{true, false} {
				var args []string
				if jsonFlag {
					args = []string{"-json"}
				}
				gohome, ours := w.newHome(t), w.newHome(t)
				goRes := gohome.goCmd(t, w.proxyURL, writeMain(t, tc.files), append([]string{"mod", "download"}, args...)...)
				ourRes := ours.download(t, writeMain(t, tc.files), args...)
				if goRes.code != tc.code || ourRes.code != goRes.code {
					t.Errorf("-json=%v: exit %d, go mod download %d; want %d\nours:\n%s\ngo's:\n%s", jsonFlag, ourRes.code, goRes.code, tc.code, ourRes.stderr, goRes.stderr)
				}
				goMsgs, ourMsgs := goLines(goRes.stderr), goLines(ourRes.stderr)
				// The proxy's address is in both, the module caches in neither.
				if !slices.Equal(ourMsgs, goMsgs) {
					t.Errorf("-json=%v: our messages:\n\t%s\ngo mod download's:\n\t%s", jsonFlag, strings.Join(ourMsgs, "\n\t"), strings.Join(goMsgs, "\n\t"))
				}
				goMods := decodeJSON(t, goRes.stdout, gohome.gomodcache)
				ourMods := decodeJSON(t, ourRes.stdout, ours.gomodcache)
				if !slices.Equal(ourMods, goMods) {
					t.Errorf("-json=%v: ours:\n%s\ngo mod download's:\n%s", jsonFlag, ourRes.stdout, goRes.stdout)
				}
				if g, o := fixture.CacheFiles(t, gohome.gomodcache), fixture.CacheFiles(t, ours.gomodcache); !slices.Equal(o, g) {
					t.Errorf("-json=%v: our cache:\n\t%s\ngo mod download's:\n\t%s", jsonFlag, strings.Join(o, "\n\t"), strings.Join(g, "\n\t"))
				}
				if jsonFlag && tc.name == "replaced-excluded-unknown" && len(ourMods) != 4 {
					t.Errorf("%d JSON objects, want 4 (h unknown, r for a, m0, r for a again)", len(ourMods))
				}
			}
		})
	}
}

// goLines returns the lines of stderr that start with "go: " or a tab
// (an error's further lines): the go command's messages, without our
// progress lines.
func goLines(stderr string) []string {
	var list []string
	for _, line := range strings.Split(stderr, "\n") {
		if strings.HasPrefix(line, "go: ") || strings.HasPrefix(line, "\t") {
			list = append(list, line)
		}
	}
	return list
}

// decodeJSON decodes -json output, with modcache in paths replaced by
// $GOMODCACHE.
func decodeJSON(t *testing.T, out, modcache string) []moduleJSON {
	t.Helper()
	var list []moduleJSON
	dec := json.NewDecoder(strings.NewReader(out))
	for dec.More() {
		var m moduleJSON
		if err := dec.Decode(&m); err != nil {
			t.Fatalf("decoding %q: %v", out, err)
		}
		if m.Origin != nil {
			t.Errorf("%s@%s: Origin %+v, want none", m.Path, m.Version, m.Origin)
			m.Origin = nil
		}
		for _, f := range []*string{&m.Info, &m.GoMod, &m.Zip, &m.Dir} {
			if rest, ok := strings.CutPrefix(*f, modcache); ok {
				*f = "$GOMODCACHE" + rest
			}
		}
		list = append(list, m)
	}
	return list
}

// TestNoModule: outside a module, with no arguments, this program fails
// as the go command does; in a module with GO111MODULE=off too. In
// workspace mode it refuses to guess.
func TestNoModule(t *testing.T) {
	w := newModWorld(t, appSet(), nil)
	h := w.newHome(t)
	dir := t.TempDir()
	goRes, ourRes := h.goCmd(t, w.proxyURL, dir, "mod", "download"), h.download(t, dir)
	if ourRes != goRes || ourRes.code != 1 || ourRes.stderr != "go: no modules specified (see 'go help mod download')\n" {
		t.Errorf("outside a module: %+v, go mod download: %+v", ourRes, goRes)
	}

	mainDir := writeMain(t, map[string]string{"main/go.mod": appGoMod("1.21"), "go.work": "go 1.21\n\nuse ./main\n"})
	h.env = []string{"GOWORK="} // auto: go.work in a parent directory
	ourRes = h.download(t, mainDir, "-json")
	if ourRes.code != 1 || !strings.Contains(ourRes.stderr, "workspace mode") || !strings.Contains(ourRes.stderr, "GOWORK=off") {
		t.Errorf("in a workspace: %+v", ourRes)
	}
	if files := fixture.CacheFiles(t, h.gomodcache); len(files) != 0 {
		t.Errorf("downloaded %v", files)
	}
}

// TestGoSumFlag: -gosum downloads what a go.sum file records — a module
// with its zip's hash in full, one with only its go.mod's hash for that
// file alone — checked against it: a hash that does not match fails that
// module with the go command's SECURITY ERROR, and exit status 1, while
// the others download.
func TestGoSumFlag(t *testing.T) {
	w := newModWorld(t, appSet(), nil)
	lines := func(name, version string) string {
		b, err := w.set.GoSumLines(appPrefix+name, version)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	goModLine := strings.SplitAfter(lines("c", "v1.0.0"), "\n")[1]
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"go.sum": lines("a", "v1.0.0") + goModLine + lines("m0", "v1.0.0")})

	h := w.newHome(t)
	r := h.download(t, dir, "-json", "-gosum", "go.sum")
	if r.code != 0 {
		t.Fatalf("download -gosum: exit %d\n%s", r.code, r.stderr)
	}
	want := []string{
		"example.com/app/a/@v/v1.0.0.info", "example.com/app/a/@v/v1.0.0.mod", "example.com/app/a/@v/v1.0.0.zip",
		"example.com/app/c/@v/v1.0.0.mod",
		"example.com/app/m0/@v/v1.0.0.info", "example.com/app/m0/@v/v1.0.0.mod", "example.com/app/m0/@v/v1.0.0.zip",
	}
	if got := fixture.CacheFiles(t, h.gomodcache); !slices.Equal(got, want) {
		t.Errorf("cache:\n\t%s\nwant:\n\t%s", strings.Join(got, "\n\t"), strings.Join(want, "\n\t"))
	}
	mods := decodeJSON(t, r.stdout, h.gomodcache)
	if len(mods) != 3 {
		t.Fatalf("%d JSON objects, want 3:\n%s", len(mods), r.stdout)
	}
	c := w.set.Module(appPrefix+"c", "v1.0.0")
	wantC := moduleJSON{Path: c.Path, Version: c.Version, GoMod: "$GOMODCACHE/cache/download/example.com/app/c/@v/v1.0.0.mod", GoModSum: c.ModSum()}
	if mods[1] != wantC {
		t.Errorf("go.mod-only module: %+v, want %+v", mods[1], wantC)
	}
	for _, i := range []int{0, 2} {
		m := w.set.Module(mods[i].Path, mods[i].Version)
		if m == nil || mods[i].Sum != m.ZipSum() || mods[i].Dir == "" || mods[i].Error != "" {
			t.Errorf("module downloaded in full: %+v", mods[i])
		}
	}

	// A wrong hash for m1.
	tampered := strings.Replace(lines("m1", "v1.0.0"), "h1:", "h1:AAAA", 1)
	writeFiles(t, dir, map[string]string{"bad.sum": lines("m2", "v1.0.0") + tampered})
	h = w.newHome(t)
	r = h.download(t, dir, "-gosum", "bad.sum")
	if r.code != 1 || !strings.Contains(r.stderr, "\ngo: verifying example.com/app/m1@v1.0.0: checksum mismatch") || !strings.Contains(r.stderr, "SECURITY ERROR") {
		t.Errorf("download -gosum with a wrong hash: exit %d\n%s", r.code, r.stderr)
	}
	if _, ok := modfetch.ExtractedDir(h.gomodcache, appPrefix+"m2", "v1.0.0"); !ok {
		t.Errorf("m2 not extracted beside the failure")
	}
	if _, err := os.Stat(filepath.Join(h.gomodcache, "cache/download/example.com/app/m1/@v/v1.0.0.zip")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("m1's zip in the cache: %v", err)
	}

	if r := h.download(t, dir, "-gosum", "bad.sum", appPrefix+"m0@v1.0.0"); r.code != 2 || !strings.Contains(r.stderr, "-gosum takes no module arguments") {
		t.Errorf("-gosum with an argument: %+v", r)
	}
}

// fileRequests returns the distinct module files requested of the proxy
// (escaped, without the leading slash), sorted; anything else is listed
// as "other: ...".
func fileRequests(reqs []string) []string {
	var list []string
	for _, r := range reqs {
		r = strings.TrimPrefix(r, "/")
		switch filepath.Ext(r) {
		case ".info", ".mod", ".zip":
		default:
			r = "other: " + r
		}
		if enc, rest, ok := strings.Cut(r, "/@v/"); ok {
			if e, err := module.EscapePath(enc); err == nil {
				r = e + "/@v/" + rest
			}
		}
		list = append(list, r)
	}
	slices.Sort(list)
	return slices.Compact(list)
}
