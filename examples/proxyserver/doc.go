// Command proxyserver is a caching, verifying Go module proxy built on
// modfetch.
//
//	go run ./examples/proxyserver [-addr localhost:3000] [-cache DIR]
//		[-store s3://BUCKET/PREFIX?endpoint=HOST:PORT&region=REGION&insecure=true]
//		[-lock redis://HOST:PORT/DB] [-lock-ttl 15s] [-redirect]
//		[-connect-timeout 10s] [-first-byte-timeout 30s] [-idle-timeout 30s]
//		[-breaker-failures 5] [-breaker-cooldown 10s] [-hedge DELAY|auto]
//		[-tls-cert FILE -tls-key FILE] [-tokens FILE] [-htpasswd FILE]
//		[-rules FILE] [-admin-addr ADDR] [-access-log info|debug|off]
//		[-shutdown-grace 30s]
//
// Every flag can also be set by an environment variable, named
// MODFETCH_ and the flag's name in capitals with "-" as "_"
// (MODFETCH_STORE, MODFETCH_LOCK, MODFETCH_REDIRECT=true, ...); a flag on
// the command line wins.
//
// It fetches from the upstreams the go command would use (GOPROXY, by
// default https://proxy.golang.org,direct), verifies every go.mod file and
// zip against the checksum database (GOSUMDB, by default sum.golang.org)
// before keeping it, keeps modules in DIR/download in the go command's
// module cache layout, and serves them, and the checksum database under
// /sumdb/, to go commands pointed at it:
//
//	GOPROXY=http://localhost:3000 go mod download
//
// GOPRIVATE, GONOPROXY and GONOSUMDB are honoured: private modules never
// reach a public proxy or checksum database.
//
// Each upstream proxy request has time budgets (to connect, for the
// answer, and at least 1 KiB per idle interval of a body), and each proxy
// a circuit breaker: after -breaker-failures failures in a row it is
// skipped for -breaker-cooldown (doubling while probes fail), so that in
// GOPROXY="http://a|http://b" a dead first mirror costs one timeout, not
// one per request. A failure after a "," still ends the walk, as for the
// go command. Each upstream's state changes are logged. With -hedge, a
// small request (.info, .mod, list, latest) to a mirror followed by "|"
// that has not answered within the delay (or, with "auto", the mirror's
// observed 95th-percentile latency) is sent to the next mirror as well,
// and the first answer is taken.
//
// Several replicas behind a load balancer share one object store and one
// Redis: -store keeps modules in an S3-compatible bucket under a prefix
// (credentials from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY;
// insecure=true means plain http to the endpoint) instead of DIR/download,
// and -lock makes the replicas agree through Redis (a password in the
// URL's user info) that one of them fetches an uncached module while the
// others wait for it and read it from the bucket; a replica that dies
// holding a lock releases it after -lock-ttl. With -redirect, requests for
// stored zips are answered with redirects to presigned URLs of the bucket,
// so that zip bytes do not pass through the replica. If the bucket is
// unreachable the server keeps answering from upstream (logging each write
// it could not make); if Redis is, each replica fetches on its own until
// it is back. Checksum database state stays in DIR/sumdb on each replica.
//
// /healthz answers "ok" while the process runs. /readyz answers with a
// JSON object of each upstream's health and the store's, 200 when the
// store is usable and some upstream is (or direct access is configured),
// else 503; it sends no upstream request. /metrics serves Prometheus
// metrics (see package ops/metrics). With -admin-addr, a second listener
// serves /metrics, /readyz and /debug/pprof/, and the main one none of
// them.
//
// With -tls-cert and -tls-key the server speaks HTTPS. With -tokens (one
// token per line) or -htpasswd (bcrypt users), every request but /healthz
// and /readyz needs credentials: a token as a Bearer token or as the
// password of Basic authentication (the go command sends .netrc
// credentials that way: GOAUTH=netrc), or a user's password; others get
// 401. Credentials are never logged. With -rules, modules and versions
// are allowed or denied by the rules in FILE (see package rules), which is
// read again on SIGHUP.
//
// Logs are structured (log/slog) on standard error, buffered; each
// request gets one access record (method, path, status, bytes, duration,
// cache result, upstream used, outcome) at the -access-log level.
//
// SIGINT or SIGTERM stops the server: it accepts no more connections, and
// requests in flight get -shutdown-grace (30s) to finish. Connections
// still open after that are closed (their clients see a cut transfer,
// which the go command reports, and a later request can fetch again).
// Then cache writes still under way get the same time to reach the store;
// any not done by then are dropped. Every write is atomic, so nothing
// partial is ever visible, and leftover temporary files are removed by a
// later run (cache.DirStore's clean-up). The exit status is 0 after a
// requested shutdown, whatever was cut off, and each cut is logged.
package main
