// Command mirrorcheck compares Go module mirrors: it asks each mirror for
// the same sample of module versions, measures its latency, throughput and
// failure rate, checks every go.mod file and zip it serves against go.sum
// and the checksum database, and recommends a GOPROXY value.
//
// Usage:
//
//	go run ./examples/mirrorcheck [-proxies LIST] [-gosum FILE] [-json]
//		[-n 1] [-j 4] [-timeout 30s] [-give-up 10] [-max-failure-rate 0.1]
//		[path@version...]
//
// -proxies is a GOPROXY-style list of mirrors (default: $GOPROXY as the go
// command reads it, go env files included); its separators do not matter,
// and "direct" and "off" are ignored. The sample is the path@version
// arguments (exact versions) and, with -gosum, every version a go.sum file
// records. A version on "path version h1:..." lines, and every argument,
// is fetched whole: its .info, .mod and .zip; a version recorded only on a
// "path version/go.mod h1:..." line has its .info and .mod fetched, as
// the go command needs no more of it. Modules matched by GONOPROXY (by
// default GOPRIVATE) are left out of the sample: they are never sent to a
// proxy.
//
// Each mirror is asked on its own, never as a chain, one mirror after the
// other, with -j requests at a time, each request once (no retries: a
// failure counts) within -timeout; -n asks for the sample that many
// times. A mirror that fails -give-up requests in a row is given up on:
// its remaining requests are not sent.
//
// Every go.mod file and zip is hashed (zips are spooled to a temporary
// file, never held in memory) and checked against the go.sum file when it
// records the version, else against the checksum database (GOSUMDB),
// reached through the first mirror that serves it, else directly (its
// signed tree head kept in GOPATH/pkg/sumdb, as the go command keeps it,
// so a database that forks is caught across runs). Modules
// matched by GONOSUMDB (by default GOPRIVATE) are never looked up in the
// database; with no hash on record, their answers are not checked. An
// answer whose hash is not the one on record, or a zip that cannot be
// read as one when a hash is on record, is a mismatch: the mirror's status
// is MISMATCH, in red when standard output is a terminal (and NO_COLOR is
// not set).
//
// Measures, per mirror: requests sent; failures (requests that got an
// error, a status other than 200, or a bad .info); mismatches; p50 and
// p95 latency over the requests that were answered (a .info or .mod
// until its whole answer, a .zip until its answer began); throughput, the
// bytes received over the time spent in requests.
//
// Ranking: a mirror is ok with no failures and no mismatches; flaky with
// failures but no mismatches and a failure rate at most -max-failure-rate
// (and not given up on); failing otherwise, or with mismatches, MISMATCH.
// Mirrors are listed ok, flaky, failing, MISMATCH, and each group fastest
// first (by p95, then p50). The recommended GOPROXY joins the ok and flaky
// mirrors in that order with "|" (any error moves on to the next); a
// failing mirror, and one that served a mismatch, is never recommended.
// URLs are shown redacted (a password becomes "xxxxx").
//
// Output: a table on standard output, the mismatches and a few failures
// of each mirror, and the recommended GOPROXY; with -json, one object
// instead:
//
//	{"mirrors": [{"url", "requests", "failures", "mismatches", "p50_ms",
//	"p95_ms", "bytes_per_sec"}], "recommended": "..."}
//
// with the mirrors in rank order (p50_ms and p95_ms are null for a mirror
// that answered nothing); the mismatches and failures then go to standard
// error. Progress goes to standard error while it runs (with -json, one
// line per mirror).
//
// Exit status: 0 when some mirror is recommended and every answer with a
// hash on record could be checked; 1 when no mirror is recommended, when
// the checksum database could not be asked about some version, or on a
// usage or set-up error (-h prints the usage and exits with 0).
package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"

	"github.com/modfetch/modfetch"
	"github.com/modfetch/modfetch/checksum"
	"github.com/modfetch/modfetch/goenv"
	"github.com/modfetch/modfetch/upstream"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// options are the command line's settings.
type options struct {
	proxies        string
	gosum          string
	json           bool
	reps, jobs     int
	timeout        time.Duration
	giveUp         int
	maxFailureRate float64
	args           []string
}

// errReported marks an error already printed.
var errReported = errors.New("reported")

