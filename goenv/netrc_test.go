package goenv

import (
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
)

func TestParseNetrc(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		data string
		want []netrcEntry
	}{
		{"empty", "", nil},
		{
			name: "one per line and one line",
			data: "machine a.example\n  login u1\n  password p1\n\nmachine b.example login u2 password p2\n",
			want: []netrcEntry{{"a.example", "u1", "p1"}, {"b.example", "u2", "p2"}},
		},
		{
			name: "partial entries are dropped",
			data: "machine nologin\npassword x\n\nmachine nopassword\nlogin y\n\n" +
				"machine ok login u password p\nlogin orphan password orphan\nmachine last login l\n",
			want: []netrcEntry{{"ok", "u", "p"}},
		},
		{
			// As in the go command, an entry stays open across blank lines.
			name: "a later line completes an entry",
			data: "machine a\nlogin u\n\npassword p\n",
			want: []netrcEntry{{"a", "u", "p"}},
		},
		{
			name: "a machine token resets the entry",
			data: "machine a login u1 machine b password p2 login u2\n",
			want: []netrcEntry{{"b", "u2", "p2"}},
		},
		{
			name: "macdef skips lines up to an empty one",
			data: "machine ignore.example macdef init\n  login nobody\n  password nothing\n\n" +
				"machine has.macro macdef init login u4 password p4\n  machine in.macro login x password y\n\n" +
				"machine after.macro login u5 password p5\n",
			want: []netrcEntry{{"has.macro", "u4", "p4"}, {"after.macro", "u5", "p5"}},
		},
		{
			name: "default ends parsing",
			data: "machine a login u password p\ndefault\nlogin anonymous\npassword x\nmachine late login l password l\n",
			want: []netrcEntry{{"a", "u", "p"}},
		},
		{
			name: "default with tokens on its line",
			data: "machine a login u password p\ndefault login anonymous password x\nmachine b login v password q\n",
			want: []netrcEntry{{"a", "u", "p"}, {"b", "v", "q"}},
		},
		{
			name: "duplicates are all returned in order",
			data: "machine a login first password 1\nmachine a login second password 2\n",
			want: []netrcEntry{{"a", "first", "1"}, {"a", "second", "2"}},
		},
		{
			name: "tabs and CRLF",
			data: "machine\ta\r\nlogin\tu\r\npassword\tp\r\n",
			want: []netrcEntry{{"a", "u", "p"}},
		},
		{
			// The go command's own test file (cmd/go/internal/auth/netrc_test.go).
			name: "go command test",
			data: `
machine incomplete
password none

machine api.github.com
  login user
  password pwd

machine incomlete.host
  login justlogin

machine test.host
login user2
password pwd2

machine oneline login user3 password pwd3

machine ignore.host macdef ignore
  login nobody
  password nothing

machine hasmacro.too macdef ignore-next-lines login user4 password pwd4
  login nobody
  password nothing

default
login anonymous
password gopher@golang.org

machine after.default
login oops
password too-late-in-file
`,
			want: []netrcEntry{
				{"api.github.com", "user", "pwd"},
				{"test.host", "user2", "pwd2"},
				{"oneline", "user3", "pwd3"},
				{"hasmacro.too", "user4", "pwd4"},
			},
		},
	}
	for _, tc := range tests {
		if got := parseNetrc(tc.data); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: parseNetrc = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestParseGOAUTH(t *testing.T) {
	t.Parallel()
	tests := []struct {
		goauth    string
		wantNetrc bool
		wantErr   string
	}{
		{"", true, ""},
		{"netrc", true, ""},
		{" netrc ", true, ""},
		{"netrc;netrc", true, ""},
		{"off", false, ""},
		{" off\t", false, ""},
		{" ", false, "GOAUTH encountered an empty command (GOAUTH= )"},
		{"netrc;", false, "GOAUTH encountered an empty command (GOAUTH=netrc;)"},
		{";netrc", false, "GOAUTH encountered an empty command (GOAUTH=;netrc)"},
		{"netrc; ;netrc", false, "GOAUTH encountered an empty command (GOAUTH=netrc; ;netrc)"},
		{"off;netrc", false, "GOAUTH=off cannot be combined with other authentication commands (GOAUTH=off;netrc)"},
		{"netrc; off", false, "GOAUTH=off cannot be combined with other authentication commands (GOAUTH=netrc; off)"},
		{"git /home/me/src", false, `GOAUTH command "git /home/me/src" is not supported (modfetch supports only "netrc" and "off")`},
		{"netrc; git /src ", false, `GOAUTH command "git /src" is not supported (modfetch supports only "netrc" and "off")`},
		{"my-auth-helper --flag", false, `GOAUTH command "my-auth-helper --flag" is not supported (modfetch supports only "netrc" and "off")`},
		// The go command reads the list from the end.
		{"git /src;", false, "GOAUTH encountered an empty command (GOAUTH=git /src;)"},
		{"git /src;off", false, "GOAUTH=off cannot be combined with other authentication commands (GOAUTH=git /src;off)"},
	}
	for _, tc := range tests {
		got, err := parseGOAUTH(tc.goauth)
		if tc.wantErr != "" {
			if err == nil || err.Error() != tc.wantErr {
				t.Errorf("parseGOAUTH(%q): error %v, want %q", tc.goauth, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got != tc.wantNetrc {
			t.Errorf("parseGOAUTH(%q) = %v, %v; want %v", tc.goauth, got, err, tc.wantNetrc)
		}
		// HTTPClient reports the same errors.
	}
	for _, goauth := range []string{"netrc;", "off;netrc", "git /src"} {
		c := &Config{GOAUTH: goauth, NETRC: filepath.Join(t.TempDir(), "netrc")}
		if cl, err := c.HTTPClient(nil); err == nil {
			t.Errorf("GOAUTH=%q: HTTPClient = %v, want error", goauth, cl)
		}
	}
}

func TestLookupCredential(t *testing.T) {
	t.Parallel()
	creds := map[string]string{
		"example.com":            "host",
		"example.com:8443":       "port",
		"example.com/private":    "path",
		"example.com/a%2Fb":      "escaped",
		"other.example/deep/dir": "deep",
	}
	tests := []struct {
		url  string
		want string // "" means none
	}{
		{"https://example.com", "host"},
		{"https://example.com/", "host"},
		{"https://example.com/mod/@v/list", "host"},
		{"https://example.com:8443/mod/@v/list", "port"},
		{"https://example.com:443/mod", ""},
		{"https://example.com/private", "path"},
		{"https://example.com/private/", "path"},
		{"https://example.com/private/mod/@v/list?x=1", "path"},
		{"https://example.com/privatex/mod", "host"},
		{"https://example.com/a%2Fb/c", "escaped"},
		{"https://other.example/deep/dir/x", "deep"},
		{"https://other.example/deep/x", ""},
		{"https://sub.example.com/", ""},
	}
	for _, tc := range tests {
		u, err := url.Parse(tc.url)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := lookupCredential(creds, u)
		if got != tc.want {
			t.Errorf("lookupCredential(%s) = %q, want %q", tc.url, got, tc.want)
		}
	}
}

// authServer records the Authorization header of each request by path.
type authServer struct {
	mu   sync.Mutex
	seen map[string][]string // path -> Authorization values
}

func (s *authServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	if s.seen == nil {
		s.seen = make(map[string][]string)
	}
	s.seen[r.URL.Path] = append(s.seen[r.URL.Path], r.Header.Get("Authorization"))
	s.mu.Unlock()
	if target, ok := strings.CutPrefix(r.URL.Path, "/redirect"); ok {
		http.Redirect(w, r, target, http.StatusFound)
		return
	}
	w.Write([]byte("ok"))
}

func (s *authServer) auth(path string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.seen[path]
}

func basic(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

func TestHTTPClient(t *testing.T) {
	t.Parallel()
	var rec authServer
	tlsSrv := httptest.NewTLSServer(&rec)
	defer tlsSrv.Close()
	plainSrv := httptest.NewServer(&rec)
	defer plainSrv.Close()
	tlsHost := strings.TrimPrefix(tlsSrv.URL, "https://")
	plainHost := strings.TrimPrefix(plainSrv.URL, "http://")

	netrc := filepath.Join(t.TempDir(), "netrc")
	writeFile(t, netrc, ""+
		"machine 127.0.0.1 login noport password wrong\n"+
		"machine "+tlsHost+"/scoped login scoped password s3cret\n"+
		"machine "+tlsHost+" login user password pass\n"+
		"machine "+tlsHost+" login second password ignored\n"+
		"machine "+plainHost+" login plain password leaked\n")

	base := tlsSrv.Client()
	baseTransport := base.Transport
	c := &Config{GOAUTH: "netrc", NETRC: netrc}
	cl, err := c.HTTPClient(base)
	if err != nil {
		t.Fatal(err)
	}
	if cl == base || base.Transport != baseTransport || base.CheckRedirect != nil {
		t.Fatalf("HTTPClient modified or returned its base client")
	}

	get := func(rawURL string, header http.Header) {
		t.Helper()
		req, err := http.NewRequest("GET", rawURL, nil)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range header {
			req.Header[k] = v
		}
		resp, err := cl.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", rawURL, err)
		}
		resp.Body.Close()
		if len(req.Header.Values("Authorization")) != len(header.Values("Authorization")) {
			t.Errorf("GET %s: the caller's request was modified", rawURL)
		}
	}
	get(tlsSrv.URL+"/mod/@v/list", nil)
	get(tlsSrv.URL+"/scoped/mod/@v/list", nil)
	get(tlsSrv.URL+"/explicit", http.Header{"Authorization": {"Bearer token"}})
	get(strings.Replace(tlsSrv.URL, "https://", "https://me:mine@", 1)+"/userinfo", nil)
	get(plainSrv.URL+"/plain", nil)
	get(tlsSrv.URL+"/redirect/after-redirect", nil)
	get(tlsSrv.URL+"/redirect/scoped/after-redirect", nil)

	tests := []struct {
		path string
		want []string
	}{
		{"/mod/@v/list", []string{basic("user", "pass")}}, // machine host:port; first entry wins
		{"/scoped/mod/@v/list", []string{basic("scoped", "s3cret")}},
		{"/explicit", []string{"Bearer token"}},
		{"/userinfo", []string{basic("me", "mine")}},
		{"/plain", []string{""}}, // never over http
		{"/redirect/after-redirect", []string{basic("user", "pass")}},
		{"/after-redirect", []string{basic("user", "pass")}},
		// The first request's credentials follow it, as net/http copies headers.
		{"/redirect/scoped/after-redirect", []string{basic("user", "pass")}},
		{"/scoped/after-redirect", []string{basic("user", "pass")}},
	}
	for _, tc := range tests {
		if got := rec.auth(tc.path); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: Authorization %q, want %q", tc.path, got, tc.want)
		}
	}
}

func TestHTTPClientNoCredentials(t *testing.T) {
	t.Parallel()
	var rec authServer
	srv := httptest.NewTLSServer(&rec)
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "https://")
	dir := t.TempDir()
	netrc := filepath.Join(dir, "netrc")
	writeFile(t, netrc, "machine "+host+" login user password pass\n")
	portless := filepath.Join(dir, "portless")
	writeFile(t, portless, "machine 127.0.0.1 login user password pass\n")

	tests := []struct {
		name string
		c    Config
	}{
		{"off", Config{GOAUTH: "off", NETRC: netrc}},
		{"machine without port", Config{GOAUTH: "netrc", NETRC: portless}},
		{"missing netrc file", Config{GOAUTH: "netrc", NETRC: filepath.Join(dir, "missing")}},
	}
	for _, tc := range tests {
		base := srv.Client()
		cl, err := tc.c.HTTPClient(base)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if cl == base {
			t.Errorf("%s: HTTPClient returned its base client, want a copy", tc.name)
		}
		path := "/" + strings.ReplaceAll(tc.name, " ", "-")
		resp, err := cl.Get(srv.URL + path)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		resp.Body.Close()
		if got := rec.auth(path); !reflect.DeepEqual(got, []string{""}) {
			t.Errorf("%s: Authorization %q, want none", tc.name, got)
		}
	}
}

func TestHTTPClientNilBase(t *testing.T) {
	t.Parallel()
	for _, goauth := range []string{"off", "netrc"} {
		c := &Config{GOAUTH: goauth, NETRC: filepath.Join(t.TempDir(), "missing")}
		cl, err := c.HTTPClient(nil)
		if err != nil {
			t.Fatal(err)
		}
		if cl == nil || cl == http.DefaultClient {
			t.Errorf("GOAUTH=%s: HTTPClient(nil) = %p, want a new client", goauth, cl)
		}
	}
}

func TestHTTPClientReadError(t *testing.T) {
	t.Parallel()
	dir := t.TempDir() // a directory cannot be read as a file
	c := &Config{GOAUTH: "netrc", NETRC: dir}
	if _, err := c.HTTPClient(nil); err == nil || !strings.HasPrefix(err.Error(), "GOAUTH=netrc: ") {
		t.Fatalf("HTTPClient with NETRC a directory: error %v, want GOAUTH=netrc: ...", err)
	}
	if _, err := os.Stat(dir); err != nil {
		t.Fatal(err)
	}
}

func TestRedirectCredential(t *testing.T) {
	t.Parallel()
	creds := map[string]string{"example.com": "A", "sub.example.com": "B", "other.example": "C"}
	req := func(rawURL string) *http.Request {
		r, err := http.NewRequest("GET", rawURL, nil)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	tests := []struct {
		name string
		via  []string
		to   string
		want string
	}{
		{"same host", []string{"https://example.com/a"}, "https://example.com/b", "A"},
		{"other port", []string{"https://example.com/a"}, "https://example.com:8443/b", "A"},
		{"subdomain", []string{"https://example.com/a"}, "https://sub.example.com/b", "A"},
		{"parent domain", []string{"https://sub.example.com/a"}, "https://example.com/b", ""},
		{"other domain", []string{"https://example.com/a"}, "https://other.example/b", ""},
		{"left and came back", []string{"https://example.com/a", "https://other.example/x"}, "https://example.com/b", ""},
		{"to http", []string{"https://example.com/a"}, "http://example.com/b", ""},
		{"from http", []string{"http://example.com/a"}, "https://example.com/b", ""},
		{"no credentials for first", []string{"https://none.example/a"}, "https://none.example/b", ""},
	}
	for _, tc := range tests {
		var via []*http.Request
		for _, u := range tc.via {
			via = append(via, req(u))
		}
		got, _ := redirectCredential(creds, req(tc.to), via)
		if got != tc.want {
			t.Errorf("%s: redirectCredential = %q, want %q", tc.name, got, tc.want)
		}
	}
}
