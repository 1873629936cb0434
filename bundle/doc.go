// Package bundle moves modules to machines with no network: it exports
// the modules of a build list or a go.sum file into a bundle, with the
// checksum database data that verifies them, and imports a bundle into a
// module cache or a proxy's store, verifying every file on the way in.
//
// # The bundle
//
// A bundle is a directory in the GOPROXY layout, or an archive of one
// ([FormatOf]: a name ending in ".tar.gz" or ".zip"):
//
//	<escaped path>/@v/list                      the bundle's versions of the module
//	<escaped path>/@v/<version>.info, .mod, .zip
//	<escaped path>/@v/<version>.mod             alone, for a module needed only for its go.mod
//	sumdb/<name>/supported                      empty: "this proxy serves the database"
//	sumdb/<name>/latest                         the database's signed tree head
//	sumdb/<name>/lookup/<escaped path>@<version> the database's record of each version
//	sumdb/<name>/tile/...                       the hash tiles that authenticate them
//
// A directory bundle is a GOPROXY as it is: the go command with
// GOPROXY=file:///path/to/bundle asks file:///path/to/bundle/sumdb/<name>/supported,
// finds it, and reads the database's lookups and tiles from the bundle
// too, so that
//
//	GOPROXY=file:///path/to/bundle GOSUMDB=sum.golang.org go mod download
//
// verifies everything with no network, and a proxy (examples/proxyserver)
// with that GOPROXY serves the bundle and its database.
//
// Every lookup in a bundle carries the same signed tree head, the one in
// sumdb/<name>/latest, so that a client authenticates every record
// against one tree; the bundle holds the tiles that x/mod's client (the
// go command's) reads to do so, whether it starts with no tree head of
// the database or with that one. A client that has already seen a later
// tree head of the database (in GOPATH/pkg/sumdb) needs tiles of that
// tree to check that the bundle's is consistent with it, and a bundle
// cannot hold those: verify with a fresh GOPATH, or import the bundle.
// Data tiles (tile/H/data/...) are not included: clients do not read
// them.
//
// # Export
//
// [Export] fetches a list of modfetch.BulkItem (from modgraph's
// DownloadSet.Items for a build list, or modgraph.GoSumItems for a
// go.sum file) through a verifying Resolver such as a goenv.Stack,
// writes them in the layout above with the database's records of each,
// then checks the result as [Bundle.Verify] does, fetching the tiles
// that check reads, before it publishes the bundle. An output that
// exists is never overwritten.
//
// # Import
//
// [Open] opens a bundle (unpacking an archive into a temporary
// directory, refusing entries that are not clean relative names of
// regular files), [Bundle.Verify] checks every file, and [Import] does
// both, then writes the modules into a module cache (extracting the
// zips as `go mod download` does, so that `GOPROXY=off go build` and
// `go mod verify` work) or into a proxy's cache.Store, with the
// database's records and tiles in the go command's cache layout. A
// bundle with any file that does not verify, or any file the layout has
// no place for, is refused as a whole ([ErrRefused]) and nothing is
// written.
//
// Verification is the go command's own: x/mod's checksum database
// client runs over the bundle's sumdb/<name>/ files, with the bundle's
// signed tree head as its stored state, after that tree head is checked
// against the database's key (the key of GOSUMDB, never one from the
// bundle). Each record is authenticated against the tree by the tiles,
// each .mod and .zip hash must be the one the record lists (a
// *checksum.MismatchError otherwise) and the one a go.sum records, if one
// is given, and each zip must be a valid module zip.
package bundle
