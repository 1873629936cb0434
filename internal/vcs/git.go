package vcs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/mod/semver"

	"github.com/modfetch/modfetch"
)

const windows = runtime.GOOS == "windows"

// minHashDigits is the shortest hex string taken as a commit hash prefix.
const minHashDigits = 7

// A RepoConfig describes a remote git repository for [NewRepo].
type RepoConfig struct {
	// URL is the remote repository, with a scheme ("https://...").
	URL string

	// WorkRoot is the directory holding work directories: the
	// repository's is WorkRoot/<hex SHA-256 of "git3:"+URL>, with ".info"
	// and ".lock" files beside it, as in $GOMODCACHE/cache/vcs.
	WorkRoot string

	// Runner runs git.
	Runner *Runner

	// RefsTTL is how long a listing of the remote's refs is reused by
	// later sessions. Zero means each session lists them afresh.
	RefsTTL time.Duration

	// NotFound, if set, is asked after `git ls-remote` fails for an
	// https URL: when it reports that the server answers 404 or 410 for
	// the URL, the failure counts as not found (fs.ErrNotExist), as in
	// the go command.
	NotFound func(ctx context.Context, url string) bool
}

// A Repo is a remote git repository and the local bare repository (its
// work directory) that holds what was fetched from it. It is long-lived
// and safe for concurrent use; work goes through [Repo.Session].
//
// Fetches are bounded like the go command's: a revision named by a
// branch, tag or HEAD is fetched alone with --depth=1; the full history of
// branches and tags is fetched only when a question needs it (a commit no
// ref names, the tag a pseudo-version is based on, ancestry). Commits that
// no branch or tag reaches (pull requests, say) are never fetched.
type Repo struct {
	url      string
	root     string
	dir      string
	key      string
	run      *Runner
	refsTTL  time.Duration
	notFound func(ctx context.Context, url string) bool

	mu        sync.Mutex
	refs      *refsResult     // last listing, for RefsTTL
	localTags map[string]bool // tags in the work directory; nil: not loaded
}

type refsResult struct {
	refs map[string]string
	at   time.Time
}

// NewRepo returns the Repo for c. It does no I/O.
func NewRepo(c RepoConfig) (*Repo, error) {
	if !strings.Contains(c.URL, "://") {
		if strings.Contains(c.URL, ":") {
			return nil, fmt.Errorf("git remote (%s) must not be local directory (use URL syntax not host:path syntax)", c.URL)
		}
		return nil, fmt.Errorf("git remote (%s) must not be local directory", c.URL)
	}
	if c.WorkRoot == "" {
		return nil, errors.New("no work directory root")
	}
	run := c.Runner
	if run == nil {
		run = new(Runner)
	}
	dir, key := workDirName(c.WorkRoot, gitWorkDirType, c.URL)
	return &Repo{url: c.URL, root: c.WorkRoot, dir: dir, key: key, run: run, refsTTL: c.RefsTTL, notFound: c.NotFound}, nil
}

// URL returns the remote's URL.
func (r *Repo) URL() string { return r.url }

// Dir returns the work directory (which may not exist yet).
func (r *Repo) Dir() string { return r.dir }

// Session returns a view of the repository for one request: the remote's
// refs are listed at most once in it (like once per go command), and what
// it resolves is remembered for its lifetime. A Session is safe for
// concurrent use and should be dropped after the request.
func (r *Repo) Session() *Session {
	return &Session{r: r}
}

// A Session answers questions about a Repo's revisions, the go command's
// codehost.Repo for git.
type Session struct {
	r *Repo

	refsOnce sync.Once
	refs     map[string]string
	refsErr  error

	fetchMu    sync.Mutex
	fetchLevel int

	statMu sync.Mutex
	stats  map[string]*statEntry

	filesMu sync.Mutex
	files   map[string]fileEntry // "hash:file" -> content or not-found
}

type fileEntry struct {
	data []byte
	err  error // nil or fs.ErrNotExist
}

type statEntry struct {
	done chan struct{}
	info *RevInfo
	err  error
}

const (
	fetchNone = iota // nothing fetched in this session
	fetchSome        // single refs, shallow
	fetchAll         // all branches and tags, full history
)

