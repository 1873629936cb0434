package proxy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/mod/module"

	"github.com/modfetch/modfetch"
	"github.com/modfetch/modfetch/cache"
	"github.com/modfetch/modfetch/internal/fixture"
)

// failing fails every request with err.
type failing struct{ err error }

func (f failing) List(context.Context, string) ([]string, error) { return nil, f.err }
func (f failing) Stat(context.Context, string, string) (*modfetch.Info, error) {
	return nil, f.err
}
func (f failing) Latest(context.Context, string) (*modfetch.Info, error) { return nil, f.err }
func (f failing) GoMod(context.Context, string, string) ([]byte, error)  { return nil, f.err }
func (f failing) Zip(context.Context, string, string) (io.ReadCloser, error) {
	return nil, f.err
}

func do(t *testing.T, h http.Handler, method, target string, hdr map[string]string) *http.Response {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

func body(t *testing.T, resp *http.Response) string {
	t.Helper()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func TestHandlerEndpoints(t *testing.T) {
	set := fixture.Standard()
	set.Revs = map[string]string{"example.com/hello@main": "v1.1.0"}
	set.LatestVersion = map[string]string{"example.com/hello": "v1.1.0"}
	h := &Handler{Resolver: set}
	upper := set.Module("example.com/Upper/Case", "v1.0.0-RC1")
	tests := []struct {
		name, method, target string
		status               int
		ctype, cache, body   string // body "" means not checked; a prefix with "..." at the end
	}{
		{"list", "GET", "/example.com/hello/@v/list", 200, "text/plain; charset=utf-8", "public, max-age=60", "v1.0.0\nv1.1.0\n"},
		{"info", "GET", "/example.com/hello/@v/v1.0.0.info", 200, "application/json", immutable, `{"Version":"v1.0.0","Time":"2024-01-01T10:00:00Z"}`},
		{"info of a branch", "GET", "/example.com/hello/@v/main.info", 200, "application/json", "public, max-age=60", `{"Version":"v1.1.0","Time":"2024-02-01T10:00:00Z"}`},
		{"mod", "GET", "/example.com/hello/@v/v1.0.0.mod", 200, "text/plain; charset=utf-8", immutable, "module example.com/hello\n\ngo 1.21\n"},
		{"zip", "GET", "/example.com/hello/@v/v1.1.0.zip", 200, "application/zip", immutable, string(set.Module("example.com/hello", "v1.1.0").Zip)},
		{"latest", "GET", "/example.com/hello/@latest", 200, "application/json", "public, max-age=60", `{"Version":"v1.1.0","Time":"2024-02-01T10:00:00Z"}`},
		{"escaped with %21", "GET", "/example.com/%21upper/%21case/@v/v1.0.0-%21r%21c1.mod", 200, "text/plain; charset=utf-8", immutable, string(upper.Mod)},
		{"escaped with !", "GET", "/example.com/!upper/!case/@v/v1.0.0-!r!c1.info", 200, "application/json", immutable, ""},
		{"+incompatible", "GET", "/example.com/nomod/@v/v2.0.0+incompatible.mod", 200, "text/plain; charset=utf-8", immutable, "module example.com/nomod\n"},
		{"unescaped capitals", "GET", "/example.com/Upper/Case/@v/v1.0.0-RC1.info", 404, "text/plain; charset=utf-8", "public, max-age=60", "not found: ..."},
		{"unknown module", "GET", "/example.com/missing/@v/list", 404, "text/plain; charset=utf-8", "public, max-age=60", "not found: ..."},
		{"unknown version", "GET", "/example.com/hello/@v/v1.9.9.info", 404, "", "", ""},
		{"non-canonical mod", "GET", "/example.com/hello/@v/v1.0.mod", 404, "", "", "not found: example.com/hello@v1.0: version must be canonical\n"},
		{"non-canonical zip", "GET", "/example.com/hello/@v/main.zip", 404, "", "", ""},
		{"unknown extension", "GET", "/example.com/hello/@v/v1.0.0.tar", 404, "", "", ""},
		{"no file", "GET", "/example.com/hello/@v/", 404, "", "", ""},
		{"nested file", "GET", "/example.com/hello/@v/x/v1.0.0.info", 404, "", "", ""},
		{"root", "GET", "/", 404, "", "", ""},
		{"bad version escape", "GET", "/example.com/hello/@v/v1.0.0-RC1.info", 404, "", "", ""},
		{"malformed path", "GET", "/example/@v/list", 404, "", "", ""},
		{"post refused", "POST", "/example.com/hello/@v/list", 405, "", "no-store", ""},
		{"head list", "HEAD", "/example.com/hello/@v/list", 200, "text/plain; charset=utf-8", "", ""},
		{"head zip", "HEAD", "/example.com/hello/@v/v1.1.0.zip", 200, "application/zip", immutable, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := do(t, h, tt.method, tt.target, nil)
			b := body(t, resp)
			if resp.StatusCode != tt.status {
				t.Fatalf("status = %d, want %d (%s)", resp.StatusCode, tt.status, b)
			}
			if tt.ctype != "" && resp.Header.Get("Content-Type") != tt.ctype {
				t.Errorf("Content-Type = %q, want %q", resp.Header.Get("Content-Type"), tt.ctype)
			}
			if tt.cache != "" && resp.Header.Get("Cache-Control") != tt.cache {
				t.Errorf("Cache-Control = %q, want %q", resp.Header.Get("Cache-Control"), tt.cache)
			}
			switch {
			case tt.method == "HEAD":
				if b != "" {
					t.Errorf("HEAD body = %q", b)
				}
			case strings.HasSuffix(tt.body, "..."):
				if !strings.HasPrefix(b, strings.TrimSuffix(tt.body, "...")) {
					t.Errorf("body = %q, want prefix %q", b, tt.body)
				}
			case tt.body != "" && b != tt.body:
				t.Errorf("body = %q, want %q", b, tt.body)
			}
		})
	}
	if resp := do(t, h, "POST", "/example.com/hello/@v/list", nil); resp.Header.Get("Allow") != "GET, HEAD" {
		t.Errorf("Allow = %q", resp.Header.Get("Allow"))
	}
	// HEAD of a zip announces its length.
	resp := do(t, h, "HEAD", "/example.com/hello/@v/v1.1.0.zip", nil)
	if want := len(set.Module("example.com/hello", "v1.1.0").Zip); resp.ContentLength != int64(want) && resp.Header.Get("Content-Length") != "" {
		t.Errorf("HEAD Content-Length = %s, want %d", resp.Header.Get("Content-Length"), want)
	}
}

func TestHandlerFailures(t *testing.T) {
	upstreamErr := &modfetch.HTTPError{
		URL:        "https://user:xxxxx@proxy.corp.example/example.com/m/@v/v1.0.0.info?token=s3cret",
		Status:     "500 Internal Server Error",
		StatusCode: 500,
	}
	for _, tt := range []struct {
		name   string
		err    error
		status int
	}{
		{"upstream failure", upstreamErr, 502},
		{"upstream not found", &modfetch.HTTPError{URL: "https://proxy.example/x", Status: "410 Gone", StatusCode: 410}, 404},
		{"not-exist wrapper", modfetch.NotExist(errors.New("disabled by GOPRIVATE/GONOPROXY")), 404},
		{"other failure", errors.New("checksum mismatch"), 502},
		// An invalid version is as not-found as its cause says: a version
		// that is not one of the module's is; a failure to find out is not.
		{"invalid version", &module.ModuleError{Path: "example.com/m", Err: &module.InvalidVersionError{Version: "v0.0.0-20200101000000-abcdefabcdef", Pseudo: true, Err: modfetch.NotExist(errors.New("does not match version-control timestamp"))}}, 404},
		{"invalid version upstream failure", &module.ModuleError{Path: "example.com/m", Err: &module.InvalidVersionError{Version: "v1.0.0", Err: upstreamErr}}, 502},
		{"invalid version git failure", &module.ModuleError{Path: "example.com/m", Err: &module.InvalidVersionError{Version: "master", Err: errors.New("git fetch: exit status 128")}}, 502},
		{"invalid version timeout", &module.ModuleError{Path: "example.com/m", Err: &module.InvalidVersionError{Version: "v1.0.0", Err: fmt.Errorf("git fetch: %w", context.DeadlineExceeded)}}, 502},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := &Handler{Resolver: failing{tt.err}}
			for _, target := range []string{"/example.com/m/@v/list", "/example.com/m/@v/v1.0.0.info", "/example.com/m/@v/v1.0.0.mod", "/example.com/m/@v/v1.0.0.zip", "/example.com/m/@latest"} {
				resp := do(t, h, "GET", target, nil)
				b := body(t, resp)
				if resp.StatusCode != tt.status {
					t.Fatalf("%s: status = %d, want %d", target, resp.StatusCode, tt.status)
				}
				if ct := resp.Header.Get("Content-Type"); ct != "text/plain; charset=utf-8" {
					t.Fatalf("%s: Content-Type = %q", target, ct)
				}
				if tt.status == 502 && resp.Header.Get("Cache-Control") != "no-store" {
					t.Fatalf("%s: failure cacheable: %q", target, resp.Header.Get("Cache-Control"))
				}
				if strings.Contains(b, "s3cret") || strings.Contains(b, "user:") || strings.Contains(b, "token") {
					t.Fatalf("%s: body leaks credentials: %q", target, b)
				}
			}
		})
	}
}

