package vcs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"time"

	"golang.org/x/mod/semver"
)

// DefaultTimeout bounds each git process when a Runner's Timeout is zero.
const DefaultTimeout = 10 * time.Minute

// killGrace is how long a canceled process group has, after SIGTERM, to
// exit (git removes its lock files on SIGTERM) before it gets SIGKILL.
const killGrace = 2 * time.Second

// maxStderr is how much of a command's standard error is kept for errors.
const maxStderr = 64 << 10

// ErrOutputTooLarge is wrapped by the error of a command whose standard
// output exceeded its limit. The command is killed.
var ErrOutputTooLarge = errors.New("output too large")

// A TimeoutError reports a command killed because it ran longer than the
// Runner's Timeout. errors.Is(err, context.DeadlineExceeded) holds for it.
type TimeoutError struct {
	Timeout time.Duration
}

func (e *TimeoutError) Error() string {
	return fmt.Sprintf("timed out after %v (process group killed)", e.Timeout)
}

// Is reports whether target is context.DeadlineExceeded.
func (e *TimeoutError) Is(target error) bool { return target == context.DeadlineExceeded }

// A Runner runs git (or another VCS program) as the go command does
// (cmd/go/internal/modfetch/codehost: Run), with what the go command lacks:
// a timeout on every process, each process in its own process group that is
// killed whole on timeout or cancellation, bounded output, and no zombies
// (every process is waited for).
//
// The environment is the current process's, so the user's git
// configuration and credential helpers apply, plus GIT_TERMINAL_PROMPT=0
// and GCM_INTERACTIVE=never unless the environment sets them (as the go
// command does), then Env, then each command's own additions.
//
// A Runner must not be modified after first use; it is safe for concurrent
// use.
type Runner struct {
	// Program is the program to run; "" means "git", found in PATH.
	Program string

	// Timeout bounds each process. Zero means DefaultTimeout; a negative
	// value means no limit.
	Timeout time.Duration

	// Env holds extra NAME=value environment entries for every process.
	Env []string

	// Logger, if set, receives a debug record for every process.
	Logger *slog.Logger

	versionMu sync.Mutex
	version   string
}

// A Cmd is one invocation.
type Cmd struct {
	Dir  string   // working directory; "" means the current one
	Env  []string // extra environment, after the Runner's
	Args []string // arguments after the program name

	// Stdout receives standard output; nil means it is collected and
	// returned by Run.
	Stdout io.Writer

	// Limit, if positive, bounds standard output: the process is killed
	// and Run fails with ErrOutputTooLarge once more is written.
	Limit int64
}

// A RunError is a command that failed. Its text is the go command's:
//
//	git ls-remote -q --end-of-options origin in /dir: exit status 128:
//		fatal: ...
type RunError struct {
	Cmd      string // the command line and " in " its directory
	Err      error  // *exec.ExitError, *TimeoutError, a context error, ...
	Stderr   []byte // the start of standard error
	HelpText string // advice appended to the text, if any
}

func (e *RunError) Error() string {
	text := e.Cmd + ": " + e.Err.Error()
	if stderr := bytes.TrimRight(e.Stderr, "\n"); len(stderr) > 0 {
		text += ":\n\t" + strings.ReplaceAll(string(stderr), "\n", "\n\t")
	}
	if e.HelpText != "" {
		text += "\n" + e.HelpText
	}
	return text
}

func (e *RunError) Unwrap() error { return e.Err }

// ExitCode returns the process's exit status, or -1 if it did not exit
// normally (killed, not started).
func (e *RunError) ExitCode() int {
	var ee *exec.ExitError
	if errors.As(e.Err, &ee) {
		return ee.ExitCode()
	}
	return -1
}

func (r *Runner) program() string {
	if r.Program == "" {
		return "git"
	}
	return r.Program
}

func (r *Runner) timeout() time.Duration {
	switch {
	case r.Timeout == 0:
		return DefaultTimeout
	case r.Timeout < 0:
		return 0
	}
	return r.Timeout
}

// Getenv returns the value of name in the environment the Runner's
// processes get (not counting a Cmd's own additions).
func (r *Runner) Getenv(name string) string {
	for i := len(r.Env) - 1; i >= 0; i-- {
		if k, v, ok := strings.Cut(r.Env[i], "="); ok && k == name {
			return v
		}
	}
	return os.Getenv(name)
}

func (r *Runner) environ(extra []string) []string {
	env := os.Environ()
	if os.Getenv("GIT_TERMINAL_PROMPT") == "" {
		env = append(env, "GIT_TERMINAL_PROMPT=0")
	}
	if os.Getenv("GCM_INTERACTIVE") == "" {
		env = append(env, "GCM_INTERACTIVE=never")
	}
	env = append(env, r.Env...)
	return append(env, extra...)
}

