package rules

import (
	"errors"
	"fmt"
	"path"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"

	"github.com/modfetch/modfetch"
)

// A Set is a parsed rules file: allow and deny rules, of which the last
// that matches a module version decides. The zero Set, like a nil *Set,
// allows everything. A Set is immutable and safe for concurrent use.
type Set struct {
	rules    []rule
	hasAllow bool
}

// A rule is one line of a rules file.
type rule struct {
	line    int
	text    string // "verb PATTERN[@RANGE]" as written, without the comment
	allow   bool
	pattern string // GOPRIVATE-style: comma-separated globs
	terms   []term // all must hold; nil: every version
}

// A term is one comparison of a version range: op is "<", "<=", ">",
// ">=", or "" for an exact version.
type term struct {
	op, v string
}

func (t term) holds(v string) bool {
	switch t.op {
	case "":
		return v == t.v
	case "<":
		return semver.Compare(v, t.v) < 0
	case "<=":
		return semver.Compare(v, t.v) <= 0
	case ">":
		return semver.Compare(v, t.v) > 0
	default: // ">="
		return semver.Compare(v, t.v) >= 0
	}
}

// matchesPath reports whether r's pattern matches the module path p.
func (r *rule) matchesPath(p string) bool {
	return module.MatchPrefixPatterns(r.pattern, p)
}

// matchesVersion reports whether r's range holds for version v, a
// version of a module whose path r's pattern matches.
func (r *rule) matchesVersion(v string) bool {
	if r.terms == nil {
		return true
	}
	if !semver.IsValid(v) {
		return false
	}
	for _, t := range r.terms {
		if !t.holds(v) {
			return false
		}
	}
	return true
}

// A SyntaxError is a malformed line of a rules file.
type SyntaxError struct {
	Line int    // 1-based line number
	Msg  string // what is wrong, such as `unknown verb "block"`
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Msg) }

