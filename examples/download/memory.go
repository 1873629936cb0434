package main

import (
	"os"
	"runtime/debug"
)

// softMemoryLimit is the heap size the garbage collector keeps this
// program to, unless GOMEMLIMIT says otherwise. A download's live heap
// is some 20 to 30 MiB at its peak (zip directories being checked and
// extracted, checksum database tiles, HTTP buffers) but it allocates
// about 1 GiB over a cold download of a large project, mostly copy
// buffers; the collector's default pacing (GOGC=100) lets the heap
// grow to twice the live heap, so the limit is what keeps the peak
// resident size of such a download under 64 MiB.
const softMemoryLimit = 40 << 20

// limitMemory sets the soft memory limit unless GOMEMLIMIT is set.
func limitMemory() {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(softMemoryLimit)
	}
}
