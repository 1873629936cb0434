package e2e

import (
	"os"
	"path/filepath"
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

// TestGoSumCheckedOnEveryUse: a module already in the module cache is
// checked again against the go.sum of a later command, as the go command
// checks go.sum on every use: a go.sum line that disagrees with the cache
// fails with the go command's SECURITY ERROR, even though nothing is
// downloaded.
func TestGoSumCheckedOnEveryUse(t *testing.T) {
	set := fixture.Queries()
	w := newWorld(t, set)
	goHome, ourHome := newHome(t, w), newHome(t, w)
	hello := set.Module("example.com/hello", "v1.0.0")
	other := set.Module("example.com/hello", "v1.1.0")
	for _, tt := range []struct {
		name  string
		gosum string
	}{
		// The zip's line disagrees with the cache (it is another version's).
		{"zip", "example.com/hello v1.0.0 " + other.ZipSum() + "\nexample.com/hello v1.0.0/go.mod " + hello.ModSum() + "\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			// Both caches hold the module, downloaded outside a module.
			for _, h := range []*home{goHome, ourHome} {
				cmd := []string{goBin(t), "mod", "download", "example.com/hello@v1.0.0"}
				if h == ourHome {
					cmd = []string{example(t, "download"), "example.com/hello@v1.0.0"}
				}
				if _, stderr, err := h.run(t, t.TempDir(), cmd[0], cmd[1:]...); err != nil {
					t.Fatalf("%s: %v\n%s", cmd[0], err, stderr)
				}
			}
			mod := t.TempDir()
			writeFile(t, filepath.Join(mod, "go.mod"), "module example.com/main\n\ngo 1.21\n\nrequire example.com/hello v1.0.0\n")
			writeFile(t, filepath.Join(mod, "go.sum"), tt.gosum)
			for _, args := range [][]string{nil, {"-json"}} {
				goOut, goErr, goRunErr := goHome.goCmd(t, mod, append([]string{"mod", "download"}, args...)...)
				ourOut, ourErr, ourRunErr := ourHome.run(t, mod, example(t, "download"), args...)
				norm := func(h *home, s string) string { return strings.ReplaceAll(s, h.gomodcache, "$GOMODCACHE") }
				goOut, ourOut = norm(goHome, goOut), norm(ourHome, ourOut)
				goErr, ourErr = norm(goHome, goErr), norm(ourHome, ourErr)
				if goRunErr == nil {
					t.Fatalf("go mod download %v succeeded with a go.sum that disagrees with the module cache", args)
				}
				// The go command stops at the mismatch (a fatal error, no
				// JSON); examples/download reports it for its module, in
				// the JSON with -json: the same exit status and words.
				want := strings.TrimSpace(goErr)
				ourText := ourErr
				for _, m := range decodeModules(t, ourOut) {
					ourText += m.Error
				}
				if ourRunErr == nil || !strings.Contains(ourText, want) {
					t.Errorf("download %v:\n go (%v):\n%s%s\n ours (%v):\n%s%s", args, goRunErr, goOut, goErr, ourRunErr, ourOut, ourErr)
				}
			}
		})
	}
}

func writeFile(t *testing.T, name, content string) {
	t.Helper()
	if err := os.WriteFile(name, []byte(content), 0o666); err != nil {
		t.Fatal(err)
	}
}

// tooNewSet is fixture.Queries with example.com/toonew, whose latest
// version's go.mod needs a go newer than any released.
func tooNewSet() *fixture.Set {
	set := fixture.Queries()
	set.Add("example.com/toonew", "v1.0.0", map[string]string{"go.mod": "module example.com/toonew\n\ngo 1.21\n", "x.go": "package x"}, fixture.Day(1))
	set.Add("example.com/toonew", "v1.1.0", map[string]string{"go.mod": "module example.com/toonew\n\ngo 1.999\n", "x.go": "package x"}, fixture.Day(2))
	return set
}

// TestTooNewMatchesGoCommand: with GOTOOLCHAIN=local, a module whose
// go.mod needs a newer go than the running one fails in the go command
// ("requires go >= 1.999 (running go 1.N; GOTOOLCHAIN=local)"); the
// work-alikes fail the same way.
func TestTooNewMatchesGoCommand(t *testing.T) {
	w := newWorld(t, tooNewSet())
	goHome, ourHome := newHome(t, w), newHome(t, w)
	for _, q := range []string{
		"example.com/toonew@latest",
		"example.com/toonew@v1.1.0",
		"example.com/toonew@v1.0.0",
		"example.com/toonew@v1",
	} {
		t.Run("list "+q, func(t *testing.T) {
			compareList(t, goHome, ourHome, "-json", "-e", q)
			compareList(t, goHome, ourHome, q)
		})
		t.Run("download "+q, func(t *testing.T) {
			compareDownloadRun(t, goHome, ourHome, "-json", q)
			compareDownloadRun(t, goHome, ourHome, q)
		})
	}
	t.Run("list -versions", func(t *testing.T) {
		compareList(t, goHome, ourHome, "-versions", "example.com/toonew")
	})
}
