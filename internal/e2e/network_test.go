package e2e

import (
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
)

// networkHome is a throwaway environment that uses the public module proxy
// and checksum database. Tests using it run only when MODFETCH_NETWORK=1.
func networkHome(t *testing.T) *home {
	t.Helper()
	if os.Getenv("MODFETCH_NETWORK") != "1" {
		t.Skip("skipping: needs the public module proxy; set MODFETCH_NETWORK=1 to run")
	}
	h := newHome(t, &world{})
	h.env["GOPROXY"] = "https://proxy.golang.org"
	h.env["GOSUMDB"] = "sum.golang.org"
	if v := os.Getenv("MODFETCH_NETWORK_GOPROXY"); v != "" {
		h.env["GOPROXY"] = v
	}
	return h
}

// TestNetworkDownloadMatchesGoCommand compares examples/download with
// `go mod download -json` on real modules of every shape.
func TestNetworkDownloadMatchesGoCommand(t *testing.T) {
	goHome, ourHome := networkHome(t), networkHome(t)
	ourHome.env["GOPROXY"] = goHome.env["GOPROXY"]
	args := []string{
		"github.com/BurntSushi/toml@v1.3.2",                    // case-encoded path
		"github.com/docker/docker@v20.10.24+incompatible",      // +incompatible, no go.mod
		"gopkg.in/yaml.v3@v3.0.1",                              // gopkg.in
		"gopkg.in/check.v1@v0.0.0-20161208181325-20d25e280405", // gopkg.in pseudo-version
		"github.com/go-chi/chi/v5@v5.0.12",                     // major-version module
		"golang.org/x/text@v0.14.0",                            // vanity path
		"go.uber.org/zap@v1.27.0",                              // vanity path
		"cloud.google.com/go/storage@v1.40.0",                  // nested module
		"github.com/pkg/errors@v0.8.0",                         // version without go.mod
		"github.com/pkg/errors@v0.9.1+meta",                    // canonical retry
		"github.com/klauspost/compress@v1.14.2",                // retracted, still downloadable
		"github.com/modfetch-test/does-not-exist@v1.0.0",       // nonexistent module
		"github.com/pkg/errors@v0.9.99",                        // nonexistent version
		"github.com/pkg/errors@feature/x",                      // invalid version
		"GitHub.com/pkg/errors@v0.9.1",                         // malformed path
	}
	compareDownload(t, goHome, ourHome, args, true)
}

// TestNetworkListMatchesGoCommand compares examples/list and
// examples/download with the go command on real modules and queries.
func TestNetworkListMatchesGoCommand(t *testing.T) {
	goHome, ourHome := networkHome(t), networkHome(t)
	for _, args := range [][]string{
		{"-json", "k8s.io/client-go@latest"}, // latest skips the retracted v1.5.x
		{"-json", "github.com/prometheus/prometheus@latest"},
		{"-json", "google.golang.org/grpc@latest"},
		{"-json", "-retracted", "google.golang.org/grpc@v1.74.0"},
		{"-json", "golang.org/x/exp@latest"}, // pseudo-versions only
		{"-json", "-u", "github.com/go-chi/chi@latest"},
		{"-json", "-u", "github.com/golang/protobuf@v1.5.3"},
		{"-versions", "github.com/klauspost/compress"},
		{"-versions", "-retracted", "github.com/klauspost/compress"},
		{"-json", "-retracted", "github.com/klauspost/compress@v1.14.2"},
		{"github.com/docker/docker@latest", "github.com/docker/docker@v20", "github.com/docker/docker@>=v20.10", "github.com/docker/docker@<v2"},
		{"github.com/russross/blackfriday@latest", "github.com/russross/blackfriday@v2.0.0+incompatible"},
		{"gopkg.in/yaml.v3@v3", "gopkg.in/yaml.v3@<v3.0.1", "gopkg.in/yaml.v3@latest"},
		{"-e", "-json", "github.com/pkg/errors@v1", "github.com/pkg/errors@>v1.2", "github.com/pkg/errors@v0.9", "github.com/pkg/errors@v0.9.1+meta"},
	} {
		compareList(t, goHome, ourHome, args...)
	}
	compareDownload(t, networkHome(t), networkHome(t), []string{
		"github.com/go-chi/chi/v5@latest",
		"golang.org/x/exp@latest",
		"k8s.io/client-go@v0.30",
		"github.com/spf13/cobra@>=v1.7.0",
		"github.com/docker/docker@v20",
	}, false)
}

// TestNetworkProxyServer runs examples/proxyserver against the public
// module proxy and checksum database and has the go command download real
// projects' dependencies through it, verifying them through its /sumdb/.
func TestNetworkProxyServer(t *testing.T) {
	client := networkHome(t)
	server := networkHome(t)
	addr, logs, _ := startProxyServer(t, server)
	client.env["GOPROXY"] = "http://" + addr
	for _, project := range []string{"github.com/spf13/cobra@v1.8.0", "github.com/prometheus/prometheus@v0.53.0"} {
		path, version, _ := strings.Cut(project, "@")
		resp, err := http.Get("https://proxy.golang.org/" + path + "/@v/" + version + ".mod")
		if err != nil {
			t.Fatal(err)
		}
		gomod, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		src := t.TempDir()
		writeFiles(t, src, map[string]string{"go.mod": string(gomod)})
		out, stderr, err := client.goCmd(t, src, "mod", "download", "-json")
		if err != nil {
			t.Fatalf("%s: go mod download through the proxy: %v\n%s", project, err, stderr)
		}
		mods := decodeModules(t, out)
		for _, m := range mods {
			if m.Error != "" || m.Sum == "" {
				t.Errorf("%s: %+v", project, m)
			}
		}
		t.Logf("%s: %d modules downloaded through examples/proxyserver", project, len(mods))
	}
	if !strings.Contains(logs.String(), "path=/sumdb/sum.golang.org/lookup/") {
		t.Fatalf("the go command did not verify through the proxy's /sumdb/:\n%s", logs.String())
	}
}
