package cache_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/modfetch/modfetch/cache"
)

// writeAged writes a file under dir with the given content and sets its
// modification time to age ago.
func writeAged(t *testing.T, dir, rel string, age time.Duration) string {
	t.Helper()
	name := filepath.Join(dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(name), 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, []byte("partial "+rel), 0o666); err != nil {
		t.Fatal(err)
	}
	mt := time.Now().Add(-age)
	if err := os.Chtimes(name, mt, mt); err != nil {
		t.Fatal(err)
	}
	return name
}

func checkExists(t *testing.T, dir string, rel []string, want bool) {
	t.Helper()
	for _, r := range rel {
		_, err := os.Stat(filepath.Join(dir, filepath.FromSlash(r)))
		if want && err != nil {
			t.Errorf("%s: %v, want it kept", r, err)
		}
		if !want && !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s: stat error %v, want it removed", r, err)
		}
	}
}

// TestDirStoreClean checks that Clean removes exactly DirStore's own
// temporary files older than the given age, anywhere in the tree, and
// leaves young ones, the go command's and final files alone.
func TestDirStoreClean(t *testing.T) {
	ctx := t.Context()
	s := &cache.DirStore{Dir: t.TempDir()}
	finals := []string{
		"example.com/m/@v/v1.0.0.zip",
		"example.com/m/@v/v1.0.0.mod",
		"example.com/m/@v/list",
		"sumdb/sum.golang.org/tile/8/0/001",
	}
	for _, k := range finals {
		mustStorePut(t, s, k, []byte("value of "+k))
		name := filepath.Join(s.Dir, filepath.FromSlash(k))
		old := time.Now().Add(-30 * 24 * time.Hour)
		if err := os.Chtimes(name, old, old); err != nil {
			t.Fatal(err)
		}
	}
	const hour = time.Hour
	stale := []string{
		"example.com/m/@v/v1.0.0.zip.123456.modfetch.tmp",
		"example.com/m/@v/v1.1.0.mod.7.modfetch.tmp",
		"example.com/m/@v/list.99.modfetch.tmp",
		"sumdb/sum.golang.org/tile/8/0/001.42.modfetch.tmp",
	}
	fresh := []string{
		"example.com/m/@v/v1.2.0.zip.5.modfetch.tmp",
		"example.com/n/@v/v1.0.0.info.6.modfetch.tmp",
	}
	foreign := []string{
		"example.com/m/@v/v1.3.0.zip123456.tmp", // the go command's
		"example.com/m/@v/v1.3.0.mod987.tmp",    // the go command's
		"example.com/m/@v/notes.tmp",
		"example.com/m/@v/v1.3.0.zip.x.modfetch.tmp",
	}
	for _, r := range stale {
		writeAged(t, s.Dir, r, 3*hour)
	}
	for _, r := range fresh {
		writeAged(t, s.Dir, r, 30*time.Minute)
	}
	for _, r := range foreign {
		writeAged(t, s.Dir, r, 30*24*hour)
	}

	removed, err := s.Clean(ctx, 2*hour)
	if err != nil || removed != len(stale) {
		t.Fatalf("Clean = %d, %v; want %d, nil", removed, err, len(stale))
	}
	checkExists(t, s.Dir, stale, false)
	checkExists(t, s.Dir, fresh, true)
	checkExists(t, s.Dir, foreign, true)
	for _, k := range finals {
		if got := mustStoreGet(t, s, k); !bytes.Equal(got, []byte("value of "+k)) {
			t.Errorf("%s after Clean: %q", k, got)
		}
	}

	// Zero means DefaultTempMaxAge: the 30-minute-old files stay.
	if removed, err := s.Clean(ctx, 0); err != nil || removed != 0 {
		t.Errorf("Clean(0) = %d, %v; want 0, nil", removed, err)
	}
	checkExists(t, s.Dir, fresh, true)

	canceled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.Clean(canceled, time.Minute); !errors.Is(err, context.Canceled) {
		t.Errorf("Clean with canceled ctx: %v, want context.Canceled", err)
	}
	checkExists(t, s.Dir, fresh, true)

	missing := &cache.DirStore{Dir: filepath.Join(s.Dir, "missing")}
	if removed, err := missing.Clean(ctx, time.Minute); err != nil || removed != 0 {
		t.Errorf("Clean of missing Dir = %d, %v; want 0, nil", removed, err)
	}
	if _, err := (&cache.DirStore{}).Clean(ctx, time.Minute); err == nil {
		t.Error("Clean with empty Dir succeeded")
	}
}

// TestDirStorePutRemovesStaleTemps checks that Put removes DirStore's own
// temporary files older than TempMaxAge from the directory it writes to,
// and no others.
func TestDirStorePutRemovesStaleTemps(t *testing.T) {
	s := &cache.DirStore{Dir: t.TempDir(), TempMaxAge: time.Hour}
	stale := []string{
		"example.com/m/@v/v1.0.0.mod.1.modfetch.tmp",
		"example.com/m/@v/v0.9.0.info.22.modfetch.tmp",
	}
	kept := []string{
		"example.com/m/@v/v1.1.0.mod.3.modfetch.tmp", // young
		"example.com/m/@v/v1.1.0.info4.tmp",          // the go command's
		"example.com/n/@v/v1.0.0.mod.5.modfetch.tmp", // another directory
	}
	for _, r := range stale {
		writeAged(t, s.Dir, r, 2*time.Hour)
	}
	writeAged(t, s.Dir, kept[0], 10*time.Minute)
	writeAged(t, s.Dir, kept[1], 48*time.Hour)
	writeAged(t, s.Dir, kept[2], 48*time.Hour)

	mustStorePut(t, s, "example.com/m/@v/v1.0.0.mod", []byte("module example.com/m\n"))
	checkExists(t, s.Dir, stale, false)
	checkExists(t, s.Dir, kept, true)
	if got := mustStoreGet(t, s, "example.com/m/@v/v1.0.0.mod"); string(got) != "module example.com/m\n" {
		t.Errorf("value = %q", got)
	}

	// A negative TempMaxAge turns the sweep off.
	off := &cache.DirStore{Dir: s.Dir, TempMaxAge: -1}
	writeAged(t, s.Dir, stale[0], 48*time.Hour)
	mustStorePut(t, off, "example.com/m/@v/v1.2.0.mod", []byte("module example.com/m\n"))
	checkExists(t, s.Dir, stale[:1], true)
}

// TestDirStorePutZipRemovesOldZipTemps checks that a ".zip" Put, holding
// the version lock, removes what earlier writes of that zip left (of any
// age, named like ours or like the go command's), as the go command does,
// and nothing of other versions.
func TestDirStorePutZipRemovesOldZipTemps(t *testing.T) {
	s := &cache.DirStore{Dir: t.TempDir()}
	gone := []string{
		"example.com/m/@v/v1.0.0.zip123456789.tmp",
		"example.com/m/@v/v1.0.0.zip.5.modfetch.tmp",
		"example.com/m/@v/v1.0.0.ziphash77.tmp",
	}
	kept := []string{
		"example.com/m/@v/v1.0.1.zip123456789.tmp",
		"example.com/m/@v/v1.0.0.mod123.tmp",
	}
	for _, r := range append(gone, kept...) {
		writeAged(t, s.Dir, r, time.Minute)
	}
	mustStorePut(t, s, "example.com/m/@v/v1.0.0.zip", []byte("zip"))
	checkExists(t, s.Dir, gone, false)
	checkExists(t, s.Dir, kept, true)
}
