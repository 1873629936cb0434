package upstream

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/mod/module"

	"github.com/modfetch/modfetch"
	"github.com/modfetch/modfetch/internal/fixture"
)

// fakeTimer records waits and returns at once; its clock advances by each
// wait, so retry bounds are deterministic.
type fakeTimer struct {
	mu    sync.Mutex
	now   time.Time
	waits []time.Duration
}

func newFakeTimer() *fakeTimer { return &fakeTimer{now: time.Unix(1e9, 0)} }

func (f *fakeTimer) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fakeTimer) Sleep(ctx context.Context, d time.Duration) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.waits = append(f.waits, d)
	f.now = f.now.Add(d)
	return ctx.Err()
}

func (f *fakeTimer) Waits() []time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Duration(nil), f.waits...)
}

func newTestProxy(t *testing.T, h http.Handler) (*Proxy, *httptest.Server) {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &Proxy{URL: srv.URL, timer: newFakeTimer(), jitter: -1}, srv
}

func TestProxyEndpointsAndEscaping(t *testing.T) {
	set := fixture.Standard()
	var uris []string
	var mu sync.Mutex
	fs := &fixture.Server{Set: set, Fault: func(w http.ResponseWriter, r *http.Request) bool {
		mu.Lock()
		uris = append(uris, r.RequestURI)
		mu.Unlock()
		return false
	}}
	p, _ := newTestProxy(t, fs)
	ctx := context.Background()

	path, version := "example.com/Upper/Case", "v1.0.0-RC1"
	info, err := p.Stat(ctx, path, version)
	if err != nil {
		t.Fatal(err)
	}
	if info.Version != version || !info.Time.Equal(time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)) {
		t.Fatalf("info = %+v", info)
	}
	mod, err := p.GoMod(ctx, path, version)
	if err != nil || string(mod) != "module example.com/Upper/Case\n" {
		t.Fatalf("GoMod = %q, %v", mod, err)
	}
	rc, err := p.Zip(ctx, path, version)
	if err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || string(data) != string(set.Module(path, version).Zip) {
		t.Fatalf("zip differs (%d bytes, %v)", len(data), err)
	}
	list, err := p.List(ctx, path)
	if err != nil || !reflect.DeepEqual(list, []string{version}) {
		t.Fatalf("List = %v, %v", list, err)
	}
	want := []string{
		"/example.com/%21upper/%21case/@v/v1.0.0-%21r%21c1.info",
		"/example.com/%21upper/%21case/@v/v1.0.0-%21r%21c1.mod",
		"/example.com/%21upper/%21case/@v/v1.0.0-%21r%21c1.zip",
		"/example.com/%21upper/%21case/@v/list",
	}
	if !reflect.DeepEqual(uris, want) {
		t.Fatalf("request URIs:\n%s\nwant:\n%s", strings.Join(uris, "\n"), strings.Join(want, "\n"))
	}

	// "+incompatible" travels as is.
	uris = nil
	if _, err := p.GoMod(ctx, "example.com/nomod", "v2.0.0+incompatible"); err != nil {
		t.Fatal(err)
	}
	if uris[0] != "/example.com/nomod/@v/v2.0.0+incompatible.mod" {
		t.Fatalf("URI = %s", uris[0])
	}
}

func TestProxyBasePathKept(t *testing.T) {
	set := fixture.Standard()
	mux := http.NewServeMux()
	mux.Handle("/prefix/", http.StripPrefix("/prefix", &fixture.Server{Set: set}))
	for _, base := range []string{"/prefix", "/prefix/"} {
		p, srv := newTestProxy(t, mux)
		p.URL = srv.URL + base
		if _, err := p.Stat(context.Background(), "example.com/hello", "v1.0.0"); err != nil {
			t.Fatalf("base %q: %v", base, err)
		}
	}
}

