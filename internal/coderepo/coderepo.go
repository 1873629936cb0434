// Package coderepo turns a version control repository into a module: the
// go command's rules (cmd/go/internal/modfetch/coderepo.go) for which tags
// are versions of which module (subdirectory modules, major-version
// suffixes and vN/ directories, gopkg.in, +incompatible), pseudo-versions
// and their validation, where a module's go.mod is (findDir), the
// synthesised go.mod of a repository without one, and the module zip.
//
// It works over a [Code], the questions a repository answers; package vcs
// answers them for git.
package coderepo

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
	"time"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"
	modzip "golang.org/x/mod/zip"

	"github.com/modfetch/modfetch"
	"github.com/modfetch/modfetch/internal/vcs"
)

// Code is what a repository answers (the go command's codehost.Repo).
type Code interface {
	// Tags lists the tags with a prefix.
	Tags(ctx context.Context, prefix string) ([]vcs.Tag, error)
	// Stat resolves a revision: hash, tag, branch.
	Stat(ctx context.Context, rev string) (*vcs.RevInfo, error)
	// Latest resolves the default branch's head.
	Latest(ctx context.Context) (*vcs.RevInfo, error)
	// ReadFile returns a file at rev; a missing one is fs.ErrNotExist.
	ReadFile(ctx context.Context, rev, file string, maxSize int64) ([]byte, error)
	// ReadZip archives subdir at rev, under one top-level directory.
	ReadZip(ctx context.Context, rev, subdir, tmpDir string, maxSize int64) (*vcs.Archive, error)
	// RecentTag returns the highest allowed tag with prefix on rev or an
	// ancestor.
	RecentTag(ctx context.Context, rev, prefix string, allowed func(tag string) bool) (string, error)
	// DescendsFrom reports whether rev is tag's commit or a descendant.
	DescendsFrom(ctx context.Context, rev, tag string) (bool, error)
}

// A Repo is one module in a repository. It is cheap: make one per request
// around a per-request Code.
type Repo struct {
	modPath string
	code    Code

	codeRoot string // import path of the repository root
	codeDir  string // module root inside the repository ("" for the root)

	// pathMajor is the module path's major-version suffix ("/v2", ".v2",
	// ".v2-unstable"), "" for v0/v1; pathPrefix the path without it.
	pathMajor  string
	pathPrefix string

	// pseudoMajor is the major version pseudo-versions must have ("v2"),
	// "" when the path allows v0 or v1.
	pseudoMajor string

	// TempDir holds temporary files ("" means os.TempDir()).
	TempDir string
}

// New returns the module path found in code, a repository whose root is
// the import path codeRoot, with an optional subdirectory from a go-import
// meta tag.
func New(code Code, codeRoot, subdir, modPath string) (*Repo, error) {
	if !vcs.HasPathPrefix(modPath, codeRoot) {
		return nil, fmt.Errorf("mismatched repo: found %s for %s", codeRoot, modPath)
	}
	prefix, major, ok := module.SplitPathVersion(modPath)
	if !ok {
		return nil, fmt.Errorf("invalid module path %q", modPath)
	}
	if codeRoot == modPath {
		prefix = modPath
	}
	// The module's directory is its path without the major suffix, less
	// the repository root: github.com/a/b/sub/v2 in github.com/a/b is in
	// "sub" (or "sub/v2", see findDir). When the root is the whole path
	// (a go-import tag for .../v2, or gopkg.in) the directory is "".
	dir := ""
	if codeRoot != modPath {
		if !vcs.HasPathPrefix(prefix, codeRoot) {
			return nil, fmt.Errorf("repository rooted at %s cannot contain module %s", codeRoot, modPath)
		}
		dir = strings.Trim(prefix[len(codeRoot):], "/")
	}
	if subdir != "" {
		dir = path.Join(dir, subdir)
	}
	return &Repo{
		modPath:     modPath,
		code:        code,
		codeRoot:    codeRoot,
		codeDir:     dir,
		pathMajor:   major,
		pathPrefix:  prefix,
		pseudoMajor: module.PathMajorPrefix(major),
	}, nil
}

// tagPrefix is what the module's version tags start with.
func (r *Repo) tagPrefix() string {
	if r.codeDir == "" {
		return ""
	}
	return r.codeDir + "/"
}

