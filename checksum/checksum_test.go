package checksum

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/mod/module"
	"golang.org/x/mod/sumdb"
	"golang.org/x/mod/sumdb/dirhash"

	"github.com/modfetch/modfetch"
	"github.com/modfetch/modfetch/cache"
	"github.com/modfetch/modfetch/internal/fixture"
)

func TestHashGoMod(t *testing.T) {
	tests := []struct{ data, want string }{
		// The synthesised go.mod of a module without one: the go command's
		// hash for github.com/docker/docker v20.10.24+incompatible.
		{"module github.com/docker/docker\n", "h1:eEKB0N0r5NX/I1kEveEz05bcu8tLC/8azJZsviup8Sk="},
		// An empty go.mod: the hash the go command drops from go.sum.
		{"", emptyGoModHash},
	}
	for _, tt := range tests {
		got, err := HashGoMod([]byte(tt.data))
		if err != nil || got != tt.want {
			t.Errorf("HashGoMod(%q) = %q, %v; want %q", tt.data, got, err, tt.want)
		}
	}
}

func TestHashZipAgreesWithDirhash(t *testing.T) {
	for _, m := range fixture.Standard().Modules() {
		name := filepath.Join(t.TempDir(), "m.zip")
		if err := os.WriteFile(name, m.Zip, 0o666); err != nil {
			t.Fatal(err)
		}
		want, err := dirhash.HashZip(name, dirhash.DefaultHash)
		if err != nil {
			t.Fatal(err)
		}
		got, err := HashZip(bytes.NewReader(m.Zip), int64(len(m.Zip)))
		if err != nil || got != want {
			t.Errorf("%s@%s: HashZip = %q, %v; want %q", m.Path, m.Version, got, err, want)
		}
	}
	if _, err := HashZip(strings.NewReader("not a zip"), 9); err == nil {
		t.Error("HashZip accepted garbage")
	}
}

func TestParseGoSum(t *testing.T) {
	data := `
example.com/a v1.0.0 h1:AAA=
example.com/a v1.0.0/go.mod h1:BBB=

example.com/b v1.0.0 h2:future=
example.com/b v1.0.0 h1:CCC=
example.com/c v1.0.0 h1:first=
example.com/c v1.0.0 h1:second=
example.com/d v1.0.0/go.mod ` + emptyGoModHash + `
`
	s, err := ParseGoSum("/src/go.sum", []byte(data))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path, version string
		goMod         bool
		hash          string
		found         bool
		mismatch      string // Want of the expected *MismatchError
	}{
		{"example.com/a", "v1.0.0", false, "h1:AAA=", true, ""},
		{"example.com/a", "v1.0.0", true, "h1:BBB=", true, ""},
		{"example.com/a", "v1.0.0", false, "h1:XXX=", false, "h1:AAA="},
		{"example.com/a", "v1.0.0", true, "h1:AAA=", false, "h1:BBB="},
		{"example.com/a", "v2.0.0", false, "h1:AAA=", false, ""},
		// Unknown algorithms are skipped.
		{"example.com/b", "v1.0.0", false, "h1:CCC=", true, ""},
		{"example.com/b", "v1.0.0", false, "h1:XXX=", false, "h1:CCC="},
		// The first differing h1: line is fatal even though a later one matches.
		{"example.com/c", "v1.0.0", false, "h1:second=", false, "h1:first="},
		{"example.com/c", "v1.0.0", false, "h1:first=", true, ""},
		// Lines for an empty go.mod were dropped.
		{"example.com/d", "v1.0.0", true, "h1:anything=", false, ""},
	}
	for _, tt := range tests {
		found, err := s.Check(tt.path, tt.version, tt.goMod, tt.hash)
		if found != tt.found {
			t.Errorf("Check(%s %s %v %s) found = %v", tt.path, tt.version, tt.goMod, tt.hash, found)
		}
		var me *MismatchError
		switch {
		case tt.mismatch == "" && err != nil:
			t.Errorf("Check(%s %s %v %s): %v", tt.path, tt.version, tt.goMod, tt.hash, err)
		case tt.mismatch != "" && !errors.As(err, &me):
			t.Errorf("Check(%s %s %v %s) = %v, want mismatch", tt.path, tt.version, tt.goMod, tt.hash, err)
		case tt.mismatch != "":
			want := MismatchError{Path: tt.path, Version: tt.version, GoMod: tt.goMod, Got: tt.hash, Want: tt.mismatch, Source: "go.sum"}
			if *me != want {
				t.Errorf("mismatch = %+v, want %+v", *me, want)
			}
		}
	}

	_, err = s.Check("example.com/a", "v1.0.0", true, "h1:XXX=")
	want := "verifying example.com/a@v1.0.0/go.mod: checksum mismatch\n\tdownloaded: h1:XXX=\n\tgo.sum:     h1:BBB=\n\nSECURITY ERROR\nThis download does NOT match an earlier download recorded in go.sum."
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("error text = %q", err)
	}

	for _, bad := range []struct{ data, err string }{
		{"example.com/a v1.0.0\n", "malformed go.sum:\ngo.sum:1: wrong number of fields 2"},
		{"\nexample.com/a v1.0.0 h1:x extra\n", "malformed go.sum:\ngo.sum:2: wrong number of fields 4"},
	} {
		if _, err := ParseGoSum("go.sum", []byte(bad.data)); err == nil || err.Error() != bad.err {
			t.Errorf("ParseGoSum(%q) error = %v, want %q", bad.data, err, bad.err)
		}
	}
}

