package s3store

import (
	"context"
	"fmt"
	"io/fs"
	"net/url"
	"strconv"
	"strings"
)

// A URLError reports a store URL that [ParseURL] cannot use.
type URLError struct {
	URL    string // as given
	Reason string
}

func (e *URLError) Error() string {
	return fmt.Sprintf("s3store: bad store URL %q: %s", e.URL, e.Reason)
}

// ParseURL returns a Store described by a URL of the form
//
//	s3://BUCKET/PREFIX?endpoint=HOST:PORT&region=REGION&insecure=true
//
// BUCKET is required; PREFIX (the Store's Prefix, perhaps with slashes)
// and every query parameter are optional. endpoint defaults to
// DefaultEndpoint; insecure (a boolean as strconv.ParseBool reads it)
// makes the client speak plain HTTP to it. Credentials come from the
// AWS environment variables or shared credentials file, as for a Store
// with nil Credentials. Any other parameter, a user, a port after the
// bucket, or a fragment is an error, of type *URLError. ParseURL makes
// no request.
func ParseURL(rawURL string) (*Store, error) {
	bad := func(format string, args ...any) error {
		return &URLError{URL: rawURL, Reason: fmt.Sprintf(format, args...)}
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, bad("%v", err)
	}
	switch {
	case u.Scheme != "s3":
		return nil, bad("the scheme must be s3://")
	case u.Opaque != "":
		return nil, bad("want s3://BUCKET/PREFIX")
	case u.User != nil:
		return nil, bad("a user or password is not allowed; credentials come from the environment")
	case u.Port() != "" || strings.HasSuffix(u.Host, ":"):
		return nil, bad("a port after the bucket name is not allowed; use ?endpoint=HOST:PORT")
	case u.Host == "":
		return nil, bad("no bucket name")
	case u.Fragment != "" || strings.Contains(rawURL, "#"):
		return nil, bad("a fragment is not allowed")
	}
	s := &Store{Bucket: u.Host}
	if prefix := strings.TrimPrefix(u.Path, "/"); prefix != "" {
		for elem := range strings.SplitSeq(strings.TrimSuffix(prefix, "/"), "/") {
			if elem == "" || elem == "." || elem == ".." {
				return nil, bad("prefix %q has an empty, %q or %q element", prefix, ".", "..")
			}
		}
		s.Prefix = prefix
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return nil, bad("query: %v", err)
	}
	for name, vals := range q {
		if len(vals) != 1 {
			return nil, bad("parameter %q given %d times", name, len(vals))
		}
		v := vals[0]
		switch name {
		case "endpoint":
			if v == "" || strings.Contains(v, "/") {
				return nil, bad("endpoint %q is not HOST or HOST:PORT", v)
			}
			s.Endpoint = v
		case "region":
			if v == "" {
				return nil, bad("empty region")
			}
			s.Region = v
		case "insecure":
			b, err := strconv.ParseBool(v)
			if err != nil {
				return nil, bad("insecure=%q is not a boolean", v)
			}
			s.Insecure = b
		default:
			return nil, bad("unknown parameter %q (want endpoint, region or insecure)", name)
		}
	}
	return s, nil
}

// Open returns the Store that ParseURL makes of rawURL, after checking
// that its bucket exists (an error for which errors.Is(err,
// fs.ErrNotExist) holds if not) and so that the service answers with
// these credentials.
func Open(ctx context.Context, rawURL string) (*Store, error) {
	s, err := ParseURL(rawURL)
	if err != nil {
		return nil, err
	}
	c, err := s.minioClient()
	if err != nil {
		return nil, err
	}
	ok, err := c.BucketExists(ctx, s.Bucket)
	if err != nil {
		return nil, fmt.Errorf("s3store: bucket %s at %s: %w", s.Bucket, c.EndpointURL().Host, ctxError(ctx, err))
	}
	if !ok {
		return nil, fmt.Errorf("s3store: bucket %s at %s: %w", s.Bucket, c.EndpointURL().Host, fs.ErrNotExist)
	}
	return s, nil
}
