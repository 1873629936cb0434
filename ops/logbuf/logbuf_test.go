package logbuf_test

import (
	"bytes"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/modfetch/modfetch/internal/fixture"
	"github.com/modfetch/modfetch/ops/logbuf"
)

type lockedBuffer struct {
	mu     sync.Mutex
	b      bytes.Buffer
	writes int
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.writes++
	return l.b.Write(p)
}

func (l *lockedBuffer) get() (string, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String(), l.writes
}

func TestWriter(t *testing.T) {
	var out lockedBuffer
	w := logbuf.New(&out, 4096, 10*time.Millisecond)
	var wg sync.WaitGroup
	for i := range 100 {
		wg.Go(func() { fmt.Fprintf(w, "line %03d\n", i) })
	}
	wg.Wait()
	// Flushed by the ticker, in few writes, every line whole.
	fixture.WaitFor(t, "the periodic flush", func() bool {
		s, _ := out.get()
		return len(s) == 100*len("line 000\n")
	})
	s, writes := out.get()
	if writes > 10 {
		t.Errorf("%d writes for 100 lines", writes)
	}
	for i := range 100 {
		if !bytes.Contains([]byte(s), fmt.Appendf(nil, "line %03d\n", i)) {
			t.Fatalf("line %d lost or torn", i)
		}
	}
	fmt.Fprintf(w, "last\n")
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if s, _ := out.get(); !bytes.HasSuffix([]byte(s), []byte("last\n")) {
		t.Error("Close did not flush")
	}
}
