package modfetch_test

import (
	"context"
	"errors"
	"io/fs"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/modfetch/modfetch"
	"github.com/modfetch/modfetch/internal/fixture"
	"github.com/modfetch/modfetch/upstream"
)

// querySet builds the modules of the query tests.
func querySet() *fixture.Set { return fixture.Queries() }

func day(n int) time.Time { return fixture.Day(n) }

func newQuerier(t *testing.T, s *fixture.Set) (*modfetch.Querier, *fixture.Server) {
	t.Helper()
	srv := &fixture.Server{Set: s, NoLatest: true}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	return &modfetch.Querier{Resolver: &upstream.Proxy{URL: hs.URL, Retry: modfetch.Retry{Attempts: 1}}}, srv
}

func TestQuery(t *testing.T) {
	q, _ := newQuerier(t, querySet())
	ctx := context.Background()
	tests := []struct {
		path, query, current string
		allowRetracted       bool
		want                 string // version, or "" when err is set
		err                  string
	}{
		// latest
		{"example.com/hello", "latest", "", false, "v1.1.0", ""},
		{"example.com/retract", "latest", "", false, "v1.0.0", ""}, // v1.2.0 and v1.1.0 are retracted
		{"example.com/retract", "latest", "", true, "v1.2.0", ""},
		{"example.com/allretracted", "latest", "", false, "", `module example.com/allretracted: no matching versions for query "latest"`},
		{"example.com/prerel", "latest", "", false, "v0.2.0-beta.1", ""},
		{"example.com/pseudo", "latest", "", false, "v0.0.0-20240105000000-bbbbbbbbbbbb", ""},
		{"example.com/incompat", "latest", "", false, "v1.0.0", ""},
		{"example.com/legacy", "latest", "", false, "v2.0.0+incompatible", ""},
		{"example.com/unlisted", "latest", "", false, "v1.0.0", ""},
		{"example.com/empty", "latest", "", false, "", `module example.com/empty: no matching versions for query "latest"`},
		// exact versions and revisions
		{"example.com/hello", "v1.0.0", "", false, "v1.0.0", ""},
		{"example.com/hello", "v1.0.0+meta", "", false, "v1.0.0", ""},
		{"example.com/retract", "v1.1.0", "", false, "v1.1.0", ""}, // explicit requests still work
		{"example.com/unlisted", "v1.5.0", "", false, "v1.5.0", ""},
		{"example.com/hello", "main", "", false, "v1.1.0", ""},
		{"example.com/hello", "v1.9.9", "", false, "", "example.com/hello@v1.9.9: reading "},
		{"example.com/hello", "feature/x", "", false, "", `example.com/hello@feature/x: invalid version: version "feature/x" invalid: disallowed version string`},
		// prefixes
		{"example.com/hello", "v1", "", false, "v1.1.0", ""},
		{"example.com/hello", "v1.0", "", false, "v1.0.0", ""},
		{"example.com/hello", "v2", "", false, "", `module example.com/hello: no matching versions for query "v2"`},
		{"example.com/prerel", "v0.2", "", false, "", `module example.com/prerel: no matching versions for query "v0.2"`}, // v0.2 never picks v0.2.0-beta.1
		{"example.com/incompat", "v2", "", false, "v2.0.0+incompatible", ""},
		{"example.com/incompat", "v3.1", "", false, "v3.1.0+incompatible", ""},
		// comparisons
		{"example.com/hello", "<v1.1.0", "", false, "v1.0.0", ""},
		{"example.com/hello", "<=v1.1.0", "", false, "v1.1.0", ""},
		{"example.com/hello", ">v1.0.0", "", false, "v1.1.0", ""},
		{"example.com/hello", ">=v1.0.0", "", false, "v1.0.0", ""},
		{"example.com/hello", ">=v1.0.1", "", false, "v1.1.0", ""},
		{"example.com/hello", ">v1.1.0", "", false, "", `module example.com/hello: no matching versions for query ">v1.1.0"`},
		{"example.com/hello", ">v1.0", "", false, "", `example.com/hello@>v1.0: ambiguous semantic version "v1.0" in range ">v1.0"`},
		{"example.com/hello", "<=v1", "", false, "", `example.com/hello@<=v1: ambiguous semantic version "v1" in range "<=v1"`},
		{"example.com/hello", "<v1.x", "", false, "", `example.com/hello@<v1.x: invalid semantic version "v1.x" in range "<v1.x"`},
		{"example.com/incompat", ">=v2.0.0", "", false, "v2.0.0+incompatible", ""},
		{"example.com/retract", ">=v1.1.0", "", false, "", `module example.com/retract: no matching versions for query ">=v1.1.0"`},
		// upgrade and patch
		{"example.com/hello", "upgrade", "v1.0.0", false, "v1.1.0", ""},
		{"example.com/hello", "upgrade", "v1.5.0", false, "v1.5.0", ""}, // never downgrades... but v1.5.0 must exist to be returned
		{"example.com/hello", "patch", "v1.0.0", false, "v1.0.0", ""},
		{"example.com/hello", "patch", "", false, "", `example.com/hello@patch: can't query version "patch" of module example.com/hello: no existing version is required`},
		{"example.com/retract", "upgrade", "v1.0.0", false, "v1.0.0", ""},                                                                // nothing allowed above: stays on current
		{"example.com/retract", "upgrade", "v1.1.0", false, "", "example.com/retract@v1.1.0: retracted by module author: broken builds"}, // current itself is retracted
		{"example.com/incompat", "upgrade", "v2.0.0+incompatible", false, "v3.1.0+incompatible", ""},
		// malformed paths
		{"Example.com/hello", "latest", "", false, "", `Example.com/hello@latest: malformed module path "Example.com/hello": invalid char 'E' in first path element`},
		{"example.com/missing", "latest", "", false, "", "module example.com/missing: reading "},
	}
	for _, tt := range tests {
		info, err := q.Query(ctx, tt.path, tt.query, &modfetch.QueryOptions{Current: tt.current, AllowRetracted: tt.allowRetracted})
		name := tt.path + "@" + tt.query
		if tt.current != "" {
			name += " (current " + tt.current + ")"
		}
		if tt.err != "" {
			if err == nil || !strings.HasPrefix(err.Error(), tt.err) {
				t.Errorf("%s: err = %v, want prefix %q (info %v)", name, err, tt.err, info)
			}
			continue
		}
		if tt.want == "v1.5.0" && err != nil {
			// hello has no v1.5.0: the current version is stat'ed and not found.
			if !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("%s: err = %v", name, err)
			}
			continue
		}
		if err != nil || info.Version != tt.want {
			t.Errorf("%s = %v, %v; want %s", name, info, err, tt.want)
		}
	}
}

