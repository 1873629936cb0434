// Package metrics exports what a modfetch server does as Prometheus
// metrics, fed by the library's hooks (modfetch.Hooks): requests served
// and their latencies by endpoint kind and status, upstream requests,
// errors, latencies and bytes per upstream, cache hits, misses and merged
// fetches, store writes, verifications, requests in flight, and each
// upstream's breaker state. Every label value comes from a bounded set
// (endpoint kinds, status codes, the configured upstreams, error classes,
// results), never a module path.
//
//	m := metrics.New(stack.Chain)
//	opts.Hooks = m.Hooks()                  // before building the stack
//	mux.Handle("/metrics", m.Handler())
//	mux.Handle("/", m.Instrument(handler))
package metrics
