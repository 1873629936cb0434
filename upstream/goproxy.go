package upstream

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	pathpkg "path"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/mod/module"

	"github.com/modfetch/modfetch"
)

// An Element is one entry of a parsed GOPROXY list.
type Element struct {
	// URL is a proxy base URL (https://, http:// or file://), or one of
	// the words "direct" and "off".
	URL string

	// FallBackOnError is true when the element was followed by "|".
	FallBackOnError bool
}

// Parse parses a GOPROXY value exactly as the go command does
// (cmd/go/internal/modfetch: proxyList):
//
//   - elements are separated by "," (fall through on not-found errors only)
//     or "|" (fall through on any error); the separator after an element
//     sets its FallBackOnError;
//   - elements are trimmed of spaces and empty ones are skipped;
//   - "off" and "direct" end the list: anything after them is ignored;
//   - an element holding any of ".:/" but no ":/", and not an absolute file
//     path, is an https URL ("proxy.golang.org" means
//     "https://proxy.golang.org");
//   - other elements must be http, https or file URLs, with the go command's
//     error texts ("invalid proxy URL missing scheme: ...", "invalid proxy URL
//     scheme (must be https, http, file): ...", "invalid file:// proxy URL
//     with non-path elements: ...");
//   - a list with no elements is [ErrNoEntries].
func Parse(goproxy string) ([]Element, error) {
	var list []Element
	for goproxy != "" {
		var elem string
		fallBack := false
		if i := strings.IndexAny(goproxy, ",|"); i >= 0 {
			elem, fallBack, goproxy = goproxy[:i], goproxy[i] == '|', goproxy[i+1:]
		} else {
			elem, goproxy = goproxy, ""
		}
		elem = strings.TrimSpace(elem)
		if elem == "" {
			continue
		}
		if elem == "off" || elem == "direct" {
			list = append(list, Element{URL: elem})
			break
		}
		if strings.ContainsAny(elem, ".:/") && !strings.Contains(elem, ":/") && !filepath.IsAbs(elem) && !pathpkg.IsAbs(elem) {
			elem = "https://" + elem
		}
		if _, err := parseProxyURL(elem); err != nil {
			return nil, err
		}
		list = append(list, Element{URL: elem, FallBackOnError: fallBack})
	}
	if len(list) == 0 {
		return nil, ErrNoEntries
	}
	return list, nil
}

// Config holds what turns a GOPROXY list into a [Chain]. The zero value
// builds chains of plain proxies with no direct access.
type Config struct {
	// NoProxy is the GONOPROXY value (by default the GOPRIVATE value):
	// module paths it matches are answered by Direct only.
	NoProxy string

	// Direct fetches modules from their origin, for "direct" elements and
	// NoProxy matches. Nil means direct access is not configured: such
	// requests fail with ErrDirectNotConfigured.
	Direct modfetch.Resolver

	// Client, the time budgets and Logger configure every [Proxy].
	Client                                        *http.Client
	ConnectTimeout, FirstByteTimeout, IdleTimeout time.Duration
	Logger                                        *slog.Logger

	// Retry bounds the retries of a proxy's failed requests. A proxy
	// followed by "|" is asked once per request, whatever Retry says: the
	// next entry is its retry, and a failing first mirror must not delay
	// every request before the walk moves on.
	Retry modfetch.Retry

	// Breaker, if set, gives every proxy of the chain a circuit breaker
	// (see [Health]): a proxy that keeps failing is skipped for a
	// cooldown, then probed in the background (a GET of its base URL)
	// until it answers. Each proxy has a Health record either way
	// ([Chain.Health]).
	Breaker *Breaker

	// OnHealthChange, if set, is called when a proxy's breaker changes
	// state (see Health.OnChange).
	OnHealthChange func(name string, from, to HealthState, err error)

	// Hedge is the chains' Chain.Hedge: zero for none, a delay, or
	// HedgeAuto.
	Hedge time.Duration

	// Hooks, if set, are given to each Proxy (see Proxy.Hooks).
	Hooks *modfetch.Hooks
}

