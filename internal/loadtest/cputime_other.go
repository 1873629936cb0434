//go:build !unix

package main

import "time"

// cpuTime is not measured on this system: CPU ratios print as NaN.
func cpuTime() time.Duration { return 0 }
