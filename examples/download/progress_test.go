package main

import (
	"errors"
	"strings"
	"testing"

	"golang.org/x/mod/module"

	"github.com/modfetch/modfetch"
)

// events are the events of three items: a, downloaded in full in two
// reads; b, its go.mod only; c, failed.
func events() []modfetch.BulkEvent {
	a := modfetch.BulkItem{Module: module.Version{Path: "example.com/a", Version: "v1.0.0"}}
	b := modfetch.BulkItem{Module: module.Version{Path: "example.com/b", Version: "v1.1.0"}, GoModOnly: true}
	c := modfetch.BulkItem{Module: module.Version{Path: "example.com/c", Version: "v0.1.0"}}
	tot := func(started, done, failed int, bytes int64) modfetch.BulkTotals {
		return modfetch.BulkTotals{Items: 3, Started: started, Done: done, Failed: failed, Bytes: bytes}
	}
	return []modfetch.BulkEvent{
		{Kind: modfetch.BulkStarted, Item: a, Totals: tot(1, 0, 0, 0)},
		{Kind: modfetch.BulkStarted, Item: b, Totals: tot(2, 0, 0, 0)},
		{Kind: modfetch.BulkBytes, Item: a, N: 1 << 20, Totals: tot(2, 0, 0, 1<<20)},
		{Kind: modfetch.BulkDone, Item: b, Totals: tot(2, 1, 0, 1<<20)},
		{Kind: modfetch.BulkStarted, Item: c, Totals: tot(3, 1, 0, 1<<20)},
		{Kind: modfetch.BulkBytes, Item: a, N: 1 << 19, Totals: tot(3, 1, 0, 3<<19)},
		{Kind: modfetch.BulkFailed, Item: c, Err: errors.New("boom"), Totals: tot(3, 1, 1, 3<<19)},
		{Kind: modfetch.BulkDone, Item: a, Totals: tot(3, 2, 1, 3<<19)},
	}
}

func TestProgressLines(t *testing.T) {
	var b strings.Builder
	p := &progress{w: &b}
	for _, e := range events() {
		p.event(e)
	}
	p.finish()
	want := "downloaded example.com/b@v1.1.0/go.mod (1/3)\n" +
		"failed example.com/c@v0.1.0 (2/3)\n" +
		"downloaded example.com/a@v1.0.0 (3/3)\n"
	if b.String() != want {
		t.Errorf("lines:\n%s\nwant:\n%s", b.String(), want)
	}
}

// TestProgressBar: on a terminal the bar is drawn in place (a carriage
// return before each drawing, no newline until the end), at most every
// barInterval but always when the last item finished, and a newline ends
// it. The events come faster than barInterval: the first is drawn, then
// only the last.
func TestProgressBar(t *testing.T) {
	var b strings.Builder
	p := &progress{w: &b, bar: true}
	for _, e := range events() {
		p.event(e)
	}
	p.finish()
	out := b.String()
	draws := strings.Split(strings.TrimPrefix(out, "\r"), "\r")
	last := strings.TrimRight(draws[len(draws)-1], " \n")
	if want := "[==============================] 3/3 modules, 1.5 MiB, 1 failed"; last != want {
		t.Errorf("last drawing %q, want %q", last, want)
	}
	if !strings.HasSuffix(out, "\n") || strings.Count(out, "\n") != 1 {
		t.Errorf("output %q: want one newline, at the end", out)
	}
	if len(draws) > 2 {
		t.Logf("drawn %d times (the machine is slow)", len(draws))
	}
	if first := draws[0]; !strings.HasPrefix(first, "[>") || !strings.Contains(first, " 0/3 modules, 0 B") {
		t.Errorf("first drawing %q", first)
	}
}
