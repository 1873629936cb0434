//go:build linux

package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/modfetch/modfetch/internal/fixture"
	"golang.org/x/mod/module"
)

// TestNetworkColdVersusGoModDownload compares cold downloads of a real
// project's dependencies by this program (no arguments) and by `go mod
// download`, against the real upstream: the GOPROXY of `go env` (or
// $MODFETCH_NETWORK_GOPROXY) and sum.golang.org through it. The main
// module is $MODFETCH_COLD_PROJECT (default
// github.com/prometheus/prometheus@v0.316.0: 251 modules downloaded in
// full, 440 go.mod files, 1.9 GB of module cache), its go.mod fetched
// from the proxy, with no go.sum, so both look every module up in the
// checksum database. Each run has a fresh module cache and GOPATH (so a
// fresh checksum database cache), starts after sync(2) so that neither
// pays for the other's write-back, and the two alternate which goes
// first, for $MODFETCH_COLD_ROUNDS rounds (at least 3).
// $MODFETCH_COLD_ARGS adds flags to this program (say "-j 16"). It
// reports the wall times, their ratio per round and the medians, and the
// peak RSS of each; it asserts only that both fill their caches alike.
//
//	MODFETCH_NETWORK=1 MODFETCH_COLD_ROUNDS=3 go test -count=1 -timeout 60m \
//	    -run TestNetworkColdVersusGoModDownload -v ./examples/download
func TestNetworkColdVersusGoModDownload(t *testing.T) {
	if os.Getenv("MODFETCH_NETWORK") != "1" {
		t.Skip("skipping: needs the public module proxy; set MODFETCH_NETWORK=1 (and MODFETCH_COLD_ROUNDS=3) to run")
	}
	rounds, _ := strconv.Atoi(os.Getenv("MODFETCH_COLD_ROUNDS"))
	if rounds < 3 {
		t.Fatalf("MODFETCH_COLD_ROUNDS=%q: at least 3 rounds", os.Getenv("MODFETCH_COLD_ROUNDS"))
	}
	goCmd := goBin(t)
	goproxy := os.Getenv("MODFETCH_NETWORK_GOPROXY")
	if goproxy == "" {
		out, err := exec.Command(goCmd, "env", "GOPROXY").Output()
		if err != nil {
			t.Fatal(err)
		}
		goproxy = strings.TrimSpace(string(out))
	}
	project := os.Getenv("MODFETCH_COLD_PROJECT")
	if project == "" {
		project = "github.com/prometheus/prometheus@v0.316.0"
	}
	gomod := fetchGoMod(t, goproxy, project)
	var extra []string
	if s := os.Getenv("MODFETCH_COLD_ARGS"); s != "" {
		extra = strings.Fields(s)
	}
	bin := buildDownload(t)
	work := t.TempDir()

	type run struct {
		wall  time.Duration
		rss   int64 // KiB
		files int
	}
	var ours, gos []run
	for r := range rounds {
		var files [2][]string
		one := func(isGo bool) {
			home := filepath.Join(work, fmt.Sprintf("home%d-%v", r, isGo))
			mainDir := filepath.Join(home, "main")
			if err := os.MkdirAll(mainDir, 0o777); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(mainDir, "go.mod"), gomod, 0o666); err != nil {
				t.Fatal(err)
			}
			writeFiles(t, home, map[string]string{".config/go/telemetry/mode": "off 2026-01-01"})
			gomodcache := filepath.Join(home, "go", "pkg", "mod")
			name, args := bin, extra
			if isGo {
				name, args = goCmd, []string{"mod", "download"}
			}
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, name, args...)
			cmd.Dir = mainDir
			cmd.Env = []string{
				"PATH=" + os.Getenv("PATH"),
				"HOME=" + home,
				"GOPATH=" + filepath.Join(home, "go"),
				"GOMODCACHE=" + gomodcache,
				"GOCACHE=" + filepath.Join(home, "gocache"),
				"GOPROXY=" + goproxy,
				"GOSUMDB=sum.golang.org",
				"GOFLAGS=-modcacherw",
				"GOENV=off", "GOTOOLCHAIN=local", "GOTELEMETRY=off", "GOWORK=off",
				"GONOSUMDB=", "GOPRIVATE=", "GONOPROXY=", "GOINSECURE=",
			}
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			syscall.Sync()
			start := time.Now()
			err := cmd.Run()
			wall := time.Since(start)
			if err != nil {
				t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, tail(stderr.String(), 40))
			}
			ru, _ := cmd.ProcessState.SysUsage().(*syscall.Rusage)
			var rss int64
			if ru != nil {
				rss = ru.Maxrss
			}
			i := 0
			if isGo {
				i = 1
			}
			files[i] = fixture.CacheFiles(t, gomodcache)
			res := run{wall, rss, len(files[i])}
			if isGo {
				gos = append(gos, res)
			} else {
				ours = append(ours, res)
			}
			chmodAll(home)
			if err := os.RemoveAll(home); err != nil {
				t.Fatal(err)
			}
		}
		goFirst := r%2 == 0
		one(goFirst)
		one(!goFirst)
		if !slices.Equal(files[0], files[1]) {
			t.Errorf("round %d: the caches differ: %d files (ours), %d (go's)", r, len(files[0]), len(files[1]))
		}
		t.Logf("round %d (%s first): download %v (peak RSS %d MiB), go mod download %v (peak RSS %d MiB), ratio %.2f; %d files",
			r, map[bool]string{true: "go", false: "download"}[goFirst],
			ours[r].wall.Round(time.Millisecond), ours[r].rss>>10,
			gos[r].wall.Round(time.Millisecond), gos[r].rss>>10,
			float64(ours[r].wall)/float64(gos[r].wall), ours[r].files)
	}
	median := func(rs []run, f func(run) float64) float64 {
		var s []float64
		for _, r := range rs {
			s = append(s, f(r))
		}
		slices.Sort(s)
		return s[len(s)/2]
	}
	wall := func(r run) float64 { return r.wall.Seconds() }
	var ratios []float64
	for i := range ours {
		ratios = append(ratios, ours[i].wall.Seconds()/gos[i].wall.Seconds())
	}
	slices.Sort(ratios)
	t.Logf("%s via %s, %d rounds: median download %.1fs, go mod download %.1fs; median ratio %.2f; peak RSS of download: median %d MiB, max %d MiB",
		project, goproxy, rounds, median(ours, wall), median(gos, wall), ratios[len(ratios)/2],
		int64(median(ours, func(r run) float64 { return float64(r.rss) }))>>10,
		slices.MaxFunc(ours, func(a, b run) int { return int(a.rss - b.rss) }).rss>>10)
}

// fetchGoMod returns the go.mod file of project (path@version) from the
// first proxy of goproxy.
func fetchGoMod(t *testing.T, goproxy, project string) []byte {
	t.Helper()
	path, vers, ok := strings.Cut(project, "@")
	if !ok {
		t.Fatalf("MODFETCH_COLD_PROJECT=%q: want path@version", project)
	}
	base, _, _ := strings.Cut(strings.Split(goproxy, ",")[0], "|")
	epath, err := module.EscapePath(path)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := module.EscapeVersion(vers)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(strings.TrimSuffix(base, "/") + "/" + epath + "/@v/" + ev + ".mod")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("fetching the go.mod of %s: %s, %v", project, resp.Status, err)
	}
	return data
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
