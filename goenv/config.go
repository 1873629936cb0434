package goenv

// Config holds the go command's module-fetching environment. Each field
// holds the effective value that `go env NAME` prints: GONOPROXY and
// GONOSUMDB already default to GOPRIVATE, GOMODCACHE to GOPATH[0]/pkg/mod.
// A Config built by hand works too; [Load] fills one the way the go command
// does.
type Config struct {
	GOPROXY    string // such as "https://proxy.golang.org,direct"
	GONOPROXY  string // module path patterns fetched directly
	GOPRIVATE  string // module path patterns that are private
	GOSUMDB    string // checksum database: "off", a name, "name+key" or "name+key url"
	GONOSUMDB  string // module path patterns not looked up in the checksum database
	GOINSECURE string // module path patterns that may be fetched insecurely (direct only)
	GOVCS      string // version control systems allowed per pattern (direct only)
	GOMODCACHE string // absolute module cache directory
	GOPATH     string // GOPATH list; GOPATH[0]/pkg/sumdb holds checksum database state
	GOFLAGS    string // default go command flags; only -modcacherw matters here
	GOAUTH     string // authentication commands; "netrc" and "off" are supported
	GOROOT     string // Go installation whose go.env supplied defaults, if found
	GOENV      string // user env file consulted ("off" when disabled)

	// NETRC is the netrc file consulted when GOAUTH includes netrc: $NETRC,
	// else ~/.netrc.
	NETRC string

	// ModCacheRW is true when GOFLAGS holds -modcacherw (or
	// -modcacherw=true): extracted module directories stay writable.
	ModCacheRW bool
}
