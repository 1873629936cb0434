// Package s3store is a [cache.Store] on a bucket of any S3-compatible
// object store (Amazon S3, MinIO, versitygw, Ceph, R2, GCS's XML API...),
// on the minio-go client. Several module proxies can share one bucket,
// each under its own key prefix, and share what they fetched.
//
//	s, err := s3store.Open(ctx, "s3://modules/proxy1?region=eu-west-1")
//	...
//	c := &cache.Cache{Next: upstream, Store: s}
//
// A [Store] is a struct with documented fields ([Store.Client] or
// [Store.Endpoint] and [Store.Credentials], [Store.Bucket],
// [Store.Prefix]); [ParseURL] and [Open] make one from the URL a server
// flag takes:
//
//	s3://BUCKET/PREFIX?endpoint=HOST:PORT&region=REGION&insecure=true
//
// Credentials come from the usual AWS environment variables
// (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN) or the
// AWS shared credentials file, unless given explicitly.
//
// # Values and objects
//
// The value of key is the object "Prefix/key" (or just key with no
// Prefix). [Store.Put] streams its
// input a part at a time (PartSize, 8 MiB by default): a value of one
// part goes out in a single PUT, a larger one as a multipart upload whose
// parts are sent one after another, so Put holds at most one part in
// memory. The object appears only once the whole value is stored; a Put
// that fails (its reader fails, its ctx ends, a request fails) aborts its
// multipart upload, so it leaves no object and no incomplete upload.
// (Only if the abort itself fails, the service being unreachable, is an
// incomplete upload left, and Put's error says so; a bucket lifecycle
// rule AbortIncompleteMultipartUpload clears such leftovers.)
//
// [Store.Get] sends a GET for the whole object before it returns: a
// missing key fails there, with an error for which errors.Is(err,
// fs.ErrNotExist) holds. Its reader knows the object's size and
// modification time (Stat) and reads at any offset (io.ReaderAt,
// io.Seeker): a read elsewhere than where the current response is drops
// that response and asks for a range, a small one at first and doubling
// while reads go on in order, so that serving an HTTP Range request or
// hashing a zip through its directory does not download the whole
// object. A reader reading from the start to the end uses one response
// and so one version of the object, whatever Puts and Deletes happen
// meanwhile. Ranged requests name the version that Get saw (by version
// ID in a versioned bucket, else with If-Match on its ETag), so a reader
// never mixes two values: if the object changed, such a read fails with
// [ErrChanged].
//
// [Store] also implements [cache.URLSigner] with presigned GET URLs, for
// a proxy that redirects clients to the bucket for zips.
//
// # Outages
//
// A Store makes its client unless given one, with [NewTransport]: connections
// are dialed within 5 seconds, response headers must come within 15
// seconds of a request, and a request is tried at most MaxRetries times
// (3 by default, rather than minio-go's 10), so that when the service is
// down, calls fail within a few seconds rather than minutes. Bodies have
// no time limit other than the caller's ctx.
//
// # Testing
//
// The tests run against a real S3 service named by environment
// variables; without them they skip, unless MODFETCH_TEST_SERVICES is
// "required", when they fail:
//
//	MODFETCH_TEST_S3_ENDPOINT  host:port of the service, plain HTTP
//	MODFETCH_TEST_S3_BUCKET    a bucket the tests may create
//	AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY
//
// Each test works under a prefix of its own and removes its objects
// afterwards. To run them locally with versitygw (an S3 server on a
// directory) on loopback:
//
//	go install github.com/versity/versitygw/cmd/versitygw@v1.8.0
//	mkdir -p /tmp/s3data
//	ROOT_ACCESS_KEY_ID=modfetch ROOT_SECRET_ACCESS_KEY=modfetchsecret \
//		versitygw --port 127.0.0.1:7070 --quiet posix /tmp/s3data &
//	export MODFETCH_TEST_S3_ENDPOINT=127.0.0.1:7070 MODFETCH_TEST_S3_BUCKET=modfetch-test
//	export AWS_ACCESS_KEY_ID=modfetch AWS_SECRET_ACCESS_KEY=modfetchsecret
//	go test -race github.com/modfetch/modfetch/cache/s3store
//
// The posix backend needs a file system with extended attributes (tmpfs,
// ext4, xfs). BenchmarkGet compares reading a 16 MiB value from the
// service with reading it from a [cache.DirStore].
package s3store