func TestProxyInvalidInput(t *testing.T) {
	p, srv := newTestProxy(t, http.NotFoundHandler())
	ctx := context.Background()
	tests := []struct {
		call func() error
		want string
		is   func(error) bool
	}{
		{func() error { _, err := p.Stat(ctx, "GitHub.com/x/y", "v1.0.0"); return err },
			`GitHub.com/x/y@v1.0.0: malformed module path "GitHub.com/x/y": invalid char 'G' in first path element`, nil},
		{func() error { _, err := p.Stat(ctx, "example.com/m/v1", "v1.0.0"); return err },
			`example.com/m/v1@v1.0.0: malformed module path "example.com/m/v1": invalid version`, nil},
		{func() error { _, err := p.Stat(ctx, "gopkg.in/yaml", "v1.0.0"); return err },
			`gopkg.in/yaml@v1.0.0: malformed module path "gopkg.in/yaml": invalid version`, nil},
		{func() error { _, err := p.Stat(ctx, "github.com/pkg/errors", "feature/x"); return err },
			`github.com/pkg/errors@feature/x: invalid version: version "feature/x" invalid: disallowed version string`, nil},
		{func() error { _, err := p.GoMod(ctx, "example.com/m", "v1.2"); return err },
			`example.com/m@v1.2: invalid version: version "v1.2" is not canonical (want "v1.2.0")`, nil},
		{func() error { _, err := p.Zip(ctx, "example.com/m", "master"); return err },
			`example.com/m@master: invalid version: version "master" is not a valid semantic version`, nil},
		{func() error { _, err := p.List(ctx, "example.com/m"); return err },
			"module example.com/m: reading " + srv.URL + "/example.com/m/@v/list: 404 Not Found\n\tserver response: 404 page not found",
			func(err error) bool { return errors.Is(err, fs.ErrNotExist) }},
		{func() error { _, err := p.Stat(ctx, "example.com/m", "master"); return err },
			"example.com/m@master: invalid version: reading " + srv.URL + "/example.com/m/@v/master.info: 404 Not Found\n\tserver response: 404 page not found",
			func(err error) bool { return errors.Is(err, fs.ErrNotExist) }},
	}
	for _, tt := range tests {
		err := tt.call()
		if err == nil || err.Error() != tt.want {
			t.Errorf("error = %v\nwant    %s", err, tt.want)
		}
		if tt.is != nil && !tt.is(err) {
			t.Errorf("error %v: class check failed", err)
		}
	}
	// Malformed paths are refused before any I/O.
	var ipe *module.InvalidPathError
	_, err := p.Stat(ctx, "GitHub.com/x/y", "v1.0.0")
	if !errors.As(err, &ipe) {
		t.Errorf("error does not wrap *module.InvalidPathError: %v", err)
	}
}