// Versions lists the module's versions from tags with prefix (after the
// directory): canonical semantic versions of the path's major version, and
// +incompatible ones for an unversioned root module whose latest tags have
// no go.mod.
func (r *Repo) Versions(ctx context.Context, prefix string) ([]string, error) {
	// gopkg.in/x.v2-unstable has no tags of its own (v2 tags are x.v2's).
	if strings.HasPrefix(r.modPath, "gopkg.in/") && strings.HasSuffix(r.modPath, "-unstable") {
		return []string{}, nil
	}
	p := r.tagPrefix() + prefix
	tags, err := r.code.Tags(ctx, p)
	if err != nil {
		return nil, &module.ModuleError{Path: r.modPath, Err: err}
	}
	var list, incompatible []string
	for _, t := range tags {
		v := t.Name[len(r.tagPrefix()):]
		// Only canonical tags; pseudo-version-shaped ones never count.
		if v == "" || v != semver.Canonical(v) || module.IsPseudoVersion(v) {
			continue
		}
		if err := module.CheckPathMajor(v, r.pathMajor); err != nil {
			if r.codeDir == "" && r.pathMajor == "" && semver.Major(v) > "v1" {
				incompatible = append(incompatible, v)
			}
			continue
		}
		list = append(list, v)
	}
	semver.Sort(list)
	semver.Sort(incompatible)
	return r.addIncompatible(ctx, list, incompatible)
}

// addIncompatible appends the +incompatible versions that count: none if
// the latest compatible version has a go.mod (golang.org/issue/34189),
// else those of each major whose latest tag has no go.mod.
func (r *Repo) addIncompatible(ctx context.Context, list, incompatible []string) ([]string, error) {
	if list == nil {
		list = []string{}
	}
	if len(incompatible) == 0 || r.pathMajor != "" {
		return list, nil
	}
	hasGoMod := func(v string) (bool, error) {
		_, err := r.code.ReadFile(ctx, v, "go.mod", modzip.MaxGoMod)
		if err == nil {
			return true, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return false, &module.ModuleError{Path: r.modPath, Err: err}
		}
		return false, nil
	}
	if len(list) > 0 {
		ok, err := hasGoMod(list[len(list)-1])
		if err != nil {
			return nil, err
		}
		if ok {
			return list, nil
		}
	}
	var major string
	var majorHasGoMod bool
	for i, v := range incompatible {
		if m := semver.Major(v); m != major {
			rest := incompatible[i:]
			j := sort.Search(len(rest), func(j int) bool { return semver.Major(rest[j]) != m })
			var err error
			major = m
			if majorHasGoMod, err = hasGoMod(rest[j-1]); err != nil {
				return nil, err
			}
		}
		if !majorHasGoMod {
			list = append(list, v+"+incompatible")
		}
	}
	return list, nil
}

// Stat resolves rev (a version, pseudo-version, branch, tag or hash, or
// "latest") to a module version.
func (r *Repo) Stat(ctx context.Context, rev string) (*modfetch.Info, error) {
	if rev == "latest" {
		return r.Latest(ctx)
	}
	info, err := r.code.Stat(ctx, r.revToRev(rev))
	if err != nil {
		return nil, &module.ModuleError{Path: r.modPath, Err: &module.InvalidVersionError{Version: rev, Err: err}}
	}
	return r.convert(ctx, info, rev)
}

// Latest resolves the repository's default branch head.
func (r *Repo) Latest(ctx context.Context) (*modfetch.Info, error) {
	info, err := r.code.Latest(ctx)
	if err != nil {
		return nil, err
	}
	return r.convert(ctx, info, "")
}

// revToRev turns a version into the repository revision it names.
func (r *Repo) revToRev(rev string) string {
	if !semver.IsValid(rev) {
		return rev // a branch, tag or hash
	}
	if module.IsPseudoVersion(rev) {
		h, _ := module.PseudoVersionRev(rev)
		return h
	}
	rev = strings.TrimSuffix(rev, "+incompatible")
	return r.tagPrefix() + rev
}

func (r *Repo) versionToRev(version string) (string, error) {
	if !semver.IsValid(version) {
		return "", &module.ModuleError{Path: r.modPath, Err: &module.InvalidVersionError{Version: version, Err: invalidf("syntax error")}}
	}
	return r.revToRev(version), nil
}

