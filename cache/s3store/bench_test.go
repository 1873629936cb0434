package s3store

import (
	"bytes"
	"io"
	"testing"

	"github.com/modfetch/modfetch/cache"
)

// BenchmarkGet reads a 16 MiB value from the S3 service and, for
// comparison, from a cache.DirStore on local disk; MB/s is the figure to
// compare.
func BenchmarkGet(b *testing.B) {
	const key = "example.com/big/@v/v1.0.0.zip"
	const size = 16 << 20
	val := randomBytes(size)
	for _, tc := range []struct {
		name  string
		store func(b *testing.B) cache.Store
	}{
		{"s3", func(b *testing.B) cache.Store { return newTestStore(b, nil) }},
		{"dirstore", func(b *testing.B) cache.Store { return &cache.DirStore{Dir: b.TempDir()} }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			s := tc.store(b)
			if err := s.Put(b.Context(), key, bytes.NewReader(val)); err != nil {
				b.Fatal(err)
			}
			buf := make([]byte, 256<<10)
			b.SetBytes(size)
			b.ResetTimer()
			for b.Loop() {
				rc, err := s.Get(b.Context(), key)
				if err != nil {
					b.Fatal(err)
				}
				n, err := io.CopyBuffer(io.Discard, struct{ io.Reader }{rc}, buf)
				rc.Close()
				if err != nil || n != size {
					b.Fatalf("read %d bytes, %v; want %d", n, err, size)
				}
			}
		})
	}
}
