package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modfetch/modfetch/checksum"
	"github.com/modfetch/modfetch/examples/mirrorcheck/internal/loopback"
	"github.com/modfetch/modfetch/internal/fixture"
)

// setEnv gives the test a go environment of its own: no go env file, a
// fresh GOPATH, nothing private, and the given GOPROXY and GOSUMDB.
func setEnv(t *testing.T, goproxy, gosumdb string) {
	home := t.TempDir()
	for k, v := range map[string]string{
		"GOPROXY": goproxy, "GOSUMDB": gosumdb, "GOENV": "off", "HOME": home,
		"GOPATH": filepath.Join(home, "go"), "GOMODCACHE": filepath.Join(home, "go", "pkg", "mod"),
		"GOPRIVATE": "", "GONOPROXY": "", "GONOSUMDB": "", "GOFLAGS": "", "NETRC": "",
	} {
		t.Setenv(k, v)
	}
}

// loopbackMirrors serves the healthy, slow and tampering mirrors.
func loopbackMirrors(t *testing.T, delay time.Duration) (m *loopback.Mirrors, healthy, slow, tamper string) {
	m = loopback.New(delay)
	var urls []string
	for _, h := range []http.Handler{m.Healthy, m.Slow, m.Tamper} {
		srv := httptest.NewServer(h)
		t.Cleanup(srv.Close)
		urls = append(urls, srv.URL)
	}
	return m, urls[0], urls[1], urls[2]
}

// runCheck runs the command and returns its exit status and outputs.
func runCheck(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

// decodeReport decodes -json output, failing unless every object has
// exactly the contract's keys.
func decodeReport(t *testing.T, out string) reportJSON {
	t.Helper()
	var raw map[string]json.RawMessage
	if err := json.Unmarshal([]byte(out), &raw); err != nil {
		t.Fatalf("output is not one JSON object: %v\n%s", err, out)
	}
	if keys := sortedKeys(raw); !slices.Equal(keys, []string{"mirrors", "recommended"}) {
		t.Fatalf("top-level keys %v", keys)
	}
	var mirrors []map[string]json.RawMessage
	if err := json.Unmarshal(raw["mirrors"], &mirrors); err != nil {
		t.Fatal(err)
	}
	want := []string{"bytes_per_sec", "failures", "mismatches", "p50_ms", "p95_ms", "requests", "url"}
	for _, m := range mirrors {
		if keys := sortedKeys(m); !slices.Equal(keys, want) {
			t.Fatalf("mirror keys %v, want %v", keys, want)
		}
	}
	var rep reportJSON
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rep); err != nil {
		t.Fatal(err)
	}
	return rep
}

