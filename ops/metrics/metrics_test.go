package metrics_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/modfetch/modfetch/goenv"
	"github.com/modfetch/modfetch/internal/fixture"
	"github.com/modfetch/modfetch/ops/metrics"
)

// scrape parses /metrics with Prometheus's own text parser.
func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parsing /metrics: %v", err)
	}
	return fams
}

// value returns the counter or gauge value, or the histogram's count, of
// the metric of fam whose labels are labels ("k=v,k=v").
func value(fams map[string]*dto.MetricFamily, fam, labels string) float64 {
	f := fams[fam]
	if f == nil {
		return -1
	}
	for _, m := range f.Metric {
		var got []string
		for _, l := range m.Label {
			got = append(got, l.GetName()+"="+l.GetValue())
		}
		if strings.Join(got, ",") != labels {
			continue
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount())
		}
	}
	return 0
}

// TestMetrics: known traffic through a server is counted exactly, the
// histograms have the expected counts, and label sets stay bounded after
// requests for 1,000 distinct modules.
func TestMetrics(t *testing.T) {
	set := fixture.Bulk("metrics", 1000, 16)
	up := httptest.NewServer(&fixture.Server{Set: set})
	defer up.Close()
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	refused := "http://" + ln.Addr().String()
	ln.Close()

	m := metrics.New(nil)
	cfg := &goenv.Config{GOPROXY: refused + "|" + up.URL, GOSUMDB: "off", GOMODCACHE: t.TempDir()}
	s, err := cfg.Server(&goenv.ServerOptions{Options: goenv.Options{NoDirect: true, Hooks: m.Hooks(), MemoryBytes: -1}})
	if err != nil {
		t.Fatal(err)
	}
	m.WatchChain(s.Stack.Chain)
	mux := http.NewServeMux()
	mux.Handle("/metrics", m.Handler())
	mux.Handle("/", m.Instrument(s))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	get := func(p string) {
		t.Helper()
		resp, err := http.Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	// 1000 cold .info, 10 of them again (warm), 5 zips, 3 unknown versions.
	for i := range 1000 {
		get(fmt.Sprintf("/example.com/metrics/m%d/@v/v1.0.0.info", i))
	}
	for i := range 10 {
		get(fmt.Sprintf("/example.com/metrics/m%d/@v/v1.0.0.info", i))
	}
	for i := range 5 {
		get(fmt.Sprintf("/example.com/metrics/m%d/@v/v1.0.0.zip", i))
	}
	for i := range 3 {
		get(fmt.Sprintf("/example.com/metrics/m%d/@v/v9.0.0.info", i))
	}
	fams := scrape(t, srv.URL+"/metrics")
	upURL := up.URL
	for _, c := range []struct {
		fam, labels string
		want        float64
	}{
		{"http_requests_total", "code=200,kind=info", 1010},
		{"http_requests_total", "code=200,kind=zip", 5},
		{"http_requests_total", "code=502,kind=info", 3}, // the refused mirror's error wins, as in the go command
		{"http_request_duration_seconds", "code=200,kind=info", 1010},
		{"http_request_duration_seconds", "code=200,kind=zip", 5},
		{"modfetch_upstream_requests_total", "code=200,error=none,kind=info,upstream=" + upURL, 1000},
		{"modfetch_upstream_requests_total", "code=200,error=none,kind=zip,upstream=" + upURL, 5},
		{"modfetch_upstream_requests_total", "code=404,error=status,kind=info,upstream=" + upURL, 3},
		{"modfetch_upstream_requests_total", "code=0,error=connect,kind=info,upstream=" + refused, 1003},
		{"modfetch_upstream_requests_total", "code=0,error=connect,kind=zip,upstream=" + refused, 5},
		{"modfetch_upstream_request_duration_seconds", "kind=info,upstream=" + upURL, 1003},
		{"modfetch_cache_lookups_total", "kind=info,result=miss", 1003},
		{"modfetch_cache_lookups_total", "kind=info,result=hit", 10},
		{"modfetch_cache_lookups_total", "kind=zip,result=miss", 5},
		{"modfetch_cache_writes_total", "kind=info,result=ok", 1000},
		{"modfetch_cache_writes_total", "kind=zip,result=ok", 5},
		{"http_requests_in_flight", "", 0}, // all answered
		{"modfetch_upstream_state", "state=healthy,upstream=" + upURL, 1},
	} {
		if got := value(fams, c.fam, c.labels); got != c.want {
			t.Errorf("%s{%s} = %v, want %v", c.fam, c.labels, got, c.want)
		}
	}
	// Bounded: no label value holds a module path, and each family has
	// few series after 1,000 modules.
	for name, f := range fams {
		if !strings.HasPrefix(name, "http_") && !strings.HasPrefix(name, "modfetch_") {
			continue
		}
		if len(f.Metric) > 20 {
			t.Errorf("%s has %d series after 1,000 modules", name, len(f.Metric))
		}
		for _, m := range f.Metric {
			for _, l := range m.Label {
				if strings.Contains(l.GetValue(), "example.com/") {
					t.Errorf("%s has a module path in label %s=%s", name, l.GetName(), l.GetValue())
				}
			}
		}
	}
}
