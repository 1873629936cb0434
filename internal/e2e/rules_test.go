package e2e

import (
	"errors"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modfetch/modfetch/internal/fixture"
	"github.com/modfetch/modfetch/proxy"
	"github.com/modfetch/modfetch/rules"
)

// TestGoCommandRules: the go command through a proxy.Handler over a
// rules.Filter. A denied version fails `go get` with our reason in its
// output, other versions work, lists leave the denied version out, and
// a change of rules while serving changes the answers.
func TestGoCommandRules(t *testing.T) {
	w := newWorld(t, fixture.Standard())
	f := &rules.Filter{Next: w.set}
	set, err := rules.Parse([]byte("# a compromised release\ndeny example.com/hello@v1.1.0\n"))
	if err != nil {
		t.Fatal(err)
	}
	f.Store(set)
	srv := httptest.NewServer(&proxy.Handler{Resolver: f})
	t.Cleanup(srv.Close)
	c := newHome(t, w)
	c.env["GOPROXY"] = srv.URL

	mod := t.TempDir()
	writeFiles(t, mod, map[string]string{"go.mod": "module example.com/app\n\ngo 1.21\n"})
	gomod := func() string {
		data, err := os.ReadFile(filepath.Join(mod, "go.mod"))
		if err != nil {
			t.Fatal(err)
		}
		return string(data)
	}

	// The denied version: exit status 1, our reason in the output.
	out, stderr, err := c.goCmd(t, mod, "get", "example.com/hello@v1.1.0")
	const reason = "example.com/hello@v1.1.0: denied by rule at line 2 (deny example.com/hello@v1.1.0)"
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 || !strings.Contains(stderr, "403 Forbidden") || !strings.Contains(stderr, "server response: "+reason) {
		t.Fatalf("go get example.com/hello@v1.1.0: %v\n%s%s\nwant exit status 1 and a 403 with %q", err, out, stderr, reason)
	}
	t.Logf("go get of the denied version:\n%s", stderr)
	if strings.Contains(gomod(), "example.com/hello") {
		t.Fatalf("go.mod after a refused go get:\n%s", gomod())
	}

	// Another version works; @latest and the list leave the denied one out.
	if out, stderr, err := c.goCmd(t, mod, "get", "example.com/hello@v1.0.0"); err != nil {
		t.Fatalf("go get example.com/hello@v1.0.0: %v\n%s%s", err, out, stderr)
	}
	if !strings.Contains(gomod(), "require example.com/hello v1.0.0") {
		t.Fatalf("go.mod:\n%s", gomod())
	}
	if out, stderr, err := c.goCmd(t, mod, "list", "-m", "-versions", "example.com/hello"); err != nil || out != "example.com/hello v1.0.0\n" {
		t.Fatalf("go list -m -versions = %q, %v\n%s; want v1.0.0 only", out, err, stderr)
	}
	if out, stderr, err := c.goCmd(t, mod, "list", "-m", "example.com/hello@latest"); err != nil || out != "example.com/hello v1.0.0\n" {
		t.Fatalf("go list -m example.com/hello@latest = %q, %v\n%s; want v1.0.0", out, err, stderr)
	}

	// New rules, swapped in while serving: the version is allowed now.
	set, err = rules.Parse([]byte("deny example.com/hello@<v1.0.0\n"))
	if err != nil {
		t.Fatal(err)
	}
	f.Store(set)
	if out, stderr, err := c.goCmd(t, mod, "get", "example.com/hello@v1.1.0"); err != nil {
		t.Fatalf("go get example.com/hello@v1.1.0 after the rules changed: %v\n%s%s", err, out, stderr)
	}
	if !strings.Contains(gomod(), "require example.com/hello v1.1.0") {
		t.Fatalf("go.mod:\n%s", gomod())
	}
	if out, stderr, err := c.goCmd(t, mod, "list", "-m", "-versions", "example.com/hello"); err != nil || out != "example.com/hello v1.0.0 v1.1.0\n" {
		t.Fatalf("go list -m -versions after the rules changed = %q, %v\n%s", out, err, stderr)
	}
}
