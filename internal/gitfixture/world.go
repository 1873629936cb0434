package gitfixture

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"html"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// A World serves repositories and go-get pages for any host name.
type World struct {
	t   testing.TB
	git string // git's path

	// Root holds the bare repositories: Root/<host>/<path>.
	Root string

	// Home is a HOME directory whose .gitconfig sends git's https
	// traffic through the proxy and trusts the World's authority.
	Home string

	// CAFile is the PEM certificate of the World's authority.
	CAFile string

	server *httptest.Server // TLS, every host
	proxy  *httptest.Server // CONNECT and plain-http proxy
	pool   *x509.CertPool

	mu        sync.Mutex
	meta      map[string][]string // host/path -> go-import contents
	pages     map[string]string   // host/path -> raw page for ?go-get=1
	httpOnly  map[string]bool     // hosts without https
	handlers  map[string]http.Handler
	intercept func(w http.ResponseWriter, r *http.Request) bool
	requests  []string
}

// NewWorld starts a World; it stops at the end of the test.
func NewWorld(t testing.TB) *World {
	t.Helper()
	git := NeedGit(t)
	dir := t.TempDir()
	w := &World{
		t:        t,
		git:      git,
		Root:     filepath.Join(dir, "repos"),
		Home:     filepath.Join(dir, "home"),
		meta:     make(map[string][]string),
		pages:    make(map[string]string),
		httpOnly: make(map[string]bool),
		handlers: make(map[string]http.Handler),
	}
	os.MkdirAll(w.Root, 0o777)
	os.MkdirAll(w.Home, 0o777)

	caPEM, cert, pool := makeCerts(t)
	w.pool = pool
	w.CAFile = filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(w.CAFile, caPEM, 0o666); err != nil {
		t.Fatal(err)
	}

	w.server = httptest.NewUnstartedServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) { w.serve(rw, r) }))
	w.server.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	w.server.Config.ErrorLog = log.New(io.Discard, "", 0) // clients that distrust it, on purpose
	w.server.StartTLS()
	t.Cleanup(w.server.Close)

	w.proxy = httptest.NewServer(http.HandlerFunc(w.serveProxy))
	t.Cleanup(w.proxy.Close)

	gitconfig := fmt.Sprintf("[http]\n\tproxy = %s\n\tsslCAInfo = %s\n[user]\n\tname = Fixture\n\temail = fixture@example.com\n", w.proxy.URL, w.CAFile)
	if err := os.WriteFile(filepath.Join(w.Home, ".gitconfig"), []byte(gitconfig), 0o666); err != nil {
		t.Fatal(err)
	}
	return w
}

// ProxyURL is the URL of the World's HTTP proxy.
func (w *World) ProxyURL() string { return w.proxy.URL }

// Client returns an HTTP client that reaches the World (through its
// proxy) and trusts its certificates.
func (w *World) Client() *http.Client {
	pu, _ := url.Parse(w.proxy.URL)
	return &http.Client{Transport: &http.Transport{
		Proxy:           http.ProxyURL(pu),
		TLSClientConfig: &tls.Config{RootCAs: w.pool},
	}}
}

// UntrustingClient reaches the World but does not trust its authority.
func (w *World) UntrustingClient() *http.Client {
	pu, _ := url.Parse(w.proxy.URL)
	return &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(pu)}}
}

// GitEnv is the environment for git processes (modfetch's Direct.Env):
// HOME with the World's .gitconfig and no system configuration.
func (w *World) GitEnv() []string {
	return []string{"HOME=" + w.Home, "GIT_CONFIG_NOSYSTEM=1", "XDG_CONFIG_HOME=" + filepath.Join(w.Home, ".config"), "GIT_SSL_CAINFO=" + w.CAFile, "GIT_SSL_CAPATH="}
}

// GoEnv is the environment for the go command to fetch from the World
// with GOPROXY=direct: git as in GitEnv, Go's own HTTP through the proxy
// trusting the World's authority.
func (w *World) GoEnv() map[string]string {
	return map[string]string{
		"HOME":                w.Home,
		"GIT_CONFIG_NOSYSTEM": "1",
		"XDG_CONFIG_HOME":     filepath.Join(w.Home, ".config"),
		"HTTPS_PROXY":         w.proxy.URL,
		"HTTP_PROXY":          w.proxy.URL,
		"NO_PROXY":            "",
		"SSL_CERT_FILE":       w.CAFile,
		"GIT_SSL_CAINFO":      w.CAFile,
		"SSL_CERT_DIR":        filepath.Join(w.Home, "no-certs"),
		"GOPROXY":             "direct",
		"GOSUMDB":             "off",
		"GIT_TERMINAL_PROMPT": "0",
	}
}

