package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/modfetch/modfetch/internal/fixture"
)

// writeCert writes a self-signed certificate for 127.0.0.1 and localhost
// and its key, and returns their files.
func writeCert(t *testing.T, dir string) (cert, key string) {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "modfetch test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:              []string{"localhost"},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	cert, key = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(key, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600)
	return cert, key
}

// TestTLSAndTokens: the real go command downloads through the server
// over TLS with a token from .netrc (GOAUTH=netrc); without it, it gets
// 401 and says so; no credential appears in the server's log.
func TestTLSAndTokens(t *testing.T) {
	set := fixture.Standard()
	sdb := fixture.NewSumDB("sum.example.com", set.GoSumLines)
	up := httptest.NewServer(&fixture.Server{Set: set, SumDB: sdb})
	defer up.Close()
	setEnv(t, up.URL)
	t.Setenv("GOSUMDB", sdb.Key)
	dir := t.TempDir()
	cert, key := writeCert(t, dir)
	const token = "tok-5f2b9c1e-never-logged"
	tokens := filepath.Join(dir, "tokens")
	os.WriteFile(tokens, []byte(token+"\n"), 0o600)

	var logs syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	ready, errc := make(chan string, 1), make(chan error, 1)
	go func() {
		errc <- run(ctx, []string{"-addr", "127.0.0.1:0", "-cache", t.TempDir(), "-tls-cert", cert, "-tls-key", key, "-tokens", tokens},
			slog.New(slog.NewTextHandler(&logs, nil)), ready)
	}()
	defer func() {
		cancel()
		if err := <-errc; err != nil {
			t.Error(err)
		}
	}()
	addr := <-ready
	goDownload := func(netrc string) (string, error) {
		home := t.TempDir()
		env := []string{
			"GOPROXY=https://" + addr, "GOSUMDB=" + sdb.Key, "GOAUTH=netrc", "GOENV=off", "HOME=" + home, "GOFLAGS=",
			"GOPATH=" + filepath.Join(home, "go"), "GOMODCACHE=" + filepath.Join(home, "go", "pkg", "mod"),
			"GOPRIVATE=", "GONOPROXY=", "GONOSUMDB=", "SSL_CERT_FILE=" + cert, "NETRC=" + filepath.Join(home, ".netrc"),
		}
		if netrc != "" {
			os.WriteFile(filepath.Join(home, ".netrc"), []byte(netrc), 0o600)
		}
		cmd := exec.Command("go", "mod", "download", "-json", "example.com/hello@v1.0.0")
		cmd.Dir = t.TempDir()
		cmd.Env = append(os.Environ(), env...)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	out, err := goDownload("")
	if err == nil || !strings.Contains(out, "401 Unauthorized") {
		t.Errorf("without credentials: err %v, output:\n%s\nwant a 401", err, out)
	}
	// The go command looks credentials up by host and port.
	out, err = goDownload("machine " + addr + " login ci password " + token + "\n")
	if err != nil || !strings.Contains(out, `"Sum": "`+set.Module("example.com/hello", "v1.0.0").ZipSum()+`"`) {
		t.Errorf("with a .netrc token: err %v, output:\n%s", err, out)
	}
	// /healthz and /readyz need no credentials; /metrics does.
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: tlsConfigFor(t, cert)}}
	for p, want := range map[string]int{"/healthz": 200, "/readyz": 200, "/metrics": 401} {
		resp, err := client.Get("https://" + addr + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("%s: %d, want %d", p, resp.StatusCode, want)
		}
	}
	cancel()
	<-errc
	errc <- nil
	if strings.Contains(logs.String(), token) {
		t.Errorf("the token appears in the log:\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), "status=401") {
		t.Errorf("the refused request is not in the access log:\n%s", logs.String())
	}
}

// tlsConfigFor trusts the certificate in file.
func tlsConfigFor(t *testing.T, file string) *tls.Config {
	t.Helper()
	pool := x509.NewCertPool()
	data, err := os.ReadFile(file)
	if err != nil || !pool.AppendCertsFromPEM(data) {
		t.Fatalf("reading %s: %v", file, err)
	}
	return &tls.Config{RootCAs: pool}
}
