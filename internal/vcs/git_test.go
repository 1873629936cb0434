package vcs

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	modzip "golang.org/x/mod/zip"

	"github.com/modfetch/modfetch/internal/gitfixture"
)

// TestWorkDirNameMatchesGoCommand: the directory for a remote is the one
// the go command uses in $GOMODCACHE/cache/vcs (value observed with go
// 1.26 for https://github.com/u/missing).
func TestWorkDirNameMatchesGoCommand(t *testing.T) {
	dir, key := workDirName("/cache/vcs", "git3", "https://github.com/u/missing")
	if want := "/cache/vcs/f6a07ff0282901cd2d3df766b538d595a14e3f162b1e166e05c72622afab4e74"; filepath.ToSlash(dir) != want {
		t.Errorf("dir = %s, want %s", dir, want)
	}
	if key != "git3:https://github.com/u/missing" {
		t.Errorf("key = %s", key)
	}
}

// fileRepo publishes a builder's repository as a bare one and returns a
// Repo for its file:// URL.
func fileRepo(t *testing.T, b *gitfixture.Builder) (*Repo, string) {
	t.Helper()
	bare := filepath.Join(t.TempDir(), "remote.git")
	if out, err := exec.Command("git", "clone", "-q", "--bare", "--no-local", b.Dir, bare).CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	root := t.TempDir()
	r, err := NewRepo(RepoConfig{URL: "file://" + filepath.ToSlash(bare), WorkRoot: root, Runner: &Runner{Env: []string{"GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=" + os.DevNull}}})
	if err != nil {
		t.Fatal(err)
	}
	return r, bare
}

func history(t *testing.T) (*gitfixture.Builder, []string) {
	b := gitfixture.NewBuilder(t, filepath.Join(t.TempDir(), "src"))
	var h []string
	h = append(h, b.Commit(gitfixture.At(0), "one", map[string]string{"go.mod": "module example.com/m\n"}))
	b.Tag("v1.0.0")
	h = append(h, b.Commit(gitfixture.At(1), "two", map[string]string{"a.go": "package m\n"}))
	h = append(h, b.Commit(gitfixture.At(2), "three", map[string]string{"b.go": "package m\n"}))
	b.AnnotatedTag(gitfixture.At(2), "v1.1.0")
	h = append(h, b.Commit(gitfixture.At(3), "four", map[string]string{"c.go": "package m\n"}))
	return b, h
}