func TestGoSumBytesAndAdd(t *testing.T) {
	var s GoSum
	s.Add("example.com/b", "v1.10.0", false, "h1:b110=")
	s.Add("example.com/b", "v1.2.0", true, "h1:b12mod=")
	s.Add("example.com/b", "v1.2.0", false, "h1:b12=")
	s.Add("example.com/a", "v1.0.0", false, "h1:a=")
	s.Add("example.com/a", "v1.0.0", false, "h1:a=") // duplicate
	want := "example.com/a v1.0.0 h1:a=\nexample.com/b v1.2.0 h1:b12=\nexample.com/b v1.2.0/go.mod h1:b12mod=\nexample.com/b v1.10.0 h1:b110=\n"
	if got := string(s.Bytes()); got != want {
		t.Fatalf("Bytes =\n%s\nwant\n%s", got, want)
	}
	s2, err := ParseGoSum("go.sum", s.Bytes())
	if err != nil || string(s2.Bytes()) != want {
		t.Fatalf("round trip: %v\n%s", err, s2.Bytes())
	}
	missing, err := ReadGoSum(filepath.Join(t.TempDir(), "go.sum"))
	if err != nil || len(missing.Bytes()) != 0 {
		t.Fatalf("ReadGoSum of a missing file = %v, %v", missing, err)
	}
}

