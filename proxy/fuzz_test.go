package proxy

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/mod/module"

	"github.com/modfetch/modfetch"
	"github.com/modfetch/modfetch/internal/fixture"
)

// serve sends a GET for the raw (unparsed) request path p to h, the way
// net/http's server would hand it over, and returns the recorded answer.
func serve(h http.Handler, p string) *httptest.ResponseRecorder {
	req := &http.Request{
		Method:     http.MethodGet,
		URL:        &url.URL{Path: p},
		Proto:      "HTTP/1.1",
		ProtoMajor: 1,
		ProtoMinor: 1,
		Header:     http.Header{},
		Host:       "proxy.example",
		RequestURI: p,
	}
	req = req.WithContext(context.Background())
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// FuzzHandlerPath sends arbitrary request paths to a Handler over the
// standard fixtures: it must never panic nor answer 5xx (a malformed path
// is the client's fault), and what it answers 200 must be well formed.
func FuzzHandlerPath(f *testing.F) {
	for _, p := range []string{
		"/example.com/hello/@v/list",
		"/example.com/hello/@latest",
		"/example.com/hello/@v/v1.0.0.info",
		"/example.com/hello/@v/v1.0.0.mod",
		"/example.com/hello/@v/v1.0.0.zip",
		"/example.com/hello/@v/v1.0.info",
		"/example.com/hello/@v/main.info",
		"/example.com/!upper/!case/@v/v1.0.0-!r!c1.info",
		"/example.com/Upper/Case/@v/v1.0.0-RC1.mod",
		"/example.com/!upper/!case/@v/v1.0.0-!rc1.mod",
		"/example.com/nomod/@v/v2.0.0+incompatible.mod",
		"/example.com/major/v2/@v/v2.1.0.zip",
		"/gopkg.in/fixture.v1/@v/v1.0.0.info",
		"/example.com/hello/@v/",
		"/example.com/hello/@v/v1.0.0",
		"/example.com/hello/@v/a/b.info",
		"/example.com/hello/@v/v1.0.0.tar",
		"/@v/list", "/@latest", "//@latest", "/", "", "x",
		"/example.com/hello/@v/..info",
		"/example.com/../hello/@v/list",
		"/!!/@v/list", "/example.com/!/@latest", "/example.com/hello/@v/!v1.0.0.info",
		"/sumdb/sum.golang.org/lookup/example.com/hello@v1.0.0",
		"/sumdb/sum.golang.org/supported",
		"/sumdb/", "/example.com/hello\x00/@v/list", "/\xff/@latest",
	} {
		f.Add(p)
	}
	set := fixture.Standard()
	set.Revs = map[string]string{"example.com/hello@main": "v1.1.0"}
	h := &Handler{Resolver: set}
	f.Fuzz(func(t *testing.T, p string) {
		rec := serve(h, p)
		if rec.Code >= 500 {
			t.Fatalf("GET %q: %d %s", p, rec.Code, rec.Body)
		}
		if rec.Code != http.StatusOK {
			if len(rec.Body.Bytes()) == 0 {
				t.Fatalf("GET %q: %d with an empty body", p, rec.Code)
			}
			return
		}
		enc, what, ok := splitModulePath(p)
		if !ok {
			t.Fatalf("GET %q: 200 for an unrecognized path", p)
		}
		path, err := module.UnescapePath(enc)
		if err != nil {
			t.Fatalf("GET %q: 200 for a bad module path: %v", p, err)
		}
		body := rec.Body.Bytes()
		switch {
		case what == "@latest" || strings.HasSuffix(what, ".info"):
			info, err := modfetch.ParseInfo(body)
			if err != nil {
				t.Fatalf("GET %q: 200 with a bad .info %q: %v", p, body, err)
			}
			if set.Module(path, info.Version) == nil {
				t.Fatalf("GET %q: 200 with %s, not in the fixtures", p, body)
			}
		case what == "@v/list":
			if len(body) > 0 && body[len(body)-1] != '\n' {
				t.Fatalf("GET %q: list %q", p, body)
			}
		default:
			file := strings.TrimPrefix(what, "@v/")
			i := strings.LastIndexByte(file, '.')
			version, err := module.UnescapeVersion(file[:i])
			if err != nil || !modfetch.IsCanonical(version) {
				t.Fatalf("GET %q: 200 for version %q (%v)", p, file[:i], err)
			}
			m := set.Module(path, version)
			if m == nil {
				t.Fatalf("GET %q: 200 for %s@%s, not in the fixtures", p, path, version)
			}
			want := map[string][]byte{"mod": m.Mod, "zip": m.Zip}[file[i+1:]]
			if !bytes.Equal(body, want) {
				t.Fatalf("GET %q: body of %d bytes, want the fixture's %d", p, len(body), len(want))
			}
		}
	})
}

// FuzzHandlerEscaped checks the path and version escaping the protocol
// uses: escaping round trips, and a request for the escaped names is
// answered from exactly the module version they name.
func FuzzHandlerEscaped(f *testing.F) {
	for _, s := range [][2]string{
		{"example.com/hello", "v1.0.0"},
		{"example.com/hello", "v1.1.0"},
		{"example.com/Upper/Case", "v1.0.0-RC1"},
		{"example.com/upper/case", "v1.0.0-rc1"},
		{"example.com/nomod", "v2.0.0+incompatible"},
		{"example.com/major/v2", "v2.1.0"},
		{"gopkg.in/fixture.v1", "v1.0.0"},
		{"example.com/hello", "main"},
		{"example.com/hello", "v1.0"},
		{"Example.com/hello", "V1.0.0"},
		{"example.com/!", "v1.0.0"},
		{"", ""},
		{"example.com/héllo", "v1.0.0"},
	} {
		f.Add(s[0], s[1])
	}
	set := fixture.Standard()
	h := &Handler{Resolver: set}
	f.Fuzz(func(t *testing.T, path, version string) {
		enc, err := module.EscapePath(path)
		if err != nil {
			return
		}
		if back, err := module.UnescapePath(enc); err != nil || back != path {
			t.Fatalf("EscapePath(%q) = %q, unescaped %q, %v", path, enc, back, err)
		}
		encVer, err := module.EscapeVersion(version)
		if err != nil {
			return
		}
		if back, err := module.UnescapeVersion(encVer); err != nil || back != version {
			t.Fatalf("EscapeVersion(%q) = %q, unescaped %q, %v", version, encVer, back, err)
		}
		m := set.Module(path, version)
		for _, ext := range []string{"mod", "info"} {
			p := "/" + enc + "/@v/" + encVer + "." + ext
			rec := serve(h, p)
			if rec.Code >= 500 {
				t.Fatalf("GET %q: %d %s", p, rec.Code, rec.Body)
			}
			if m != nil && rec.Code != http.StatusOK {
				t.Fatalf("GET %q: %d %s for a fixture module", p, rec.Code, rec.Body)
			}
			if ext == "mod" && (rec.Code == http.StatusOK) != (m != nil) {
				t.Fatalf("GET %q: %d; fixture has it: %v", p, rec.Code, m != nil)
			}
			if ext == "mod" && m != nil && !bytes.Equal(rec.Body.Bytes(), m.Mod) {
				t.Fatalf("GET %q: %q, want %q", p, rec.Body, m.Mod)
			}
		}
		rec := serve(h, "/"+enc+"/@v/list")
		if rec.Code >= 500 {
			t.Fatalf("GET %q: %d %s", "/"+enc+"/@v/list", rec.Code, rec.Body)
		}
	})
}
