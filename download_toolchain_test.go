package modfetch_test

import (
	"context"
	"errors"
	"testing"

	"github.com/modfetch/modfetch"
	"github.com/modfetch/modfetch/internal/fixture"
)

// TestDownloadToolchain: with DownloadOptions.Toolchain, a module whose
// go.mod needs a newer go fails with the go command's TooNewError text,
// and the download is reported without its directory; without it, or
// for a module that fits, nothing changes.
func TestDownloadToolchain(t *testing.T) {
	set := fixture.Standard()
	set.Add("example.com/gov", "v1.0.0", map[string]string{"go.mod": "module example.com/gov\n\ngo 1.22\n"}, fixture.Day(1))
	set.Add("example.com/gov", "v1.1.0", map[string]string{"go.mod": "module example.com/gov\n\ngo 1.30rc1\n"}, fixture.Day(2))
	set.Add("example.com/gov", "v1.2.0", map[string]string{"x.go": "package gov"}, fixture.Day(3)) // no go.mod
	local := &modfetch.Toolchain{GoVersion: "1.30.0", GOTOOLCHAIN: "local"}
	for _, tt := range []struct {
		version string
		tc      *modfetch.Toolchain
		wantErr string
	}{
		{"v1.0.0", local, ""},
		{"v1.1.0", local, ""}, // 1.30rc1 < 1.30.0
		{"v1.1.0", &modfetch.Toolchain{GoVersion: "1.29.5", GOTOOLCHAIN: "local"}, "example.com/gov@v1.1.0 requires go >= 1.30rc1 (running go 1.29.5; GOTOOLCHAIN=local)"},
		{"v1.0.0", &modfetch.Toolchain{GoVersion: "1.21.0"}, "example.com/gov@v1.0.0 requires go >= 1.22 (running go 1.21.0)"},
		{"v1.1.0", nil, ""},
		{"v1.2.0", &modfetch.Toolchain{GoVersion: "1.1"}, ""},
	} {
		modcache := t.TempDir()
		t.Cleanup(func() { chmodAll(modcache) })
		d, err := modfetch.Download(context.Background(), set, "example.com/gov", tt.version, &modfetch.DownloadOptions{ModCache: modcache, Toolchain: tt.tc})
		if tt.wantErr == "" {
			if err != nil || d.Dir == "" {
				t.Errorf("%s with %+v: %+v, %v", tt.version, tt.tc, d, err)
			}
			continue
		}
		var tn *modfetch.TooNewError
		if !errors.As(err, &tn) || !errors.Is(err, modfetch.ErrTooNew) || err.Error() != tt.wantErr {
			t.Errorf("%s with %+v: err = %v, want %q", tt.version, tt.tc, err, tt.wantErr)
			continue
		}
		if d == nil || d.Dir != "" || d.Sum == "" || d.GoModSum == "" {
			t.Errorf("%s with %+v: Downloaded = %+v, want everything but Dir", tt.version, tt.tc, d)
		}
	}
}