func sortedKeys[V any](m map[string]V) []string {
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func urlsOf(rep reportJSON) []string {
	var list []string
	for _, m := range rep.Mirrors {
		list = append(list, m.URL)
	}
	return list
}

// TestLoopbackMirrors is the acceptance test: healthy, slow and
// tampering mirrors, given worst first, come out ranked healthy, slow,
// tampering; the tampering one is flagged with its two mismatches and left
// out of the recommendation.
func TestLoopbackMirrors(t *testing.T) {
	m, healthy, slow, tamper := loopbackMirrors(t, 100*time.Millisecond)
	setEnv(t, "off", m.GOSUMDB())
	args := append([]string{"-json", "-proxies", tamper + "," + slow + "|" + healthy}, m.Sample()...)
	code, out, stderr := runCheck(t, args...)
	if code != 0 {
		t.Fatalf("exit status %d\n%s", code, stderr)
	}
	rep := decodeReport(t, out)
	if got, want := urlsOf(rep), []string{healthy, slow, tamper}; !slices.Equal(got, want) {
		t.Errorf("ranking %v, want %v\n%s", got, want, out)
	}
	if want := healthy + "|" + slow; rep.Recommended != want {
		t.Errorf("recommended %q, want %q", rep.Recommended, want)
	}
	wantRequests := 3 * len(m.Sample())
	for i, wantMismatches := range []int{0, 0, 2} {
		got := rep.Mirrors[i]
		if got.Requests != wantRequests || got.Failures != 0 || got.Mismatches != wantMismatches {
			t.Errorf("%s: %d requests, %d failures, %d mismatches; want %d, 0, %d",
				got.URL, got.Requests, got.Failures, got.Mismatches, wantRequests, wantMismatches)
		}
		if got.P50ms == nil || got.P95ms == nil || *got.P50ms > *got.P95ms || got.BytesPerSec <= 0 {
			t.Errorf("%s: p50 %v, p95 %v, %d B/s", got.URL, got.P50ms, got.P95ms, got.BytesPerSec)
		}
	}
	if p50 := *rep.Mirrors[1].P50ms; p50 < 100 {
		t.Errorf("slow mirror's p50 is %.2f ms, below its 100 ms delay", p50)
	}
	if h, s := rep.Mirrors[0].BytesPerSec, rep.Mirrors[1].BytesPerSec; h <= s {
		t.Errorf("healthy mirror's throughput %d B/s is not above the slow one's %d B/s", h, s)
	}
	// Progress, and with -json the mismatches, went to standard error.
	for _, want := range []string{
		"[1/3] " + tamper + ": checked 27/27, 0 failed, 2 mismatched",
		"[3/3] " + healthy + ": checked 27/27, 0 failed, 0 mismatched",
		"MISMATCH " + tamper + ": " + loopback.TamperedZip + " .zip: served h1:",
		"MISMATCH " + tamper + ": " + loopback.TamperedMod + " .mod: served h1:",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("standard error lacks %q:\n%s", want, stderr)
		}
	}
}

// TestTable: the table lists the mirrors in rank order with their
// status, the mismatches and the recommendation; without a terminal, in
// plain text.
func TestTable(t *testing.T) {
	m, healthy, slow, tamper := loopbackMirrors(t, 100*time.Millisecond)
	setEnv(t, "off", m.GOSUMDB())
	args := append([]string{"-proxies", tamper + "," + slow + "," + healthy}, m.Sample()...)
	code, out, stderr := runCheck(t, args...)
	if code != 0 {
		t.Fatalf("exit status %d\n%s", code, stderr)
	}
	lines := strings.Split(out, "\n")
	if !strings.HasPrefix(lines[0], "MIRROR ") || !strings.HasSuffix(lines[0], "STATUS") {
		t.Fatalf("header %q", lines[0])
	}
	for i, want := range []struct{ url, status string }{{healthy, "ok"}, {slow, "ok"}, {tamper, "MISMATCH"}} {
		f := strings.Fields(lines[1+i])
		if f[0] != want.url || f[len(f)-1] != want.status {
			t.Errorf("row %d = %q, want %s ... %s", i+1, lines[1+i], want.url, want.status)
		}
	}
	if strings.Contains(out, "\x1b[") {
		t.Errorf("color codes in output that is not a terminal:\n%q", out)
	}
	for _, want := range []string{
		"\nMISMATCH " + tamper + ": " + loopback.TamperedZip + " .zip: served h1:",
		"recommended: GOPROXY='" + healthy + "|" + slow + "'\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// TestFailures: a mirror that answers 500 and one whose listener is closed
// fail every request and are given up on after -give-up failures in a
// row; one that fails a single request out of twelve is flaky and
// recommended after the healthy one; none of them is a mismatch.
func TestFailures(t *testing.T) {
	m, healthy, _, _ := loopbackMirrors(t, 0)
	failing := httptest.NewServer(&fixture.Server{Set: m.Set, SumDB: m.SumDB, Fault: func(w http.ResponseWriter, r *http.Request) bool {
		http.Error(w, "broken", http.StatusInternalServerError)
		return true
	}})
	defer failing.Close()
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	var flakyFailed atomic.Bool
	flaky := httptest.NewServer(&fixture.Server{Set: m.Set, SumDB: m.SumDB, Fault: func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path == "/example.com/hello/@v/v1.1.0.zip" && flakyFailed.CompareAndSwap(false, true) {
			http.Error(w, "try again", http.StatusBadGateway)
			return true
		}
		return false
	}})
	defer flaky.Close()
	setEnv(t, "off", m.GOSUMDB())

	sample := []string{"example.com/hello@v1.0.0", "example.com/hello@v1.1.0", "example.com/nested@v1.0.0", "example.com/major/v2@v2.1.0"}
	proxies := strings.Join([]string{dead.URL, failing.URL, flaky.URL, healthy}, "|")
	code, out, stderr := runCheck(t, append([]string{"-json", "-j", "1", "-give-up", "5", "-proxies", proxies}, sample...)...)
	if code != 0 {
		t.Fatalf("exit status %d\n%s", code, stderr)
	}
	rep := decodeReport(t, out)
	type counts struct {
		url                            string
		requests, failures, mismatches int
		answered                       bool
	}
	var got []counts
	for _, m := range rep.Mirrors {
		got = append(got, counts{m.URL, m.Requests, m.Failures, m.Mismatches, m.P50ms != nil})
	}
	want := []counts{
		{healthy, 12, 0, 0, true},
		{flaky.URL, 12, 1, 0, true},
		{dead.URL, 5, 5, 0, false},
		{failing.URL, 5, 5, 0, false},
	}
	if !slices.Equal(got, want) {
		t.Errorf("mirrors\n got %+v\nwant %+v", got, want)
	}
	if want := healthy + "|" + flaky.URL; rep.Recommended != want {
		t.Errorf("recommended %q, want %q", rep.Recommended, want)
	}
	if strings.Contains(stderr, ".info: example.com/hello@v1.0.0: ") {
		t.Errorf("a failure repeats its module:\n%s", stderr)
	}
	for _, want := range []string{
		"failed " + failing.URL + ": example.com/hello@v1.0.0 .info: ",
		"gave up on " + dead.URL + " after 5 failures in a row",
		"failed " + flaky.URL + ": example.com/hello@v1.1.0 .zip: ",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("standard error lacks %q:\n%s", want, stderr)
		}
	}
}

