// Package modfetch resolves and fetches Go modules with exactly the go
// command's GOPROXY semantics, for programs that want what
// `go mod download` gives — the same versions, hashes, errors and module
// cache — in-process and without a go binary.
//
// # Everything is a Resolver
//
// The GOPROXY protocol asks five questions of a module path: which versions
// exist (@v/list), what a revision is (@v/$rev.info), what is latest
// (@latest), and the go.mod file and zip of a version (@v/$v.mod and
// @v/$v.zip). [Resolver] has one method per question, and every layer of
// modfetch both implements it and wraps one:
//
//	upstream.Proxy, upstream.Off, a direct Resolver
//	  -> upstream.Chain    GOPROXY's "," and "|" fall-through, GONOPROXY routing
//	  -> checksum.Verify   go.sum and checksum database (GOSUMDB) checks
//	  -> cache.Cache       module cache (the go command's layout on disk)
//	  -> your program, [Download], or a module proxy server
//
// Because every layer speaks the same interface, any composition works:
// a cache in front of a single proxy, verification of a file:// tree, a
// server that re-serves a chain. Package goenv builds the composition the
// go command would use from its environment variables.
//
// # Errors
//
// Errors carry module context ("path@version: ..."), in the go command's
// words, so they can be shown as they are. An answer that does not exist —
// an unknown module or version, a proxy's 404 or 410, a module that
// configuration keeps away from a source — satisfies
// errors.Is(err, fs.ErrNotExist), and nothing else does: a 403, a 500, a
// timeout or a bad answer is a failure, which stops a GOPROXY "," walk.
// Proxies' failures are *[HTTPError] values with the redacted URL, the
// status and the server's short explanation.
//
// # Readers and their abilities
//
// Zips are streams (io.ReadCloser) that may have more to offer: their
// verified hash ([Summer]), their size and time ([Stater]), reads at an
// offset (io.ReaderAt, io.Seeker), the file behind them (*os.File, for
// sendfile), more readers of one download ([Reopener]). Each ability is a
// named interface found with [As], through wrappers that pass the bytes on
// unchanged and say so with an Unwrap method.
//
// # Downloading
//
// [Download] fetches a version's .info, go.mod and zip through any Resolver,
// reports their go.sum hashes (taking the zip's from its reader when it is
// a [Summer]), and can extract the zip into a module cache exactly as the
// go command does, so that `go build` with GOPROXY=off uses it.
package modfetch
