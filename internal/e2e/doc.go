// Package e2e holds end-to-end tests that run the real go command next to
// modfetch, hermetically: fixture modules served by a proxy on loopback, a
// checksum database (x/mod's test server, signing with a test key) named
// in GOSUMDB, and throwaway module caches. The go command's exit status,
// output and go.sum are the verdict.
//
// Tests that need the public module proxy are in files guarded by the
// MODFETCH_NETWORK environment variable and say so when they skip.
package e2e
