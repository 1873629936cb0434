// Command loadtest measures modfetch's module proxy on loopback, against
// baselines measured in the same run, and prints the ratios.
//
// Warm serving (default): a module cache of fixture modules is served by
// proxy.Handler (over cache.Cache on a cache.DirStore) and by a plain
// http.FileServer over the same directory (a valid file-tree GOPROXY).
// wrk, from Debian's packages, loads each in turn with the same requests
// (.info, .mod or .zip of every module, round robin); without wrk a
// built-in Go load generator is used. It reports requests per second and,
// more robustly, the servers' CPU time per request (with wrk the load
// generator runs in another process), each as the median of alternating
// rounds, and the ratio of each to the baseline.
//
//	go run ./internal/loadtest [-modules 200] [-zipkb 256] [-duration 5s] [-connections 32]
//
// Cold downloads (-cold, needs the public module proxy): `go mod download`
// of a real project's requirements, straight from the upstream and through
// a fresh proxyserver-like stack, alternately, each with a fresh module
// cache; it reports the times and the upstream requests our server made
// against the requests the go command made to it.
//
//	go run ./internal/loadtest -cold [-project github.com/spf13/cobra@v1.8.0] [-rounds 2]
//
// Against another build (-against BIN): this build's warm server and
// another's (a loadtest built from the code before a change, run with
// -serve), each in its own process over the same fixture modules, loaded
// in turn; it reports each one's rate and CPU per request, and their
// ratios.
//
//	go build -o /tmp/lt-before ./internal/loadtest   # on the code before
//	go run ./internal/loadtest -against /tmp/lt-before -warmrounds 5
package main

import (
	"bufio"
	"cmp"
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/pprof"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/modfetch/modfetch"
	"github.com/modfetch/modfetch/cache"
	"github.com/modfetch/modfetch/checksum"
	"github.com/modfetch/modfetch/goenv"
	"github.com/modfetch/modfetch/internal/fixture"
	"github.com/modfetch/modfetch/proxy"
)

var (
	verbose    *bool
	serverDir  *string
	clientDir  *string
	clientCPUs *string
)

func main() {
	log.SetFlags(0)
	modules := flag.Int("modules", 200, "number of fixture modules (warm)")
	zipKB := flag.Int("zipkb", 256, "approximate zip size in KiB (warm)")
	duration := flag.Duration("duration", 5*time.Second, "load duration per case (warm)")
	conns := flag.Int("connections", 32, "concurrent connections (warm)")
	warmRounds := flag.Int("warmrounds", 3, "alternating measurements per case; the median is reported (warm)")
	cold := flag.Bool("cold", false, "compare cold go mod download through the proxy with the upstream (needs network)")
	project := flag.String("project", "github.com/spf13/cobra@v1.8.0", "module whose go.mod requirements are downloaded (cold)")
	rounds := flag.Int("rounds", 2, "alternating rounds (cold)")
	clientDir = flag.String("clientdir", "", "directory for the go command's module caches in cold runs (default: a temporary directory)")
	serverDir = flag.String("serverdir", "", "directory for the proxy's cache in cold runs (default: beside the clients'; /dev/shm takes the disk out of the comparison)")
	clientCPUs = flag.String("clientcpus", "", "run the go command under `taskset -c` with this CPU list (cold)")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the run to this file")
	verbose = flag.Bool("v", false, "print the request paths of cold runs")
	serveOnly := flag.Bool("serve", false, "serve a warm world until standard input ends (for -against)")
	against := flag.String("against", "", "compare warm serving with another build of loadtest, a `binary` run with -serve (the code before a change, say)")
	flag.Parse()
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			log.Fatal(err)
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	var err error
	switch {
	case *serveOnly:
		err = runServe(*modules, *zipKB<<10)
	case *against != "":
		err = runAgainst(*against, *modules, *zipKB<<10, *duration, *conns, *warmRounds)
	case *cold:
		err = runCold(*project, *rounds)
	default:
		err = runWarm(*modules, *zipKB<<10, *duration, *conns, *warmRounds)
	}
	if err != nil {
		pprof.StopCPUProfile()
		log.Fatal(err)
	}
}

