package resolvertest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/modfetch/modfetch"
)

// TestSource: the Source itself passes the suite.
func TestSource(t *testing.T) {
	Run(t, func(t *testing.T, src modfetch.Resolver) modfetch.Resolver { return src }, Options{})
}

// layer is a decorator that passes everything through, and forwards the
// alternatives of a Walker; its broken variants each break one rule.
type layer struct {
	next   modfetch.Resolver
	broken string
}

func (l *layer) ctx(ctx context.Context) context.Context {
	if l.broken == "ignores-ctx" {
		return context.WithoutCancel(ctx)
	}
	return ctx
}

func (l *layer) err(err error) error {
	switch {
	case err == nil:
	case l.broken == "hides-not-found":
		return fmt.Errorf("%v", err)
	case l.broken == "all-not-found":
		return modfetch.NotExist(err)
	}
	return err
}

func (l *layer) List(ctx context.Context, path string) ([]string, error) {
	if l.broken == "io-on-invalid-path" {
		l.next.List(ctx, "example.com/hello")
	}
	list, err := l.next.List(l.ctx(ctx), path)
	if l.broken == "unsorted" {
		slices.Reverse(list)
	}
	return list, l.err(err)
}

func (l *layer) Stat(ctx context.Context, path, rev string) (*modfetch.Info, error) {
	info, err := l.next.Stat(l.ctx(ctx), path, rev)
	return info, l.err(err)
}

func (l *layer) Latest(ctx context.Context, path string) (*modfetch.Info, error) {
	if l.broken == "latest-not-found" {
		return nil, modfetch.NotExist(errors.New("no latest here"))
	}
	info, err := l.next.Latest(l.ctx(ctx), path)
	return info, l.err(err)
}

func (l *layer) GoMod(ctx context.Context, path, version string) ([]byte, error) {
	data, err := l.next.GoMod(l.ctx(ctx), path, version)
	if err == nil && l.broken == "wrong-mod" {
		data = append(data, '\n')
	}
	return data, l.err(err)
}

func (l *layer) Zip(ctx context.Context, path, version string) (io.ReadCloser, error) {
	rc, err := l.next.Zip(l.ctx(ctx), path, version)
	if err != nil {
		return nil, l.err(err)
	}
	switch l.broken {
	case "buffers-zips":
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			return nil, err
		}
		return io.NopCloser(bytes.NewReader(data)), nil
	case "lying-sum":
		return lyingSum{rc}, nil
	case "buffers-exact":
		// The whole zip in one buffer of its size, then a file.
		defer rc.Close()
		st, ok := modfetch.As[modfetch.Stater](rc)
		if !ok {
			return nil, errors.New("no size")
		}
		fi, err := st.Stat()
		if err != nil {
			return nil, err
		}
		buf := make([]byte, fi.Size())
		if _, err := io.ReadFull(rc, buf); err != nil {
			return nil, err
		}
		f, err := os.CreateTemp("", "resolvertest-*")
		if err != nil {
			return nil, err
		}
		os.Remove(f.Name())
		f.Write(buf)
		f.Seek(0, io.SeekStart)
		return f, nil
	}
	return rc, nil
}

type lyingSum struct{ io.ReadCloser }

func (lyingSum) Sum() string { return "h1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=" }

// walkingLayer is a layer that forwards a Walker's alternatives.
type walkingLayer struct{ *layer }

func (l walkingLayer) Try(path string, fn func(modfetch.Resolver) error) error {
	w, ok := l.next.(modfetch.Walker)
	if !ok {
		return fn(l)
	}
	if l.broken == "raw-walker" {
		return w.Try(path, fn)
	}
	return w.Try(path, func(alt modfetch.Resolver) error {
		return fn(walkingLayer{&layer{next: alt, broken: l.broken}})
	})
}

// TestBrokenLayer is run by TestSuiteCatches in a child process, on the
// variant its environment names.
func TestBrokenLayer(t *testing.T) {
	broken := os.Getenv("RESOLVERTEST_BROKEN")
	if broken == "" {
		t.Skip("run by TestSuiteCatches with RESOLVERTEST_BROKEN set")
	}
	Run(t, func(t *testing.T, src modfetch.Resolver) modfetch.Resolver {
		l := &layer{next: src, broken: broken}
		if broken == "no-walker" {
			return l
		}
		return walkingLayer{l}
	}, Options{Decorator: true})
}

// TestSuiteCatches: the suite passes a correct decorator and fails each
// broken one in the test that checks the rule it breaks.
func TestSuiteCatches(t *testing.T) {
	if os.Getenv("RESOLVERTEST_BROKEN") != "" {
		t.Skip("in the child process")
	}
	for _, tt := range []struct{ broken, failing string }{
		{"none", ""},
		{"io-on-invalid-path", "InvalidPath"},
		{"hides-not-found", "NotFound"},
		{"all-not-found", "Failures"},
		{"latest-not-found", "Answers"},
		{"unsorted", "Answers"},
		{"wrong-mod", "Answers"},
		{"ignores-ctx", "Cancel"},
		{"buffers-zips", "StreamsZips"},
		{"buffers-exact", "StreamsZips"},
		{"lying-sum", "ZipAbilities"},
		{"no-walker", "Walker"},
		{"raw-walker", "Walker"},
	} {
		t.Run(tt.broken, func(t *testing.T) {
			// A broken layer runs only the test that must catch it.
			run := "^TestBrokenLayer$"
			if tt.failing != "" {
				run += "/^" + tt.failing + "$"
			}
			cmd := exec.Command(os.Args[0], "-test.run="+run, "-test.v")
			cmd.Env = append(os.Environ(), "RESOLVERTEST_BROKEN="+tt.broken)
			out, err := cmd.CombinedOutput()
			if tt.failing == "" {
				if err != nil {
					t.Fatalf("the suite failed a correct layer: %v\n%s", err, out)
				}
				if !strings.Contains(string(out), "--- PASS: TestBrokenLayer") {
					t.Fatalf("the suite did not run:\n%s", out)
				}
				return
			}
			if err == nil {
				t.Fatalf("the suite passed a layer that breaks %q", tt.broken)
			}
			if want := "--- FAIL: TestBrokenLayer/" + tt.failing; !strings.Contains(string(out), want) {
				t.Fatalf("output lacks %q:\n%s", want, out)
			}
		})
	}
}
