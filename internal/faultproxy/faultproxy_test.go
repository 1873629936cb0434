package faultproxy_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"

	"github.com/modfetch/modfetch/internal/faultproxy"
	"github.com/modfetch/modfetch/internal/fixture"
)

func testSet() *fixture.Set {
	set := new(fixture.Set)
	set.Add("example.com/m", "v1.0.0", map[string]string{
		"go.mod":   "module example.com/m\n",
		"m.go":     "package m",
		"data.bin": fixture.Noise(100 << 10),
	}, fixture.Day(1))
	return set
}

func get(t *testing.T, ctx context.Context, c *http.Client, u string) (*http.Response, []byte, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, "GET", u, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp, body, err
}

func TestFaults(t *testing.T) {
	set := testSet()
	m := set.Module("example.com/m", "v1.0.0")
	s := &faultproxy.Server{Set: set, Limits: map[faultproxy.Kind]int64{faultproxy.Mod: 1000, faultproxy.Zip: 200 << 10}}
	s.Start()
	defer s.Close()
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr}
	ctx := context.Background()
	base := s.URL + "/example.com/m/@v/v1.0.0"

	for _, tt := range []struct {
		fault faultproxy.Fault
		kind  faultproxy.Kind
		check func(t *testing.T, resp *http.Response, body []byte, err error)
	}{
		{faultproxy.None, faultproxy.Zip, func(t *testing.T, resp *http.Response, body []byte, err error) {
			if err != nil || resp.StatusCode != 200 || !bytes.Equal(body, m.Zip) {
				t.Fatalf("%v %v", resp, err)
			}
		}},
		{faultproxy.Status503, faultproxy.Info, func(t *testing.T, resp *http.Response, body []byte, err error) {
			if err != nil || resp.StatusCode != 503 || !strings.Contains(string(body), "injected fault") {
				t.Fatalf("%v %q %v", resp, body, err)
			}
		}},
		{faultproxy.TooManyRequests, faultproxy.Mod, func(t *testing.T, resp *http.Response, body []byte, err error) {
			if err != nil || resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "1" {
				t.Fatalf("%v %v", resp, err)
			}
		}},
		{faultproxy.Reset, faultproxy.Zip, func(t *testing.T, resp *http.Response, body []byte, err error) {
			if !errors.Is(err, syscall.ECONNRESET) || len(body) >= len(m.Zip) {
				t.Fatalf("read %d of %d bytes, %v; want a reset", len(body), len(m.Zip), err)
			}
		}},
		{faultproxy.Truncate, faultproxy.Zip, func(t *testing.T, resp *http.Response, body []byte, err error) {
			if !errors.Is(err, io.ErrUnexpectedEOF) || len(body) != len(m.Zip)/2 {
				t.Fatalf("read %d of %d bytes, %v; want half and an unexpected EOF", len(body), len(m.Zip), err)
			}
		}},
		{faultproxy.GarbageInfo, faultproxy.Info, func(t *testing.T, resp *http.Response, body []byte, err error) {
			if err != nil || resp.StatusCode != 200 || json.Valid(body) || len(body) == 0 {
				t.Fatalf("%v %q %v", resp, body, err)
			}
		}},
		{faultproxy.EmptyInfo, faultproxy.Info, func(t *testing.T, resp *http.Response, body []byte, err error) {
			if err != nil || resp.StatusCode != 200 || len(body) != 0 {
				t.Fatalf("%v %q %v", resp, body, err)
			}
		}},
		{faultproxy.Oversize, faultproxy.Mod, func(t *testing.T, resp *http.Response, body []byte, err error) {
			if err != nil || len(body) != 1001 || !bytes.HasPrefix(body, m.Mod) {
				t.Fatalf("%d bytes %v", len(body), err)
			}
		}},
		{faultproxy.Oversize, faultproxy.Zip, func(t *testing.T, resp *http.Response, body []byte, err error) {
			if err != nil || len(body) != 200<<10+1 {
				t.Fatalf("%d bytes %v", len(body), err)
			}
		}},
		{faultproxy.Tamper, faultproxy.Zip, func(t *testing.T, resp *http.Response, body []byte, err error) {
			if err != nil || bytes.Equal(body, m.Zip) {
				t.Fatalf("%v, same bytes: %v", err, bytes.Equal(body, m.Zip))
			}
			z, err := zip.NewReader(bytes.NewReader(body), int64(len(body)))
			if err != nil || len(z.File) == 0 || !strings.HasPrefix(z.File[0].Name, "example.com/m@v1.0.0/") {
				t.Fatalf("tampered zip is not a module zip: %v", err)
			}
		}},
	} {
		t.Run(tt.fault.String()+"/"+string(tt.kind), func(t *testing.T) {
			s.Heal()
			s.Inject(tt.fault, tt.kind)
			before := s.Hits(tt.kind)
			resp, body, err := get(t, ctx, c, base+"."+string(tt.kind))
			tt.check(t, resp, body, err)
			if n := s.Hits(tt.kind) - before; n != 1 {
				t.Errorf("%d requests counted, want 1", n)
			}
		})
	}

	t.Run("stall", func(t *testing.T) {
		s.Heal()
		s.Inject(faultproxy.Stall, faultproxy.Zip)
		req, _ := http.NewRequestWithContext(ctx, "GET", base+".zip", nil)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != 200 || resp.ContentLength != int64(len(m.Zip)) {
			t.Fatalf("%v", resp)
		}
		// The handler waits for the client to leave.
		if s.Active() != 1 {
			t.Fatalf("active = %d, want the stalled answer", s.Active())
		}
		resp.Body.Close()
		fixture.WaitFor(t, "the stalled answer to end when its client left", func() bool { return s.Active() == 0 })
	})
}

