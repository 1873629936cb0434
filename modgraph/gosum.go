package modgraph

import (
	"github.com/modfetch/modfetch"
	"github.com/modfetch/modfetch/checksum"
)

// GoSumItems returns the items for [modfetch.DownloadAll] that fetch
// every module version gs records a hash for, sorted by path and version:
// in full when gs records the zip's hash, only the go.mod file when it
// records only the go.mod file's ("path version/go.mod" lines alone), as
// the go command records modules it needed only for the module graph.
func GoSumItems(gs *checksum.GoSum) []modfetch.BulkItem {
	mods, full := gs.Modules()
	items := make([]modfetch.BulkItem, len(mods))
	for i, m := range mods {
		items[i] = modfetch.BulkItem{Module: m, GoModOnly: !full[i]}
	}
	return items
}