func TestParseGOSUMDB(t *testing.T) {
	skey, vkey := fixture.GenerateKey("sum.example.com")
	_ = skey
	_, vkeyPath := fixture.GenerateKey("example.com/sumdb")
	tests := []struct {
		in       string
		key, url string
		off      bool
		err      string
	}{
		{"sum.golang.org", SumGolangOrg, "", false, ""},
		{"sum.golang.google.cn", SumGolangOrg, "https://sum.golang.google.cn", false, ""},
		{"sum.golang.org https://mirror.example/sumdb", SumGolangOrg, "https://mirror.example/sumdb", false, ""},
		{vkey, vkey, "", false, ""},
		{vkey + " http://127.0.0.1:8080", vkey, "http://127.0.0.1:8080", false, ""},
		{vkeyPath, vkeyPath, "", false, ""},
		{"off", "", "", true, ""},
		{"", "", "", false, "missing GOSUMDB"},
		{"   ", "", "", false, "missing GOSUMDB"},
		{"a b c", "", "", false, "invalid GOSUMDB: too many fields"},
		{"sum.example.com", "", "", false, "invalid GOSUMDB: malformed verifier id"},
		{"sum.golang.org+033de0ae+AAAA", "", "", false, "invalid GOSUMDB: invalid verifier hash"},
	}
	for _, tt := range tests {
		db, err := ParseGOSUMDB(tt.in)
		if tt.err != "" {
			if err == nil || err.Error() != tt.err {
				t.Errorf("ParseGOSUMDB(%q) error = %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseGOSUMDB(%q): %v", tt.in, err)
			continue
		}
		if tt.off {
			if db != nil {
				t.Errorf("ParseGOSUMDB(off) = %+v", db)
			}
			continue
		}
		if db.Key != tt.key || db.URL != tt.url {
			t.Errorf("ParseGOSUMDB(%q) = key %q url %q", tt.in, db.Key, db.URL)
		}
	}
	if db, _ := ParseGOSUMDB("sum.golang.org"); db.Name() != "sum.golang.org" {
		t.Errorf("Name = %q", db.Name())
	}
}

// testDB is a checksum database server over a fixture set.
type testDB struct {
	set  *fixture.Set
	sdb  *fixture.SumDB
	srv  *httptest.Server
	hits func(prefix string) int
}

func newTestDB(t *testing.T, set *fixture.Set) *testDB {
	t.Helper()
	sdb := fixture.NewSumDB("sum.example.com", set.GoSumLines)
	srv := httptest.NewServer(sdb)
	t.Cleanup(srv.Close)
	return &testDB{set: set, sdb: sdb, srv: srv, hits: sdb.Lookups}
}

func TestDBLookupAndCheck(t *testing.T) {
	set := fixture.Standard()
	tdb := newTestDB(t, set)
	cacheDir, stateDir := t.TempDir(), t.TempDir()
	db := &DB{timer: instant{}, Key: tdb.sdb.Key, URL: tdb.srv.URL, Store: &cache.DirStore{Dir: cacheDir}, StateDir: stateDir}
	ctx := context.Background()
	m := set.Module("example.com/Upper/Case", "v1.0.0-RC1")

	lines, err := db.Lookup(ctx, m.Path, m.Version)
	want := []string{m.Path + " " + m.Version + " " + m.ZipSum()}
	if err != nil || !reflect.DeepEqual(lines, want) {
		t.Fatalf("Lookup = %q, %v; want %q", lines, err, want)
	}
	lines, err = db.Lookup(ctx, m.Path, m.Version+"/go.mod")
	want = []string{m.Path + " " + m.Version + "/go.mod " + m.ModSum()}
	if err != nil || !reflect.DeepEqual(lines, want) {
		t.Fatalf("Lookup go.mod = %q, %v; want %q", lines, err, want)
	}
	if err := db.Check(ctx, m.Path, m.Version, false, m.ZipSum()); err != nil {
		t.Fatal(err)
	}
	if err := db.Check(ctx, m.Path, m.Version, true, m.ModSum()); err != nil {
		t.Fatal(err)
	}

	// The lookup went out with the go command's escaping (literal "!").
	if n := tdb.hits("/lookup/example.com/!upper/!case@v1.0.0-!r!c1"); n != 1 {
		t.Fatalf("lookup requests = %d (paths %v)", n, tdb.sdb.Paths())
	}
	// Lookups and the tree head are persisted like the go command does.
	if _, err := os.Stat(filepath.Join(cacheDir, "sumdb/sum.example.com/lookup/example.com/!upper/!case@v1.0.0-!r!c1")); err != nil {
		t.Fatal(err)
	}
	latest, err := os.ReadFile(filepath.Join(stateDir, "sum.example.com/latest"))
	if err != nil || !strings.HasPrefix(string(latest), "go.sum database tree\n") {
		t.Fatalf("latest = %q, %v", latest, err)
	}

	// Wrong hashes.
	var me *MismatchError
	err = db.Check(ctx, m.Path, m.Version, false, "h1:wrongwrongwrongwrongwrongwrongwrongwrongwro=")
	if !errors.As(err, &me) || !me.DB || me.Want != m.ZipSum() || me.Source != "sum.example.com" || me.GoMod {
		t.Fatalf("wrong zip hash: %v", err)
	}
	if !strings.HasPrefix(err.Error(), m.Path+"@"+m.Version+": verifying module: checksum mismatch\n\tdownloaded: h1:wrong") ||
		!strings.Contains(err.Error(), "\n\tsum.example.com: "+m.ZipSum()+"\n\nSECURITY ERROR\nThis download does NOT match the one reported by the checksum server.") {
		t.Fatalf("error text = %q", err)
	}
	err = db.Check(ctx, m.Path, m.Version, true, m.ZipSum())
	if !errors.As(err, &me) || !me.GoMod || me.Want != m.ModSum() {
		t.Fatalf("wrong go.mod hash: %v", err)
	}
	if !strings.HasPrefix(err.Error(), m.Path+"@"+m.Version+": verifying go.mod: checksum mismatch") {
		t.Fatalf("error text = %q", err)
	}

	// A fresh DB over the same directories answers from the cache.
	before := tdb.hits("/")
	db2 := &DB{timer: instant{}, Key: tdb.sdb.Key, URL: tdb.srv.URL, Store: &cache.DirStore{Dir: cacheDir}, StateDir: stateDir}
	if err := db2.Check(ctx, m.Path, m.Version, false, m.ZipSum()); err != nil {
		t.Fatal(err)
	}
	if after := tdb.hits("/"); after != before {
		t.Fatalf("cached lookup made %d requests", after-before)
	}

	// A version the database does not know: not found (errors.Is), for
	// both its lines, with x/mod's text.
	for _, v := range []string{"v1.0.0", "v1.0.0/go.mod"} {
		_, err = db.Lookup(ctx, "example.com/unknown", v)
		if err == nil || !strings.HasPrefix(err.Error(), "example.com/unknown@"+v+": ") || !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("unknown version %s: %v", v, err)
		}
	}
	// Check of a version the database does not know fails, and is not
	// "not found": a verifying proxy must not send its clients elsewhere.
	err = db.Check(ctx, "example.com/unknown", "v1.0.0", false, m.ZipSum())
	if err == nil || errors.Is(err, fs.ErrNotExist) || errors.As(err, &me) || !strings.HasPrefix(err.Error(), "example.com/unknown@v1.0.0: verifying module: example.com/unknown@v1.0.0: reading ") {
		t.Fatalf("Check of an unknown version: %v", err)
	}
	// The database's answer is still there for errors.As.
	var he *modfetch.HTTPError
	if !errors.As(err, &he) || he.StatusCode != 404 {
		t.Fatalf("Check of an unknown version: no 404 *HTTPError in %v", err)
	}

	// Record returns the authenticated answer; once it is no longer kept,
	// a fresh read that it does not vouch for.
	rec, verified, err := db.Record(ctx, m.Path, m.Version)
	if err != nil || !verified || !strings.Contains(string(rec), m.ZipSum()) {
		t.Fatalf("Record = %q, %v, %v", rec, verified, err)
	}
	cached := filepath.Join(cacheDir, "sumdb/sum.example.com/lookup/example.com/!upper/!case@v1.0.0-!r!c1")
	os.Chmod(cached, 0o644)
	if err := os.Remove(cached); err != nil {
		t.Fatal(err)
	}
	rec, verified, err = db.Record(ctx, m.Path, m.Version)
	if err != nil || verified || !strings.Contains(string(rec), m.ZipSum()) {
		t.Fatalf("Record after eviction = %q, %v, %v", rec, verified, err)
	}
}

