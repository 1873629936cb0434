// Package modgraph computes a main module's module graph and build list
// the way the go command does, over any [modfetch.Resolver], and says
// exactly which files `go mod download` (with no arguments) fetches for it.
//
// # The graph
//
// [Load] reads a main module's go.mod file (golang.org/x/mod/modfile) and
// loads the go.mod files of its dependencies through a Resolver, by the go
// command's rules (cmd/go/internal/modload: readModGraph, expandGraph,
// goModSummary):
//
//   - Graph pruning. A main module at go 1.17 or later has a pruned graph:
//     the go.mod files of its requirements (the roots) are read, and the
//     requirements listed there join the graph, but their own go.mod files
//     are read only below a module whose go.mod is before go 1.17 (or has
//     no go directive), whose requirements are loaded transitively. A main
//     module before go 1.17 has the full graph: every go.mod reachable
//     from it is read, whatever version is selected in the end.
//   - A main module without a go directive is treated as the go command
//     treats it with -mod=mod: it gets the go command's own version (1.17
//     or later), so its full graph is loaded, every module of that build
//     list becomes a root, and the pruned graph is loaded from those roots
//     (modload: loadModFile, convertPruning).
//   - Redundant roots. In a pruned graph a path required more than once
//     keeps only its highest version, and a requirement on the main
//     module itself is dropped, before any go.mod is read; a full graph
//     reads every one of them (the main module's own go.mod at that
//     version too), though the main module is never selected at one.
//   - Root consistency. When a pruned graph selects a root at a version
//     higher than the main module requires (go.mod is not tidy), the roots
//     are raised to their selected versions and the graph is loaded again,
//     until nothing changes; go.mod files read on the way were still
//     fetched.
//   - replace. A replacement applies to one version ("old v1.0.0 => ...")
//     or to every version ("old => ..."); the specific one wins. A version
//     replacement reads the replacement's go.mod and, if downloaded,
//     fetches the replacement's zip: the module cache holds it under the
//     replacement's path and version. A directory replacement ("old =>
//     ../dir", relative to the main module's directory) reads dir/go.mod
//     from disk and fetches nothing. The graph keeps the original module
//     path and version; the replacement only supplies its content.
//   - exclude. Since Go 1.16 an excluded version is not replaced by a
//     higher one: a requirement on it — in the main module's go.mod or in
//     any dependency's — is dropped (modload: rootsFromModFile,
//     goModSummary). The module is then absent from the graph unless
//     something else requires another version of it.
//   - Minimal version selection: each module path is selected at the
//     highest version required anywhere in the graph (requirements of
//     versions that are not selected count too); the main module is always
//     selected at its own, empty, version.
//
// The "go" and "toolchain" requirements are not modules to fetch and are
// left out of the graph, as `go list -m all` leaves them out.
//
// # What `go mod download` fetches
//
// The go command's behaviour is modelled as it runs with -mod=mod, which
// lets it read go.mod files that go.sum does not list yet (with the
// default -mod=readonly it refuses to, and it refuses a go.mod that is not
// tidy).
//
// [Graph.DownloadSet] lists what `go mod download` with no arguments puts in
// the module cache's download directory (cmd/go/internal/modcmd:
// runDownload): the .mod file of every module version whose go.mod the
// graph read, and the .info, .mod and .zip files of the modules it
// downloads in full:
//
//   - main module before go 1.17: every module of the build list, if
//     go.mod has any require directive;
//   - main module at go 1.17 or later, or without a go directive: the
//     selected version of each module
//     path named in a require directive (direct or indirect), which is
//     the whole build list only when nothing is pruned.
//
// Replaced modules are fetched as their replacements; directory
// replacements are skipped. A required path whose requirement was dropped
// (excluded) and that nothing else requires is not a known dependency:
// the go command reports it as an error and still downloads the others;
// so does [Graph.DownloadSet] ([DownloadSet.Err]).
//
// Files the go command writes that are no download of its own — .lock,
// .ziphash, .partial, the extracted directory, @v/list (never fetched in
// this mode) and checksum database lookups — are outside this contract.
//
// # Downloading
//
// [DownloadSet.Items] turns the result into the list that
// [modfetch.DownloadAll] fetches in parallel, so that a program fetches
// file for file what `go mod download` would; [GoSumItems] does the same
// for the versions a go.sum file records. Verification is the
// Resolver's business: give Load and DownloadAll a Resolver wrapped by
// checksum.Verify to check every go.mod and zip against go.sum and the
// checksum database.
package modgraph
