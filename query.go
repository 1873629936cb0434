package modfetch

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"sync"
	"time"
	"unicode"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"

	"github.com/modfetch/modfetch/internal/h1"
)

// A Walker is a Resolver made of alternatives tried in order, such as a
// GOPROXY list (upstream.Chain). Try calls fn with each alternative's
// Resolver by the list's fall-through rules and returns nil after the first
// success or the most helpful error.
//
// Version queries give each alternative a whole query, as the go command
// does (cmd/go/internal/modfetch: TryProxies): a proxy that knows a module
// answers for it, even "no matching versions", and later alternatives are
// not asked. Decorators such as a cache or a verifier implement Walker by
// wrapping each alternative.
type Walker interface {
	Resolver
	Try(path string, fn func(r Resolver) error) error
}

// try runs fn on each alternative of r, or on r itself.
func try(r Resolver, path string, fn func(r Resolver) error) error {
	if w, ok := r.(Walker); ok {
		return w.Try(path, fn)
	}
	return fn(r)
}

// ErrDisallowed is wrapped by the errors of versions that a query's
// options exclude, such as retracted versions.
var ErrDisallowed = errors.New("disallowed module version")

// A NoMatchingVersionError is a query that found the module but none of its
// versions satisfying the query: "no matching versions for query "latest"".
// It is not a not-found error: a GOPROXY walk stops at it.
type NoMatchingVersionError struct {
	Query, Current string
}

func (e *NoMatchingVersionError) Error() string {
	suffix := ""
	if (e.Query == "upgrade" || e.Query == "patch") && e.Current != "" && e.Current != "none" {
		suffix = fmt.Sprintf(" (current version is %s)", e.Current)
	}
	return fmt.Sprintf("no matching versions for query %q", e.Query) + suffix
}

// A NoPatchBaseError is the query "patch" without a current version.
type NoPatchBaseError struct {
	Path string
}

func (e *NoPatchBaseError) Error() string {
	return fmt.Sprintf(`can't query version "patch" of module %s: no existing version is required`, e.Path)
}

// A RetractedError is a version its module's author retracted. It wraps
// ErrDisallowed.
type RetractedError struct {
	Rationale []string // the retract directives' comments; may be empty
}

func (e *RetractedError) Error() string {
	msg := "retracted by module author"
	if len(e.Rationale) > 0 {
		msg += ": " + ShortMessage(e.Rationale[0], "retracted by module author")
	}
	return msg
}

// Is reports whether target is ErrDisallowed.
func (e *RetractedError) Is(target error) bool { return target == ErrDisallowed }

// ShortMessage returns a message from a go.mod file (a retraction
// rationale, a deprecation) safe to print on a terminal, like the go
// command: its first line, trimmed; emptyDefault if that is empty; a
// placeholder if it is over 500 bytes or holds non-printable characters.
func ShortMessage(message, emptyDefault string) string {
	const maxLen = 500
	if i := strings.Index(message, "\n"); i >= 0 {
		message = message[:i]
	}
	message = strings.TrimSpace(message)
	if message == "" {
		return emptyDefault
	}
	if len(message) > maxLen {
		return "(message omitted: too long)"
	}
	for _, r := range message {
		if !unicode.IsGraphic(r) && !unicode.IsSpace(r) {
			return "(message omitted: contains non-printable characters)"
		}
	}
	return message
}

// IsRevisionQuery reports whether query names one revision — a version
// such as "v1.2.3" or a branch, tag or commit — rather than choosing among
// versions like "latest", "v1.2", ">=v1.2.0" do.
func IsRevisionQuery(query string) bool {
	return !(query == "latest" || query == "upgrade" || query == "patch" ||
		strings.HasPrefix(query, "<") || strings.HasPrefix(query, ">") ||
		(semver.IsValid(query) && isPrefix(query)))
}

