// Package upstream fetches modules from where they live: module proxies
// over the GOPROXY protocol, "off", and a pluggable direct Resolver, walked
// in order the way the go command walks GOPROXY.
//
// # Proxies
//
// A [Proxy] is a [modfetch.Resolver] for one https://, http:// or file://
// base URL. It escapes module paths and versions like the go command
// ("github.com/BurntSushi/toml" travels as github.com/%21burnt%21sushi/toml),
// treats 404 and 410 as not found, returns every other failure as an error
// carrying a *modfetch.HTTPError (redacted URL, status, and at most eight
// lines of the server's text/plain explanation), limits answer sizes, and
// retries network errors and answers 408, 429 and 5xx with exponential
// backoff, honouring Retry-After, a bounded number of times within a bounded
// time. It accepts every .info shape proxies serve (any spacing, extra
// fields, Origin) and returns canonical values.
//
// # Chains
//
// [Parse] reads a GOPROXY value with the go command's rules and errors, and
// [Config.Chain] turns it into a [Chain]: entries separated by "," fall
// through only on not-found answers, entries followed by "|" on any error;
// "off" refuses everything; "direct" goes to the module's origin through a
// pluggable Resolver. Modules matching GONOPROXY (by default GOPRIVATE)
// never reach a proxy: they go to the direct Resolver alone, even with
// GOPROXY=off, and fail with [ErrDirectNotConfigured] when there is none.
// When every entry fails, the chain reports the most helpful error, ranked
// as the go command ranks them.
//
// [Chain.SumDBURL] finds, like the go command, the first proxy that serves a
// checksum database under /sumdb/<name>/, for checksum.DB.FindURL.
//
// # Direct
//
// [Direct] fetches modules from their version control repositories, as
// the go command does for GOPROXY "direct" and for GONOPROXY/GOPRIVATE
// modules: repository discovery (known hosting sites, go-import meta tags,
// GOINSECURE), GOVCS policy, git with timeouts in locked per-repository
// work directories, versions from tags and pseudo-versions, and zips built
// with x/mod's rules, so that versions and h1: hashes equal the go
// command's. Only git runs; other version control systems are refused
// with [ErrVCSNotSupported].
package upstream