func TestQueryErrorClasses(t *testing.T) {
	q, _ := newQuerier(t, querySet())
	ctx := context.Background()
	_, err := q.Query(ctx, "example.com/empty", "latest", nil)
	var nm *modfetch.NoMatchingVersionError
	if !errors.As(err, &nm) || errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("no match: %v", err)
	}
	_, err = q.Query(ctx, "example.com/hello", "patch", nil)
	var np *modfetch.NoPatchBaseError
	if !errors.As(err, &np) {
		t.Fatalf("patch: %v", err)
	}
	_, err = q.Query(ctx, "example.com/missing", "latest", nil)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing: %v", err)
	}
}

func TestRetractionsAndDeprecation(t *testing.T) {
	q, _ := newQuerier(t, querySet())
	ctx := context.Background()
	for _, tt := range []struct {
		version   string
		retracted bool
		rationale []string
		text      string
	}{
		{"v1.0.0", false, nil, ""},
		{"v1.1.0", true, []string{"broken builds"}, "example.com/retract@v1.1.0: retracted by module author: broken builds"},
		{"v1.2.0", true, []string{"published too early"}, "example.com/retract@v1.2.0: retracted by module author: published too early"},
	} {
		err := q.Retracted(ctx, "example.com/retract", tt.version)
		var re *modfetch.RetractedError
		if got := errors.As(err, &re); got != tt.retracted {
			t.Errorf("%s: retracted = %v (%v)", tt.version, got, err)
			continue
		}
		if tt.retracted {
			if !reflect.DeepEqual(re.Rationale, tt.rationale) || err.Error() != tt.text || !errors.Is(err, modfetch.ErrDisallowed) {
				t.Errorf("%s: %q %v", tt.version, err, re.Rationale)
			}
		}
	}
	// A version outside every interval of a module with no retractions.
	if err := q.Retracted(ctx, "example.com/hello", "v1.0.0"); err != nil {
		t.Fatal(err)
	}
	// No versions at all: a loading error, not a retraction.
	err := q.Retracted(ctx, "example.com/empty", "v1.0.0")
	var le *modfetch.RetractionLoadError
	if !errors.As(err, &le) || errors.Is(err, modfetch.ErrDisallowed) || !strings.HasPrefix(err.Error(), "loading module retractions for example.com/empty@v1.0.0: ") {
		t.Fatalf("err = %v", err)
	}

	msg, err := q.Deprecated(ctx, "example.com/deprecated")
	if err != nil || msg != "use example.com/better instead." {
		t.Fatalf("Deprecated = %q, %v", msg, err)
	}
	if msg, err := q.Deprecated(ctx, "example.com/hello"); err != nil || msg != "" {
		t.Fatalf("Deprecated(hello) = %q, %v", msg, err)
	}

	versions, err := q.Versions(ctx, "example.com/retract", false)
	if err != nil || !reflect.DeepEqual(versions, []string{"v1.0.0"}) {
		t.Fatalf("Versions = %v, %v", versions, err)
	}
	versions, err = q.Versions(ctx, "example.com/retract", true)
	if err != nil || !reflect.DeepEqual(versions, []string{"v1.0.0", "v1.1.0", "v1.2.0"}) {
		t.Fatalf("Versions(retracted) = %v, %v", versions, err)
	}
	versions, err = q.Versions(ctx, "example.com/pseudo", true)
	if err != nil || len(versions) != 0 {
		t.Fatalf("pseudo-versions listed: %v, %v", versions, err)
	}

	up, err := q.Update(ctx, "example.com/hello", "v1.0.0")
	if err != nil || up == nil || up.Version != "v1.1.0" {
		t.Fatalf("Update = %v, %v", up, err)
	}
	if up, err := q.Update(ctx, "example.com/hello", "v1.1.0"); err != nil || up != nil {
		t.Fatalf("Update at latest = %v, %v", up, err)
	}
	if up, err := q.Update(ctx, "example.com/retract", "v1.0.0"); err != nil || up != nil {
		t.Fatalf("Update to a retracted version = %v, %v", up, err)
	}
	if got := modfetch.ShortMessage("line one\nline two", "x"); got != "line one" {
		t.Fatalf("ShortMessage = %q", got)
	}
	if got := modfetch.ShortMessage(strings.Repeat("a", 501), "x"); got != "(message omitted: too long)" {
		t.Fatalf("ShortMessage = %q", got)
	}
	if got := modfetch.ShortMessage("bell\a", "x"); got != "(message omitted: contains non-printable characters)" {
		t.Fatalf("ShortMessage = %q", got)
	}
}

