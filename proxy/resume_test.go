package proxy

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/modfetch/modfetch/cache"
	"github.com/modfetch/modfetch/checksum"
	"github.com/modfetch/modfetch/internal/fixture"
	"github.com/modfetch/modfetch/upstream"
)

// TestServerResumesCutZips: a zip whose upstream body breaks in the middle
// reaches the client whole and verified, resumed with a Range request; a
// resumption from a mirror whose bytes differ is caught by verification
// and nothing is stored.
func TestServerResumesCutZips(t *testing.T) {
	genuine, tampered := fixture.Standard(), fixture.Standard()
	files := map[string]string{"go.mod": "module example.com/big\n", "blob.bin": fixture.Noise(500 << 10)}
	genuine.Add("example.com/big", "v1.0.0", files, fixture.Day(1))
	files["blob.bin"] += "evil"
	tampered.Add("example.com/big", "v1.0.0", files, fixture.Day(1))
	want := genuine.Module("example.com/big", "v1.0.0").Zip

	sdb := fixture.NewSumDB("sum.example.com", genuine.GoSumLines)
	dbsrv := httptest.NewServer(sdb)
	defer dbsrv.Close()

	// cutting serves set, breaking every whole-zip answer after 100 KiB,
	// and refusing ranges if refuse.
	cutting := func(set *fixture.Set, refuse bool) *httptest.Server {
		srv := httptest.NewServer(&fixture.Server{Set: set, Fault: func(w http.ResponseWriter, r *http.Request) bool {
			if !strings.HasSuffix(r.URL.Path, ".zip") {
				return false
			}
			if r.Header.Get("Range") != "" {
				if refuse {
					http.Error(w, "no ranges", http.StatusServiceUnavailable)
					return true
				}
				return false
			}
			zip := set.Module("example.com/big", "v1.0.0").Zip
			w.Header().Set("Content-Length", fmt.Sprint(len(zip)))
			w.Write(zip[:100<<10])
			w.(http.Flusher).Flush()
			panic(http.ErrAbortHandler)
		}})
		t.Cleanup(srv.Close)
		return srv
	}
	for _, tt := range []struct {
		name    string
		goproxy func() string
		whole   bool
	}{
		{"resumed from the same mirror", func() string { return cutting(genuine, false).URL }, true},
		{"resumed from a mirror with other bytes", func() string {
			other := httptest.NewServer(&fixture.Server{Set: tampered})
			t.Cleanup(other.Close)
			return cutting(genuine, true).URL + "|" + other.URL
		}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			chain, err := (&upstream.Config{}).Parse(tt.goproxy())
			if err != nil {
				t.Fatal(err)
			}
			store := &cache.DirStore{Dir: t.TempDir()}
			c := &cache.Cache{
				Next:  &checksum.Verify{Next: chain, DB: &checksum.DB{Key: sdb.Key, URL: dbsrv.URL}, TempDir: t.TempDir()},
				Store: store,
			}
			srv := httptest.NewServer(&Handler{Resolver: c})
			defer srv.Close()
			resp, err := http.Get(srv.URL + "/example.com/big/@v/v1.0.0.zip")
			if err != nil {
				t.Fatal(err)
			}
			got, rerr := io.ReadAll(resp.Body)
			resp.Body.Close()
			_, serr := store.Get(context.Background(), "example.com/big/@v/v1.0.0.zip")
			if tt.whole {
				if resp.StatusCode != 200 || rerr != nil || !bytes.Equal(got, want) {
					t.Fatalf("got %d, %d bytes, %v; want the whole %d-byte zip", resp.StatusCode, len(got), rerr, len(want))
				}
				if serr != nil {
					t.Errorf("verified zip not stored: %v", serr)
				}
				return
			}
			if resp.StatusCode == 200 && rerr == nil {
				t.Fatalf("a zip with resumed bytes that do not verify was served whole (%d bytes)", len(got))
			}
			if !strings.Contains(string(got), "checksum mismatch") && resp.StatusCode != 200 {
				t.Errorf("answer %d %q, want the checksum mismatch", resp.StatusCode, got)
			}
			if serr == nil {
				t.Error("a zip that does not verify was stored")
			}
		})
	}
}