func parseFlags(args []string, stderr io.Writer) (*options, error) {
	fs := flag.NewFlagSet("mirrorcheck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o := new(options)
	fs.StringVar(&o.proxies, "proxies", "", "GOPROXY-style list of mirrors to check (default $GOPROXY)")
	fs.StringVar(&o.gosum, "gosum", "", "take the sample (and hashes) from this go.sum `file`")
	fs.BoolVar(&o.json, "json", false, "print one JSON object")
	fs.IntVar(&o.reps, "n", 1, "ask each mirror for the sample `n` times")
	fs.IntVar(&o.jobs, "j", 4, "requests at a time to a mirror")
	fs.DurationVar(&o.timeout, "timeout", 30*time.Second, "time limit of each request")
	fs.IntVar(&o.giveUp, "give-up", 10, "stop asking a mirror after `n` failures in a row")
	fs.Float64Var(&o.maxFailureRate, "max-failure-rate", 0.1, "failure `rate` up to which a mirror with failures is still recommended, after the others")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: mirrorcheck [-proxies LIST] [-gosum FILE] [-json] [flags] [path@version...]\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return nil, errors.Join(errReported, err) // the flag package printed it
	}
	o.args = fs.Args()
	switch {
	case o.reps < 1:
		return nil, errors.New("-n must be at least 1")
	case o.jobs < 1:
		return nil, errors.New("-j must be at least 1")
	case o.timeout <= 0:
		return nil, errors.New("-timeout must be positive")
	case o.giveUp < 1:
		return nil, errors.New("-give-up must be at least 1")
	case o.maxFailureRate < 0 || o.maxFailureRate > 1:
		return nil, errors.New("-max-failure-rate must be between 0 and 1")
	case len(o.args) == 0 && o.gosum == "":
		return nil, errors.New("no modules to check: give path@version arguments or -gosum FILE")
	}
	return o, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		if !errors.Is(err, errReported) {
			fmt.Fprintf(stderr, "mirrorcheck: %v\n", err)
		}
		return 1
	}
	cfg, err := goenv.Load()
	if err != nil {
		fmt.Fprintf(stderr, "mirrorcheck: %v\n", err)
		return 1
	}
	code, err := check(ctx, cfg, o, stdout, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "mirrorcheck: %v\n", err)
		return 1
	}
	return code
}

// check runs the checks o asks for in cfg's environment and reports them.
func check(ctx context.Context, cfg *goenv.Config, o *options, stdout, stderr io.Writer) (int, error) {
	mirrors, err := mirrorList(cmp.Or(o.proxies, cfg.GOPROXY), stderr)
	if err != nil {
		return 1, err
	}
	sum, sample, err := readSample(o.gosum, o.args)
	if err != nil {
		return 1, err
	}
	sample = dropPrivate(sample, cmp.Or(cfg.GONOPROXY, cfg.GOPRIVATE), stderr)
	if len(sample) == 0 {
		return 1, errors.New("no module versions left to check")
	}
	client, err := cfg.HTTPClient(nil)
	if err != nil {
		return 1, err
	}
	db, err := sumDB(cfg, mirrors, client)
	if err != nil {
		return 1, err
	}
	tmp, err := os.MkdirTemp("", "mirrorcheck-")
	if err != nil {
		return 1, err
	}
	defer os.RemoveAll(tmp)

	v := &verifier{sum: sum, db: db}
	v.prefetch(ctx, sample, o.jobs, stderr)
	c := &checker{
		client:   client,
		verify:   v,
		timeout:  o.timeout,
		jobs:     o.jobs,
		giveUp:   o.giveUp,
		tempDir:  tmp,
		progress: newProgress(stderr, o.json),
	}
	reqs := requests(sample, o.reps)
	fmt.Fprintf(stderr, "mirrorcheck: %d module versions, %d requests to each of %d mirrors\n", len(sample), len(reqs), len(mirrors))
	var results []*result
	for i, m := range mirrors {
		results = append(results, c.checkMirror(ctx, i+1, len(mirrors), m, reqs))
		if ctx.Err() != nil {
			return 1, context.Cause(ctx)
		}
	}
	rep := newReport(results, o.maxFailureRate)
	if o.json {
		err = rep.writeJSON(stdout)
		rep.writeDetails(stderr, false)
	} else {
		err = rep.writeTable(stdout, isTerminal(stdout) && os.Getenv("NO_COLOR") == "")
	}
	if err != nil {
		return 1, err
	}
	code := 0
	if rep.recommended == "" {
		code = 1
	}
	if v.report(stderr) {
		code = 1
	}
	return code, nil
}

// A mirror is one proxy of the list.
type mirror struct {
	url  string // as given
	name string // redacted, for output
}