func TestProxyInfoShapes(t *testing.T) {
	ctx := context.Background()
	tm := time.Date(2023, 6, 8, 11, 20, 31, 0, time.UTC)
	tests := []struct {
		name, body string
		rev        string
		want       *modfetch.Info
		canonical  string // json.Marshal of the result
		err        string
	}{
		{"compact", `{"Version":"v1.3.2","Time":"2023-06-08T11:20:31Z"}`, "v1.3.2",
			&modfetch.Info{Version: "v1.3.2", Time: tm}, `{"Version":"v1.3.2","Time":"2023-06-08T11:20:31Z"}`, ""},
		{"spaced and reordered", "{\n  \"Time\": \"2023-06-08T11:20:31Z\" ,\n\t\"Version\" : \"v1.3.2\"\n}\n", "v1.3.2",
			&modfetch.Info{Version: "v1.3.2", Time: tm}, `{"Version":"v1.3.2","Time":"2023-06-08T11:20:31Z"}`, ""},
		{"extra fields", `{"Version":"v1.3.2","Time":"2023-06-08T11:20:31Z","Name":"abc","Short":"abc","Tags":["x"],"Whatever":{"a":1}}`, "v1.3.2",
			&modfetch.Info{Version: "v1.3.2", Time: tm}, `{"Version":"v1.3.2","Time":"2023-06-08T11:20:31Z"}`, ""},
		{"no time", `{"Version":"v1.3.2"}`, "v1.3.2",
			&modfetch.Info{Version: "v1.3.2"}, `{"Version":"v1.3.2","Time":"0001-01-01T00:00:00Z"}`, ""},
		{"origin", `{"Version":"v1.3.2","Time":"2023-06-08T11:20:31Z","Origin":{"VCS":"git","URL":"https://github.com/BurntSushi/toml","Hash":"a339e1f7089c","Ref":"refs/tags/v1.3.2","Extra":1}}`, "v1.3.2",
			&modfetch.Info{Version: "v1.3.2", Time: tm, Origin: &modfetch.Origin{VCS: "git", URL: "https://github.com/BurntSushi/toml", Hash: "a339e1f7089c", Ref: "refs/tags/v1.3.2"}},
			`{"Version":"v1.3.2","Time":"2023-06-08T11:20:31Z","Origin":{"VCS":"git","URL":"https://github.com/BurntSushi/toml","Hash":"a339e1f7089c","Ref":"refs/tags/v1.3.2"}}`, ""},
		{"branch resolves", `{"Version":"v0.0.0-20230608112031-a339e1f7089c","Time":"2023-06-08T11:20:31Z"}`, "master",
			&modfetch.Info{Version: "v0.0.0-20230608112031-a339e1f7089c", Time: tm}, `{"Version":"v0.0.0-20230608112031-a339e1f7089c","Time":"2023-06-08T11:20:31Z"}`, ""},
		{"not json", `not json`, "v1.3.2", nil, "", `example.com/m@v1.3.2: invalid response from proxy "BASE": invalid character 'o' in literal null (expecting 'u')`},
		{"not json, non-canonical", `<html>`, "master", nil, "", `example.com/m@master: invalid version: invalid response from proxy "BASE": invalid character '<' looking for beginning of value`},
		{"bad time", `{"Version":"v1.3.2","Time":"yesterday"}`, "v1.3.2", nil, "", `example.com/m@v1.3.2: invalid response from proxy "BASE": parsing time "yesterday" as "2006-01-02T15:04:05Z07:00": cannot parse "yesterday" as "2006"`},
		{"missing version", `{"Time":"2023-06-08T11:20:31Z"}`, "v1.3.2", nil, "", `example.com/m@v1.3.2: invalid response from proxy "BASE": missing Version`},
		{"wrong version", `{"Version":"v1.2.4"}`, "v1.2.3", nil, "", `example.com/m@v1.2.3: proxy returned info for version v1.2.4 instead of requested version`},
		{"non-canonical version", `{"Version":"v1.2"}`, "v1.2", nil, "", `example.com/m@v1.2: invalid version: invalid response from proxy "BASE": version "v1.2" is not canonical (want "v1.2.0")`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, srv := newTestProxy(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.WriteString(w, tt.body)
			}))
			info, err := p.Stat(ctx, "example.com/m", tt.rev)
			if tt.err != "" {
				want := strings.ReplaceAll(tt.err, "BASE", srv.URL)
				if err == nil || err.Error() != want {
					t.Fatalf("err = %v\nwant  %s", err, want)
				}
				if errors.Is(err, fs.ErrNotExist) {
					t.Fatalf("a bad answer counts as not found")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(info, tt.want) {
				t.Fatalf("info = %+v, want %+v", info, tt.want)
			}
			js, _ := jsonMarshal(info)
			if js != tt.canonical {
				t.Fatalf("canonical JSON = %s, want %s", js, tt.canonical)
			}
		})
	}

	// A proxy may answer v20.10.5 with v20.10.5+incompatible: module.Check
	// rejects the bare version for a path without a major suffix.
	p, _ := newTestProxy(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"Version":"v20.10.5+incompatible","Time":"2021-03-02T20:16:49Z"}`)
	}))
	info, err := p.Stat(ctx, "github.com/docker/docker", "v20.10.5")
	if err != nil || info.Version != "v20.10.5+incompatible" {
		t.Fatalf("Stat = %v, %v", info, err)
	}
}

func TestProxyErrorDetail(t *testing.T) {
	ctx := context.Background()
	long := strings.Repeat("x", 2000)
	tests := []struct {
		name, ctype, body string
		status            int
		detail            string
	}{
		{"one line", "text/plain; charset=utf-8", "not found: example.com/m@v1.0.0: invalid version\n", 404, "not found: example.com/m@v1.0.0: invalid version"},
		{"stops at blank line", "text/plain", "first\nsecond\n\nhidden\n", 404, "first\n\tsecond"},
		{"ten lines", "text/plain", "l1\nl2\nl3\nl4\nl5\nl6\nl7\nl8\nl9\nl10\n", 404, "l1\n\tl2\n\tl3\n\tl4\n\tl5\n\tl6\n\tl7\n\tl8\n\t[Truncated: too many lines.]"},
		{"long line", "text/plain", long, 404, "[Truncated: too long.]"},
		{"json body", "application/json", `{"error":"nope"}`, 404, ""},
		{"latin1", "text/plain; charset=iso-8859-1", "nope", 404, ""},
		{"control chars", "text/plain", "evil\x1b[31mred", 404, ""},
		{"no content type", "", "plain words", 403, ""},
		{"403 detail", "text/plain", "This module version is not available.", 403, "This module version is not available."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, srv := newTestProxy(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header()["Content-Type"] = []string{tt.ctype}
				w.WriteHeader(tt.status)
				io.WriteString(w, tt.body)
			}))
			_, err := p.GoMod(ctx, "example.com/m", "v1.0.0")
			var he *modfetch.HTTPError
			if !errors.As(err, &he) {
				t.Fatalf("err = %v, not an HTTPError", err)
			}
			if he.Detail != tt.detail {
				t.Fatalf("Detail = %q, want %q", he.Detail, tt.detail)
			}
			if he.StatusCode != tt.status || he.URL != srv.URL+"/example.com/m/@v/v1.0.0.mod" {
				t.Fatalf("HTTPError = %+v", he)
			}
			want := fmt.Sprintf("example.com/m@v1.0.0: reading %s/example.com/m/@v/v1.0.0.mod: %s", srv.URL, http.StatusText(tt.status))
			want = strings.Replace(want, ": "+http.StatusText(tt.status), fmt.Sprintf(": %d %s", tt.status, http.StatusText(tt.status)), 1)
			switch {
			case tt.detail == "":
			case strings.Contains(tt.detail, "\n"):
				want += "\n\tserver response:\n\t" + tt.detail
			default:
				want += "\n\tserver response: " + tt.detail
			}
			if err.Error() != want {
				t.Fatalf("err = %q\nwant  %q", err, want)
			}
			if got, want := errors.Is(err, fs.ErrNotExist), tt.status == 404; got != want {
				t.Fatalf("not-found = %v, want %v", got, want)
			}
		})
	}
}

func TestProxyCredentialsRedacted(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != "user" || p != "s3cret" {
			t.Errorf("credentials not sent: %q %q", u, p)
		}
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(500)
		io.WriteString(w, "boom")
	}))
	defer srv.Close()
	p := &Proxy{URL: strings.Replace(srv.URL, "http://", "http://user:s3cret@", 1), Retry: modfetch.Retry{Attempts: 1}}
	_, err := p.GoMod(context.Background(), "example.com/m", "v1.0.0")
	if err == nil || strings.Contains(err.Error(), "s3cret") || !strings.Contains(err.Error(), "user:xxxxx@") {
		t.Fatalf("err = %v", err)
	}
}

func TestProxyRetries(t *testing.T) {
	ctx := context.Background()
	type answer struct {
		status     int
		retryAfter string
	}
	tests := []struct {
		name     string
		answers  []answer // then 200
		retry    modfetch.Retry
		attempts int // requests the server sees
		ok       bool
		waits    []time.Duration
	}{
		{"503 twice then ok", []answer{{503, ""}, {503, ""}}, modfetch.Retry{}, 3, true, []time.Duration{250 * time.Millisecond, 500 * time.Millisecond}},
		{"408 and 429 and 500 retried", []answer{{408, ""}, {429, ""}, {500, ""}}, modfetch.Retry{}, 4, true, []time.Duration{250 * time.Millisecond, 500 * time.Millisecond, time.Second}},
		{"Retry-After seconds honoured", []answer{{429, "3"}}, modfetch.Retry{}, 2, true, []time.Duration{3 * time.Second}},
		{"Retry-After shorter than backoff", []answer{{503, "0"}}, modfetch.Retry{}, 2, true, []time.Duration{250 * time.Millisecond}},
		{"attempts bounded", []answer{{502, ""}, {502, ""}, {502, ""}, {502, ""}, {502, ""}}, modfetch.Retry{Attempts: 3}, 3, false, []time.Duration{250 * time.Millisecond, 500 * time.Millisecond}},
		{"elapsed time bounded", []answer{{503, ""}, {503, ""}, {503, ""}}, modfetch.Retry{MaxElapsed: time.Second}, 3, false, []time.Duration{250 * time.Millisecond, 500 * time.Millisecond}},
		{"Retry-After beyond the time budget", []answer{{503, "120"}}, modfetch.Retry{}, 1, false, nil},
		{"backoff capped", []answer{{500, ""}, {500, ""}, {500, ""}}, modfetch.Retry{Attempts: 10, Initial: time.Second, Max: 1500 * time.Millisecond}, 4, true, []time.Duration{time.Second, 1500 * time.Millisecond, 1500 * time.Millisecond}},
		{"retries disabled", []answer{{503, ""}}, modfetch.Retry{Attempts: 1}, 1, false, nil},
		{"404 never retried", []answer{{404, ""}}, modfetch.Retry{}, 1, false, nil},
		{"410 never retried", []answer{{410, ""}}, modfetch.Retry{}, 1, false, nil},
		{"403 never retried", []answer{{403, ""}}, modfetch.Retry{}, 1, false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var mu sync.Mutex
			n := 0
			p, _ := newTestProxy(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				i := n
				n++
				mu.Unlock()
				if i < len(tt.answers) {
					if ra := tt.answers[i].retryAfter; ra != "" {
						w.Header().Set("Retry-After", ra)
					}
					w.WriteHeader(tt.answers[i].status)
					return
				}
				io.WriteString(w, "module example.com/m\n")
			}))
			p.Retry = tt.retry
			timer := p.timer.(*fakeTimer)
			data, err := p.GoMod(ctx, "example.com/m", "v1.0.0")
			if tt.ok != (err == nil) {
				t.Fatalf("GoMod = %q, %v", data, err)
			}
			if n != tt.attempts {
				t.Fatalf("server saw %d requests, want %d", n, tt.attempts)
			}
			if w := timer.Waits(); !reflect.DeepEqual(w, tt.waits) {
				t.Fatalf("waits = %v, want %v", w, tt.waits)
			}
			if !tt.ok {
				var he *modfetch.HTTPError
				if !errors.As(err, &he) || he.StatusCode != tt.answers[len(tt.answers)-1].status {
					t.Fatalf("err = %v, want the last status", err)
				}
			}
		})
	}
}

func TestProxyRetriesNetworkErrors(t *testing.T) {
	// A server that closes connections without answering, then recovers.
	var mu sync.Mutex
	n := 0
	p, _ := newTestProxy(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		i := n
		n++
		mu.Unlock()
		if i < 2 {
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.Close()
			return
		}
		io.WriteString(w, "module example.com/m\n")
	}))
	data, err := p.GoMod(context.Background(), "example.com/m", "v1.0.0")
	if err != nil || string(data) != "module example.com/m\n" || n != 3 {
		t.Fatalf("GoMod = %q, %v after %d requests", data, err, n)
	}

	// A dead server: the dial error is retried, bounded, and reported with
	// net/http's text.
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	timer := newFakeTimer()
	dead := &Proxy{URL: url, timer: timer, jitter: -1}
	_, err = dead.GoMod(context.Background(), "example.com/m", "v1.0.0")
	if err == nil || !strings.Contains(err.Error(), "connection refused") || !strings.HasPrefix(err.Error(), `example.com/m@v1.0.0: Get "`+url) {
		t.Fatalf("err = %v", err)
	}
	if errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("a dead server counts as not found")
	}
	if len(timer.Waits()) != 3 {
		t.Fatalf("waits = %v, want 3 retries", timer.Waits())
	}
}

