package modfetch_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"golang.org/x/mod/module"

	"github.com/modfetch/modfetch"
	"github.com/modfetch/modfetch/checksum"
	"github.com/modfetch/modfetch/internal/fixture"
	"github.com/modfetch/modfetch/upstream"
)

// bulkItems returns items for every module of set, in full.
func bulkItems(set *fixture.Set) []modfetch.BulkItem {
	var items []modfetch.BulkItem
	for _, m := range set.Modules() {
		items = append(items, modfetch.BulkItem{Module: module.Version{Path: m.Path, Version: m.Version}})
	}
	return items
}

// eventLog records DownloadAll's events (which come one at a time).
type eventLog struct {
	mu     sync.Mutex
	events []modfetch.BulkEvent
}

func (l *eventLog) add(e modfetch.BulkEvent) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, e)
}

// count returns how many events of kind each module had.
func (l *eventLog) count(kind modfetch.BulkEventKind) map[module.Version]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := make(map[module.Version]int)
	for _, e := range l.events {
		if e.Kind == kind {
			n[e.Item.Module]++
		}
	}
	return n
}

func (l *eventLog) last() modfetch.BulkEvent {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.events[len(l.events)-1]
}

// TestDownloadAllParallelBound: no more than Parallel requests reach the
// proxy at once, and that many do.
func TestDownloadAllParallelBound(t *testing.T) {
	set := fixture.Bulk("bound", 12, 1000)
	for _, parallel := range []int{1, 3, 5} {
		t.Run(fmt.Sprint(parallel), func(t *testing.T) {
			var (
				mu             sync.Mutex
				inFlight, peak int
			)
			gate := make(chan struct{})
			var once sync.Once
			srv := httptest.NewServer(&fixture.Server{Set: set, Fault: func(w http.ResponseWriter, r *http.Request) bool {
				mu.Lock()
				inFlight++
				peak = max(peak, inFlight)
				full := inFlight == parallel
				mu.Unlock()
				if full {
					once.Do(func() { close(gate) }) // every slot taken: let them all go
				}
				<-gate
				mu.Lock()
				inFlight--
				mu.Unlock()
				return false
			}})
			defer srv.Close()
			r := &upstream.Proxy{URL: srv.URL}
			items := bulkItems(set)
			results, err := modfetch.DownloadAll(context.Background(), r, items, &modfetch.BulkOptions{Parallel: parallel})
			if err != nil {
				t.Fatal(err)
			}
			if len(results) != len(items) {
				t.Fatalf("%d results for %d items", len(results), len(items))
			}
			for i, res := range results {
				m := set.Module(items[i].Module.Path, items[i].Module.Version)
				if res.Item != items[i] || res.Downloaded == nil || res.Downloaded.Sum != m.ZipSum() {
					t.Errorf("result %d = %+v", i, res)
				}
			}
			if peak != parallel {
				t.Errorf("at most %d requests at once, want %d", peak, parallel)
			}
		})
	}
}

// TestDownloadAllProgress: one started and one done or failed event per
// item, bytes adding up to the zips' sizes, and totals that agree.
func TestDownloadAllProgress(t *testing.T) {
	set := fixture.Bulk("progress", 8, 100<<10)
	items := bulkItems(set)
	var wantBytes int64
	for _, m := range set.Modules() {
		wantBytes += int64(len(m.Zip))
	}
	missing := modfetch.BulkItem{Module: module.Version{Path: "example.com/progress/none", Version: "v1.0.0"}}
	modOnly := modfetch.BulkItem{Module: items[0].Module, GoModOnly: true}
	items = append(items, missing, modOnly)
	log := new(eventLog)
	modcache := t.TempDir()
	t.Cleanup(func() { chmodAll(modcache) })
	results, err := modfetch.DownloadAll(context.Background(), set, items, &modfetch.BulkOptions{
		Parallel:        4,
		Progress:        log.add,
		DownloadOptions: modfetch.DownloadOptions{ModCache: modcache},
	})
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("err = %v, want the missing module's", err)
	}
	started, done, failed := log.count(modfetch.BulkStarted), log.count(modfetch.BulkDone), log.count(modfetch.BulkFailed)
	for _, it := range items {
		m := it.Module
		wantStarted := 1
		if m == items[0].Module {
			wantStarted = 2 // in full and GoModOnly
		}
		wantFailed := 0
		if it == missing {
			wantFailed = 1
		}
		if started[m] != wantStarted || done[m]+failed[m] != wantStarted || failed[m] != wantFailed {
			t.Errorf("%v: %d started, %d done, %d failed", m, started[m], done[m], failed[m])
		}
	}
	var bytes int64
	for _, e := range log.events {
		if e.Kind == modfetch.BulkBytes {
			bytes += e.N
		}
		if e.Kind == modfetch.BulkFailed && !errors.Is(e.Err, fs.ErrNotExist) {
			t.Errorf("failed event's Err = %v", e.Err)
		}
	}
	if bytes != wantBytes {
		t.Errorf("bytes events add up to %d, want %d", bytes, wantBytes)
	}
	want := modfetch.BulkTotals{Items: len(items), Started: len(items), Done: len(items) - 1, Failed: 1, Bytes: wantBytes}
	if got := log.last().Totals; got != want {
		t.Errorf("last totals = %+v, want %+v", got, want)
	}
	res := results[len(results)-1]
	if res.Item != modOnly || string(res.GoMod) != string(set.Module(modOnly.Module.Path, modOnly.Module.Version).Mod) || res.GoModSum == "" || res.Downloaded != nil {
		t.Errorf("GoModOnly result = %+v", res)
	}
	for _, res := range results[:len(results)-2] {
		if res.Err != nil || res.Downloaded == nil || res.Downloaded.Dir == "" {
			t.Errorf("%v: %+v", res.Item.Module, res)
		} else if _, ok := modfetch.ExtractedDir(modcache, res.Item.Module.Path, res.Item.Module.Version); !ok {
			t.Errorf("%v not extracted", res.Item.Module)
		}
	}
}

