package upstream

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modfetch/modfetch"
	"github.com/modfetch/modfetch/internal/fixture"
)

// cuttingServer serves set; a zip request without a Range header, while
// cut is true, gets the right headers and the first 100 bytes of the zip,
// then the connection breaks. It records the Range headers of zip
// requests ("" for none).
type cuttingServer struct {
	srv    *httptest.Server
	mu     sync.Mutex
	cut    bool
	ranges []string
}

func newCuttingServer(t *testing.T, set *fixture.Set, cut bool) *cuttingServer {
	cs := &cuttingServer{cut: cut}
	cs.srv = httptest.NewServer(&fixture.Server{Set: set, Fault: func(w http.ResponseWriter, r *http.Request) bool {
		if !strings.HasSuffix(r.URL.Path, ".zip") {
			return false
		}
		cs.mu.Lock()
		cs.ranges = append(cs.ranges, r.Header.Get("Range"))
		cut := cs.cut && r.Header.Get("Range") == ""
		cs.mu.Unlock()
		if !cut {
			return false
		}
		zip := set.Module("example.com/hello", "v1.0.0").Zip
		w.Header().Set("Content-Length", fmt.Sprint(len(zip)))
		w.Write(zip[:100])
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler) // the connection breaks
	}})
	t.Cleanup(cs.srv.Close)
	return cs
}

func (cs *cuttingServer) zipRanges() []string {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	return append([]string(nil), cs.ranges...)
}

func TestChainResumesZips(t *testing.T) {
	set := fixture.Standard()
	want := set.Module("example.com/hello", "v1.0.0").Zip
	for _, tt := range []struct {
		name       string
		sep        string
		secondCuts bool
		wantWhole  bool
		first      []string // Range headers the first proxy sees
		second     []string // and the second
	}{
		// The first proxy is asked again from byte 100 and answers.
		{"same proxy", ",", false, true, []string{"", "bytes=100-"}, nil},
		{"same proxy before a |", "|", false, true, []string{"", "bytes=100-"}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a, b := newCuttingServer(t, set, true), newCuttingServer(t, set, tt.secondCuts)
			chain, err := (&Config{}).Parse(a.srv.URL + tt.sep + b.srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			rc, err := chain.Zip(context.Background(), "example.com/hello", "v1.0.0")
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(rc)
			rc.Close()
			if tt.wantWhole && (err != nil || !bytes.Equal(got, want)) {
				t.Fatalf("read %d bytes, %v; want the whole %d-byte zip", len(got), err, len(want))
			}
			if r := a.zipRanges(); fmt.Sprint(r) != fmt.Sprint(tt.first) {
				t.Errorf("first proxy's zip requests: %q, want %q", r, tt.first)
			}
			if r := b.zipRanges(); fmt.Sprint(r) != fmt.Sprint(tt.second) {
				t.Errorf("second proxy's zip requests: %q, want %q", r, tt.second)
			}
		})
	}
}

// rangeRefuser answers 503 to Range requests: the first proxy can only
// start zips, so a resumption must go to the next "|" entry, and after a
// "," must not.
func TestChainResumesWithNextMirror(t *testing.T) {
	set := fixture.Standard()
	want := set.Module("example.com/hello", "v1.0.0").Zip
	for _, sep := range []string{"|", ","} {
		t.Run(sep, func(t *testing.T) {
			a := newCuttingServer(t, set, true)
			refuse := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Header.Get("Range") != "" {
					http.Error(w, "no ranges today", http.StatusServiceUnavailable)
					return
				}
				a.srv.Config.Handler.ServeHTTP(w, r)
			}))
			defer refuse.Close()
			b := newCuttingServer(t, set, false)
			chain, err := (&Config{Retry: modfetch.Retry{Attempts: 1}}).Parse(refuse.URL + sep + b.srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			rc, err := chain.Zip(context.Background(), "example.com/hello", "v1.0.0")
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(rc)
			rc.Close()
			switch sep {
			case "|":
				if err != nil || !bytes.Equal(got, want) {
					t.Fatalf("read %d bytes, %v; want the whole zip", len(got), err)
				}
				if r := b.zipRanges(); fmt.Sprint(r) != "[bytes=100-]" {
					t.Errorf("next mirror's zip requests: %q", r)
				}
			case ",":
				if err == nil || len(got) != 100 {
					t.Fatalf("read %d bytes, %v; want 100 and the failure", len(got), err)
				}
				if r := b.zipRanges(); len(r) != 0 {
					t.Errorf("the entry after a ',' was asked: %q", r)
				}
			}
		})
	}
}

// TestChainResumeNotAfterCancel: a reader whose caller left is not resumed.
func TestChainResumeNotAfterCancel(t *testing.T) {
	set := fixture.Standard()
	a := newCuttingServer(t, set, true)
	chain, err := (&Config{}).Parse(a.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	rc, err := chain.Zip(ctx, "example.com/hello", "v1.0.0")
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	io.ReadAll(rc)
	rc.Close()
	if r := a.zipRanges(); len(r) != 1 {
		t.Errorf("zip requests after the caller left: %q", r)
	}
}

// TestChainZipCloseEndsWaitingRead: closing a Chain's zip from another
// goroutine ends a Read waiting for a stalled body, and nothing is
// resumed after it.
func TestChainZipCloseEndsWaitingRead(t *testing.T) {
	set := fixture.Standard()
	stalled := make(chan struct{})
	var zipRequests sync.WaitGroup
	srv := httptest.NewServer(&fixture.Server{Set: set, Fault: func(w http.ResponseWriter, r *http.Request) bool {
		if !strings.HasSuffix(r.URL.Path, ".zip") {
			return false
		}
		zipRequests.Add(1)
		defer zipRequests.Done()
		zip := set.Module("example.com/hello", "v1.0.0").Zip
		w.Header().Set("Content-Length", fmt.Sprint(len(zip)))
		w.Write(zip[:10])
		w.(http.Flusher).Flush()
		close(stalled)
		<-r.Context().Done() // until the client goes
		return true
	}})
	defer srv.Close()
	chain, err := (&Config{}).Parse(srv.URL + "|" + srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := chain.Zip(context.Background(), "example.com/hello", "v1.0.0")
	if err != nil {
		t.Fatal(err)
	}
	<-stalled
	errc := make(chan error, 1)
	go func() {
		_, err := io.ReadAll(rc)
		errc <- err
	}()
	rc.Close()
	select {
	case err := <-errc:
		if err == nil {
			t.Fatal("Read of a closed, stalled zip succeeded")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Read still waiting 10 s after Close")
	}
	zipRequests.Wait() // the server's handler saw the client go
}