// warmWorld fills dir with a module cache of n fixture modules and
// returns them and our server over it, composed as the proxyserver
// composes it: a memory tier in front of the disk, from which the handler
// serves hot answers.
func warmWorld(dir string, n, zipSize int) ([]*fixture.Module, http.Handler, error) {
	set := fixture.Bulk("load", n, zipSize)
	mods := set.Modules()
	store := &cache.DirStore{Dir: dir}
	fill := &cache.Cache{Next: set, Store: store, MutableTTL: -1}
	ctx := context.Background()
	for _, m := range mods {
		if _, err := fill.Stat(ctx, m.Path, m.Version); err != nil {
			return nil, nil, err
		}
		if _, err := fill.GoMod(ctx, m.Path, m.Version); err != nil {
			return nil, nil, err
		}
		rc, err := fill.Zip(ctx, m.Path, m.Version)
		if err != nil {
			return nil, nil, err
		}
		rc.Close()
	}
	mem := &cache.MemStore{MaxBytes: 32 << 20}
	warm := &cache.Cache{Next: nowhere{}, Store: &cache.Tiered{Fast: mem, Slow: store}}
	return mods, &proxy.Handler{Resolver: warm, Memory: mem}, nil
}

func runWarm(n, zipSize int, d time.Duration, conns, rounds int) error {
	dir, err := os.MkdirTemp("", "modfetch-loadtest")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	mods, h, err := warmWorld(dir, n, zipSize)
	if err != nil {
		return err
	}
	ours, err := serve(h)
	if err != nil {
		return err
	}
	files, err := serve(http.FileServer(http.Dir(dir)))
	if err != nil {
		return err
	}
	gen := "wrk"
	if _, err := exec.LookPath("wrk"); err != nil {
		gen = "go"
	}
	fmt.Printf("warm serving: %d modules, zips ~%d KiB, %d connections, %v per measurement, median of %d alternating rounds, load generator %s\n",
		n, zipSize>>10, conns, d, rounds, gen)
	// The floor is the cheapest handler net/http can run: a fixed answer,
	// with the headers ours sends. Its CPU per request, against the file
	// server's, is the highest ratio any handler can reach.
	floorBody := make([]byte, 200)
	floor, err := serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h["Content-Type"] = []string{"text/plain; charset=utf-8"}
		h["Cache-Control"] = []string{"public, max-age=31536000, immutable"}
		h["Etag"] = []string{`"0123456789abcdef"`}
		h["Content-Length"] = []string{"200"}
		w.Write(floorBody)
	}))
	if err != nil {
		return err
	}
	fmt.Printf("%-6s %14s %16s %8s   %18s %20s %8s   %16s %8s\n", "file", "modfetch req/s", "fileserver req/s", "ratio", "modfetch CPU/req", "fileserver CPU/req", "ratio", "floor CPU/req", "ceiling")
	for _, ext := range []string{"info", "mod", "zip"} {
		var paths []string
		for _, m := range mods {
			paths = append(paths, "/"+m.Path+"/@v/"+m.Version+"."+ext)
		}
		// Warm up both, then measure.
		load(gen, ours, paths, time.Second, conns)
		load(gen, files, paths, time.Second, conns)
		var as, bs, acpu, bcpu, fcpu []float64
		for range rounds {
			if ext != "zip" {
				c0 := cpuTime()
				f, err := load(gen, floor, paths, d, conns)
				if err != nil {
					return err
				}
				fcpu = append(fcpu, (cpuTime()-c0).Seconds()/(f*d.Seconds()))
			}
			c0 := cpuTime()
			a, err := load(gen, ours, paths, d, conns)
			if err != nil {
				return err
			}
			c1 := cpuTime()
			b, err := load(gen, files, paths, d, conns)
			if err != nil {
				return err
			}
			c2 := cpuTime()
			as, bs = append(as, a), append(bs, b)
			acpu = append(acpu, (c1-c0).Seconds()/(a*d.Seconds()))
			bcpu = append(bcpu, (c2-c1).Seconds()/(b*d.Seconds()))
		}
		a, b := median(as), median(bs)
		ac, bc := median(acpu), median(bcpu)
		fmt.Printf("%-6s %14.0f %16.0f %7.2fx   %16.1fµs %18.1fµs %7.2fx", "."+ext, a, b, a/b, ac*1e6, bc*1e6, bc/ac)
		if len(fcpu) > 0 {
			fc := median(fcpu)
			fmt.Printf("   %14.1fµs %7.2fx", fc*1e6, bc/fc)
		}
		fmt.Println()
	}
	return nil
}

func median[T cmp.Ordered](xs []T) T {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

// nowhere is an upstream that refuses everything: a warm cache needs none.
type nowhere struct{}

var errNowhere = fmt.Errorf("loadtest: upstream asked")

func (nowhere) List(context.Context, string) ([]string, error) { return nil, errNowhere }
func (nowhere) Stat(context.Context, string, string) (*modfetch.Info, error) {
	return nil, errNowhere
}
func (nowhere) Latest(context.Context, string) (*modfetch.Info, error) { return nil, errNowhere }
func (nowhere) GoMod(context.Context, string, string) ([]byte, error)  { return nil, errNowhere }
func (nowhere) Zip(context.Context, string, string) (io.ReadCloser, error) {
	return nil, errNowhere
}

func serve(h http.Handler) (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	go http.Serve(ln, h)
	return "http://" + ln.Addr().String(), nil
}

// load requests paths round robin against base for d and returns the rate.
func load(gen, base string, paths []string, d time.Duration, conns int) (float64, error) {
	if gen == "wrk" {
		return loadWrk(base, paths, d, conns)
	}
	return loadGo(base, paths, d, conns)
}

var wrkRate = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)

