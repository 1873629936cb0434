package s3store_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"os"

	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/modfetch/modfetch/cache"
	"github.com/modfetch/modfetch/cache/s3store"
	"github.com/modfetch/modfetch/upstream"
)

// A caching proxy's store on a bucket shared with other proxies, from a
// server flag's URL. (It needs an S3 service, so it is not run.)
func ExampleOpen() {
	ctx := context.Background()
	s, err := s3store.Open(ctx, "s3://modules/proxy1?endpoint=127.0.0.1:7070&insecure=true")
	if err != nil {
		log.Fatal(err)
	}
	c := &cache.Cache{Next: &upstream.Proxy{URL: "https://proxy.golang.org"}, Store: s}
	rc, err := c.Zip(ctx, "golang.org/x/mod", "v0.20.0")
	if err != nil {
		log.Fatal(err)
	}
	defer rc.Close()
	n, err := io.Copy(io.Discard, rc)
	fmt.Println(n, err)
}

// A Store with explicit options. (It needs an S3 service, so it is not
// run.)
func ExampleStore() {
	s := &s3store.Store{
		Endpoint:    "minio.internal:9000",
		Credentials: credentials.NewStaticV4(os.Getenv("MINIO_USER"), os.Getenv("MINIO_PASSWORD"), ""),
		Bucket:      "modules",
		Prefix:      "ci",
	}
	ctx := context.Background()
	if err := s.CreateBucket(ctx); err != nil {
		log.Fatal(err)
	}
	v, err := cache.ReadValue(ctx, s, "golang.org/x/mod/@v/list", 1<<20)
	fmt.Printf("%s %v\n", v, err)
}

func ExampleParseURL() {
	s, err := s3store.ParseURL("s3://modules/team/proxy1?endpoint=127.0.0.1:7070&region=us-east-1&insecure=true")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(s.Bucket, s.Prefix, s.Endpoint, s.Region, s.Insecure)

	_, err = s3store.ParseURL("s3://modules:9000/proxy1")
	fmt.Println(err)
	// Output:
	// modules team/proxy1 127.0.0.1:7070 us-east-1 true
	// s3store: bad store URL "s3://modules:9000/proxy1": a port after the bucket name is not allowed; use ?endpoint=HOST:PORT
}
