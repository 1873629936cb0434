// Package serve runs a module proxy's HTTP servers the way a production
// deployment needs them: the main listener (HTTPS with a certificate and
// key) with /healthz and /readyz open to all and everything else behind
// an optional authentication wrapper, /metrics there; or, with an admin
// listener, /metrics, /readyz and net/http/pprof there and not on the
// main listener; and a graceful shutdown
// when the context ends: requests in flight get a grace period, the
// connections still open after it are closed (and logged), then the
// caller's drain (a goenv.Server's Close) gets the same time.
package serve