// git runs a command in the work directory.
func (s *Session) git(ctx context.Context, limit int64, args ...string) ([]byte, error) {
	return s.r.run.Run(ctx, Cmd{Dir: s.r.dir, Env: []string{"GIT_DIR=" + s.r.dir}, Args: args, Limit: limit})
}

const maxOutput = 64 << 20 // listings, logs

// loadRefs returns the remote's HEAD, branches and tags (refs/heads/...,
// refs/tags/...) and their commits, annotated tags peeled, from
// `git ls-remote`, listed once per session.
func (s *Session) loadRefs(ctx context.Context) (map[string]string, error) {
	s.refsOnce.Do(func() {
		s.refs, s.refsErr = s.r.listRefs(ctx)
	})
	return s.refs, s.refsErr
}

func (r *Repo) listRefs(ctx context.Context) (map[string]string, error) {
	if r.refsTTL > 0 {
		r.mu.Lock()
		c := r.refs
		r.mu.Unlock()
		if c != nil && time.Since(c.at) < r.refsTTL {
			return c.refs, nil
		}
	}
	if err := os.MkdirAll(r.root, 0o777); err != nil {
		return nil, err
	}
	// The remote is named by its URL, so that no work directory is needed
	// (and none is made for a repository that does not exist). GIT_DIR
	// keeps git from looking for a repository around the work root.
	out, gitErr := r.run.Run(ctx, Cmd{
		Dir:   r.root,
		Env:   []string{"GIT_DIR=" + r.dir},
		Args:  []string{"ls-remote", "-q", "--end-of-options", r.url},
		Limit: maxOutput,
	})
	if gitErr != nil {
		var re *RunError
		if errors.As(gitErr, &re) && bytes.Contains(re.Stderr, []byte("fatal: could not read Username")) {
			re.HelpText = "Confirm the import path was entered correctly.\nIf this is a private repository, see https://golang.org/doc/faq#git_https for additional information."
		}
		// A remote that does not exist at all makes the whole repository
		// not found. For https the go command asks the server itself.
		// (Not after a timeout: a server that hangs is not a missing one.)
		var te *TimeoutError
		if ctx.Err() == nil && !errors.As(gitErr, &te) && r.notFound != nil && strings.HasPrefix(r.url, "https://") && r.notFound(ctx, r.url) {
			gitErr = modfetch.NotExist(gitErr)
		}
		return nil, gitErr
	}
	refs := make(map[string]string)
	for line := range strings.SplitSeq(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) != 2 {
			continue
		}
		if f[1] == "HEAD" || strings.HasPrefix(f[1], "refs/heads/") || strings.HasPrefix(f[1], "refs/tags/") {
			refs[f[1]] = f[0]
		}
	}
	for ref, hash := range refs {
		if k, ok := strings.CutSuffix(ref, "^{}"); ok {
			refs[k] = hash // an annotated tag names the commit it points to
			delete(refs, ref)
		}
	}
	r.mu.Lock()
	r.refs = &refsResult{refs: refs, at: time.Now()}
	r.mu.Unlock()
	return refs, nil
}

// sha256Refs reports whether the remote uses SHA-256 object names.
func sha256Refs(refs map[string]string) bool {
	for _, h := range refs {
		return len(h) == 64
	}
	return false
}

// Tags returns the remote's tags starting with prefix, sorted by name.
func (s *Session) Tags(ctx context.Context, prefix string) ([]Tag, error) {
	refs, err := s.loadRefs(ctx)
	if err != nil {
		return nil, err
	}
	tags := []Tag{}
	for ref, hash := range refs {
		tag, ok := strings.CutPrefix(ref, "refs/tags/")
		if ok && strings.HasPrefix(tag, prefix) {
			tags = append(tags, Tag{tag, hash})
		}
	}
	sort.Slice(tags, func(i, j int) bool { return tags[i].Name < tags[j].Name })
	return tags, nil
}

// Latest returns the revision the remote's HEAD names, with Origin.Ref
// "HEAD". A repository without HEAD fails with ErrNoCommits.
func (s *Session) Latest(ctx context.Context) (*RevInfo, error) {
	refs, err := s.loadRefs(ctx)
	if err != nil {
		return nil, err
	}
	head := refs["HEAD"]
	if head == "" {
		return nil, ErrNoCommits
	}
	info, err := s.Stat(ctx, head)
	if err != nil {
		return nil, err
	}
	cp := *info
	o := modfetch.Origin{}
	if info.Origin != nil {
		o = *info.Origin
	}
	o.Ref, o.Hash = "HEAD", head
	cp.Origin = &o
	return &cp, nil
}

