package main

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"golang.org/x/mod/module"

	"github.com/modfetch/modfetch/checksum"
)

// A status is a mirror's verdict, in rank order.
type status int

const (
	statusOK       status = iota // no failures, no mismatches
	statusFlaky                  // failures up to the allowed rate, no mismatches
	statusFailing                // more failures, or given up on
	statusMismatch               // served bytes that do not match
)

// classify gives res its status; maxRate is the failure rate up to which
// a mirror with failures is flaky rather than failing.
func classify(res *result, maxRate float64) status {
	switch {
	case res.mismatches > 0:
		return statusMismatch
	case res.requests == 0 || res.gaveUp > 0:
		return statusFailing
	case res.failures == 0:
		return statusOK
	case float64(res.failures) <= maxRate*float64(res.requests):
		return statusFlaky
	}
	return statusFailing
}

// recommendable reports whether a mirror with status s may be in the
// recommended GOPROXY.
func (s status) recommendable() bool { return s == statusOK || s == statusFlaky }

// percentile returns the nearest-rank p-th percentile (0 < p <= 1) of
// durations, and false when there are none.
func percentile(durations []time.Duration, p float64) (time.Duration, bool) {
	if len(durations) == 0 {
		return 0, false
	}
	s := slices.Clone(durations)
	slices.Sort(s)
	i := int(math.Ceil(p*float64(len(s)))) - 1
	return s[max(i, 0)], true
}

// A row is one mirror of the report.
type row struct {
	*result
	status      status
	p50, p95    time.Duration
	answered    bool // p50 and p95 are known
	bytesPerSec int64
	failedPct   float64
}

func newRow(res *result, maxRate float64) row {
	r := row{result: res, status: classify(res, maxRate)}
	r.p50, r.answered = percentile(res.latencies, 0.50)
	r.p95, _ = percentile(res.latencies, 0.95)
	if res.busy > 0 {
		r.bytesPerSec = int64(float64(res.bytes) / res.busy.Seconds())
	}
	if res.requests > 0 {
		r.failedPct = 100 * float64(res.failures) / float64(res.requests)
	}
	return r
}

// A report is the mirrors in rank order and the recommended GOPROXY.
type report struct {
	rows        []row
	recommended string
}

// newReport ranks results: by status, then fastest first (p95, then p50;
// a mirror that answered nothing last), then in the order given.
func newReport(results []*result, maxRate float64) *report {
	rep := new(report)
	for _, res := range results {
		rep.rows = append(rep.rows, newRow(res, maxRate))
	}
	slices.SortStableFunc(rep.rows, func(a, b row) int {
		return cmp.Or(
			cmp.Compare(a.status, b.status),
			answeredFirst(a, b),
			cmp.Compare(a.p95, b.p95),
			cmp.Compare(a.p50, b.p50),
		)
	})
	var names []string
	for _, r := range rep.rows {
		if r.status.recommendable() {
			names = append(names, r.name)
		}
	}
	rep.recommended = strings.Join(names, "|")
	return rep
}

func answeredFirst(a, b row) int {
	switch {
	case a.answered == b.answered:
		return 0
	case a.answered:
		return -1
	}
	return 1
}

// The JSON form: the keys are part of the command's contract.
type reportJSON struct {
	Mirrors     []mirrorJSON `json:"mirrors"`
	Recommended string       `json:"recommended"`
}

type mirrorJSON struct {
	URL         string   `json:"url"`
	Requests    int      `json:"requests"`
	Failures    int      `json:"failures"`
	Mismatches  int      `json:"mismatches"`
	P50ms       *float64 `json:"p50_ms"` // null when nothing was answered
	P95ms       *float64 `json:"p95_ms"`
	BytesPerSec int64    `json:"bytes_per_sec"`
}

func millis(d time.Duration) *float64 {
	ms := math.Round(float64(d)/float64(time.Microsecond)) / 1000
	return &ms
}

func (rep *report) writeJSON(w io.Writer) error {
	out := reportJSON{Mirrors: []mirrorJSON{}, Recommended: rep.recommended}
	for _, r := range rep.rows {
		m := mirrorJSON{
			URL:         r.name,
			Requests:    r.requests,
			Failures:    r.failures,
			Mismatches:  r.mismatches,
			BytesPerSec: r.bytesPerSec,
		}
		if r.answered {
			m.P50ms, m.P95ms = millis(r.p50), millis(r.p95)
		}
		out.Mirrors = append(out.Mirrors, m)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

const (
	red   = "\x1b[31m"
	reset = "\x1b[0m"
)

// writeTable prints the table, the problems and the recommendation; with
// color, the MISMATCH verdicts are red.
func (rep *report) writeTable(w io.Writer, color bool) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "MIRROR\tREQUESTS\tFAILURES\tMISMATCHES\tP50\tP95\tTHROUGHPUT\tSTATUS")
	for _, r := range rep.rows {
		p50, p95 := "-", "-"
		if r.answered {
			p50, p95 = formatDuration(r.p50), formatDuration(r.p95)
		}
		// STATUS comes last, after the last tab, so that color codes do
		// not upset the alignment.
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%s\t%s\t%s\t%s\n", r.name, r.requests, r.failures, r.mismatches,
			p50, p95, formatRate(r.bytesPerSec), paint(r.statusText(), r.status == statusMismatch && color))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	rep.writeDetails(w, color)
	if rep.recommended == "" {
		_, err := fmt.Fprintln(w, "recommended: none (no mirror answered with matching bytes and few enough failures)")
		return err
	}
	_, err := fmt.Fprintf(w, "recommended: GOPROXY='%s'\n", rep.recommended)
	return err
}