// TestNoneRecommended: with only a tampering and a failing mirror nothing
// is recommended and the exit status is 1.
func TestNoneRecommended(t *testing.T) {
	m, _, _, tamper := loopbackMirrors(t, 0)
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	setEnv(t, "off", m.GOSUMDB())
	code, out, _ := runCheck(t, "-n", "2", "-proxies", tamper+"|"+dead.URL, loopback.TamperedZip)
	if code != 1 {
		t.Errorf("exit status %d, want 1", code)
	}
	// The mismatch of the same zip, asked twice, is shown once.
	mismatch := regexp.MustCompile(`(?m)^MISMATCH ` + regexp.QuoteMeta(tamper+": "+loopback.TamperedZip) + ` \.zip: served h1:\S+, sum\.loopback\.example has h1:\S+ \(2 times\)$`)
	if n := len(mismatch.FindAllString(out, -1)); n != 1 || !strings.Contains(out, "\nrecommended: none") {
		t.Errorf("%d mismatch lines, output:\n%s", n, out)
	}
}

// TestGoSum: -gosum takes the sample and the hashes from a go.sum file. A
// version recorded by its go.mod alone is asked for its .info and .mod
// only; a hash in go.sum wins over the checksum database, so a mirror
// serving what the database vouches for is flagged when go.sum records
// other bytes.
func TestGoSum(t *testing.T) {
	m, healthy, _, _ := loopbackMirrors(t, 0)
	h10 := m.Set.Module("example.com/hello", "v1.0.0")
	h11 := m.Set.Module("example.com/hello", "v1.1.0")
	nested := m.Set.Module("example.com/nested", "v1.0.0")
	const otherHash = "h1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
	gosum := filepath.Join(t.TempDir(), "go.sum")
	data := fmt.Sprintf("%s %s %s\n%s %s/go.mod %s\n%s %s/go.mod %s\n%s %s %s\n%s %s/go.mod %s\n",
		h10.Path, h10.Version, h10.ZipSum(), h10.Path, h10.Version, h10.ModSum(),
		nested.Path, nested.Version, nested.ModSum(),
		h11.Path, h11.Version, otherHash, h11.Path, h11.Version, h11.ModSum())
	if err := os.WriteFile(gosum, []byte(data), 0o666); err != nil {
		t.Fatal(err)
	}

	for _, gosumdb := range []string{"off", m.GOSUMDB()} {
		t.Run(strings.Fields(gosumdb)[0], func(t *testing.T) {
			setEnv(t, "off", gosumdb)
			srv := m.Healthy
			srv.Reset()
			code, out, stderr := runCheck(t, "-json", "-proxies", healthy, "-gosum", gosum)
			if code != 1 {
				t.Errorf("exit status %d, want 1 (nothing to recommend)", code)
			}
			rep := decodeReport(t, out)
			if got := rep.Mirrors[0]; got.Requests != 8 || got.Failures != 0 || got.Mismatches != 1 {
				t.Errorf("%d requests, %d failures, %d mismatches; want 8, 0, 1", got.Requests, got.Failures, got.Mismatches)
			}
			if n := srv.Hits("/example.com/nested/@v/v1.0.0.zip"); n != 0 {
				t.Errorf("zip of a version recorded by its go.mod alone asked %d times", n)
			}
			if n := srv.Hits("/example.com/nested/@v/v1.0.0.mod"); n != 1 {
				t.Errorf("go.mod of nested asked %d times, want 1", n)
			}
			want := "MISMATCH " + healthy + ": example.com/hello@v1.1.0 .zip: served " + h11.ZipSum() + ", go.sum has " + otherHash
			if !strings.Contains(stderr, want) {
				t.Errorf("standard error lacks %q:\n%s", want, stderr)
			}
		})
	}
}

