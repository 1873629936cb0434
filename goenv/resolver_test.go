package goenv_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/modfetch/modfetch"
	"github.com/modfetch/modfetch/goenv"
	"github.com/modfetch/modfetch/internal/fixture"
)

// TestStackQueriesOneProxyAtATime: GOPROXY=A,B where A lists v1.1.0 but
// has lost its .info, and B has v1.2.0. The go command asks A for the
// whole query, sees "not found" and asks B, whose answer is v1.2.0. A
// Querier over the Stack must do the same (the Stack is a Walker through
// its cache and verifier), and the answer must be verified and cached.
func TestStackQueriesOneProxyAtATime(t *testing.T) {
	setA := new(fixture.Set)
	setA.Add("example.com/m", "v1.1.0", map[string]string{"m.go": "package m\n"}, fixture.Day(1))
	setB := new(fixture.Set)
	setB.Add("example.com/m", "v1.2.0", map[string]string{"m.go": "package m // v1.2.0\n"}, fixture.Day(2))

	a := &fixture.Server{Set: setA, NoLatest: true, Fault: func(w http.ResponseWriter, r *http.Request) bool {
		if strings.HasSuffix(r.URL.Path, ".info") {
			http.NotFound(w, r)
			return true
		}
		return false
	}}
	b := &fixture.Server{Set: setB, NoLatest: true}
	ha := httptest.NewServer(a)
	defer ha.Close()
	hb := httptest.NewServer(b)
	defer hb.Close()

	cfg := &goenv.Config{
		GOPROXY:    ha.URL + "," + hb.URL,
		GOSUMDB:    "off",
		GOMODCACHE: t.TempDir(),
	}
	stack, err := cfg.Resolver(&goenv.Options{NoDirect: true})
	if err != nil {
		t.Fatal(err)
	}
	var _ modfetch.Walker = stack
	q := &modfetch.Querier{Resolver: stack}
	info, err := q.Query(context.Background(), "example.com/m", "latest", nil)
	if err != nil {
		t.Fatal(err)
	}
	if info.Version != "v1.2.0" {
		t.Fatalf("latest = %s, want v1.2.0 (from the second proxy)", info.Version)
	}
	if n := b.Hits("/example.com/m/@v/list"); n == 0 {
		t.Errorf("second proxy was not asked for its list")
	}
	// A flat walk would have asked B for A's version.
	if n := b.Hits("/example.com/m/@v/v1.1.0.info"); n != 0 {
		t.Errorf("second proxy asked for the first proxy's version %d times", n)
	}
	// The answer went through the Stack's cache: asking again for the
	// same canonical version does not reach either proxy.
	a.Reset()
	b.Reset()
	if _, err := stack.Stat(context.Background(), "example.com/m", "v1.2.0"); err != nil {
		t.Fatal(err)
	}
	if got := len(a.Requests()) + len(b.Requests()); got != 0 {
		t.Errorf("cached Stat made %d upstream requests: %v %v", got, a.Requests(), b.Requests())
	}
}

// TestStackPrivateDefaults: a Config built by hand with GOPRIVATE but no
// GONOPROXY or GONOSUMDB keeps private modules from the proxies and the
// checksum database, as the go command does (empty means GOPRIVATE).
func TestStackPrivateDefaults(t *testing.T) {
	cfg := &goenv.Config{
		GOPROXY:    "https://proxy.example.com",
		GOSUMDB:    "sum.golang.org",
		GOPRIVATE:  "corp.example.com",
		GOMODCACHE: t.TempDir(),
	}
	stack, err := cfg.Resolver(&goenv.Options{NoDirect: true})
	if err != nil {
		t.Fatal(err)
	}
	if stack.Chain.NoProxy != "corp.example.com" || !stack.DB.Skip("corp.example.com/x") || stack.DB.Skip("example.com/x") {
		t.Fatalf("NoProxy = %q, DB.NoSumDB = %q", stack.Chain.NoProxy, stack.DB.NoSumDB)
	}
	// Set explicitly, they are used as they are.
	cfg.GONOPROXY, cfg.GONOSUMDB = "a.example", "b.example"
	stack, err = cfg.Resolver(&goenv.Options{NoDirect: true})
	if err != nil {
		t.Fatal(err)
	}
	if stack.Chain.NoProxy != "a.example" || stack.DB.NoSumDB != "b.example" {
		t.Fatalf("NoProxy = %q, DB.NoSumDB = %q", stack.Chain.NoProxy, stack.DB.NoSumDB)
	}
}
