// Package proxy serves modules over the GOPROXY protocol: a [Handler] is an
// http.Handler in front of any modfetch.Resolver, so a module proxy is a few
// lines — a chain of upstreams, verification, a cache, and this handler.
//
// # Protocol
//
// The Handler answers $path/@v/list, $path/@v/$version.info (canonical
// versions and other revisions), .mod, .zip and $path/@latest, with the
// go command's escaping, and serves checksum databases under
// /sumdb/<name>/ (supported, lookup, tile), so that clients verify their
// downloads through the proxy. Lookups of private modules (the DB's
// NoSumDB: GONOSUMDB, GOPRIVATE) are refused without contacting the
// database.
//
// Everything the Handler cannot supply is a 404, so clients' GOPROXY
// chains fall through; failures of the upstreams behind it are 502.
//
// # Efficiency
//
// The Handler asks its Resolver for exactly what was requested: a .mod
// request fetches the go.mod file, never the zip. Put a cache.Cache in
// front of the upstreams to merge identical concurrent requests into one
// upstream request and to keep answers; with a cache.DirStore, zips are
// served from disk through the kernel's file-sending path, with Range and
// conditional requests, and memory use does not grow with zip size. Give
// the Handler the cache's memory tier (Handler.Memory) and hot immutable
// answers are served from memory with headers rendered once, kept with
// the values under the tier's one byte bound. Cache-Control headers let
// clients and CDNs keep immutable answers forever and mutable ones
// briefly.
package proxy