// TestPrivate: modules GONOPROXY matches are not sent to any mirror, and
// those GONOSUMDB matches are not looked up in the checksum database (and
// their answers are not checked).
func TestPrivate(t *testing.T) {
	m, _, _, tamper := loopbackMirrors(t, 0)
	setEnv(t, "off", m.GOSUMDB())
	t.Setenv("GONOPROXY", "example.com/nested")
	t.Setenv("GONOSUMDB", "example.com/hello")
	lookups := func(p string) int { return m.SumDB.Lookups("/lookup/" + p) }
	before := lookups("example.com/hello@")
	code, out, stderr := runCheck(t, "-json", "-proxies", tamper, loopback.TamperedZip, loopback.TamperedMod, "example.com/major/v2@v2.1.0")
	if code != 0 {
		t.Fatalf("exit status %d\n%s", code, stderr)
	}
	if n := m.Tamper.Hits("/example.com/nested/@v/v1.0.0.info"); n != 0 {
		t.Errorf("a GONOPROXY module was asked of the mirror %d times", n)
	}
	if n := lookups("example.com/hello@") - before; n != 0 {
		t.Errorf("a GONOSUMDB module was looked up %d times", n)
	}
	if n := m.Tamper.Hits("/example.com/hello/@v/v1.1.0.zip"); n != 1 {
		t.Errorf("the GONOSUMDB module's zip was asked %d times, want 1", n)
	}
	rep := decodeReport(t, out)
	if got := rep.Mirrors[0]; got.Requests != 6 || got.Mismatches != 0 {
		t.Errorf("%d requests, %d mismatches; want 6 (two versions), 0 (nothing on record for hello)", got.Requests, got.Mismatches)
	}
	if !strings.Contains(stderr, "example.com/nested@v1.0.0 is private") {
		t.Errorf("standard error does not say the private module was left out:\n%s", stderr)
	}
}

// TestDatabaseUnreachable: when the checksum database cannot be asked,
// the answers are not counted as mismatches, the versions are reported,
// and the exit status is 1.
func TestDatabaseUnreachable(t *testing.T) {
	m, healthy, _, _ := loopbackMirrors(t, 0)
	// The database's key, but no mirror serves it and its direct URL is a
	// closed listener.
	gone := httptest.NewServer(http.NotFoundHandler())
	gone.Close()
	setEnv(t, "off", m.GOSUMDB()+" "+gone.URL)
	code, out, stderr := runCheck(t, "-json", "-proxies", healthy, "example.com/hello@v1.0.0")
	if code != 1 {
		t.Errorf("exit status %d, want 1", code)
	}
	rep := decodeReport(t, out)
	if got := rep.Mirrors[0]; got.Mismatches != 0 || got.Failures != 0 || rep.Recommended != healthy {
		t.Errorf("report %+v", rep)
	}
	if !strings.Contains(stderr, "answers for example.com/hello@v1.0.0 not checked: ") {
		t.Errorf("standard error:\n%s", stderr)
	}
}

