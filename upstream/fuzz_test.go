package upstream

import (
	"context"
	"encoding/xml"
	"io"
	"io/fs"
	"reflect"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"

	"github.com/modfetch/modfetch"
)

// FuzzParse checks that a GOPROXY list that parses is well formed and
// that writing it back with its separators parses to the same list.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"https://proxy.golang.org,direct",
		"proxy.golang.org|https://goproxy.io,off",
		"off",
		"direct,https://ignored.example",
		" https://a.example/x , ,| http://b.example:8080/y|",
		"file:///tmp/goproxy",
		"file://host/tmp",
		"/abs/path",
		"ftp://x",
		"noscheme",
		"a.b:c",
		"https://user:pass@proxy.example/p?x=1#f",
		",,,",
		"|",
		"",
		"https://%zz",
		"http://[::1]:3000|direct",
		"C:\\goproxy",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		list, err := Parse(s)
		if err != nil {
			if list != nil {
				t.Fatalf("Parse(%q) = %v and error %v", s, list, err)
			}
			return
		}
		if len(list) == 0 {
			t.Fatalf("Parse(%q) = empty list, no error", s)
		}
		var b strings.Builder
		for i, e := range list {
			if e.URL == "" || e.URL != strings.TrimSpace(e.URL) || strings.ContainsAny(e.URL, ",|") {
				t.Fatalf("Parse(%q): element %d is %q", s, i, e.URL)
			}
			if e.URL == "off" || e.URL == "direct" {
				if i != len(list)-1 || e.FallBackOnError {
					t.Fatalf("Parse(%q): %q at %d of %d, FallBackOnError=%v", s, e.URL, i, len(list), e.FallBackOnError)
				}
			} else if _, err := parseProxyURL(e.URL); err != nil {
				t.Fatalf("Parse(%q): element %q does not parse: %v", s, e.URL, err)
			}
			b.WriteString(e.URL)
			if e.FallBackOnError {
				b.WriteByte('|')
			} else {
				b.WriteByte(',')
			}
		}
		again, err := Parse(b.String())
		if err != nil {
			t.Fatalf("Parse(%q) = %v; re-joined %q fails: %v", s, list, b.String(), err)
		}
		if !reflect.DeepEqual(list, again) {
			t.Fatalf("Parse(%q) = %v; re-joined %q parses to %v", s, list, b.String(), again)
		}
		// The built chain has one entry per element, direct where asked.
		ch := (&Config{}).Chain(list)
		if len(ch.Entries) != len(list) {
			t.Fatalf("Chain(%v) has %d entries", list, len(ch.Entries))
		}
		for i, e := range ch.Entries {
			if e.Direct != (list[i].URL == "direct") || e.FallBackOnError != list[i].FallBackOnError {
				t.Fatalf("Chain(%v): entry %d is %+v", list, i, e)
			}
		}
	})
}

// recorder is a Resolver that counts the requests it gets and finds
// nothing.
type recorder struct{ calls int }

func (r *recorder) List(context.Context, string) ([]string, error) {
	r.calls++
	return nil, modfetch.NotExist(fs.ErrNotExist)
}
func (r *recorder) Stat(context.Context, string, string) (*modfetch.Info, error) {
	r.calls++
	return nil, modfetch.NotExist(fs.ErrNotExist)
}
func (r *recorder) Latest(context.Context, string) (*modfetch.Info, error) {
	r.calls++
	return nil, modfetch.NotExist(fs.ErrNotExist)
}
func (r *recorder) GoMod(context.Context, string, string) ([]byte, error) {
	r.calls++
	return nil, modfetch.NotExist(fs.ErrNotExist)
}
func (r *recorder) Zip(context.Context, string, string) (io.ReadCloser, error) {
	r.calls++
	return nil, modfetch.NotExist(fs.ErrNotExist)
}

