package proxy

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/modfetch/modfetch/cache"
	"github.com/modfetch/modfetch/internal/fixture"
)

// objectStore is a cache.DirStore whose values an HTTP server (srv)
// serves at signed URLs, as an object store's presigned GETs do.
type objectStore struct {
	cache.DirStore
	srv *httptest.Server
}

func (s *objectStore) SignedURL(ctx context.Context, key string, expiry time.Duration) (*url.URL, error) {
	if rc, err := s.DirStore.Get(ctx, key); err != nil {
		return nil, err
	} else {
		rc.Close()
	}
	u, err := url.Parse(s.srv.URL + "/" + key)
	if err != nil {
		return nil, err
	}
	u.RawQuery = "X-Expires=" + expiry.String()
	return u, nil
}

// countingWriter counts the body bytes a handler writes.
type countingWriter struct {
	http.ResponseWriter
	n *int64
}

func (c countingWriter) Write(p []byte) (int, error) {
	*c.n += int64(len(p))
	return c.ResponseWriter.Write(p)
}

// TestRedirectZips: with RedirectZips, a stored zip is answered with a
// redirect to the store, whose URL serves the right bytes, and the
// handler writes none of them; a zip not stored yet is served (and
// stored) as usual; other files are never redirected.
func TestRedirectZips(t *testing.T) {
	set := fixture.Standard()
	m := set.Module("example.com/hello", "v1.0.0")
	store := &objectStore{DirStore: cache.DirStore{Dir: t.TempDir()}}
	store.srv = httptest.NewServer(http.FileServer(http.Dir(store.Dir)))
	defer store.srv.Close()
	c := &cache.Cache{Next: set, Store: store}
	h := &Handler{Resolver: c, RedirectZips: 10 * time.Minute}
	var written int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(countingWriter{w, &written}, r)
	}))
	defer srv.Close()
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	zipURL := srv.URL + "/example.com/hello/@v/v1.0.0.zip"

	get := func(client *http.Client, u string) (*http.Response, []byte) {
		t.Helper()
		resp, err := client.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp, body
	}
	// Cold: served by the handler, and stored.
	resp, body := get(noFollow, zipURL)
	if resp.StatusCode != http.StatusOK || !bytes.Equal(body, m.Zip) || written != int64(len(m.Zip)) {
		t.Fatalf("cold zip: %s, %d bytes (handler wrote %d), want 200 and the zip", resp.Status, len(body), written)
	}
	// Warm: a redirect to the store, and no zip byte from the handler.
	written = 0
	resp, _ = get(noFollow, zipURL)
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusFound || loc != store.srv.URL+"/example.com/hello/@v/v1.0.0.zip?X-Expires=10m0s" {
		t.Fatalf("warm zip: %s, Location %q", resp.Status, loc)
	}
	if resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("redirect Cache-Control = %q, want no-store (the URL expires)", resp.Header.Get("Cache-Control"))
	}
	if written != 0 {
		t.Errorf("handler wrote %d body bytes for a redirect", written)
	}
	resp, body = get(http.DefaultClient, zipURL)
	if resp.StatusCode != http.StatusOK || !bytes.Equal(body, m.Zip) {
		t.Fatalf("following the redirect: %s, %d bytes", resp.Status, len(body))
	}
	// .mod and .info are served, not redirected.
	for _, p := range []string{"/example.com/hello/@v/v1.0.0.mod", "/example.com/hello/@v/v1.0.0.info"} {
		if resp, _ := get(noFollow, srv.URL+p); resp.StatusCode != http.StatusOK {
			t.Errorf("%s: %s", p, resp.Status)
		}
	}
	// Without RedirectZips, a stored zip is served.
	h.RedirectZips = 0
	if resp, body := get(noFollow, zipURL); resp.StatusCode != http.StatusOK || !bytes.Equal(body, m.Zip) {
		t.Errorf("zip without RedirectZips: %s", resp.Status)
	}
}
