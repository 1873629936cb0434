package rules

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"sync/atomic"
	"time"

	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"

	"github.com/modfetch/modfetch"
)

// A Filter is a [modfetch.Resolver] that answers from Next what its
// rules allow and refuses the rest (see the package documentation for
// what each method does). Its rules can be replaced at any time with
// Store, while it serves: each call uses the Set that was current when
// it began, so a reload drops no request.
//
// The zero Filter, with no Set stored, allows everything. Set Next
// before use and do not change it afterwards. A Filter must not be
// copied after first use.
type Filter struct {
	// Next answers what the rules allow.
	Next modfetch.Resolver

	set atomic.Pointer[Set]
}

// Store makes s the rules of f, for the calls that begin after it. A nil
// s allows everything.
func (f *Filter) Store(s *Set) { f.set.Store(s) }

// Load returns the rules of f, nil if none were stored.
func (f *Filter) Load() *Set { return f.set.Load() }

func (f *Filter) view() *view { return &view{next: f.Next, set: f.Load()} }

// List implements [modfetch.Resolver]: the versions the rules allow.
func (f *Filter) List(ctx context.Context, path string) ([]string, error) {
	return f.view().List(ctx, path)
}

// Stat implements [modfetch.Resolver]: a refusal if the rules deny the
// version that rev is or resolves to.
func (f *Filter) Stat(ctx context.Context, path, rev string) (*modfetch.Info, error) {
	return f.view().Stat(ctx, path, rev)
}

// Latest implements [modfetch.Resolver]: Next's latest version if the
// rules allow it, or else the highest version that they allow.
func (f *Filter) Latest(ctx context.Context, path string) (*modfetch.Info, error) {
	return f.view().Latest(ctx, path)
}

// GoMod implements [modfetch.Resolver]: a refusal if the rules deny the
// version.
func (f *Filter) GoMod(ctx context.Context, path, version string) ([]byte, error) {
	return f.view().GoMod(ctx, path, version)
}

// Zip implements [modfetch.Resolver]: a refusal if the rules deny the
// version.
func (f *Filter) Zip(ctx context.Context, path, version string) (io.ReadCloser, error) {
	return f.view().Zip(ctx, path, version)
}

// Try implements [modfetch.Walker]: when Next is a Walker (a GOPROXY
// chain, say), fn sees each of its alternatives behind the same rules.
// Otherwise fn sees f.
func (f *Filter) Try(path string, fn func(modfetch.Resolver) error) error {
	v := f.view()
	w, ok := v.next.(modfetch.Walker)
	if !ok {
		return fn(v)
	}
	return w.Try(path, func(r modfetch.Resolver) error {
		return fn(&view{next: r, set: v.set})
	})
}

// ZipURL passes on the zip URLs of Next (a cache.Cache on an object store
// that signs URLs, as proxy.Handler's RedirectZips uses) for the versions
// the rules allow.
func (f *Filter) ZipURL(ctx context.Context, path, version string, expiry time.Duration) (*url.URL, error) {
	zu, ok := f.Next.(modfetch.ZipURLer)
	if !ok {
		return nil, fmt.Errorf("%T gives no zip URLs", f.Next)
	}
	if err := f.view().refuse(path, version); err != nil {
		return nil, err
	}
	return zu.ZipURL(ctx, path, version, expiry)
}

// A view is a Filter's Next (or one of its alternatives) with the rules
// of one call.
type view struct {
	next modfetch.Resolver
	set  *Set
}

// refuse returns the refusal of path at version (version "": of the
// module as a whole), or nil. An invalid module path is never refused:
// Next reports it.
func (v *view) refuse(path, version string) error {
	if v.set == nil {
		return nil
	}
	err := v.set.check(path, version)
	if err != nil && module.CheckPath(path) != nil {
		return nil
	}
	return err
}

func (v *view) List(ctx context.Context, path string) ([]string, error) {
	if err := v.refuse(path, ""); err != nil {
		return nil, err
	}
	list, err := v.next.List(ctx, path)
	if err != nil || v.set == nil {
		return list, err
	}
	allowed := list[:0:0]
	for _, ver := range list {
		if ok, _ := v.set.decide(path, ver); ok {
			allowed = append(allowed, ver)
		}
	}
	return allowed, nil
}

func (v *view) Stat(ctx context.Context, path, rev string) (*modfetch.Info, error) {
	check := ""
	if modfetch.IsCanonical(rev) {
		check = rev // refused before any I/O
	}
	if err := v.refuse(path, check); err != nil {
		return nil, err
	}
	info, err := v.next.Stat(ctx, path, rev)
	if err != nil || info.Version == check {
		return info, err
	}
	if err := v.refuse(path, info.Version); err != nil {
		return nil, err
	}
	return info, nil
}

func (v *view) Latest(ctx context.Context, path string) (*modfetch.Info, error) {
	if err := v.refuse(path, ""); err != nil {
		return nil, err
	}
	info, err := v.next.Latest(ctx, path)
	if err != nil {
		return nil, err
	}
	denied := v.refuse(path, info.Version)
	if denied == nil {
		return info, nil
	}
	// The latest version is denied: the highest allowed one instead.
	list, err := v.next.List(ctx, path)
	if err != nil {
		return nil, err
	}
	best := highest(path, list, v.set)
	if best == "" {
		var de *DeniedError
		errors.As(denied, &de)
		// A refusal, not "not found": a GOPROXY list must not fall
		// through to a proxy that would serve the denied version.
		return nil, &module.ModuleError{Path: path,
			Err: fmt.Errorf("no allowed version: the latest, %s, is %w", info.Version, de)}
	}
	return v.Stat(ctx, path, best)
}

// highest returns the highest version in list that s allows: a release
// if there is one, or else a pre-release, or else a pseudo-version (as
// the go command prefers for "latest"); "" if s allows none.
func highest(path string, list []string, s *Set) string {
	var best [3]string // release, pre-release, pseudo-version
	for _, ver := range list {
		if !semver.IsValid(ver) {
			continue
		}
		if ok, _ := s.decide(path, ver); !ok {
			continue
		}
		i := 0
		switch {
		case module.IsPseudoVersion(ver):
			i = 2
		case semver.Prerelease(ver) != "":
			i = 1
		}
		if best[i] == "" || semver.Compare(ver, best[i]) > 0 {
			best[i] = ver
		}
	}
	for _, b := range best {
		if b != "" {
			return b
		}
	}
	return ""
}

func (v *view) GoMod(ctx context.Context, path, version string) ([]byte, error) {
	if err := v.refuse(path, version); err != nil {
		return nil, err
	}
	return v.next.GoMod(ctx, path, version)
}

func (v *view) Zip(ctx context.Context, path, version string) (io.ReadCloser, error) {
	if err := v.refuse(path, version); err != nil {
		return nil, err
	}
	return v.next.Zip(ctx, path, version)
}