// tagToVersion returns the version a tag stands for ("" if none) and
// whether the tag is exactly that version.
func (r *Repo) tagToVersion(tag string) (v string, canonical bool) {
	trimmed, ok := strings.CutPrefix(tag, r.tagPrefix())
	if !ok || module.IsPseudoVersion(tag) {
		return "", false
	}
	// semver.Canonical, not module.CanonicalVersion: a tag's own
	// "+incompatible" must not be taken up.
	v = semver.Canonical(trimmed)
	if v == "" || !strings.HasPrefix(trimmed, v) {
		return "", false // not a version, or an incomplete one (v1.2)
	}
	return v, v == trimmed
}

// convert turns a revision into the module version it is, as the go
// command's codeRepo.convert: the requested version if it is a valid tag
// for this module, else the highest version tag on the commit, else a
// pseudo-version based on the highest version tag among its ancestors.
func (r *Repo) convert(ctx context.Context, info *vcs.RevInfo, statVers string) (result *modfetch.Info, err error) {
	defer func() {
		if result != nil && info.Origin != nil {
			o := *info.Origin
			o.Subdir = r.codeDir
			result.Origin = &o
		}
	}()

	// canUseIncompatible reports whether version v (of a major other than
	// the path's) may be used with +incompatible: only for an unversioned
	// root module without go.mod and, unless +incompatible was asked for,
	// without a vN/go.mod (go.dev/issue/51324).
	noGoMod := map[string]bool{}
	canUseIncompatible := func(v string) bool {
		if r.codeDir != "" || r.pathMajor != "" {
			return false
		}
		ok, seen := noGoMod[""]
		if !seen {
			_, err := r.code.ReadFile(ctx, info.Name, "go.mod", modzip.MaxGoMod)
			ok = err != nil
			noGoMod[""] = ok
		}
		if !ok {
			return false
		}
		if v != "" && !strings.HasSuffix(statVers, "+incompatible") {
			major := semver.Major(v)
			ok, seen = noGoMod[major]
			if !seen {
				_, err := r.code.ReadFile(ctx, info.Name, path.Join(major, "go.mod"), modzip.MaxGoMod)
				ok = err != nil
				noGoMod[major] = ok
			}
			if !ok {
				return false
			}
		}
		return true
	}

	// checkCanonical validates canonical version v for this module (its
	// go.mod location and major version, adding +incompatible if needed)
	// and, if statVers is canonical, that v is statVers.
	checkCanonical := func(v string) (*modfetch.Info, error) {
		invalid := func(version string, err error) error {
			return &module.ModuleError{Path: r.modPath, Err: &module.InvalidVersionError{Version: version, Err: err}}
		}
		// findDir enforces that a subdirectory module has a go.mod and
		// that a go.mod's major version matches.
		if _, _, _, err := r.findDir(ctx, v); err != nil {
			return nil, invalid(v, err)
		}
		if v == strings.TrimSuffix(statVers, "+incompatible") {
			v = statVers
		}
		base := strings.TrimSuffix(v, "+incompatible")
		var errIncompatible error
		if !module.MatchPathMajor(base, r.pathMajor) {
			if canUseIncompatible(base) {
				v = base + "+incompatible"
			} else if r.pathMajor != "" {
				errIncompatible = invalid(v, invalidf("module path includes a major version suffix, so major version must match"))
			} else {
				errIncompatible = invalid(v, invalidf("module contains a go.mod file, so module path must match major version (%q)", path.Join(r.pathPrefix, semver.Major(v))))
			}
		} else if strings.HasSuffix(v, "+incompatible") {
			errIncompatible = invalid(v, invalidf("+incompatible suffix not allowed: major version %s is compatible", semver.Major(v)))
		}
		if statVers != "" && statVers == module.CanonicalVersion(statVers) {
			// A canonical request must resolve to itself.
			if statBase := strings.TrimSuffix(statVers, "+incompatible"); statBase != base {
				return nil, invalid(statVers, invalidf("resolves to version %v (%s is not a tag)", v, statBase))
			}
		}
		if errIncompatible != nil {
			return nil, errIncompatible
		}
		return &modfetch.Info{Time: info.Time, Version: v}, nil
	}

	if module.IsPseudoVersion(statVers) {
		// Check the cheap things (go.mod, major version) before the base
		// tag, which may need the full history.
		res, err := checkCanonical(statVers)
		if err != nil {
			return nil, err
		}
		if err := r.validatePseudoVersion(ctx, info, statVers); err != nil {
			return nil, err
		}
		return res, nil
	}

	// Retractions (which cost a read of the latest go.mod) matter only
	// when a tag must be chosen: load them on first use. A failure to read
	// them is ignored, as by the go command.
	var isRetracted func(string) bool
	retracted := func(v string) bool {
		if isRetracted == nil {
			var err error
			if isRetracted, err = r.retractedVersions(ctx); err != nil {
				isRetracted = func(string) bool { return false }
			}
		}
		return isRetracted(v)
	}

	// The VCS said rev is a tag: use it if it is a canonical version.
	if v, ok := r.tagToVersion(info.Version); ok {
		if res, err := checkCanonical(v); err == nil {
			return res, nil
		}
	}

	var highest, pseudoBase string
	for _, tag := range info.Tags {
		v, canonical := r.tagToVersion(tag)
		if statVers != "" && semver.Compare(v, statVers) == 0 {
			if canonical {
				return checkCanonical(v)
			}
			// A non-canonical tag equal to the request (v1.2.3+meta) is
			// ambiguous as a version but fine as a pseudo-version base.
			pseudoBase = v
		}
		if canonical && semver.Compare(highest, v) < 0 && !retracted(v) {
			if module.MatchPathMajor(v, r.pathMajor) || canUseIncompatible(v) {
				highest = v
			}
		}
	}
	if highest != "" {
		return checkCanonical(highest)
	}

	if pseudoBase == "" {
		allowed := func(tag string) bool {
			v, _ := r.tagToVersion(tag)
			if v == "" {
				return false
			}
			if !module.MatchPathMajor(v, r.pathMajor) && !canUseIncompatible(v) {
				return false
			}
			return !retracted(v)
		}
		tag, err := r.code.RecentTag(ctx, info.Name, r.tagPrefix(), allowed)
		if err != nil {
			return nil, err
		}
		if tag != "" {
			pseudoBase, _ = r.tagToVersion(tag)
		}
	}
	return checkCanonical(module.PseudoVersion(r.pseudoMajor, pseudoBase, info.Time, info.Short))
}