// TestQueryChainStopsAtKnownModule: in a "," chain, a proxy that knows the
// module answers the whole query (even "no matching versions"); the next
// proxy is not asked.
func TestQueryChainStopsAtKnownModule(t *testing.T) {
	first := &fixture.Server{Set: querySet(), NoLatest: true}
	second := &fixture.Server{Set: querySet()}
	fs1, fs2 := httptest.NewServer(first), httptest.NewServer(second)
	defer fs1.Close()
	defer fs2.Close()
	chain, err := (&upstream.Config{Retry: modfetch.Retry{Attempts: 1}}).Parse(fs1.URL + "," + fs2.URL)
	if err != nil {
		t.Fatal(err)
	}
	q := &modfetch.Querier{Resolver: chain}
	ctx := context.Background()
	_, err = q.Query(ctx, "example.com/empty", "latest", nil)
	var nm *modfetch.NoMatchingVersionError
	if !errors.As(err, &nm) {
		t.Fatalf("err = %v", err)
	}
	if reqs := second.Requests(); len(reqs) != 0 {
		t.Fatalf("second proxy asked: %v", reqs)
	}
	// A module the first proxy does not know falls through.
	set := querySet()
	set.Add("example.com/onlysecond", "v1.0.0", map[string]string{"x.go": "package x"}, day(1))
	second.Set = set
	info, err := q.Query(ctx, "example.com/onlysecond", "latest", nil)
	if err != nil || info.Version != "v1.0.0" {
		t.Fatalf("fall-through: %v, %v", info, err)
	}
}

