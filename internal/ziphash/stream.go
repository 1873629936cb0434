package ziphash

import (
	"archive/zip"
	"bufio"
	"compress/flate"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"sort"
	"strings"
)

// A Stream computes the h1: hash of a zip while its bytes go by, so that
// the hash is ready moments after the last byte instead of after a second
// pass over the file. Write the zip's bytes in order, then call Sum.
//
// The stream reads the zip's local file headers and inflates each entry as
// it arrives, hashing its content. Sum then checks the result against the
// zip's central directory — every entry the directory lists must have been
// seen at the offset, with the name, sizes and CRC-32 it lists — and falls
// back to Hash (a second pass) when anything is unusual, so its answer is
// always Hash's.
type Stream struct {
	pw   *io.PipeWriter
	done chan struct{}

	entries map[int64]streamEntry // by data offset
	err     error                 // the parser gave up
}

type streamEntry struct {
	name         string
	method       uint16
	flags        uint16
	crc          uint32
	csize, usize uint64
	sum          [sha256.Size]byte
}

// NewStream starts a Stream.
func NewStream() *Stream {
	pr, pw := io.Pipe()
	s := &Stream{pw: pw, done: make(chan struct{}), entries: make(map[int64]streamEntry)}
	go func() {
		defer close(s.done)
		s.err = s.parse(pr)
		// Drain what is left so that writers never block.
		io.Copy(io.Discard, pr)
	}()
	return s
}

// Write passes the next bytes of the zip. It never fails.
func (s *Stream) Write(p []byte) (int, error) {
	s.pw.Write(p)
	return len(p), nil
}

// Abort stops the stream's parser when Sum will not be called.
func (s *Stream) Abort() {
	s.pw.Close()
	<-s.done
}

// Sum returns the zip's h1: hash, given the zip opened for random access
// (the central directory read once, by the caller). It must be called
// once, after the last Write.
func (s *Stream) Sum(z *zip.Reader) (string, error) {
	s.pw.Close()
	<-s.done
	if h, ok := s.fromEntries(z); ok {
		return h, nil
	}
	return HashReader(z)
}

// fromEntries computes the hash from the streamed entries when they
// account exactly for the central directory.
func (s *Stream) fromEntries(z *zip.Reader) (string, bool) {
	if s.err != nil {
		return "", false
	}
	type named struct {
		name string
		sum  [sha256.Size]byte
	}
	list := make([]named, 0, len(z.File))
	seen := make(map[string]bool, len(z.File))
	for _, f := range z.File {
		off, err := f.DataOffset()
		if err != nil {
			return "", false
		}
		e, ok := s.entries[off]
		// The content the directory describes is what was hashed only if
		// the same bytes were decoded the same way: same place, length,
		// compression method and encryption flag.
		if !ok || e.name != f.Name || e.method != f.Method || e.flags&1 != f.Flags&1 ||
			e.crc != f.CRC32 || e.csize != f.CompressedSize64 || e.usize != f.UncompressedSize64 ||
			seen[f.Name] || strings.Contains(f.Name, "\n") {
			return "", false
		}
		seen[f.Name] = true
		list = append(list, named{f.Name, e.sum})
	}
	sort.Slice(list, func(i, j int) bool { return list[i].name < list[j].name })
	h := sha256.New()
	for _, e := range list {
		fmt.Fprintf(h, "%x  %s\n", e.sum, e.name)
	}
	return "h1:" + base64.StdEncoding.EncodeToString(h.Sum(nil)), true
}

var errUnsupported = errors.New("unsupported zip layout for streaming")

// counter counts the bytes a bufio.Reader takes from its source, so that
// the offset of the next byte it returns is fed minus Buffered.
type counter struct {
	r io.Reader
	n int64
}

