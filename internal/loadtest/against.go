package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// runServe serves a warm world of n modules until standard input ends,
// printing "serving URL" when it accepts requests: the server side of
// runAgainst.
func runServe(n, zipSize int) error {
	dir, err := os.MkdirTemp("", "modfetch-loadtest")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	_, h, err := warmWorld(dir, n, zipSize)
	if err != nil {
		return err
	}
	u, err := serve(h)
	if err != nil {
		return err
	}
	fmt.Println("serving", u)
	io.Copy(io.Discard, os.Stdin)
	return nil
}

// runAgainst compares our warm server with another build's (bin, a
// loadtest built from other code, run with -serve), each in a process of
// its own over the same fixture modules, loaded in turn by wrk: the same
// requests, alternating rounds, the median of each. CPU per request is
// each server process's own (Linux: /proc/PID/stat).
func runAgainst(bin string, n, zipSize int, d time.Duration, conns, rounds int) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	args := []string{"-serve", "-modules", strconv.Itoa(n), "-zipkb", strconv.Itoa(zipSize >> 10)}
	a, err := startServer(self, args)
	if err != nil {
		return err
	}
	defer a.stop()
	b, err := startServer(bin, args)
	if err != nil {
		return err
	}
	defer b.stop()
	fmt.Printf("warm serving, this build (A) against %s (B): %d modules, zips ~%d KiB, %d connections, %v per measurement, median of %d alternating rounds, wrk\n",
		bin, n, zipSize>>10, conns, d, rounds)
	fmt.Printf("%-6s %10s %10s %8s   %12s %12s %8s\n", "file", "A req/s", "B req/s", "A/B", "A CPU/req", "B CPU/req", "B/A")
	mods := fixtureModules(n, zipSize)
	for _, ext := range []string{"info", "mod", "zip"} {
		var paths []string
		for _, m := range mods {
			paths = append(paths, "/"+m.Path+"/@v/"+m.Version+"."+ext)
		}
		for _, s := range []*server{a, b} {
			if _, err := loadWrk(s.url, paths, time.Second, conns); err != nil {
				return err
			}
		}
		var rates, cpus [2][]float64
		for r := range rounds {
			order := []int{0, 1}
			if r%2 == 1 {
				order = []int{1, 0}
			}
			for _, i := range order {
				s := []*server{a, b}[i]
				c0, err := s.cpu()
				if err != nil {
					return err
				}
				rate, err := loadWrk(s.url, paths, d, conns)
				if err != nil {
					return err
				}
				c1, err := s.cpu()
				if err != nil {
					return err
				}
				rates[i] = append(rates[i], rate)
				cpus[i] = append(cpus[i], (c1-c0).Seconds()/(rate*d.Seconds()))
			}
		}
		ra, rb := median(rates[0]), median(rates[1])
		ca, cb := median(cpus[0]), median(cpus[1])
		fmt.Printf("%-6s %10.0f %10.0f %7.2fx   %10.1fµs %10.1fµs %7.2fx\n", "."+ext, ra, rb, ra/rb, ca*1e6, cb*1e6, cb/ca)
	}
	return nil
}

// fixtureModules returns the modules warmWorld serves (fixture.Bulk's
// names), without building them.
func fixtureModules(n, zipSize int) []struct{ Path, Version string } {
	var mods []struct{ Path, Version string }
	for i := range n {
		mods = append(mods, struct{ Path, Version string }{fmt.Sprintf("example.com/load/m%d", i), "v1.0.0"})
	}
	return mods
}

// A server is a -serve child process.
type server struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	url   string
}

func startServer(bin string, args []string) (*server, error) {
	cmd := exec.Command(bin, args...)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &server{cmd: cmd, stdin: stdin}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if u, ok := strings.CutPrefix(strings.TrimSpace(line), "serving "); ok && err == nil {
		s.url = u
		return s, nil
	}
	s.stop()
	return nil, fmt.Errorf("%s -serve: %q, %v", bin, line, err)
}

func (s *server) stop() {
	s.stdin.Close()
	s.cmd.Wait()
}

// cpu returns the CPU time (user and system) the process has used.
func (s *server) cpu() (time.Duration, error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(s.cmd.Process.Pid) + "/stat")
	if err != nil {
		return 0, fmt.Errorf("reading a process's CPU time (Linux only): %v", err)
	}
	f := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+1:]))
	// Fields after the command: state is f[0]; utime and stime are the
	// 14th and 15th fields of the whole line, f[11] and f[12] here.
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("parsing /proc/%d/stat", s.cmd.Process.Pid)
	}
	const ticks = 100 // USER_HZ on Linux
	return time.Duration(ut+st) * time.Second / ticks, nil
}
