// Package spool holds a stream in a temporary file that one writer fills
// while any number of readers follow it. Readers see the bytes as they
// arrive except for a held-back tail, which is released only when the
// writer finishes successfully: a reader can never read the whole stream
// before the writer has accepted it. If the writer fails, readers get its
// error instead of the tail.
package spool

import (
	"errors"
	"io"
	"os"
	"runtime"
	"sync"
)

// A Spool is a growing temporary file. Create one with New.
type Spool struct {
	f    *os.File
	name string // set when the file must be removed on close (Windows)
	hold int64

	mu      sync.Mutex
	cond    sync.Cond
	size    int64 // bytes written
	end     bool  // the writer finished
	err     error // the writer's failure, if any
	refs    int   // the writer and open readers
	readers int   // open readers
	opened  bool  // a reader was ever opened
	blocked int   // Reads waiting for the writer

	onOrphan func() // see OnOrphaned
}

// ErrOrphaned is returned by Write once every reader is closed: nobody
// wants the rest of the stream.
var ErrOrphaned = errors.New("spool: every reader is gone")

// New creates a spool in dir (os.TempDir() if empty) whose readers stay
// hold bytes behind the writer until it finishes. The caller is the
// writer: it must call Finish.
func New(dir string, hold int64) (*Spool, error) {
	f, err := os.CreateTemp(dir, "modfetch-spool-*")
	if err != nil {
		return nil, err
	}
	s := &Spool{f: f, hold: hold, refs: 1}
	s.cond.L = &s.mu
	if runtime.GOOS == "windows" {
		s.name = f.Name()
	} else {
		os.Remove(f.Name()) // unlinked: nothing is left behind, even after a crash
	}
	return s, nil
}

// OnOrphaned sets f to be called, once, when the last open reader is
// closed before the writer has finished: nobody wants the rest of the
// stream, so the writer can stop waiting for its source (cancel its
// download). Call it before opening readers.
func (s *Spool) OnOrphaned(f func()) {
	s.mu.Lock()
	s.onOrphan = f
	s.mu.Unlock()
}

// orphaned reports whether readers were opened and all of them are
// closed. s.mu is held.
func (s *Spool) orphaned() bool { return s.opened && s.readers == 0 }

// Write appends p. It must not be called after Finish or concurrently.
// Once readers were opened and all of them are closed, it fails with
// ErrOrphaned.
func (s *Spool) Write(p []byte) (int, error) {
	s.mu.Lock()
	orphaned := s.orphaned()
	s.mu.Unlock()
	if orphaned {
		return 0, ErrOrphaned
	}
	n, err := s.f.WriteAt(p, s.size)
	s.mu.Lock()
	s.size += int64(n)
	s.mu.Unlock()
	s.cond.Broadcast()
	return n, err
}

// ReadAt reads the bytes written so far (for the writer's own checks).
func (s *Spool) ReadAt(p []byte, off int64) (int, error) {
	return s.f.ReadAt(p, off)
}

// Finish ends the writer's part: with a nil err readers may read
// everything, otherwise they get err once they reach the held-back tail.
// It releases the writer's reference.
func (s *Spool) Finish(err error) {
	s.mu.Lock()
	if !s.end {
		s.end, s.err = true, err
	}
	s.mu.Unlock()
	s.cond.Broadcast()
	s.release()
}

func (s *Spool) release() {
	s.mu.Lock()
	s.refs--
	last := s.refs == 0
	s.mu.Unlock()
	if last {
		s.f.Close()
		if s.name != "" {
			os.Remove(s.name)
		}
	}
}

// ErrClosed is returned by a spool whose every user has gone.
var ErrClosed = errors.New("spool: closed")

// NewReader returns a reader of the spool from its start, or nil if the
// spool is already closed, or orphaned (every reader opened before was
// closed while the writer was still writing). The reader must be closed.
func (s *Spool) NewReader() *Reader {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.refs == 0 || (s.orphaned() && !s.end) {
		return nil
	}
	s.refs++
	s.readers++
	s.opened = true
	return &Reader{s: s}
}

// A Reader reads a Spool, waiting for the writer as needed. Reads are for
// one goroutine at a time; Close may be called from another, and a Read
// blocked waiting for the writer then returns ErrClosed (so a caller
// whose context ends can close the reader to stop waiting).
type Reader struct {
	s      *Spool
	off    int64
	closed bool // guarded by s.mu
}

// Read reads the next bytes, blocking until the writer has produced
// enough of them (or finished).
func (r *Reader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	s := r.s
	s.mu.Lock()
	for {
		if r.closed {
			s.mu.Unlock()
			return 0, ErrClosed
		}
		visible := s.size
		if !s.end || s.err != nil {
			visible -= s.hold
		}
		if r.off < visible {
			n := int64(len(p))
			if r.off+n > visible {
				n = visible - r.off
			}
			s.mu.Unlock()
			m, err := s.f.ReadAt(p[:n], r.off)
			r.off += int64(m)
			if err == io.EOF && m > 0 {
				err = nil
			}
			return m, err
		}
		if s.end {
			err := s.err
			s.mu.Unlock()
			if err == nil {
				err = io.EOF
			}
			return 0, err
		}
		s.blocked++
		s.cond.Wait()
		s.blocked--
	}
}

// Close releases the reader, waking a Read blocked on it.
func (r *Reader) Close() error {
	s := r.s
	s.mu.Lock()
	if r.closed {
		s.mu.Unlock()
		return nil
	}
	r.closed = true
	s.readers--
	var orphan func()
	if s.readers == 0 && !s.end {
		orphan, s.onOrphan = s.onOrphan, nil
	}
	s.mu.Unlock()
	s.cond.Broadcast()
	if orphan != nil {
		orphan()
	}
	s.release()
	return nil
}
