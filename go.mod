module github.com/modfetch/modfetch

go 1.25.0

require golang.org/x/mod v0.40.0

require github.com/cenkalti/backoff/v4 v4.3.0