// FuzzNoProxy checks GONOPROXY/GOPRIVATE routing: a module path the
// patterns match is never asked of a proxy, one they do not match is never
// sent to Direct; and a match holds for the paths below the matched one.
func FuzzNoProxy(f *testing.F) {
	for _, s := range [][2]string{
		{"example.com/private", "example.com/private/mod"},
		{"*.corp.example", "git.corp.example/team/repo"},
		{"*.corp.example", "corp.example/x"},
		{"example.com/*/internal", "example.com/a/internal/b"},
		{"example.com/[a-c]*", "example.com/beta"},
		{"example.com/[", "example.com/["},
		{",, example.com ,", "example.com"},
		{"example.com/", "example.com"},
		{"example.com\\*", "example.com*"},
		{"", "example.com"},
		{"*", "anything"},
		{"golang.org/x/*", "golang.org/x/mod/v2"},
		{"EXAMPLE.com", "example.com/x"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, patterns, path string) {
		proxy, direct := &recorder{}, &recorder{}
		c := &Chain{Entries: []Entry{{Resolver: proxy}}, NoProxy: patterns, Direct: direct}
		private := module.MatchPrefixPatterns(patterns, path)
		_, err := c.List(context.Background(), path)
		if err == nil {
			t.Fatalf("List(%q) succeeded over resolvers that find nothing", path)
		}
		if private && proxy.calls != 0 {
			t.Fatalf("GONOPROXY=%q matches %q, but the proxy was asked", patterns, path)
		}
		if !private && direct.calls != 0 {
			t.Fatalf("GONOPROXY=%q does not match %q, but Direct was asked", patterns, path)
		}
		if proxy.calls+direct.calls != 1 {
			t.Fatalf("GONOPROXY=%q, %q: %d proxy and %d direct requests", patterns, path, proxy.calls, direct.calls)
		}
		if private && !module.MatchPrefixPatterns(patterns, path+"/sub") {
			t.Fatalf("GONOPROXY=%q matches %q but not %q", patterns, path, path+"/sub")
		}
		// A list matches when one of its patterns does.
		any := false
		for p := range strings.SplitSeq(patterns, ",") {
			if module.MatchPrefixPatterns(p, path) {
				any = true
			}
		}
		if any != private {
			t.Fatalf("GONOPROXY=%q: list matches %q: %v, some pattern: %v", patterns, path, private, any)
		}
	})
}

// FuzzParseList checks that parseList returns exactly the distinct valid
// versions that start the lines of the answer, in semver order.
func FuzzParseList(f *testing.F) {
	for _, s := range []string{
		"v1.0.0\nv1.1.0\n",
		"v1.1.0 2019-01-01T00:00:00Z\nv1.0.0\n",
		"v1.0.0\r\nv1.0.1\r\n",
		"v2.0.0+incompatible\nv1.0.0-pre\nv1.0.0\n\n\n",
		"v1.0.0+meta\nv1.0.0\nv1.0.0\n",
		"1.0.0\nv1\nv1.2\nlatest\n<html>\n",
		"  v1.0.0  \n\tv0.0.0-20190101000000-abcdefabcdef\n",
		"",
		"v1.0.0",
		"\xff\xfev1.0.0\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		list := parseList(data)
		want := make(map[string]bool)
		for line := range strings.SplitSeq(string(data), "\n") {
			if f := strings.Fields(line); len(f) > 0 && semver.IsValid(f[0]) {
				want[f[0]] = true
			}
		}
		if len(list) != len(want) {
			t.Fatalf("parseList(%q) = %q, want the %d versions %v", data, list, len(want), want)
		}
		seen := make(map[string]bool)
		for i, v := range list {
			if !want[v] || seen[v] {
				t.Fatalf("parseList(%q) = %q: %q unexpected or repeated", data, list, v)
			}
			seen[v] = true
			if i > 0 && semver.Compare(list[i-1], v) > 0 {
				t.Fatalf("parseList(%q) = %q: not sorted", data, list)
			}
		}
	})
}