// TestSessionFetchesOnlyWhatItNeeds: a tag is fetched shallowly; an
// untagged ancestor named by its full hash needs the full history; the
// answers are the go command's.
func TestSessionFetchesOnlyWhatItNeeds(t *testing.T) {
	b, h := history(t)
	r, _ := fileRepo(t, b)
	ctx := context.Background()
	s := r.Session()

	if _, err := os.Stat(r.Dir()); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("work dir exists before any fetch: %v", err)
	}
	info, err := s.Stat(ctx, "v1.1.0")
	if err != nil {
		t.Fatal(err)
	}
	if info.Name != h[2] || info.Version != "v1.1.0" || !info.Time.Equal(gitfixture.At(2)) || info.Origin.Ref != "refs/tags/v1.1.0" || info.Origin.Hash != h[2] {
		t.Fatalf("Stat(v1.1.0) = %+v %+v", info, info.Origin)
	}
	if _, err := os.Stat(filepath.Join(r.Dir(), "shallow")); err != nil {
		t.Fatalf("a tag was not fetched shallowly: %v", err)
	}
	// The ancestor v1.0.0..v1.1.0 commit has no ref: full fetch.
	info, err = s.Stat(ctx, h[1])
	if err != nil || info.Name != h[1] || len(info.Tags) != 0 {
		t.Fatalf("Stat(%s) = %+v, %v", h[1], info, err)
	}
	if _, err := os.Stat(filepath.Join(r.Dir(), "shallow")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("still shallow after the full fetch: %v", err)
	}
	tag, err := s.RecentTag(ctx, h[3], "", func(string) bool { return true })
	if err != nil || tag != "v1.1.0" {
		t.Fatalf("RecentTag = %q, %v", tag, err)
	}
	if ok, err := s.DescendsFrom(ctx, h[3], "v1.0.0"); !ok || err != nil {
		t.Fatalf("DescendsFrom = %v, %v", ok, err)
	}
	if ok, err := s.DescendsFrom(ctx, h[0], "v1.1.0"); ok || err != nil {
		t.Fatalf("DescendsFrom(old, new) = %v, %v", ok, err)
	}
	// Branch and HEAD resolve to hashes; Latest records HEAD.
	info, err = s.Stat(ctx, "main")
	if err != nil || info.Version != h[3] || info.Origin.Ref != "refs/heads/main" {
		t.Fatalf("Stat(main) = %+v, %v", info, err)
	}
	info, err = s.Latest(ctx)
	if err != nil || info.Name != h[3] || info.Origin.Ref != "HEAD" {
		t.Fatalf("Latest = %+v, %v", info, err)
	}
	// Hash prefixes.
	if info, err := s.Stat(ctx, h[2][:7]); err != nil || info.Name != h[2] {
		t.Fatalf("Stat(prefix) = %+v, %v", info, err)
	}
	// Unknown revisions are not found.
	for _, rev := range []string{"v9.9.9", "nobranch", "0000000"} {
		if _, err := r.Session().Stat(ctx, rev); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Stat(%s): %v is not a not-found error", rev, err)
		}
	}
	// Files.
	data, err := s.ReadFile(ctx, "v1.0.0", "go.mod", modzip.MaxGoMod)
	if err != nil || string(data) != "module example.com/m\n" {
		t.Fatalf("ReadFile = %q, %v", data, err)
	}
	if _, err := s.ReadFile(ctx, "v1.0.0", "nope", modzip.MaxGoMod); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("ReadFile(missing) = %v", err)
	}
	// The session remembers files it read: with the objects gone, it
	// still answers (git would fail).
	objects := filepath.Join(r.Dir(), "objects")
	if err := os.Rename(objects, objects+".away"); err != nil {
		t.Fatal(err)
	}
	again, err := s.ReadFile(ctx, "v1.0.0", "go.mod", modzip.MaxGoMod)
	if _, err2 := s.ReadFile(ctx, "v1.0.0", "nope", modzip.MaxGoMod); !errors.Is(err2, fs.ErrNotExist) {
		t.Errorf("remembered ReadFile(missing) = %v", err2)
	}
	if err := os.Rename(objects+".away", objects); err != nil {
		t.Fatal(err)
	}
	if err != nil || !bytes.Equal(again, data) {
		t.Fatalf("ReadFile again = %q, %v", again, err)
	}
	if _, err := s.ReadFile(ctx, "v1.0.0", "go.mod", 4); !errors.Is(err, ErrOutputTooLarge) || err.Error() != "go.mod file too large (max size is 4 bytes)" {
		t.Fatalf("ReadFile over the limit: %v", err)
	}
	a, err := s.ReadZip(ctx, "v1.1.0", "", "", modzip.MaxZipFile)
	if err != nil {
		t.Fatal(err)
	}
	name := a.Name()
	if a.Size == 0 {
		t.Error("empty archive")
	}
	a.Close()
	if _, err := os.Stat(name); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("archive not removed: %v", err)
	}
	if _, err := s.ReadZip(ctx, "v1.1.0", "nosuchdir", "", modzip.MaxZipFile); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("ReadZip(missing subdir) = %v", err)
	}
	if _, err := s.ReadZip(ctx, "v1.1.0", "", "", 10); !errors.Is(err, ErrOutputTooLarge) {
		t.Errorf("ReadZip over the limit = %v", err)
	}

	// Tags, sorted.
	tags, err := s.Tags(ctx, "v1.")
	if err != nil || len(tags) != 2 || tags[0].Name != "v1.0.0" || tags[1].Name != "v1.1.0" {
		t.Fatalf("Tags = %+v, %v", tags, err)
	}
}

