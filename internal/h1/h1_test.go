package h1

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/mod/sumdb/dirhash"
)

type entry struct {
	name   string
	data   []byte
	method uint16
	header bool // sizes in the local header (CreateRaw), not in a data descriptor
}

func makeZip(t testing.TB, entries []entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	zw.RegisterCompressor(zip.Deflate, func(w io.Writer) (io.WriteCloser, error) {
		return flate.NewWriter(w, flate.BestSpeed)
	})
	for _, e := range entries {
		var w io.Writer
		var err error
		if e.header {
			// Sizes and CRC in the local header: no data descriptor.
			raw := e.data
			if e.method == zip.Deflate {
				var comp bytes.Buffer
				fw, _ := flate.NewWriter(&comp, flate.BestSpeed)
				fw.Write(e.data)
				fw.Close()
				raw = comp.Bytes()
			}
			w, err = zw.CreateRaw(&zip.FileHeader{Name: e.name, Method: e.method, CRC32: crc32.ChecksumIEEE(e.data),
				CompressedSize64: uint64(len(raw)), UncompressedSize64: uint64(len(e.data))})
			if err != nil {
				t.Fatal(err)
			}
			w.Write(raw)
			continue
		}
		w, err = zw.CreateHeader(&zip.FileHeader{Name: e.name, Method: e.method})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(e.data)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func dirhashOf(t testing.TB, data []byte) string {
	t.Helper()
	name := filepath.Join(t.TempDir(), "z.zip")
	os.WriteFile(name, data, 0o666)
	h, err := dirhash.HashZip(name, dirhash.DefaultHash)
	if err != nil {
		return "error: " + err.Error()
	}
	return h
}

func TestStreamAgreesWithHash(t *testing.T) {
	random := func(n int) []byte {
		b := make([]byte, n)
		rand.Read(b)
		return b
	}
	text := bytes.Repeat([]byte("package m // some source text\n"), 3000)
	cases := map[string][]entry{
		"deflate with descriptors": {{"m@v1/a.go", text, zip.Deflate, false}, {"m@v1/b/c.go", random(70000), zip.Deflate, false}},
		"deflate with sizes":       {{"m@v1/a.go", text, zip.Deflate, true}, {"m@v1/go.mod", []byte("module m\n"), zip.Deflate, true}},
		"stored with sizes":        {{"m@v1/a.go", text, zip.Store, true}, {"m@v1/bin", random(1000), zip.Store, true}},
		"stored with descriptors":  {{"m@v1/a.go", text, zip.Store, false}},
		"empty files":              {{"m@v1/empty", nil, zip.Deflate, false}, {"m@v1/empty2", nil, zip.Store, true}},
		"unsorted names":           {{"m@v1/z", []byte("z"), zip.Deflate, false}, {"m@v1/a", []byte("a"), zip.Deflate, false}},
		"no entries":               {},
	}
	for name, entries := range cases {
		t.Run(name, func(t *testing.T) {
			data := makeZip(t, entries)
			want := dirhashOf(t, data)
			for _, chunk := range []int{1, 7, 4096, 1 << 20} {
				s := NewStream(bytes.NewReader(data))
				for p := data; len(p) > 0; {
					n := min(chunk, len(p))
					s.Write(p[:n])
					p = p[n:]
				}
				got, err := streamSum(t, s, data)
				if err != nil || got != want {
					t.Fatalf("chunk %d: Sum = %q, %v; want %q", chunk, got, err, want)
				}
				z, _ := zip.NewReader(bytes.NewReader(data), int64(len(data)))
				if _, fast := s.fromEntries(z); !fast {
					t.Fatalf("chunk %d: streamed hashes used = %v (stream: %v)", chunk, fast, s.err)
				}
			}
		})
	}
}

// TestStreamTricks: zips whose local headers disagree with the central
// directory still hash like Hash, which reads the central directory.
func TestStreamTricks(t *testing.T) {
	data := makeZip(t, []entry{{"m@v1/a.go", []byte("package a\n"), zip.Deflate, true}, {"m@v1/b.go", []byte("package b\n"), zip.Deflate, true}})
	// Rename an entry in its local header only.
	tampered := bytes.Replace(data, []byte("m@v1/a.go"), []byte("m@v1/x.go"), 1)
	// Duplicate names.
	dup := makeZip(t, []entry{{"m@v1/a.go", []byte("1"), zip.Deflate, true}, {"m@v1/a.go", []byte("2"), zip.Deflate, true}})
	// A directory entry with content, which archive/zip refuses to read.
	dirContent := bytes.ReplaceAll(makeZip(t, []entry{{"m@v1/dx", []byte("hello"), zip.Store, true}}), []byte("m@v1/dx"), []byte("m@v1/d/"))
	// The central directory announces a data descriptor that the entry
	// lacks; archive/zip reads one anyway and finds it wrong.
	noDesc := makeZip(t, []entry{{"m@v1/a", []byte("hello"), zip.Store, true}})
	i := bytes.Index(noDesc, []byte("PK\x01\x02"))
	if i < 0 || noDesc[6]&8 != 0 {
		t.Fatal("unexpected zip layout")
	}
	noDesc[i+8] |= 8
	for name, z := range map[string][]byte{
		"local name differs":               tampered,
		"duplicate names":                  dup,
		"truncated":                        data[:len(data)-10],
		"garbage":                          []byte("<html>not a zip</html>"),
		"directory with content":           dirContent,
		"descriptor only in the directory": noDesc,
	} {
		s := NewStream(bytes.NewReader(z))
		s.Write(z)
		got, err := streamSum(t, s, z)
		want, werr := Zip(bytes.NewReader(z), int64(len(z)))
		if got != want || (err == nil) != (werr == nil) {
			t.Errorf("%s: Sum = %q, %v; Hash = %q, %v", name, got, err, want, werr)
		}
	}
}

// TestStreamFalseDescriptor: an entry whose compressed bytes hold what
// looks like its data descriptor (signature, a compressed size reaching
// back to the entry's start, the next header's signature) still hashes
// like Hash.
func TestStreamFalseDescriptor(t *testing.T) {
	content := make([]byte, 4000)
	rand.Read(content) // incompressible: deflate stores it verbatim
	fake := content[1000:1020]
	copy(fake, "PK\x07\x08")
	copy(fake[16:], "PK\x03\x04")
	build := func() []byte {
		return makeZip(t, []entry{{"m@v1/a", content, zip.Deflate, false}, {"m@v1/b", []byte("b"), zip.Deflate, false}})
	}
	data := build()
	// Make the fake descriptor's compressed size reach back to the
	// entry's data, which starts after the 30-byte header and the name.
	q := bytes.Index(data, fake[:4])
	if q < 0 {
		t.Fatal("fake descriptor not stored verbatim")
	}
	binary.LittleEndian.PutUint32(fake[8:], uint32(q-(30+len("m@v1/a"))))
	data = build()
	if bytes.Index(data, fake) != q {
		t.Fatal("fake descriptor moved")
	}
	want := dirhashOf(t, data)
	for _, chunk := range []int{q + 10, len(data)} {
		s := NewStream(bytes.NewReader(data))
		for p := data; len(p) > 0; {
			n := min(chunk, len(p))
			s.Write(p[:n])
			p = p[n:]
		}
		if got, err := streamSum(t, s, data); err != nil || got != want {
			t.Fatalf("chunk %d: Sum = %q, %v; want %q", chunk, got, err, want)
		}
		// The false end was taken, and found out.
		if !errors.Is(s.err, errUnsupported) {
			t.Fatalf("chunk %d: stream error = %v; want the false descriptor found out", chunk, s.err)
		}
	}
}

// TestStreamStartsWorkersAsNeeded: a zip of one file keeps one worker
// busy, whatever GOMAXPROCS is.
func TestStreamStartsWorkersAsNeeded(t *testing.T) {
	data := makeZip(t, []entry{{"m@v1/a.go", []byte("package a\n"), zip.Deflate, false}})
	s := NewStream(bytes.NewReader(data))
	s.Write(data)
	if _, err := streamSum(t, s, data); err != nil {
		t.Fatal(err)
	}
	if s.started != 1 {
		t.Fatalf("started %d workers for one file", s.started)
	}
}

func TestStreamFuzzish(t *testing.T) {
	r := mrand.New(mrand.NewPCG(1, 2))
	for i := range 50 {
		var entries []entry
		for j := range r.IntN(6) {
			data := make([]byte, r.IntN(20000))
			for k := range data {
				data[k] = byte(r.IntN(4) + 'a')
			}
			m := uint16(zip.Deflate)
			if r.IntN(3) == 0 {
				m = zip.Store
			}
			entries = append(entries, entry{fmt.Sprintf("m@v1/f%d_%d", i, j), data, m, r.IntN(2) == 0})
		}
		data := makeZip(t, entries)
		s := NewStream(bytes.NewReader(data))
		s.Write(data)
		got, err := streamSum(t, s, data)
		if want := dirhashOf(t, data); err != nil || got != want {
			t.Fatalf("case %d: %q %v, want %q", i, got, err, want)
		}
	}
}

func TestValidZiphash(t *testing.T) {
	for in, want := range map[string]bool{
		"h1:o7IhLm0Msx3BaB+n3Ag7L8EVlByGnpq14C4YWiu/gL8=":    true,
		"h1:o7IhLm0Msx3BaB+n3Ag7L8EVlByGnpq14C4YWiu/gL8":     false,
		"h2:o7IhLm0Msx3BaB+n3Ag7L8EVlByGnpq14C4YWiu/gL8=":    false,
		"h1:o7IhLm0Msx3BaB+n3Ag7L8EVlByGnpq14C4YWiu/gL8\x00": false,
	} {
		if ValidZiphash([]byte(in)) != want {
			t.Errorf("ValidZiphash(%q) != %v", in, want)
		}
	}
}

// TestStreamTakesTheFastPath: ordinary module zips (as x/mod's zip.Create
// and Go's archive/zip write them) are hashed from the stream, without a
// second pass.
func TestStreamTakesTheFastPath(t *testing.T) {
	for _, header := range []bool{false, true} {
		data := makeZip(t, []entry{{"m@v1/a.go", []byte("package a\n"), zip.Deflate, header}, {"m@v1/LICENSE", bytes.Repeat([]byte("x"), 5000), zip.Deflate, header}})
		s := NewStream(bytes.NewReader(data))
		s.Write(data)
		s.end(false)
		<-s.done
		z, _ := zip.NewReader(bytes.NewReader(data), int64(len(data)))
		if _, ok := s.fromEntries(z); !ok {
			t.Fatalf("header=%v: streaming hash not used (parser: %v)", header, s.err)
		}
	}
}

// TestStreamMethodMismatch: a zip whose local header says Deflate while
// its central directory says Store (so that readers of the directory see
// the raw bytes) must hash as the directory's content, not the inflated
// one. Found in review: without the method check the stream hashed the
// inflated bytes, letting a zip pass a check for other content.
func TestStreamMethodMismatch(t *testing.T) {
	// Raw deflate bytes whose inflation is "package good\n".
	var comp bytes.Buffer
	fw, _ := flate.NewWriter(&comp, flate.BestCompression)
	fw.Write([]byte("package good\n"))
	fw.Close()
	raw := comp.Bytes()
	// Write an entry stored verbatim (the directory says Store), then
	// patch the local header's method to Deflate.
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.CreateHeader(&zip.FileHeader{Name: "m@v1/a.go", Method: zip.Store})
	if err != nil {
		t.Fatal(err)
	}
	w.Write(raw)
	zw.Close()
	data := buf.Bytes()
	if binary.LittleEndian.Uint32(data) != 0x04034b50 {
		t.Fatal("no local header at 0")
	}
	binary.LittleEndian.PutUint16(data[8:], zip.Deflate)

	want, werr := Zip(bytes.NewReader(data), int64(len(data)))
	s := NewStream(bytes.NewReader(data))
	s.Write(data)
	got, err := streamSum(t, s, data)
	if err != nil || werr != nil || got != want {
		t.Fatalf("stream hash %q, %v; directory hash %q, %v", got, err, want, werr)
	}
	// And the stream must not have claimed the fast path.
	z, _ := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if _, ok := s.fromEntries(z); ok {
		t.Fatal("fast path accepted a local header that disagrees with the directory")
	}
}

// TestFromEntriesChecksMethod: the fast path refuses an entry decoded with
// a method other than the directory's even when name, place, sizes and
// CRC agree (an attacker can forge a CRC-32).
func TestFromEntriesChecksMethod(t *testing.T) {
	data := makeZip(t, []entry{{"m@v1/a.go", []byte("package a\n"), zip.Store, true}})
	z, _ := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	f := z.File[0]
	off, _ := f.DataOffset()
	for _, tt := range []struct {
		method, flags uint16
		ok            bool
	}{
		{zip.Store, f.Flags, true},
		{zip.Deflate, f.Flags, false},
		{zip.Store, f.Flags | 1, false}, // encrypted locally
	} {
		s := &Stream{entries: map[int64]streamEntry{off: {name: f.Name, method: tt.method, flags: tt.flags, crc: f.CRC32, csize: f.CompressedSize64, usize: f.UncompressedSize64}}}
		if _, ok := s.fromEntries(z); ok != tt.ok {
			t.Errorf("method %d flags %#x: fast path = %v, want %v", tt.method, tt.flags, ok, tt.ok)
		}
	}
}

// streamSum is s.Sum over the zip data.
func streamSum(t *testing.T, s *Stream, data []byte) (string, error) {
	t.Helper()
	z, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		s.Abort()
		return "", err
	}
	return s.Sum(z)
}

// BenchmarkStream hashes zips of source-like files (4 MiB unpacked) as
// they stream by, in 32 KiB writes: many small files and a few large ones.
// With -cpu 1,2 it shows what hashing entries in parallel gains.
func BenchmarkStream(b *testing.B) {
	for _, fileSize := range []int{20 << 10, 256 << 10} {
		b.Run(fmt.Sprintf("files=%dKiB", fileSize>>10), func(b *testing.B) {
			benchStream(b, fileSize)
		})
	}
}

func benchStream(b *testing.B, fileSize int) {
	var entries []entry
	rng := mrand.New(mrand.NewPCG(1, 2))
	words := []string{"func", "return", "if err != nil {", "}", "package", "import", "x := y", "\n\t", "for i := range n {", "// a comment"}
	size := 0
	for i := range (4 << 20) / fileSize {
		var src bytes.Buffer
		for src.Len() < fileSize {
			src.WriteString(words[rng.IntN(len(words))])
			src.WriteByte(' ')
		}
		size += src.Len()
		entries = append(entries, entry{name: fmt.Sprintf("m@v1.0.0/f%03d.go", i), data: src.Bytes(), method: zip.Deflate})
	}
	data := makeZip(b, entries)
	z, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		b.Fatal(err)
	}
	want, err := Zip(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(size))
	b.ReportAllocs()
	for b.Loop() {
		s := NewStream(bytes.NewReader(data))
		for off := 0; off < len(data); off += 32 << 10 {
			s.Write(data[off:min(off+32<<10, len(data))])
		}
		if got, err := s.Sum(z); err != nil || got != want {
			b.Fatalf("Sum = %q, %v; want %q", got, err, want)
		}
	}
}