// Stat resolves rev — a commit hash or prefix of at least 7 digits, a tag,
// a branch or "HEAD" — fetching what is needed. The result is remembered
// for the session. An unknown revision is an *UnknownRevisionError.
func (s *Session) Stat(ctx context.Context, rev string) (*RevInfo, error) {
	if rev == "latest" {
		return s.Latest(ctx)
	}
	s.statMu.Lock()
	if s.stats == nil {
		s.stats = make(map[string]*statEntry)
	}
	e, ok := s.stats[rev]
	if !ok {
		e = &statEntry{done: make(chan struct{})}
		s.stats[rev] = e
		s.statMu.Unlock()
		e.info, e.err = s.stat(ctx, rev)
		close(e.done)
	} else {
		s.statMu.Unlock()
		select {
		case <-e.done:
		case <-ctx.Done():
			return nil, context.Cause(ctx)
		}
	}
	if e.err != nil {
		return nil, e.err
	}
	cp := *e.info
	if e.info.Origin != nil {
		o := *e.info.Origin
		cp.Origin = &o
	}
	return &cp, nil
}

// stat is the go command's gitRepo.stat: local answers first (a hash we
// have, a tag we have), then the remote's refs, then the least fetching
// that can answer.
func (s *Session) stat(ctx context.Context, rev string) (info *RevInfo, err error) {
	r := s.r
	didStatLocal := false
	if len(rev) >= minHashDigits && len(rev) <= 64 && AllHex(rev) && r.haveDir() {
		if info, err := s.statLocal(ctx, rev, rev); err == nil {
			return info, nil
		}
		didStatLocal = true
	}
	if r.haveLocalTag(ctx, s, rev) {
		return s.statLocal(ctx, rev, "refs/tags/"+rev)
	}

	refs, err := s.loadRefs(ctx)
	if err != nil {
		return nil, err
	}
	hashLen := 40
	if sha256Refs(refs) {
		hashLen = 64
	}
	var ref, hash string
	switch {
	case refs["refs/tags/"+rev] != "":
		ref = "refs/tags/" + rev
		hash = refs[ref]
		// Tags are taken not to move: rev stays the tag name.
	case refs["refs/heads/"+rev] != "":
		ref = "refs/heads/" + rev
		hash = refs[ref]
		rev = hash // a branch moves: resolve to its commit now
	case rev == "HEAD" && refs["HEAD"] != "":
		ref = "HEAD"
		hash = refs[ref]
		rev = hash
	case len(rev) >= minHashDigits && len(rev) <= hashLen && AllHex(rev):
		// A hash prefix: map it to a full hash through the refs if one
		// of them names it (deterministically, the least ref name).
		prefix := rev
		for k, h := range refs {
			if !strings.HasPrefix(h, prefix) {
				continue
			}
			if hash != "" && hash != h {
				return nil, fmt.Errorf("ambiguous revision %s", rev)
			}
			if ref == "" || ref > k {
				ref = k
			}
			rev, hash = h, h
		}
		if hash == "" && len(rev) == hashLen {
			hash = rev // a full hash no ref names: fetch everything and look
		}
	default:
		return nil, &UnknownRevisionError{Rev: rev}
	}

	defer func() {
		if info != nil {
			info.Origin.Hash = info.Name
			if ref != info.Origin.Hash {
				info.Origin.Ref = ref
			}
		}
	}()

	unlock, err := r.lock(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	s.fetchMu.Lock()
	defer s.fetchMu.Unlock()

	if err := r.ensureDir(ctx, sha256Refs(refs)); err != nil {
		return nil, err
	}
	// Holding the lock, no fetch runs here: lock files are leftovers of a
	// killed git, and would make our fetch fail.
	removeStaleLocks(r.dir)

	// Another session (or process) may have fetched what we need while
	// we waited for the lock, or we have the commit without the tag.
	if !didStatLocal {
		if info, err := s.statLocal(ctx, rev, hash); err == nil {
			if tag, isTag := strings.CutPrefix(ref, "refs/tags/"); isTag && !slices.Contains(info.Tags, tag) {
				if _, err := s.git(ctx, maxOutput, "tag", "--end-of-options", tag, hash); err != nil {
					return nil, err
				}
				r.addLocalTag(tag)
				return s.statLocal(ctx, rev, ref)
			}
			return info, nil
		}
	}

	// Fetch just the one ref when we know it. Commits are never fetched by
	// hash alone, so that nothing unreachable from branches and tags (a
	// rejected pull request, say) passes for part of the repository.
	if s.fetchLevel <= fetchSome && ref != "" && hash != "" {
		s.fetchLevel = fetchSome
		var refspec string
		if ref == "HEAD" {
			// A local name that is not a tag; fetching it also creates
			// local tags for the remote tags on the commit.
			ref = hash
			refspec = hash + ":refs/dummy"
		} else {
			refspec = ref + ":" + ref
		}
		// protocol.version=2 works around a git bug that loses tags on
		// the commit (go.dev/issue/56881).
		_, err := s.git(ctx, maxOutput, "-c", "protocol.version=2", "fetch", "-f", "--depth=1", "--end-of-options", "origin", refspec)
		r.fetched(err)
		if err == nil {
			return s.statLocal(ctx, rev, ref)
		}
		if ctx.Err() != nil {
			return nil, err
		}
		// Whatever went wrong, try the full fetch.
	}
	if err := s.fetchRefsLocked(ctx); err != nil {
		return nil, err
	}
	return s.statLocal(ctx, rev, rev)
}

// fetched records the end of a fetch: local tags must be listed again,
// and what a failed one left behind is removed. The caller holds the lock.
func (r *Repo) fetched(err error) {
	r.mu.Lock()
	r.localTags = nil
	r.mu.Unlock()
	if err != nil {
		removeStaleLocks(r.dir)
	}
}

// fetchRefsLocked fetches every branch and tag with its whole history,
// once per session. The caller holds the lock and s.fetchMu.
func (s *Session) fetchRefsLocked(ctx context.Context) error {
	if s.fetchLevel >= fetchAll {
		return nil
	}
	// Expand the set of refs first and unshallow in a second step: older
	// gits mishandle doing both at once (golang.org/issue/34266).
	_, err := s.git(ctx, maxOutput, "fetch", "-f", "--end-of-options", "origin", "refs/heads/*:refs/heads/*", "refs/tags/*:refs/tags/*")
	s.r.fetched(err)
	if err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(s.r.dir, "shallow")); err == nil {
		_, err := s.git(ctx, maxOutput, "fetch", "--unshallow", "-f", "--end-of-options", "origin")
		s.r.fetched(err)
		if err != nil {
			return err
		}
	}
	s.fetchLevel = fetchAll
	return nil
}

