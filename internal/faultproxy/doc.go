// Package faultproxy is a module proxy for tests that misbehaves on
// purpose: a loopback GOPROXY server over a [fixture.Set] (and, if given,
// a [fixture.SumDB] under /sumdb/) that answers each kind of request
// ([Info], [Mod], [Zip], [List], [Latest], [SumDB]) with an injected
// [Fault] instead of, or on top of, the genuine answer.
//
// # Faults
//
// Status faults answer 500, 502, 503, or 429 with a Retry-After, each with
// a short text/plain explanation as proxies send. Body faults start the
// genuine answer and break it: [Reset] sends half the body and resets the
// connection (TCP RST), [Truncate] sends half the body under a
// Content-Length for the whole and closes the connection cleanly,
// [Stall] sends the headers and then nothing until the client leaves or
// the server closes. Content faults answer 200 with wrong content:
// [GarbageInfo] and [EmptyInfo] for .info and @latest, [Oversize] a body
// one byte over the size limit of its kind (see [Server.Limits]; streamed,
// never held in memory), [Tamper] a .zip or .mod with other bytes than the
// checksum database records. Range requests (resumed zips) get the same
// fault as whole ones.
//
// Two faults need no server: [RefusedURL] is the address of a listener
// that was closed (connection refused), and [Unresolvable] is a host
// under .invalid (RFC 6761), which never resolves.
//
// # Accounting
//
// The server counts requests by kind ([Server.Hits]) and the requests
// being answered ([Server.Active]), so tests can tell whether a layer
// asked again, moved on, or left a request hanging. [Server.Close] ends
// stalled answers and waits for every handler: nothing the server
// started outlives it.
package faultproxy
