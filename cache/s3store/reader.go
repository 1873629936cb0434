package s3store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/minio/minio-go/v7"
)

// ErrChanged is the error of a read of a [Store.Get] reader that needed a
// new request after the object was replaced or deleted: the reader does
// not mix bytes of two values.
var ErrChanged = errors.New("s3store: object changed since Get")

// Windows of the ranged GETs of a reader.
const (
	randomWindow = 64 << 10 // a read away from the open window
	maxWindow    = 16 << 20 // sequential reads double the window up to this
	maxSkip      = 256 << 10
)

// A reader reads one version of an object: from Get's response for the
// whole object while reads go on from its start, else by ranged GETs of
// that version. Its body, when not nil, yields the bytes [pos, end) of
// the object.
type reader struct {
	ctx              context.Context // Get's
	c                *minio.Client
	bucket, obj, key string
	size             int64
	modTime          time.Time
	etag, versionID  string
	mu               sync.Mutex
	off              int64 // of Read and Seek
	body             io.ReadCloser
	pos, end, window int64
	closed           bool
}

// openReader sends the first GET of a reader of obj.
func openReader(ctx context.Context, c *minio.Client, bucket, obj, key string) (*reader, error) {
	// The first request asks for the whole object, so that a reader
	// that reads on from the start gets one version to the end, whatever
	// happens to the object meanwhile.
	body, info, hdr, err := minio.Core{Client: c}.GetObject(ctx, bucket, obj, minio.GetObjectOptions{})
	if err != nil {
		if isNotFound(err) {
			return nil, notFound(key, err)
		}
		return nil, opError("get", key, ctxError(ctx, err))
	}
	r := &reader{
		ctx: ctx, c: c, bucket: bucket, obj: obj, key: key,
		modTime: info.LastModified, etag: info.ETag,
		body: body, window: maxWindow,
	}
	if info.VersionID != "null" {
		r.versionID = info.VersionID
	}
	r.size = info.Size
	r.end = info.Size
	if cr := hdr.Get("Content-Range"); cr != "" {
		total, ok := totalSize(cr)
		if !ok {
			body.Close()
			return nil, opError("get", key, fmt.Errorf("bad Content-Range %q in the answer", cr))
		}
		r.size = total
	}
	if r.size < 0 {
		body.Close()
		return nil, opError("get", key, errors.New("the answer has no Content-Length"))
	}
	return r, nil
}

// totalSize returns the complete length of a Content-Range header
// "bytes first-last/complete".
func totalSize(cr string) (int64, bool) {
	_, after, ok := strings.Cut(cr, "/")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(after, 10, 64)
	return n, err == nil && n >= 0
}

// closeBody drops the open window, if any.
func (r *reader) closeBody() {
	if r.body != nil {
		r.body.Close()
		r.body = nil
	}
}

// open opens a window at offset o for a read of n bytes.
func (r *reader) open(o, n int64) error {
	w := int64(randomWindow)
	if r.end > 0 && r.end <= o && o-r.end <= maxSkip { // reading on
		w = min(2*r.window, maxWindow)
	}
	r.closeBody()
	w = max(w, n)
	end := min(r.size, o+w)
	var opts minio.GetObjectOptions
	if r.versionID != "" {
		opts.VersionID = r.versionID
	} else if r.etag != "" {
		opts.SetMatchETag(r.etag)
	}
	opts.SetRange(o, end-1)
	body, _, _, err := minio.Core{Client: r.c}.GetObject(r.ctx, r.bucket, r.obj, opts)
	if err != nil {
		resp := minio.ToErrorResponse(err)
		if resp.StatusCode == http.StatusPreconditionFailed || resp.StatusCode == http.StatusNotFound {
			return opError("read", r.key, fmt.Errorf("%w (%w)", ErrChanged, err))
		}
		return opError("read", r.key, ctxError(r.ctx, err))
	}
	r.body, r.pos, r.end, r.window = body, o, end, w
	return nil
}

// readSome reads into p at offset o, which is below r.size, at least one
// byte unless it fails, from the open window or a new one.
func (r *reader) readSome(p []byte, o int64) (int, error) {
	if r.closed {
		return 0, opError("read", r.key, fs.ErrClosed)
	}
	p = p[:min(int64(len(p)), r.size-o)]
	if r.body != nil && r.pos <= o && o < r.end && o-r.pos <= maxSkip {
		if skip := o - r.pos; skip > 0 {
			m, err := io.CopyN(io.Discard, r.body, skip)
			r.pos += m
			if err != nil {
				r.closeBody()
			}
		}
	}
	if r.body == nil || r.pos != o || o >= r.end {
		if err := r.open(o, int64(len(p))); err != nil {
			return 0, err
		}
	}
	p = p[:min(int64(len(p)), r.end-o)]
	n, err := r.body.Read(p)
	r.pos += int64(n)
	switch {
	case err == io.EOF && r.pos < r.end:
		err = io.ErrUnexpectedEOF
	case err == io.EOF:
		err = nil
	}
	if err != nil {
		r.closeBody()
		return n, opError("read", r.key, ctxError(r.ctx, err))
	}
	return n, nil
}

func (r *reader) Read(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return 0, opError("read", r.key, fs.ErrClosed)
	}
	if r.off >= r.size {
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	n, err := r.readSome(p, r.off)
	r.off += int64(n)
	return n, err
}

// ReadAt reads len(p) bytes at off, from the open window when off is in
// it or a little ahead, else with a new ranged GET. It does not move the
// offset of Read and Seek.
func (r *reader) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, opError("read", r.key, errors.New("negative offset"))
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return 0, opError("read", r.key, fs.ErrClosed)
	}
	n := 0
	for n < len(p) {
		if off+int64(n) >= r.size {
			return n, io.EOF
		}
		m, err := r.readSome(p[n:], off+int64(n))
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

func (r *reader) Seek(offset int64, whence int) (int64, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return 0, opError("seek", r.key, fs.ErrClosed)
	}
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += r.off
	case io.SeekEnd:
		offset += r.size
	default:
		return 0, opError("seek", r.key, errors.New("invalid whence"))
	}
	if offset < 0 {
		return 0, opError("seek", r.key, errors.New("negative position"))
	}
	r.off = offset
	return offset, nil
}

// Stat returns the object's size and modification time.
func (r *reader) Stat() (fs.FileInfo, error) {
	return fileInfo{name: path.Base(r.key), size: r.size, modTime: r.modTime}, nil
}

func (r *reader) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil
	}
	r.closed = true
	r.closeBody()
	return nil
}

// fileInfo describes a stored value.
type fileInfo struct {
	name    string
	size    int64
	modTime time.Time
}

func (fi fileInfo) Name() string       { return fi.name }
func (fi fileInfo) Size() int64        { return fi.size }
func (fi fileInfo) Mode() fs.FileMode  { return 0o444 }
func (fi fileInfo) ModTime() time.Time { return fi.modTime }
func (fi fileInfo) IsDir() bool        { return false }
func (fi fileInfo) Sys() any           { return nil }