// Publish copies the repository built in b to a bare repository served
// at https://<repoPath> (such as "github.com/fix/basic"), replacing any.
func (w *World) Publish(repoPath string, b *Builder) {
	w.t.Helper()
	dst := w.RepoDir(repoPath)
	os.RemoveAll(dst)
	os.MkdirAll(filepath.Dir(dst), 0o777)
	cmd := exec.Command("git", "clone", "-q", "--bare", "--no-local", b.Dir, dst)
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL="+os.DevNull)
	if out, err := cmd.CombinedOutput(); err != nil {
		w.t.Fatalf("git clone --bare: %v\n%s", err, out)
	}
	// The clone's HEAD is the builder's current branch; make it main.
	head, _ := exec.Command("git", "-C", b.Dir, "symbolic-ref", "-q", "HEAD").Output()
	if h := strings.TrimSpace(string(head)); h != "" {
		exec.Command("git", "--git-dir", dst, "symbolic-ref", "HEAD", h).Run()
	}
}

// PublishEmpty serves an empty repository (no commits) at repoPath.
func (w *World) PublishEmpty(repoPath string) {
	w.t.Helper()
	dst := w.RepoDir(repoPath)
	os.MkdirAll(dst, 0o777)
	cmd := exec.Command("git", "init", "-q", "--bare", dst)
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL="+os.DevNull)
	if out, err := cmd.CombinedOutput(); err != nil {
		w.t.Fatalf("git init --bare: %v\n%s", err, out)
	}
}

// RepoDir returns the bare repository directory for repoPath.
func (w *World) RepoDir(repoPath string) string {
	return filepath.Join(w.Root, filepath.FromSlash(repoPath))
}

// Meta makes https://<importPath>?go-get=1 serve go-import meta tags with
// the given contents ("prefix vcs url [subdir]").
func (w *World) Meta(importPath string, contents ...string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.meta[importPath] = append(w.meta[importPath], contents...)
}

// Page makes https://<importPath>?go-get=1 serve page verbatim.
func (w *World) Page(importPath, page string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.pages[importPath] = page
}

// HTTPOnly makes host refuse https (its CONNECT fails), so that only
// plain http reaches it.
func (w *World) HTTPOnly(host string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.httpOnly[host] = true
}

// Handle serves host with h instead of the repositories and pages.
func (w *World) Handle(host string, h http.Handler) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.handlers[host] = h
}

// Intercept sees every request first; when it returns true it answered.
func (w *World) Intercept(f func(w http.ResponseWriter, r *http.Request) bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.intercept = f
}

// Requests returns the requests served so far, as "host/path?query".
func (w *World) Requests() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.requests...)
}

func hostOnly(hostport string) string {
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		return h
	}
	return hostport
}