// TestDownloadAllFailures: every failure is reported, the others are
// fetched; checksum mismatches from a verifying Resolver and missing
// versions are told apart with errors.Is and errors.As.
func TestDownloadAllFailures(t *testing.T) {
	set := fixture.Bulk("fail", 6, 1000)
	gs := new(checksum.GoSum)
	for _, m := range set.Modules() {
		gs.Add(m.Path, m.Version, false, m.ZipSum())
		gs.Add(m.Path, m.Version, true, m.ModSum())
	}
	// Two tampered modules: a zip and a go.mod that go.sum does not vouch for.
	tamper := set.Modules()[1]
	zip, err := fixture.MakeZip(tamper.Path, tamper.Version, map[string]string{"go.mod": string(tamper.Mod), "evil.go": "package evil\n"})
	if err != nil {
		t.Fatal(err)
	}
	tamper.Zip = zip
	tamperMod := set.Modules()[3]
	tamperMod.Mod = []byte("module " + tamperMod.Path + "\n\ngo 1.99\n")
	items := bulkItems(set)
	items = append(items,
		modfetch.BulkItem{Module: module.Version{Path: "example.com/fail/none", Version: "v1.0.0"}},
		modfetch.BulkItem{Module: module.Version{Path: "example.com/fail/m0", Version: "v9.0.0"}, GoModOnly: true},
	)
	v := &checksum.Verify{Next: set, GoSum: gs}
	results, err := modfetch.DownloadAll(context.Background(), v, items, &modfetch.BulkOptions{Parallel: 2})
	var mismatches []string
	for _, e := range unjoin(err) {
		var me *checksum.MismatchError
		if errors.As(e, &me) {
			mismatches = append(mismatches, me.Path)
		}
	}
	slices.Sort(mismatches)
	if want := []string{tamper.Path, tamperMod.Path}; !slices.Equal(mismatches, want) {
		t.Errorf("mismatches reported for %v, want %v (err = %v)", mismatches, want, err)
	}
	if n := len(unjoin(err)); n != 4 {
		t.Errorf("%d errors joined, want 4: %v", n, err)
	}
	for i, res := range results {
		failing := i == 1 || i == 3 || i >= 6
		if failing != (res.Err != nil) {
			t.Errorf("%v: err = %v", res.Item.Module, res.Err)
		}
		if i >= 6 && !errors.Is(res.Err, fs.ErrNotExist) {
			t.Errorf("%v: err = %v, want not found", res.Item.Module, res.Err)
		}
		var me *module.ModuleError
		if res.Err != nil && (!errors.As(res.Err, &me) || me.Path != res.Item.Module.Path) {
			t.Errorf("%v: err %v has no module context", res.Item.Module, res.Err)
		}
	}
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	if err == nil {
		return nil
	}
	return []error{err}
}