// validatePseudoVersion checks a requested pseudo-version against the
// commit: revision, time, and a base that is a tag on an ancestor.
func (r *Repo) validatePseudoVersion(ctx context.Context, info *vcs.RevInfo, version string) (err error) {
	defer func() {
		if err == nil {
			return
		}
		if _, ok := err.(*module.ModuleError); ok {
			return
		}
		if _, ok := err.(*module.InvalidVersionError); !ok {
			err = &module.InvalidVersionError{Version: version, Pseudo: true, Err: err}
		}
		err = &module.ModuleError{Path: r.modPath, Err: err}
	}()

	rev, err := module.PseudoVersionRev(version)
	if err != nil {
		return err
	}
	if rev != info.Short {
		switch {
		case strings.HasPrefix(rev, info.Short):
			return invalidf("revision is longer than canonical (expected %s)", info.Short)
		case strings.HasPrefix(info.Short, rev):
			return invalidf("revision is shorter than canonical (expected %s)", info.Short)
		default:
			return invalidf("does not match short name of revision (expected %s)", info.Short)
		}
	}
	t, err := module.PseudoVersionTime(version)
	if err != nil {
		return err
	}
	if !t.Equal(info.Time.Truncate(time.Second)) {
		return invalidf("does not match version-control timestamp (expected %s)", info.Time.UTC().Format(module.PseudoVersionTimestampFormat))
	}

	// The base must be a tag on an ancestor, so that pseudo-versions sort
	// just above their parents and there are finitely many per commit.
	base, err := module.PseudoVersionBase(strings.TrimSuffix(version, "+incompatible"))
	if err != nil {
		return err
	}
	if base == "" {
		if r.pseudoMajor == "" && semver.Major(version) == "v1" {
			return invalidf("major version without preceding tag must be v0, not v1")
		}
		return nil
	}
	for _, tag := range info.Tags {
		if strings.TrimPrefix(tag, r.tagPrefix()) == base {
			// The commit has the canonical tag itself: use that.
			return invalidf("tag (%s) found on revision %s is already canonical, so should not be replaced with a pseudo-version derived from that tag", tag, rev)
		}
	}
	tags, err := r.code.Tags(ctx, r.tagPrefix()+base)
	if err != nil {
		return err
	}
	var lastTag string
	found := false
	for _, tag := range tags {
		if semver.Compare(strings.TrimPrefix(tag.Name, r.tagPrefix()), base) == 0 {
			lastTag = tag.Name
			found, err = r.code.DescendsFrom(ctx, info.Name, tag.Name)
			if found {
				break
			}
		}
	}
	if lastTag == "" {
		return invalidf("preceding tag (%s) not found", base)
	}
	if !found {
		if err != nil {
			return err
		}
		rev, err := module.PseudoVersionRev(version)
		if err != nil {
			return invalidf("not a descendent of preceding tag (%s)", lastTag)
		}
		return invalidf("revision %s is not a descendent of preceding tag (%s)", rev, lastTag)
	}
	return nil
}