// writeDetails prints each mismatch and the first few failures of each
// mirror, one a line.
func (rep *report) writeDetails(w io.Writer, color bool) {
	for _, r := range rep.rows {
		for _, p := range r.problems {
			if p.mismatch {
				times := ""
				if p.times > 1 {
					times = fmt.Sprintf(" (%d times)", p.times)
				}
				fmt.Fprintf(w, "%s %s: %s: %s%s\n", paint("MISMATCH", color), r.name, p.req, mismatchText(p.err), times)
			}
		}
		for _, p := range r.problems {
			if !p.mismatch {
				fmt.Fprintf(w, "failed %s: %s: %s\n", r.name, p.req, failureText(p.err))
			}
		}
		if more := r.failures - maxFailuresShown; more > 0 {
			fmt.Fprintf(w, "failed %s: and %d more\n", r.name, more)
		}
		if r.gaveUp > 0 {
			fmt.Fprintf(w, "gave up on %s after %d failures in a row\n", r.name, r.gaveUp)
		}
	}
}

// failureText is the first line of err without the module context that
// the request already shows.
func failureText(err error) string {
	var me *module.ModuleError
	if errors.As(err, &me) && me.Err != nil {
		err = me.Err
	}
	return firstLine(err.Error())
}

// mismatchText says what was served and what is on record.
func mismatchText(err error) string {
	var m *checksum.MismatchError
	if !errors.As(err, &m) {
		return firstLine(err.Error())
	}
	want := m.Want
	if want == "" {
		want = "no such line"
	}
	return fmt.Sprintf("served %s, %s has %s", m.Got, m.Source, want)
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

func (r row) statusText() string {
	switch r.status {
	case statusOK:
		return "ok"
	case statusFlaky:
		return fmt.Sprintf("flaky (%.0f%% failed)", r.failedPct)
	case statusMismatch:
		return "MISMATCH"
	}
	if r.gaveUp > 0 {
		return "failing (gave up)"
	}
	return fmt.Sprintf("failing (%.0f%% failed)", r.failedPct)
}

func paint(s string, color bool) string {
	if !color {
		return s
	}
	return red + s + reset
}

// formatDuration shows d with three significant digits or so.
func formatDuration(d time.Duration) string {
	switch {
	case d < 10*time.Millisecond:
		return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond))
	case d < time.Second:
		return fmt.Sprintf("%.0fms", float64(d)/float64(time.Millisecond))
	}
	return fmt.Sprintf("%.2fs", d.Seconds())
}

// formatRate shows bytes per second in decimal units.
func formatRate(bps int64) string {
	switch {
	case bps == 0:
		return "-"
	case bps < 1e3:
		return fmt.Sprintf("%d B/s", bps)
	case bps < 1e6:
		return fmt.Sprintf("%.1f kB/s", float64(bps)/1e3)
	}
	return fmt.Sprintf("%.1f MB/s", float64(bps)/1e6)
}

// progress prints how the checks advance on standard error: on a
// terminal, one line rewritten in place; else a line a second at most.
// With quiet (-json), only each mirror's summary line.
type progress struct {
	w     io.Writer
	tty   bool
	quiet bool

	mu        sync.Mutex
	prefix    string
	total     int
	lastShown time.Time
}

func newProgress(w io.Writer, quiet bool) *progress {
	return &progress{w: w, tty: isTerminal(w), quiet: quiet}
}

// start begins mirror n of total, which gets reqs requests.
func (p *progress) start(n, total int, name string, reqs int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.prefix = fmt.Sprintf("mirrorcheck: [%d/%d] %s", n, total, name)
	p.total = reqs
	p.lastShown = time.Now()
}

// update shows the counts so far.
func (p *progress) update(done, failures, mismatches int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.quiet {
		return
	}
	line := fmt.Sprintf("%s: checked %d/%d, %d failed, %d mismatched", p.prefix, done, p.total, failures, mismatches)
	switch {
	case p.tty:
		fmt.Fprintf(p.w, "\r\x1b[K%s", line)
	case time.Since(p.lastShown) >= time.Second:
		fmt.Fprintln(p.w, line)
		p.lastShown = time.Now()
	}
}

// done shows the mirror's summary.
func (p *progress) done(res *result, took time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tty && !p.quiet {
		fmt.Fprint(p.w, "\r\x1b[K")
	}
	fmt.Fprintf(p.w, "%s: checked %d/%d, %d failed, %d mismatched in %s\n", p.prefix, res.requests, p.total,
		res.failures, res.mismatches, took.Round(time.Millisecond))
}