func TestProxyTruncatedBody(t *testing.T) {
	var mu sync.Mutex
	n := 0
	p, _ := newTestProxy(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		n++
		mu.Unlock()
		w.Header().Set("Content-Length", "100")
		io.WriteString(w, "module example.com/m\n") // fewer bytes than promised
	}))
	_, err := p.GoMod(context.Background(), "example.com/m", "v1.0.0")
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("err = %v, want unexpected EOF", err)
	}
	if n != 4 {
		t.Fatalf("server saw %d requests, want 4 (retried)", n)
	}

	// A truncated zip stream fails while reading.
	n = 0
	rc, err := p.Zip(context.Background(), "example.com/m", "v1.0.0")
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.ReadAll(rc)
	rc.Close()
	if !errors.Is(err, io.ErrUnexpectedEOF) || !strings.HasPrefix(err.Error(), "example.com/m@v1.0.0: read ") {
		t.Fatalf("err = %v", err)
	}
}

func TestProxySizeLimits(t *testing.T) {
	big := strings.Repeat("a", 5000)
	p, _ := newTestProxy(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, big)
	}))
	p.MaxGoModSize, p.MaxZipSize, p.MaxInfoSize, p.MaxListSize = 4096, 4096, 100, 100
	ctx := context.Background()
	if _, err := p.GoMod(ctx, "example.com/m", "v1.0.0"); !errors.Is(err, modfetch.ErrTooLarge) {
		t.Errorf("GoMod err = %v", err)
	}
	if _, err := p.Stat(ctx, "example.com/m", "v1.0.0"); !errors.Is(err, modfetch.ErrTooLarge) {
		t.Errorf("Stat err = %v", err)
	}
	if _, err := p.List(ctx, "example.com/m"); !errors.Is(err, modfetch.ErrTooLarge) {
		t.Errorf("List err = %v", err)
	}
	rc, err := p.Zip(ctx, "example.com/m", "v1.0.0")
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, rc)
	rc.Close()
	if !errors.Is(err, modfetch.ErrTooLarge) || err.Error() != "example.com/m@v1.0.0: downloaded zip file too large" {
		t.Errorf("Zip read err = %v", err)
	}
	if n > 4096 {
		t.Errorf("read %d bytes past the limit", n)
	}
	// Exactly at the limit is fine.
	p.MaxZipSize = int64(len(big))
	rc, _ = p.Zip(ctx, "example.com/m", "v1.0.0")
	if n, err := io.Copy(io.Discard, rc); err != nil || n != int64(len(big)) {
		t.Errorf("zip at limit: %d, %v", n, err)
	}
	rc.Close()
}

