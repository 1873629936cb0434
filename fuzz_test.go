package modfetch

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"golang.org/x/mod/semver"
)

// FuzzParseInfo checks that a .info answer that parses has a canonical
// version, and that its canonical encoding (json.Marshal) parses to the
// same Info and encodes identically.
func FuzzParseInfo(f *testing.F) {
	for _, s := range []string{
		`{"Version":"v1.0.0","Time":"2019-01-01T00:00:00Z"}`,
		`{"Version":"v1.0.0"}`,
		` { "Time" : "2019-01-01T00:00:00.123456789+05:30" , "Version" : "v2.0.0+incompatible", "Extra": [1,2,{}] } `,
		`{"Version":"v0.0.0-20190101000000-abcdefabcdef","Origin":{"VCS":"git","URL":"https://x","Hash":"abc","Ref":"refs/heads/main"}}`,
		`{"Version":"v1.0"}`,
		`{"Version":"v1.0.0+meta"}`,
		`{"Version":"1.0.0"}`,
		`{"Version":null}`,
		`{"Version":"v1.0.0","Time":"2019-01-01"}`,
		`{"Version":"v1.0.0","Time":null,"Origin":null}`,
		`{"version":"v1.0.0"}`,
		`{"Version":"v1.0.0","Version":"bad"}`,
		`{"Version":"v1.0.0","Time":"0001-01-01T00:00:00Z"}`,
		`{"Version":"v1.0.0","Time":"9999-12-31T23:59:59.999999999-23:59"}`,
		`[]`, `null`, ``, `{`, `"v1.0.0"`,
		"{\"Version\":\"v1.0.0\xff\"}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		info, err := ParseInfo(data)
		if err != nil {
			if info != nil {
				t.Fatalf("ParseInfo(%q) = %+v and error %v", data, info, err)
			}
			return
		}
		if err := CheckCanonical(info.Version); err != nil || !semver.IsValid(info.Version) {
			t.Fatalf("ParseInfo(%q) = %+v: %v", data, info, err)
		}
		enc, err := json.Marshal(info)
		if err != nil {
			t.Fatalf("ParseInfo(%q) = %+v, which does not encode: %v", data, info, err)
		}
		again, err := ParseInfo(enc)
		if err != nil {
			t.Fatalf("ParseInfo(%q) = %+v, encoded %s, which does not parse: %v", data, info, enc, err)
		}
		if again.Version != info.Version || !again.Time.Equal(info.Time) || !reflect.DeepEqual(again.Origin, info.Origin) {
			t.Fatalf("ParseInfo(%q) = %+v, encoded %s, parses to %+v", data, info, enc, again)
		}
		enc2, err := json.Marshal(again)
		if err != nil || string(enc2) != string(enc) {
			t.Fatalf("ParseInfo(%q): encoded %s, then %s (%v)", data, enc, enc2, err)
		}
	})
}

// FuzzQueryMatcher checks the parsing of version queries: a query that
// chooses among versions is never taken for a revision, the filters agree
// with the comparison they were parsed from, and a matcher's prefix and
// filter accept the exact version they were built from.
func FuzzQueryMatcher(f *testing.F) {
	for _, s := range [][3]string{
		{"example.com/m", "latest", ""},
		{"example.com/m", "upgrade", "v1.2.3"},
		{"example.com/m", "upgrade", "none"},
		{"example.com/m", "patch", "v1.2.3"},
		{"example.com/m", "patch", ""},
		{"example.com/m", "v1", ""},
		{"example.com/m", "v1.2", ""},
		{"example.com/m", "v1.2.3", ""},
		{"example.com/m", "v1.2.3+meta", ""},
		{"example.com/m/v2", "v2.0.0", ""},
		{"example.com/m", "v2.0.0", "v1.0.0+incompatible"},
		{"example.com/m", "<v1.2.0", ""},
		{"example.com/m", "<=v1.2", ""},
		{"example.com/m", ">v1", ""},
		{"example.com/m", ">=v1.2.0-pre", ""},
		{"example.com/m", ">=", ""},
		{"example.com/m", "<", ""},
		{"example.com/m", "main", ""},
		{"example.com/m", "abcdef0123", ""},
		{"gopkg.in/yaml.v2", "v2.1", ""},
		{"example.com/m", "", ""},
	} {
		f.Add(s[0], s[1], s[2])
	}
	f.Fuzz(func(t *testing.T, path, query, current string) {
		qm, err := newQueryMatcher(path, query, current)
		if errors.Is(err, errRevQuery) != (IsRevisionQuery(query) && !semver.IsValid(query)) {
			t.Fatalf("newQueryMatcher(%q, %q, %q): %v; IsRevisionQuery = %v", path, query, current, err, IsRevisionQuery(query))
		}
		if err != nil {
			if qm != nil {
				t.Fatalf("newQueryMatcher(%q, %q, %q) = %+v and error %v", path, query, current, qm, err)
			}
			return
		}
		if qm.canStat != (semver.IsValid(query) && IsRevisionQuery(query)) {
			t.Fatalf("newQueryMatcher(%q, %q, %q): canStat = %v", path, query, current, qm.canStat)
		}
		if semver.IsValid(query) {
			// The exact version (or, for a prefix, its .0 release) matches.
			v := semver.Canonical(query)
			if !strings.HasPrefix(v, qm.prefix) || qm.filter != nil && !qm.filter(v) {
				t.Fatalf("newQueryMatcher(%q, %q, %q) rejects %q (prefix %q)", path, query, current, v, qm.prefix)
			}
		}
		if op, v, ok := cutOp(query); ok {
			for _, mv := range []string{v, "v0.0.0", "v1.0.0", "v1.2.3", "v2.0.0-pre", "v99.0.0"} {
				c := semver.Compare(mv, v)
				want := map[string]bool{"<": c < 0, "<=": c <= 0, ">": c > 0, ">=": c >= 0}[op]
				if qm.filter(mv) != want {
					t.Fatalf("newQueryMatcher(%q): filter(%q) = %v", query, mv, !want)
				}
			}
			if qm.preferLower != (op[0] == '>') {
				t.Fatalf("newQueryMatcher(%q): preferLower = %v", query, qm.preferLower)
			}
		}
		if (query == "upgrade" || query == "patch") && semver.IsValid(current) && qm.filter != nil && !qm.filter(current) {
			t.Fatalf("newQueryMatcher(%q, current %q) rejects the current version", query, current)
		}
	})
}

// cutOp splits a comparison query into its operator and version.
func cutOp(query string) (op, v string, ok bool) {
	for _, op := range []string{"<=", ">=", "<", ">"} {
		if v, ok := strings.CutPrefix(query, op); ok {
			return op, v, true
		}
	}
	return "", "", false
}
