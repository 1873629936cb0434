//go:build unix

package vcs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/modfetch/modfetch/internal/fixture"
)

// script writes an executable shell script and returns its path.
func script(t *testing.T, body string) string {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("skipping: needs a POSIX shell and process groups")
	}
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("skipping: no sh")
	}
	p := filepath.Join(t.TempDir(), "fakegit")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body), 0o777); err != nil {
		t.Fatal(err)
	}
	return p
}

// readPID waits for a pid file and returns its pid.
func readPID(t *testing.T, name string) int {
	t.Helper()
	var pid int
	fixture.WaitFor(t, "a pid in "+name, func() bool {
		data, err := os.ReadFile(name)
		p, perr := strconv.Atoi(strings.TrimSpace(string(data)))
		pid = p
		return err == nil && perr == nil && pid > 0
	})
	return pid
}

// gone reports whether process pid no longer runs: it does not exist, or
// (for a process whose parent died, waiting for init to reap it) is a
// zombie if zombieOK.
func gone(pid int, zombieOK bool) bool {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return syscall.Kill(pid, 0) == syscall.ESRCH
	}
	// pid (comm) S ...
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	if i < 0 || i+2 >= len(s) {
		return false
	}
	return zombieOK && (s[i+2] == 'Z' || s[i+2] == 'X')
}

func waitGone(t *testing.T, what string, pid int, zombieOK bool) {
	t.Helper()
	fixture.WaitFor(t, fmt.Sprintf("%s (pid %d) to end", what, pid), func() bool { return gone(pid, zombieOK) })
}

// TestRunnerTimeoutKillsProcessGroup: a process that hangs (and a child it
// started) is killed at the timeout, and the error says so.
func TestRunnerTimeoutKillsProcessGroup(t *testing.T) {
	dir := t.TempDir()
	prog := script(t, `echo $$ > "$PIDDIR/leader"
sleep 1000 &
echo $! > "$PIDDIR/child"
wait
`)
	r := &Runner{Program: prog, Timeout: time.Second, Env: []string{"PIDDIR=" + dir}}
	start := time.Now()
	_, err := r.Run(context.Background(), Cmd{Dir: dir, Args: []string{"ls-remote", "x"}})
	elapsed := time.Since(start)
	var te *TimeoutError
	if !errors.As(err, &te) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want a timeout", err)
	}
	if !strings.Contains(err.Error(), "ls-remote x in "+dir+": timed out after 1s") {
		t.Errorf("err = %q", err)
	}
	if elapsed > 5*time.Second {
		t.Errorf("took %v", elapsed)
	}
	if runtime.GOOS != "linux" {
		return
	}
	waitGone(t, "leader", readPID(t, filepath.Join(dir, "leader")), false)
	waitGone(t, "child", readPID(t, filepath.Join(dir, "child")), true)
}

// TestRunnerKillsStubbornGroup: a process group ignoring SIGTERM gets
// SIGKILL after the grace period.
func TestRunnerKillsStubbornGroup(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping: waits for the kill grace period")
	}
	dir := t.TempDir()
	prog := script(t, `trap "" TERM
echo $$ > "$PIDDIR/leader"
sh -c 'trap "" TERM; echo $$ > "$PIDDIR/child"; while :; do sleep 1; done' &
wait
`)
	r := &Runner{Program: prog, Timeout: time.Second, Env: []string{"PIDDIR=" + dir}}
	start := time.Now()
	_, err := r.Run(context.Background(), Cmd{Dir: dir})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
	if d := time.Since(start); d < r.Timeout+killGrace || d > r.Timeout+killGrace+5*time.Second {
		t.Errorf("took %v, want about %v", d, r.Timeout+killGrace)
	}
	if runtime.GOOS == "linux" {
		waitGone(t, "leader", readPID(t, filepath.Join(dir, "leader")), false)
		waitGone(t, "child", readPID(t, filepath.Join(dir, "child")), true)
	}
}

// TestRunnerCancel: canceling the context kills the process and reports
// the context's error.
func TestRunnerCancel(t *testing.T) {
	prog := script(t, "sleep 1000\n")
	r := &Runner{Program: prog}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	_, err := r.Run(ctx, Cmd{})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v", d)
	}
	// An already-canceled context runs nothing.
	if _, err := r.Run(ctx, Cmd{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
}

// TestRunnerOutputLimit: output past the limit kills the process.
func TestRunnerOutputLimit(t *testing.T) {
	prog := script(t, "while :; do echo 0123456789; done\n")
	r := &Runner{Program: prog}
	_, err := r.Run(context.Background(), Cmd{Limit: 1 << 16})
	if !errors.Is(err, ErrOutputTooLarge) {
		t.Fatalf("err = %v", err)
	}
	var buf bytes.Buffer
	if _, err := r.Run(context.Background(), Cmd{Limit: 1 << 10, Stdout: &buf}); !errors.Is(err, ErrOutputTooLarge) || buf.Len() > 1<<10 {
		t.Fatalf("err = %v, %d bytes", err, buf.Len())
	}
}

// TestRunnerErrorText: failures read like the go command's, with stderr
// indented, and the environment carries the go command's settings.
func TestRunnerErrorText(t *testing.T) {
	prog := script(t, `echo "prompt=$GIT_TERMINAL_PROMPT gcm=$GCM_INTERACTIVE extra=$EXTRA cmd=$CMDVAR" 
echo "fatal: one" >&2
echo "fatal: two" >&2
exit 3
`)
	r := &Runner{Program: prog, Env: []string{"EXTRA=x"}}
	_, err := r.Run(context.Background(), Cmd{Dir: "/", Args: []string{"fetch", "origin"}, Env: []string{"CMDVAR=y"}})
	var re *RunError
	if !errors.As(err, &re) || re.ExitCode() != 3 {
		t.Fatalf("err = %v", err)
	}
	want := prog + " fetch origin in /: exit status 3:\n\tfatal: one\n\tfatal: two"
	if err.Error() != want {
		t.Errorf("err = %q\nwant %q", err, want)
	}
	out, err := (&Runner{Program: script(t, `echo "prompt=$GIT_TERMINAL_PROMPT gcm=$GCM_INTERACTIVE extra=$EXTRA cmd=$CMDVAR"`), Env: []string{"EXTRA=x"}}).Run(context.Background(), Cmd{Env: []string{"CMDVAR=y"}})
	if err != nil {
		t.Fatal(err)
	}
	wantEnv := "prompt=0 gcm=never extra=x cmd=y\n"
	if os.Getenv("GIT_TERMINAL_PROMPT") != "" || os.Getenv("GCM_INTERACTIVE") != "" {
		wantEnv = string(out) // the user's own settings win
	}
	if string(out) != wantEnv {
		t.Errorf("environment: %q, want %q", out, wantEnv)
	}
}

func TestGitVersion(t *testing.T) {
	r := &Runner{Program: script(t, "echo 'git version 2.39.5.dirty'\n")}
	v, err := r.GitVersion(context.Background())
	if err != nil || v != "v2.39.5" {
		t.Fatalf("GitVersion = %q, %v", v, err)
	}
	if ok, _ := r.gitAtLeast(context.Background(), "v2.29"); !ok {
		t.Error("2.39.5 < 2.29?")
	}
}
