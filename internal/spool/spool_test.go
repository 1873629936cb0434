package spool

import (
	"bytes"
	"errors"
	"io"
	"sync"
	"testing"

	"github.com/modfetch/modfetch/internal/fixture"
)

func TestReadersFollowTheWriter(t *testing.T) {
	s, err := New(t.TempDir(), 4)
	if err != nil {
		t.Fatal(err)
	}
	r1 := s.NewReader()
	got := make(chan []byte, 1)
	go func() {
		data, _ := io.ReadAll(r1)
		got <- data
	}()
	s.Write([]byte("hello, "))
	// Bytes before the held-back tail are readable at once.
	r2 := s.NewReader()
	buf := make([]byte, 100)
	n, err := r2.Read(buf)
	if err != nil || string(buf[:n]) != "hel" {
		t.Fatalf("Read = %q, %v", buf[:n], err)
	}
	// The tail waits for Finish.
	done := make(chan struct{})
	go func() {
		rest, _ := io.ReadAll(r2)
		if string(rest) != "lo, world" {
			t.Errorf("rest = %q", rest)
		}
		close(done)
	}()
	s.Write([]byte("world"))
	// Both readers have read all they may and wait for the writer.
	fixture.WaitFor(t, "both readers to wait for the writer", func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.blocked == 2
	})
	select {
	case <-done:
		t.Fatal("reader finished before the writer")
	default:
	}
	s.Finish(nil)
	<-done
	if data := <-got; string(data) != "hello, world" {
		t.Fatalf("r1 read %q", data)
	}
	r1.Close()
	r2.Close()
	// A late reader after everyone left: the file is gone.
	if s.NewReader() != nil {
		t.Fatal("reader of a closed spool")
	}
}

func TestFailureHidesTheTail(t *testing.T) {
	s, _ := New(t.TempDir(), 1024)
	r := s.NewReader()
	defer r.Close()
	s.Write(bytes.Repeat([]byte("x"), 3000))
	boom := errors.New("checksum mismatch")
	s.Finish(boom)
	data, err := io.ReadAll(r)
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	if len(data) != 3000-1024 {
		t.Fatalf("read %d bytes of a failed stream, want %d", len(data), 3000-1024)
	}
}

func TestSmallerThanTheTail(t *testing.T) {
	s, _ := New(t.TempDir(), 64<<10)
	var wg sync.WaitGroup
	for range 8 {
		r := s.NewReader()
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer r.Close()
			data, err := io.ReadAll(r)
			if err != nil || string(data) != "tiny" {
				t.Errorf("read %q, %v", data, err)
			}
		}()
	}
	s.Write([]byte("tiny"))
	s.Finish(nil)
	wg.Wait()
	if _, err := (&Reader{s: s, closed: true}).Read(make([]byte, 1)); !errors.Is(err, ErrClosed) {
		t.Fatalf("closed reader: %v", err)
	}
}

func TestOrphaned(t *testing.T) {
	s, _ := New(t.TempDir(), 0)
	if _, err := s.Write([]byte("before any reader")); err != nil {
		t.Fatal(err)
	}
	r := s.NewReader()
	if _, err := s.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	r.Close()
	if _, err := s.Write([]byte("y")); !errors.Is(err, ErrOrphaned) {
		t.Fatalf("err = %v", err)
	}
	s.Finish(ErrOrphaned)
}

// TestCloseWakesBlockedRead: closing a reader from another goroutine
// ends a Read waiting for the writer, with ErrClosed.
func TestCloseWakesBlockedRead(t *testing.T) {
	s, err := New(t.TempDir(), 4)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Finish(nil)
	r := s.NewReader()
	errc := make(chan error, 1)
	go func() {
		_, err := r.Read(make([]byte, 10))
		errc <- err
	}()
	fixture.WaitFor(t, "the Read to block", func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.blocked == 1
	})
	r.Close()
	if err := <-errc; !errors.Is(err, ErrClosed) {
		t.Fatalf("blocked Read after Close = %v, want ErrClosed", err)
	}
	if _, err := r.Read(make([]byte, 10)); !errors.Is(err, ErrClosed) {
		t.Fatalf("Read after Close = %v", err)
	}
}

// TestOnOrphaned: the callback runs once, when the last reader leaves
// before the writer finished, and then no new reader can be opened.
func TestOnOrphaned(t *testing.T) {
	for _, tc := range []struct {
		name         string
		readers      int
		finishFirst  bool
		wantOrphaned int
	}{
		{"one reader leaves", 1, false, 1},
		{"two readers leave", 2, false, 1},
		{"writer finished first", 2, true, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := New(t.TempDir(), 0)
			if err != nil {
				t.Fatal(err)
			}
			calls := 0
			s.OnOrphaned(func() { calls++ })
			var rs []*Reader
			for range tc.readers {
				rs = append(rs, s.NewReader())
			}
			if tc.finishFirst {
				s.Finish(nil)
			}
			for i, r := range rs {
				if calls != 0 {
					t.Fatalf("called with %d of %d readers still open", tc.readers-i, tc.readers)
				}
				r.Close()
				r.Close() // a second Close changes nothing
			}
			if calls != tc.wantOrphaned {
				t.Fatalf("called %d times, want %d", calls, tc.wantOrphaned)
			}
			if !tc.finishFirst {
				if r := s.NewReader(); r != nil {
					t.Fatal("NewReader of an orphaned spool = a reader, want nil")
				}
				s.Finish(ErrOrphaned)
			}
		})
	}
}