// TestDownloadAllCancel: canceling ctx while zips are in flight ends
// DownloadAll; items not started never start, and nothing is left behind
// (no temporary file, no extracted directory).
func TestDownloadAllCancel(t *testing.T) {
	set := fixture.Bulk("cancel", 10, 64<<10)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var (
		mu      sync.Mutex
		waiting int
	)
	release := make(chan struct{})
	srv := httptest.NewServer(&fixture.Server{Set: set, Fault: func(w http.ResponseWriter, r *http.Request) bool {
		if !strings.HasSuffix(r.URL.Path, ".zip") {
			return false
		}
		// Send half of the zip, then stall until the test ends.
		mu.Lock()
		waiting++
		mu.Unlock()
		w.Header().Set("Content-Length", "65536000")
		w.Write(make([]byte, 1000))
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
		case <-release:
		}
		return true
	}})
	defer srv.Close()
	defer close(release)
	tmp := t.TempDir()
	modcache := t.TempDir()
	t.Cleanup(func() { chmodAll(modcache) })
	log := new(eventLog)
	const parallel = 3
	done := make(chan struct{})
	var (
		results []modfetch.BulkResult
		err     error
	)
	go func() {
		defer close(done)
		results, err = modfetch.DownloadAll(ctx, &upstream.Proxy{URL: srv.URL}, bulkItems(set), &modfetch.BulkOptions{
			Parallel:        parallel,
			Progress:        log.add,
			DownloadOptions: modfetch.DownloadOptions{ModCache: modcache, TempDir: tmp},
		})
	}()
	fixture.WaitFor(t, "three zips in flight", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return waiting == parallel
	})
	cancel()
	<-done
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	started := log.count(modfetch.BulkStarted)
	failed := log.count(modfetch.BulkFailed)
	if len(started) != parallel || len(failed) != parallel || len(log.count(modfetch.BulkDone)) != 0 {
		t.Errorf("%d started, %d failed, %d done; want %d, %d, 0", len(started), len(failed), len(log.count(modfetch.BulkDone)), parallel, parallel)
	}
	for _, res := range results {
		if res.Err == nil || !errors.Is(res.Err, context.Canceled) {
			t.Errorf("%v: err = %v, want context.Canceled", res.Item.Module, res.Err)
		}
	}
	if ents, _ := os.ReadDir(tmp); len(ents) != 0 {
		t.Errorf("left in TempDir: %v", ents)
	}
	var extracted []string
	filepath.WalkDir(modcache, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() && strings.Contains(d.Name(), "@") {
			extracted = append(extracted, p)
		}
		return nil
	})
	if len(extracted) != 0 {
		t.Errorf("extracted: %v", extracted)
	}
}

// fileZips answers zips as files on local disk, as a DirStore does.
type fileZips struct {
	*fixture.Set
	dir string
}

func (r fileZips) Zip(ctx context.Context, path, version string) (io.ReadCloser, error) {
	m := r.Set.Module(path, version)
	if m == nil {
		return r.Set.Zip(ctx, path, version)
	}
	name := filepath.Join(r.dir, strings.ReplaceAll(path, "/", "_")+"@"+version+".zip")
	if err := os.WriteFile(name, m.Zip, 0o666); err != nil {
		return nil, err
	}
	return os.Open(name)
}

// TestDownloadAllProgressFileZips: zips handed over as files, used in
// place unread, count whole in the bytes.
func TestDownloadAllProgressFileZips(t *testing.T) {
	set := fixture.Bulk("filezips", 4, 50<<10)
	var wantBytes int64
	for _, m := range set.Modules() {
		wantBytes += int64(len(m.Zip))
	}
	log := new(eventLog)
	modcache := t.TempDir()
	t.Cleanup(func() { chmodAll(modcache) })
	_, err := modfetch.DownloadAll(context.Background(), fileZips{set, t.TempDir()}, bulkItems(set), &modfetch.BulkOptions{
		Progress:        log.add,
		DownloadOptions: modfetch.DownloadOptions{ModCache: modcache},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := log.last().Totals.Bytes; got != wantBytes {
		t.Errorf("bytes = %d, want %d (the zips' sizes)", got, wantBytes)
	}
}

// TestDownloadAllChecksGoSumOfGoModOnly: a go.mod-only item is checked
// against DownloadOptions.GoSum like a full one, also when the Resolver
// (a cache, say) does not check it.
func TestDownloadAllChecksGoSumOfGoModOnly(t *testing.T) {
	set := fixture.Standard()
	gs, err := checksum.ParseGoSum("go.sum", []byte("example.com/hello v1.0.0/go.mod h1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"))
	if err != nil {
		t.Fatal(err)
	}
	items := []modfetch.BulkItem{{Module: module.Version{Path: "example.com/hello", Version: "v1.0.0"}, GoModOnly: true}}
	res, err := modfetch.DownloadAll(context.Background(), set, items, &modfetch.BulkOptions{
		DownloadOptions: modfetch.DownloadOptions{GoSum: gs},
	})
	var mismatch *checksum.MismatchError
	if !errors.As(err, &mismatch) || res[0].GoMod != nil {
		t.Fatalf("DownloadAll of a go.mod go.sum disagrees with = %v (go.mod %q); want a checksum mismatch and no go.mod", err, res[0].GoMod)
	}
}