func TestProxyTimeBudgets(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	hang := func(r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}
	for _, tt := range []struct {
		name    string
		handler http.HandlerFunc
		dial    bool // connections never complete
		budget  func(p *Proxy)
		want    error
		inBody  bool // the failure comes while reading the zip
	}{
		{
			name: "connect",
			dial: true,
			budget: func(p *Proxy) {
				p.ConnectTimeout = 50 * time.Millisecond
			},
			want: ErrConnectTimeout,
		},
		{
			name:    "first byte",
			handler: func(w http.ResponseWriter, r *http.Request) { hang(r) },
			budget: func(p *Proxy) {
				p.FirstByteTimeout = 50 * time.Millisecond
			},
			want: ErrFirstByteTimeout,
		},
		{
			name: "stalled body",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Write([]byte("PK partial"))
				w.(http.Flusher).Flush()
				hang(r)
			},
			budget: func(p *Proxy) { p.IdleTimeout = 50 * time.Millisecond },
			want:   ErrIdleTimeout,
			inBody: true,
		},
		{
			// 10 bytes every 5ms: never idle, but far below 1 KiB per 50ms.
			name: "trickling body",
			handler: func(w http.ResponseWriter, r *http.Request) {
				for r.Context().Err() == nil {
					w.Write([]byte("0123456789"))
					w.(http.Flusher).Flush()
					select {
					case <-time.After(5 * time.Millisecond):
					case <-r.Context().Done():
					}
				}
			},
			budget: func(p *Proxy) { p.IdleTimeout = 50 * time.Millisecond },
			want:   ErrIdleTimeout,
			inBody: true,
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p, _ := newTestProxy(t, tt.handler)
			if tt.dial {
				p.Client = &http.Client{Transport: &http.Transport{
					DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
						<-ctx.Done()
						return nil, ctx.Err()
					},
				}}
			}
			tt.budget(p)
			p.Retry = modfetch.Retry{Attempts: 1}
			h := &Health{}
			p.Health = h
			rc, err := p.Zip(context.Background(), "example.com/m", "v1.0.0")
			if tt.inBody {
				if err != nil {
					t.Fatal(err)
				}
				_, err = io.ReadAll(rc)
				rc.Close()
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if st := h.Stats(); st.Failures != 1 || st.ConsecutiveFailures != 1 {
				t.Errorf("health = %+v, want one failure", st)
			}
		})
	}
}