// TestWorkDirLifecycle: a work directory with another remote's .info is
// refused; leftovers of interrupted work are cleaned; Remove deletes it.
func TestWorkDirLifecycle(t *testing.T) {
	b, _ := history(t)
	r, bare := fileRepo(t, b)
	ctx := context.Background()

	// Leftovers of a crashed first fetch.
	stale := r.Dir() + ".tmp-123"
	os.MkdirAll(filepath.Join(stale, "objects"), 0o777)
	if _, err := r.Session().Stat(ctx, "v1.0.0"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("stale temporary directory left: %v", err)
	}
	if data, _ := os.ReadFile(r.Dir() + ".info"); string(data) != "git3:"+r.URL() {
		t.Errorf(".info = %q", data)
	}

	// Locks a killed git left behind would make the next fetch fail;
	// they are removed first.
	lock := filepath.Join(r.Dir(), "shallow.lock")
	os.WriteFile(lock, nil, 0o666)
	os.MkdirAll(filepath.Join(r.Dir(), "refs", "tags"), 0o777)
	refLock := filepath.Join(r.Dir(), "refs", "tags", "v1.1.0.lock")
	os.WriteFile(refLock, nil, 0o666)
	if _, err := r.Session().Stat(ctx, "v1.1.0"); err != nil {
		t.Fatalf("fetch after a killed one: %v", err)
	}
	for _, p := range []string{lock, refLock} {
		if _, err := os.Stat(p); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("stale lock %s left: %v", p, err)
		}
	}

	// The remote disappears: what was fetched is still served (tags are
	// taken not to move, as by the go command); anything else fails.
	os.RemoveAll(bare)
	if info, err := r.Session().Stat(ctx, "v1.0.0"); err != nil || info.Version != "v1.0.0" {
		t.Errorf("cached tag: %+v, %v", info, err)
	}
	if _, err := r.Session().Stat(ctx, "main"); err == nil {
		t.Errorf("Stat(main) of a vanished remote succeeded")
	}

	if err := r.Remove(ctx); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{r.Dir(), r.Dir() + ".info"} {
		if _, err := os.Stat(p); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s left after Remove: %v", p, err)
		}
	}

	// Another remote's directory under the same name is refused.
	os.MkdirAll(r.Dir(), 0o777)
	os.WriteFile(r.Dir()+".info", []byte("git3:https://other.example/repo"), 0o666)
	b2, _ := history(t)
	r2, _ := fileRepo(t, b2)
	r2.dir, r2.key = r.dir, r.key // same directory, different remote contents
	if _, err := r2.Session().Stat(ctx, "v1.1.0"); err == nil || !strings.Contains(err.Error(), "exists with wrong content") {
		t.Errorf("wrong .info: %v", err)
	}
}

// TestConcurrentSessions: many sessions of two Repos sharing one work
// root fetch the same remote at once; all succeed and the repository is
// consistent.
func TestConcurrentSessions(t *testing.T) {
	b, h := history(t)
	r1, _ := fileRepo(t, b)
	r2, err := NewRepo(RepoConfig{URL: r1.URL(), WorkRoot: r1.root, Runner: r1.run})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := range 16 {
		r := r1
		if i%2 == 1 {
			r = r2
		}
		rev := []string{"v1.0.0", "v1.1.0", h[1], "main"}[i%4]
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := r.Session()
			info, err := s.Stat(ctx, rev)
			if err == nil {
				_, err = s.ReadFile(ctx, info.Name, "go.mod", modzip.MaxGoMod)
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if out, err := exec.Command("git", "--git-dir", r1.Dir(), "fsck", "--no-progress").CombinedOutput(); err != nil {
		t.Errorf("git fsck: %v\n%s", err, out)
	}
}

// TestNotFoundProbe: when ls-remote fails for an https remote, the
// NotFound hook decides whether the repository does not exist.
func TestNotFoundProbe(t *testing.T) {
	gitfixture.NeedGit(t)
	for _, notFound := range []bool{true, false} {
		var asked string
		r, err := NewRepo(RepoConfig{
			URL:      "https://nonexistent.invalid/repo",
			WorkRoot: t.TempDir(),
			Runner:   &Runner{Env: []string{"GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=" + os.DevNull, "HTTPS_PROXY=", "https_proxy="}},
			NotFound: func(ctx context.Context, u string) bool { asked = u; return notFound },
		})
		if err != nil {
			t.Fatal(err)
		}
		_, err = r.Session().Stat(context.Background(), "v1.0.0")
		if err == nil || errors.Is(err, fs.ErrNotExist) != notFound || asked != "https://nonexistent.invalid/repo" {
			t.Errorf("notFound=%v: err = %v (asked %q)", notFound, err, asked)
		}
		if _, err := os.Stat(r.Dir()); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("a work directory was made for a repository that could not be listed")
		}
	}
}

func TestNewRepoRejectsLocalPaths(t *testing.T) {
	for _, u := range []string{"/tmp/repo", "host:path/repo"} {
		if _, err := NewRepo(RepoConfig{URL: u, WorkRoot: t.TempDir()}); err == nil || !strings.Contains(err.Error(), "must not be local directory") {
			t.Errorf("NewRepo(%q) = %v", u, err)
		}
	}
}
