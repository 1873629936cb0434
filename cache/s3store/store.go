package s3store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/modfetch/modfetch/cache"
)

// Defaults of a [Store]'s fields.
const (
	// DefaultEndpoint is the endpoint of a Store with no Endpoint.
	DefaultEndpoint = "s3.amazonaws.com"

	// DefaultPartSize is the part size of a Store with no PartSize.
	DefaultPartSize = 8 << 20

	// MinPartSize is the smallest part size S3 accepts (except for the
	// last part of an upload).
	MinPartSize = 5 << 20

	// DefaultMaxRetries is the number of attempts of a request of a
	// Store with no MaxRetries.
	DefaultMaxRetries = 3
)

// A Store is a [cache.Store] on a bucket of an S3-compatible object
// store. The value of key is the object named Prefix+key in Bucket.
//
// The zero Store needs at least a Bucket. Its other fields have useful
// zero values; they must not change after first use. A Store is safe for
// concurrent use by multiple goroutines and by multiple processes
// sharing the bucket; it must not be copied after first use.
type Store struct {
	// Client is the S3 client to use. If nil, the Store makes one on
	// first use from Endpoint, Region, Insecure and Credentials, with
	// short connection timeouts (see [NewTransport]) and MaxRetries
	// attempts per request. A Client of one's own should have such
	// timeouts and few retries too, or calls to a service that is down
	// take minutes to fail.
	Client *minio.Client

	// Endpoint is the "host" or "host:port" of the S3 service, without a
	// scheme. Empty means DefaultEndpoint. Ignored when Client is set.
	Endpoint string

	// Region is the bucket's region. Empty lets the client find it out
	// (or use "us-east-1"). Ignored when Client is set.
	Region string

	// Insecure makes the client speak plain HTTP rather than HTTPS to
	// Endpoint. Ignored when Client is set.
	Insecure bool

	// Credentials sign the requests. Nil means the usual AWS environment
	// variables (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and
	// AWS_SESSION_TOKEN), then the AWS shared credentials file; with
	// none of them, requests are anonymous. Ignored when Client is set.
	Credentials *credentials.Credentials

	// MaxRetries is the number of attempts the client makes of a
	// request that fails with a network error or a retryable status.
	// Zero means DefaultMaxRetries; 1 means no retries. Ignored when
	// Client is set.
	MaxRetries int

	// Bucket is the name of the bucket. It must exist; see
	// [Store.CreateBucket].
	Bucket string

	// Prefix is put before every key to make the object name, so that
	// several stores can share a bucket. A slash is added between Prefix
	// and the key unless Prefix is empty or ends with one.
	Prefix string

	// PartSize is the size of the parts of a multipart upload, which Put
	// uses for values larger than one part. Put holds at most one part
	// in memory. Zero means DefaultPartSize; smaller values than
	// MinPartSize are raised to it.
	PartSize int64

	once   sync.Once
	client *minio.Client
	err    error
	bufs   sync.Pool // of *[]byte of partSize bytes
}

// newClient returns an S3 client for endpoint ("host" or "host:port")
// with a transport from NewTransport and maxRetries attempts per request
// (0 means DefaultMaxRetries). creds nil means the AWS environment
// variables, then the AWS shared credentials file.
func newClient(endpoint, region string, insecure bool, creds *credentials.Credentials, maxRetries int) (*minio.Client, error) {
	if endpoint == "" {
		endpoint = DefaultEndpoint
	}
	if creds == nil {
		creds = credentials.NewChainCredentials([]credentials.Provider{
			&credentials.EnvAWS{},
			&credentials.FileAWSCredentials{},
		})
	}
	if maxRetries <= 0 {
		maxRetries = DefaultMaxRetries
	}
	return minio.New(endpoint, &minio.Options{
		Creds:      creds,
		Secure:     !insecure,
		Region:     region,
		Transport:  NewTransport(),
		MaxRetries: maxRetries,
	})
}

