package e2e

import (
	"strings"
	"testing"

	"github.com/modfetch/modfetch/internal/fixture"
	"github.com/modfetch/modfetch/internal/gitfixture"
)

// TestPrivateGitModuleThroughProxyServer: examples/proxyserver, with
// GOPRIVATE covering a module, fetches it from its git repository (a local
// git server standing in for github.com) and serves it; the public proxy
// and checksum database never hear of it, while public modules still come
// from them.
func TestPrivateGitModuleThroughProxyServer(t *testing.T) {
	gitfixture.NeedGit(t)
	gw := gitfixture.NewStandard(t)
	w := newWorld(t, fixture.Standard())

	server := newHome(t, w)
	for k, v := range gw.GoEnv() {
		server.env[k] = v
	}
	server.env["GOPROXY"] = w.proxyURL + ",direct"
	server.env["GOSUMDB"] = w.gosumdb()
	server.env["GOPRIVATE"] = "github.com/fix"
	addr, logs, _ := startProxyServer(t, server)

	// The reference: the go command fetching the module directly.
	ref := directHome(t, gw)
	refOut, stderr, err := ref.goCmd(t, t.TempDir(), "mod", "download", "-json", "github.com/fix/basic@v1.1.0")
	if err != nil {
		t.Fatalf("reference download: %v\n%s%s", err, refOut, stderr)
	}
	want := decodeModules(t, refOut)[0]

	client := newHome(t, w)
	client.env["GOPROXY"] = "http://" + addr
	client.env["GOSUMDB"] = w.sumdb.Key
	client.env["GONOSUMDB"] = "github.com/fix"
	out, stderr, err := client.goCmd(t, t.TempDir(), "mod", "download", "-json", "github.com/fix/basic@v1.1.0", "github.com/fix/multi/sub@v1.0.0", "example.com/hello@v1.1.0")
	if err != nil {
		t.Fatalf("go mod download through the proxy: %v\n%s%s\nserver log:\n%s", err, out, stderr, logs.String())
	}
	mods := decodeModules(t, out)
	if got := mods[0]; got.Version != want.Version || got.Sum != want.Sum || got.GoModSum != want.GoModSum {
		t.Fatalf("through the proxy: %+v\ndirect: %+v", got, want)
	}
	if mods[1].Error != "" || mods[2].Sum != w.set.Module("example.com/hello", "v1.1.0").ZipSum() {
		t.Fatalf("%+v", mods)
	}
	for _, r := range w.proxy.Requests() {
		if strings.Contains(r, "fix/") {
			t.Fatalf("the public proxy was asked for a private module: %s", r)
		}
	}
	for _, r := range w.sumdb.Paths() {
		if strings.Contains(r, "fix/") {
			t.Fatalf("the checksum database was asked for a private module: %s", r)
		}
	}
	if w.proxy.Hits("/example.com/hello/@v/v1.1.0.zip") != 1 {
		t.Fatalf("public module not fetched from the public proxy: %v", w.proxy.Requests())
	}
	// The git server did the work.
	found := false
	for _, r := range gw.Requests() {
		if strings.Contains(r, "github.com/fix/basic") {
			found = true
		}
	}
	if !found {
		t.Fatalf("the git server never saw github.com/fix/basic: %v", gw.Requests())
	}
}