func TestProxyCancel(t *testing.T) {
	p, _ := newTestProxy(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	}))
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := p.Stat(ctx, "example.com/m", "v1.0.0")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
	if w := p.timer.(*fakeTimer).Waits(); len(w) != 0 {
		t.Fatalf("canceled request was retried: %v", w)
	}
}

func TestProxyRedirects(t *testing.T) {
	plain := httptest.NewServer(&fixture.Server{Set: fixture.Standard()})
	defer plain.Close()
	secure := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, plain.URL+r.URL.Path, http.StatusFound)
	}))
	defer secure.Close()
	p := &Proxy{URL: secure.URL, Client: secure.Client()}
	_, err := p.GoMod(context.Background(), "example.com/hello", "v1.0.0")
	if err == nil || !strings.Contains(err.Error(), "redirected from secure URL") {
		t.Fatalf("https to http redirect: err = %v", err)
	}
	// Also when the client has a redirect policy of its own (like the
	// GOAUTH client's).
	own := secure.Client()
	called := 0
	own.CheckRedirect = func(req *http.Request, via []*http.Request) error { called++; return nil }
	p = &Proxy{URL: secure.URL, Client: own}
	_, err = p.GoMod(context.Background(), "example.com/hello", "v1.0.0")
	if err == nil || !strings.Contains(err.Error(), "redirected from secure URL") {
		t.Fatalf("https to http redirect with the client's own policy: err = %v", err)
	}
	// http to http redirects are followed.
	hop := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, plain.URL+r.URL.Path, http.StatusFound)
	}))
	defer hop.Close()
	p = &Proxy{URL: hop.URL}
	if _, err := p.GoMod(context.Background(), "example.com/hello", "v1.0.0"); err != nil {
		t.Fatal(err)
	}
}

func TestProxyLatest(t *testing.T) {
	ctx := context.Background()
	set := fixture.Standard()
	set.LatestVersion = map[string]string{"example.com/hello": "v1.0.0"}
	srv := &fixture.Server{Set: set}
	p, _ := newTestProxy(t, srv)
	info, err := p.Latest(ctx, "example.com/hello")
	if err != nil || info.Version != "v1.0.0" {
		t.Fatalf("Latest = %v, %v", info, err)
	}

	// Without @latest: the newest timed entry of the list, stat'ed.
	srv.NoLatest = true
	pseudo := "v0.0.0-20240601000000-abcdefabcdef"
	older := "v0.0.0-20240101000000-123456123456"
	set.Add("example.com/pseudo", pseudo, map[string]string{"p.go": "package p"}, time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC))
	set.Add("example.com/pseudo", older, map[string]string{"p.go": "package p"}, time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC))
	srv.Reset()
	info, err = p.Latest(ctx, "example.com/pseudo")
	if err != nil || info.Version != pseudo {
		t.Fatalf("Latest = %v, %v", info, err)
	}
	want := []string{"/example.com/pseudo/@latest", "/example.com/pseudo/@v/list", "/example.com/pseudo/@v/" + pseudo + ".info"}
	if got := srv.Requests(); !reflect.DeepEqual(got, want) {
		t.Fatalf("requests = %v, want %v", got, want)
	}
	// A list line's time field counts too.
	set.Extra = map[string][]string{"example.com/pseudo": {"v1.0.0 2025-01-01T00:00:00Z"}}
	set.Add("example.com/pseudo", "v1.0.0", map[string]string{"p.go": "package p"}, time.Time{})
	if info, err := p.Latest(ctx, "example.com/pseudo"); err != nil || info.Version != "v1.0.0" {
		t.Fatalf("Latest = %v, %v", info, err)
	}
	// Only untimed tags: no commits, a not-found error.
	_, err = p.Latest(ctx, "example.com/hello")
	if !errors.Is(err, fs.ErrNotExist) || err.Error() != "module example.com/hello: no commits" {
		t.Fatalf("err = %v", err)
	}
	// @latest failing otherwise is reported as is.
	p2, _ := newTestProxy(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(403) }))
	if _, err := p2.Latest(ctx, "example.com/hello"); err == nil || errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("err = %v", err)
	}
}

func TestProxyListParsing(t *testing.T) {
	p, _ := newTestProxy(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "v1.10.0\nv1.2.0 2020-01-01T00:00:00Z\n\n  v1.9.0-pre  \nnot-a-version\nv1.2.0\nv2.0.0+incompatible\nv0.0.0-20200101000000-abcdefabcdef\r\n")
	}))
	list, err := p.List(context.Background(), "example.com/m")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"v0.0.0-20200101000000-abcdefabcdef", "v1.2.0", "v1.9.0-pre", "v1.10.0", "v2.0.0+incompatible"}
	if !reflect.DeepEqual(list, want) {
		t.Fatalf("List = %v, want %v", list, want)
	}
	// An empty list is a success.
	p2, _ := newTestProxy(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	if list, err := p2.List(context.Background(), "example.com/m"); err != nil || len(list) != 0 {
		t.Fatalf("List = %v, %v", list, err)
	}
}

