module github.com/modfetch/modfetch/cache/redislock

go 1.26.0

require github.com/modfetch/modfetch v0.0.0

replace github.com/modfetch/modfetch => ../..