func loadWrk(base string, paths []string, d time.Duration, conns int) (float64, error) {
	f, err := os.CreateTemp("", "paths-*.lua")
	if err != nil {
		return 0, err
	}
	defer os.Remove(f.Name())
	w := bufio.NewWriter(f)
	fmt.Fprintln(w, "local paths = {")
	for _, p := range paths {
		fmt.Fprintf(w, "  %q,\n", p)
	}
	fmt.Fprintln(w, "}\nlocal i = 0\nrequest = function()\n  i = i % #paths + 1\n  return wrk.format(\"GET\", paths[i])\nend")
	fmt.Fprintln(w, "response = function(status, headers, body)\n  if status ~= 200 then error(\"status \" .. status) end\nend")
	w.Flush()
	f.Close()
	out, err := exec.Command("wrk", "-t1", "-c"+strconv.Itoa(conns), "-d"+d.String(), "-s", f.Name(), base).CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("wrk: %v\n%s", err, out)
	}
	m := wrkRate.FindSubmatch(out)
	if m == nil {
		return 0, fmt.Errorf("wrk output: %s", out)
	}
	return strconv.ParseFloat(string(m[1]), 64)
}

func loadGo(base string, paths []string, d time.Duration, conns int) (float64, error) {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conns}}
	defer client.CloseIdleConnections()
	var n, i atomic.Int64
	var firstErr atomic.Value
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				resp, err := client.Get(base + paths[int(i.Add(1))%len(paths)])
				if err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				n.Add(1)
			}
		}()
	}
	wg.Wait()
	if err, ok := firstErr.Load().(error); ok {
		return 0, err
	}
	return float64(n.Load()) / d.Seconds(), nil
}

// countingTransport counts the requests a server makes upstream.
type countingTransport struct {
	base  http.RoundTripper
	t0    time.Time
	n     atomic.Int64
	mu    sync.Mutex
	paths []string
}

func (t *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	t.n.Add(1)
	start := time.Now()
	resp, err := t.base.RoundTrip(r)
	t.mu.Lock()
	t.paths = append(t.paths, fmt.Sprintf("%s at %.1fms took %.1fms (headers)", r.URL.Path, ms(start.Sub(t.t0)), ms(time.Since(start))))
	t.mu.Unlock()
	return resp, err
}

// countingHandler counts the requests the go command makes to our server.
type countingHandler struct {
	h     http.Handler
	t0    time.Time
	n     atomic.Int64
	mu    sync.Mutex
	paths []string
}

