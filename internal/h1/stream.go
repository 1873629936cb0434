package h1

import (
	"archive/zip"
	"bufio"
	"bytes"
	"compress/flate"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"runtime"
	"sort"
	"strings"
	"sync"
)

// A Stream computes the h1: hash of a zip while its bytes go by, so that
// the hash is ready moments after the last byte instead of after a second
// pass over the file. Write the zip's bytes in order (after storing them
// where the Stream's io.ReaderAt reads them back), then call Sum.
//
// The stream reads the zip's local file headers as they arrive and hashes
// the entries' contents on as many goroutines as GOMAXPROCS allows: each
// entry is inflated as its bytes arrive, while the next entry's header is
// found by scanning ahead for the end of the entry's compressed data (its
// data descriptor). Sum then checks the result against the zip's central
// directory — every entry the directory lists must have been seen at the
// offset, with the name, method, sizes and CRC-32 it lists, and its
// compressed bytes must have ended exactly where the directory says — and
// falls back to ZipReader (a second pass) when anything is unusual, so
// its answer is always ZipReader's.
type Stream struct {
	r    io.ReaderAt
	done chan struct{}

	// The parser starts workers as entries need them, up to maxWorkers.
	jobs       chan *job
	workers    sync.WaitGroup
	started    int
	maxWorkers int

	mu      sync.Mutex
	cond    sync.Cond
	avail   int64                 // bytes written
	ended   bool                  // no more bytes will come
	aborted bool                  // nobody wants the hash
	entries map[int64]streamEntry // by data offset
	err     error                 // why the stream cannot be used
}

type streamEntry struct {
	name         string
	method       uint16
	flags        uint16
	crc          uint32
	csize, usize uint64
	sum          [sha256.Size]byte
}

// NewStream starts a Stream over r, which must read back every byte
// passed to Write by the time Write is called (a spool file, say).
func NewStream(r io.ReaderAt) *Stream {
	s := &Stream{
		r:          r,
		done:       make(chan struct{}),
		jobs:       make(chan *job),
		maxWorkers: max(1, runtime.GOMAXPROCS(0)),
		entries:    make(map[int64]streamEntry),
	}
	s.cond.L = &s.mu
	go func() {
		err := s.parse()
		close(s.jobs)
		s.workers.Wait()
		if err != nil {
			s.fail(err)
		}
		close(s.done)
	}()
	return s
}

// Write tells the stream that the next len(p) bytes of the zip can be
// read. It never fails.
func (s *Stream) Write(p []byte) (int, error) {
	s.mu.Lock()
	s.avail += int64(len(p))
	s.cond.Broadcast()
	s.mu.Unlock()
	return len(p), nil
}

// end marks the end of the bytes (and of the stream's use, if abort).
func (s *Stream) end(abort bool) {
	s.mu.Lock()
	s.ended = true
	s.aborted = s.aborted || abort
	s.cond.Broadcast()
	s.mu.Unlock()
}

// fail records the first reason the streamed hashes cannot be used.
func (s *Stream) fail(err error) {
	s.mu.Lock()
	if s.err == nil {
		s.err = err
	}
	s.mu.Unlock()
}

// Abort stops the stream's goroutines when Sum will not be called.
func (s *Stream) Abort() {
	s.end(true)
	<-s.done
}

