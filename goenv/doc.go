// Package goenv reads the go command's module environment and builds the
// Resolver the go command would use with it.
//
// # Loading
//
// [Load] computes a [Config] the way `go env` does: each variable from the
// process environment, else the user's go env file (written by
// `go env -w`), else $GOROOT/go.env, else the built-in default; an
// environment variable set to the empty string counts as unset. GONOPROXY
// and GONOSUMDB default to GOPRIVATE, GOMODCACHE to GOPATH[0]/pkg/mod,
// GOAUTH to netrc. Errors use the go command's texts.
//
// # Composing
//
// [Config.Resolver] returns a [Stack]: the GOPROXY chain with GONOPROXY
// routing, verification against GOSUMDB (with GONOSUMDB honoured and the
// database's state kept where the go command keeps it), and a module cache
// in GOMODCACHE shared with the go command. [Config.HTTPClient] adds GOAUTH
// netrc credentials to https requests.
package goenv
