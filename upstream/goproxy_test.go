package upstream

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"reflect"
	"strings"
	"testing"

	"github.com/modfetch/modfetch"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in   string
		want []Element
		err  string
	}{
		{"https://proxy.golang.org,direct", []Element{{"https://proxy.golang.org", false}, {"direct", false}}, ""},
		{"https://a|https://b,https://c", []Element{{"https://a", true}, {"https://b", false}, {"https://c", false}}, ""},
		{"https://a|https://b|direct", []Element{{"https://a", true}, {"https://b", true}, {"direct", false}}, ""},
		{"proxy.golang.org", []Element{{"https://proxy.golang.org", false}}, ""},
		{"localhost:3000", []Element{{"https://localhost:3000", false}}, ""},
		{" https://a , , https://b ,", []Element{{"https://a", false}, {"https://b", false}}, ""},
		{"a.com,,b.com", []Element{{"https://a.com", false}, {"https://b.com", false}}, ""},
		{"https://a|", []Element{{"https://a", true}}, ""},
		{"off", []Element{{"off", false}}, ""},
		{"off,https://a", []Element{{"off", false}}, ""},
		{"direct,https://proxy.golang.org", []Element{{"direct", false}}, ""},
		{"https://a|direct|https://b", []Element{{"https://a", true}, {"direct", false}}, ""},
		{"http://127.0.0.1:8080/prefix/", []Element{{"http://127.0.0.1:8080/prefix/", false}}, ""},
		{"file:///tmp/cache", []Element{{"file:///tmp/cache", false}}, ""},
		{"https://user:secret@corp.example/proxy", []Element{{"https://user:secret@corp.example/proxy", false}}, ""},
		{"", nil, "GOPROXY list is not the empty string, but contains no entries"},
		{",", nil, "GOPROXY list is not the empty string, but contains no entries"},
		{" | , ", nil, "GOPROXY list is not the empty string, but contains no entries"},
		{"foo", nil, "invalid proxy URL missing scheme: foo"},
		{"/abs/path", nil, "invalid proxy URL missing scheme: /abs/path"},
		{"ftp://x.y", nil, "invalid proxy URL scheme (must be https, http, file): ftp://x.y"},
		{"file://localhost/tmp", nil, "invalid file:// proxy URL with non-path elements: file://localhost/tmp"},
		{"file:///tmp?x=1", nil, "invalid file:// proxy URL with non-path elements: file:///tmp?x=1"},
		{"ftp://user:secret@x.y", nil, "invalid proxy URL scheme (must be https, http, file): ftp://user:xxxxx@x.y"},
		{"https://a,ftp://b", nil, "invalid proxy URL scheme (must be https, http, file): ftp://b"},
		{"direct,ftp://b", []Element{{"direct", false}}, ""}, // never parsed
	}
	for _, tt := range tests {
		got, err := Parse(tt.in)
		if tt.err != "" {
			if err == nil || err.Error() != tt.err {
				t.Errorf("Parse(%q) error = %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Parse(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
	if _, err := Parse(""); !errors.Is(err, ErrNoEntries) {
		t.Errorf("Parse(\"\") error is not ErrNoEntries: %v", err)
	}
}

// fakeResolver answers every request with err (or success when err is nil)
// and records that it was asked.
type fakeResolver struct {
	name  string
	err   error
	calls *[]string
}

func (f fakeResolver) answer(path string) error {
	*f.calls = append(*f.calls, f.name)
	if f.err == nil {
		return nil
	}
	return &modfetchModuleErr{path: path, err: f.err}
}

// modfetchModuleErr keeps the error chain of the injected error.
type modfetchModuleErr struct {
	path string
	err  error
}

func (e *modfetchModuleErr) Error() string { return e.path + ": " + e.err.Error() }
func (e *modfetchModuleErr) Unwrap() error { return e.err }

func (f fakeResolver) List(ctx context.Context, path string) ([]string, error) {
	if err := f.answer(path); err != nil {
		return nil, err
	}
	return []string{"v1.0.0-" + f.name}, nil
}
func (f fakeResolver) Stat(ctx context.Context, path, rev string) (*modfetch.Info, error) {
	if err := f.answer(path); err != nil {
		return nil, err
	}
	return &modfetch.Info{Version: "v1.0.0-" + f.name}, nil
}
func (f fakeResolver) Latest(ctx context.Context, path string) (*modfetch.Info, error) {
	return f.Stat(ctx, path, "latest")
}
func (f fakeResolver) GoMod(ctx context.Context, path, version string) ([]byte, error) {
	if err := f.answer(path); err != nil {
		return nil, err
	}
	return []byte(f.name), nil
}
func (f fakeResolver) Zip(ctx context.Context, path, version string) (io.ReadCloser, error) {
	if err := f.answer(path); err != nil {
		return nil, err
	}
	return io.NopCloser(strings.NewReader(f.name)), nil
}

var (
	err404    = &modfetch.HTTPError{URL: "u", Status: "404 Not Found", StatusCode: 404}
	err410    = &modfetch.HTTPError{URL: "u", Status: "410 Gone", StatusCode: 410}
	err403    = &modfetch.HTTPError{URL: "u", Status: "403 Forbidden", StatusCode: 403}
	err500    = &modfetch.HTTPError{URL: "u", Status: "500 Internal Server Error", StatusCode: 500}
	errDial   = errors.New("dial tcp 127.0.0.1:1: connect: connection refused")
	errDirect = errors.New("git ls-remote failed")
)

func TestChainFallThrough(t *testing.T) {
	type ent struct {
		name     string
		err      error
		fallBack bool
		direct   bool
	}
	tests := []struct {
		name    string
		entries []ent
		called  string // names of entries asked, in order
		winner  string // entry whose answer succeeds, or ""
		err     error  // error that must be reported (errors.Is), when no winner
	}{
		{"first succeeds", []ent{{"A", nil, false, false}, {"B", nil, false, false}}, "A", "A", nil},
		{"404 falls through comma", []ent{{"A", err404, false, false}, {"B", nil, false, false}}, "AB", "B", nil},
		{"410 falls through comma", []ent{{"A", err410, false, false}, {"B", nil, false, false}}, "AB", "B", nil},
		{"403 stops comma", []ent{{"A", err403, false, false}, {"B", nil, false, false}}, "A", "", err403},
		{"500 stops comma", []ent{{"A", err500, false, false}, {"B", nil, false, false}}, "A", "", err500},
		{"dial error stops comma", []ent{{"A", errDial, false, false}, {"B", nil, false, false}}, "A", "", errDial},
		{"403 falls through pipe", []ent{{"A", err403, true, false}, {"B", nil, false, false}}, "AB", "B", nil},
		{"dial error falls through pipe", []ent{{"A", errDial, true, false}, {"B", nil, false, false}}, "AB", "B", nil},
		{"404 then 410: last not-found wins", []ent{{"A", err404, false, false}, {"B", err410, false, false}}, "AB", "", err410},
		{"410 then 404: last not-found wins", []ent{{"A", err410, false, false}, {"B", err404, false, false}}, "AB", "", err404},
		{"hard error outranks later not-found", []ent{{"A", err500, true, false}, {"B", err404, false, false}}, "AB", "", err500},
		{"later hard error replaces earlier", []ent{{"A", err500, true, false}, {"B", err403, false, false}}, "AB", "", err403},
		{"direct error outranks proxies", []ent{{"A", err500, true, false}, {"D", errDirect, false, true}}, "AD", "", errDirect},
		{"direct not-found outranks proxy hard error", []ent{{"A", err403, true, false}, {"D", err404, false, true}}, "AD", "", err404},
		{"pipe then comma then stop", []ent{{"A", err500, true, false}, {"B", err403, false, false}, {"C", nil, false, false}}, "AB", "", err403},
		{"all not-found, three", []ent{{"A", err404, false, false}, {"B", err404, false, false}, {"C", err410, false, false}}, "ABC", "", err410},
		{"off then nothing", []ent{{"O", ErrProxyOff, false, false}}, "O", "", ErrProxyOff},
		{"proxy 404 then off", []ent{{"A", err404, false, false}, {"O", ErrProxyOff, false, false}}, "AO", "", ErrProxyOff},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls []string
			ch := &Chain{}
			for _, e := range tt.entries {
				ch.Entries = append(ch.Entries, Entry{
					Resolver:        fakeResolver{name: e.name, err: e.err, calls: &calls},
					FallBackOnError: e.fallBack,
					Direct:          e.direct,
				})
			}
			// Every endpoint follows the same rules.
			ops := map[string]func() (string, error){
				"List": func() (string, error) {
					l, err := ch.List(context.Background(), "example.com/m")
					if err != nil {
						return "", err
					}
					return strings.TrimPrefix(l[0], "v1.0.0-"), nil
				},
				"Stat": func() (string, error) {
					i, err := ch.Stat(context.Background(), "example.com/m", "v1.0.0")
					if err != nil {
						return "", err
					}
					return strings.TrimPrefix(i.Version, "v1.0.0-"), nil
				},
				"Latest": func() (string, error) {
					i, err := ch.Latest(context.Background(), "example.com/m")
					if err != nil {
						return "", err
					}
					return strings.TrimPrefix(i.Version, "v1.0.0-"), nil
				},
				"GoMod": func() (string, error) {
					d, err := ch.GoMod(context.Background(), "example.com/m", "v1.0.0")
					return string(d), err
				},
				"Zip": func() (string, error) {
					rc, err := ch.Zip(context.Background(), "example.com/m", "v1.0.0")
					if err != nil {
						return "", err
					}
					defer rc.Close()
					d, _ := io.ReadAll(rc)
					return string(d), nil
				},
			}
			for op, f := range ops {
				calls = nil
				got, err := f()
				if c := strings.Join(calls, ""); c != tt.called {
					t.Errorf("%s: asked %q, want %q", op, c, tt.called)
				}
				if tt.winner != "" {
					if err != nil || got != tt.winner {
						t.Errorf("%s = %q, %v; want answer from %s", op, got, err, tt.winner)
					}
					continue
				}
				if err == nil {
					t.Errorf("%s succeeded with %q, want error %v", op, got, tt.err)
				} else if !errors.Is(err, tt.err) {
					t.Errorf("%s error = %v, want %v", op, err, tt.err)
				}
			}
		})
	}
}

func TestChainNoEntries(t *testing.T) {
	_, err := (&Chain{}).Stat(context.Background(), "example.com/m", "v1.0.0")
	if !errors.Is(err, ErrNoEntries) {
		t.Fatalf("err = %v", err)
	}
	if want := "example.com/m@v1.0.0: GOPROXY list is not the empty string, but contains no entries"; err.Error() != want {
		t.Fatalf("err = %q, want %q", err, want)
	}
}

func TestChainPrivateGoesDirect(t *testing.T) {
	var calls []string
	proxy := fakeResolver{name: "P", calls: &calls}
	direct := fakeResolver{name: "D", calls: &calls}
	for _, tt := range []struct {
		noproxy, path string
		want          string
	}{
		{"*.corp.example.com", "git.corp.example.com/a/b", "D"},
		{"*.corp.example.com", "corp.example.com/a", "P"}, // the glob needs a subdomain element
		{"github.com/acme/*", "github.com/acme/private/sub", "D"},
		{"github.com/acme/private", "github.com/acme/privatex", "P"},
		{"a.com, b.com", "b.com/m", "P"}, // entries are not trimmed
		{"*", "example.com/m", "D"},
		{"none", "example.com/m", "P"},
		{"GitHub.com/acme", "github.com/acme/x", "P"}, // case-sensitive
	} {
		calls = nil
		ch := &Chain{NoProxy: tt.noproxy, Direct: direct, Entries: []Entry{{Resolver: proxy}, {Resolver: Off{}}}}
		if _, err := ch.Stat(context.Background(), tt.path, "v1.0.0"); err != nil {
			t.Errorf("NoProxy=%q path=%q: %v", tt.noproxy, tt.path, err)
		}
		if got := strings.Join(calls, ""); got != tt.want {
			t.Errorf("NoProxy=%q path=%q asked %q, want %q", tt.noproxy, tt.path, got, tt.want)
		}
	}

	// Even GOPROXY=off lets private modules go direct, like the go command.
	calls = nil
	ch := (&Config{NoProxy: "example.com/private", Direct: direct}).Chain([]Element{{URL: "off"}})
	if _, err := ch.Zip(context.Background(), "example.com/private/m", "v1.0.0"); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(calls, ""); got != "D" {
		t.Fatalf("asked %q, want D", got)
	}
	// Public modules under off are disabled.
	_, err := ch.Stat(context.Background(), "example.com/public", "v1.0.0")
	if !errors.Is(err, ErrProxyOff) || !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("err = %v", err)
	}
	if want := "example.com/public@v1.0.0: module lookup disabled by GOPROXY=off"; err.Error() != want {
		t.Fatalf("err = %q, want %q", err, want)
	}
}

