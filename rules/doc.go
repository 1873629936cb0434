// Package rules allows and denies modules by path pattern and versions by
// semantic version range: a [Filter] is a [modfetch.Resolver] decorator
// that refuses what its rules deny, for blocking a compromised release or
// allowing only a vetted set. Its refusals wrap [modfetch.ErrForbidden],
// which proxy.Handler answers with 403 Forbidden and a one-line reason
// that the go command shows its user:
//
//	go: example.com/m@v1.2.3: reading https://proxy.example/example.com/m/@v/v1.2.3.info: 403 Forbidden
//		server response: example.com/m@v1.2.3: denied by rule at line 4 (deny example.com/m@v1.2.3)
//
// # The rules file
//
// A rules file has one rule per line:
//
//	allow PATTERN[@RANGE]
//	deny PATTERN[@RANGE]
//
// A "#" starts a comment, to the end of the line; blank lines are
// ignored. PATTERN is as in GOPRIVATE: a glob (path.Match syntax)
// matching a module path or a leading part of it, element by element
// ("example.com/m" matches example.com/m and example.com/m/v2,
// "*.corp.example" every module on a host under corp.example), or
// several such globs joined by commas (module.MatchPrefixPatterns).
// RANGE is an exact canonical version (v1.2.3, v2.0.0+incompatible) or
// one or more comparisons (<, <=, >, >= and a semantic version) joined by
// commas, all of which must hold:
//
//	deny  example.com/m@v1.2.3            # one compromised release
//	deny  example.com/m@>=v1.0.0,<v1.4.0  # a range
//	allow *.corp.example,example.com/ours # modules of our own
//	allow golang.org/x/*@>=v0.20.0        # vetted versions
//
// Comparisons follow semantic versioning: pre-releases and
// pseudo-versions sort before their release (<v1.2.0 holds for
// v1.2.0-rc.1), and a rule with a range never matches a string that is
// not a semantic version. Without @RANGE a rule matches every version.
//
// # Deciding
//
// The last line that matches a module version decides: allow or deny.
// When no line matches, the version is allowed, unless the file has any
// allow line: then only what the allow lines name is allowed. So a file
// of deny lines blocks what it names, and a file of allow lines (with
// deny lines after them for exceptions) is a vetted set.
//
// [Parse] reports malformed lines (an unknown verb, a missing or bad
// pattern, a bad range or version, text after the rule) with their line
// numbers, as *[SyntaxError]s. [Set.Allowed] gives the verdict for one
// module version and its reason.
//
// # The Filter
//
// A Filter answers from its Next what its rules allow:
//
//   - Stat of a denied version, or of a revision (a branch, a commit)
//     that resolves to a denied version, is a refusal;
//   - GoMod and Zip of a denied version are refusals;
//   - List leaves out the denied versions;
//   - Latest answers Next's latest version if it is allowed, or else the
//     highest allowed version in Next's list (a release before a
//     pre-release, a pre-release before a pseudo-version), or else a
//     refusal saying why (not "not found", which would let a GOPROXY
//     list fall through to a proxy that serves the denied version);
//   - a module whose every version is denied (a deny line without a range
//     that no later allow line overrides, or no allow line at all in a
//     file that has some) is refused by every method, List and Latest
//     included.
//
// A refusal is a *module.ModuleError wrapping a *[DeniedError], for which
// errors.Is(err, [ErrDenied]) and errors.Is(err, modfetch.ErrForbidden)
// hold; it is not "not found", so a GOPROXY walk stops at it. Its text is
// one line, such as
//
//	example.com/m@v1.2.3: denied by rule at line 4 (deny example.com/m@v1.2.3)
//
// [Filter.Store] replaces the rules atomically, while the Filter serves:
// a call uses the rules that were current when it began, so a reload
// never fails or drops a request. Put the Filter in front of any cache,
// so that a change of rules takes effect at once (a cache remembers
// lists and @latest answers). For the same reason, a proxy.Handler
// serving a Filter must not have a Memory: the Handler serves the .info
// and .mod files it finds there without asking its Resolver.
package rules
