package modfetch_test

import (
	"context"
	"strings"
	"testing"

	"golang.org/x/mod/semver"

	"github.com/modfetch/modfetch"
)

// FuzzQuery runs version queries over the query fixtures: an answer is a
// valid version the fixtures hold, and it satisfies the query it answers
// (its comparison, its prefix, its exact version, never below the current
// version for "upgrade" and "patch").
func FuzzQuery(f *testing.F) {
	for _, s := range [][3]string{
		{"example.com/retract", "latest", ""},
		{"example.com/retract", "upgrade", "v1.0.0"},
		{"example.com/retract", "patch", "v1.1.0"},
		{"example.com/retract", "v1", ""},
		{"example.com/retract", "v1.1", ""},
		{"example.com/retract", "v1.2.0", ""},
		{"example.com/retract", "<v1.2.0", ""},
		{"example.com/retract", ">=v1.0.1", ""},
		{"example.com/retract", "<=v1.1", ""},
		{"example.com/prerel", "latest", ""},
		{"example.com/pseudo", "latest", ""},
		{"example.com/incompat", "v2.0.0", ""},
		{"example.com/incompat", "latest", "v2.0.0+incompatible"},
		{"example.com/legacy", ">v1.0.0", ""},
		{"example.com/hello", "main", ""},
		{"example.com/hello", "v1.0.0+meta", ""},
		{"example.com/unlisted", "v1.5.0", ""},
		{"example.com/empty", "latest", ""},
		{"example.com/nope", "latest", ""},
		{"example.com/hello", "upgrade", "bad"},
		{"Example.com/!x", "latest", ""},
	} {
		f.Add(s[0], s[1], s[2])
	}
	set := querySet()
	f.Fuzz(func(t *testing.T, path, query, current string) {
		q := &modfetch.Querier{Resolver: set}
		info, err := q.Query(context.Background(), path, query, &modfetch.QueryOptions{Current: current})
		if err != nil {
			if info != nil {
				t.Fatalf("Query(%q, %q, %q) = %+v and error %v", path, query, current, info, err)
			}
			return
		}
		v := info.Version
		if !semver.IsValid(v) || set.Module(path, v) == nil && v != current {
			t.Fatalf("Query(%q, %q, %q) = %q, not a fixture version", path, query, current, v)
		}
		switch {
		case strings.HasPrefix(query, "<=") && semver.Compare(v, query[2:]) > 0,
			strings.HasPrefix(query, ">=") && semver.Compare(v, query[2:]) < 0,
			strings.HasPrefix(query, "<") && !strings.HasPrefix(query, "<=") && semver.Compare(v, query[1:]) >= 0,
			strings.HasPrefix(query, ">") && !strings.HasPrefix(query, ">=") && semver.Compare(v, query[1:]) <= 0:
			t.Fatalf("Query(%q, %q) = %q", path, query, v)
		}
		if semver.IsValid(query) {
			if modfetch.IsRevisionQuery(query) {
				if strings.TrimSuffix(v, "+incompatible") != strings.TrimSuffix(semver.Canonical(query), "+incompatible") {
					t.Fatalf("Query(%q, %q) = %q", path, query, v)
				}
			} else if !strings.HasPrefix(v, query+".") {
				t.Fatalf("Query(%q, %q) = %q, outside the prefix", path, query, v)
			}
		}
		if (query == "upgrade" || query == "patch") && semver.IsValid(current) && semver.Compare(v, current) < 0 {
			t.Fatalf("Query(%q, %q, current %q) = %q, a downgrade", path, query, current, v)
		}
		if query == "patch" && semver.MajorMinor(v) != semver.MajorMinor(current) {
			t.Fatalf("Query(%q, patch, current %q) = %q, another minor version", path, current, v)
		}
	})
}
