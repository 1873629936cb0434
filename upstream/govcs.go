package upstream

import (
	"fmt"
	"strings"

	"golang.org/x/mod/module"
)

// A govcsRule is one GOVCS entry, such as "private:git|hg".
type govcsRule struct {
	pattern string
	allowed []string
}

// A govcsConfig is a parsed GOVCS value, rules in order.
type govcsConfig []govcsRule

// defaultGOVCS follows the user's rules, as in the go command: private
// repositories may use anything, public ones git and hg only.
var defaultGOVCS = govcsConfig{
	{"private", []string{"all"}},
	{"public", []string{"git", "hg"}},
}

// parseGOVCS parses a GOVCS value with the go command's rules and error
// texts (cmd/go/internal/vcs: parseGOVCS).
func parseGOVCS(s string) (govcsConfig, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	var cfg govcsConfig
	seen := make(map[string]string)
	for item := range strings.SplitSeq(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			return nil, fmt.Errorf("empty entry in GOVCS")
		}
		pattern, list, ok := strings.Cut(item, ":")
		if !ok {
			return nil, fmt.Errorf("malformed entry in GOVCS (missing colon): %q", item)
		}
		pattern, list = strings.TrimSpace(pattern), strings.TrimSpace(list)
		if pattern == "" {
			return nil, fmt.Errorf("empty pattern in GOVCS: %q", item)
		}
		if list == "" {
			return nil, fmt.Errorf("empty VCS list in GOVCS: %q", item)
		}
		if isRelativePath(pattern) {
			return nil, fmt.Errorf("relative pattern not allowed in GOVCS: %q", pattern)
		}
		if old := seen[pattern]; old != "" {
			return nil, fmt.Errorf("unreachable pattern in GOVCS: %q after %q", item, old)
		}
		seen[pattern] = item
		allowed := strings.Split(list, "|")
		for i, a := range allowed {
			a = strings.TrimSpace(a)
			if a == "" {
				return nil, fmt.Errorf("empty VCS name in GOVCS: %q", item)
			}
			allowed[i] = a
		}
		cfg = append(cfg, govcsRule{pattern, allowed})
	}
	return cfg, nil
}

func isRelativePath(pattern string) bool {
	return strings.HasPrefix(pattern, "./") || strings.HasPrefix(pattern, "../") || pattern == "." || pattern == ".."
}

// allow reports whether the first rule matching root (a repository root
// import path; "private" and "public" match by the GOPRIVATE
// classification) allows vcs. Nothing matching means not allowed.
func (c govcsConfig) allow(root string, private bool, vcs string) bool {
	for _, rule := range c {
		var match bool
		switch rule.pattern {
		case "private":
			match = private
		case "public":
			match = !private
		default:
			match = module.MatchPrefixPatterns(rule.pattern, root)
		}
		if !match {
			continue
		}
		for _, a := range rule.allowed {
			if a == vcs || a == "all" {
				return true
			}
		}
		return false
	}
	return false
}

// checkGOVCS applies d's GOVCS (followed by the defaults) to using vcs for
// the repository rooted at root. The "mod" scheme (a go-import tag
// pointing at a module proxy) is always allowed.
func (d *Direct) checkGOVCS(vcs, root string) error {
	if vcs == "mod" {
		return nil
	}
	if d.govcsErr != nil {
		return d.govcsErr
	}
	private := module.MatchPrefixPatterns(d.GOPRIVATE, root)
	if !d.govcs.allow(root, private, vcs) {
		what := "public"
		if private {
			what = "private"
		}
		return fmt.Errorf("GOVCS disallows using %s for %s %s; see 'go help vcs'", vcs, what, root)
	}
	return nil
}