func (c *counter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// offsetReader is a bufio.Reader over a counter: it knows its offset in
// the stream, and hands flate a fast io.ByteReader.
type offsetReader struct {
	*bufio.Reader
	c *counter
}

func (o *offsetReader) offset() int64 { return o.c.n - int64(o.Buffered()) }

func (o *offsetReader) full(n int) ([]byte, error) {
	b := make([]byte, n)
	_, err := io.ReadFull(o, b)
	return b, err
}

// entrySums hashes an entry's content with SHA-256 and CRC-32 at once.
type entrySums struct {
	sha hash.Hash
	crc hash.Hash32
}

func (s *entrySums) Write(p []byte) (int, error) {
	s.sha.Write(p)
	s.crc.Write(p)
	return len(p), nil
}

// parse reads local file entries until the central directory.
func (s *Stream) parse(r io.Reader) error {
	c := &counter{r: r}
	cr := &offsetReader{Reader: bufio.NewReaderSize(c, 64<<10), c: c}
	var inflate io.ReadCloser // created at the first deflated entry
	sums := entrySums{sha: sha256.New(), crc: crc32.NewIEEE()}
	buf := make([]byte, 32<<10)
	for {
		sig, err := cr.full(4)
		if err != nil {
			return err
		}
		switch binary.LittleEndian.Uint32(sig) {
		case 0x04034b50: // local file header
		case 0x02014b50, 0x06054b50, 0x06064b50: // central directory: done
			return nil
		default:
			return errUnsupported
		}
		hdr, err := cr.full(26)
		if err != nil {
			return err
		}
		flags := binary.LittleEndian.Uint16(hdr[2:])
		method := binary.LittleEndian.Uint16(hdr[4:])
		crc := binary.LittleEndian.Uint32(hdr[10:])
		csize := uint64(binary.LittleEndian.Uint32(hdr[14:]))
		usize := uint64(binary.LittleEndian.Uint32(hdr[18:]))
		nameLen := int(binary.LittleEndian.Uint16(hdr[22:]))
		extraLen := int(binary.LittleEndian.Uint16(hdr[24:]))
		name, err := cr.full(nameLen)
		if err != nil {
			return err
		}
		if _, err := cr.full(extraLen); err != nil {
			return err
		}
		if flags&1 != 0 || csize == 0xffffffff || usize == 0xffffffff {
			return errUnsupported // encrypted or zip64
		}
		dataOff := cr.offset()
		var content io.Reader
		switch method {
		case zip.Store:
			if flags&8 != 0 {
				return errUnsupported // size unknown until the descriptor
			}
			content = io.LimitReader(cr, int64(csize))
		case zip.Deflate:
			// cr.Reader is a ByteReader: flate reads no further than
			// the entry's end. One decompressor serves every entry.
			if inflate == nil {
				inflate = flate.NewReader(cr.Reader)
			} else if err := inflate.(flate.Resetter).Reset(cr.Reader, nil); err != nil {
				return err
			}
			content = inflate
		default:
			return errUnsupported
		}
		sums.sha.Reset()
		sums.crc.Reset()
		n, err := io.CopyBuffer(&sums, content, buf)
		if err != nil {
			return err
		}
		gotCsize := uint64(cr.offset() - dataOff)
		if flags&8 != 0 {
			// Data descriptor, with or without its signature.
			b, err := cr.full(12)
			if err != nil {
				return err
			}
			if binary.LittleEndian.Uint32(b) == 0x08074b50 {
				more, err := cr.full(4)
				if err != nil {
					return err
				}
				b = append(b[4:], more...)
			}
			crc = binary.LittleEndian.Uint32(b[0:])
			csize = uint64(binary.LittleEndian.Uint32(b[4:]))
			usize = uint64(binary.LittleEndian.Uint32(b[8:]))
		}
		if sums.crc.Sum32() != crc || uint64(n) != usize || gotCsize != csize {
			return errUnsupported // let the central directory pass decide
		}
		e := streamEntry{name: string(name), method: method, flags: flags, crc: crc, csize: csize, usize: usize}
		sums.sha.Sum(e.sum[:0])
		s.entries[dataOff] = e
	}
}
