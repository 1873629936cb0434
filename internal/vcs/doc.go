// Package vcs is the version-control plumbing of direct module fetching:
// running git safely (a timeout on every process, the process group
// killed on timeout or cancellation, bounded output, no zombies) and
// keeping per-repository work directories the way the go command keeps
// $GOMODCACHE/cache/vcs (same names, ".info" and ".lock" files, a
// cross-process lock), with the go command's rules for resolving
// revisions (cmd/go/internal/modfetch/codehost).
//
// A [Repo] is long-lived, one per remote URL; a [Session] is one
// request's view of it, listing the remote's refs at most once.
package vcs