// isPrefix reports whether v (a valid semantic version) is a prefix such
// as "v1" or "v1.2" (cmd/go/internal/gover: ModIsPrefix).
func isPrefix(v string) bool {
	dots := 0
	for i := 0; i < len(v); i++ {
		switch v[i] {
		case '-', '+':
			return false
		case '.':
			dots++
			if dots >= 2 {
				return false
			}
		}
	}
	return true
}

// QueryOptions adjust a query.
type QueryOptions struct {
	// Current is the version in use, for "upgrade" and "patch" (which never
	// go below it) and for +incompatible preferences; "" or "none" means
	// none.
	Current string

	// AllowRetracted keeps retracted versions in play. By default a query
	// that chooses among versions skips retracted ones, like `go list -m`
	// and `go mod download`, while a revision query ("v1.2.3", a branch)
	// always answers.
	AllowRetracted bool
}

// A Querier answers the go command's version queries (cmd/go/internal/
// modload: Query) over a Resolver: "latest", "upgrade", "patch", exact
// versions (canonicalised: v1.2.3+meta, a missing +incompatible), prefixes
// ("v1", "v1.2"), comparisons ("<v1.3", ">=v1.2.3") and revisions (branch
// names, commit hashes, passed to the Resolver's Stat).
//
// A Querier remembers the retractions and deprecations it has read (which
// version is a module's latest, whose go.mod holds them) for MutableTTL,
// or for its lifetime like one run of the go command. It is safe for
// concurrent use. Set Resolver before use.
type Querier struct {
	Resolver Resolver

	// MutableTTL is how long the Querier trusts what it read of a module's
	// versions as a whole: which one is latest, and so the retractions
	// and deprecation its go.mod holds. Zero means for the Querier's
	// lifetime, like one run of the go command; a long-lived Querier (a
	// server's) sets the reuse time of its Resolver's lists (such as
	// goenv.Options.MutableTTL), so that it sees a new retraction when
	// it sees a new list. The go.mod files of versions never change and
	// are remembered for the Querier's lifetime.
	MutableTTL time.Duration

	// GoSum, if set, holds the hashes recorded in a go.sum file (a
	// *checksum.GoSum): each go.mod file the Querier reads (for
	// retractions, deprecations, go versions, +incompatible choices) is
	// checked against it, also when the Resolver answers from a cache
	// filled without it, as the go command checks go.sum on every use.
	// A record that disagrees fails with GoSum's error.
	GoSum SumChecker

	now func() time.Time // test hook; nil means time.Now

	latest  memo[string]        // path -> latest version ignoring retractions
	summary memo[*gomodSummary] // path@version -> go.mod facts
}

// A memo remembers successful results, for ttl when it is positive.
// Failures are not remembered: one caller's cancellation must not poison
// another's query. Concurrent identical calls each compute under their own
// context; deduplicating the requests underneath is the job of the
// Resolver (cache.Cache does it).
type memo[T any] struct {
	mu sync.Mutex
	m  map[string]memoEntry[T]
}

type memoEntry[T any] struct {
	v       T
	expires time.Time // zero: never
}

func (m *memo[T]) get(ctx context.Context, key string, ttl time.Duration, now func() time.Time, f func(ctx context.Context) (T, error)) (T, error) {
	m.mu.Lock()
	e, ok := m.m[key]
	if ok && !e.expires.IsZero() && !now().Before(e.expires) {
		delete(m.m, key)
		ok = false
	}
	m.mu.Unlock()
	if ok {
		return e.v, nil
	}
	v, err := f(ctx)
	if err != nil {
		return v, err
	}
	e = memoEntry[T]{v: v}
	if ttl > 0 {
		e.expires = now().Add(ttl)
	}
	m.mu.Lock()
	if m.m == nil {
		m.m = make(map[string]memoEntry[T])
	}
	m.m[key] = e
	m.mu.Unlock()
	return v, nil
}

func (q *Querier) clock() func() time.Time {
	if q.now != nil {
		return q.now
	}
	return time.Now
}