// NewTransport returns the HTTP transport of the clients a Store makes:
// connections are dialed within 5 seconds, TLS handshakes take at most
// 10, and a response's headers must come within 15 seconds of its
// request being sent, so that calls to a service that is down fail
// within seconds. Bodies have no time limit, since
// values may be large; a caller bounds them with its ctx.
func NewTransport() *http.Transport {
	return &http.Transport{
		Proxy: http.ProxyFromEnvironment,
		DialContext: (&net.Dialer{
			Timeout:   5 * time.Second,
			KeepAlive: 30 * time.Second,
		}).DialContext,
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   64,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: 15 * time.Second,
		ExpectContinueTimeout: time.Second,
		// Values are streamed as they are; asking for gzip would turn
		// off ranged reads' exact lengths on some services.
		DisableCompression: true,
	}
}

// errNoBucket is returned by every method of a Store whose Bucket is
// empty.
var errNoBucket = errors.New("s3store: Store has no Bucket")

// minioClient returns the client of s, making it on first use.
func (s *Store) minioClient() (*minio.Client, error) {
	s.once.Do(func() {
		if s.Bucket == "" {
			s.err = errNoBucket
			return
		}
		if s.Client != nil {
			s.client = s.Client
			return
		}
		s.client, s.err = newClient(s.Endpoint, s.Region, s.Insecure, s.Credentials, s.MaxRetries)
		if s.err != nil {
			s.err = fmt.Errorf("s3store: %w", s.err)
		}
	})
	return s.client, s.err
}

// object returns the object name of key, after checking key and ctx.
func (s *Store) object(ctx context.Context, op, key string) (*minio.Client, string, error) {
	c, err := s.minioClient()
	if err != nil {
		return nil, "", err
	}
	if err := cache.CheckKey(key); err != nil {
		return nil, "", err
	}
	if err := ctx.Err(); err != nil {
		return nil, "", opError(op, key, context.Cause(ctx))
	}
	return c, s.objectName(key), nil
}

// objectName returns the name of the object holding key.
func (s *Store) objectName(key string) string {
	if s.Prefix == "" || strings.HasSuffix(s.Prefix, "/") {
		return s.Prefix + key
	}
	return s.Prefix + "/" + key
}

func (s *Store) partSize() int64 {
	switch {
	case s.PartSize <= 0:
		return DefaultPartSize
	case s.PartSize < MinPartSize:
		return MinPartSize
	}
	return s.PartSize
}

// opError is the error of operation op on key that failed with err.
func opError(op, key string, err error) error {
	return fmt.Errorf("s3store: %s %s: %w", op, key, err)
}

// isNotFound reports whether err is the service's answer that an object
// does not exist.
func isNotFound(err error) bool {
	resp := minio.ToErrorResponse(err)
	return resp.Code == minio.NoSuchKey // not NoSuchBucket, also a 404: a missing bucket is an outage
}

// notFound is the error of a Get of key whose object does not exist: it
// wraps fs.ErrNotExist and the service's error.
func notFound(key string, err error) error {
	return fmt.Errorf("s3store: get %s: %w (%w)", key, fs.ErrNotExist, err)
}

// ctxError returns err, or if ctx is done, an error wrapping both ctx's
// cause and err, so that errors.Is(err, context.Canceled) holds for a
// request that failed because its caller gave up.
func ctxError(ctx context.Context, err error) error {
	if cerr := context.Cause(ctx); cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("%w (%w)", cerr, err)
	}
	return err
}

