module github.com/modfetch/modfetch/examples/proxyserver

go 1.26.0

require github.com/modfetch/modfetch v0.0.0

require (
	github.com/cenkalti/backoff/v4 v4.3.0 // indirect
	golang.org/x/mod v0.40.0 // indirect
)

replace github.com/modfetch/modfetch => ../..