// Sum returns the zip's h1: hash, given the zip opened for random access
// (the central directory read once, by the caller). It must be called
// once, after the last Write.
func (s *Stream) Sum(z *zip.Reader) (string, error) {
	s.end(false)
	<-s.done
	if h, ok := s.fromEntries(z); ok {
		return h, nil
	}
	return ZipReader(z)
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
		// Where archive/zip refuses to read an entry, so does Hash: a
		// directory with content, or a data descriptor the directory
		// announces but the entry lacks (archive/zip checks it).
		if strings.HasSuffix(f.Name, "/") && f.UncompressedSize64 != 0 || f.Flags&8 != 0 && e.flags&8 == 0 {
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

var (
	errUnsupported = errors.New("unsupported zip layout for streaming")
	errAborted     = errors.New("stream aborted")
)

// waitFor waits until the bytes up to off are available or no more will
// come, and returns how many are available, or aborted.
func (s *Stream) waitFor(off int64) (avail int64, aborted bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for s.avail < off && !s.ended {
		s.cond.Wait()
	}
	return s.avail, s.aborted
}

// read returns the n bytes at off, once they are available.
func (s *Stream) read(off int64, n int) ([]byte, error) {
	if avail, aborted := s.waitFor(off + int64(n)); aborted || avail < off+int64(n) {
		return nil, io.ErrUnexpectedEOF
	}
	b := make([]byte, n)
	if _, err := s.r.ReadAt(b, off); err != nil {
		return nil, err
	}
	return b, nil
}

// A streamReader reads the zip from off on, waiting for bytes to arrive.
type streamReader struct {
	s   *Stream
	off int64
}

func (r *streamReader) Read(p []byte) (int, error) {
	s := r.s
	avail, aborted := s.waitFor(r.off + 1)
	if aborted {
		return 0, errAborted
	}
	if avail <= r.off {
		return 0, io.EOF
	}
	n, err := s.r.ReadAt(p[:min(int64(len(p)), avail-r.off)], r.off)
	r.off += int64(n)
	if err == io.EOF && n > 0 {
		err = nil
	}
	return n, err
}

// A job is one entry to hash. The entry's fields from its local header
// are set before it is sent to a worker; when the entry has a data
// descriptor, the parser sets its CRC and sizes and closes known once it
// has found it (found says whether it has).
type job struct {
	dataOff int64
	e       streamEntry
	known   chan struct{}
	found   bool
}

// dispatch hands j to an idle worker, or to a new one while there are
// fewer than maxWorkers, or else to the first worker that is done.
func (s *Stream) dispatch(j *job) {
	select {
	case s.jobs <- j:
		return
	default:
	}
	if s.started < s.maxWorkers {
		s.started++
		s.workers.Go(s.work)
	}
	s.jobs <- j
}

// parse reads the local file headers until the central directory and
// sends each entry to the workers.
func (s *Stream) parse() (err error) {
	var pending *job // its descriptor is being looked for
	defer func() {
		if pending != nil {
			close(pending.known)
		}
	}()
	var off int64
	var scan []byte // grown as findDescriptor needs
	for {
		sig, err := s.read(off, 4)
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
		hdr, err := s.read(off, 30)
		if err != nil {
			return err
		}
		j := &job{known: make(chan struct{})}
		e := &j.e
		e.flags = binary.LittleEndian.Uint16(hdr[6:])
		e.method = binary.LittleEndian.Uint16(hdr[8:])
		e.crc = binary.LittleEndian.Uint32(hdr[14:])
		e.csize = uint64(binary.LittleEndian.Uint32(hdr[18:]))
		e.usize = uint64(binary.LittleEndian.Uint32(hdr[22:]))
		nameLen := int(binary.LittleEndian.Uint16(hdr[26:]))
		extraLen := int(binary.LittleEndian.Uint16(hdr[28:]))
		name, err := s.read(off+30, nameLen)
		if err != nil {
			return err
		}
		e.name = string(name)
		j.dataOff = off + 30 + int64(nameLen) + int64(extraLen)
		if e.flags&1 != 0 || e.csize == 0xffffffff || e.usize == 0xffffffff {
			return errUnsupported // encrypted or zip64
		}
		if e.method != zip.Store && e.method != zip.Deflate {
			return errUnsupported
		}
		if e.flags&8 == 0 {
			// The sizes are in the header.
			j.found = true
			close(j.known)
			s.dispatch(j)
			off = j.dataOff + int64(e.csize)
			continue
		}
		pending = j
		s.dispatch(j) // a deflated entry is inflated while the descriptor is looked for
		p, err := s.findDescriptor(j.dataOff, &scan)
		if err != nil {
			return err
		}
		d, err := s.read(p, 16)
		if err != nil {
			return err
		}
		e.crc = binary.LittleEndian.Uint32(d[4:])
		e.csize = uint64(binary.LittleEndian.Uint32(d[8:]))
		e.usize = uint64(binary.LittleEndian.Uint32(d[12:]))
		j.found = true
		close(j.known)
		pending = nil
		off = p + 16
	}
}

var descriptorSig = []byte("PK\x07\x08")

// findDescriptor returns the offset of the data descriptor that ends the
// compressed data starting at dataOff: a signed descriptor whose
// compressed size reaches back exactly to dataOff, followed by the next
// header. Compressed data can hold such bytes by chance or by design; the
// worker that inflates the entry checks that its compressed data ends
// exactly there, and the central directory check catches the rest.
func (s *Stream) findDescriptor(dataOff int64, buf *[]byte) (int64, error) {
	pos := dataOff
	size := 4 << 10 // most entries are small: read little at first
	for {
		avail, aborted := s.waitFor(pos + 20)
		if aborted || avail < pos+20 {
			return 0, io.ErrUnexpectedEOF
		}
		if len(*buf) < size {
			*buf = make([]byte, size)
		}
		end := min(avail, pos+int64(size))
		size = min(2*size, 64<<10)
		chunk := (*buf)[:end-pos]
		if _, err := s.r.ReadAt(chunk, pos); err != nil {
			return 0, err
		}
		// A candidate at q needs chunk[q:q+20]: the descriptor and the
		// next signature.
		for i := 0; i+20 <= len(chunk); {
			k := bytes.Index(chunk[i:len(chunk)-16], descriptorSig)
			if k < 0 {
				break
			}
			q := i + k
			csize := binary.LittleEndian.Uint32(chunk[q+8:])
			next := binary.LittleEndian.Uint32(chunk[q+16:])
			if int64(csize) == pos+int64(q)-dataOff && (next == 0x04034b50 || next == 0x02014b50) {
				return pos + int64(q), nil
			}
			i = q + 1
		}
		pos = end - 19 // later candidates did not fit whole
	}
}

// A worker hashes entries with buffers and a decompressor of its own.
type worker struct {
	sha     hash.Hash
	crc     hash.Hash32
	sums    io.Writer     // both
	inflate io.ReadCloser // created at the first deflated entry
	br      *bufio.Reader
	buf     []byte
}

// work hashes the entries sent on s.jobs.
func (s *Stream) work() {
	w := &worker{sha: sha256.New(), crc: crc32.NewIEEE(), br: bufio.NewReaderSize(nil, 16<<10), buf: make([]byte, 32<<10)}
	w.sums = io.MultiWriter(w.sha, w.crc)
	for j := range s.jobs {
		if err := w.hash(s, j); err != nil {
			s.fail(err)
		}
	}
}

// hash hashes one entry's content and records it in s.
func (w *worker) hash(s *Stream, j *job) error {
	src := &streamReader{s: s, off: j.dataOff}
	w.br.Reset(src) // a ByteReader: flate reads no further than the entry's end
	var content io.Reader
	switch j.e.method {
	case zip.Store:
		<-j.known // the size may come from the descriptor
		if !j.found {
			return errUnsupported
		}
		content = io.LimitReader(w.br, int64(j.e.csize))
	case zip.Deflate:
		if w.inflate == nil {
			w.inflate = flate.NewReader(w.br)
		} else if err := w.inflate.(flate.Resetter).Reset(w.br, nil); err != nil {
			return err
		}
		content = w.inflate
	}
	w.sha.Reset()
	w.crc.Reset()
	n, err := io.CopyBuffer(w.sums, content, w.buf)
	if err != nil {
		return err
	}
	consumed := uint64(src.off - int64(w.br.Buffered()) - j.dataOff)
	<-j.known
	e := j.e
	if !j.found || consumed != e.csize || uint64(n) != e.usize || w.crc.Sum32() != e.crc {
		return errUnsupported // let the central directory pass decide
	}
	w.sha.Sum(e.sum[:0])
	s.mu.Lock()
	s.entries[j.dataOff] = e
	s.mu.Unlock()
	return nil
}
