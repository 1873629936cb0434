package e2e

import (
	"strings"
	"testing"

	"github.com/modfetch/modfetch/internal/fixture"
)

// compareDownloadRun runs `go mod download args...` in goHome and
// examples/download in ourHome, in the same kind of directory, and
// compares exit status, standard output and standard error.
func compareDownloadRun(t *testing.T, goHome, ourHome *home, args ...string) {
	t.Helper()
	work := t.TempDir()
	goOut, goErr, goRunErr := goHome.goCmd(t, work, append([]string{"mod", "download"}, args...)...)
	ourOut, ourErr, ourRunErr := ourHome.run(t, work, example(t, "download"), args...)
	norm := func(h *home, s string) string { return strings.ReplaceAll(s, h.gomodcache, "$GOMODCACHE") }
	goOut, ourOut = norm(goHome, goOut), norm(ourHome, ourOut)
	goErr, ourErr = norm(goHome, goErr), norm(ourHome, ourErr)
	if (goRunErr == nil) != (ourRunErr == nil) || goOut != ourOut || goErr != ourErr {
		t.Errorf("go mod download %s:\n go (%v):\n%s%s\n ours (%v):\n%s%s", strings.Join(args, " "), goRunErr, goOut, goErr, ourRunErr, ourOut, ourErr)
	}
}

// TestDownloadUpgradePatchOutsideModule: outside a module the go command
// refuses "upgrade" and "patch" (they need a main module's requirement),
// before downloading anything; so does examples/download.
func TestDownloadUpgradePatchOutsideModule(t *testing.T) {
	w := newWorld(t, fixture.Queries())
	goHome, ourHome := newHome(t, w), newHome(t, w)
	for _, args := range [][]string{
		{"example.com/hello@upgrade"},
		{"example.com/hello@patch"},
		{"-json", "example.com/hello@upgrade"},
		{"-json", "example.com/hello@v1.0.0", "example.com/hello@patch"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			compareDownloadRun(t, goHome, ourHome, args...)
		})
	}
}
