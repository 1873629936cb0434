package metrics

import (
	"net/http"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/modfetch/modfetch"
	"github.com/modfetch/modfetch/upstream"
)

// Metrics are a server's Prometheus metrics, in a registry of their own
// (with the Go runtime's and the process's collectors). Make them with
// New.
type Metrics struct {
	reg *prometheus.Registry

	requests        *prometheus.CounterVec   // kind, code
	requestDuration *prometheus.HistogramVec // kind, code
	servedBytes     *prometheus.CounterVec   // kind
	inFlight        prometheus.Gauge

	upstreamRequests *prometheus.CounterVec   // upstream, kind, code, error
	upstreamDuration *prometheus.HistogramVec // upstream, kind
	upstreamBytes    *prometheus.CounterVec   // upstream, kind

	cacheLookups  *prometheus.CounterVec // kind, result
	cacheWrites   *prometheus.CounterVec // kind, result
	verifications *prometheus.CounterVec // kind, result
}

// New registers the metrics in a new registry; with a chain, also a
// gauge of each of its upstreams' breaker state, read when scraped (the
// chain can be set later with WatchChain, once the stack is built).
func New(chain *upstream.Chain) *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	f := func(c prometheus.Collector) { m.reg.MustRegister(c) }
	f(prometheus.NewGoCollector())
	f(prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}))
	// Seconds: from 0.5 ms (a hot .info) to 2 min (a large cold zip).
	buckets := prometheus.ExponentialBucketsRange(0.0005, 120, 16)

	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "http_requests_total", Help: "Module proxy requests answered, by endpoint kind and status code.",
	}, []string{"kind", "code"})
	m.requestDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "http_request_duration_seconds", Help: "Time to answer module proxy requests, by endpoint kind and status code.",
		Buckets: buckets,
	}, []string{"kind", "code"})
	m.servedBytes = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "modfetch_served_bytes_total", Help: "Response body bytes sent, by endpoint kind.",
	}, []string{"kind"})
	m.inFlight = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "http_requests_in_flight", Help: "Module proxy requests being answered.",
	})
	m.upstreamRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "modfetch_upstream_requests_total", Help: "Requests to upstream proxies, by upstream, endpoint kind, status code (0: no answer) and error class (none for success).",
	}, []string{"upstream", "kind", "code", "error"})
	m.upstreamDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "modfetch_upstream_request_duration_seconds", Help: "Duration of requests to upstream proxies, to the end of their body.",
		Buckets: buckets,
	}, []string{"upstream", "kind"})
	m.upstreamBytes = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "modfetch_upstream_bytes_total", Help: "Body bytes received from upstream proxies.",
	}, []string{"upstream", "kind"})
	m.cacheLookups = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "modfetch_cache_lookups_total", Help: "Cache answers, by kind and result: hit (from the store), miss (fetched), merged (shared with a fetch in flight).",
	}, []string{"kind", "result"})
	m.cacheWrites = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "modfetch_cache_writes_total", Help: "Writes to the store, by kind and result (ok, error).",
	}, []string{"kind", "result"})
	m.verifications = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "modfetch_verifications_total", Help: "Checks of go.mod files and zips against go.sum and the checksum database, by kind and result (ok, failed).",
	}, []string{"kind", "result"})
	for _, c := range []prometheus.Collector{
		m.requests, m.requestDuration, m.servedBytes, m.inFlight,
		m.upstreamRequests, m.upstreamDuration, m.upstreamBytes,
		m.cacheLookups, m.cacheWrites, m.verifications,
	} {
		f(c)
	}
	if chain != nil {
		m.WatchChain(chain)
	}
	return m
}

// WatchChain adds a gauge of chain's upstreams' breaker state, read when
// scraped: modfetch_upstream_state{upstream, state} is 1 for the state
// each is in (healthy, unavailable, probing), 0 for the others.
func (m *Metrics) WatchChain(chain *upstream.Chain) {
	m.reg.MustRegister(&healthCollector{chain: chain, desc: prometheus.NewDesc("modfetch_upstream_state",
		"Each upstream's breaker state: 1 for the state it is in (healthy, unavailable, probing), 0 for the others.",
		[]string{"upstream", "state"}, nil)})
}

// Registry returns the registry, to register more collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Hooks returns the hooks that feed m, for goenv.Options.Hooks (or each
// layer's Hooks).
func (m *Metrics) Hooks() *modfetch.Hooks {
	return &modfetch.Hooks{
		UpstreamRequest: func(u modfetch.UpstreamRequest) {
			class := u.ErrClass
			if class == "" {
				class = "none"
			}
			m.upstreamRequests.WithLabelValues(u.Upstream, u.Kind, strconv.Itoa(u.Status), class).Inc()
			m.upstreamDuration.WithLabelValues(u.Upstream, u.Kind).Observe(u.Duration.Seconds())
			if u.Bytes > 0 {
				m.upstreamBytes.WithLabelValues(u.Upstream, u.Kind).Add(float64(u.Bytes))
			}
		},
		CacheLookup: func(l modfetch.CacheLookup) {
			m.cacheLookups.WithLabelValues(l.Kind, l.Result).Inc()
		},
		CacheWrite: func(w modfetch.CacheWrite) {
			m.cacheWrites.WithLabelValues(w.Kind, result(w.Err, "ok", "error")).Inc()
		},
		Verification: func(v modfetch.Verification) {
			m.verifications.WithLabelValues(v.Kind, result(v.Err, "ok", "failed")).Inc()
		},
		ServerRequest: func(r modfetch.ServerRequest) {
			code := strconv.Itoa(r.Status)
			m.requests.WithLabelValues(r.Kind, code).Inc()
			m.requestDuration.WithLabelValues(r.Kind, code).Observe(r.Duration.Seconds())
			m.servedBytes.WithLabelValues(r.Kind).Add(float64(r.Bytes))
		},
	}
}

func result(err error, ok, failed string) string {
	if err != nil {
		return failed
	}
	return ok
}

// Instrument counts the requests h is answering
// (http_requests_in_flight).
func (m *Metrics) Instrument(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.inFlight.Inc()
		defer m.inFlight.Dec()
		h.ServeHTTP(w, r)
	})
}

// Handler serves the metrics in Prometheus's exposition formats.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// healthCollector reports each upstream's breaker state when scraped.
type healthCollector struct {
	chain *upstream.Chain
	desc  *prometheus.Desc
}

func (c *healthCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *healthCollector) Collect(ch chan<- prometheus.Metric) {
	for _, st := range c.chain.Health() {
		for _, s := range []upstream.HealthState{upstream.Healthy, upstream.Unavailable, upstream.Probing} {
			v := 0.0
			if st.State == s {
				v = 1
			}
			ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, v, st.Name, s.String())
		}
	}
}
