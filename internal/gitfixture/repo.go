// Package gitfixture builds git repositories for tests on the fly and
// serves them hermetically: a [World] is a TLS server on loopback that
// answers for any host name (github.com, vanity.example.com, ...) —
// git's smart HTTP protocol through `git http-backend` behind net/http/cgi,
// go-get pages with go-import meta tags, and optionally a module proxy —
// reached through an HTTP CONNECT proxy, with its own certificate
// authority. Both modfetch (through [World.Client] and [World.GitEnv]) and
// the real go command (through [World.GoEnv]) then fetch "github.com/..."
// paths from local repositories, with no DNS and no network.
//
// Tests that use it skip (saying so) when git is not installed.
package gitfixture

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// NeedGit skips the test when git (or git http-backend) is missing.
func NeedGit(t testing.TB) string {
	t.Helper()
	git, err := exec.LookPath("git")
	if err != nil {
		t.Skip("skipping: git is not installed (these tests build and serve git repositories)")
	}
	out, err := exec.Command(git, "--exec-path").Output()
	if err == nil {
		if _, err := os.Stat(filepath.Join(strings.TrimSpace(string(out)), "git-http-backend")); err != nil {
			t.Skip("skipping: git http-backend is not installed")
		}
	}
	return git
}

// A Builder makes commits in a non-bare repository with fixed identities
// and dates, so that hashes (and pseudo-versions) are the same every run.
type Builder struct {
	t   testing.TB
	Dir string
}

// T0 is the time of the first commit of the standard fixtures.
var T0 = time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)

// NewBuilder initialises a repository (branch "main") in dir.
func NewBuilder(t testing.TB, dir string) *Builder {
	t.Helper()
	NeedGit(t)
	if err := os.MkdirAll(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	b := &Builder{t: t, Dir: dir}
	b.Git(T0, "init", "-q", "-b", "main")
	return b
}

// Git runs git in the repository with commit dates at when and returns
// its output.
func (b *Builder) Git(when time.Time, args ...string) string {
	b.t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = b.Dir
	date := when.UTC().Format(time.RFC3339)
	cmd.Env = append(os.Environ(),
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_CONFIG_GLOBAL="+os.DevNull,
		"GIT_AUTHOR_NAME=Fixture", "GIT_AUTHOR_EMAIL=fixture@example.com",
		"GIT_COMMITTER_NAME=Fixture", "GIT_COMMITTER_EMAIL=fixture@example.com",
		"GIT_AUTHOR_DATE="+date, "GIT_COMMITTER_DATE="+date,
	)
	out, err := cmd.CombinedOutput()
	if err != nil {
		b.t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// Write writes files (name to content; a content of "\x00delete" removes
// the file) and, for names ending in "@symlink", symbolic links whose
// target is the content.
func (b *Builder) Write(files map[string]string) {
	b.t.Helper()
	for name, data := range files {
		if link, ok := strings.CutSuffix(name, "@symlink"); ok {
			p := filepath.Join(b.Dir, filepath.FromSlash(link))
			os.MkdirAll(filepath.Dir(p), 0o777)
			os.Remove(p)
			if err := os.Symlink(data, p); err != nil {
				b.t.Fatal(err)
			}
			continue
		}
		p := filepath.Join(b.Dir, filepath.FromSlash(name))
		if data == "\x00delete" {
			if err := os.RemoveAll(p); err != nil {
				b.t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o777); err != nil {
			b.t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o666); err != nil {
			b.t.Fatal(err)
		}
	}
}

// Commit writes files and commits everything at when, tags the commit
// with the lightweight tags given, and returns its hash.
func (b *Builder) Commit(when time.Time, msg string, files map[string]string, tags ...string) string {
	b.t.Helper()
	b.Write(files)
	b.Git(when, "add", "-A")
	b.Git(when, "commit", "-q", "--allow-empty", "-m", msg)
	for _, tag := range tags {
		b.Tag(tag)
	}
	return b.Git(when, "rev-parse", "HEAD")
}

// Tag makes a lightweight tag at HEAD.
func (b *Builder) Tag(name string) { b.t.Helper(); b.Git(T0, "tag", name) }

// AnnotatedTag makes an annotated tag at HEAD, dated when.
func (b *Builder) AnnotatedTag(when time.Time, name string) {
	b.t.Helper()
	b.Git(when, "tag", "-a", "-m", "release "+name, name)
}

// Branch creates branch name at HEAD and switches to it.
func (b *Builder) Branch(name string) { b.t.Helper(); b.Git(T0, "checkout", "-q", "-b", name) }

// Checkout switches to an existing branch or commit.
func (b *Builder) Checkout(name string) { b.t.Helper(); b.Git(T0, "checkout", "-q", name) }

// Hash returns the commit hash of rev.
func (b *Builder) Hash(rev string) string {
	b.t.Helper()
	return b.Git(T0, "rev-parse", rev+"^{commit}")
}

// At returns T0 plus n hours, a commit time.
func At(n int) time.Time { return T0.Add(time.Duration(n) * time.Hour) }