func (c *countingHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.n.Add(1)
	start := time.Now()
	c.h.ServeHTTP(w, r)
	c.mu.Lock()
	c.paths = append(c.paths, fmt.Sprintf("%s at %.1fms took %.1fms", r.URL.Path, ms(start.Sub(c.t0)), ms(time.Since(start))))
	c.mu.Unlock()
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func runCold(project string, rounds int) error {
	upstream := os.Getenv("GOPROXY")
	if upstream == "" || strings.Contains(upstream, "127.0.0.1") || strings.Contains(upstream, "localhost") {
		upstream = "https://proxy.golang.org"
	}
	work, err := os.MkdirTemp("", "modfetch-cold")
	if err != nil {
		return err
	}
	defer func() {
		exec.Command("chmod", "-R", "u+w", work).Run()
		os.RemoveAll(work)
	}()
	// The project's go.mod, fetched once, is the list of modules to download.
	path, version, _ := strings.Cut(project, "@")
	resp, err := http.Get(strings.TrimSuffix(strings.Split(upstream, ",")[0], "/") + "/" + path + "/@v/" + version + ".mod")
	if err != nil {
		return err
	}
	gomod, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("fetching %s go.mod: %s", project, resp.Status)
	}
	// goDownload runs the go command and returns its wall time, its CPU
	// time and this process's (the proxy's) CPU time meanwhile.
	goDownload := func(goproxy string, n int) (wall, client, server time.Duration, err error) {
		// A fresh project directory each time: a go.sum left by an
		// earlier run would spare the go command checksum lookups.
		src := filepath.Join(work, fmt.Sprintf("src%d", n))
		if err := os.MkdirAll(src, 0o777); err != nil {
			return 0, 0, 0, err
		}
		if err := os.WriteFile(filepath.Join(src, "go.mod"), gomod, 0o666); err != nil {
			return 0, 0, 0, err
		}
		home := filepath.Join(work, fmt.Sprintf("home%d", n))
		if *clientDir != "" {
			dir, err := os.MkdirTemp(*clientDir, "modfetch-cold-client")
			if err != nil {
				return 0, 0, 0, err
			}
			defer func() {
				exec.Command("chmod", "-R", "u+w", dir).Run()
				os.RemoveAll(dir)
			}()
			home = dir
		}
		cmd := exec.Command("go", "mod", "download")
		if *clientCPUs != "" {
			cmd = exec.Command("taskset", "-c", *clientCPUs, "go", "mod", "download")
		}
		cmd.Dir = src
		cmd.Env = append(os.Environ(), "GOPROXY="+goproxy, "GOSUMDB=sum.golang.org", "GOFLAGS=-modcacherw",
			"GOPATH="+filepath.Join(home, "gopath"), "GOMODCACHE="+filepath.Join(home, "modcache"), "GOTOOLCHAIN=local", "GONOSUMDB=", "GOPRIVATE=", "GONOPROXY=")
		if *clientCPUs != "" {
			// Pinned, the go command keeps the parallelism it has unpinned.
			cmd.Env = append(cmd.Env, "GOMAXPROCS="+strconv.Itoa(runtime.NumCPU()))
		}
		start, cpu0 := time.Now(), cpuTime()
		out, err := cmd.CombinedOutput()
		if err != nil {
			return 0, 0, 0, fmt.Errorf("go mod download (GOPROXY=%s): %v\n%s", goproxy, err, out)
		}
		wall, server = time.Since(start), cpuTime()-cpu0
		client = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
		return wall, client, server, nil
	}
	var direct, ours, directCPU, oursClientCPU, oursServerCPU []time.Duration
	var upstreamReqs, clientReqs []int64
	for r := range rounds {
		d, c, _, err := goDownload(upstream, 2*r)
		if err != nil {
			return err
		}
		direct = append(direct, d)
		directCPU = append(directCPU, c)

		// A fresh server: empty module cache and checksum state.
		sdir := work
		if *serverDir != "" {
			sdir, err = os.MkdirTemp(*serverDir, "modfetch-cold-server")
			if err != nil {
				return err
			}
			defer os.RemoveAll(sdir)
		}
		cfg := &goenv.Config{
			GOPROXY: upstream, GOSUMDB: "sum.golang.org", GOAUTH: "off",
			GOMODCACHE: filepath.Join(sdir, fmt.Sprintf("server%d", r), "modcache"),
			GOPATH:     filepath.Join(sdir, fmt.Sprintf("server%d", r), "gopath"),
		}
		t0 := time.Now()
		ct := &countingTransport{base: http.DefaultTransport, t0: t0}
		stack, err := cfg.Resolver(&goenv.Options{Client: &http.Client{Transport: ct}, MutableTTL: time.Minute, WriteBehind: true})
		if err != nil {
			return err
		}
		h := &countingHandler{t0: t0, h: &proxy.Handler{Resolver: stack, Memory: stack.Memory, SumDBs: []*checksum.DB{stack.DB}}}
		base, err := serve(h)
		if err != nil {
			return err
		}
		d, c, sc, err := goDownload(base, 2*r+1)
		if err != nil {
			return err
		}
		ours = append(ours, d)
		oursClientCPU = append(oursClientCPU, c)
		oursServerCPU = append(oursServerCPU, sc)
		upstreamReqs = append(upstreamReqs, ct.n.Load())
		clientReqs = append(clientReqs, h.n.Load())
		if *verbose {
			sort.Strings(ct.paths)
			sort.Strings(h.paths)
			fmt.Printf("round %d upstream requests:\n\t%s\nclient requests:\n\t%s\n", r, strings.Join(ct.paths, "\n\t"), strings.Join(h.paths, "\n\t"))
		}
	}
	fmt.Printf("cold `go mod download` of %s's requirements (upstream %s), %d alternating rounds\n", project, upstream, rounds)
	fmt.Printf("straight from upstream: %v (median of %v)\n", median(direct), direct)
	fmt.Printf("through modfetch proxy: %v (median of %v)\n", median(ours), ours)
	fmt.Printf("ratio (upstream time / proxy time): %.2fx\n", float64(median(direct))/float64(median(ours)))
	fmt.Printf("CPU time (medians): go command straight from upstream %v; through the proxy, go command %v and proxy %v\n",
		median(directCPU).Round(time.Millisecond), median(oursClientCPU).Round(time.Millisecond), median(oursServerCPU).Round(time.Millisecond))
	for i := range upstreamReqs {
		fmt.Printf("round %d: go command made %d requests to the proxy; the proxy made %d upstream\n", i, clientReqs[i], upstreamReqs[i])
	}
	return nil
}