// haveLocalTag reports whether the work directory has tag rev.
func (r *Repo) haveLocalTag(ctx context.Context, s *Session, rev string) bool {
	r.mu.Lock()
	if r.localTags != nil {
		ok := r.localTags[rev]
		r.mu.Unlock()
		return ok
	}
	r.mu.Unlock()
	if !r.haveDir() {
		return false
	}
	out, err := s.git(ctx, maxOutput, "tag", "-l")
	if err != nil {
		return false
	}
	tags := make(map[string]bool)
	for line := range strings.SplitSeq(string(out), "\n") {
		if line != "" {
			tags[line] = true
		}
	}
	ok := tags[rev]
	r.mu.Lock()
	r.localTags = tags
	r.mu.Unlock()
	return ok
}

func (r *Repo) addLocalTag(tag string) {
	r.mu.Lock()
	if r.localTags != nil {
		r.localTags[tag] = true
	}
	r.mu.Unlock()
}

// statLocal describes rev from the work directory alone; version is the
// name asked for, kept as Version when it is a tag on the commit.
func (s *Session) statLocal(ctx context.Context, version, rev string) (*RevInfo, error) {
	if !s.r.haveDir() {
		return nil, &UnknownRevisionError{Rev: rev}
	}
	out, err := s.git(ctx, maxOutput, "-c", "log.showsignature=false", "log", "--no-decorate", "-n1", "--format=format:%H %ct %D", "--end-of-options", rev, "--")
	if err != nil {
		if ctx.Err() != nil {
			return nil, err
		}
		return nil, &UnknownRevisionError{Rev: rev}
	}
	f := strings.Fields(string(out))
	if len(f) < 2 {
		return nil, fmt.Errorf("unexpected response from git log: %q", out)
	}
	hash := f[0]
	if strings.HasPrefix(hash, version) {
		version = hash
	}
	t, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		return nil, fmt.Errorf("invalid time from git log: %q", out)
	}
	info := &RevInfo{
		Origin:  &modfetch.Origin{VCS: "git", URL: s.r.url, Hash: hash},
		Name:    hash,
		Short:   shortHash(hash),
		Time:    time.Unix(t, 0).UTC(),
		Version: hash,
	}
	if !strings.HasPrefix(hash, rev) {
		info.Origin.Ref = rev
	}
	// Decorations look like "HEAD -> main, tag: v1.2.3, tag: v1.2.4".
	for i := 2; i < len(f); i++ {
		if f[i] == "tag:" && i+1 < len(f) {
			i++
			info.Tags = append(info.Tags, strings.TrimSuffix(f[i], ","))
		}
	}
	// Shallow fetches by newer gits do not bring the tags along, so add
	// the remote's tags on the commit too.
	if refs, err := s.loadRefs(ctx); err == nil {
		for ref, h := range refs {
			if h == hash {
				if tag, ok := strings.CutPrefix(ref, "refs/tags/"); ok {
					info.Tags = append(info.Tags, tag)
				}
			}
		}
	}
	slices.Sort(info.Tags)
	info.Tags = slices.Compact(info.Tags)
	if slices.Contains(info.Tags, version) {
		info.Version = version
	}
	return info, nil
}

