package rules

import (
	"errors"
	"io/fs"
	"strings"
	"testing"

	"github.com/modfetch/modfetch"
)

func TestParse(t *testing.T) {
	good := []struct {
		name, text string
		rules      int
	}{
		{"empty", "", 0},
		{"comments and blanks", "# nothing\n\n   \t\n# more\n", 0},
		{"one of each", "allow example.com/*\ndeny example.com/m@v1.2.3\n", 2},
		{"trailing comment", "deny example.com/m@v1.2.3 # compromised\n", 1},
		{"comparisons", "deny example.com/m@<v1.2.0\ndeny example.com/m@>=v1.0.0,<v1.4.0\ndeny a.example@<=v1.2,>v1\n", 3},
		{"pattern lists", "allow *.corp.example,example.com/ours\n", 1},
		{"incompatible", "deny example.com/m@v2.0.0+incompatible\n", 1},
		{"pre-release and pseudo", "deny example.com/m@v1.2.0-rc.1\ndeny example.com/m@v0.0.0-20240101000000-abcdefabcdef\n", 2},
		{"CRLF and spacing", "  deny \t example.com/m@v1.0.0  \r\nallow x.example\r\n", 2},
		{"no final newline", "deny example.com/m", 1},
	}
	for _, tt := range good {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Parse([]byte(tt.text))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if len(s.rules) != tt.rules {
				t.Errorf("%d rules, want %d", len(s.rules), tt.rules)
			}
		})
	}

	bad := []struct {
		name, text string
		line       int
		msg        string // a part of the message
	}{
		{"unknown verb", "# ok\nblock example.com/m\n", 2, `unknown verb "block"`},
		{"capitalised verb", "Deny example.com/m\n", 1, `unknown verb "Deny"`},
		{"no pattern", "\n\ndeny\n", 3, "needs a module path pattern"},
		{"space in range", "deny example.com/m@>=v1.0.0, <v1.4.0\n", 1, "without spaces"},
		{"bad glob", "deny example.com/[m\n", 1, `bad pattern "example.com/[m"`},
		{"empty glob", "deny a.example,,b.example\n", 1, "empty pattern"},
		{"empty pattern before @", "deny @v1.0.0\n", 1, "empty pattern"},
		{"empty range", "deny example.com/m@\n", 1, "empty version range"},
		{"empty comparison", "deny example.com/m@<v1.0.0,\n", 1, "empty comparison"},
		{"bad version in comparison", "deny example.com/m@<1.2.0\n", 1, `bad version "1.2.0"`},
		{"not a version", "deny example.com/m@latest\n", 1, `bad version "latest"`},
		{"non-canonical exact", "deny example.com/m@v1.2\n", 1, "must be canonical (v1.2.0)"},
		{"exact with metadata", "deny example.com/m@v1.2.3+meta\n", 1, "must be canonical"},
		{"equals sign", "deny example.com/m@=v1.2.3\n", 1, "bad comparison"},
		{"double operator", "deny example.com/m@<<v1.2.3\n", 1, "bad comparison"},
		{"control character", "deny example.com/m\x1b[31m\n", 1, "non-printable"},
		{"invalid UTF-8", "deny example.com/\xff\n", 1, "invalid UTF-8"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Parse([]byte(tt.text))
			if err == nil {
				t.Fatalf("Parse = %d rules, want an error", len(s.rules))
			}
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Parse: %v (%T), want a *SyntaxError", err, err)
			}
			if se.Line != tt.line || !strings.Contains(se.Msg, tt.msg) {
				t.Errorf("Parse: %v, want line %d: ...%s...", err, tt.line, tt.msg)
			}
			if !strings.HasPrefix(err.Error(), "line ") || strings.Contains(se.Error(), "\n") {
				t.Errorf("error text %q: want one line starting with its line number", err)
			}
		})
	}

	// Every malformed line is reported, in order.
	_, err := Parse([]byte("deny a.example\nblock b.example\nallow\ndeny c.example@x\n"))
	if err == nil {
		t.Fatal("Parse of three bad lines succeeded")
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "line 2:") || !strings.HasPrefix(lines[1], "line 3:") || !strings.HasPrefix(lines[2], "line 4:") {
		t.Errorf("Parse error:\n%v\nwant lines 2, 3 and 4 reported", err)
	}
}