// Get returns a reader of the value of key, or an error for which
// errors.Is(err, fs.ErrNotExist) holds if there is no such object. Get
// sends the first GET request itself, so that a missing key and an
// unreachable service fail in Get rather than in the first Read.
//
// The reader implements io.ReadCloser, io.Seeker, io.ReaderAt and
// Stat() (fs.FileInfo, error), whose FileInfo has the object's size and
// modification time. It reads the object by ranged GETs as needed (the
// first megabyte with Get's request, then growing windows while reads
// are sequential), so that reading a range of a large object transfers
// little more than the range. Every request after the first names the
// version of the object that Get found (by version ID in a versioned
// bucket, else by ETag with If-Match), so the reader never mixes two
// values: if the object has been replaced since, a read that needs
// another request fails (with an error for which errors.Is(err,
// ErrChanged) holds) rather than return bytes of another value. Values
// up to a megabyte come whole with Get's request and are read to the end
// whatever happens to the object.
//
// The reader's methods may be called concurrently; they take turns.
// Reads use the ctx given to Get, so the reader must not be used after
// ctx ends.
func (s *Store) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	c, obj, err := s.object(ctx, "get", key)
	if err != nil {
		return nil, err
	}
	return openReader(ctx, c, s.Bucket, obj, key)
}

// Put stores the bytes of r as the value of key. It reads r a part at a
// time (PartSize bytes) and never holds more than one part in memory: a
// value that fits in one part is sent with a single PUT, a larger one
// with a multipart upload, one part after another. The object appears
// only when the whole value is stored: if r fails, ctx ends or a request
// fails, Put aborts its multipart upload (with a context of its own, so
// that a canceled ctx does not leave parts behind) and returns an error
// wrapping r's error or ctx's cause; the previous value, if any, stays.
func (s *Store) Put(ctx context.Context, key string, r io.Reader) error {
	c, obj, err := s.object(ctx, "put", key)
	if err != nil {
		return err
	}
	bp := s.getBuf()
	defer s.bufs.Put(bp)
	buf := *bp

	n, err := readPart(ctx, r, buf)
	if err != nil && err != io.EOF {
		return opError("put", key, err)
	}
	core := minio.Core{Client: c}
	if err == io.EOF {
		// The whole value fits in one part.
		opts := minio.PutObjectOptions{ContentType: contentType, DisableContentSha256: true}
		if _, err := core.PutObject(ctx, s.Bucket, obj, bytes.NewReader(buf[:n]), int64(n), "", sha256Hex(buf[:n]), opts); err != nil {
			return opError("put", key, ctxError(ctx, err))
		}
		return nil
	}
	return s.putMultipart(ctx, core, obj, key, r, buf, n)
}

// putMultipart stores the value whose first part is buf[:n] and whose
// rest is in r with a multipart upload, which it aborts if it fails.
func (s *Store) putMultipart(ctx context.Context, core minio.Core, obj, key string, r io.Reader, buf []byte, n int) (err error) {
	id, err := core.NewMultipartUpload(ctx, s.Bucket, obj, minio.PutObjectOptions{ContentType: contentType})
	if err != nil {
		return opError("put", key, ctxError(ctx, err))
	}
	defer func() {
		if err == nil {
			return
		}
		// Abort with a context of its own: ctx may be what failed.
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if aerr := core.AbortMultipartUpload(actx, s.Bucket, obj, id); aerr != nil {
			err = errors.Join(err, opError("abort upload of", key, aerr))
		}
	}()
	var parts []minio.CompletePart
	for last := false; ; {
		num := len(parts) + 1
		p, err := core.PutObjectPart(ctx, s.Bucket, obj, id, num, bytes.NewReader(buf[:n]), int64(n),
			minio.PutObjectPartOptions{Sha256Hex: sha256Hex(buf[:n]), DisableContentSha256: true})
		if err != nil {
			return opError("put", key, ctxError(ctx, err))
		}
		parts = append(parts, minio.CompletePart{
			PartNumber:        num,
			ETag:              p.ETag,
			ChecksumCRC32:     p.ChecksumCRC32,
			ChecksumCRC32C:    p.ChecksumCRC32C,
			ChecksumSHA1:      p.ChecksumSHA1,
			ChecksumSHA256:    p.ChecksumSHA256,
			ChecksumCRC64NVME: p.ChecksumCRC64NVME,
		})
		if last {
			break
		}
		n, err = readPart(ctx, r, buf)
		if err == io.EOF {
			if n == 0 {
				break
			}
			last = true
		} else if err != nil {
			return opError("put", key, err)
		}
	}
	if err := ctx.Err(); err != nil {
		return opError("put", key, context.Cause(ctx))
	}
	if _, err := core.CompleteMultipartUpload(ctx, s.Bucket, obj, id, parts, minio.PutObjectOptions{}); err != nil {
		return opError("put", key, ctxError(ctx, err))
	}
	return nil
}