// FuzzParseMetaGoImports checks that the go-import tags read from a page
// are complete, that "mod" entries come first and hide other entries for
// their prefix, and that a page made of the results reads back the same.
func FuzzParseMetaGoImports(f *testing.F) {
	for _, s := range []string{
		`<html><head><meta name="go-import" content="example.com/x git https://example.com/x.git"></head></html>`,
		`<meta name="go-import" content="example.com/x mod https://proxy.example"><meta name="go-import" content="example.com/x git https://example.com/x">`,
		`<!DOCTYPE html><html><head><meta name="go-import" content="example.com/a/b git https://h/r subdir/v2"/></head><body><meta name="go-import" content="late git https://late"></body></html>`,
		`<?xml version="1.0" encoding="ISO-8859-1"?><meta name="go-import" content="a git b">`,
		`<?xml version="1.0" encoding="utf-8"?><META NAME="go-import" CONTENT="a  hg   https://b">`,
		`<meta name=go-import content="a git b"><meta name="go-import" content="too few">`,
		`<meta name="go-import" content="a &amp; b &lt;c&gt;"></head><meta name="go-import" content="x git y">`,
		`<meta name="go-import" content="a git b`,
		`<head><meta name="go-source" content="a b c d"></head>`,
		"",
		"\x00<meta",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		list, err := parseMetaGoImports(strings.NewReader(string(data)))
		if err != nil {
			if list != nil {
				t.Fatalf("parseMetaGoImports(%q) = %v and error %v", data, list, err)
			}
			return
		}
		mod := make(map[string]bool)
		nonMod := false
		for i, m := range list {
			for _, s := range []string{m.Prefix, m.VCS, m.RepoRoot} {
				if s == "" || strings.ContainsFunc(s, unicode.IsSpace) {
					t.Fatalf("parseMetaGoImports(%q): entry %d is %+v", data, i, m)
				}
			}
			if m.VCS == "mod" {
				if nonMod {
					t.Fatalf("parseMetaGoImports(%q) = %+v: a mod entry after others", data, list)
				}
				mod[m.Prefix] = true
			} else {
				nonMod = true
				if mod[m.Prefix] {
					t.Fatalf("parseMetaGoImports(%q) = %+v: %q has mod and %s entries", data, list, m.Prefix, m.VCS)
				}
			}
		}
		// Write the entries back as a page (when they can be written as
		// well-formed text) and read them again.
		var page strings.Builder
		page.WriteString("<html><head>\n")
		for _, m := range list {
			content := strings.TrimSpace(strings.Join([]string{m.Prefix, m.VCS, m.RepoRoot, m.SubDir}, " "))
			if !utf8.ValidString(content) || strings.ContainsFunc(content, func(r rune) bool { return r < ' ' || r == 0xFFFD || !unicode.IsPrint(r) && r != ' ' }) {
				return
			}
			page.WriteString(`<meta name="go-import" content="`)
			xml.EscapeText(&page, []byte(content))
			page.WriteString("\">\n")
		}
		page.WriteString("</head><body></body></html>\n")
		again, err := parseMetaGoImports(strings.NewReader(page.String()))
		if err != nil {
			t.Fatalf("parseMetaGoImports(%q) = %+v; written back as %q: %v", data, list, page.String(), err)
		}
		if len(again) != len(list) || len(list) > 0 && !reflect.DeepEqual(again, list) {
			t.Fatalf("parseMetaGoImports(%q) = %+v; written back as %q: %+v", data, list, page.String(), again)
		}
	})
}

// FuzzParseGOVCS checks that a GOVCS value that parses is well formed
// and that its rules written back parse to the same rules.
func FuzzParseGOVCS(f *testing.F) {
	for _, s := range []string{
		"", "public:git|hg,private:all", "github.com:git,evil.com:off,*:svn",
		"private:off", "a:b:c", ",", "x:", "*:", "example.com:git,example.com:hg",
		"  public : git | hg  ", "*:all,*:off", "./x:git", "x:git||hg",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		cfg, err := parseGOVCS(s)
		if err != nil {
			if cfg != nil {
				t.Fatalf("parseGOVCS(%q) = %v and error %v", s, cfg, err)
			}
			return
		}
		if (strings.TrimSpace(s) == "") != (cfg == nil) {
			t.Fatalf("parseGOVCS(%q) = %v", s, cfg)
		}
		var items []string
		for _, r := range cfg {
			if r.pattern == "" || len(r.allowed) == 0 || strings.ContainsAny(r.pattern, ",:") {
				t.Fatalf("parseGOVCS(%q): rule %+v", s, r)
			}
			for _, a := range r.allowed {
				if a == "" || a != strings.TrimSpace(a) || strings.ContainsAny(a, ",|") {
					t.Fatalf("parseGOVCS(%q): rule %+v", s, r)
				}
			}
			items = append(items, r.pattern+":"+strings.Join(r.allowed, "|"))
		}
		joined := strings.Join(items, ",")
		again, err := parseGOVCS(joined)
		if err != nil || !reflect.DeepEqual(again, cfg) {
			t.Fatalf("parseGOVCS(%q) = %+v; written back %q: %+v, %v", s, cfg, joined, again, err)
		}
	})
}