// TestDBNotFoundDoesNotOutliveItsLookup: once a lookup was not found, a
// later failure of the same lookup for another reason (here the stored
// tree head cannot be read) is that failure, not "not found" again.
func TestDBNotFoundDoesNotOutliveItsLookup(t *testing.T) {
	tdb := newTestDB(t, fixture.Standard())
	stateDir := t.TempDir()
	db := &DB{timer: instant{}, Key: tdb.sdb.Key, URL: tdb.srv.URL, StateDir: stateDir}
	ctx := context.Background()
	if _, err := db.Lookup(ctx, "example.com/unknown", "v1.0.0"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("unknown module: %v", err)
	}
	latest := filepath.Join(stateDir, "sum.example.com", "latest")
	if err := os.MkdirAll(latest, 0o777); err != nil {
		t.Fatal(err)
	}
	_, err := db.Lookup(ctx, "example.com/unknown", "v1.0.0")
	if err == nil || errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("lookup with an unreadable tree head = %v; want a failure that is not fs.ErrNotExist", err)
	}
}

// TestDBLookupServerError: a database failing is not "not found".
func TestDBLookupServerError(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "overloaded", http.StatusInternalServerError)
	}))
	defer srv.Close()
	skey, vkey := fixture.GenerateKey("sum.example.com")
	_ = skey
	db := &DB{timer: instant{}, Key: vkey, URL: srv.URL}
	_, err := db.Lookup(context.Background(), "example.com/m", "v1.0.0")
	if err == nil || errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "500 Internal Server Error") {
		t.Fatalf("err = %v", err)
	}
}

func TestDBRecordAbsent(t *testing.T) {
	set := fixture.Standard()
	// A database whose record for the module lacks the zip line.
	sdb := fixture.NewSumDB("sum.example.com", func(path, version string) ([]byte, error) {
		m := set.Module(path, version)
		return []byte(fmt.Sprintf("%s %s/go.mod %s\n", path, version, m.ModSum())), nil
	})
	srv := httptest.NewServer(sdb)
	defer srv.Close()
	db := &DB{timer: instant{}, Key: sdb.Key, URL: srv.URL}
	m := set.Module("example.com/hello", "v1.0.0")
	err := db.Check(context.Background(), m.Path, m.Version, false, m.ZipSum())
	var me *MismatchError
	if !errors.As(err, &me) || me.Want != "" {
		t.Fatalf("err = %v", err)
	}
	if !strings.HasPrefix(err.Error(), "example.com/hello@v1.0.0: verifying module: checksum missing from sumdb response\n\nSECURITY ERROR") {
		t.Fatalf("text = %q", err)
	}
}

