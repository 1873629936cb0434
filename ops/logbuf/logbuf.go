// Package logbuf buffers a log's writes so that requests do not wait for
// a write system call each: a Writer gathers what is written and writes
// it out when its buffer fills, every interval, and on Close.
package logbuf

import (
	"bufio"
	"io"
	"sync"
	"time"
)

// A Writer is a buffered writer safe for concurrent use that flushes
// itself every interval. Make one with New; Close it to flush and stop.
type Writer struct {
	mu   sync.Mutex
	w    *bufio.Writer
	stop chan struct{}
	done chan struct{}
}

// New returns a Writer of w that flushes at least every interval.
func New(w io.Writer, size int, interval time.Duration) *Writer {
	b := &Writer{w: bufio.NewWriterSize(w, size), stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(b.done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				b.Flush()
			case <-b.stop:
				return
			}
		}
	}()
	return b
}

// Write buffers p (writing out the buffer when p does not fit).
func (b *Writer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.w.Write(p)
}

// Flush writes out what is buffered.
func (b *Writer) Flush() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.w.Flush()
}

// Close stops the periodic flushes and flushes.
func (b *Writer) Close() error {
	select {
	case <-b.stop:
	default:
		close(b.stop)
	}
	<-b.done
	return b.Flush()
}