// Run runs the program with c's arguments and returns its standard output
// (nil when c.Stdout is set). A failure is a *RunError; when the process
// was killed because ctx ended or the timeout passed, its Err is the cause
// (ctx's error, or a *TimeoutError).
func (r *Runner) Run(ctx context.Context, c Cmd) ([]byte, error) {
	prog := r.program()
	cmdline := prog
	if len(c.Args) > 0 {
		cmdline += " " + strings.Join(c.Args, " ")
	}
	if err := context.Cause(ctx); err != nil {
		return nil, &RunError{Cmd: cmdline + " in " + c.Dir, Err: err}
	}

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	if d := r.timeout(); d > 0 {
		t := time.AfterFunc(d, func() { cancel(&TimeoutError{Timeout: d}) })
		defer t.Stop()
	}

	var out bytes.Buffer
	var w io.Writer = &out
	if c.Stdout != nil {
		w = c.Stdout
	}
	if c.Limit > 0 {
		w = &limitWriter{w: w, n: c.Limit, exceeded: func() { cancel(ErrOutputTooLarge) }}
	}
	stderr := &headBuffer{max: maxStderr}

	cmd := exec.CommandContext(ctx, prog, c.Args...)
	cmd.Dir = c.Dir
	cmd.Env = r.environ(c.Env)
	cmd.Stdout = w
	cmd.Stderr = stderr
	setProcessGroup(cmd)
	var killTimer *time.Timer
	var killMu sync.Mutex
	cmd.Cancel = func() error {
		// Ask the whole group to stop (git cleans up its lock files on
		// SIGTERM), and kill it if it has not after a grace period.
		err := signalGroup(cmd, false)
		killMu.Lock()
		killTimer = time.AfterFunc(killGrace, func() { signalGroup(cmd, true) })
		killMu.Unlock()
		return err
	}
	cmd.WaitDelay = killGrace + time.Second

	start := time.Now()
	err := cmd.Run()
	killMu.Lock()
	if killTimer != nil {
		killTimer.Stop()
		// Stragglers that ignored SIGTERM and outlived the leader.
		signalGroup(cmd, true)
	}
	killMu.Unlock()

	if errors.Is(err, exec.ErrWaitDelay) && cmd.ProcessState != nil && cmd.ProcessState.Success() {
		// The process succeeded but something it started (an ssh
		// control master, say) kept its output open.
		err = nil
	}
	if err != nil {
		if cause := context.Cause(ctx); cause != nil {
			err = cause
		}
		err = &RunError{Cmd: cmdline + " in " + c.Dir, Err: err, Stderr: stderr.Bytes()}
	}
	if r.Logger != nil {
		r.Logger.Debug("vcs command", "cmd", cmdline, "dir", c.Dir, "duration", time.Since(start), "error", err)
	}
	if err != nil {
		return nil, err
	}
	if c.Stdout != nil {
		return nil, nil
	}
	return out.Bytes(), nil
}

// limitWriter passes at most n bytes to w, then fails and calls exceeded.
type limitWriter struct {
	w        io.Writer
	n        int64
	exceeded func()
}

func (l *limitWriter) Write(p []byte) (int, error) {
	if int64(len(p)) > l.n {
		l.exceeded()
		return 0, ErrOutputTooLarge
	}
	l.n -= int64(len(p))
	return l.w.Write(p)
}

// headBuffer keeps the first max bytes written to it.
type headBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
	max int
}

func (h *headBuffer) Write(p []byte) (int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if room := h.max - h.buf.Len(); room > 0 {
		h.buf.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}

func (h *headBuffer) Bytes() []byte {
	h.mu.Lock()
	defer h.mu.Unlock()
	return bytes.Clone(h.buf.Bytes())
}

var gitVersionRE = regexp.MustCompile(`git version\s+(\d+\.\d+(?:\.\d+)?)`)

// GitVersion returns the version of git, such as "v2.39.5", from
// `git version`, remembered by the Runner once known.
func (r *Runner) GitVersion(ctx context.Context) (string, error) {
	r.versionMu.Lock()
	defer r.versionMu.Unlock()
	if r.version != "" {
		return r.version, nil
	}
	out, err := r.Run(ctx, Cmd{Args: []string{"version"}, Limit: 1 << 16})
	if err != nil {
		return "", fmt.Errorf("failed to execute git version: %w", err)
	}
	m := gitVersionRE.FindSubmatch(out)
	if m == nil {
		return "", fmt.Errorf("git version extraction regexp did not match version line: %q", out)
	}
	r.version = "v" + string(m[1])
	return r.version, nil
}

// gitAtLeast reports whether git is at least version min.
func (r *Runner) gitAtLeast(ctx context.Context, min string) (bool, error) {
	v, err := r.GitVersion(ctx)
	if err != nil {
		return false, err
	}
	return semver.Compare(min, v) <= 0, nil
}
