package modfetch

import (
	"context"
	"io"
)

// A Resolver answers the five questions of the GOPROXY protocol for module
// paths. Every layer of modfetch implements it: upstream proxies, the
// GOPROXY chain, checksum verification, the cache and the server all take a
// Resolver and return one, so they compose in any order.
//
// The path argument is a module path (unescaped, as in import statements,
// for example "github.com/BurntSushi/toml"); implementations that need it
// escaped escape it themselves. A path that is not a valid module path is an
// error that wraps *[module.InvalidPathError], returned without any I/O.
//
// Errors carry module context (usually a *[module.ModuleError] whose text
// starts with "path@version: "), so callers can print them as they are.
// An answer that does not exist — an unknown module, version or revision, an
// HTTP 404 or 410, a module excluded from a source by configuration — is an
// error for which errors.Is(err, fs.ErrNotExist) holds; no other error is.
//
// Implementations are safe for concurrent use.
type Resolver interface {
	// List returns the versions of the module that the source knows, as it
	// would answer $path/@v/list: valid semantic versions, sorted by
	// semver.Sort, without duplicates. The list may include pseudo-versions
	// (proxies list them); callers that want release and pre-release tags only
	// filter them out. An empty list with a nil error means the module exists
	// but has no listed versions.
	List(ctx context.Context, path string) ([]string, error)

	// Stat resolves rev — a canonical version, a non-canonical version, a
	// branch, tag or commit hash — as $path/@v/$rev.info does. The returned
	// Info's Version is canonical. When rev is a canonical version that is
	// valid for path, Info.Version equals rev.
	Stat(ctx context.Context, path, rev string) (*Info, error)

	// Latest returns the version the source considers the module's latest,
	// as $path/@latest does. Sources that have no such notion answer with an
	// error for which errors.Is(err, fs.ErrNotExist) holds.
	Latest(ctx context.Context, path string) (*Info, error)

	// GoMod returns the go.mod file of the module at version, byte for byte
	// as $path/@v/$version.mod serves it. version must be canonical.
	GoMod(ctx context.Context, path, version string) ([]byte, error)

	// Zip returns the module zip at version, as $path/@v/$version.zip serves
	// it. version must be canonical. The caller must close the reader.
	// Implementations stream: they never hold a whole zip in memory.
	// Close may be called from another goroutine while a Read waits, to
	// abandon the stream: the Read then returns an error (a cache does
	// this when its last caller leaves).
	Zip(ctx context.Context, path, version string) (io.ReadCloser, error)
}
