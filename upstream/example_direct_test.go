package upstream_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/modfetch/modfetch/upstream"
)

// Direct refuses what GOVCS forbids before running any version control
// command, with the go command's words, as a not-found error.
func ExampleDirect() {
	d := &upstream.Direct{WorkDir: filepath.Join(os.TempDir(), "modfetch-example-vcs")}
	_, err := d.Stat(context.Background(), "example.com/repo.svn", "v1.0.0")
	fmt.Println(err)
	fmt.Println(errors.Is(err, fs.ErrNotExist))
	// Output:
	// example.com/repo.svn@v1.0.0: GOVCS disallows using svn for public example.com/repo.svn; see 'go help vcs'
	// true
}

// RepoRoot tells where a module's code lives. Known hosting sites need no
// network access.
func ExampleDirect_RepoRoot() {
	var d upstream.Direct
	rr, err := d.RepoRoot(context.Background(), "github.com/user/repo/sub/v2")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(rr.VCS, rr.URL, rr.Root)
	// Output: git https://github.com/user/repo github.com/user/repo
}

// A Direct is the "direct" of a GOPROXY list, and answers alone for
// private modules, as in the go command.
func ExampleDirect_chain() {
	gomodcache := filepath.Join(os.Getenv("HOME"), "go", "pkg", "mod")
	direct := &upstream.Direct{
		WorkDir:   filepath.Join(gomodcache, "cache", "vcs"), // shared with the go command
		GOPRIVATE: "corp.example.com",
	}
	cfg := &upstream.Config{NoProxy: "corp.example.com", Direct: direct}
	chain, err := cfg.Parse("https://proxy.golang.org,direct")
	if err != nil {
		fmt.Println(err)
		return
	}
	info, err := chain.Stat(context.Background(), "corp.example.com/lib", "main")
	fmt.Println(info, err)
}
