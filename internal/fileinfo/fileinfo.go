// Package fileinfo makes the fs.FileInfo of a value that is not a file
// (a value held in memory, a file of a zip being built, a test fixture),
// and in-memory files for x/mod's zip.Create.
package fileinfo

import (
	"io"
	"io/fs"
	"path"
	"strings"
	"time"
)

// New returns the fs.FileInfo of a regular file with these properties.
func New(name string, size int64, mode fs.FileMode, modTime time.Time) fs.FileInfo {
	return info{name, size, mode, modTime}
}

type info struct {
	name    string
	size    int64
	mode    fs.FileMode
	modTime time.Time
}

func (fi info) Name() string       { return fi.name }
func (fi info) Size() int64        { return fi.size }
func (fi info) Mode() fs.FileMode  { return fi.mode }
func (fi info) ModTime() time.Time { return fi.modTime }
func (fi info) IsDir() bool        { return false }
func (fi info) Sys() any           { return nil }
func (fi info) String() string     { return fs.FormatFileInfo(fi) }

// A ZipFile is a file held in memory, as x/mod's zip.Create takes files:
// a regular file (mode 0644) of content Data, named Name in the zip.
type ZipFile struct {
	Name string // slash-separated path in the module
	Data string
}

func (f ZipFile) Path() string { return f.Name }

func (f ZipFile) Lstat() (fs.FileInfo, error) {
	return New(path.Base(f.Name), int64(len(f.Data)), 0o644, time.Time{}), nil
}

func (f ZipFile) Open() (io.ReadCloser, error) {
	return io.NopCloser(strings.NewReader(f.Data)), nil
}