func TestFileProxy(t *testing.T) {
	set := fixture.Standard()
	dir := t.TempDir()
	if err := set.WriteDir(dir); err != nil {
		t.Fatal(err)
	}
	base := "file://" + filepath.ToSlash(dir)
	if _, err := Parse(base); err != nil {
		t.Fatal(err)
	}
	p := &Proxy{URL: base}
	ctx := context.Background()
	path, version := "example.com/Upper/Case", "v1.0.0-RC1"
	if info, err := p.Stat(ctx, path, version); err != nil || info.Version != version {
		t.Fatalf("Stat = %v, %v", info, err)
	}
	if mod, err := p.GoMod(ctx, path, version); err != nil || string(mod) != string(set.Module(path, version).Mod) {
		t.Fatalf("GoMod = %q, %v", mod, err)
	}
	rc, err := p.Zip(ctx, path, version)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(rc)
	rc.Close()
	if string(data) != string(set.Module(path, version).Zip) {
		t.Fatal("zip differs")
	}
	if list, err := p.List(ctx, "example.com/hello"); err != nil || !reflect.DeepEqual(list, []string{"v1.0.0", "v1.1.0"}) {
		t.Fatalf("List = %v, %v", list, err)
	}
	_, err = p.Stat(ctx, "example.com/hello", "v9.9.9")
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing file: %v", err)
	}
	want := "example.com/hello@v9.9.9: reading " + base + "/example.com/hello/@v/v9.9.9.info: no such file or directory"
	if err.Error() != want {
		t.Fatalf("err = %q\nwant  %q", err, want)
	}
	// No @latest file: falls back to the list, where tags carry no time.
	if _, err := p.Latest(ctx, "example.com/hello"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Latest err = %v", err)
	}
}

func TestProxySumDBURL(t *testing.T) {
	ctx := context.Background()
	supported := func(status int) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/sumdb/sum.example.com/supported" {
				t.Errorf("unexpected request %s", r.URL.Path)
			}
			w.WriteHeader(status)
		})
	}
	// A long body does not matter: only the status does.
	ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		supported(200).ServeHTTP(w, r)
		w.Write(bytes.Repeat([]byte("supported\n"), 1<<10))
	}))
	defer ok.Close()
	missing := httptest.NewServer(supported(404))
	defer missing.Close()
	broken := httptest.NewServer(supported(503))
	defer broken.Close()

	cfg := &Config{Retry: modfetch.Retry{Attempts: 1}}
	tests := []struct {
		goproxy string
		want    string
		err     bool
	}{
		{ok.URL, ok.URL + "/sumdb/sum.example.com", false},
		{missing.URL + "," + ok.URL, ok.URL + "/sumdb/sum.example.com", false},
		{missing.URL, "", false},
		{missing.URL + ",direct", "", false},
		{"direct," + ok.URL, "", false},
		{"off", "", false},
		{broken.URL + "," + ok.URL, "", true},
		{broken.URL + "|" + ok.URL, ok.URL + "/sumdb/sum.example.com", false},
	}
	for _, tt := range tests {
		ch, err := cfg.Parse(tt.goproxy)
		if err != nil {
			t.Fatal(err)
		}
		// GONOPROXY does not route the database: GOPRIVATE=* still
		// reaches it through the proxies.
		ch.NoProxy = "*"
		got, err := ch.SumDBURL(ctx, "sum.example.com")
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("GOPROXY=%s: SumDBURL = %q, %v; want %q (error %v)", tt.goproxy, got, err, tt.want, tt.err)
		}
	}
}

func jsonMarshal(v any) (string, error) {
	b, err := jsonMarshalBytes(v)
	return string(b), err
}

func jsonMarshalBytes(v any) ([]byte, error) { return json.Marshal(v) }

