package e2e

import (
	"strings"
	"testing"

	"github.com/modfetch/modfetch/internal/fixture"
)

// compareList runs `go list -m args...` in goHome and examples/list in
// ourHome and compares exit status, standard output and standard error.
func compareList(t *testing.T, goHome, ourHome *home, args ...string) {
	t.Helper()
	work := t.TempDir()
	goOut, goErr, goRunErr := goHome.goCmd(t, work, append([]string{"list", "-m"}, args...)...)
	ourOut, ourErr, ourRunErr := ourHome.run(t, work, example(t, "list"), append([]string{"-m"}, args...)...)
	norm := func(h *home, s string) string { return strings.ReplaceAll(s, h.gomodcache, "$GOMODCACHE") }
	goOut, ourOut = norm(goHome, goOut), norm(ourHome, ourOut)
	goErr, ourErr = norm(goHome, goErr), norm(ourHome, ourErr)
	if (goRunErr == nil) != (ourRunErr == nil) || goOut != ourOut || goErr != ourErr {
		t.Errorf("go list -m %s:\n go (%v):\n%s%s\n ours (%v):\n%s%s", strings.Join(args, " "), goRunErr, goOut, goErr, ourRunErr, ourOut, ourErr)
	}
}

// TestListMatchesGoCommand compares examples/list with `go list -m` for
// every query form and choice rule, on fixture modules.
func TestListMatchesGoCommand(t *testing.T) {
	set := fixture.Queries()
	w := newWorld(t, set)
	w.proxy.NoLatest = true // like the restricted mirror: @latest is 404
	goHome, ourHome := newHome(t, w), newHome(t, w)

	queries := []string{
		"example.com/hello@latest",
		"example.com/hello@v1",
		"example.com/hello@v1.0",
		"example.com/hello@<v1.1.0",
		"example.com/hello@<=v1.1.0",
		"example.com/hello@>v1.0.0",
		"example.com/hello@>=v1.0.0",
		"example.com/hello@v1.0.0+meta",
		"example.com/hello@main",
		"example.com/retract@latest",      // skips retracted versions
		"example.com/retract@v1.1.0",      // explicit request of a retracted version
		"example.com/allretracted@latest", // nothing left
		"example.com/prerel@latest",       // only pre-releases
		"example.com/prerel@v0.2",         // a prefix never picks its pre-release
		"example.com/pseudo@latest",       // only pseudo-versions, no @latest
		"example.com/incompat@latest",     // +incompatible skipped above a go.mod
		"example.com/incompat@v2",         // unless asked for
		"example.com/incompat@>=v2.0.0",   // preferred for other majors
		"example.com/legacy@latest",       // no go.mod: +incompatible wins
		"example.com/unlisted@v1.5.0",     // served but not listed
		"example.com/unlisted@latest",     // the list decides latest
		"example.com/empty@latest",        // empty list: no matching versions
		"example.com/Upper/Case@latest",   // case-escaped path, pre-release only
		"example.com/nomod@latest",
		"example.com/major/v2@latest",
		"gopkg.in/fixture.v1@latest",
	}
	for _, q := range queries {
		t.Run(q, func(t *testing.T) {
			compareList(t, goHome, ourHome, "-json", "-e", q)
		})
	}
	for _, tt := range [][]string{
		{"-json", "-versions", "example.com/retract"},
		{"-json", "-versions", "-retracted", "example.com/retract"},
		{"-versions", "example.com/hello", "example.com/incompat", "example.com/pseudo"},
		{"-json", "-retracted", "example.com/retract@v1.2.0"},
		{"-json", "-retracted", "example.com/retract@v1.1.0"},
		{"-json", "-u", "example.com/hello@v1.0.0"},
		{"-json", "-u", "example.com/deprecated@v1.0.0"},
		{"-u", "example.com/retract@v1.1.0", "example.com/deprecated@v1.0.0"},
		{"-json", "-e", "example.com/hello@>v1.0", "example.com/hello@<v1.x", "example.com/missing@latest"},
		{"example.com/hello@v9"},      // without -e: error on stderr, exit 1
		{"example.com/hello"},         // needs -versions or a version
		{"example.com/hello@upgrade"}, // needs a main module
		{"example.com/hello@-bad"},    // invalid version
		{"-json", "example.com/hello@v1.1.0", "example.com/nomod@v2.0.0+incompatible"},
	} {
		t.Run(strings.Join(tt, " "), func(t *testing.T) {
			compareList(t, goHome, ourHome, tt...)
		})
	}
}

// TestDownloadQueriesMatchGoCommand: examples/download resolves every
// query form like `go mod download`.
func TestDownloadQueriesMatchGoCommand(t *testing.T) {
	set := fixture.Queries()
	w := newWorld(t, set)
	w.proxy.NoLatest = true
	goHome, ourHome := newHome(t, w), newHome(t, w)
	compareDownload(t, goHome, ourHome, []string{
		"example.com/hello@latest",
		"example.com/hello@v1",
		"example.com/hello@>=v1.0.0",
		"example.com/hello@main",
		"example.com/retract@latest",
		"example.com/retract@v1.2.0",
		"example.com/pseudo@latest",
		"example.com/incompat@latest",
		"example.com/legacy@latest",
		"example.com/empty@latest",
		"example.com/hello@>v1.0",
	}, true)
}