// TestCloseEndsStalls: Close returns with a stalled answer in flight, and
// the client sees its body end.
func TestCloseEndsStalls(t *testing.T) {
	s := &faultproxy.Server{Set: testSet()}
	s.Start()
	s.Inject(faultproxy.Stall)
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Get(s.URL + "/example.com/m/@v/v1.0.0.info")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	s.Close()
	if _, err := io.ReadAll(resp.Body); err == nil {
		t.Fatal("stalled body ended cleanly")
	}
	if s.Active() != 0 {
		t.Fatalf("active = %d after Close", s.Active())
	}
}

func TestUnreachable(t *testing.T) {
	u, err := faultproxy.RefusedURL()
	if err != nil {
		t.Fatal(err)
	}
	_, err = net.Dial("tcp", strings.TrimPrefix(u, "http://"))
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("dial %s: %v, want connection refused", u, err)
	}
	_, err = net.DefaultResolver.LookupHost(context.Background(), strings.TrimPrefix(faultproxy.Unresolvable, "http://"))
	var dns *net.DNSError
	if !errors.As(err, &dns) || !dns.IsNotFound {
		t.Errorf("lookup of %s: %v, want not found", faultproxy.Unresolvable, err)
	}
}

func Example() {
	set := new(fixture.Set)
	set.Add("example.com/m", "v1.0.0", map[string]string{"m.go": "package m"}, fixture.Day(1))
	s := &faultproxy.Server{Set: set}
	s.Start()
	defer s.Close()

	s.Inject(faultproxy.Status503, faultproxy.Info)
	resp, err := http.Get(s.URL + "/example.com/m/@v/v1.0.0.info")
	if err != nil {
		panic(err)
	}
	resp.Body.Close()
	fmt.Println(resp.Status, s.Hits(faultproxy.Info))

	s.Heal()
	resp, err = http.Get(s.URL + "/example.com/m/@v/v1.0.0.info")
	if err != nil {
		panic(err)
	}
	resp.Body.Close()
	fmt.Println(resp.Status, s.Hits(faultproxy.Info))
	// Output:
	// 503 Service Unavailable 1
	// 200 OK 2
}
