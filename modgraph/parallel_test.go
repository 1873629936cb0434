package modgraph_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"golang.org/x/mod/modfile"

	"github.com/modfetch/modfetch/internal/fixture"
	"github.com/modfetch/modfetch/modgraph"
)

// heldResolver holds every GoMod call until the test releases it.
type heldResolver struct {
	*fixture.Set
	release chan struct{}

	mu                sync.Mutex
	arrived, released int
	maxHeld           int
}

func (r *heldResolver) GoMod(ctx context.Context, path, version string) ([]byte, error) {
	r.mu.Lock()
	r.arrived++
	r.maxHeld = max(r.maxHeld, r.arrived-r.released)
	r.mu.Unlock()
	select {
	case <-r.release:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return r.Set.GoMod(ctx, path, version)
}

func (r *heldResolver) held() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.arrived - r.released
}

// TestLoadFileWithParallel: with LoadOptions.Parallel N, N go.mod files
// are fetched at once and never more (each fetch is held until N are, or
// all that remain), and the graph is LoadFile's.
func TestLoadFileWithParallel(t *testing.T) {
	const n, parallel = 20, 6
	set := new(fixture.Set)
	var gomod strings.Builder
	gomod.WriteString("module example.com/main\n\ngo 1.21\n\nrequire (\n")
	for i := range n {
		path := fmt.Sprintf("example.com/par/m%d", i)
		set.Add(path, "v1.0.0", map[string]string{"go.mod": "module " + path + "\n\ngo 1.21\n"}, fixture.Day(i))
		fmt.Fprintf(&gomod, "\t%s v1.0.0\n", path)
	}
	gomod.WriteString(")\n")
	f, err := modfile.Parse("go.mod", []byte(gomod.String()), nil)
	if err != nil {
		t.Fatal(err)
	}

	r := &heldResolver{Set: set, release: make(chan struct{})}
	type result struct {
		g   *modgraph.Graph
		err error
	}
	done := make(chan result, 1)
	go func() {
		g, err := modgraph.LoadFileWith(t.Context(), r, "", f, &modgraph.LoadOptions{Parallel: parallel})
		done <- result{g, err}
	}()
	for i := range n {
		want := min(parallel, n-i)
		fixture.WaitFor(t, fmt.Sprintf("%d go.mod fetches held", want), func() bool { return r.held() >= want })
		r.mu.Lock()
		r.released++ // before the send: the next fetch may start at once
		r.mu.Unlock()
		r.release <- struct{}{}
	}
	res := <-done
	if res.err != nil {
		t.Fatal(res.err)
	}
	if r.maxHeld != parallel {
		t.Errorf("at most %d go.mod fetches at once, want %d", r.maxHeld, parallel)
	}
	want, err := modgraph.LoadFile(t.Context(), set, "", f)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := short(res.g.BuildList()), short(want.BuildList()); got != want {
		t.Errorf("build list %s, LoadFile's %s", got, want)
	}
}