func TestQueryPackage(t *testing.T) {
	s := querySet()
	s.Add("example.com/amb", "v1.0.0", map[string]string{"go.mod": "module example.com/amb\n", "sub/x.go": "package sub"}, day(1))
	s.Add("example.com/amb/sub", "v1.0.0", map[string]string{"go.mod": "module example.com/amb/sub\n", "x.go": "package sub"}, day(1))
	s.Add("example.com/noroot", "v1.0.0", map[string]string{"go.mod": "module example.com/noroot\n", "sub/x.go": "package sub"}, day(1))
	q, srv := newQuerier(t, s)
	ctx := context.Background()
	tests := []struct {
		pkg, query string
		want       []string // module@version, longest path first
		err        string
	}{
		{"example.com/hello", "latest", []string{"example.com/hello@v1.1.0"}, ""},
		{"example.com/major/v2/sub", "latest", []string{"example.com/major/v2@v2.1.0"}, ""},
		{"example.com/nested/inner", "latest", []string{"example.com/nested/inner@v1.0.0"}, ""},
		{"example.com/amb/sub", "latest", []string{"example.com/amb/sub@v1.0.0", "example.com/amb@v1.0.0"}, ""},
		{"example.com/hello/nothere", "latest", nil, "example.com/hello/nothere@latest: module example.com/hello@latest found (v1.1.0), but does not contain package example.com/hello/nothere"},
		{"example.com/hello/nothere", "v1.0.0", nil, "example.com/hello/nothere@v1.0.0: module example.com/hello@v1.0.0 found, but does not contain package example.com/hello/nothere"},
		{"example.com/hello/x", "v7", nil, `module example.com/hello/x: no matching versions for query "v7"`},
		// The module is the package path but has no package at its root.
		{"example.com/noroot", "latest", nil, "example.com/noroot@latest: module example.com/noroot@latest found (v1.0.0), but does not contain package example.com/noroot"},
		{"example.com/nowhere/pkg", "latest", nil, "module example.com/nowhere/pkg: reading "},
	}
	for _, tt := range tests {
		mods, err := q.QueryPackage(ctx, tt.pkg, tt.query, nil)
		if tt.err != "" {
			if err == nil || !strings.HasPrefix(err.Error(), tt.err) {
				t.Errorf("%s@%s: err = %v, want prefix %q", tt.pkg, tt.query, err, tt.err)
			}
			continue
		}
		var got []string
		for _, m := range mods {
			got = append(got, m.Path+"@"+m.Info.Version)
		}
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s@%s = %v, %v; want %v", tt.pkg, tt.query, got, err, tt.want)
		}
	}
	// Every prefix that can be a module path was asked, like the go command.
	srv.Reset()
	q.QueryPackage(ctx, "example.com/hello/cmd/tool", "latest", nil)
	for _, p := range []string{"/example.com/hello/cmd/tool/@v/list", "/example.com/hello/cmd/@v/list", "/example.com/hello/@v/list", "/example.com/@v/list"} {
		if srv.Hits(p) != 1 {
			t.Errorf("%s asked %d times (requests %v)", p, srv.Hits(p), srv.Requests())
		}
	}
}

// TestQueryPackageDoesNotLeak: when the first proxy of a "," chain knows a
// module on the package's path, the package path never reaches the second.
func TestQueryPackageDoesNotLeak(t *testing.T) {
	first := &fixture.Server{Set: querySet(), NoLatest: true}
	second := &fixture.Server{Set: querySet()}
	fs1, fs2 := httptest.NewServer(first), httptest.NewServer(second)
	defer fs1.Close()
	defer fs2.Close()
	chain, _ := (&upstream.Config{Retry: modfetch.Retry{Attempts: 1}}).Parse(fs1.URL + "," + fs2.URL)
	q := &modfetch.Querier{Resolver: chain}
	_, err := q.QueryPackage(context.Background(), "example.com/hello/internal/secret", "latest", nil)
	var pe *modfetch.PackageNotInModuleError
	if !errors.As(err, &pe) {
		t.Fatalf("err = %v", err)
	}
	for _, p := range second.Requests() {
		if strings.Contains(p, "secret") || strings.Contains(p, "internal") {
			t.Fatalf("the package path reached the second proxy: %s", p)
		}
	}
	if len(second.Requests()) != 0 {
		t.Fatalf("second proxy asked: %v", second.Requests())
	}
}

// TestQueryCanceledCallerDoesNotPoison: a query whose context ends while it
// loads retractions fails with the context's error, and a later query on a
// live context still sees the retractions (failures are not remembered).
func TestQueryCanceledCallerDoesNotPoison(t *testing.T) {
	q, _ := newQuerier(t, querySet())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := q.Retracted(ctx, "example.com/retract", "v1.1.0"); !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled Retracted = %v", err)
	}
	if _, err := q.Deprecated(ctx, "example.com/deprecated"); !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled Deprecated = %v", err)
	}
	var re *modfetch.RetractedError
	if err := q.Retracted(context.Background(), "example.com/retract", "v1.1.0"); !errors.As(err, &re) {
		t.Fatalf("Retracted after a canceled call = %v", err)
	}
	if msg, err := q.Deprecated(context.Background(), "example.com/deprecated"); err != nil || msg == "" {
		t.Fatalf("Deprecated after a canceled call = %q, %v", msg, err)
	}
}

func TestLegacyGoMod(t *testing.T) {
	for path, want := range map[string]string{
		"github.com/docker/docker": "module github.com/docker/docker\n",
		"example.com/a b":          "module \"example.com/a b\"\n",
	} {
		if got := string(modfetch.LegacyGoMod(path)); got != want {
			t.Errorf("LegacyGoMod(%q) = %q, want %q", path, got, want)
		}
	}
}
