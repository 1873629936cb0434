package s3store

import (
	"errors"
	"io/fs"
	"strconv"
	"strings"
	"testing"
	"time"
)

// parsed is what ParseURL sets of a Store.
type parsed struct {
	Bucket, Prefix, Endpoint, Region string
	Insecure                         bool
}

func TestParseURL(t *testing.T) {
	for _, tc := range []struct {
		url  string
		want parsed
	}{
		{"s3://modules", parsed{Bucket: "modules"}},
		{"s3://modules/", parsed{Bucket: "modules"}},
		{"s3://modules/proxy1", parsed{Bucket: "modules", Prefix: "proxy1"}},
		{"s3://modules/team/proxy1/", parsed{Bucket: "modules", Prefix: "team/proxy1/"}},
		{"s3://modules/p?endpoint=127.0.0.1:7070&region=us-east-1&insecure=true",
			parsed{Bucket: "modules", Prefix: "p", Endpoint: "127.0.0.1:7070", Region: "us-east-1", Insecure: true}},
		{"s3://modules?endpoint=minio.internal&insecure=0", parsed{Bucket: "modules", Endpoint: "minio.internal"}},
		{"s3://modules?region=eu-west-1", parsed{Bucket: "modules", Region: "eu-west-1"}},
		{"s3://my.bucket-1/a%2Bb", parsed{Bucket: "my.bucket-1", Prefix: "a+b"}},
	} {
		s, err := ParseURL(tc.url)
		if err != nil {
			t.Errorf("ParseURL(%q): %v", tc.url, err)
			continue
		}
		got := parsed{s.Bucket, s.Prefix, s.Endpoint, s.Region, s.Insecure}
		if got != tc.want || s.Client != nil || s.Credentials != nil {
			t.Errorf("ParseURL(%q) = %+v, want %+v", tc.url, got, tc.want)
		}
	}
}

func TestParseURLErrors(t *testing.T) {
	for _, u := range []string{
		"",
		"modules",
		"/modules/p",
		"s3:modules",
		"s3:///prefix",
		"http://modules/p",
		"S4://modules",
		"s3://user:pass@modules/p",
		"s3://modules:9000/p",
		"s3://modules:/p",
		"s3://modules/p#frag",
		"s3://modules//p",
		"s3://modules/a/../b",
		"s3://modules/./b",
		"s3://modules?endpoint=",
		"s3://modules?endpoint=http://host:9000",
		"s3://modules?region=",
		"s3://modules?insecure=yes please",
		"s3://modules?insecure=maybe",
		"s3://modules?endpoint=a&endpoint=b",
		"s3://modules?secret=x",
		"s3://modules?endpoint=%zz",
		"s3://mod%zzules",
	} {
		s, err := ParseURL(u)
		if err == nil {
			t.Errorf("ParseURL(%q) = bucket %q prefix %q, want an error", u, s.Bucket, s.Prefix)
			continue
		}
		var ue *URLError
		if !errors.As(err, &ue) || ue.URL != u {
			t.Errorf("ParseURL(%q): error %v is not a *URLError naming the URL", u, err)
		}
	}
}

func TestObjectName(t *testing.T) {
	for _, tc := range []struct{ prefix, key, want string }{
		{"", "a/@v/list", "a/@v/list"},
		{"p", "a/@v/list", "p/a/@v/list"},
		{"p/", "a/@v/list", "p/a/@v/list"},
		{"team/p", "x", "team/p/x"},
	} {
		s := &Store{Prefix: tc.prefix}
		if got := s.objectName(tc.key); got != tc.want {
			t.Errorf("Prefix %q: objectName(%q) = %q, want %q", tc.prefix, tc.key, got, tc.want)
		}
	}
}

func TestOpen(t *testing.T) {
	endpoint, bucket := testService(t)
	// The bucket exists once a test store has been made on it.
	ts := newTestStore(t, nil)
	s, err := Open(t.Context(), "s3://"+bucket+"/"+ts.Prefix+"?insecure=true&endpoint="+endpoint)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Put(t.Context(), "a/@v/list", strings.NewReader("v1.0.0\n")); err != nil {
		t.Fatal(err)
	}
	// The same object through the test store.
	if got := readAll(t, ts, "a/@v/list"); string(got) != "v1.0.0\n" {
		t.Errorf("value put through an opened store reads %q through another", got)
	}

	_, err = Open(t.Context(), "s3://no-such-bucket-"+strconv.FormatInt(time.Now().UnixNano(), 36)+"?insecure=true&endpoint="+endpoint)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Open of a missing bucket: %v, want fs.ErrNotExist", err)
	}
}