// TestUsage: usage and set-up errors exit with 1, print nothing on
// standard output and say what is wrong once.
func TestUsage(t *testing.T) {
	setEnv(t, "off", "off")
	for _, tt := range []struct {
		args []string
		want string
	}{
		{nil, "no modules to check"},
		{[]string{"-proxies", "http://x"}, "no modules to check"},
		{[]string{"-proxies", "off", "a.b/c@v1.0.0"}, "no mirrors to check"},
		{[]string{"-proxies", "http://x", "a.b/c"}, "want path@version"},
		{[]string{"-proxies", "http://x", "a.b/c@latest"}, "a.b/c@latest: "},
		{[]string{"-proxies", "http://x", "a.b/c@v1.0"}, "a.b/c@v1.0: "},
		{[]string{"-n", "0", "-proxies", "http://x", "a.b/c@v1.0.0"}, "-n must be at least 1"},
		{[]string{"-proxies", "http://x", "-gosum", filepath.Join(t.TempDir(), "missing"), "a.b/c@v1.0.0"}, "no such file"},
		{[]string{"-no-such-flag"}, "flag provided but not defined"},
	} {
		code, out, stderr := runCheck(t, tt.args...)
		if code != 1 || out != "" || strings.Count(stderr, tt.want) != 1 {
			t.Errorf("%q: exit status %d, stdout %q, stderr %q; want 1, nothing, %q once", tt.args, code, out, stderr, tt.want)
		}
	}
	if code, _, _ := runCheck(t, "-h"); code != 0 {
		t.Errorf("-h: exit status %d", code)
	}
}

func TestClassify(t *testing.T) {
	for _, tt := range []struct {
		res  result
		want status
	}{
		{result{requests: 10}, statusOK},
		{result{requests: 10, failures: 1}, statusFlaky},
		{result{requests: 10, failures: 2}, statusFailing},
		{result{requests: 10, failures: 1, gaveUp: 1}, statusFailing},
		{result{requests: 10, mismatches: 1}, statusMismatch},
		{result{requests: 10, failures: 10, mismatches: 1}, statusMismatch},
		{result{}, statusFailing},
	} {
		if got := classify(&tt.res, 0.1); got != tt.want {
			t.Errorf("classify(%+v) = %v, want %v", tt.res, got, tt.want)
		}
	}
}

// TestRank: ok before flaky before failing before mismatch, each group by
// p95 then p50; only ok and flaky are recommended.
func TestRank(t *testing.T) {
	ms := func(d ...int) []time.Duration {
		var list []time.Duration
		for _, n := range d {
			list = append(list, time.Duration(n)*time.Millisecond)
		}
		return list
	}
	res := func(name string, failures, mismatches int, lat []time.Duration) *result {
		return &result{mirror: mirror{name: name}, requests: 20, failures: failures, mismatches: mismatches, latencies: lat}
	}
	rep := newReport([]*result{
		res("tamper", 0, 1, ms(1)),
		res("dead", 20, 0, nil),
		res("flaky", 1, 0, ms(1)),
		res("slowtail", 0, 0, ms(1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 50, 50)),
		res("steady", 0, 0, ms(5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5)),
		res("failing", 5, 0, ms(1)),
		res("fastp50", 0, 0, ms(2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5)),
	}, 0.1)
	var got []string
	for _, r := range rep.rows {
		got = append(got, r.name)
	}
	if want := []string{"fastp50", "steady", "slowtail", "flaky", "failing", "dead", "tamper"}; !slices.Equal(got, want) {
		t.Errorf("order %v, want %v", got, want)
	}
	if want := "fastp50|steady|slowtail|flaky"; rep.recommended != want {
		t.Errorf("recommended %q, want %q", rep.recommended, want)
	}
}