// mirrorList parses a GOPROXY-style list into its proxies, without
// duplicates; "direct" and "off" are left out with a note.
func mirrorList(goproxy string, stderr io.Writer) ([]mirror, error) {
	elems, err := upstream.Parse(goproxy)
	if err != nil {
		return nil, err
	}
	var list []mirror
	seen := make(map[string]bool)
	for _, e := range elems {
		if e.URL == "direct" || e.URL == "off" {
			fmt.Fprintf(stderr, "mirrorcheck: %q is not a mirror: left out\n", e.URL)
			continue
		}
		if seen[e.URL] {
			continue
		}
		seen[e.URL] = true
		list = append(list, mirror{url: e.URL, name: redact(e.URL)})
	}
	if len(list) == 0 {
		return nil, fmt.Errorf("no mirrors to check in %q", goproxy)
	}
	return list, nil
}

// A target is one module version of the sample.
type target struct {
	path, version string
	zip           bool // fetch the zip too
}

func (t target) String() string { return t.path + "@" + t.version }

// readSample returns the go.sum file's hashes (nil without one) and the
// sample: the file's versions and the path@version arguments, sorted,
// each once.
func readSample(gosumFile string, args []string) (*checksum.GoSum, []target, error) {
	byKey := make(map[string]*target)
	add := func(path, version string, zip bool) error {
		if err := module.Check(path, version); err != nil {
			return err
		}
		if err := modfetch.CheckCanonical(version); err != nil {
			return &module.ModuleError{Path: path, Version: version, Err: err}
		}
		k := path + "@" + version
		if t := byKey[k]; t != nil {
			t.zip = t.zip || zip
			return nil
		}
		byKey[k] = &target{path: path, version: version, zip: zip}
		return nil
	}
	var sum *checksum.GoSum
	if gosumFile != "" {
		data, err := os.ReadFile(gosumFile)
		if err != nil {
			return nil, nil, err
		}
		if sum, err = checksum.ParseGoSum(filepath.Base(gosumFile), data); err != nil {
			return nil, nil, err
		}
		for i, line := range strings.Split(string(data), "\n") {
			f := strings.Fields(line)
			if len(f) != 3 {
				continue // blank: ParseGoSum refused other lengths
			}
			version, goModOnly := strings.CutSuffix(f[1], "/go.mod")
			if err := add(f[0], version, !goModOnly); err != nil {
				return nil, nil, fmt.Errorf("%s:%d: %w", gosumFile, i+1, err)
			}
		}
	}
	for _, arg := range args {
		path, version, ok := strings.Cut(arg, "@")
		if !ok {
			return nil, nil, fmt.Errorf("%s: want path@version", arg)
		}
		if err := add(path, version, true); err != nil {
			return nil, nil, err
		}
	}
	var sample []target
	for _, t := range byKey {
		sample = append(sample, *t)
	}
	slices.SortFunc(sample, func(a, b target) int {
		return cmp.Or(cmp.Compare(a.path, b.path), semver.Compare(a.version, b.version))
	})
	return sum, sample, nil
}

// dropPrivate leaves out the versions of modules noProxy (GONOPROXY)
// matches, saying how many.
func dropPrivate(sample []target, noProxy string, stderr io.Writer) []target {
	if noProxy == "" {
		return sample
	}
	kept := sample[:0]
	for _, t := range sample {
		if module.MatchPrefixPatterns(noProxy, t.path) {
			fmt.Fprintf(stderr, "mirrorcheck: %s is private (GONOPROXY=%s): left out\n", t, noProxy)
			continue
		}
		kept = append(kept, t)
	}
	return kept
}

// sumDB returns the checksum database GOSUMDB names (nil for "off"),
// reached through the first of the mirrors that serves it, else directly,
// as the go command reaches it. Its answers are authenticated, so any
// mirror may carry them.
func sumDB(cfg *goenv.Config, mirrors []mirror, client *http.Client) (*checksum.DB, error) {
	db, err := checksum.ParseGOSUMDB(cfg.GOSUMDB)
	if err != nil || db == nil {
		return nil, err
	}
	var elems []upstream.Element
	for _, m := range mirrors {
		elems = append(elems, upstream.Element{URL: m.url, FallBackOnError: true})
	}
	chain := (&upstream.Config{Client: client, Retry: modfetch.Retry{Attempts: 1}}).Chain(elems)
	db.FindURL = chain.SumDBURL
	db.Client = client
	db.NoSumDB = cmp.Or(cfg.GONOSUMDB, cfg.GOPRIVATE)
	if gopath := filepath.SplitList(cfg.GOPATH); len(gopath) > 0 && gopath[0] != "" {
		db.StateDir = filepath.Join(gopath[0], "pkg", "sumdb")
	}
	return db, nil
}

// redact returns u with any password replaced by "xxxxx".
func redact(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return u
	}
	return p.Redacted()
}

// isTerminal reports whether w is a terminal (a character device).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
