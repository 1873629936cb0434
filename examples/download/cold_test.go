//go:build unix

package main

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/modfetch/modfetch/internal/fixture"
)

// coldSet is a realistic module graph for cold downloads: 48 modules
// required by the main module, with zips of 100 to 500 KiB (14 MiB in
// all), and an unpruned one (go 1.16) requiring 8 more, whose go.mod
// files alone are fetched.
func coldSet() (*fixture.Set, string) {
	s := new(fixture.Set)
	var gomod strings.Builder
	gomod.WriteString("module example.com/main\n\ngo 1.21\n\nrequire (\n")
	for i := range 48 {
		path := fmt.Sprintf("example.com/cold/m%d", i)
		s.Add(path, "v1.0.0", map[string]string{
			"go.mod":   "module " + path + "\n\ngo 1.21\n",
			"m.go":     "package m\n",
			"data.bin": fixture.Noise((100 + 100*(i%5)) << 10),
		}, fixture.Day(i))
		fmt.Fprintf(&gomod, "\t%s v1.0.0\n", path)
	}
	old := "example.com/cold/old"
	var oldMod strings.Builder
	oldMod.WriteString("module " + old + "\n\ngo 1.16\n\nrequire (\n")
	for i := range 8 {
		path := fmt.Sprintf("example.com/cold/x%d", i)
		s.Add(path, "v1.0.0", map[string]string{"go.mod": "module " + path + "\n\ngo 1.21\n", "x.go": "package x\n"}, fixture.Day(50+i))
		fmt.Fprintf(&oldMod, "\t%s v1.0.0\n", path)
	}
	oldMod.WriteString(")\n")
	s.Add(old, "v1.0.0", map[string]string{"go.mod": oldMod.String(), "old.go": "package old\n"}, fixture.Day(60))
	fmt.Fprintf(&gomod, "\t%s v1.0.0\n)\n", old)
	return s, gomod.String()
}

// TestColdVersusGoModDownload compares cold downloads of coldSet's graph
// by this program (no arguments, default -j) and by `go mod download`,
// each in a main module with no go.sum and a fresh module cache and
// GOPATH (so both look every module up in the same checksum database),
// against the same loopback proxy, alternating which goes first, for
// $MODFETCH_COLD_ROUNDS rounds (at least 3). It reports the times; it
// asserts only that both fill their caches alike.
//
//	MODFETCH_COLD_ROUNDS=5 go test -count=1 -run TestColdVersusGoModDownload -v ./examples/download
func TestColdVersusGoModDownload(t *testing.T) {
	rounds, _ := strconv.Atoi(os.Getenv("MODFETCH_COLD_ROUNDS"))
	if rounds == 0 {
		t.Skip("skipping: set MODFETCH_COLD_ROUNDS=N (N >= 3) to compare cold downloads with go mod download")
	}
	if rounds < 3 {
		t.Fatalf("MODFETCH_COLD_ROUNDS=%d: at least 3 rounds", rounds)
	}
	set, gomod := coldSet()
	w := newModWorld(t, set, nil)
	files := map[string]string{"main/go.mod": gomod}
	bin := buildDownload(t)
	var ours, gos []time.Duration
	for r := range rounds {
		var files1, files2 []string
		runOne := func(isGo bool) {
			h := w.newHome(t)
			dir := writeMain(t, files)
			name, args := bin, []string(nil)
			if isGo {
				name, args = goBin(t), []string{"mod", "download"}
			}
			start := time.Now()
			res := h.run(t, w.proxyURL, dir, name, args...)
			d := time.Since(start)
			if res.code != 0 {
				t.Fatalf("%s: exit %d\n%s", name, res.code, res.stderr)
			}
			if isGo {
				gos = append(gos, d)
				files1 = fixture.CacheFiles(t, h.gomodcache)
			} else {
				ours = append(ours, d)
				files2 = fixture.CacheFiles(t, h.gomodcache)
			}
		}
		first := r%2 == 0 // the go command first in even rounds
		runOne(first)
		runOne(!first)
		if !slices.Equal(files1, files2) {
			t.Fatalf("round %d: the caches differ:\nours:\n\t%s\ngo's:\n\t%s", r, strings.Join(files2, "\n\t"), strings.Join(files1, "\n\t"))
		}
		t.Logf("round %d (%s first): download %v, go mod download %v (%d files)", r, map[bool]string{true: "go", false: "download"}[first], ours[r].Round(time.Millisecond), gos[r].Round(time.Millisecond), len(files1))
	}
	med := func(ds []time.Duration) time.Duration {
		s := slices.Clone(ds)
		slices.Sort(s)
		return s[len(s)/2]
	}
	var so, sg time.Duration
	for i := range ours {
		so += ours[i]
		sg += gos[i]
	}
	t.Logf("median: download %v, go mod download %v, ratio %.2f; total ratio %.2f",
		med(ours).Round(time.Millisecond), med(gos).Round(time.Millisecond),
		float64(med(ours))/float64(med(gos)), float64(so)/float64(sg))
}