// queryErr gives a query error the module context the go command shows.
func queryErr(path, query string, err error) error {
	if err == nil {
		return nil
	}
	var gse *goSumError
	if errors.As(err, &gse) {
		return gse.err // the go command's words alone
	}
	var me *module.ModuleError
	if errors.As(err, &me) {
		return err
	}
	var nm *NoMatchingVersionError
	if errors.As(err, &nm) {
		return &module.ModuleError{Path: path, Err: err}
	}
	return &module.ModuleError{Path: path, Version: query, Err: err}
}

// Query resolves query for module path and returns the chosen version's
// Info. See Querier for the query forms; the choice follows the go
// command's rules: releases before pre-releases, the lowest match for ">"
// and ">=", pseudo-versions ignored in lists but used for "latest" when a
// module has no tagged version, +incompatible versions skipped once a
// compatible version has a go.mod file (unless the query or current
// version asks for one), retracted versions skipped unless allowed.
//
// Errors carry module context. A query that matches nothing is a
// *NoMatchingVersionError; a malformed one says why ("invalid semantic
// version", "ambiguous semantic version"). When the Resolver is a Walker,
// each alternative answers the whole query in turn.
func (q *Querier) Query(ctx context.Context, path, query string, opts *QueryOptions) (*Info, error) {
	if opts == nil {
		opts = new(QueryOptions)
	}
	info, err := q.query(ctx, path, query, opts.Current, q.allowed(query, opts))
	return info, queryErr(path, query, err)
}

// A policy is a query's rule for its candidates.
type policy struct {
	skipRetracted bool
}

var (
	allowEvery    = policy{}
	skipRetracted = policy{skipRetracted: true}
)

// allowed is the go command's rule for a query's candidates: not
// retracted, unless the query names a revision or opts allow retracted
// versions.
func (q *Querier) allowed(query string, opts *QueryOptions) policy {
	if opts.AllowRetracted || IsRevisionQuery(query) {
		return allowEvery
	}
	return skipRetracted
}

// allowAll is the predicate allowing every version.
func allowAll(context.Context, string, string) error { return nil }

// query is the go command's Query, skipping retracted versions or not:
// each alternative of the Resolver answers in turn.
func (q *Querier) query(ctx context.Context, path, query, current string, p policy) (*Info, error) {
	if current != "" && current != "none" && !semver.IsValid(current) {
		return nil, fmt.Errorf("invalid previous version %v@%v", path, current)
	}
	var info *Info
	err := try(q.Resolver, path, func(r Resolver) error {
		var err error
		info, err = q.queryOne(ctx, r, path, query, current, p)
		return err
	})
	return info, err
}

// queryOne answers a query from one alternative (the go command's
// queryProxy).
func (q *Querier) queryOne(ctx context.Context, r Resolver, path, query, current string, p policy) (*Info, error) {
	if err := module.CheckPath(path); err != nil {
		return nil, err
	}
	allowed := allowAll
	if p.skipRetracted {
		allowed = q.checkRetracted
	}
	qm, err := newQueryMatcher(path, query, current)
	if (err == nil && qm.canStat) || err == errRevQuery {
		// A commit identifier or a complete semantic version.
		info, err := r.Stat(ctx, path, query)
		if err != nil {
			queryErr := err
			// A version with +metadata may name the tag without it.
			if canon := module.CanonicalVersion(query); canon != "" && query != canon {
				info, err = r.Stat(ctx, path, canon)
				if err != nil && !errors.Is(err, fs.ErrNotExist) {
					return nil, err
				}
			}
			if err != nil {
				return nil, queryErr
			}
		}
		if err := allowed(ctx, path, info.Version); errors.Is(err, ErrDisallowed) || isGoSumError(err) {
			return nil, err
		}
		return info, nil
	} else if err != nil {
		return nil, err
	}

	list, err := r.List(ctx, path)
	if err != nil {
		return nil, err
	}
	if p.skipRetracted {
		// The retraction check asks which version is latest: from this
		// list, which the go command reads once per run.
		allowed = func(ctx context.Context, path, version string) error {
			return q.checkRetractedFrom(ctx, path, version, func(ctx context.Context) (string, error) {
				info, err := q.queryList(ctx, r, path, "latest", "", allowAll, list)
				if err != nil {
					return "", err
				}
				return info.Version, nil
			})
		}
	}
	return q.queryList(ctx, r, path, query, current, allowed, list)
}