// retractedVersions returns a predicate for the versions retracted by the
// go.mod of the module's latest release (or pre-release).
func (r *Repo) retractedVersions(ctx context.Context) (func(string) bool, error) {
	versions, err := r.Versions(ctx, "")
	if err != nil {
		return nil, err
	}
	for i, v := range versions {
		if strings.HasSuffix(v, "+incompatible") {
			versions = versions[:i] // +incompatible versions have no go.mod
			break
		}
	}
	if len(versions) == 0 {
		return func(string) bool { return false }, nil
	}
	highest := versions[len(versions)-1]
	for i := len(versions) - 1; i >= 0; i-- {
		if semver.Prerelease(versions[i]) == "" {
			highest = versions[i]
			break
		}
	}
	data, err := r.GoMod(ctx, highest)
	if err != nil {
		return nil, err
	}
	f, err := modfile.ParseLax("go.mod", data, nil) // nil (no go.mod): no retractions
	if err != nil {
		return nil, err
	}
	var intervals []modfile.VersionInterval
	for _, rt := range f.Retract {
		intervals = append(intervals, rt.VersionInterval)
	}
	return func(v string) bool {
		for _, in := range intervals {
			if semver.Compare(in.Low, v) <= 0 && semver.Compare(v, in.High) <= 0 {
				return true
			}
		}
		return false
	}, nil
}