func TestDBDetectsForkAndRollback(t *testing.T) {
	set := fixture.Standard()
	skey, vkey := fixture.GenerateKey("sum.example.com")
	ctx := context.Background()

	// The honest database has seen hello v1.0.0 and v1.1.0; the client
	// keeps its tiles and tree head like the go command does.
	honest := fixture.NewSumDBWithKey("sum.example.com", skey, vkey, set.GoSumLines)
	hsrv := httptest.NewServer(honest)
	defer hsrv.Close()
	cacheDir, stateDir := t.TempDir(), t.TempDir()
	db := &DB{timer: instant{}, Key: vkey, URL: hsrv.URL, Store: &cache.DirStore{Dir: cacheDir}, StateDir: stateDir}
	for _, v := range []string{"v1.0.0", "v1.1.0"} {
		m := set.Module("example.com/hello", v)
		if err := db.Check(ctx, m.Path, m.Version, false, m.ZipSum()); err != nil {
			t.Fatal(err)
		}
	}
	if db.Misbehaved() {
		t.Fatal("Misbehaved() = true for an honest database")
	}
	target := set.Module("example.com/nomod", "v1.0.0")

	for _, tt := range []struct {
		name    string
		history []*fixture.Module // what the evil database records, in order
	}{
		// Rolled back: a smaller tree that is not a prefix of the honest one.
		{"rollback", []*fixture.Module{target}},
		// Forked: a larger tree whose first records differ.
		{"fork", []*fixture.Module{set.Module("example.com/hello", "v1.1.0"), set.Module("example.com/hello", "v1.0.0"), target}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			evil := fixture.NewSumDBWithKey("sum.example.com", skey, vkey, set.GoSumLines)
			esrv := httptest.NewServer(evil)
			defer esrv.Close()
			// Build the evil history with an untroubled client.
			seed := &DB{timer: instant{}, Key: vkey, URL: esrv.URL}
			for _, m := range tt.history {
				if _, err := seed.Lookup(ctx, m.Path, m.Version); err != nil {
					t.Fatal(err)
				}
			}
			// A new process with the persisted cache and tree head meets the evil server.
			victim := &DB{timer: instant{}, Key: vkey, URL: esrv.URL, Store: &cache.DirStore{Dir: cacheDir}, StateDir: stateDir}
			err := victim.Check(ctx, target.Path, target.Version, false, target.ZipSum())
			if !errors.Is(err, ErrSecurity) {
				t.Fatalf("err = %v, want ErrSecurity", err)
			}
			var se *SecurityError
			if !errors.As(err, &se) || !strings.Contains(se.Msg, "go.sum database server misbehavior detected!") || se.DB != "sum.example.com" {
				t.Fatalf("err = %#v", err)
			}
			if !victim.Misbehaved() {
				t.Error("victim.Misbehaved() = false after a security error")
			}
			// Still refused next time: the stored head was not replaced.
			again := &DB{timer: instant{}, Key: vkey, URL: esrv.URL, Store: &cache.DirStore{Dir: cacheDir}, StateDir: stateDir}
			if err := again.Check(ctx, target.Path, target.Version, false, target.ZipSum()); err == nil {
				t.Fatal("second attempt accepted the evil tree")
			}
			// After `go clean -modcache` the tree head survives: still refused
			// (x/mod reports the tiles as inconsistent with the stored head).
			cleaned := &DB{timer: instant{}, Key: vkey, URL: esrv.URL, Store: &cache.DirStore{Dir: t.TempDir()}, StateDir: stateDir}
			if err := cleaned.Check(ctx, target.Path, target.Version, false, target.ZipSum()); err == nil {
				t.Fatal("accepted the evil tree after the cache was cleaned")
			}
			// The honest server is still fine.
			if err := (&DB{timer: instant{}, Key: vkey, URL: hsrv.URL, Store: &cache.DirStore{Dir: cacheDir}, StateDir: stateDir}).Check(ctx, "example.com/hello", "v1.0.0", false, set.Module("example.com/hello", "v1.0.0").ZipSum()); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestDBFindURLThroughProxy(t *testing.T) {
	set := fixture.Standard()
	sdb := fixture.NewSumDB("sum.example.com", set.GoSumLines)
	proxy := &fixture.Server{Set: set, SumDB: sdb}
	psrv := httptest.NewServer(proxy)
	defer psrv.Close()
	calls := 0
	db := &DB{timer: instant{}, Key: sdb.Key, FindURL: func(ctx context.Context, name string) (string, error) {
		calls++
		if name != "sum.example.com" {
			t.Errorf("FindURL(%q)", name)
		}
		return psrv.URL + "/sumdb/" + name, nil
	}}
	for _, v := range []string{"v1.0.0", "v1.1.0"} {
		m := set.Module("example.com/hello", v)
		if err := db.Check(context.Background(), m.Path, m.Version, false, m.ZipSum()); err != nil {
			t.Fatal(err)
		}
	}
	if calls != 1 {
		t.Fatalf("FindURL called %d times", calls)
	}
	if proxy.Hits("/sumdb/sum.example.com/lookup/example.com/hello@v1.0.0") != 1 {
		t.Fatalf("lookup did not go through the proxy: %v", proxy.Requests())
	}

	// Concurrent first lookups share one search for the database.
	var found atomic.Int32
	release := make(chan struct{})
	db = &DB{timer: instant{}, Key: sdb.Key, FindURL: func(ctx context.Context, name string) (string, error) {
		found.Add(1)
		<-release
		return psrv.URL + "/sumdb/" + name, nil
	}}
	var wg sync.WaitGroup
	mods := set.Modules()
	for _, m := range mods {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := db.Check(context.Background(), m.Path, m.Version, true, m.ModSum()); err != nil {
				t.Error(err)
			}
		}()
	}
	fixture.WaitFor(t, "every lookup to wait for the search", func() bool { return db.bases.Waiting("") == len(mods) })
	close(release)
	wg.Wait()
	if n := found.Load(); n != 1 {
		t.Fatalf("FindURL called %d times by concurrent lookups", n)
	}

	// A FindURL failure is returned and retried next time.
	fail := true
	db = &DB{timer: instant{}, Key: sdb.Key, FindURL: func(ctx context.Context, name string) (string, error) {
		if fail {
			return "", errors.New("proxy says 503")
		}
		return psrv.URL + "/sumdb/" + name, nil
	}}
	m := set.Module("example.com/hello", "v1.0.0")
	if err := db.Check(context.Background(), m.Path, m.Version, false, m.ZipSum()); err == nil || !strings.Contains(err.Error(), "proxy says 503") {
		t.Fatalf("err = %v", err)
	}
	fail = false
	if err := db.Check(context.Background(), m.Path, m.Version, false, m.ZipSum()); err != nil {
		t.Fatalf("after recovery: %v", err)
	}
}

// verifySetup is an upstream of fixtures plus a database vouching for them.
func verifySetup(t *testing.T) (*fixture.Set, *testDB, *DB) {
	set := fixture.Standard()
	tdb := newTestDB(t, set)
	return set, tdb, &DB{timer: instant{}, Key: tdb.sdb.Key, URL: tdb.srv.URL}
}

func readZip(t *testing.T, rc io.ReadCloser) []byte {
	t.Helper()
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestVerifyGood(t *testing.T) {
	set, _, db := verifySetup(t)
	tmp := t.TempDir()
	v := &Verify{Next: set, DB: db, TempDir: tmp}
	ctx := context.Background()
	for _, m := range set.Modules() {
		mod, err := v.GoMod(ctx, m.Path, m.Version)
		if err != nil || !bytes.Equal(mod, m.Mod) {
			t.Fatalf("%s@%s GoMod: %v", m.Path, m.Version, err)
		}
		rc, err := v.Zip(ctx, m.Path, m.Version)
		if err != nil {
			t.Fatalf("%s@%s Zip: %v", m.Path, m.Version, err)
		}
		if data := readZip(t, rc); !bytes.Equal(data, m.Zip) {
			t.Fatalf("%s@%s: zip bytes differ", m.Path, m.Version)
		}
		if s := rc.(modfetch.Summer).Sum(); s != m.ZipSum() {
			t.Fatalf("Sum = %s, want %s", s, m.ZipSum())
		}
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Fatalf("temporary files left: %v", left)
	}
}

// zipErr reads the whole zip and returns the first error: Verify reports
// a zip that fails its check when the reader reaches the end.
func zipErr(v *Verify, path, version string) (n int, err error) {
	rc, err := v.Zip(context.Background(), path, version)
	if err != nil {
		return 0, err
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	return len(data), err
}

func TestVerifyStreamsAndHoldsBackTheTail(t *testing.T) {
	set := fixture.Standard()
	// A zip bigger than the held-back tail, and a database that vouches
	// for other bytes.
	big := set.Add("example.com/big", "v1.0.0", map[string]string{
		"go.mod":   "module example.com/big\n",
		"data.txt": fixture.Noise(300 << 10),
	}, time.Now())
	genuine := fixture.Standard()
	genuine.Add("example.com/big", "v1.0.0", map[string]string{"go.mod": "module example.com/big\n", "data.txt": "genuine"}, time.Now())
	tdb := newTestDB(t, genuine)
	v := &Verify{Next: set, DB: &DB{timer: instant{}, Key: tdb.sdb.Key, URL: tdb.srv.URL}, TempDir: t.TempDir()}
	n, err := zipErr(v, big.Path, big.Version)
	var me *MismatchError
	if !errors.As(err, &me) {
		t.Fatalf("err = %v", err)
	}
	if n != len(big.Zip)-ZipHold {
		t.Fatalf("read %d bytes of a %d-byte unverified zip; want all but the last %d", n, len(big.Zip), ZipHold)
	}
	// With the database agreeing, all of it arrives.
	tdb2 := newTestDB(t, set)
	v.DB = &DB{timer: instant{}, Key: tdb2.sdb.Key, URL: tdb2.srv.URL}
	if n, err := zipErr(v, big.Path, big.Version); err != nil || n != len(big.Zip) {
		t.Fatalf("read %d, %v", n, err)
	}
}

func TestVerifyRejects(t *testing.T) {
	ctx := context.Background()
	const path, version = "example.com/hello", "v1.0.0"
	tests := []struct {
		name    string
		corrupt func(m *fixture.Module)
		gosum   string // go.sum content, or ""
		op      string // "mod" or "zip"
		check   func(t *testing.T, err error, tdb *testDB)
	}{
		{"wrong zip bytes", func(m *fixture.Module) {
			m.Zip = mustZip(path, version, map[string]string{"go.mod": "module example.com/hello\n", "hello.go": "package hello // evil"})
		}, "", "zip", func(t *testing.T, err error, tdb *testDB) {
			var me *MismatchError
			if !errors.As(err, &me) || !me.DB || me.GoMod || me.Path != path || me.Version != version || me.Source != "sum.example.com" {
				t.Fatalf("err = %v", err)
			}
		}},
		{"wrong go.mod bytes", func(m *fixture.Module) { m.Mod = []byte("module example.com/hello\n\nrequire evil.example v1.0.0\n") }, "", "mod",
			func(t *testing.T, err error, tdb *testDB) {
				var me *MismatchError
				if !errors.As(err, &me) || !me.DB || !me.GoMod {
					t.Fatalf("err = %v", err)
				}
			}},
		{"go.sum mismatch wins without asking the database", nil, "example.com/hello v1.0.0 h1:cafecafecafecafecafecafecafecafecafecafecaf=\n", "zip",
			func(t *testing.T, err error, tdb *testDB) {
				var me *MismatchError
				if !errors.As(err, &me) || me.DB || me.Source != "go.sum" || me.Want != "h1:cafecafecafecafecafecafecafecafecafecafecaf=" {
					t.Fatalf("err = %v", err)
				}
				if n := tdb.hits("/"); n != 0 {
					t.Fatalf("database asked %d times", n)
				}
			}},
		{"zip with a foreign entry", func(m *fixture.Module) {
			m.Zip = fixture.RawZip(map[string]string{"example.com/hello@v1.0.0/go.mod": "module example.com/hello\n", "evil/x.go": "package x"})
		}, "", "zip", func(t *testing.T, err error, tdb *testDB) {
			if err == nil || err.Error() != "zip for example.com/hello@v1.0.0 has unexpected file evil/x.go" {
				t.Fatalf("err = %v", err)
			}
		}},
		{"not a zip", func(m *fixture.Module) { m.Zip = []byte("<html>oops</html>") }, "", "zip",
			func(t *testing.T, err error, tdb *testDB) {
				if err == nil || !strings.HasPrefix(err.Error(), "example.com/hello@v1.0.0: zip: not a valid zip file") {
					t.Fatalf("err = %v", err)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set := fixture.Standard()
			// The database vouches for the genuine bytes.
			tdb := newTestDB(t, fixture.Standard())
			if tt.corrupt != nil {
				tt.corrupt(set.Module(path, version))
			}
			v := &Verify{Next: set, DB: &DB{timer: instant{}, Key: tdb.sdb.Key, URL: tdb.srv.URL}, TempDir: t.TempDir()}
			if tt.gosum != "" {
				gs, err := ParseGoSum("go.sum", []byte(tt.gosum))
				if err != nil {
					t.Fatal(err)
				}
				v.GoSum = gs
			}
			var err error
			if tt.op == "mod" {
				_, err = v.GoMod(ctx, path, version)
			} else {
				_, err = zipErr(v, path, version)
			}
			if err == nil {
				t.Fatal("corrupt download accepted")
			}
			tt.check(t, err, tdb)
			if left, _ := os.ReadDir(v.TempDir); len(left) != 0 {
				t.Fatalf("temporary files left: %v", left)
			}
		})
	}
}

func mustZip(path, version string, files map[string]string) []byte {
	z, err := fixture.MakeZip(path, version, files)
	if err != nil {
		panic(err)
	}
	return z
}

func TestVerifyGoSumFirst(t *testing.T) {
	set, tdb, db := verifySetup(t)
	m := set.Module("example.com/hello", "v1.0.0")
	gs, _ := ParseGoSum("go.sum", []byte(fmt.Sprintf("%s %s %s\n%s %s/go.mod %s\n", m.Path, m.Version, m.ZipSum(), m.Path, m.Version, m.ModSum())))
	v := &Verify{Next: set, DB: db, GoSum: gs}
	ctx := context.Background()
	if _, err := v.GoMod(ctx, m.Path, m.Version); err != nil {
		t.Fatal(err)
	}
	if _, err := zipErr(v, m.Path, m.Version); err != nil {
		t.Fatal(err)
	}
	if n := tdb.hits("/"); n != 0 {
		t.Fatalf("database asked %d times although go.sum had the hashes", n)
	}
	// Not in go.sum: the database is asked.
	if _, err := v.GoMod(ctx, "example.com/hello", "v1.1.0"); err != nil {
		t.Fatal(err)
	}
	if n := tdb.hits("/lookup/"); n != 1 {
		t.Fatalf("lookups = %d", n)
	}
}

func TestVerifyNoSumDBKeepsPrivateModulesPrivate(t *testing.T) {
	set, tdb, _ := verifySetup(t)
	ctx := context.Background()
	dbWith := func(nosumdb string) *DB {
		return &DB{timer: instant{}, Key: tdb.sdb.Key, URL: tdb.srv.URL, NoSumDB: nosumdb}
	}
	for _, nosumdb := range []string{"example.com/hello", "example.com", "*.com", "example.com/*"} {
		db := dbWith(nosumdb)
		v := &Verify{Next: set, DB: db}
		if _, err := v.GoMod(ctx, "example.com/hello", "v1.0.0"); err != nil {
			t.Fatal(err)
		}
		if _, err := zipErr(v, "example.com/hello", "v1.1.0"); err != nil {
			t.Fatal(err)
		}
		// Asked directly, the DB refuses without a request: not found.
		if _, err := db.Lookup(ctx, "example.com/hello", "v1.0.0"); !errors.Is(err, fs.ErrNotExist) || !errors.Is(err, sumdb.ErrGONOSUMDB) {
			t.Fatalf("NoSumDB=%q: Lookup = %v", nosumdb, err)
		}
		if _, _, err := db.Record(ctx, "example.com/hello", "v1.0.0"); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("NoSumDB=%q: Record = %v", nosumdb, err)
		}
		for _, p := range tdb.sdb.Paths() {
			if strings.Contains(p, "example.com/hello") {
				t.Fatalf("NoSumDB=%q: the database was asked %s", nosumdb, p)
			}
		}
	}
	// go.sum still applies to private modules.
	gs, _ := ParseGoSum("go.sum", []byte("example.com/hello v1.0.0/go.mod h1:cafecafecafecafecafecafecafecafecafecafecaf=\n"))
	v := &Verify{Next: set, DB: dbWith("example.com"), GoSum: gs}
	var me *MismatchError
	if _, err := v.GoMod(ctx, "example.com/hello", "v1.0.0"); !errors.As(err, &me) {
		t.Fatalf("err = %v", err)
	}
	// Patterns are not trimmed: " example.com" does not match.
	v = &Verify{Next: set, DB: dbWith("other.org, example.com")}
	if _, err := v.GoMod(ctx, "example.com/hello", "v1.0.0"); err != nil {
		t.Fatal(err)
	}
	if tdb.hits("/lookup/example.com/hello@v1.0.0") != 1 {
		t.Fatalf("a space-prefixed pattern matched: %v", tdb.sdb.Paths())
	}
}

func TestVerifyOff(t *testing.T) {
	set := fixture.Standard()
	m := set.Module("example.com/hello", "v1.0.0")
	m.Mod = []byte("module example.com/hello // changed\n")
	v := &Verify{Next: set} // GOSUMDB=off, no go.sum
	if data, err := v.GoMod(context.Background(), m.Path, m.Version); err != nil || !bytes.Equal(data, m.Mod) {
		t.Fatalf("GoMod = %q, %v", data, err)
	}
	// The toolchain is checked regardless.
	set.Add("golang.org/toolchain", "v0.0.1-go1.99.0.linux-amd64", map[string]string{"bin/go": "x"}, time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC))
	_, err := v.GoMod(context.Background(), "golang.org/toolchain", "v0.0.1-go1.99.0.linux-amd64")
	if err == nil || !strings.Contains(err.Error(), "checksum database disabled by GOSUMDB=off") {
		t.Fatalf("toolchain err = %v", err)
	}
	var mv *module.ModuleError
	if !errors.As(err, &mv) {
		t.Fatalf("no module context: %v", err)
	}
}

func TestVerifyPassesThroughErrors(t *testing.T) {
	set, _, db := verifySetup(t)
	v := &Verify{Next: set, DB: db}
	_, err := v.Zip(context.Background(), "example.com/hello", "v9.9.9")
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("err = %v", err)
	}
	_, err = v.GoMod(context.Background(), "example.com/hello", "v9.9.9")
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("err = %v", err)
	}
	if _, err := v.Stat(context.Background(), "example.com/hello", "v1.0.0"); err != nil {
		t.Fatal(err)
	}
}

var _ http.Handler = (*fixture.Server)(nil)

// instant is a retry clock that does not wait.
type instant struct{}

func (instant) Now() time.Time                                   { return time.Now() }
func (instant) Sleep(ctx context.Context, d time.Duration) error { return ctx.Err() }

// TestDBSharesStore: DBs sharing one Store (as replicas share an object
// store) answer from what any of them authenticated, without a request;
// behind a cache.WriteBehind, the record reaches the store beneath once
// flushed.
func TestDBSharesStore(t *testing.T) {
	set := fixture.Standard()
	tdb := newTestDB(t, set)
	dir := &cache.DirStore{Dir: t.TempDir()}
	wb := &cache.WriteBehind{Next: dir}
	shared := &cache.Tiered{Fast: &cache.MemStore{}, Slow: wb}
	ctx := context.Background()
	m := set.Module("example.com/hello", "v1.0.0")
	db1 := &DB{timer: instant{}, Key: tdb.sdb.Key, URL: tdb.srv.URL, Store: shared}
	if err := db1.Check(ctx, m.Path, m.Version, false, m.ZipSum()); err != nil {
		t.Fatal(err)
	}
	if err := wb.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir.Dir, "sumdb/sum.example.com/lookup/example.com/hello@v1.0.0")); err != nil {
		t.Fatalf("record not in the store after Flush: %v", err)
	}
	before := tdb.hits("/")
	db2 := &DB{timer: instant{}, Key: tdb.sdb.Key, URL: tdb.srv.URL, Store: dir}
	if err := db2.Check(ctx, m.Path, m.Version, true, m.ModSum()); err != nil {
		t.Fatal(err)
	}
	if n := tdb.hits("/") - before; n != 0 {
		t.Fatalf("a DB over a store another DB filled made %d requests", n)
	}
}