func shortHash(hash string) string {
	if AllHex(hash) && (len(hash) == 40 || len(hash) == 64) {
		return hash[:12]
	}
	return hash
}

// A FileTooLargeError is a file over the size limit of a read.
// errors.Is(err, ErrOutputTooLarge) holds for it.
type FileTooLargeError struct {
	Name string // base name
	Max  int64
}

func (e *FileTooLargeError) Error() string {
	return fmt.Sprintf("%s file too large (max size is %d bytes)", e.Name, e.Max)
}

func (e *FileTooLargeError) Unwrap() error { return ErrOutputTooLarge }

// ReadFile returns file at rev, fetching rev if needed. A missing file,
// or one that cannot be read, is fs.ErrNotExist; a file over maxSize is
// a *FileTooLargeError.
func (s *Session) ReadFile(ctx context.Context, rev, file string, maxSize int64) ([]byte, error) {
	info, err := s.Stat(ctx, rev)
	if err != nil {
		return nil, err
	}
	// The same file of the same commit is read again and again while one
	// version is resolved (findDir, retractions): remember it.
	key := info.Name + ":" + file
	s.filesMu.Lock()
	e, ok := s.files[key]
	s.filesMu.Unlock()
	if ok && int64(len(e.data)) <= maxSize {
		return bytes.Clone(e.data), e.err
	}
	out, err := s.git(ctx, maxSize, "cat-file", "--end-of-options", "blob", key)
	if err != nil {
		if errors.Is(err, ErrOutputTooLarge) {
			return nil, &FileTooLargeError{Name: path.Base(file), Max: maxSize}
		}
		if ctx.Err() != nil {
			return nil, err
		}
		out, err = nil, fs.ErrNotExist
	}
	s.filesMu.Lock()
	if s.files == nil {
		s.files = make(map[string]fileEntry)
	}
	s.files[key] = fileEntry{out, err}
	s.filesMu.Unlock()
	return bytes.Clone(out), err
}

// RecentTag returns the highest tag with prefix that allowed accepts on
// rev or an ancestor, fetching full history if the shallow one cannot
// tell; "" if there is none.
func (s *Session) RecentTag(ctx context.Context, rev, prefix string, allowed func(tag string) bool) (tag string, err error) {
	info, err := s.Stat(ctx, rev)
	if err != nil {
		return "", err
	}
	rev = info.Name

	// describe reports whether the answer is final.
	describe := func() bool {
		out, derr := s.git(ctx, maxOutput, "for-each-ref", "--format=%(refname)", "--merged="+rev)
		if derr != nil {
			err = derr
			return true
		}
		var highest string
		for line := range strings.SplitSeq(string(out), "\n") {
			t, ok := strings.CutPrefix(strings.TrimSpace(line), "refs/tags/")
			if !ok || !strings.HasPrefix(t, prefix) || !allowed(t) {
				continue
			}
			if v := t[len(prefix):]; semver.Compare(v, highest) > 0 {
				highest = v
			}
		}
		if highest != "" {
			tag = prefix + highest
		}
		return tag != "" && !AllHex(tag)
	}
	if describe() {
		return tag, err
	}

	// No tag found in what we have. If the remote has plausible tags, get
	// the full history and look again.
	tags, err := s.Tags(ctx, prefix+"v")
	if err != nil {
		return "", err
	}
	if len(tags) == 0 {
		return "", nil
	}
	// No deferred unlock: allowed may read files, which may fetch, which
	// takes the lock.
	unlock, err := s.r.lock(ctx)
	if err != nil {
		return "", err
	}
	s.fetchMu.Lock()
	err = s.fetchRefsLocked(ctx)
	s.fetchMu.Unlock()
	unlock()
	if err != nil {
		return "", err
	}
	describe()
	return tag, err
}