// Parse parses a rules file (see the package documentation for its
// format). A file with no rules is a Set that allows everything. The
// error for a malformed file joins a *[SyntaxError] for each malformed
// line (errors.As finds the first), in line order.
func Parse(data []byte) (*Set, error) {
	s := new(Set)
	var errs []error
	for i, line := range strings.Split(string(data), "\n") {
		n := i + 1
		r, err := parseLine(n, line)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if r == nil {
			continue
		}
		s.rules = append(s.rules, *r)
		s.hasAllow = s.hasAllow || r.allow
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return s, nil
}

// parseLine parses line n: nil, nil for a blank or comment line.
func parseLine(n int, line string) (*rule, error) {
	bad := func(format string, args ...any) error {
		return &SyntaxError{Line: n, Msg: fmt.Sprintf(format, args...)}
	}
	line = strings.TrimSuffix(line, "\r")
	if !utf8.ValidString(line) {
		return nil, bad("invalid UTF-8")
	}
	if i := strings.IndexByte(line, '#'); i >= 0 {
		line = line[:i]
	}
	for _, c := range line {
		if !unicode.IsGraphic(c) && !unicode.IsSpace(c) {
			return nil, bad("non-printable character %q", c)
		}
	}
	f := strings.Fields(line)
	if len(f) == 0 {
		return nil, nil
	}
	r := &rule{line: n}
	switch f[0] {
	case "allow":
		r.allow = true
	case "deny":
	default:
		return nil, bad("unknown verb %q: want allow or deny", f[0])
	}
	switch {
	case len(f) == 1:
		return nil, bad("%s needs a module path pattern: %s PATTERN[@RANGE]", f[0], f[0])
	case len(f) > 2:
		return nil, bad("unexpected %q after %q: write PATTERN@RANGE without spaces", strings.Join(f[2:], " "), f[1])
	}
	r.text = f[0] + " " + f[1]
	pattern, rng, hasRange := strings.Cut(f[1], "@")
	for _, g := range strings.Split(pattern, ",") {
		if g == "" {
			return nil, bad("empty pattern in %q", pattern)
		}
		if _, err := path.Match(g, ""); err != nil {
			return nil, bad("bad pattern %q: %v", g, err)
		}
	}
	r.pattern = pattern
	if !hasRange {
		return r, nil
	}
	if rng == "" {
		return nil, bad("empty version range after @ (omit @ for every version)")
	}
	for _, t := range strings.Split(rng, ",") {
		op := ""
		for _, o := range []string{"<=", ">=", "<", ">"} {
			if strings.HasPrefix(t, o) {
				op = o
				break
			}
		}
		v := t[len(op):]
		switch {
		case t == "":
			return nil, bad("empty comparison in range %q", rng)
		case strings.HasPrefix(v, "=") || strings.HasPrefix(v, "<") || strings.HasPrefix(v, ">"):
			return nil, bad("bad comparison %q: want <, <=, >, >= or an exact version", t)
		case op != "" && !semver.IsValid(v):
			return nil, bad("bad version %q in range %q: want a semantic version such as v1.2.3", v, rng)
		case op == "" && !modfetch.IsCanonical(v):
			if semver.IsValid(v) {
				return nil, bad("bad version %q: an exact version must be canonical (%s); for every %s.x, write >=%s,<...", v, canonicalHint(v), v, v)
			}
			return nil, bad("bad version %q: want a canonical version such as v1.2.3, or a comparison such as <v1.2.0", v)
		}
		r.terms = append(r.terms, term{op, v})
	}
	return r, nil
}

// canonicalHint is the canonical form of the valid semantic version v.
func canonicalHint(v string) string {
	if c := module.CanonicalVersion(v); c != "" {
		return c
	}
	return "such as v1.2.3"
}

// decide returns the verdict of s for path at version and the rule that
// decided it, nil for the default. Version "" asks about the module as a
// whole: denied when every version of it is.
func (s *Set) decide(p, version string) (allowed bool, by *rule) {
	if s == nil {
		return true, nil
	}
	if version == "" {
		sawAllow := false // an allow rule for some versions comes later
		for i := len(s.rules) - 1; i >= 0; i-- {
			r := &s.rules[i]
			if !r.matchesPath(p) {
				continue
			}
			if r.terms != nil {
				sawAllow = sawAllow || r.allow
				continue
			}
			if r.allow {
				return true, r
			}
			if sawAllow {
				return true, nil
			}
			return false, r
		}
		return !s.hasAllow || sawAllow, nil
	}
	for i := len(s.rules) - 1; i >= 0; i-- {
		r := &s.rules[i]
		if r.matchesPath(p) && r.matchesVersion(version) {
			return r.allow, r
		}
	}
	return !s.hasAllow, nil
}

// Allowed reports whether the rules allow version of the module path,
// and why: the deciding rule with its line, or the default. A version
// "" asks about the module as a whole: Allowed is false only when the
// rules deny every version of it. A nil Set allows everything.
//
// Reasons are one line, such as
//
//	denied by rule at line 4 (deny example.com/m@<v1.3.0)
func (s *Set) Allowed(path, version string) (bool, string) {
	allowed, r := s.decide(path, version)
	if allowed {
		if r != nil && r.allow {
			return true, fmt.Sprintf("allowed by rule at line %d (%s)", r.line, r.text)
		}
		if version == "" {
			return true, "no rule denies every version of it"
		}
		return true, "no rule denies it"
	}
	return false, deniedError(r).Error()
}

// check returns nil if s allows path at version, or else the refusal,
// with module context.
func (s *Set) check(path, version string) error {
	allowed, r := s.decide(path, version)
	if allowed {
		return nil
	}
	return &module.ModuleError{Path: path, Version: version, Err: deniedError(r)}
}

// ErrDenied is wrapped by the errors of module versions that rules deny.
// Those errors wrap [modfetch.ErrForbidden] too, so that proxy.Handler
// answers them with 403 Forbidden.
var ErrDenied = errors.New("denied by rules")

// A DeniedError is the refusal of a module or version by a rule (or by
// the default of a rules file with allow rules: allow only what they
// name). The errors of a [Filter] are a *module.ModuleError wrapping one.
//
// errors.Is(err, ErrDenied) and errors.Is(err, modfetch.ErrForbidden)
// hold for it.
type DeniedError struct {
	Line int    // the deciding rule's line; 0 if no allow rule matched
	Rule string // the deciding rule as written, such as "deny example.com/m@v1.2.3"
}

func deniedError(r *rule) *DeniedError {
	if r == nil {
		return &DeniedError{}
	}
	return &DeniedError{Line: r.line, Rule: r.text}
}

func (e *DeniedError) Error() string {
	if e.Line == 0 {
		return "denied: no allow rule matches it"
	}
	return fmt.Sprintf("denied by rule at line %d (%s)", e.Line, e.Rule)
}

// Is reports whether target is ErrDenied or modfetch.ErrForbidden.
func (e *DeniedError) Is(target error) bool {
	return target == ErrDenied || target == modfetch.ErrForbidden
}