// stalledZip answers zips that send their first bytes and then wait for
// the request's context, like a trickling upstream; it keeps the contexts.
type stalledZip struct {
	modfetch.Resolver
	mu   sync.Mutex
	ctxs []context.Context
}

func (s *stalledZip) Zip(ctx context.Context, path, version string) (io.ReadCloser, error) {
	s.mu.Lock()
	s.ctxs = append(s.ctxs, ctx)
	s.mu.Unlock()
	pr, pw := io.Pipe()
	go func() {
		pw.Write(bytes.Repeat([]byte("x"), 2*ZipHold))
		<-ctx.Done()
		pw.CloseWithError(context.Cause(ctx))
	}()
	return pr, nil
}

// TestVerifyAbandonedZipCancelsDownload: the download behind Verify's
// readers, detached from the Zip call's context, is canceled as soon as
// every reader is closed, not when the upstream finishes.
func TestVerifyAbandonedZipCancelsDownload(t *testing.T) {
	next := &stalledZip{Resolver: fixture.Standard()}
	v := &Verify{Next: next, TempDir: t.TempDir()}
	rc, err := v.Zip(context.Background(), "example.com/hello", "v1.0.0")
	if err != nil {
		t.Fatal(err)
	}
	second := rc.(modfetch.Reopener).NewReader()
	if _, err := io.ReadFull(rc, make([]byte, ZipHold)); err != nil {
		t.Fatalf("reading the bytes that came: %v", err)
	}
	rc.Close()
	next.mu.Lock()
	dctx := next.ctxs[0]
	next.mu.Unlock()
	if dctx.Err() != nil {
		t.Fatal("download canceled while a reader is still open")
	}
	second.Close()
	select {
	case <-dctx.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("download still running 10 s after its last reader was closed")
	}
}
