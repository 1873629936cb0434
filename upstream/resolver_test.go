package upstream_test

import (
	"net/http"
	"net/http/httptest"
	"path"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/mod/semver"

	"github.com/modfetch/modfetch"
	"github.com/modfetch/modfetch/internal/gitfixture"
	"github.com/modfetch/modfetch/proxy"
	"github.com/modfetch/modfetch/resolvertest"
	"github.com/modfetch/modfetch/upstream"
)

// TestProxyResolver runs the Resolver conformance suite on a Proxy
// reading the Source through a proxy.Handler: the round trip of our
// server and our client.
func TestProxyResolver(t *testing.T) {
	var requests atomic.Int64
	resolvertest.Run(t, func(t *testing.T, src modfetch.Resolver) modfetch.Resolver {
		h := &proxy.Handler{Resolver: src}
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			requests.Add(1)
			h.ServeHTTP(w, r)
		}))
		t.Cleanup(srv.Close)
		return &upstream.Proxy{URL: srv.URL, Retry: modfetch.Retry{Attempts: 1}}
	}, resolvertest.Options{Requests: requests.Load})
}

// TestChainResolver runs the suite on a Chain that reaches the Source
// after an entry that knows nothing.
func TestChainResolver(t *testing.T) {
	resolvertest.Run(t, func(t *testing.T, src modfetch.Resolver) modfetch.Resolver {
		return &upstream.Chain{Entries: []upstream.Entry{{Resolver: upstream.Off{}}, {Resolver: src}}}
	}, resolvertest.Options{})
}

// TestDirectResolver runs the suite on Direct, over git repositories
// built from the Source's modules: a commit per version, dated like it,
// tagged with it, on the main branch in version order, each published
// behind a go-import tag.
func TestDirectResolver(t *testing.T) {
	w := gitfixture.NewWorld(t)
	byPath := make(map[string][]*resolvertest.Module)
	for _, m := range resolvertest.Modules() {
		byPath[m.Path] = append(byPath[m.Path], m)
	}
	for p, mods := range byPath {
		repo := "git.example.com/" + strings.ToLower(strings.ReplaceAll(p, "/", "-"))
		b := gitfixture.NewBuilder(t, filepath.Join(t.TempDir(), path.Base(repo)))
		var prev map[string]string
		for _, m := range sortByVersion(mods) {
			files := make(map[string]string)
			for name := range prev {
				files[name] = "\x00delete"
			}
			for name, data := range m.Files {
				files[name] = data
			}
			b.Commit(m.Time, m.Version, files)
			b.Tag(strings.TrimSuffix(m.Version, "+incompatible"))
			prev = m.Files
		}
		w.Publish(repo, b)
		w.Meta(p, p+" git https://"+repo)
	}
	// One Direct for every test (the Source plays no part in its answers),
	// with RefsTTL as a server sets it: each call need not list the
	// repository's refs again.
	d := &upstream.Direct{WorkDir: t.TempDir(), Client: w.Client(), Env: w.GitEnv(), GitTimeout: time.Minute, RefsTTL: time.Minute}
	resolvertest.Run(t, func(t *testing.T, src modfetch.Resolver) modfetch.Resolver {
		return d
	}, resolvertest.Options{Copies: true, Requests: func() int64 { return int64(len(w.Requests())) }})
}

func sortByVersion(mods []*resolvertest.Module) []*resolvertest.Module {
	out := append([]*resolvertest.Module(nil), mods...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if semver.Compare(out[j].Version, out[i].Version) < 0 {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}
