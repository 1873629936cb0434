package goenv_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modfetch/modfetch"
	"github.com/modfetch/modfetch/cache"
	"github.com/modfetch/modfetch/goenv"
	"github.com/modfetch/modfetch/internal/fixture"
)

// TestServer: one call builds a server that serves modules, verified
// against the checksum database it also serves under /sumdb/, reports
// readiness, and drains its write-behind on Close.
func TestServer(t *testing.T) {
	set := fixture.Standard()
	sdb := fixture.NewSumDB("sum.example.com", set.GoSumLines)
	up := httptest.NewServer(&fixture.Server{Set: set, SumDB: sdb})
	defer up.Close()
	dir := t.TempDir()
	cfg := &goenv.Config{GOPROXY: up.URL, GOSUMDB: sdb.Key, GOMODCACHE: filepath.Join(dir, "mod")}
	var filtered int
	s, err := cfg.Server(&goenv.ServerOptions{
		Options:       goenv.Options{NoDirect: true, WriteBehind: true, MutableTTL: time.Minute},
		SumDBStateDir: filepath.Join(dir, "sumdb"),
		Filter: func(r modfetch.Resolver) modfetch.Resolver {
			filtered++
			return r
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if filtered != 1 {
		t.Errorf("Filter called %d times, want 1", filtered)
	}
	if s.Handler.Memory != nil {
		t.Error("with a Filter, hot answers would bypass it from memory")
	}
	srv := httptest.NewServer(s)
	defer srv.Close()
	get := func(p string) (int, []byte) {
		t.Helper()
		resp, err := http.Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	m := set.Module("example.com/hello", "v1.0.0")
	if code, b := get("/example.com/hello/@v/v1.0.0.zip"); code != 200 || !bytes.Equal(b, m.Zip) {
		t.Fatalf("zip: %d, %d bytes", code, len(b))
	}
	if code, b := get("/sumdb/sum.example.com/lookup/example.com/hello@v1.0.0"); code != 200 || !bytes.Contains(b, []byte(m.ZipSum())) {
		t.Fatalf("sumdb lookup: %d %q", code, b)
	}
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if rc, err := s.Stack.Store.Get(context.Background(), "example.com/hello/@v/v1.0.0.zip"); err != nil {
		t.Errorf("zip not in the store after Close: %v", err)
	} else {
		rc.Close()
	}
	rsrv := httptest.NewServer(s.Ready())
	defer rsrv.Close()
	resp, err := http.Get(rsrv.URL)
	if err != nil {
		t.Fatal(err)
	}
	var rep goenv.Readiness
	json.NewDecoder(resp.Body).Decode(&rep)
	resp.Body.Close()
	if resp.StatusCode != 200 || !rep.Ready || !rep.Store.OK || len(rep.Upstreams) != 1 {
		t.Errorf("readiness: %d %+v", resp.StatusCode, rep)
	}
}

func TestCheckNotSelf(t *testing.T) {
	for _, tt := range []struct {
		goproxy, addr string
		self          bool
	}{
		{"http://localhost:3000", "localhost:3000", true},
		{"http://127.0.0.1:3000,direct", "localhost:3000", true},
		{"https://proxy.golang.org,direct", "localhost:3000", false},
		{"http://localhost:3001", "localhost:3000", false},
		{"http://10.0.0.5:3000", "localhost:3000", false},
		{"http://[::1]:3000", ":3000", true},
		{"off", "localhost:3000", false},
	} {
		err := (&goenv.Config{GOPROXY: tt.goproxy}).CheckNotSelf(tt.addr)
		if (err != nil) != tt.self {
			t.Errorf("CheckNotSelf of GOPROXY=%q on %q = %v", tt.goproxy, tt.addr, err)
		}
	}
}

// flakyStore fails every operation while down.
type flakyStore struct {
	cache.MemStore
	down atomic.Bool
}

var errStoreDown = errors.New("store unreachable")

func (f *flakyStore) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	if f.down.Load() {
		return nil, errStoreDown
	}
	return f.MemStore.Get(ctx, key)
}

// TestReadinessFollowsStore: /readyz answers 503 while the store is
// unusable and 200 again once it is back.
func TestReadinessFollowsStore(t *testing.T) {
	up := httptest.NewServer(&fixture.Server{Set: fixture.Standard()})
	defer up.Close()
	store := &flakyStore{}
	cfg := &goenv.Config{GOPROXY: up.URL, GOSUMDB: "off", GOMODCACHE: t.TempDir()}
	s, err := cfg.Server(&goenv.ServerOptions{Options: goenv.Options{NoDirect: true, Store: store}})
	if err != nil {
		t.Fatal(err)
	}
	rsrv := httptest.NewServer(s.Ready())
	defer rsrv.Close()
	for _, step := range []struct {
		down bool
		want int
	}{{false, 200}, {true, 503}, {false, 200}} {
		store.down.Store(step.down)
		resp, err := http.Get(rsrv.URL)
		if err != nil {
			t.Fatal(err)
		}
		var rep goenv.Readiness
		json.NewDecoder(resp.Body).Decode(&rep)
		resp.Body.Close()
		if resp.StatusCode != step.want || rep.Store.OK == step.down {
			t.Errorf("store down=%v: %d %+v, want %d", step.down, resp.StatusCode, rep, step.want)
		}
		if step.down && (rep.Store.Error == "" || strings.Contains(rep.Store.Error, "store unreachable")) {
			t.Errorf("readiness: %+v; want a short reason without the error's detail", rep.Store)
		}
	}
}
