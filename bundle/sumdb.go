package bundle

import (
	"bytes"
	"fmt"
	"io/fs"
	"sync"

	"golang.org/x/mod/sumdb"

	"github.com/modfetch/modfetch/checksum"
)

// sumOps is a golang.org/x/mod/sumdb.ClientOps that runs x/mod's client,
// the go command's own, over data at hand instead of a database: remote
// reads go to read, the cache is always empty (so every answer is
// authenticated again), and the latest signed tree head starts as latest
// and is kept in memory. It records the paths read, in order of first
// read.
type sumOps struct {
	key  string
	name string
	read func(path string) ([]byte, error)

	mu     sync.Mutex
	latest []byte
	secMsg string
	seen   map[string]bool
	reads  []string
}

func newClient(key, name string, latest []byte, read func(string) ([]byte, error)) (*sumdb.Client, *sumOps) {
	ops := &sumOps{key: key, name: name, latest: latest, read: read, seen: make(map[string]bool)}
	return sumdb.NewClient(ops), ops
}

func (o *sumOps) ReadRemote(path string) ([]byte, error) {
	data, err := o.read(path)
	if err != nil {
		return nil, err
	}
	o.mu.Lock()
	if !o.seen[path] {
		o.seen[path] = true
		o.reads = append(o.reads, path)
	}
	o.mu.Unlock()
	return data, nil
}

// paths returns the remote paths read so far.
func (o *sumOps) paths() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]string(nil), o.reads...)
}

func (o *sumOps) ReadConfig(file string) ([]byte, error) {
	if file == "key" {
		return []byte(o.key), nil
	}
	if file != o.name+"/latest" {
		return nil, fmt.Errorf("unexpected config file %q", file)
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]byte(nil), o.latest...), nil
}

func (o *sumOps) WriteConfig(file string, old, new []byte) error {
	if file != o.name+"/latest" {
		return fmt.Errorf("unexpected config file %q", file)
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if !bytes.Equal(o.latest, old) {
		return sumdb.ErrWriteConflict
	}
	o.latest = append([]byte(nil), new...)
	return nil
}

func (o *sumOps) ReadCache(file string) ([]byte, error) {
	return nil, fs.ErrNotExist
}

func (o *sumOps) WriteCache(file string, data []byte) {}

func (o *sumOps) Log(msg string) {}

func (o *sumOps) SecurityError(msg string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.secMsg == "" {
		o.secMsg = msg
	}
}

// securityError returns the misbehavior report as a
// *checksum.SecurityError (errors.Is(err, checksum.ErrSecurity)), or nil.
func (o *sumOps) securityError() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.secMsg == "" {
		return nil
	}
	return &checksum.SecurityError{DB: o.name, Msg: o.secMsg}
}