func (w *World) serve(rw http.ResponseWriter, r *http.Request) {
	git := w.git
	host := hostOnly(r.Host)
	w.mu.Lock()
	w.requests = append(w.requests, host+r.URL.RequestURI())
	intercept := w.intercept
	h := w.handlers[host]
	w.mu.Unlock()
	if intercept != nil && intercept(rw, r) {
		return
	}
	if h != nil {
		h.ServeHTTP(rw, r)
		return
	}
	if r.URL.Query().Get("go-get") == "1" {
		key := host + strings.TrimSuffix(r.URL.Path, "/")
		w.mu.Lock()
		metas, raw := w.meta[key], w.pages[key]
		w.mu.Unlock()
		if raw != "" {
			rw.Header().Set("Content-Type", "text/html; charset=utf-8")
			io.WriteString(rw, raw)
			return
		}
		if len(metas) == 0 {
			rw.Header().Set("Content-Type", "text/plain; charset=utf-8")
			rw.WriteHeader(http.StatusNotFound)
			io.WriteString(rw, "no such page\n")
			return
		}
		rw.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(rw, "<!DOCTYPE html>\n<html><head>\n")
		for _, m := range metas {
			fmt.Fprintf(rw, "<meta name=\"go-import\" content=\"%s\">\n", html.EscapeString(m))
		}
		fmt.Fprintf(rw, "</head><body>go get %s</body></html>\n", html.EscapeString(key))
		return
	}

	// Git's smart HTTP protocol, for repositories that exist.
	repo := r.URL.Path
	for _, suffix := range []string{"/info/refs", "/git-upload-pack", "/git-receive-pack", "/HEAD"} {
		if p, ok := strings.CutSuffix(repo, suffix); ok {
			repo = p
			break
		}
	}
	if i := strings.Index(repo, "/objects/"); i >= 0 {
		repo = repo[:i]
	}
	dir := filepath.Join(w.Root, host, filepath.FromSlash(repo))
	if _, err := os.Stat(filepath.Join(dir, "HEAD")); err != nil || !strings.HasPrefix(filepath.Clean(dir), filepath.Clean(w.Root)+string(filepath.Separator)) {
		rw.Header().Set("Content-Type", "text/plain; charset=utf-8")
		rw.WriteHeader(http.StatusNotFound)
		io.WriteString(rw, "repository not found\n")
		return
	}
	if repo == r.URL.Path {
		// A browser's (or the go command's existence check's) request
		// for the repository page.
		io.WriteString(rw, "a git repository\n")
		return
	}
	h2 := &cgi.Handler{
		Path: git,
		Args: []string{"http-backend"},
		Env: []string{
			"GIT_PROJECT_ROOT=" + filepath.Join(w.Root, host),
			"GIT_HTTP_EXPORT_ALL=1",
			"GIT_CONFIG_NOSYSTEM=1",
			"GIT_CONFIG_GLOBAL=" + os.DevNull,
		},
		InheritEnv: []string{"PATH"},
		Stderr:     io.Discard,
	}
	h2.ServeHTTP(rw, r)
}

// serveProxy tunnels CONNECT requests to the TLS server (for any host,
// except HTTPOnly ones) and serves absolute-URI plain http requests
// directly.
func (w *World) serveProxy(rw http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodConnect {
		w.mu.Lock()
		refused := w.httpOnly[hostOnly(r.Host)]
		w.mu.Unlock()
		if refused {
			http.Error(rw, "no https here", http.StatusBadGateway)
			return
		}
		dst, err := net.Dial("tcp", w.server.Listener.Addr().String())
		if err != nil {
			http.Error(rw, err.Error(), http.StatusBadGateway)
			return
		}
		hj, ok := rw.(http.Hijacker)
		if !ok {
			dst.Close()
			http.Error(rw, "no hijacking", http.StatusInternalServerError)
			return
		}
		conn, brw, err := hj.Hijack()
		if err != nil {
			dst.Close()
			return
		}
		io.WriteString(conn, "HTTP/1.1 200 Connection established\r\n\r\n")
		go tunnel(conn, brw.Reader, dst)
		return
	}
	if !r.URL.IsAbs() {
		http.Error(rw, "not a proxy request", http.StatusBadRequest)
		return
	}
	r.RequestURI = ""
	w.serve(rw, r)
}

func tunnel(client net.Conn, buffered *bufio.Reader, server net.Conn) {
	done := make(chan struct{}, 2)
	go func() {
		io.Copy(server, buffered)
		if tc, ok := server.(*net.TCPConn); ok {
			tc.CloseWrite()
		}
		done <- struct{}{}
	}()
	go func() {
		io.Copy(client, server)
		if tc, ok := client.(*net.TCPConn); ok {
			tc.CloseWrite()
		}
		done <- struct{}{}
	}()
	<-done
	<-done
	client.Close()
	server.Close()
}

// makeCerts makes a certificate authority and a server certificate for
// the host names the fixtures use.
func makeCerts(t testing.TB) (caPEM []byte, cert tls.Certificate, pool *x509.CertPool) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "modfetch test authority"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		IsCA:                  true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "modfetch test server"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames: []string{
			"github.com", "bitbucket.org", "gopkg.in", "example.com", "*.example.com",
			"example.org", "*.example.org", "localhost",
		},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	cert = tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	pool = x509.NewCertPool()
	pool.AddCert(ca)
	return caPEM, cert, pool
}
