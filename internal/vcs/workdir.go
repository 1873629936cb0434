package vcs

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/modfetch/modfetch/internal/lockedfile"
)

// gitWorkDirType is the go command's work directory type for git, so a
// repository's directory name is the same as in $GOMODCACHE/cache/vcs.
const gitWorkDirType = "git3"

// WorkDir returns the work directory a git Repo for remote would use
// under root, without creating or registering anything.
func WorkDir(root, remote string) string {
	dir, _ := workDirName(root, gitWorkDirType, remote)
	return dir
}

// workDirName returns the work directory for a repository of type typ at
// remote under root, with the go command's naming: the hex SHA-256 of
// "typ:remote". Names never nest and never depend on the URL's spelling as
// a path. It also returns the key recorded in the directory's ".info" file.
func workDirName(root, typ, remote string) (dir, key string) {
	key = typ + ":" + remote
	return filepath.Join(root, fmt.Sprintf("%x", sha256.Sum256([]byte(key)))), key
}

// lock takes the repository's cross-process lock: an exclusive flock on
// "<dir>.lock", the same file the go command locks for the same
// repository, so the two never fetch into one directory at once.
func (r *Repo) lock(ctx context.Context) (unlock func(), err error) {
	if err := os.MkdirAll(r.root, 0o777); err != nil {
		return nil, err
	}
	unlock, err = lockedfile.Lock(ctx, r.dir+".lock")
	if err != nil {
		return nil, fmt.Errorf("locking work directory: %w", err)
	}
	return unlock, nil
}

// haveDir reports whether the work directory exists and is complete, so
// that local git commands can run in it.
func (r *Repo) haveDir() bool {
	data, err := os.ReadFile(r.dir + ".info")
	if err != nil || strings.TrimSuffix(string(data), "\n") != r.key {
		return false
	}
	fi, err := os.Stat(filepath.Join(r.dir, "objects"))
	if err != nil || !fi.IsDir() {
		return false
	}
	_, err = os.Stat(filepath.Join(r.dir, "config"))
	return err == nil
}

// ensureDir makes the work directory, a bare repository with the remote
// "origin", if it is not there or not complete. The caller holds the lock.
//
// The repository is built in a temporary directory beside its final name
// and renamed into place only when complete, so a failure or a crash never
// leaves a directory that later calls would trust. The ".info" file holds
// the key, like the go command's; a ".info" for another key is an error.
func (r *Repo) ensureDir(ctx context.Context, sha256Hashes bool) error {
	data, infoErr := os.ReadFile(r.dir + ".info")
	if infoErr == nil {
		if have := strings.TrimSuffix(string(data), "\n"); have != r.key {
			return fmt.Errorf("%s exists with wrong content (have %q want %q)", r.dir+".info", have, r.key)
		}
		if r.haveDir() {
			return nil
		}
	} else if !errors.Is(infoErr, fs.ErrNotExist) {
		return infoErr
	}

	// Remove what earlier failures may have left: holding the lock, no
	// one else is building this directory.
	base := filepath.Base(r.dir)
	if stale, _ := filepath.Glob(filepath.Join(r.root, base+".tmp-*")); len(stale) > 0 {
		for _, s := range stale {
			os.RemoveAll(s)
		}
	}
	if err := os.RemoveAll(r.dir); err != nil {
		return err
	}

	tmp, err := os.MkdirTemp(r.root, base+".tmp-")
	if err != nil {
		return err
	}
	ok := false
	defer func() {
		if !ok {
			os.RemoveAll(tmp)
		}
	}()
	git := func(args ...string) error {
		_, err := r.run.Run(ctx, Cmd{Dir: tmp, Env: []string{"GIT_DIR=" + tmp}, Args: args, Limit: 1 << 20})
		return err
	}
	initArgs := []string{"init", "--bare"}
	if sha256Hashes {
		initArgs = append(initArgs, "--object-format=sha256")
	} else if ok, err := r.run.gitAtLeast(ctx, "v2.29"); err != nil {
		return fmt.Errorf("unable to resolve git version: %w", err)
	} else if ok {
		initArgs = append(initArgs, "--object-format=sha1")
	}
	if err := git(initArgs...); err != nil {
		return err
	}
	// A named remote, as the go command uses (it avoids a Git LFS problem
	// and lets "git fetch origin" pick up the user's url.* rewriting).
	if err := git("remote", "add", "origin", "--", r.url); err != nil {
		return err
	}
	if windows {
		if err := git("config", "core.longpaths", "true"); err != nil {
			return err
		}
	}
	if err := ensureGitAttributes(tmp); err != nil {
		return err
	}
	if err := os.WriteFile(r.dir+".info", []byte(r.key), 0o666); err != nil {
		return err
	}
	if err := os.Rename(tmp, r.dir); err != nil {
		return err
	}
	ok = true
	return nil
}

// Remove deletes the repository's work directory and its ".info" file
// under the repository's lock. The lock file itself stays (it is the
// mutex others may be waiting on). A later call fetches afresh.
func (r *Repo) Remove(ctx context.Context) error {
	unlock, err := r.lock(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	r.mu.Lock()
	r.localTags = nil
	r.refs = nil
	r.mu.Unlock()
	if err := os.RemoveAll(r.dir); err != nil {
		return err
	}
	if err := os.Remove(r.dir + ".info"); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// ensureGitAttributes disables export-subst and export-ignore for the
// repository, as the go command does before `git archive`, so archives do
// not depend on attributes in the repository (golang.org/issue/27153).
func ensureGitAttributes(dir string) error {
	const attr = "\n* -export-subst -export-ignore\n"
	info := filepath.Join(dir, "info")
	if err := os.MkdirAll(info, 0o777); err != nil {
		return err
	}
	name := filepath.Join(info, "attributes")
	data, err := os.ReadFile(name)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if strings.HasSuffix(string(data), attr) {
		return nil
	}
	f, err := os.OpenFile(name, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o666)
	if err != nil {
		return err
	}
	_, err = f.WriteString(attr)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// removeStaleLocks deletes the lock files and temporary packs that a git
// process killed in the middle of a fetch leaves behind (git removes them
// itself when it can exit normally). The caller holds the repository's
// lock, so no fetch of ours or the go command's is running in dir.
func removeStaleLocks(dir string) {
	for _, name := range []string{"shallow.lock", "packed-refs.lock", "config.lock", "HEAD.lock", "FETCH_HEAD.lock", "index.lock"} {
		os.Remove(filepath.Join(dir, name))
	}
	filepath.WalkDir(filepath.Join(dir, "refs"), func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, ".lock") {
			os.Remove(path)
		}
		return nil
	})
	if tmps, _ := filepath.Glob(filepath.Join(dir, "objects", "pack", "tmp_*")); len(tmps) > 0 {
		for _, t := range tmps {
			os.Remove(t)
		}
	}
	if tmps, _ := filepath.Glob(filepath.Join(dir, "objects", "incoming-*")); len(tmps) > 0 {
		for _, t := range tmps {
			os.RemoveAll(t)
		}
	}
}
