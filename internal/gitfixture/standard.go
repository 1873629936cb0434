package gitfixture

import (
	"embed"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modfetch/modfetch/internal/fixture"
)

// Standard is the standard fixture world: every repository shape direct
// mode must handle, published in a World.
type Standard struct {
	*World

	// Hashes of interesting commits, by name.
	Hash map[string]string
}

//go:embed testdata/*.txt
var testdata embed.FS

// commitFiles returns the files of testdata/<name>.txt, a txtar archive
// of a commit's files: name to content, where the target of a symbolic
// link ("<name>@symlink") is its line without the newline.
func commitFiles(name string) map[string]string {
	data, err := testdata.ReadFile("testdata/" + name + ".txt")
	if err != nil {
		panic(err)
	}
	files := make(map[string]string)
	for _, f := range fixture.ParseTxtar(data).Files {
		files[f.Name] = string(f.Data)
		if strings.HasSuffix(f.Name, "@symlink") {
			files[f.Name] = strings.TrimSuffix(string(f.Data), "\n")
		}
	}
	return files
}

// Big is the size of the large (but allowed) file in github.com/fix/huge.
const Big = 4 << 20

// Over16MiB is a file content just over the 16 MiB go.mod/LICENSE limit.
var Over16MiB = strings.Repeat("// 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abc\n", (16<<20)/64+1)