// Chain builds the Chain for a parsed GOPROXY list.
func (c *Config) Chain(list []Element) *Chain {
	ch := &Chain{NoProxy: c.NoProxy, Direct: directOrMissing(c.Direct), Hedge: c.Hedge}
	for _, e := range list {
		var ent Entry
		switch e.URL {
		case "off":
			ent = Entry{Resolver: Off{}}
		case "direct":
			ent = Entry{Resolver: ch.Direct, Direct: true}
		default:
			retry := c.Retry
			if e.FallBackOnError {
				retry.Attempts = 1
			}
			name := e.URL
			if u, err := parseProxyURL(e.URL); err == nil {
				name = u.Redacted()
			}
			h := &Health{Name: name, Breaker: c.Breaker, OnChange: c.OnHealthChange}
			p := &Proxy{
				URL:              e.URL,
				Client:           c.Client,
				Retry:            retry,
				ConnectTimeout:   c.ConnectTimeout,
				FirstByteTimeout: c.FirstByteTimeout,
				IdleTimeout:      c.IdleTimeout,
				Health:           h,
				Hooks:            c.Hooks,
				Logger:           c.Logger,
			}
			h.Probe = p.probe
			ent = Entry{Resolver: p, FallBackOnError: e.FallBackOnError, Health: h}
		}
		ch.Entries = append(ch.Entries, ent)
	}
	return ch
}

// Parse parses goproxy (see the package-level [Parse]) and builds its Chain.
func (c *Config) Parse(goproxy string) (*Chain, error) {
	list, err := Parse(goproxy)
	if err != nil {
		return nil, err
	}
	return c.Chain(list), nil
}

// ErrProxyOff is the error of [Off]: "module lookup disabled by
// GOPROXY=off". It counts as not found, so a chain moves past it.
var ErrProxyOff = modfetch.NotExist(errors.New("module lookup disabled by GOPROXY=off"))

// Off is the Resolver of GOPROXY=off: it answers nothing, failing every
// request with Err (nil means [ErrProxyOff]) in the module's context, or,
// for an invalid module path, with the path's error. A Chain without
// direct access answers GONOPROXY modules with Off{Err:
// ErrDirectNotConfigured}.
type Off struct {
	Err error
}

func (o Off) fail(path, version string) error {
	err := o.Err
	if err == nil {
		err = ErrProxyOff
	}
	if perr := module.CheckPath(path); perr != nil {
		err = perr
	}
	return &module.ModuleError{Path: path, Version: version, Err: err}
}

func (o Off) List(ctx context.Context, path string) ([]string, error) {
	return nil, o.fail(path, "")
}

func (o Off) Stat(ctx context.Context, path, rev string) (*modfetch.Info, error) {
	return nil, o.fail(path, rev)
}

func (o Off) Latest(ctx context.Context, path string) (*modfetch.Info, error) {
	return nil, o.fail(path, "")
}

func (o Off) GoMod(ctx context.Context, path, version string) ([]byte, error) {
	return nil, o.fail(path, version)
}

func (o Off) Zip(ctx context.Context, path, version string) (io.ReadCloser, error) {
	return nil, o.fail(path, version)
}

// ErrDirectNotConfigured is the error for a request that needs direct
// access to a module's origin — GOPROXY "direct", or a module matching
// GONOPROXY or GOPRIVATE — when no direct Resolver is configured. It
// counts as not found: this configuration cannot supply the module, so a
// server answers 404 for it and clients' GOPROXY chains fall through.
var ErrDirectNotConfigured = modfetch.NotExist(errors.New("direct fetching is not configured (needed for GOPROXY=direct and for GONOPROXY/GOPRIVATE modules)"))

func directOrMissing(r modfetch.Resolver) modfetch.Resolver {
	if r == nil {
		return Off{Err: ErrDirectNotConfigured}
	}
	return r
}