func TestErrorTextRedaction(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{`reading https://user:pw@host/a/b?x=1: 500`, `reading https://host/a/b: 500`},
		{`Get "http://tok@h:8080/p?q": dial tcp`, `Get "http://h:8080/p": dial tcp`},
		{"l1\nl2\nl3\nl4\nl5\nl6\nl7\nl8\nl9\nl10", "l1\nl2\nl3\nl4\nl5\nl6\nl7\nl8"},
		{`example.com/m@v1.0.0: no such thing`, `example.com/m@v1.0.0: no such thing`},
	} {
		if got := errorText(errors.New(tt.in)); got != tt.want {
			t.Errorf("errorText(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestHandlerUnderPrefix(t *testing.T) {
	set := fixture.Standard()
	mux := http.NewServeMux()
	mux.Handle("/goproxy/", http.StripPrefix("/goproxy", &Handler{Resolver: set}))
	resp := do(t, mux, "GET", "/goproxy/example.com/hello/@v/list", nil)
	if resp.StatusCode != 200 || body(t, resp) != "v1.0.0\nv1.1.0\n" {
		t.Fatalf("status %d", resp.StatusCode)
	}
}

func TestHandlerConditionalAndRange(t *testing.T) {
	set := fixture.Standard()
	for _, store := range []cache.Store{&cache.DirStore{Dir: t.TempDir()}, &cache.MemStore{}} {
		testConditionalAndRange(t, set, &Handler{Resolver: &cache.Cache{Next: set, Store: store}})
	}
}

func testConditionalAndRange(t *testing.T, set *fixture.Set, h *Handler) {
	zip := set.Module("example.com/hello", "v1.1.0").Zip
	target := "/example.com/hello/@v/v1.1.0.zip"

	resp := do(t, h, "GET", target, nil)
	tag := resp.Header.Get("ETag")
	if tag == "" || !strings.HasPrefix(tag, `"`) {
		t.Fatalf("ETag = %q", tag)
	}
	// The same ETag for HEAD and GET, another for another version.
	if other := do(t, h, "GET", "/example.com/hello/@v/v1.0.0.zip", nil).Header.Get("ETag"); other == tag {
		t.Fatal("two versions share an ETag")
	}
	if resp := do(t, h, "GET", target, map[string]string{"If-None-Match": tag}); resp.StatusCode != http.StatusNotModified {
		t.Fatalf("If-None-Match: status %d", resp.StatusCode)
	}
	resp = do(t, h, "GET", target, map[string]string{"Range": "bytes=10-19"})
	if resp.StatusCode != http.StatusPartialContent || body(t, resp) != string(zip[10:20]) {
		t.Fatalf("Range: status %d", resp.StatusCode)
	}
	if cr := resp.Header.Get("Content-Range"); cr != "bytes 10-19/"+strconv.Itoa(len(zip)) {
		t.Fatalf("Content-Range = %q", cr)
	}
	resp = do(t, h, "GET", target, map[string]string{"Range": "bytes=-5", "If-Range": tag})
	if resp.StatusCode != http.StatusPartialContent || body(t, resp) != string(zip[len(zip)-5:]) {
		t.Fatalf("suffix Range with If-Range: status %d", resp.StatusCode)
	}
	resp = do(t, h, "GET", target, map[string]string{"Range": "bytes=0-4", "If-Range": `"stale"`})
	if resp.StatusCode != http.StatusOK || !bytes.Equal([]byte(body(t, resp)), zip) {
		t.Fatalf("stale If-Range: status %d", resp.StatusCode)
	}
	// .mod answers are conditional too.
	mresp := do(t, h, "GET", "/example.com/hello/@v/v1.1.0.mod", nil)
	if r := do(t, h, "GET", "/example.com/hello/@v/v1.1.0.mod", map[string]string{"If-None-Match": mresp.Header.Get("ETag")}); r.StatusCode != http.StatusNotModified {
		t.Fatalf(".mod If-None-Match: status %d", r.StatusCode)
	}
}

// TestHandlerMemory: immutable answers held in Memory are served from it
// without asking the Resolver, byte for byte as the Resolver's path serves
// them; anything else, and keys that are not module paths (the cache's
// mutable answers), go to the Resolver.
func TestHandlerMemory(t *testing.T) {
	set := fixture.Standard()
	set.Revs = map[string]string{"example.com/nomod@v2.0.0": "v2.0.0+incompatible"}
	next := &countingResolver{Resolver: set}
	mem := &cache.MemStore{}
	c := &cache.Cache{Next: next, Store: &cache.Tiered{Fast: mem, Slow: &cache.DirStore{Dir: t.TempDir()}}, MutableTTL: time.Hour}
	h := &Handler{Resolver: c, Memory: mem}
	get := func(p string, hdr ...string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("GET", p, nil)
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		h.ServeHTTP(rec, req)
		return rec
	}
	paths := []string{"/example.com/hello/@v/v1.0.0.info", "/example.com/hello/@v/v1.0.0.mod"}
	var first []*httptest.ResponseRecorder
	for _, p := range paths {
		first = append(first, get(p)) // fetched, stored, promoted
	}
	before := next.calls.Load()
	for i, p := range paths {
		rec := get(p)
		if rec.Code != 200 || rec.Body.String() != first[i].Body.String() {
			t.Fatalf("%s from memory: %d %q, want %q", p, rec.Code, rec.Body, first[i].Body)
		}
		for _, k := range []string{"Content-Type", "Content-Length", "Etag", "Cache-Control"} {
			if rec.Header().Get(k) != first[i].Header().Get(k) {
				t.Errorf("%s from memory: %s = %q, want %q", p, k, rec.Header().Get(k), first[i].Header().Get(k))
			}
		}
		if rec := get(p, "If-None-Match", first[i].Header().Get("Etag")); rec.Code != http.StatusNotModified {
			t.Errorf("%s conditional from memory: %d", p, rec.Code)
		}
	}
	if n := next.calls.Load() - before; n != 0 {
		t.Fatalf("answers held in memory asked the Resolver %d times", n)
	}
	// A revision resolved elsewhere is kept under modfetch/, which the
	// memory path never serves: a request for that key as a module path
	// reaches the Resolver and is not found.
	if rec := get("/example.com/nomod/@v/v2.0.0.info"); rec.Code != 200 {
		t.Fatalf("v2.0.0 resolving to +incompatible: %d %s", rec.Code, rec.Body)
	}
	if rc, err := mem.Get(t.Context(), "modfetch/example.com/nomod/@v/v2.0.0.info"); err != nil {
		t.Fatal("the mutable answer is not in memory: the next check proves nothing")
	} else {
		rc.Close()
	}
	if rec := get("/modfetch/example.com/nomod/@v/v2.0.0.info"); rec.Code != http.StatusNotFound {
		t.Fatalf("a mutable cache entry served as a module's .info: %d %q", rec.Code, rec.Body)
	}
}

// countingResolver counts the calls that reach a Resolver.
type countingResolver struct {
	modfetch.Resolver
	calls atomic.Int32
}

func (c *countingResolver) Stat(ctx context.Context, path, rev string) (*modfetch.Info, error) {
	c.calls.Add(1)
	return c.Resolver.Stat(ctx, path, rev)
}

func (c *countingResolver) GoMod(ctx context.Context, path, version string) ([]byte, error) {
	c.calls.Add(1)
	return c.Resolver.GoMod(ctx, path, version)
}
