//go:build unix

package main

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/modfetch/modfetch/internal/fixture"
)

// TestJobsBound: with -j N, no more than N zips are requested at once, and
// N are. The proxy holds each zip request until the test releases it, one
// at a time, each time N are held (or all that remain): with a looser
// bound more requests would arrive while they are held.
func TestJobsBound(t *testing.T) {
	const n = 10
	for _, jobs := range []int{1, 3} {
		t.Run(fmt.Sprintf("j=%d", jobs), func(t *testing.T) {
			var (
				mu               sync.Mutex
				arrived, maxHeld int
				released         int
			)
			release := make(chan struct{})
			fault := func(w http.ResponseWriter, r *http.Request) bool {
				if !strings.HasSuffix(r.URL.Path, ".zip") {
					return false
				}
				mu.Lock()
				arrived++
				maxHeld = max(maxHeld, arrived-released)
				mu.Unlock()
				select {
				case <-release:
				case <-r.Context().Done():
				}
				return false // then serve it
			}
			set := new(fixture.Set)
			var gomod strings.Builder
			gomod.WriteString("module example.com/main\n\ngo 1.21\n\nrequire (\n")
			for i := range n {
				path := fmt.Sprintf("example.com/jobs/m%d", i)
				set.Add(path, "v1.0.0", map[string]string{"go.mod": "module " + path + "\n\ngo 1.21\n", "m.go": "package m\n"}, fixture.Day(i))
				fmt.Fprintf(&gomod, "\t%s v1.0.0\n", path)
			}
			gomod.WriteString(")\n")
			w := newModWorld(t, set, fault)
			h := w.newHome(t)
			dir := writeMain(t, map[string]string{"main/go.mod": gomod.String()})

			done := make(chan result, 1)
			go func() { done <- h.download(t, dir, "-j", fmt.Sprint(jobs)) }()
			for i := range n {
				want := min(jobs, n-i)
				fixture.WaitFor(t, fmt.Sprintf("%d zip requests held", want), func() bool {
					mu.Lock()
					defer mu.Unlock()
					return arrived-released >= want
				})
				mu.Lock()
				released++ // before the send: the request may be followed at once
				mu.Unlock()
				release <- struct{}{}
			}
			r := <-done
			if r.code != 0 {
				t.Fatalf("download -j %d: exit %d\n%s", jobs, r.code, r.stderr)
			}
			if maxHeld != jobs {
				t.Errorf("download -j %d: at most %d zip requests at once, want %d", jobs, maxHeld, jobs)
			}
		})
	}
}
