package main

import (
	"path/filepath"

	"github.com/modfetch/modfetch/cache"
	"github.com/modfetch/modfetch/checksum"
	"github.com/modfetch/modfetch/goenv"
)

// stackOptions are the options of the Resolver this program downloads
// through, checking against gs (nil for none): the go command's, with its
// module cache written as the go command writes it, without syncing each
// file to disk (cache.DirStore.NoSync). A file is renamed into place only
// when whole, so an interrupted or killed download leaves nothing
// partial, but a power loss may lose files written just before it, which
// the next download fetches again. Syncing each of a project's thousands
// of files made a cold download slower than the go command's.
//
// There is no memory tier in front of the module cache: a download reads
// each file back at most a few times, from the page cache, and the tier
// (16 MiB by default) would add that much to the peak heap.
func stackOptions(cfg *goenv.Config, gs *checksum.GoSum) *goenv.Options {
	return &goenv.Options{
		GoSum:       gs,
		Store:       &cache.DirStore{Dir: filepath.Join(cfg.GOMODCACHE, "cache", "download"), NoSync: true},
		MemoryBytes: -1,
	}
}

// graphJobs is how many go.mod files of the module graph are fetched at a
// time with -j jobs: twice as many as zips, since each is a small request
// (and a checksum database lookup) that waits on the network's latency,
// not its bandwidth. The go command fetches GOMAXPROCS at a time; on a
// machine with 2 processors that made loading the graph of a project of
// 440 modules take 22 s of a 50 s cold download, against 3.5 s with 16.
func graphJobs(jobs int) int { return 2 * jobs }
