package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/modfetch/modfetch"
)

// A progress shows how a bulk download goes on stderr: a bar redrawn in
// place on a terminal, else a line for each item finished:
//
//	downloaded example.com/m@v1.2.0 (3/41)
//	downloaded example.com/n@v1.0.0/go.mod (4/41)
//	failed example.com/o@v1.1.0 (5/41)
//
// The errors themselves are printed at the end, as the go command prints
// them.
type progress struct {
	w   io.Writer
	bar bool

	drawn time.Time // when the bar was last drawn; zero before
	width int       // of the bar's last line
}

// barInterval is the least time between two drawings of the bar.
const barInterval = 100 * time.Millisecond

func newProgress(w io.Writer) *progress {
	return &progress{w: w, bar: isTerminal(w)}
}

// isTerminal reports whether w is a terminal: a character device, on a
// terminal that can return to the start of a line.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok || os.Getenv("TERM") == "dumb" {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// event is a modfetch.BulkOptions.Progress function.
func (p *progress) event(e modfetch.BulkEvent) {
	t := e.Totals
	finished := t.Done + t.Failed
	if p.bar {
		if finished < t.Items && time.Since(p.drawn) < barInterval {
			return
		}
		p.draw(t)
		return
	}
	name := e.Item.Module.Path + "@" + e.Item.Module.Version
	if e.Item.GoModOnly {
		name += "/go.mod"
	}
	switch e.Kind {
	case modfetch.BulkDone:
		fmt.Fprintf(p.w, "downloaded %s (%d/%d)\n", name, finished, t.Items)
	case modfetch.BulkFailed:
		fmt.Fprintf(p.w, "failed %s (%d/%d)\n", name, finished, t.Items)
	}
}

// draw redraws the bar's line:
//
//	[=========>          ] 20/41 modules, 3.2 MiB, 1 failed
func (p *progress) draw(t modfetch.BulkTotals) {
	const cells = 30
	finished := t.Done + t.Failed
	n := cells
	if t.Items > 0 {
		n = cells * finished / t.Items
	}
	bar := strings.Repeat("=", n)
	if n < cells {
		bar += ">" + strings.Repeat(" ", cells-n-1)
	}
	line := fmt.Sprintf("[%s] %d/%d modules, %s", bar, finished, t.Items, byteSize(t.Bytes))
	if t.Failed > 0 {
		line += fmt.Sprintf(", %d failed", t.Failed)
	}
	pad := ""
	if len(line) < p.width {
		pad = strings.Repeat(" ", p.width-len(line))
	}
	fmt.Fprintf(p.w, "\r%s%s", line, pad)
	p.width = len(line)
	p.drawn = time.Now()
}

// finish ends the bar's line, if one was drawn.
func (p *progress) finish() {
	if p.bar && !p.drawn.IsZero() {
		fmt.Fprintln(p.w)
	}
}

// byteSize formats n bytes for people.
func byteSize(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