// DescendsFrom reports whether rev is tag's commit or a descendant of it.
func (s *Session) DescendsFrom(ctx context.Context, rev, tag string) (bool, error) {
	if s.r.haveDir() {
		if _, err := s.git(ctx, maxOutput, "merge-base", "--is-ancestor", "--", tag, rev); err == nil {
			return true, nil
		}
	}
	// A shallow history gives false negatives: check that both exist,
	// then fetch the history and ask again.
	tags, err := s.Tags(ctx, tag)
	if err != nil {
		return false, err
	}
	if len(tags) == 0 {
		return false, nil
	}
	if _, err := s.Stat(ctx, rev); err != nil {
		return false, err
	}
	unlock, err := s.r.lock(ctx)
	if err != nil {
		return false, err
	}
	defer unlock()
	s.fetchMu.Lock()
	err = s.fetchRefsLocked(ctx)
	s.fetchMu.Unlock()
	if err != nil {
		return false, err
	}
	_, err = s.git(ctx, maxOutput, "merge-base", "--is-ancestor", "--", tag, rev)
	if err == nil {
		return true, nil
	}
	var re *RunError
	if errors.As(err, &re) && re.ExitCode() == 1 {
		return false, nil
	}
	return false, err
}

// An Archive is a zip of a revision (`git archive`), in a temporary file
// that Close removes. Its entries are under one top-level directory.
type Archive struct {
	*os.File
	Size int64
}

// Close closes and removes the file.
func (a *Archive) Close() error {
	err := a.File.Close()
	os.Remove(a.File.Name())
	return err
}

// ReadZip archives subdir (all of the tree if "") at rev into a
// temporary file in tmpDir ("" means os.TempDir()). An archive larger than
// maxSize is an error wrapping ErrOutputTooLarge; a subdir that does not
// exist is fs.ErrNotExist.
func (s *Session) ReadZip(ctx context.Context, rev, subdir, tmpDir string, maxSize int64) (*Archive, error) {
	info, err := s.Stat(ctx, rev)
	if err != nil {
		return nil, err
	}
	f, err := os.CreateTemp(tmpDir, "modfetch-git-archive-")
	if err != nil {
		return nil, err
	}
	a := &Archive{File: f}
	ok := false
	defer func() {
		if !ok {
			a.Close()
		}
	}()

	unlock, err := s.r.lock(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if err := ensureGitAttributes(s.r.dir); err != nil {
		return nil, err
	}
	// core.autocrlf=input and core.eol=lf: the same bytes on every system.
	args := []string{"-c", "core.autocrlf=input", "-c", "core.eol=lf", "archive", "--format=zip", "--prefix=prefix/", "--end-of-options", info.Name}
	if subdir != "" {
		args = append(args, subdir)
	}
	_, err = s.r.run.Run(ctx, Cmd{Dir: s.r.dir, Env: []string{"GIT_DIR=" + s.r.dir}, Args: args, Stdout: f, Limit: maxSize})
	if err != nil {
		var re *RunError
		if errors.As(err, &re) && bytes.Contains(re.Stderr, []byte("did not match any files")) {
			return nil, fs.ErrNotExist
		}
		if errors.Is(err, ErrOutputTooLarge) {
			return nil, fmt.Errorf("downloaded zip file too large: %w", ErrOutputTooLarge)
		}
		return nil, err
	}
	size, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return nil, err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	a.Size = size
	ok = true
	return a, nil
}