// queryList is queryOne once the alternative r has listed the versions.
func (q *Querier) queryList(ctx context.Context, r Resolver, path, query, current string, allowed func(context.Context, string, string) error, list []string) (*Info, error) {
	qm, err := newQueryMatcher(path, query, current)
	if err != nil {
		return nil, err
	}
	var versions []string
	for _, v := range list {
		if strings.HasPrefix(v, qm.prefix) && !module.IsPseudoVersion(v) {
			versions = append(versions, v)
		}
	}
	releases, prereleases, err := q.filterVersions(ctx, qm, versions, allowed)
	if err != nil {
		return nil, err
	}

	lookup := func(v string) (*Info, error) {
		info, err := r.Stat(ctx, path, v)
		if err != nil {
			return nil, err
		}
		if (query == "upgrade" || query == "patch") && module.IsPseudoVersion(current) && !info.Time.IsZero() {
			// Do not "upgrade" from a pseudo-version to an older commit.
			if t, err := module.PseudoVersionTime(current); err == nil && info.Time.Before(t) {
				if err := allowed(ctx, path, current); errors.Is(err, ErrDisallowed) || isGoSumError(err) {
					return nil, err
				}
				return r.Stat(ctx, path, current)
			}
		}
		return info, nil
	}
	if qm.preferLower {
		if len(releases) > 0 {
			return lookup(releases[0])
		}
		if len(prereleases) > 0 {
			return lookup(prereleases[0])
		}
	} else {
		if len(releases) > 0 {
			return lookup(releases[len(releases)-1])
		}
		if len(prereleases) > 0 {
			return lookup(prereleases[len(prereleases)-1])
		}
	}
	if qm.mayUseLatest {
		latest, err := r.Latest(ctx, path)
		if err == nil {
			if ok, err := qm.allowsVersion(ctx, latest.Version, allowed); err != nil {
				return nil, err
			} else if ok {
				return lookup(latest.Version)
			}
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
	}
	if (query == "upgrade" || query == "patch") && current != "" && current != "none" {
		// "upgrade" and "patch" may stay on the current version.
		if err := allowed(ctx, path, current); errors.Is(err, ErrDisallowed) || isGoSumError(err) {
			return nil, err
		}
		return lookup(current)
	}
	return nil, &NoMatchingVersionError{Query: query, Current: current}
}

type queryMatcher struct {
	path               string
	prefix             string
	filter             func(version string) bool
	canStat            bool // resolved by Stat
	preferLower        bool // choose the lowest match
	mayUseLatest       bool
	preferIncompatible bool
}

var errRevQuery = errors.New("query refers to a non-semver revision")

// newQueryMatcher parses query like the go command's newQueryMatcher. It
// returns errRevQuery for queries that only Stat can resolve.
func newQueryMatcher(path, query, current string) (*queryMatcher, error) {
	badVersion := func(v string) (*queryMatcher, error) {
		return nil, fmt.Errorf("invalid semantic version %q in range %q", v, query)
	}
	matchesMajor := func(v string) bool {
		_, pathMajor, ok := module.SplitPathVersion(path)
		return ok && module.CheckPathMajor(v, pathMajor) == nil
	}
	qm := &queryMatcher{path: path, preferIncompatible: strings.HasSuffix(current, "+incompatible")}
	switch {
	case query == "latest":
		qm.mayUseLatest = true
	case query == "upgrade":
		if current == "" || current == "none" {
			qm.mayUseLatest = true
		} else {
			qm.mayUseLatest = module.IsPseudoVersion(current)
			qm.filter = func(mv string) bool { return semver.Compare(mv, current) >= 0 }
		}
	case query == "patch":
		if current == "" || current == "none" {
			return nil, &NoPatchBaseError{path}
		}
		qm.mayUseLatest = module.IsPseudoVersion(current)
		qm.prefix = semver.MajorMinor(current) + "."
		qm.filter = func(mv string) bool { return semver.Compare(mv, current) >= 0 }
	case strings.HasPrefix(query, "<") || strings.HasPrefix(query, ">"):
		op, v := query[:1], query[1:]
		if strings.HasPrefix(v, "=") {
			op, v = query[:2], query[2:]
		}
		if !semver.IsValid(v) {
			return badVersion(v)
		}
		// "<=v1.2" and ">v1.2" would need v1.2's last patch: ambiguous.
		if (op == "<=" || op == ">") && isPrefix(v) {
			return nil, fmt.Errorf("ambiguous semantic version %q in range %q", v, query)
		}
		qm.filter = func(mv string) bool {
			c := semver.Compare(mv, v)
			switch op {
			case "<=":
				return c <= 0
			case "<":
				return c < 0
			case ">=":
				return c >= 0
			}
			return c > 0
		}
		qm.preferLower = op[0] == '>'
		if !matchesMajor(v) {
			qm.preferIncompatible = true
		}
	case semver.IsValid(query):
		if isPrefix(query) {
			qm.prefix = query + "."
			// "v1.2" never picks a v1.2.0 pre-release (go.dev/issue/31972).
			qm.filter = func(mv string) bool { return semver.Compare(mv, query) >= 0 }
		} else {
			qm.canStat = true
			qm.filter = func(mv string) bool { return semver.Compare(mv, query) == 0 }
			qm.prefix = semver.Canonical(query)
		}
		if !matchesMajor(query) {
			qm.preferIncompatible = true
		}
	default:
		return nil, errRevQuery
	}
	return qm, nil
}

// allowsVersion reports whether qm allows v. Like the go command, it
// counts a version whose retractions cannot be read as allowed, but a
// go.mod file that disagrees with GoSum fails the query.
func (qm *queryMatcher) allowsVersion(ctx context.Context, v string, allowed func(context.Context, string, string) error) (bool, error) {
	if qm.prefix != "" && !strings.HasPrefix(v, qm.prefix) {
		return false, nil
	}
	if qm.filter != nil && !qm.filter(v) {
		return false, nil
	}
	if err := allowed(ctx, qm.path, v); errors.Is(err, ErrDisallowed) {
		return false, nil
	} else if isGoSumError(err) {
		return false, err
	}
	return true, nil
}

// A goSumError is a go.mod file that disagrees with Querier.GoSum: the go
// command stops at it wherever it reads the file.
type goSumError struct{ err error }

func (e *goSumError) Error() string { return e.err.Error() }
func (e *goSumError) Unwrap() error { return e.err }

func isGoSumError(err error) bool {
	var e *goSumError
	return errors.As(err, &e)
}

// filterVersions splits the versions (ascending) that qm allows into
// releases and pre-releases, dropping +incompatible versions above a
// compatible version that has a go.mod file (cmd/go/internal/modload:
// filterVersions).
func (q *Querier) filterVersions(ctx context.Context, qm *queryMatcher, versions []string, allowed func(context.Context, string, string) error) (releases, prereleases []string, err error) {
	needIncompatible := qm.preferIncompatible
	var lastCompatible string
	for _, v := range versions {
		if ok, err := qm.allowsVersion(ctx, v, allowed); err != nil {
			return nil, nil, err
		} else if !ok {
			continue
		}
		if !needIncompatible {
			if !strings.HasSuffix(v, "+incompatible") {
				lastCompatible = v
			} else if lastCompatible != "" {
				ok, err := q.hasGoMod(ctx, qm.path, lastCompatible)
				if err != nil {
					return nil, nil, err
				}
				if ok {
					// Everything higher is +incompatible.
					break
				}
				needIncompatible = true
			}
		}
		if semver.Prerelease(v) != "" {
			prereleases = append(prereleases, v)
		} else {
			releases = append(releases, v)
		}
	}
	return releases, prereleases, nil
}

// LegacyGoMod returns the go.mod file the go command synthesises for a
// module version that has none: "module <path>\n".
func LegacyGoMod(path string) []byte {
	return fmt.Appendf(nil, "module %s\n", modfile.AutoQuote(path))
}

// hasGoMod reports whether path@version has a real go.mod file, not a
// synthesised one (cmd/go/internal/modload: versionHasGoMod).
func (q *Querier) hasGoMod(ctx context.Context, path, version string) (bool, error) {
	s, err := q.goModSummary(ctx, path, version)
	if err != nil {
		return false, err
	}
	return !s.legacy, nil
}

// gomodSummary holds what queries need from a go.mod file.
type gomodSummary struct {
	legacy     bool // synthesised "module path" file
	goVersion  string
	deprecated string
	retract    []modfile.Retract
}

func (q *Querier) goModSummary(ctx context.Context, path, version string) (*gomodSummary, error) {
	return q.summary.get(ctx, path+"@"+version, 0, q.clock(), func(ctx context.Context) (*gomodSummary, error) {
		data, err := q.Resolver.GoMod(ctx, path, version)
		if err != nil {
			return nil, err
		}
		if q.GoSum != nil {
			sum, err := h1.GoMod(data)
			if err != nil {
				return nil, &module.ModuleError{Path: path, Version: version, Err: err}
			}
			if _, err := q.GoSum.Check(path, version, true, sum); err != nil {
				return nil, &goSumError{err}
			}
		}
		s := &gomodSummary{legacy: string(data) == string(LegacyGoMod(path))}
		f, err := modfile.ParseLax("go.mod", data, nil)
		if err != nil {
			return nil, &module.ModuleError{Path: path, Version: version, Err: fmt.Errorf("parsing go.mod: %v", err)}
		}
		if f.Module != nil {
			s.deprecated = f.Module.Deprecated
		}
		if f.Go != nil {
			s.goVersion = f.Go.Version
		}
		for _, r := range f.Retract {
			s.retract = append(s.retract, *r)
		}
		return s, nil
	})
}

// latestIgnoringRetractions is the version whose go.mod holds the module's
// retractions and deprecation: Query(latest) with everything allowed.
// compute, if not nil, finds it on a miss.
func (q *Querier) latestIgnoringRetractions(ctx context.Context, path string, compute func(context.Context) (string, error)) (string, error) {
	if compute == nil {
		compute = func(ctx context.Context) (string, error) {
			info, err := q.query(ctx, path, "latest", "", allowEvery)
			if err != nil {
				return "", err
			}
			return info.Version, nil
		}
	}
	return q.latest.get(ctx, path, q.MutableTTL, q.clock(), compute)
}

// A RetractionLoadError is a failure to read a module's retractions: the
// go command reports it as "loading module retractions for M@v: ...".
type RetractionLoadError struct {
	Path, Version string
	Err           error
}

func (e *RetractionLoadError) Error() string {
	return fmt.Sprintf("loading module retractions for %s@%s: %v", e.Path, e.Version, e.Err)
}

func (e *RetractionLoadError) Unwrap() error { return e.Err }

// Retracted reports whether the author retracted path@version, reading the
// retract directives of the module's latest go.mod (the latest version's,
// retracted or not, like the go command). It returns nil when the version
// is not retracted, a *RetractedError (wrapped in a *module.ModuleError)
// when it is, and a *RetractionLoadError when the retractions cannot be
// read.
func (q *Querier) Retracted(ctx context.Context, path, version string) error {
	return q.checkRetracted(ctx, path, version)
}

func (q *Querier) checkRetracted(ctx context.Context, path, version string) error {
	return q.checkRetractedFrom(ctx, path, version, nil)
}

// checkRetractedFrom is checkRetracted finding the latest version with
// latest (see latestIgnoringRetractions).
func (q *Querier) checkRetractedFrom(ctx context.Context, path, version string, latest func(context.Context) (string, error)) (err error) {
	defer func() {
		if err == nil {
			return
		}
		var re *RetractedError
		if errors.As(err, &re) || isGoSumError(err) {
			return
		}
		var me *module.ModuleError
		if errors.As(err, &me) {
			err = me.Err
		}
		err = &RetractionLoadError{Path: path, Version: version, Err: err}
	}()
	if version == "" {
		return nil
	}
	latestVersion, err := q.latestIgnoringRetractions(ctx, path, latest)
	if err != nil {
		return err
	}
	s, err := q.goModSummary(ctx, path, latestVersion)
	if err != nil {
		return err
	}
	var rationale []string
	retracted := false
	for _, r := range s.retract {
		if semver.Compare(r.Low, version) <= 0 && semver.Compare(version, r.High) <= 0 {
			retracted = true
			if r.Rationale != "" {
				rationale = append(rationale, r.Rationale)
			}
		}
	}
	if retracted {
		return &module.ModuleError{Path: path, Version: version, Err: &RetractedError{Rationale: rationale}}
	}
	return nil
}

// Deprecated returns the module's deprecation message ("" if none), read
// from the "Deprecated:" comment of its latest go.mod.
func (q *Querier) Deprecated(ctx context.Context, path string) (string, error) {
	latest, err := q.latestIgnoringRetractions(ctx, path, nil)
	if err != nil {
		return "", fmt.Errorf("loading deprecation for %s: %w", path, err)
	}
	s, err := q.goModSummary(ctx, path, latest)
	if err != nil {
		return "", fmt.Errorf("loading deprecation for %s: %w", path, err)
	}
	return s.deprecated, nil
}

// GoVersion returns the go directive of path@version's go.mod ("" if none).
func (q *Querier) GoVersion(ctx context.Context, path, version string) (string, error) {
	s, err := q.goModSummary(ctx, path, version)
	if err != nil {
		return "", err
	}
	return s.goVersion, nil
}

// Versions returns the module's tagged versions, sorted by semver: the
// Resolver's list without pseudo-versions, and without retracted versions
// unless withRetracted (`go list -m -versions [-retracted]`).
func (q *Querier) Versions(ctx context.Context, path string, withRetracted bool) ([]string, error) {
	var versions []string
	err := try(q.Resolver, path, func(r Resolver) error {
		list, err := r.List(ctx, path)
		if err != nil {
			return err
		}
		// Which version is latest, for retractions: from this list.
		latest := func(ctx context.Context) (string, error) {
			info, err := q.queryList(ctx, r, path, "latest", "", allowAll, list)
			if err != nil {
				return "", err
			}
			return info.Version, nil
		}
		versions = versions[:0]
		for _, v := range list {
			if module.IsPseudoVersion(v) {
				continue
			}
			if !withRetracted {
				if err := q.checkRetractedFrom(ctx, path, v, latest); err != nil {
					if errors.Is(err, ErrDisallowed) {
						continue
					}
					return err
				}
			}
			versions = append(versions, v)
		}
		return nil
	})
	if err != nil {
		return nil, queryErr(path, "", err)
	}
	return versions, nil
}

// Update returns the version `go list -m -u` would offer as an update to
// path@current, or nil if there is none newer: the "upgrade" query with
// retracted versions excluded. Like the go command, it treats "no matching
// version", not-found and disallowed answers as no update; other failures
// are returned (so that a network attacker cannot hide updates).
func (q *Querier) Update(ctx context.Context, path, current string) (*Info, error) {
	info, err := q.query(ctx, path, "upgrade", current, skipRetracted)
	var nm *NoMatchingVersionError
	if errors.As(err, &nm) || errors.Is(err, fs.ErrNotExist) || errors.Is(err, ErrDisallowed) {
		return nil, nil
	}
	if err != nil {
		return nil, queryErr(path, "upgrade", err)
	}
	if semver.Compare(info.Version, current) > 0 {
		return info, nil
	}
	return nil, nil
}