// contentType is the Content-Type of stored objects.
const contentType = "application/octet-stream"

// sha256Hex returns the hex SHA-256 of b, with which requests that send
// b are signed (rather than with the streaming signature, which
// allocates as much as it sends).
func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// readPart fills buf from r. It returns the number of bytes read and nil
// if buf is full, io.EOF if r ended (perhaps with buf partly full), or
// r's error, or ctx's cause once ctx is done.
func readPart(ctx context.Context, r io.Reader, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		if err := ctx.Err(); err != nil {
			return n, context.Cause(ctx)
		}
		// Read in pieces of at most 1 MiB, so that ctx is checked often.
		end := min(len(buf), n+1<<20)
		m, err := r.Read(buf[n:end])
		n += m
		if err == io.EOF {
			if cerr := ctx.Err(); cerr != nil {
				return n, context.Cause(ctx)
			}
			return n, io.EOF
		}
		if err != nil {
			return n, err
		}
	}
	if err := ctx.Err(); err != nil {
		return n, context.Cause(ctx)
	}
	return n, nil
}

func (s *Store) getBuf() *[]byte {
	size := s.partSize()
	if bp, ok := s.bufs.Get().(*[]byte); ok && int64(len(*bp)) == size {
		return bp
	}
	b := make([]byte, size)
	return &b
}

// Delete removes the object of key. Deleting a missing key is not an
// error.
func (s *Store) Delete(ctx context.Context, key string) error {
	c, obj, err := s.object(ctx, "delete", key)
	if err != nil {
		return err
	}
	if err := c.RemoveObject(ctx, s.Bucket, obj, minio.RemoveObjectOptions{}); err != nil && !isNotFound(err) {
		return opError("delete", key, ctxError(ctx, err))
	}
	return nil
}

// SignedURL returns a presigned URL from which anyone can GET the value
// of key until expiry has passed (at most 7 days, S3's limit), after a
// HEAD of the object: a missing one is an error for which
// errors.Is(err, fs.ErrNotExist) holds. It implements [cache.URLSigner].
func (s *Store) SignedURL(ctx context.Context, key string, expiry time.Duration) (*url.URL, error) {
	c, obj, err := s.object(ctx, "sign", key)
	if err != nil {
		return nil, err
	}
	if _, err := c.StatObject(ctx, s.Bucket, obj, minio.StatObjectOptions{}); err != nil {
		if isNotFound(err) {
			return nil, fmt.Errorf("s3store: sign %s: %w (%w)", key, fs.ErrNotExist, err)
		}
		return nil, opError("sign", key, ctxError(ctx, err))
	}
	u, err := c.PresignedGetObject(ctx, s.Bucket, obj, expiry, nil)
	if err != nil {
		return nil, opError("sign", key, err)
	}
	return u, nil
}

// CreateBucket creates s.Bucket if it does not exist yet, in s.Region.
func (s *Store) CreateBucket(ctx context.Context) error {
	c, err := s.minioClient()
	if err != nil {
		return err
	}
	ok, err := c.BucketExists(ctx, s.Bucket)
	if err == nil && ok {
		return nil
	}
	if err := c.MakeBucket(ctx, s.Bucket, minio.MakeBucketOptions{Region: s.Region}); err != nil {
		code := minio.ToErrorResponse(err).Code
		if code == "BucketAlreadyOwnedByYou" || code == "BucketAlreadyExists" {
			return nil
		}
		return fmt.Errorf("s3store: create bucket %s: %w", s.Bucket, err)
	}
	return nil
}

var (
	_ cache.Store     = (*Store)(nil)
	_ cache.URLSigner = (*Store)(nil)
)
