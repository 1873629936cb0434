package rules

import (
	"strings"
	"testing"
)

// FuzzParse: Parse never panics; a parsed Set answers every question with
// a one-line reason, and what parses once parses again the same from its
// rules' text.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"",
		"deny example.com/m@v1.2.3 # x\n",
		"allow *.corp.example,example.com/ours\ndeny example.com/m@>=v1.0.0,<v1.4.0\n",
		"deny example.com/[m\n",
		"block x\n",
		"deny a@<<v1\r\n",
		"allow golang.org/x/*@>v0.1\n",
	} {
		f.Add(s, "example.com/m", "v1.2.3")
	}
	f.Fuzz(func(t *testing.T, text, path, version string) {
		s, err := Parse([]byte(text))
		if err != nil {
			if s != nil {
				t.Fatal("Parse returned a Set and an error")
			}
			return
		}
		for _, v := range []string{version, ""} {
			ok, reason := s.Allowed(path, v)
			if strings.Contains(reason, "\n") || reason == "" {
				t.Fatalf("Allowed(%q, %q) = %v, %q: want a one-line reason", path, v, ok, reason)
			}
		}
		var b strings.Builder
		for _, r := range s.rules {
			b.WriteString(r.text + "\n")
		}
		s2, err := Parse([]byte(b.String()))
		if err != nil || len(s2.rules) != len(s.rules) {
			t.Fatalf("the rules' own text %q: %v", b.String(), err)
		}
		for i := range s.rules {
			if a, b := s.rules[i], s2.rules[i]; a.text != b.text || a.allow != b.allow || a.pattern != b.pattern || len(a.terms) != len(b.terms) {
				t.Fatalf("rule %d parsed again: %+v, was %+v", i, b, a)
			}
		}
	})
}
