module github.com/modfetch/modfetch

go 1.25.0

require (
	github.com/cenkalti/backoff/v4 v4.3.0
	golang.org/x/mod v0.40.0
	golang.org/x/sync v0.22.0
)
