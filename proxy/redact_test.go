package proxy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/mod/module"

	"github.com/modfetch/modfetch"
	"github.com/modfetch/modfetch/checksum"
	"github.com/modfetch/modfetch/internal/vcs"
)

// failingZip serves a zip whose first read fails with err.
type failingZip struct {
	failing
	err error
}

func (f failingZip) Zip(context.Context, string, string) (io.ReadCloser, error) {
	return io.NopCloser(errReader{f.err}), nil
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

// TestErrorBodiesRedacted: what a client reads of a failure is the short
// reason, without the upstream's URL, host names, addresses or the
// server's file paths; the log has them.
func TestErrorBodiesRedacted(t *testing.T) {
	const (
		host    = "internal-mirror.corp"
		base    = "http://" + host + ":8080/artifactory/go"
		tmp     = "/tmp/modfetch-spool123"
		modPath = "example.com/m"
	)
	connRefused := &url.Error{Op: "Get", URL: base + "/example.com/m/@v/list", Err: &net.OpError{
		Op: "dial", Net: "tcp",
		Addr: &net.TCPAddr{IP: net.IPv4(10, 1, 2, 3), Port: 8080},
		Err:  &os.SyscallError{Syscall: "connect", Err: syscall.ECONNREFUSED},
	}}
	noHost := &url.Error{Op: "Get", URL: base + "/example.com/m/@v/list", Err: &net.OpError{
		Op: "dial", Net: "tcp",
		Err: &net.DNSError{Err: "no such host", Name: host, Server: "10.9.9.9:53", IsNotFound: true},
	}}
	badGateway := &modfetch.HTTPError{
		URL:        base + "/example.com/m/@v/v1.0.0.info?token=s3cret",
		Status:     "502 Bad Gateway",
		StatusCode: 502,
		Detail:     "upstream connect error",
	}
	gone := &modfetch.HTTPError{
		URL:        base + "/example.com/m/@v/v1.0.0.info",
		Status:     "410 Gone",
		StatusCode: 410,
		Detail:     "not found: example.com/m@v1.0.0: invalid version: unknown revision v1.0.0",
	}
	mismatch := &checksum.MismatchError{Path: modPath, Version: "v1.0.0", Got: "h1:AAAA", Want: "h1:BBBB", Source: "sum.golang.org", DB: true}

	for _, tt := range []struct {
		name   string
		err    error
		zip    bool     // fail while reading the zip, not when asked for it
		status int      // as the handler answers: 404 for fs.ErrNotExist, else 502
		want   []string // what the body must still say
		leaks  []string // what it must not (besides host and tmp)
		logged []string // what the log must say (besides the error's text)
	}{
		{
			name:   "internal URL in text",
			err:    fmt.Errorf("%s@v1.0.0: reading %s/example.com/m/@v/v1.0.0.info: unexpected EOF", modPath, base),
			status: 502,
			want:   []string{"example.com/m@v1.0.0: reading upstream: unexpected EOF"},
			leaks:  []string{"artifactory", ":8080"},
		},
		{
			name:   "url.Error connection refused",
			err:    fmt.Errorf("%s: listing versions: %w", modPath, connRefused),
			status: 502,
			want:   []string{"example.com/m: listing versions: Get upstream: dial tcp: connect: connection refused"},
			leaks:  []string{"10.1.2.3", "artifactory"},
		},
		{
			name:   "url.Error DNS",
			err:    noHost,
			status: 502,
			want:   []string{"no such host"},
			leaks:  []string{"10.9.9.9"},
		},
		{
			name:   "fs.PathError temp path",
			err:    fmt.Errorf("%s@v1.0.0: spooling zip: %w", modPath, &fs.PathError{Op: "write", Path: tmp + "/v1.0.0.zip", Err: syscall.ENOSPC}),
			status: 502,
			want:   []string{"example.com/m@v1.0.0: spooling zip: write: no space left on device"},
			leaks:  []string{"spool123", ".zip"},
		},
		{
			name:   "fs.PathError temp path while streaming the zip",
			err:    &fs.PathError{Op: "read", Path: tmp + "/v1.0.0.zip", Err: syscall.EIO},
			zip:    true,
			status: 502,
			want:   []string{"read: input/output error"},
			leaks:  []string{"spool123"},
		},
		{
			name:   "fs.PathError not found",
			err:    &fs.PathError{Op: "open", Path: tmp + "/v1.0.0.mod", Err: fs.ErrNotExist},
			status: 404,
			want:   []string{"not found: open: file does not exist"},
		},
		{
			name:   "os.LinkError",
			err:    fmt.Errorf("committing zip: %w", &os.LinkError{Op: "rename", Old: tmp + "/x", New: "/var/cache/modfetch/example.com/m/@v/v1.0.0.zip", Err: syscall.EXDEV}),
			status: 502,
			want:   []string{"committing zip: rename: invalid cross-device link"},
			leaks:  []string{"/var/cache"},
		},
		{
			name:   "wrapped HTTPError with Detail",
			err:    &module.ModuleError{Path: modPath, Version: "v1.0.0", Err: fmt.Errorf("fetching: %w", badGateway)},
			status: 502,
			want:   []string{"example.com/m@v1.0.0: fetching: reading upstream: 502 Bad Gateway\n\tserver response: upstream connect error"},
			leaks:  []string{"s3cret", "token"},
		},
		{
			name:   "HTTPError not found",
			err:    &module.ModuleError{Path: modPath, Version: "v1.0.0", Err: gone},
			status: 404,
			want:   []string{"not found: example.com/m@v1.0.0: reading upstream: 410 Gone\n\tserver response: not found: example.com/m@v1.0.0: invalid version: unknown revision v1.0.0"},
		},
		{
			name:   "HTTPError of an unreadable file URL",
			err:    &modfetch.HTTPError{URL: "file://" + tmp + "/example.com/m/@v/list", Status: "403 Forbidden", StatusCode: 403, Err: &fs.PathError{Op: "open", Path: tmp + "/example.com/m/@v/list", Err: fs.ErrPermission}},
			status: 502,
			want:   []string{"reading upstream: permission denied"},
		},
		{
			name:   "invalid version",
			err:    &module.ModuleError{Path: modPath, Err: &module.InvalidVersionError{Version: "v1.0.0", Err: fmt.Errorf("fetching %s/example.com/m/@v/v1.0.0.info: %w", base, badGateway)}},
			status: 502,
			want:   []string{"example.com/m@v1.0.0: invalid version: fetching upstream: reading upstream: 502 Bad Gateway"},
		},
		{
			name:   "checksum mismatch",
			err:    fmt.Errorf("downloading from %s: %w", base, mismatch),
			status: 502,
			want:   []string{"example.com/m@v1.0.0: verifying module: checksum mismatch\n\tdownloaded: h1:AAAA\n\tsum.golang.org: h1:BBBB", "SECURITY ERROR"},
		},
		{
			name: "VCS command",
			err: &vcs.RunError{
				Cmd:    "git ls-remote -q origin in " + tmp + "/vcs/0123abcd",
				Err:    errors.New("exit status 128"),
				Stderr: []byte("fatal: unable to access 'https://" + host + "/corp/m.git/': Could not resolve host: " + host + "\n"),
			},
			status: 502,
			want:   []string{"git ls-remote -q origin: exit status 128:\n\tfatal: unable to access 'upstream': Could not resolve host: upstream"},
			leaks:  []string{"0123abcd"},
		},
		{
			name:   "joined errors",
			err:    errors.Join(connRefused, fmt.Errorf("direct: %w", &fs.PathError{Op: "mkdir", Path: tmp + "/vcs", Err: syscall.EACCES})),
			status: 502,
			want:   []string{"Get upstream: dial tcp: connect: connection refused\ndirect: mkdir: permission denied"},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			var r modfetch.Resolver = failing{tt.err}
			targets := []string{"/example.com/m/@v/list", "/example.com/m/@v/v1.0.0.info", "/example.com/m/@v/v1.0.0.mod", "/example.com/m/@v/v1.0.0.zip", "/example.com/m/@latest"}
			if tt.zip {
				r = failingZip{err: tt.err}
				targets = []string{"/example.com/m/@v/v1.0.0.zip"}
			}
			h := &Handler{Resolver: r, Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
			for _, target := range targets {
				logs.Reset()
				resp := do(t, h, "GET", target, nil)
				b := body(t, resp)
				if resp.StatusCode != tt.status {
					t.Fatalf("%s: status = %d, want %d: %q", target, resp.StatusCode, tt.status, b)
				}
				for _, leak := range append([]string{host, "internal-mirror", tmp, "/tmp"}, tt.leaks...) {
					if strings.Contains(b, leak) {
						t.Errorf("%s: body has %q: %q", target, leak, b)
					}
				}
				for _, want := range tt.want {
					if !strings.Contains(b, want) {
						t.Errorf("%s: body = %q, want it to say %q", target, b, want)
					}
				}
				// The log has the full error (without credentials).
				log := logs.String()
				if !strings.Contains(log, "path="+target) {
					t.Errorf("%s: request not logged: %q", target, log)
				}
				var full bytes.Buffer
				fmt.Fprintf(&full, "%q", stripSecrets(tt.err.Error()))
				if detail := strings.Trim(full.String(), `"`); !strings.Contains(log, detail) {
					t.Errorf("%s: log = %q, want the error's detail %q", target, log, detail)
				}
				if strings.Contains(log, "s3cret") {
					t.Errorf("%s: log has a credential: %q", target, log)
				}
			}
		})
	}
}

// TestSafeTextKeepsGoCommandTexts: the texts the go command shows its
// user, which hold no URL or path, pass unchanged.
func TestSafeTextKeepsGoCommandTexts(t *testing.T) {
	for _, err := range []error{
		&module.ModuleError{Path: "example.com/m", Err: &module.InvalidVersionError{Version: "v0.0.0-20200101000000-abcdefabcdef", Pseudo: true, Err: errors.New("does not match version-control timestamp (expected 20200102000000)")}},
		&module.ModuleError{Path: "example.com/m", Version: "feature/x", Err: errors.New("invalid version: unknown revision feature/x")},
		&checksum.MismatchError{Path: "example.com/m", Version: "v1.0.0", GoMod: true, Got: "h1:/AAAA=", Want: "h1:+BBB/=", Source: "go.sum"},
		&checksum.SecurityError{DB: "sum.golang.org", Msg: "SECURITY ERROR\ngo.sum database server misbehavior detected!\n\nold database:\n\tgo.sum database tree\n\t5\n\t/abc=\n"},
		modfetch.NotExist(errors.New("module lookup disabled by GOPROXY=off")),
		modfetch.ErrZipTooLarge,
		fmt.Errorf("example.com/m@v1.0.0: %w", context.DeadlineExceeded),
		errors.New("example.com/m@v1.0.0: go.mod has non-.../v2 module path \"example.com/m\" (and .../v2/go.mod does not exist) at revision v2.0.0"),
	} {
		if got := safeText(err, 0); got != err.Error() {
			t.Errorf("safeText(%q) = %q", err, got)
		}
	}
}

// TestClientTextHosts: host names left in free text are replaced where
// they stand as names, not inside longer words, and the host of the
// requested module path, which the client named, is kept.
func TestClientTextHosts(t *testing.T) {
	for _, tt := range []struct {
		err       error
		req, want string
	}{
		{
			errors.New("reading http://mod:8080/x: bad go.mod from mod.example: mod down. mod"),
			"/example.com/m/@v/list",
			"reading upstream: bad go.mod from mod.example: upstream down. upstream",
		},
		{
			&url.Error{Op: "Get", URL: "https://example.com/m?go-get=1", Err: errors.New("example.com refused: 10.0.0.1:443")},
			"/example.com/m/@v/list",
			"Get upstream: example.com refused: 10.0.0.1:443",
		},
		{
			&url.Error{Op: "Get", URL: "https://git.corp.example/m?go-get=1", Err: errors.New("git.corp.example refused")},
			"/example.com/m/@v/list",
			"Get upstream: upstream refused",
		},
	} {
		if got := clientText(tt.err, tt.req); got != tt.want {
			t.Errorf("clientText(%q, %q) = %q, want %q", tt.err, tt.req, got, tt.want)
		}
	}
}