// findDir locates the module at version: the revision, the directory in
// the repository and its go.mod (nil if there is none). With a /vN path it
// may be codeDir or codeDir/vN; only the major-version suffix of a go.mod's
// module path is checked here, as by the go command.
func (r *Repo) findDir(ctx context.Context, version string) (rev, dir string, gomod []byte, err error) {
	rev, err = r.versionToRev(version)
	if err != nil {
		return "", "", nil, err
	}
	file1 := path.Join(r.codeDir, "go.mod")
	// An unknown revision is not a revision without a go.mod: resolve it
	// first (Stat is remembered), so that below not-found means the file.
	if _, err := r.code.Stat(ctx, rev); err != nil {
		return "", "", nil, fmt.Errorf("reading %s/%s at revision %s: %w", r.codeRoot, file1, rev, err)
	}

	gomod1, err1 := r.code.ReadFile(ctx, rev, file1, modzip.MaxGoMod)
	if err1 != nil && !errors.Is(err1, fs.ErrNotExist) {
		return "", "", nil, fmt.Errorf("reading %s/%s at revision %s: %w", r.codeRoot, file1, rev, err1)
	}
	mpath1 := modfile.ModulePath(gomod1)
	found1 := err1 == nil && (isMajor(mpath1, r.pathMajor) || r.gopkgInQuirk(mpath1))

	var file2 string
	if r.pathMajor != "" && r.codeRoot != r.modPath && !strings.HasPrefix(r.pathMajor, ".") {
		// With /vN: either go.mod claims vN (and vN/go.mod does not exist),
		// or vN/go.mod exists and claims vN. Not both.
		dir2 := path.Join(r.codeDir, r.pathMajor[1:])
		file2 = path.Join(dir2, "go.mod")
		gomod2, err2 := r.code.ReadFile(ctx, rev, file2, modzip.MaxGoMod)
		if err2 != nil && !errors.Is(err2, fs.ErrNotExist) {
			return "", "", nil, fmt.Errorf("reading %s/%s at revision %s: %w", r.codeRoot, file2, rev, err2)
		}
		mpath2 := modfile.ModulePath(gomod2)
		found2 := err2 == nil && isMajor(mpath2, r.pathMajor)
		switch {
		case found1 && found2:
			return "", "", nil, invalidf("%s/%s and ...%s/go.mod both have ...%s module paths at revision %s", r.pathPrefix, file1, r.pathMajor, r.pathMajor, rev)
		case found2:
			return rev, dir2, gomod2, nil
		case err2 == nil && mpath2 == "":
			return "", "", nil, invalidf("%s/%s is missing module path at revision %s", r.codeRoot, file2, rev)
		case err2 == nil:
			return "", "", nil, invalidf("%s/%s has non-...%s module path %q at revision %s", r.codeRoot, file2, r.pathMajor, mpath2, rev)
		}
	}

	if found1 {
		return rev, r.codeDir, gomod1, nil
	}
	if err1 == nil {
		// A go.mod whose major version does not fit.
		suffix := ""
		if file2 != "" {
			suffix = fmt.Sprintf(" (and ...%s/go.mod does not exist)", r.pathMajor)
		}
		if mpath1 == "" {
			return "", "", nil, invalidf("%s is missing module path%s at revision %s", file1, suffix, rev)
		}
		if r.pathMajor != "" {
			return "", "", nil, invalidf("%s has non-...%s module path %q%s at revision %s", file1, r.pathMajor, mpath1, suffix, rev)
		}
		if _, _, ok := module.SplitPathVersion(mpath1); !ok {
			return "", "", nil, invalidf("%s has malformed module path %q%s at revision %s", file1, mpath1, suffix, rev)
		}
		return "", "", nil, invalidf("%s has post-%s module path %q%s at revision %s", file1, semver.Major(version), mpath1, suffix, rev)
	}

	// No go.mod: fine only at the repository root for v0/v1 and gopkg.in.
	if r.codeDir == "" && (r.pathMajor == "" || strings.HasPrefix(r.pathMajor, ".")) {
		return rev, "", nil, nil
	}
	if file2 != "" {
		return "", "", nil, invalidf("missing %s/go.mod and ...%s/go.mod at revision %s", r.pathPrefix, r.pathMajor, rev)
	}
	return "", "", nil, invalidf("missing %s/go.mod at revision %s", r.pathPrefix, rev)
}

// isMajor reports whether module path mpath's major version suffix is
// compatible with pathMajor.
func isMajor(mpath, pathMajor string) bool {
	if mpath == "" {
		return false
	}
	_, mpathMajor, ok := module.SplitPathVersion(mpath)
	if !ok {
		return false
	}
	if pathMajor == "" {
		// gopkg.in paths of v0 and v1 fit an unversioned path.
		switch module.PathMajorPrefix(mpathMajor) {
		case "", "v0", "v1":
			return true
		}
		return false
	}
	if mpathMajor == "" {
		return false
	}
	// Both versioned: the same major, whichever the separator.
	return pathMajor[1:] == mpathMajor[1:]
}

// gopkgInQuirk reports whether a gopkg.in go.mod may stand in for an
// unversioned path, a historical go command bug kept for compatibility
// (golang.org/issue/34254).
func (r *Repo) gopkgInQuirk(mpath string) bool {
	return r.pathMajor == "" && strings.HasPrefix(mpath, "gopkg.in/")
}

// GoMod returns the module's go.mod at canonical version, or nil for a
// module without one (whose go.mod the caller synthesises:
// modfetch.LegacyGoMod).
func (r *Repo) GoMod(ctx context.Context, version string) ([]byte, error) {
	if version != module.CanonicalVersion(version) {
		return nil, fmt.Errorf("version %s is not canonical", version)
	}
	if module.IsPseudoVersion(version) {
		// findDir looks at the revision only: check the rest first.
		if _, err := r.Stat(ctx, version); err != nil {
			return nil, err
		}
	}
	_, _, gomod, err := r.findDir(ctx, version)
	return gomod, err
}

// invalidf is a reason a version is not a version of the module (a bad
// pseudo-version, a major version that does not fit, a revision holding
// no module at the path): not found, like at the go command's proxies, as
// opposed to a failure to find out.
func invalidf(format string, args ...any) error {
	return modfetch.NotExist(fmt.Errorf(format, args...))
}
