// Package checksum verifies module downloads the way the go command does:
// against the hashes recorded in a go.sum file and against a checksum
// database such as sum.golang.org.
//
// # Hashes
//
// [HashGoMod] and [HashZip] compute the h1: hashes that go.sum lines record
// for a version's go.mod file ("path version/go.mod h1:...") and for its
// zip ("path version h1:..."), using golang.org/x/mod/sumdb/dirhash.
// [GoSum] parses, checks and writes go.sum files.
//
// # The checksum database
//
// A [DB] is a client of a checksum database, built on
// golang.org/x/mod/sumdb.Client: every lookup is authenticated against the
// database's signed Merkle tree, and each new signed tree must extend the
// latest one seen. With StateDir set as the go command sets it, that tree
// head survives across runs (and `go clean -modcache`), so a database that
// forks or rolls back is detected even later. The lookups and tiles the DB
// has authenticated are kept in a cache.Store in the go command's layout:
// a cache.DirStore at $GOMODCACHE/cache/download shares them with the go
// command, an object store shares them between servers. [ParseGOSUMDB] reads
// every GOSUMDB form. A DB reaches its database through the first proxy that
// serves it (see upstream.Chain.SumDBURL), or directly.
//
// # Verify
//
// [Verify] is a modfetch.Resolver that checks each go.mod file and zip
// before returning it: go.sum first, then the checksum database unless the
// module matches the DB's NoSumDB (GONOSUMDB, by default GOPRIVATE), in
// which case it is never looked up there: the DB itself refuses. A
// mismatch is a *[MismatchError] naming module, version,
// both hashes and their source, with the go command's SECURITY ERROR text;
// the bytes are not returned, so a cache above Verify never stores them.
// Zips are spooled to a temporary file and checked there, never held in
// memory.
package checksum
