package proxy

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/modfetch/modfetch/cache"
	"github.com/modfetch/modfetch/internal/fixture"
	"github.com/modfetch/modfetch/upstream"
)

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

// TestAccessLog: one record per request, with the cache's result and the
// upstream that answered a fetch, and how the request ended: complete,
// cut off after its status (a warning), or left by its client.
func TestAccessLog(t *testing.T) {
	set := fixture.Standard()
	up := httptest.NewServer(&fixture.Server{Set: set})
	defer up.Close()
	chain, err := (&upstream.Config{}).Parse(up.URL)
	if err != nil {
		t.Fatal(err)
	}
	h := &Handler{Resolver: &cache.Cache{Next: chain, Store: &cache.MemStore{}}}
	arrived, left := make(chan struct{}), make(chan struct{})
	mux := http.NewServeMux()
	mux.Handle("/", h)
	mux.HandleFunc("/aborted", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "half a zip")
		w.(http.Flusher).Flush() // the status is out
		panic(http.ErrAbortHandler)
	})
	mux.HandleFunc("/left", func(w http.ResponseWriter, r *http.Request) {
		close(arrived)
		<-r.Context().Done()
		close(left)
	})
	var logs syncBuffer
	srv := httptest.NewServer(AccessLog(slog.New(slog.NewTextHandler(&logs, nil)), slog.LevelInfo, mux))
	defer srv.Close()
	for _, p := range []string{"/example.com/hello/@v/v1.0.0.zip", "/example.com/hello/@v/v1.0.0.zip", "/aborted"} {
		if resp, err := http.Get(srv.URL + p); err == nil {
			io.ReadAll(resp.Body)
			resp.Body.Close()
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/left", nil)
	go func() {
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	<-arrived
	cancel()
	<-left
	srv.Close() // waits for the handlers, so their records are written
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	zipLen := len(set.Module("example.com/hello", "v1.0.0").Zip)
	want := []string{
		`level=INFO msg=request method=GET path=/example.com/hello/@v/v1.0.0.zip status=200 bytes=` + itoa(zipLen) + ` duration=`,
		` cache=miss upstream=` + up.URL + ` outcome=complete`,
		`level=INFO msg=request method=GET path=/example.com/hello/@v/v1.0.0.zip status=200 bytes=` + itoa(zipLen) + ` duration=`,
		` cache=hit upstream="" outcome=complete`,
		`level=WARN msg=request method=GET path=/aborted status=200 bytes=10 duration=`,
		` cache="" upstream="" outcome=aborted`,
		`level=INFO msg=request method=GET path=/left status=200 bytes=0 duration=`,
		` cache="" upstream="" outcome="client left"`,
	}
	if len(lines) != 4 {
		t.Fatalf("%d records, want 4:\n%s", len(lines), logs.String())
	}
	for i, line := range lines {
		if !strings.Contains(line, want[2*i]) || !strings.HasSuffix(line, want[2*i+1]) {
			t.Errorf("record %d:\n%s\nwant it to contain %q and end with %q", i, line, want[2*i], want[2*i+1])
		}
		if strings.Contains(line, "Authorization") {
			t.Errorf("record %d holds credentials", i)
		}
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