func TestAllowed(t *testing.T) {
	type check struct {
		path, version string
		allowed       bool
		reason        string // a part of the reason
	}
	tests := []struct {
		name   string
		rules  string
		checks []check
	}{
		{"no rules", "", []check{
			{"example.com/m", "v1.0.0", true, "no rule denies it"},
			{"example.com/m", "", true, ""},
		}},
		{"one version", "deny example.com/m@v1.2.3 # bad\n", []check{
			{"example.com/m", "v1.2.3", false, "denied by rule at line 1 (deny example.com/m@v1.2.3)"},
			{"example.com/m", "v1.2.4", true, ""},
			{"example.com/m", "v1.2.3-pre", true, ""},
			{"example.com/m", "", true, ""}, // other versions are allowed
			{"example.com/other", "v1.2.3", true, ""},
			{"example.com/mm", "v1.2.3", true, ""}, // a path element, not a string prefix
			{"example.com/m/sub", "v1.2.3", false, "line 1"},
		}},
		{"ranges", "deny example.com/m@>=v1.0.0,<v1.4.0\ndeny example.com/m@<=v0.1.0\n", []check{
			{"example.com/m", "v0.9.0", true, ""},
			{"example.com/m", "v1.0.0", false, "line 1"},
			{"example.com/m", "v1.3.9", false, "line 1"},
			{"example.com/m", "v1.4.0-rc.1", false, "line 1"}, // pre-releases sort first
			{"example.com/m", "v1.4.0", true, ""},
			{"example.com/m", "v1.3.0-0.20240101000000-abcdefabcdef", false, "line 1"},
			{"example.com/m", "v0.1.0", false, "line 2"},
			{"example.com/m", "v0.0.0-20240101000000-abcdefabcdef", false, "line 2"},
			{"example.com/m", "v0.1.1", true, ""},
			{"example.com/m", "master", true, ""}, // not a version: no range holds
		}},
		{"greater", "deny example.com/m@>v1.0.0\n", []check{
			{"example.com/m", "v1.0.0", true, ""},
			{"example.com/m", "v1.0.1", false, ""},
			{"example.com/m", "v2.0.0+incompatible", false, ""},
		}},
		{"globs", "deny *.evil.example\ndeny example.com/*/internal\n", []check{
			{"git.evil.example/x", "v1.0.0", false, "line 1"},
			{"git.evil.example/x", "", false, "line 1"},
			{"evil.example/x", "v1.0.0", true, ""},
			{"example.com/a/internal", "v1.0.0", false, "line 2"},
			{"example.com/a/internal/v2", "v2.0.0", false, "line 2"},
			{"example.com/a/b/internal", "v1.0.0", true, ""},
		}},
		{"last match wins", "deny example.com/*\nallow example.com/m\ndeny example.com/m@v1.2.3\n", []check{
			{"example.com/x", "v1.0.0", false, "line 1"},
			{"example.com/x", "", false, "line 1"},
			{"example.com/m", "v1.0.0", true, "allowed by rule at line 2 (allow example.com/m)"},
			{"example.com/m", "v1.2.3", false, "line 3"},
			{"example.com/m", "", true, ""},
		}},
		{"earlier match loses", "deny example.com/m@v1.2.3\nallow example.com/m\n", []check{
			{"example.com/m", "v1.2.3", true, "line 2"},
		}},
		{"allow list", "allow example.com/vetted,golang.org/x/*\nallow example.com/m@>=v1.2.0\ndeny golang.org/x/text@<v0.3.8\n", []check{
			{"example.com/vetted", "v1.0.0", true, "line 1"},
			{"example.com/vetted/v2", "v2.0.0", true, "line 1"},
			{"golang.org/x/mod", "v0.1.0", true, "line 1"},
			{"golang.org/x/text", "v0.3.7", false, "line 3"},
			{"golang.org/x/text", "v0.3.8", true, "line 1"},
			{"golang.org/x/text", "", true, ""},
			{"example.com/other", "v1.0.0", false, "denied: no allow rule matches it"},
			{"example.com/other", "", false, "no allow rule"},
			{"example.com/m", "v1.1.0", false, "no allow rule"},
			{"example.com/m", "v1.2.0", true, "line 2"},
			{"example.com/m", "", true, ""}, // some versions are allowed
		}},
		{"module denied after a version allowed", "allow example.com/m@v1.0.0\ndeny example.com/m\n", []check{
			{"example.com/m", "v1.0.0", false, "line 2"},
			{"example.com/m", "", false, "line 2"},
		}},
		{"version allowed after module denied", "deny example.com/m\nallow example.com/m@v1.0.0\n", []check{
			{"example.com/m", "v1.0.0", true, "line 2"},
			{"example.com/m", "v1.1.0", false, "line 1"},
			{"example.com/m", "", true, "no rule denies every version of it"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Parse([]byte(tt.rules))
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range tt.checks {
				ok, reason := s.Allowed(c.path, c.version)
				if ok != c.allowed || !strings.Contains(reason, c.reason) || strings.Contains(reason, "\n") {
					t.Errorf("Allowed(%q, %q) = %v, %q; want %v, %q", c.path, c.version, ok, reason, c.allowed, c.reason)
				}
			}
		})
	}

	// A nil Set allows everything.
	if ok, _ := (*Set)(nil).Allowed("example.com/m", "v1.0.0"); !ok {
		t.Error("a nil Set denied a version")
	}
}

func TestDeniedError(t *testing.T) {
	s, err := Parse([]byte("\n\n\ndeny example.com/m@<v1.3.0\n"))
	if err != nil {
		t.Fatal(err)
	}
	err = s.check("example.com/m", "v1.2.3")
	if err == nil {
		t.Fatal("check: nil, want a refusal")
	}
	if want := "example.com/m@v1.2.3: denied by rule at line 4 (deny example.com/m@<v1.3.0)"; err.Error() != want {
		t.Errorf("refusal text %q, want %q", err, want)
	}
	if !errors.Is(err, ErrDenied) || !errors.Is(err, modfetch.ErrForbidden) || errors.Is(err, fs.ErrNotExist) {
		t.Errorf("refusal: errors.Is ErrDenied %v, ErrForbidden %v, fs.ErrNotExist %v; want true, true, false",
			errors.Is(err, ErrDenied), errors.Is(err, modfetch.ErrForbidden), errors.Is(err, fs.ErrNotExist))
	}
	var de *DeniedError
	if !errors.As(err, &de) || de.Line != 4 || de.Rule != "deny example.com/m@<v1.3.0" {
		t.Errorf("DeniedError %+v", de)
	}
}
