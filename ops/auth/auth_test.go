package auth_test

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/modfetch/modfetch/ops/auth"
)

func TestRequire(t *testing.T) {
	dir := t.TempDir()
	tokens := filepath.Join(dir, "tokens")
	os.WriteFile(tokens, []byte("# CI\ns3cr3t-token\n\nother-token\n"), 0o600)
	hash, _ := bcrypt.GenerateFromPassword([]byte("hunter2"), bcrypt.MinCost)
	// htpasswd -B writes $2y$: accepted as well.
	y := strings.Replace(string(hash), "$2a$", "$2y$", 1)
	htpasswd := filepath.Join(dir, "htpasswd")
	os.WriteFile(htpasswd, []byte("alice:"+string(hash)+"\nbob:"+y+"\n"), 0o600)
	a, err := auth.Load(tokens, htpasswd)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})))
	defer srv.Close()
	for _, tc := range []struct {
		name string
		set  func(r *http.Request)
		want int
	}{
		{"none", func(*http.Request) {}, 401},
		{"bearer", func(r *http.Request) { r.Header.Set("Authorization", "Bearer s3cr3t-token") }, 200},
		{"second token", func(r *http.Request) { r.Header.Set("Authorization", "Bearer other-token") }, 200},
		{"bad bearer", func(r *http.Request) { r.Header.Set("Authorization", "Bearer s3cr3t") }, 401},
		{"comment is no token", func(r *http.Request) { r.Header.Set("Authorization", "Bearer # CI") }, 401},
		{"token as netrc password", func(r *http.Request) { r.SetBasicAuth("anyone", "s3cr3t-token") }, 200},
		{"htpasswd user", func(r *http.Request) { r.SetBasicAuth("alice", "hunter2") }, 200},
		{"htpasswd $2y$", func(r *http.Request) { r.SetBasicAuth("bob", "hunter2") }, 200},
		{"wrong password", func(r *http.Request) { r.SetBasicAuth("alice", "hunter3") }, 401},
		{"user's password is no token", func(r *http.Request) { r.SetBasicAuth("carol", "hunter2") }, 401},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", srv.URL+"/example.com/m/@v/list", nil)
			tc.set(req)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.want)
			}
			if tc.want == 401 && len(resp.Header.Values("WWW-Authenticate")) == 0 {
				t.Error("401 without a challenge")
			}
		})
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(data), 0o600)
		return p
	}
	if a, err := auth.Load("", ""); a != nil || err != nil {
		t.Errorf("Load of nothing = %v, %v; want nil, nil", a, err)
	}
	for _, tc := range []struct {
		name, tokens, htpasswd, wantErr string
	}{
		{"empty tokens", write("t1", "# none\n"), "", "no tokens"},
		{"md5 htpasswd", "", write("h1", "alice:$apr1$abc$def\n"), "only bcrypt"},
		{"no colon", "", write("h2", "alice\n"), "want user:bcrypt-hash"},
		{"missing file", filepath.Join(dir, "absent"), "", "no such file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := auth.Load(tc.tokens, tc.htpasswd); err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("err = %v, want %q", err, tc.wantErr)
			}
		})
	}
}

// TestBcryptOncePerPassword: a user's password that passed is not run
// through bcrypt again (tens of milliseconds each), and a wrong one after
// it still fails.
func TestBcryptOncePerPassword(t *testing.T) {
	dir := t.TempDir()
	hash, _ := bcrypt.GenerateFromPassword([]byte("hunter2"), bcrypt.MinCost)
	htpasswd := filepath.Join(dir, "htpasswd")
	os.WriteFile(htpasswd, []byte("alice:"+string(hash)+"\n"), 0o600)
	a, err := auth.Load("", htpasswd)
	if err != nil {
		t.Fatal(err)
	}
	bcrypts := auth.CountBcrypt(a)
	req := func(pass string) *http.Request {
		r := httptest.NewRequest("GET", "/x", nil)
		r.SetBasicAuth("alice", pass)
		return r
	}
	for i := range 100 {
		if !a.Check(req("hunter2")) {
			t.Fatalf("right password refused at check %d", i+1)
		}
	}
	if n := bcrypts.Load(); n != 1 {
		t.Errorf("100 checks of the same right password ran bcrypt %d times, want 1", n)
	}
	for i := range 3 {
		if a.Check(req("hunter3")) {
			t.Errorf("wrong password accepted after a right one (try %d)", i+1)
		}
	}
	if n := bcrypts.Load(); n != 4 {
		t.Errorf("after 3 wrong passwords bcrypt ran %d times in all, want 4 (a wrong password is never remembered)", n)
	}
	if !a.Check(req("hunter2")) {
		t.Error("right password refused after wrong ones")
	}
	if n := bcrypts.Load(); n != 4 {
		t.Errorf("the remembered password ran bcrypt again after wrong ones: %d in all, want 4", n)
	}
}
