package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/modfetch/modfetch/internal/fixture"
	"github.com/modfetch/modfetch/proxy"
)

// rulesLog is a log destination safe for concurrent writes and reads.
type rulesLog struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (l *rulesLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *rulesLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// writeRules replaces the rules file at path as an operator should: a
// new file renamed over it.
func writeRules(t *testing.T, path, text string) {
	t.Helper()
	tmp := path + ".new"
	if err := os.WriteFile(tmp, []byte(text), 0o666); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func TestLoadRules(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "rules")
	writeRules(t, path, "# vetted\ndeny example.com/hello@v1.1.0\n")
	s, err := loadRules(path)
	if err != nil {
		t.Fatal(err)
	}
	if ok, _ := s.Allowed("example.com/hello", "v1.1.0"); ok {
		t.Error("the loaded rules allow what the file denies")
	}
	writeRules(t, path, "deny example.com/hello@v1.1.0\ndrop example.com/x\n")
	if _, err := loadRules(path); err == nil || !strings.Contains(err.Error(), "line 2") || !strings.Contains(err.Error(), path) {
		t.Errorf("loadRules of a bad file: %v, want the file and line 2 named", err)
	}
	if _, err := loadRules(filepath.Join(dir, "missing")); err == nil {
		t.Error("loadRules of a missing file succeeded")
	}
	if _, err := watchRules(t.Context(), filepath.Join(dir, "missing"), slog.New(slog.DiscardHandler)); err == nil {
		t.Error("watchRules of a missing file succeeded")
	}
}

// TestRulesReloadOnSIGHUP: a SIGHUP reads the rules file again and
// changes the answers of a server that is serving, without a failed
// request; a bad file keeps the rules in force.
func TestRulesReloadOnSIGHUP(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	path := filepath.Join(t.TempDir(), "rules")
	writeRules(t, path, "deny example.com/hello@v1.1.0 # compromised\n")
	logs := new(rulesLog)
	f, err := watchRules(ctx, path, slog.New(slog.NewTextHandler(logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	f.Next = fixture.Standard()
	srv := httptest.NewServer(&proxy.Handler{Resolver: f})
	defer srv.Close()

	get := func(p string) (int, string, error) {
		resp, err := http.Get(srv.URL + p)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body), err
	}
	const denied = "/example.com/hello/@v/v1.1.0.info"
	check := func(when string, wantStatus int, wantBody string) {
		t.Helper()
		status, body, err := get(denied)
		if err != nil || status != wantStatus || !strings.Contains(body, wantBody) {
			t.Fatalf("%s: GET %s: %d %q, %v; want %d %q", when, denied, status, body, err, wantStatus, wantBody)
		}
	}
	check("before a reload", 403, "example.com/hello@v1.1.0: denied by rule at line 1 (deny example.com/hello@v1.1.0)")

	// Requests keep coming while the rules are reloaded.
	var wg sync.WaitGroup
	var stop atomic.Bool
	var served, failed atomic.Int64
	for range 4 {
		wg.Go(func() {
			for !stop.Load() {
				for _, p := range []string{"/example.com/hello/@v/v1.0.0.info", "/example.com/hello/@v/list", "/example.com/hello/@v/v1.0.0.mod"} {
					if status, _, err := get(p); err != nil || status != 200 {
						failed.Add(1)
						t.Errorf("GET %s during reloads: %d, %v", p, status, err)
					}
					served.Add(1)
				}
			}
		})
	}
	reload := func() {
		t.Helper()
		n := strings.Count(logs.String(), "\n")
		if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		// Each reload logs a line, whether it succeeds or not.
		fixture.WaitFor(t, "the reload to be logged", func() bool { return strings.Count(logs.String(), "\n") > n })
	}

	// Allow the version: the same server now serves it.
	writeRules(t, path, "deny example.com/hello@v0.0.1\n")
	old := f.Load()
	reload()
	if f.Load() == old {
		t.Fatalf("SIGHUP did not reload the rules; log:\n%s", logs)
	}
	check("after allowing it", 200, `"Version":"v1.1.0"`)

	// A bad file: logged, and the rules in force stay.
	writeRules(t, path, "deny example.com/hello@v1.1.0\nforbid everything\n")
	old = f.Load()
	reload()
	if f.Load() != old {
		t.Error("a bad rules file replaced the rules in force")
	}
	if l := logs.String(); !strings.Contains(l, "keeping the previous rules") || !strings.Contains(l, `line 2: unknown verb \"forbid\"`) {
		t.Errorf("log after a bad rules file:\n%s\nwant the error with its line", l)
	}
	check("after a bad file", 200, `"Version":"v1.1.0"`)

	// Deny it again.
	writeRules(t, path, "deny example.com/hello@>=v1.1.0\n")
	reload()
	check("after denying it again", 403, "denied by rule at line 1 (deny example.com/hello@>=v1.1.0)")

	for served.Load() < 30 {
		// Overlap the reloads with enough requests to count.
		reload()
	}
	stop.Store(true)
	wg.Wait()
	if n := failed.Load(); n != 0 {
		t.Errorf("%d of %d requests failed while the rules were reloaded", n, served.Load())
	}
	t.Logf("%d requests served during reloads", served.Load())
}
