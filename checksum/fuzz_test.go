package checksum

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"golang.org/x/mod/module"
	"golang.org/x/mod/sumdb/note"
)

// FuzzParseGoSum checks that a go.sum that parses keeps every hash line
// but the empty go.mod's, and that Bytes writes a file that parses to the
// same hashes and is written back identically.
func FuzzParseGoSum(f *testing.F) {
	for _, s := range []string{
		"example.com/a v1.0.0 h1:abc=\nexample.com/a v1.0.0/go.mod h1:def=\n",
		"example.com/a v1.0.0 h1:abc=\r\n\r\n  example.com/a   v1.0.0  h2:xyz  \n",
		"example.com/a v1.0.0/go.mod " + emptyGoModHash + "\n",
		"example.com/a v1.0.0 h1:one=\nexample.com/a v1.0.0 h1:two=\nexample.com/a v1.0.0 h1:one=\n",
		"example.com/a v1.0.0\n",
		"a b c d\n",
		"\n\n\n",
		"",
		"example.com/a v1.0.0 h1:abc=",
		"\xff v1 h1:x\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ParseGoSum("dir/go.sum", data)
		if err != nil {
			if s != nil || !strings.HasPrefix(err.Error(), "malformed go.sum:\ndir/go.sum:") {
				t.Fatalf("ParseGoSum(%q) = %v, %v", data, s, err)
			}
			return
		}
		if s.name() != "go.sum" {
			t.Fatalf("ParseGoSum name = %q", s.name())
		}
		n := 0
		for line := range strings.SplitSeq(string(data), "\n") {
			f := strings.Fields(line)
			if len(f) == 0 || f[2] == emptyGoModHash {
				continue
			}
			n++
			if !contains(s.Hashes(f[0], f[1], false), f[2]) {
				t.Fatalf("ParseGoSum(%q): line %q not recorded", data, line)
			}
		}
		total := 0
		for _, hs := range s.m {
			total += len(hs)
		}
		if total != n {
			t.Fatalf("ParseGoSum(%q) holds %d hashes, the input %d lines", data, total, n)
		}
		out := s.Bytes()
		s2, err := ParseGoSum("go.sum", out)
		if err != nil {
			t.Fatalf("ParseGoSum(%q).Bytes() = %q does not parse: %v", data, out, err)
		}
		// The same hashes give the same bytes, even among versions
		// semver finds equal (the seed
		// testdata/fuzz/FuzzParseGoSum/157cae04339a2c2b).
		again := s2.Bytes()
		if !bytes.Equal(again, out) {
			t.Fatalf("ParseGoSum(%q).Bytes() = %q, written again %q", data, out, again)
		}
		for k, hs := range s.m {
			got := s2.m[k]
			if len(got) == 0 {
				t.Fatalf("ParseGoSum(%q): %v lost by Bytes %q", data, k, out)
			}
			for _, h := range hs {
				if !contains(got, h) {
					t.Fatalf("ParseGoSum(%q): %v %s lost by Bytes %q", data, k, h, out)
				}
			}
		}
	})
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// FuzzParseGOSUMDB checks that a GOSUMDB value that parses gives a DB
// whose key is a valid verifier key and whose fields, written back as a
// GOSUMDB value, parse to the same DB.
func FuzzParseGOSUMDB(f *testing.F) {
	for _, s := range []string{
		"sum.golang.org", "sum.golang.google.cn", "off", "", "  ",
		SumGolangOrg, SumGolangOrg + " https://sum.example/x",
		"sum.golang.org https://proxy.example/sumdb/sum.golang.org",
		"sum.golang.org a b", "name+hash+key", "sum.golang.org %zz",
		"sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8",
		"bad/+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		db, err := ParseGOSUMDB(s)
		if err != nil {
			if db != nil {
				t.Fatalf("ParseGOSUMDB(%q) = %+v and error %v", s, db, err)
			}
			return
		}
		if db == nil {
			if s != "off" {
				t.Fatalf("ParseGOSUMDB(%q) = nil, nil", s)
			}
			return
		}
		v, err := note.NewVerifier(db.Key)
		if err != nil {
			t.Fatalf("ParseGOSUMDB(%q): key %q: %v", s, db.Key, err)
		}
		if db.Name() != v.Name() || db.Name() == "" {
			t.Fatalf("ParseGOSUMDB(%q): Name() = %q, key's name %q", s, db.Name(), v.Name())
		}
		if db.URL != "" {
			if _, err := url.Parse(db.URL); err != nil {
				t.Fatalf("ParseGOSUMDB(%q): URL %q: %v", s, db.URL, err)
			}
		}
		back := db.Key
		if db.URL != "" {
			back += " " + db.URL
		}
		again, err := ParseGOSUMDB(back)
		if err != nil || again == nil || again.Key != db.Key || again.URL != db.URL {
			t.Fatalf("ParseGOSUMDB(%q) = {%q %q}; written back %q: %+v, %v", s, db.Key, db.URL, back, again, err)
		}
	})
}

// countingTransport answers every request 404 and counts them.
type countingTransport struct{ n atomic.Int32 }

func (c *countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return &http.Response{StatusCode: http.StatusNotFound, Status: "404 Not Found", Header: http.Header{},
		Body: io.NopCloser(strings.NewReader("not found")), Request: req}, nil
}

// FuzzNoSumDB checks GONOSUMDB/GOPRIVATE handling: a module the patterns
// match is refused as not found without any request to the database.
func FuzzNoSumDB(f *testing.F) {
	for _, s := range [][2]string{
		{"example.com/private", "example.com/private/mod"},
		{"*.corp.example", "git.corp.example/team/repo"},
		{"*.corp.example", "corp.example/x"},
		{"example.com/*/internal", "example.com/a/internal/b"},
		{"example.com/[", "example.com/["},
		{",, example.com ,", "example.com"},
		{"", "example.com"},
		{"*", "anything"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, patterns, path string) {
		tr := &countingTransport{}
		db := &DB{Key: SumGolangOrg, URL: "https://sum.invalid", NoSumDB: patterns, Client: &http.Client{Transport: tr}}
		skip := module.MatchPrefixPatterns(patterns, path)
		if db.Skip(path) != skip {
			t.Fatalf("Skip(%q) with GONOSUMDB=%q = %v", path, patterns, !skip)
		}
		if !skip {
			return // a lookup would go to the database
		}
		_, err := db.Lookup(context.Background(), path, "v1.0.0")
		if err == nil || !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("Lookup(%q) with GONOSUMDB=%q: %v, want not found", path, patterns, err)
		}
		if _, _, err := db.Record(context.Background(), path, "v1.0.0"); err == nil {
			t.Fatalf("Record(%q) with GONOSUMDB=%q succeeded", path, patterns)
		}
		if n := tr.n.Load(); n != 0 {
			t.Fatalf("GONOSUMDB=%q matches %q, yet %d requests reached the database", patterns, path, n)
		}
	})
}