// TestProxyGoModMemory: a .mod over the limit costs little memory whether
// its length is declared or not (it was read whole up to the 16 MiB
// limit: 17 MiB .mod files raised a server's RSS to 84 MB), and one
// within it is held about once.
func TestProxyGoModMemory(t *testing.T) {
	huge := bytes.Repeat([]byte("// padding\n"), (17<<20)/11)
	large := huge[:8<<20]
	tests := []struct {
		name     string
		body     []byte
		declared bool
		wantErr  error
		maxAlloc uint64
	}{
		{"over the limit, chunked", huge, false, modfetch.ErrTooLarge, 2 << 20},
		{"over the limit, declared", huge, true, modfetch.ErrTooLarge, 2 << 20},
		{"8 MiB, chunked", large, false, nil, 8<<20 + 2<<20},
		{"8 MiB, declared", large, true, nil, 8<<20 + 2<<20},
	}
	// Each case has its own module path, so that a handler still writing
	// the previous case's refused body reads nothing the next case sets.
	p, _ := newTestProxy(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var i int
		if _, err := fmt.Sscanf(r.URL.Path, "/example.com/m%d/", &i); err != nil || i < 0 || i >= len(tests) {
			http.NotFound(w, r)
			return
		}
		body := tests[i].body
		if tests[i].declared {
			w.Header().Set("Content-Length", fmt.Sprint(len(body)))
		}
		w.(http.Flusher).Flush() // without a declared length: chunked
		for b := body; len(b) > 0; b = b[min(len(b), 32<<10):] {
			if _, err := w.Write(b[:min(len(b), 32<<10)]); err != nil {
				return
			}
		}
	}))
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// Everything the process allocated meanwhile is counted, the
			// test server's share included, and whatever else runs then:
			// the least of three tries.
			least := uint64(math.MaxUint64)
			for range 3 {
				runtime.GC()
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				data, err := p.GoMod(context.Background(), fmt.Sprintf("example.com/m%d", i), "v1.0.0")
				runtime.ReadMemStats(&after)
				if !errors.Is(err, tc.wantErr) || (err == nil && !bytes.Equal(data, tc.body)) {
					t.Fatalf("GoMod = %d bytes, %v; want %d bytes, %v", len(data), err, len(tc.body), tc.wantErr)
				}
				least = min(least, after.TotalAlloc-before.TotalAlloc)
			}
			if least > tc.maxAlloc {
				t.Errorf("allocated at least %d KiB, want at most %d KiB", least>>10, tc.maxAlloc>>10)
			}
		})
	}
}

// TestProxyInvalidInfoCountsOnce: an .info answer that does not parse is
// one failed request in the proxy's Health, not a success and a failure,
// so a mirror answering garbage opens its breaker.
func TestProxyInvalidInfoCountsOnce(t *testing.T) {
	p, _ := newTestProxy(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "v1.0.0.info") {
			io.WriteString(w, "not json")
			return
		}
		io.WriteString(w, `{"Version":"v1.1.0","Time":"2024-01-01T00:00:00Z"}`)
	}))
	h := &Health{Breaker: &Breaker{Failures: 3, Cooldown: time.Hour}}
	p.Health = h
	for _, method := range []struct {
		name string
		call func() error
	}{
		{"Stat", func() error { _, err := p.Stat(context.Background(), "example.com/m", "v1.0.0"); return err }},
		{"Latest", func() error {
			p, _ := newTestProxy(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "{") }))
			p.Health = h
			_, err := p.Latest(context.Background(), "example.com/m")
			return err
		}},
	} {
		if err := method.call(); err == nil || !strings.Contains(err.Error(), "invalid response from proxy") {
			t.Fatalf("%s: err = %v, want an invalid response", method.name, err)
		}
	}
	if st := h.Stats(); st.Requests != 2 || st.Failures != 2 || st.ConsecutiveFailures != 2 || st.ErrorRate != 1 || !st.LastSuccess.IsZero() {
		t.Errorf("after two unparseable answers: %+v, want 2 requests, 2 failures in a row, error rate 1, no success", st)
	}
	if _, err := p.Stat(context.Background(), "example.com/m", "v1.1.0"); err != nil {
		t.Fatal(err)
	}
	if st := h.Stats(); st.Requests != 3 || st.Failures != 2 || st.ConsecutiveFailures != 0 || st.ErrorRate != 2.0/3 {
		t.Errorf("after a good answer: %+v, want 3 requests, 2 failures, none consecutive, error rate 2/3", st)
	}
	for range 3 {
		p.Stat(context.Background(), "example.com/m", "v1.0.0")
	}
	if st := h.Stats(); st.State != Unavailable || st.ConsecutiveFailures != 3 {
		t.Errorf("after three unparseable answers in a row: %+v, want the breaker open", st)
	}
}

// TestProxyBadBodiesCountOnce: answers that fail in their body (an .info
// cut short, or one that does not parse), many at a time, are each one
// failed request, so the breaker opens as it would for as many errors.
func TestProxyBadBodiesCountOnce(t *testing.T) {
	for _, tt := range []struct {
		name    string
		handler http.HandlerFunc
	}{
		{"unparseable", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "not json") }},
		{"cut short", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "100")
			io.WriteString(w, `{"Version":`)
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p, _ := newTestProxy(t, tt.handler)
			p.Retry = modfetch.Retry{Attempts: 1}
			h := &Health{Breaker: &Breaker{Failures: 20, Cooldown: time.Hour}}
			p.Health = h
			var wg sync.WaitGroup
			for range 4 {
				wg.Go(func() {
					for range 5 {
						if _, err := p.Stat(context.Background(), "example.com/m", "v1.0.0"); err == nil {
							t.Error("Stat of a bad answer succeeded")
						}
					}
				})
			}
			wg.Wait()
			st := h.Stats()
			if st.Requests != 20 || st.Failures != 20 || st.ConsecutiveFailures != 20 || !st.LastSuccess.IsZero() || st.State != Unavailable {
				t.Errorf("after 20 bad answers, 4 at a time: %+v, want 20 requests, all failed in a row, the breaker open", st)
			}
		})
	}
}
