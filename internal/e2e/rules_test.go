package e2e

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
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

// TestProxyServerRulesReload: examples/proxyserver with -rules. A denied
// version fails `go get` with our reason; after the file is edited and
// the server gets SIGHUP, the same server serves it, and requests made
// all along never fail.
func TestProxyServerRulesReload(t *testing.T) {
	w := newWorld(t, fixture.Standard())
	server := newHome(t, w)
	rulesFile := filepath.Join(t.TempDir(), "rules")
	writeRulesFile(t, rulesFile, "deny example.com/hello@v1.1.0 # compromised\n")

	addr, logs, cmd := startProxyServer(t, server, "-rules", rulesFile)
	base := "http://" + addr

	c := newHome(t, w)
	c.env["GOPROXY"] = base
	mod := t.TempDir()
	writeFiles(t, mod, map[string]string{"go.mod": "module example.com/app\n\ngo 1.21\n"})

	out, stderr, err := c.goCmd(t, mod, "get", "example.com/hello@v1.1.0")
	const reason = "example.com/hello@v1.1.0: denied by rule at line 1 (deny example.com/hello@v1.1.0)"
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 || !strings.Contains(stderr, "403 Forbidden") || !strings.Contains(stderr, reason) {
		t.Fatalf("go get of the denied version: %v\n%s%s\nwant exit status 1 and a 403 with %q", err, out, stderr, reason)
	}
	if out, stderr, err := c.goCmd(t, mod, "get", "example.com/hello@v1.0.0"); err != nil {
		t.Fatalf("go get example.com/hello@v1.0.0: %v\n%s%s", err, out, stderr)
	}

	// Requests all along, while the rules are reloaded.
	var wg sync.WaitGroup
	var stop atomic.Bool
	var served, failed atomic.Int64
	for range 2 {
		wg.Go(func() {
			for !stop.Load() {
				for _, p := range []string{"/example.com/hello/@v/v1.0.0.info", "/example.com/hello/@v/list", "/example.com/hello/@v/v1.0.0.zip"} {
					resp, err := http.Get(base + p)
					if err == nil {
						_, err = io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
					}
					if err != nil || resp.StatusCode != 200 {
						failed.Add(1)
						t.Errorf("GET %s while the rules were reloaded: %v", p, err)
					}
					served.Add(1)
				}
			}
		})
	}
	reload := func(text string) {
		t.Helper()
		writeRulesFile(t, rulesFile, text)
		n := strings.Count(logs.String(), "rules reloaded")
		if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		fixture.WaitFor(t, "the proxyserver to reload its rules", func() bool {
			return strings.Count(logs.String(), "rules reloaded") > n
		})
	}
	reload("deny example.com/hello@<v1.0.0\n")
	if out, stderr, err := c.goCmd(t, mod, "get", "example.com/hello@v1.1.0"); err != nil {
		t.Fatalf("go get example.com/hello@v1.1.0 after the reload: %v\n%s%s\nserver log:\n%s", err, out, stderr, logs)
	}
	for i := 0; i < 5 || served.Load() < 30; i++ {
		reload(fmt.Sprintf("deny example.com/hello@<v1.0.0\n# reload %d\n", i))
	}
	stop.Store(true)
	wg.Wait()
	if n := failed.Load(); n != 0 {
		t.Errorf("%d of %d requests failed while the rules were reloaded", n, served.Load())
	}
	t.Logf("%d requests served across %d reloads", served.Load(), strings.Count(logs.String(), "rules reloaded"))
}

// writeRulesFile replaces a rules file as an operator should: a new file
// renamed over it.
func writeRulesFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path+".new", []byte(text), 0o666); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path+".new", path); err != nil {
		t.Fatal(err)
	}
}
