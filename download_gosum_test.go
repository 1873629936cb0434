package modfetch_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/modfetch/modfetch"
	"github.com/modfetch/modfetch/cache"
	"github.com/modfetch/modfetch/checksum"
	"github.com/modfetch/modfetch/internal/fixture"
)

// TestDownloadChecksGoSumOfCachedModule: a module already in the cache is
// checked against the go.sum of a later Download, like the go command
// checks go.sum on every use; a line that disagrees fails with the go
// command's SECURITY ERROR and nothing is extracted.
func TestDownloadChecksGoSumOfCachedModule(t *testing.T) {
	set := fixture.Standard()
	m := set.Module("example.com/hello", "v1.0.0")
	other := set.Module("example.com/hello", "v1.1.0")
	ctx := context.Background()
	for _, tt := range []struct {
		name    string
		gosum   string
		wantErr string // "" for success
	}{
		{"agrees", "example.com/hello v1.0.0 " + m.ZipSum() + "\nexample.com/hello v1.0.0/go.mod " + m.ModSum() + "\n", ""},
		{"no line", "example.com/other v1.0.0 " + m.ZipSum() + "\n", ""},
		{"zip", "example.com/hello v1.0.0 " + other.ZipSum() + "\n",
			"verifying example.com/hello@v1.0.0: checksum mismatch\n\tdownloaded: " + m.ZipSum() + "\n\tgo.sum:     " + other.ZipSum() + "\n\nSECURITY ERROR\n"},
		{"go.mod", "example.com/hello v1.0.0/go.mod " + other.ZipSum() + "\n",
			"verifying example.com/hello@v1.0.0/go.mod: checksum mismatch\n\tdownloaded: " + m.ModSum() + "\n\tgo.sum:     " + other.ZipSum() + "\n\nSECURITY ERROR\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			// A cache filled without a go.sum.
			c := &cache.Cache{Next: set, Store: &cache.MemStore{}}
			if _, err := modfetch.Download(ctx, c, m.Path, m.Version, nil); err != nil {
				t.Fatal(err)
			}
			gs, err := checksum.ParseGoSum("go.sum", []byte(tt.gosum))
			if err != nil {
				t.Fatal(err)
			}
			modcache := t.TempDir()
			t.Cleanup(func() { chmodAll(modcache) })
			d, err := modfetch.Download(ctx, c, m.Path, m.Version, &modfetch.DownloadOptions{ModCache: modcache, GoSum: gs})
			if tt.wantErr == "" {
				if err != nil || d.Sum != m.ZipSum() {
					t.Fatalf("Download = %+v, %v", d, err)
				}
				return
			}
			var mm *checksum.MismatchError
			if !errors.As(err, &mm) || !strings.HasPrefix(err.Error(), tt.wantErr) {
				t.Fatalf("Download: %v, want a *checksum.MismatchError %q...", err, tt.wantErr)
			}
			dir, _ := modfetch.ModCacheDir(modcache, m.Path, m.Version)
			if _, err := os.Stat(dir); err == nil {
				t.Errorf("extracted %s despite the mismatch", dir)
			}
		})
	}
}

// TestQuerierChecksGoSumOfCachedGoMod: a Querier with GoSum checks each
// go.mod file it reads against it, also one a cache filled earlier
// without it.
func TestQuerierChecksGoSumOfCachedGoMod(t *testing.T) {
	set := fixture.Queries()
	latest := set.Module("example.com/retract", "v1.2.0")
	other := set.Module("example.com/retract", "v1.1.0")
	ctx := context.Background()
	for _, tt := range []struct {
		name    string
		gosum   string
		wantErr string // "" for success
	}{
		{"agrees", "example.com/retract v1.2.0/go.mod " + latest.ModSum() + "\n", ""},
		{"no line", "", ""},
		{"go.mod", "example.com/retract v1.2.0/go.mod " + other.ZipSum() + "\n",
			"verifying example.com/retract@v1.2.0/go.mod: checksum mismatch\n\tdownloaded: " + latest.ModSum() + "\n\tgo.sum:     " + other.ZipSum() + "\n\nSECURITY ERROR\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := &cache.Cache{Next: set, Store: &cache.MemStore{}}
			// Filled without a go.sum: the latest go.mod is cached.
			if _, err := (&modfetch.Querier{Resolver: c}).Query(ctx, "example.com/retract", "latest", nil); err != nil {
				t.Fatal(err)
			}
			gs, err := checksum.ParseGoSum("go.sum", []byte(tt.gosum))
			if err != nil {
				t.Fatal(err)
			}
			q := &modfetch.Querier{Resolver: c, GoSum: gs}
			info, err := q.Query(ctx, "example.com/retract", "latest", nil)
			if tt.wantErr == "" {
				if err != nil || info.Version != "v1.0.0" {
					t.Fatalf("Query = %v, %v", info, err)
				}
				return
			}
			var mm *checksum.MismatchError
			if !errors.As(err, &mm) || !strings.HasPrefix(err.Error(), tt.wantErr) {
				t.Fatalf("Query: %v, want a *checksum.MismatchError %q...", err, tt.wantErr)
			}
		})
	}
}