func TestDirectNotConfigured(t *testing.T) {
	ch := (&Config{NoProxy: "example.com/private"}).Chain([]Element{{URL: "https://proxy.invalid"}, {URL: "direct"}})
	for _, path := range []string{"example.com/private/m"} {
		_, err := ch.Stat(context.Background(), path, "v1.0.0")
		if !errors.Is(err, ErrDirectNotConfigured) {
			t.Fatalf("Stat(%s) err = %v, want ErrDirectNotConfigured", path, err)
		}
		if !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("ErrDirectNotConfigured does not count as not found")
		}
		if !strings.Contains(err.Error(), "direct fetching is not configured") {
			t.Fatalf("err = %q", err)
		}
	}
	ch = (&Config{}).Chain([]Element{{URL: "direct"}})
	if _, err := ch.GoMod(context.Background(), "example.com/m", "v1.0.0"); !errors.Is(err, ErrDirectNotConfigured) {
		t.Fatalf("err = %v", err)
	}
}

func TestConfigChainShape(t *testing.T) {
	d := fakeResolver{name: "D", calls: new([]string)}
	ch, err := (&Config{Direct: d}).Parse("https://a|b.example,off")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range ch.Entries {
		switch r := e.Resolver.(type) {
		case *Proxy:
			got = append(got, fmt.Sprintf("%s/%v", r.URL, e.FallBackOnError))
		case Off:
			got = append(got, "off")
		default:
			got = append(got, "?")
		}
	}
	want := []string{"https://a/true", "https://b.example/false", "off"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("entries = %v, want %v", got, want)
	}
	ch, _ = (&Config{Direct: d}).Parse("direct")
	if len(ch.Entries) != 1 || !ch.Entries[0].Direct || ch.Entries[0].Resolver != modfetch.Resolver(d) {
		t.Fatalf("direct entry = %+v", ch.Entries)
	}
}