func TestPercentile(t *testing.T) {
	d := func(n int) time.Duration { return time.Duration(n) }
	var hundred []time.Duration
	for i := 100; i >= 1; i-- {
		hundred = append(hundred, d(i))
	}
	for _, tt := range []struct {
		in   []time.Duration
		p    float64
		want time.Duration
		ok   bool
	}{
		{nil, 0.5, 0, false},
		{[]time.Duration{7}, 0.95, 7, true},
		{[]time.Duration{3, 1, 2}, 0.5, 2, true},
		{[]time.Duration{4, 1, 3, 2}, 0.5, 2, true},
		{hundred, 0.5, 50, true},
		{hundred, 0.95, 95, true},
	} {
		got, ok := percentile(tt.in, tt.p)
		if got != tt.want || ok != tt.ok {
			t.Errorf("percentile(%v, %v) = %v, %v; want %v, %v", tt.in, tt.p, got, ok, tt.want, tt.ok)
		}
	}
}

// TestColor: on a terminal the MISMATCH verdicts are red, and only they.
func TestColor(t *testing.T) {
	rep := newReport([]*result{
		{mirror: mirror{name: "good"}, requests: 1, latencies: []time.Duration{time.Millisecond}},
		{mirror: mirror{name: "bad"}, requests: 1, mismatches: 1, latencies: []time.Duration{time.Millisecond},
			problems: []problem{{req: request{target{"a.b/c", "v1.0.0", true}, "zip"}, mismatch: true,
				err: &checksum.MismatchError{Path: "a.b/c", Version: "v1.0.0", Got: "h1:x", Want: "h1:y", Source: "go.sum"}}}},
	}, 0.1)
	for _, color := range []bool{false, true} {
		var buf bytes.Buffer
		if err := rep.writeTable(&buf, color); err != nil {
			t.Fatal(err)
		}
		out := buf.String()
		if n := strings.Count(out, red+"MISMATCH"+reset); n != map[bool]int{false: 0, true: 2}[color] {
			t.Errorf("color %v: %d red MISMATCH, in:\n%q", color, n, out)
		}
		if !color && strings.Contains(out, "\x1b") {
			t.Errorf("escape codes without color:\n%q", out)
		}
		if !strings.Contains(out, "bad: a.b/c@v1.0.0 .zip: served h1:x, go.sum has h1:y") {
			t.Errorf("mismatch detail missing:\n%s", out)
		}
	}
}

func TestReadSample(t *testing.T) {
	gosum := filepath.Join(t.TempDir(), "go.sum")
	os.WriteFile(gosum, []byte("a.b/c v1.0.0 h1:x=\na.b/c v1.0.0/go.mod h1:y=\n\nd.e/f v0.1.0/go.mod h1:z=\n"), 0o666)
	sum, sample, err := readSample(gosum, []string{"d.e/f@v0.2.0", "a.b/c@v1.0.0"})
	if err != nil {
		t.Fatal(err)
	}
	want := []target{{"a.b/c", "v1.0.0", true}, {"d.e/f", "v0.1.0", false}, {"d.e/f", "v0.2.0", true}}
	if !slices.Equal(sample, want) {
		t.Errorf("sample %v, want %v", sample, want)
	}
	if h := sum.Hashes("d.e/f", "v0.1.0", true); !slices.Equal(h, []string{"h1:z="}) {
		t.Errorf("hashes %v", h)
	}
	if got := len(requests(sample, 2)); got != 2*(3+2+3) {
		t.Errorf("%d requests, want 16", got)
	}

	bad := filepath.Join(t.TempDir(), "go.sum")
	os.WriteFile(bad, []byte("a.b/c v1.0.0 h1:x=\na.b//c v1.0.0 h1:x=\n"), 0o666)
	if _, _, err := readSample(bad, nil); err == nil || !strings.Contains(err.Error(), "go.sum:2: ") {
		t.Errorf("invalid module path: %v", err)
	}
	if _, _, err := readSample("", []string{"a.b/c@master"}); err == nil {
		t.Error("a branch name was accepted as a version")
	}
	if _, _, err := readSample(filepath.Join(t.TempDir(), "none"), nil); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing go.sum: %v", err)
	}
}
