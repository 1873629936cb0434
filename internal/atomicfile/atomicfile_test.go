package atomicfile

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"testing/iotest"
)

// TestWriteSyncsBeforeRename checks that the temporary file is synced,
// complete, before it is closed and renamed into place, and that a sync
// failure aborts the write and leaves nothing behind.
func TestWriteSyncsBeforeRename(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "a", "v1.0.0.zip")
	data := bytes.Repeat([]byte("0123456789"), 100000)
	synced := 0
	sync := func(f *os.File) error {
		synced++
		fi, err := f.Stat()
		if err != nil {
			return err
		}
		if fi.Size() != int64(len(data)) {
			t.Errorf("sync of %d bytes, want %d", fi.Size(), len(data))
		}
		if _, err := os.Stat(name); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("target exists before sync: %v", err)
		}
		return f.Sync()
	}
	n, err := write(context.Background(), name, bytes.NewReader(data), 0o444, nil, sync)
	if err != nil || n != int64(len(data)) {
		t.Fatalf("write = %d, %v; want %d, nil", n, err, len(data))
	}
	if synced != 1 {
		t.Errorf("file synced %d times, want 1", synced)
	}
	got, err := os.ReadFile(name)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("content after write: %d bytes, %v; want %d bytes", len(got), err, len(data))
	}

	errSync := errors.New("sync failed")
	_, err = write(context.Background(), filepath.Join(dir, "b"), bytes.NewReader(data), 0, nil, func(*os.File) error { return errSync })
	if !errors.Is(err, errSync) {
		t.Errorf("write with failing sync: %v, want %v", err, errSync)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != "a" {
		t.Errorf("after failed sync, dir holds %v, want only a", entries)
	}
}

// TestWriteTempNames checks that Write's temporary files are recognized
// by IsTemp and that the go command's are not.
func TestWriteTempNames(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "v1.0.0.zip")
	var tmpName string
	check := func(tmp string) error {
		tmpName = tmp
		return nil
	}
	if _, err := Write(context.Background(), name, io.LimitReader(zeros{}, 10), 0, check); err != nil {
		t.Fatal(err)
	}
	if filepath.Dir(tmpName) != dir || !IsTemp(tmpName) {
		t.Errorf("temporary file %q: not beside the target or IsTemp false", tmpName)
	}
	for _, tc := range []struct {
		name string
		want bool
	}{
		{"v1.0.0.zip.123.modfetch.tmp", true},
		{"/x/list.0.modfetch.tmp", true},
		{"v1.0.0.zip123.tmp", false},                  // go command
		{"v1.0.0.zip.modfetch123.tmp", false},         // go command, for a "v1.0.0.zip.modfetch" file
		{"v1.0.0.zip.12a.modfetch.tmp", false},        // not digits
		{"v1.0.0.zip..modfetch.tmp", false},           // no digits
		{".123.modfetch.tmp", false},                  // no base
		{"v1.0.0.zip.123.modfetch.tmp.x", false},      // not a suffix
		{"v1.0.0.zip.123.modfetch.tmp123.tmp", false}, // the go command's, for one of ours
		{"v1.0.0.zip", false},
	} {
		if got := IsTemp(tc.name); got != tc.want {
			t.Errorf("IsTemp(%q) = %v, want %v", tc.name, got, tc.want)
		}
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// TestWriteNoSync checks that WriteNoSync writes the whole content with
// its mode and leaves no temporary file, and that a failing reader
// leaves the target missing.
func TestWriteNoSync(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "a", "v1.0.0.mod")
	data := bytes.Repeat([]byte("module x\n"), 1000)
	n, err := WriteNoSync(context.Background(), name, bytes.NewReader(data), 0o444, nil)
	if err != nil || n != int64(len(data)) {
		t.Fatalf("WriteNoSync = %d, %v; want %d, nil", n, err, len(data))
	}
	got, err := os.ReadFile(name)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("content: %d bytes, %v; want %d bytes", len(got), err, len(data))
	}
	if fi, err := os.Stat(name); err != nil || fi.Mode().Perm() != 0o444 {
		t.Errorf("mode: %v, %v; want 0444", fi.Mode(), err)
	}
	boom := errors.New("boom")
	other := filepath.Join(dir, "a", "v1.1.0.mod")
	if _, err := WriteNoSync(context.Background(), other, io.MultiReader(bytes.NewReader(data), iotest.ErrReader(boom)), 0, nil); !errors.Is(err, boom) {
		t.Errorf("WriteNoSync of a failing reader: %v, want %v", err, boom)
	}
	entries, err := os.ReadDir(filepath.Dir(name))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != "v1.0.0.mod" {
		t.Errorf("directory holds %v, want only v1.0.0.mod", entries)
	}
}
