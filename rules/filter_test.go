package rules

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/mod/module"

	"github.com/modfetch/modfetch"
	"github.com/modfetch/modfetch/internal/fixture"
	"github.com/modfetch/modfetch/proxy"
	"github.com/modfetch/modfetch/resolvertest"
	"github.com/modfetch/modfetch/upstream"
)

// counting counts the calls that reach a Resolver.
type counting struct {
	modfetch.Resolver
	n atomic.Int64
}

func (c *counting) List(ctx context.Context, p string) ([]string, error) {
	c.n.Add(1)
	return c.Resolver.List(ctx, p)
}
func (c *counting) Stat(ctx context.Context, p, rev string) (*modfetch.Info, error) {
	c.n.Add(1)
	return c.Resolver.Stat(ctx, p, rev)
}
func (c *counting) Latest(ctx context.Context, p string) (*modfetch.Info, error) {
	c.n.Add(1)
	return c.Resolver.Latest(ctx, p)
}
func (c *counting) GoMod(ctx context.Context, p, v string) ([]byte, error) {
	c.n.Add(1)
	return c.Resolver.GoMod(ctx, p, v)
}
func (c *counting) Zip(ctx context.Context, p, v string) (io.ReadCloser, error) {
	c.n.Add(1)
	return c.Resolver.Zip(ctx, p, v)
}

