// Package loopback builds the mirrors that mirrorcheck is tested and
// demonstrated against: three GOPROXY handlers over the same fixture
// modules (internal/fixture's standard set), each serving a checksum
// database that vouches for the honest modules under /sumdb/<name>/:
//
//   - Healthy answers at once;
//   - Slow waits Delay before each module answer;
//   - Tampering serves other bytes for one zip (example.com/hello v1.1.0)
//     and one go.mod file (example.com/nested v1.0.0).
//
// The database's key is derived from a fixed seed, so that GOSUMDB is the
// same value in every run (a test key: it proves nothing outside this
// package), and it records the versions in one order from the start, so
// that its signed tree is the same in every run too: a client that kept
// the tree head of an earlier run (as the go command does, in
// GOPATH/pkg/sumdb) finds the new one consistent with it.
package loopback

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"golang.org/x/mod/module"
	"golang.org/x/mod/sumdb/note"

	"github.com/modfetch/modfetch/internal/fixture"
)

// DBName is the name of the loopback checksum database.
const DBName = "sum.loopback.example"

// The module versions Tampering serves other bytes for.
const (
	TamperedZip = "example.com/hello@v1.1.0"
	TamperedMod = "example.com/nested@v1.0.0"
)

// Mirrors are the three handlers and what they serve.
type Mirrors struct {
	Set     *fixture.Set   // the honest modules
	SumDB   *fixture.SumDB // vouches for Set
	Healthy *fixture.Server
	Slow    *fixture.Server
	Tamper  *fixture.Server
}

// New builds the mirrors; Slow waits delay before each module answer.
func New(delay time.Duration) *Mirrors {
	set := fixture.Standard()
	skey, vkey, err := note.GenerateKey(bytes.NewReader(make([]byte, 64)), DBName)
	if err != nil {
		panic(err)
	}
	db := fixture.NewSumDBWithKey(DBName, skey, vkey, set.GoSumLines)
	for _, m := range set.Modules() {
		// The test server records a version when it is first looked up.
		path, _ := module.EscapePath(m.Path)
		version, _ := module.EscapeVersion(m.Version)
		w := httptest.NewRecorder()
		db.ServeHTTP(w, httptest.NewRequest("GET", "/lookup/"+path+"@"+version, nil))
		if w.Code != http.StatusOK {
			panic(fmt.Sprintf("loopback: recording %s@%s: %d %s", m.Path, m.Version, w.Code, w.Body))
		}
	}

	tampered := fixture.Standard()
	zipMod := tampered.Module(split(TamperedZip))
	z, err := fixture.MakeZip(zipMod.Path, zipMod.Version, map[string]string{
		"go.mod":   string(zipMod.Mod),
		"LICENSE":  "Public domain.\n",
		"hello.go": "package hello\n\n// Hello was replaced on its way.\nfunc Hello() string { return \"pwned\" }\n",
	})
	if err != nil {
		panic(err)
	}
	zipMod.Zip = z
	modMod := tampered.Module(split(TamperedMod))
	modMod.Mod = append(append([]byte(nil), modMod.Mod...), "\nrequire example.com/evil v1.0.0\n"...)

	return &Mirrors{
		Set:     set,
		SumDB:   db,
		Healthy: &fixture.Server{Set: set, SumDB: db},
		Slow:    &fixture.Server{Set: set, SumDB: db, Fault: delayed(delay)},
		Tamper:  &fixture.Server{Set: tampered, SumDB: db},
	}
}

func split(pathVersion string) (path, version string) {
	path, version, _ = strings.Cut(pathVersion, "@")
	return path, version
}

// delayed returns a Fault hook that holds each module request (not the
// checksum database's) for d, or until its client leaves, then lets the
// server answer it.
func delayed(d time.Duration) func(http.ResponseWriter, *http.Request) bool {
	return func(w http.ResponseWriter, r *http.Request) bool {
		if strings.HasPrefix(r.URL.Path, "/sumdb/") {
			return false
		}
		wait(r.Context(), d)
		return false
	}
}

func wait(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// Sample returns "path@version" for every module version in the set.
func (m *Mirrors) Sample() []string {
	var list []string
	for _, mod := range m.Set.Modules() {
		list = append(list, mod.Path+"@"+mod.Version)
	}
	return list
}

// GOSUMDB is the GOSUMDB value naming the loopback database (reached
// through the mirrors' /sumdb/ endpoints).
func (m *Mirrors) GOSUMDB() string { return m.SumDB.Key }
