// Package resolvertest is the conformance suite for implementations of
// modfetch.Resolver, as package cachetest is for cache.Store: the
// contract in the Resolver documentation, as tests that every Resolver in
// this repository passes, and that a new one (a Resolver of its own, or a
// decorator around another) can run with a few lines.
//
// # Running it
//
// [Run] calls a function of the test's own to build the Resolver under
// test over a [Source]: the suite's reference modules ([Modules]), served
// from memory by the Resolver contract. A decorator wraps the Source; a
// client of a server serves the Source through that server; a Resolver
// that reads another medium (git repositories) builds that medium from
// the modules' files and says so in [Options].
//
//	func TestConformance(t *testing.T) {
//		resolvertest.Run(t, func(t *testing.T, src modfetch.Resolver) modfetch.Resolver {
//			return &myLayer{Next: src}
//		}, resolvertest.Options{Decorator: true})
//	}
package resolvertest