func mustParse(t testing.TB, text string) *Set {
	t.Helper()
	s, err := Parse([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// standard is the standard fixture set with a branch of example.com/hello
// (main, at v1.1.0; old, at v1.0.0) and its @latest (v1.1.0).
func standard() *fixture.Set {
	set := fixture.Standard()
	set.Revs = map[string]string{"example.com/hello@main": "v1.1.0", "example.com/hello@old": "v1.0.0"}
	set.LatestVersion = map[string]string{"example.com/hello": "v1.1.0", "example.com/nomod": "v2.0.0+incompatible"}
	return set
}

// isRefusal reports whether err is a refusal by the rules, and only that.
func isRefusal(err error) bool {
	return errors.Is(err, ErrDenied) && errors.Is(err, modfetch.ErrForbidden) && !errors.Is(err, fs.ErrNotExist)
}

func TestFilter(t *testing.T) {
	ctx := t.Context()
	set := standard()
	next := &counting{Resolver: set}
	f := &Filter{Next: next}
	f.Store(mustParse(t, "deny example.com/hello@v1.1.0 # compromised\ndeny example.com/nomod\n"))
	const hello = "example.com/hello"

	// Refusals of the denied version, before any I/O.
	refused := func(what string, err error, want string) {
		t.Helper()
		if !isRefusal(err) {
			t.Errorf("%s: %v, want a refusal", what, err)
		} else if err.Error() != want {
			t.Errorf("%s: %q, want %q", what, err, want)
		}
	}
	const reason = "example.com/hello@v1.1.0: denied by rule at line 1 (deny example.com/hello@v1.1.0)"
	before := next.n.Load()
	_, err := f.Stat(ctx, hello, "v1.1.0")
	refused("Stat of the denied version", err, reason)
	_, err = f.GoMod(ctx, hello, "v1.1.0")
	refused("GoMod of the denied version", err, reason)
	_, err = f.Zip(ctx, hello, "v1.1.0")
	refused("Zip of the denied version", err, reason)
	if n := next.n.Load() - before; n != 0 {
		t.Errorf("refusing a canonical version made %d calls to Next, want 0", n)
	}
	// A branch resolving to the denied version is refused too.
	_, err = f.Stat(ctx, hello, "main")
	refused("Stat of a branch at the denied version", err, reason)

	// The other version is served as Next serves it.
	if info, err := f.Stat(ctx, hello, "v1.0.0"); err != nil || info.Version != "v1.0.0" {
		t.Errorf("Stat v1.0.0 = %v, %v", info, err)
	}
	if info, err := f.Stat(ctx, hello, "old"); err != nil || info.Version != "v1.0.0" {
		t.Errorf("Stat of a branch at v1.0.0 = %v, %v", info, err)
	}
	if data, err := f.GoMod(ctx, hello, "v1.0.0"); err != nil || !bytes.Equal(data, set.Module(hello, "v1.0.0").Mod) {
		t.Errorf("GoMod v1.0.0 = %q, %v", data, err)
	}
	rc, err := f.Zip(ctx, hello, "v1.0.0")
	if err != nil {
		t.Fatalf("Zip v1.0.0: %v", err)
	}
	data, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || !bytes.Equal(data, set.Module(hello, "v1.0.0").Zip) {
		t.Errorf("Zip v1.0.0: %d bytes, %v", len(data), err)
	}

	// List leaves the denied version out; Latest answers the highest
	// allowed one.
	if list, err := f.List(ctx, hello); err != nil || !slices.Equal(list, []string{"v1.0.0"}) {
		t.Errorf("List = %q, %v; want [v1.0.0]", list, err)
	}
	if info, err := f.Latest(ctx, hello); err != nil || info.Version != "v1.0.0" {
		t.Errorf("Latest = %v, %v; want v1.0.0 (v1.1.0 is denied)", info, err)
	}

	// A module denied as a whole: every method refuses it.
	const nomod = "example.com/nomod"
	_, err = f.List(ctx, nomod)
	refused("List of a denied module", err, "module example.com/nomod: denied by rule at line 2 (deny example.com/nomod)")
	_, err = f.Latest(ctx, nomod)
	refused("Latest of a denied module", err, "module example.com/nomod: denied by rule at line 2 (deny example.com/nomod)")
	for _, c := range []struct {
		name string
		do   func() error
	}{
		{"Stat", func() error { _, err := f.Stat(ctx, nomod, "v1.0.0"); return err }},
		{"Stat of a branch", func() error { _, err := f.Stat(ctx, nomod, "master"); return err }},
		{"GoMod", func() error { _, err := f.GoMod(ctx, nomod, "v1.0.0"); return err }},
		{"Zip", func() error { _, err := f.Zip(ctx, nomod, "v1.0.0"); return err }},
	} {
		if err := c.do(); !isRefusal(err) {
			t.Errorf("%s of a denied module: %v, want a refusal", c.name, err)
		}
	}

	// What Next does not have is still not found; other modules pass.
	if _, err := f.Stat(ctx, hello, "v9.9.9"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Stat of an unknown version: %v, want not found", err)
	}
	if _, err := f.List(ctx, "example.com/unknown"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("List of an unknown module: %v, want not found", err)
	}
	if info, err := f.Stat(ctx, "example.com/major/v2", "v2.1.0"); err != nil || info.Version != "v2.1.0" {
		t.Errorf("Stat of another module = %v, %v", info, err)
	}
}

func TestFilterLatest(t *testing.T) {
	ctx := t.Context()
	const p = "example.com/m"
	set := new(fixture.Set)
	for _, v := range []string{"v1.0.0", "v1.1.0", "v1.2.0-rc.1", "v1.2.0", "v1.2.1-0.20240101000000-abcdefabcdef"} {
		set.Add(p, v, nil, time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC))
	}
	set.LatestVersion = map[string]string{p: "v1.2.1-0.20240101000000-abcdefabcdef"}
	f := &Filter{Next: set}
	tests := []struct {
		rules, want string // want "": not found
	}{
		{"", "v1.2.1-0.20240101000000-abcdefabcdef"},                        // Next's latest, allowed
		{"deny example.com/m@>v1.2.0", "v1.2.0"},                            // the highest release
		{"deny example.com/m@>=v1.2.0-0", "v1.1.0"},                         // pre-releases of v1.2.0 too
		{"deny example.com/m@>v1.2.0\ndeny example.com/m@v1.2.0", "v1.1.0"}, // a release before a pre-release
		{"deny example.com/m@>v1.2.0\ndeny example.com/m@<=v1.1.0\ndeny example.com/m@v1.2.0", "v1.2.0-rc.1"},
		{"deny example.com/m@v1.2.0\ndeny example.com/m@<=v1.1.0\ndeny example.com/m@v1.2.0-rc.1\nallow example.com/m@v1.2.1-0.20240101000000-abcdefabcdef", "v1.2.1-0.20240101000000-abcdefabcdef"},
		{"allow example.com/m@v1.0.0", "v1.0.0"},
		{"allow example.com/m@v0.1.0", ""},
		{"deny example.com/m@>=v0.0.0", ""},
	}
	for _, tt := range tests {
		f.Store(mustParse(t, tt.rules))
		info, err := f.Latest(ctx, p)
		switch {
		case tt.want == "" && !isRefusal(err):
			// A refusal (403), not "not found": a "," GOPROXY list would
			// fall through to a proxy serving the denied version.
			t.Errorf("rules %q: Latest = %v, %v; want a refusal", tt.rules, info, err)
		case tt.want == "" && !strings.Contains(err.Error(), "no allowed version: the latest, v1.2.1-0.20240101000000-abcdefabcdef, is denied"):
			t.Errorf("rules %q: Latest: %v; want it to say why", tt.rules, err)
		case tt.want != "" && (err != nil || info.Version != tt.want):
			t.Errorf("rules %q: Latest = %v, %v; want %s", tt.rules, info, err, tt.want)
		}
	}
}

func TestFilterInvalidPath(t *testing.T) {
	// Even a module denied by every rule: an invalid path is reported as such.
	f := &Filter{Next: resolvertest.NewSource(resolvertest.Modules())}
	f.Store(mustParse(t, "allow example.com/nothing\ndeny *\n"))
	for _, p := range []string{"", "example.com/../x", "example.com/a b"} {
		_, err := f.Stat(t.Context(), p, "v1.0.0")
		var ipe *module.InvalidPathError
		if !errors.As(err, &ipe) {
			t.Errorf("Stat(%q): %v, want a *module.InvalidPathError", p, err)
		}
	}
}

// TestFilterNoRules: the zero Filter, and one with a nil or empty Set,
// is its Next.
func TestFilterNoRules(t *testing.T) {
	ctx := t.Context()
	for _, s := range []*Set{nil, mustParse(t, "# nothing\n")} {
		f := &Filter{Next: standard()}
		f.Store(s)
		if list, err := f.List(ctx, "example.com/hello"); err != nil || len(list) != 2 {
			t.Errorf("List = %q, %v", list, err)
		}
		if info, err := f.Latest(ctx, "example.com/hello"); err != nil || info.Version != "v1.1.0" {
			t.Errorf("Latest = %v, %v", info, err)
		}
	}
}

// TestFilterReload: while requests run, each Store takes effect for the
// calls that begin after it, and no call fails.
func TestFilterReload(t *testing.T) {
	ctx := t.Context()
	f := &Filter{Next: standard()}
	deny := mustParse(t, "deny example.com/hello@v1.1.0\n")
	allow := mustParse(t, "deny example.com/hello@v0.0.1\n")
	f.Store(deny)

	var wg sync.WaitGroup
	var done atomic.Bool
	var calls, failures atomic.Int64
	for range 4 {
		wg.Go(func() {
			for !done.Load() {
				calls.Add(1)
				if info, err := f.Stat(ctx, "example.com/hello", "v1.0.0"); err != nil || info.Version != "v1.0.0" {
					failures.Add(1)
				}
				if _, err := f.List(ctx, "example.com/hello"); err != nil {
					failures.Add(1)
				}
			}
		})
	}
	for i := range 200 {
		s := deny
		if i%2 == 1 {
			s = allow
		}
		f.Store(s)
		_, err := f.Stat(ctx, "example.com/hello", "v1.1.0")
		if (s == deny) != isRefusal(err) {
			t.Fatalf("after Store of rules %d: Stat of v1.1.0: %v", i%2, err)
		}
	}
	for calls.Load() < 100 {
		// Let the readers overlap the reloads a while longer.
		f.Store(deny)
		f.Store(allow)
	}
	done.Store(true)
	wg.Wait()
	if n := failures.Load(); n != 0 {
		t.Errorf("%d of %d concurrent calls failed across reloads", n, calls.Load())
	}
}

// TestConformance: a Filter passes the Resolver conformance suite, with no
// rules and with rules that deny nothing the suite asks for.
func TestConformance(t *testing.T) {
	for name, text := range map[string]string{
		"NoRules":   "",
		"WithRules": "deny example.com/elsewhere\ndeny example.com/hello@v0.0.1\n",
	} {
		t.Run(name, func(t *testing.T) {
			resolvertest.Run(t, func(t *testing.T, src modfetch.Resolver) modfetch.Resolver {
				f := &Filter{Next: src}
				if text != "" {
					f.Store(mustParse(t, text))
				}
				return f
			}, resolvertest.Options{Decorator: true})
		})
	}
}

// TestFilterThroughProxy: proxy.Handler answers a refusal with 403 and the
// one-line reason, never cached; a "," GOPROXY walk stops at it.
func TestFilterThroughProxy(t *testing.T) {
	ctx := t.Context()
	f := &Filter{Next: standard()}
	f.Store(mustParse(t, "deny example.com/hello@v1.1.0\n"))
	srv := httptest.NewServer(&proxy.Handler{Resolver: f})
	defer srv.Close()

	for _, file := range []string{"v1.1.0.info", "v1.1.0.mod", "v1.1.0.zip", "main.info"} {
		resp, err := http.Get(srv.URL + "/example.com/hello/@v/" + file)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		const want = "example.com/hello@v1.1.0: denied by rule at line 1 (deny example.com/hello@v1.1.0)\n"
		if resp.StatusCode != http.StatusForbidden || string(body) != want ||
			resp.Header.Get("Content-Type") != "text/plain; charset=utf-8" || resp.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("GET %s: %s %q (Content-Type %q, Cache-Control %q); want 403 %q, text/plain, no-store",
				file, resp.Status, body, resp.Header.Get("Content-Type"), resp.Header.Get("Cache-Control"), want)
		}
	}
	resp, err := http.Get(srv.URL + "/example.com/hello/@v/list")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "v1.0.0\n" {
		t.Errorf("GET @v/list: %s %q, want 200 %q", resp.Status, body, "v1.0.0\n")
	}

	// A "," walk: the refusal is the answer; the next proxy, which has the
	// version, is not asked.
	other := &counting{Resolver: standard()}
	chain := &upstream.Chain{Entries: []upstream.Entry{
		{Resolver: &upstream.Proxy{URL: srv.URL}},
		{Resolver: other},
	}}
	_, err = chain.Stat(ctx, "example.com/hello", "v1.1.0")
	var he *modfetch.HTTPError
	if !errors.As(err, &he) || he.StatusCode != 403 || !strings.Contains(he.Detail, "denied by rule at line 1") {
		t.Errorf("chain Stat: %v, want the 403 with its reason", err)
	}
	if n := other.n.Load(); n != 0 {
		t.Errorf("the walk went on past a 403: the next proxy was asked %d times", n)
	}
	// While a version not found falls through.
	if _, err := chain.Stat(ctx, "example.com/hello", "v1.0.0"); err != nil {
		t.Errorf("chain Stat v1.0.0: %v", err)
	}
}