// NewStandard builds and publishes the standard fixtures:
//
//   - github.com/fix/basic: v1.0.0 (lightweight tag), v1.1.0 (annotated),
//     an untagged HEAD on main, a branch "feature" with v1.2.0-rc.1 and a
//     commit after it, and non-canonical tags v1.2 and v1.1.0+meta.
//   - github.com/fix/multi: a root module with a nested module "sub"
//     (tags sub/v1.0.0, sub/v1.1.0; it has no LICENSE, the root has), a
//     major-version subdirectory v2/ (tag v2.0.0) and tag v1.0.0.
//   - github.com/fix/major: v1 on main; /v2 on branch "v2" (its root
//     go.mod says .../v2), an untagged first v2 commit, then tag v2.0.0.
//   - github.com/fix/nomod: no go.mod; tags v1.0.0, v2.0.0, v3.0.0
//     (+incompatible), an untagged HEAD.
//   - github.com/fix/notags: commits without tags.
//   - github.com/fix/wrongpath: v1.0.0 whose go.mod declares
//     example.com/other; v1.1.0 whose go.mod declares .../wrongpath/v3.
//   - github.com/fix/huge: v1.0.0 with a 4 MiB file; v1.1.0 whose LICENSE
//     is over 16 MiB; v1.2.0 whose go.mod is.
//   - github.com/fix/layout: go 1.24 module with a vendor directory, a
//     nested module, a symbolic link, .hg_archival.txt; tag v1.0.0.
//   - github.com/fix/empty: a repository without commits.
//   - vanity.example.com/lib (go-import to git.example.com/lib), with a
//     subdirectory module vanity.example.com/lib/sub found through the
//     prefix's tag; vanity.example.com/sd (a four-field tag with subdir
//     go/sd of git.example.com/monorepo); vanity.example.com/viaproxy (a
//     "mod" tag naming the module proxy proxy.example.com);
//     vanity.example.com/liar/pkg (disagreeing tags);
//     vanity.example.com/none (no tags); vanity.example.com/svnrepo and
//     hgrepo (other VCSes); gopkg.in/fix.v1 (gopkg.in).
//   - insecure.example.com/lib: http only (for GOINSECURE), go-import to
//     git.example.com/lib.
func NewStandard(t testing.TB) *Standard {
	t.Helper()
	w := NewWorld(t)
	s := &Standard{World: w, Hash: make(map[string]string)}
	dir := t.TempDir()
	nb := func(name string) *Builder { return NewBuilder(t, filepath.Join(dir, name)) }

	// basic
	b := nb("basic")
	s.Hash["basic/v1.0.0"] = b.Commit(At(0), "one", commitFiles("basic-one"), "v1.0.0")
	s.Hash["basic/v1.1.0"] = b.Commit(At(1), "two", map[string]string{"b.go": "package basic\n\nfunc B() {}\n"})
	b.AnnotatedTag(At(1), "v1.1.0")
	b.Tag("v1.1.0+meta")
	b.Tag("v1.2")
	s.Hash["basic/main"] = b.Commit(At(2), "three", map[string]string{"c.go": "package basic\n\nfunc C() {}\n"})
	b.Branch("feature")
	b.Commit(At(3), "four", map[string]string{"d.go": "package basic\n\nfunc D() {}\n"}, "v1.2.0-rc.1")
	s.Hash["basic/feature"] = b.Commit(At(4), "five", map[string]string{"e.go": "package basic\n\nfunc E() {}\n"})
	b.Checkout("main")
	w.Publish("github.com/fix/basic", b)

	// multi
	b = nb("multi")
	b.Commit(At(0), "root", commitFiles("multi-root"), "v1.0.0", "sub/v1.0.0")
	s.Hash["multi/sub/v1.1.0"] = b.Commit(At(1), "sub two, v2", commitFiles("multi-sub-two-v2"), "sub/v1.1.0", "v2.0.0")
	s.Hash["multi/main"] = b.Commit(At(2), "after", map[string]string{"sub/later.go": "package sub\n"})
	w.Publish("github.com/fix/multi", b)

	// major
	b = nb("major")
	s.Hash["major/v1.0.0"] = b.Commit(At(0), "v1", commitFiles("major-v1"), "v1.0.0")
	b.Branch("v2")
	s.Hash["major/v2-first"] = b.Commit(At(1), "v2 start", commitFiles("major-v2-start"))
	s.Hash["major/v2.0.0"] = b.Commit(At(2), "v2 release", map[string]string{"v2.go": "package major\n"}, "v2.0.0")
	b.Checkout("main")
	s.Hash["major/main"] = b.Commit(At(3), "v1 work", map[string]string{"more.go": "package major\n"})
	w.Publish("github.com/fix/major", b)

	// nomod
	b = nb("nomod")
	b.Commit(At(0), "one", map[string]string{"x.go": "package nomod\n"}, "v1.0.0")
	b.Commit(At(1), "two", map[string]string{"y.go": "package nomod\n"}, "v2.0.0")
	b.Commit(At(2), "three", map[string]string{"z.go": "package nomod\n"}, "v3.0.0")
	s.Hash["nomod/main"] = b.Commit(At(3), "four", map[string]string{"w.go": "package nomod\n"})
	w.Publish("github.com/fix/nomod", b)

	// notags
	b = nb("notags")
	s.Hash["notags/first"] = b.Commit(At(0), "one", map[string]string{"go.mod": "module github.com/fix/notags\n", "n.go": "package notags\n"})
	s.Hash["notags/main"] = b.Commit(At(1), "two", map[string]string{"m.go": "package notags\n"})
	w.Publish("github.com/fix/notags", b)

	// wrongpath
	b = nb("wrongpath")
	b.Commit(At(0), "one", map[string]string{"go.mod": "module example.com/other\n\ngo 1.20\n", "w.go": "package other\n"}, "v1.0.0")
	b.Commit(At(1), "two", map[string]string{"go.mod": "module github.com/fix/wrongpath/v3\n\ngo 1.20\n"}, "v1.1.0")
	w.Publish("github.com/fix/wrongpath", b)

	// huge
	b = nb("huge")
	big := strings.Repeat("0123456789abcdef", Big/16)
	b.Commit(At(0), "big", map[string]string{
		"go.mod":  "module github.com/fix/huge\n",
		"big.txt": big,
		"h.go":    "package huge\n",
	}, "v1.0.0")
	// The same content for both, so git stores it once.
	over := "module github.com/fix/huge\n" + Over16MiB
	b.Commit(At(1), "big license", map[string]string{"LICENSE": over, "big.txt": "\x00delete"}, "v1.1.0")
	b.Commit(At(2), "big go.mod", map[string]string{"LICENSE": "\x00delete", "go.mod": over}, "v1.2.0")
	w.Publish("github.com/fix/huge", b)

	// layout
	b = nb("layout")
	b.Commit(At(0), "layout", commitFiles("layout-layout"), "v1.0.0")
	w.Publish("github.com/fix/layout", b)

	w.PublishEmpty("github.com/fix/empty")

	// Vanity paths.
	b = nb("lib")
	b.Commit(At(0), "lib", commitFiles("lib-lib"), "v1.0.0", "sub/v0.1.0")
	w.Publish("git.example.com/lib", b)
	w.Meta("vanity.example.com/lib", "vanity.example.com/lib git https://git.example.com/lib")
	w.Meta("vanity.example.com/lib/sub", "vanity.example.com/lib git https://git.example.com/lib")
	w.Meta("insecure.example.com/lib", "insecure.example.com/lib git https://git.example.com/lib")
	w.HTTPOnly("insecure.example.com")

	b = nb("monorepo")
	b.Commit(At(0), "mono", commitFiles("monorepo-mono"), "go/sd/v1.0.0")
	w.Publish("git.example.com/monorepo", b)
	w.Meta("vanity.example.com/sd", "vanity.example.com/sd git https://git.example.com/monorepo go/sd")

	w.Meta("vanity.example.com/liar/pkg", "vanity.example.com/liar git https://git.example.com/lib")
	w.Meta("vanity.example.com/liar", "vanity.example.com/liar git https://git.example.com/monorepo")
	w.Page("vanity.example.com/none", "<html><head><title>nothing</title></head><body>no tags</body></html>")
	w.Meta("vanity.example.com/svnrepo", "vanity.example.com/svnrepo svn https://svn.example.com/repo")
	w.Meta("vanity.example.com/hgrepo", "vanity.example.com/hgrepo hg https://hg.example.com/repo")

	// A module served by a proxy through a "mod" tag.
	set := new(fixture.Set)
	set.Add("vanity.example.com/viaproxy", "v1.0.0", map[string]string{
		"go.mod": "module vanity.example.com/viaproxy\n",
		"p.go":   "package viaproxy\n",
	}, At(5))
	w.Handle("proxy.example.com", &fixture.Server{Set: set})
	w.Meta("vanity.example.com/viaproxy", "vanity.example.com/viaproxy mod https://proxy.example.com")

	// gopkg.in
	b = nb("gopkgin")
	b.Commit(At(0), "v1", map[string]string{"fix.go": "package fix\n"}, "v1.0.0")
	b.Commit(At(1), "v2", map[string]string{"fix2.go": "package fix\n"}, "v2.0.0")
	w.Publish("gopkg.in/fix.v1", b)
	w.Meta("gopkg.in/fix.v1", "gopkg.in/fix.v1 git https://gopkg.in/fix.v1")
	return s
}
