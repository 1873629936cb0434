package checksum_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http/httptest"
	"time"

	"github.com/modfetch/modfetch/checksum"
	"github.com/modfetch/modfetch/internal/fixture"
)

func ExampleHashGoMod() {
	h, _ := checksum.HashGoMod([]byte("module github.com/docker/docker\n"))
	fmt.Println(h)
	// Output: h1:eEKB0N0r5NX/I1kEveEz05bcu8tLC/8azJZsviup8Sk=
}

func ExampleGoSum_Check() {
	sum, err := checksum.ParseGoSum("go.sum", []byte(
		"github.com/pkg/errors v0.9.1 h1:FEBLx1zS214owpjy7qsBeixbURkuhQAwrK5UwLGTwt4=\n"))
	if err != nil {
		panic(err)
	}
	found, err := sum.Check("github.com/pkg/errors", "v0.9.1", false, "h1:FEBLx1zS214owpjy7qsBeixbURkuhQAwrK5UwLGTwt4=")
	fmt.Println(found, err)
	_, err = sum.Check("github.com/pkg/errors", "v0.9.1", false, "h1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")
	var mismatch *checksum.MismatchError
	fmt.Println(errors.As(err, &mismatch), mismatch.Want)
	// Output:
	// true <nil>
	// true h1:FEBLx1zS214owpjy7qsBeixbURkuhQAwrK5UwLGTwt4=
}

func ExampleVerify() {
	// Modules, and a checksum database that vouches for them.
	modules := fixture.Standard()
	db := fixture.NewSumDB("sum.example.com", modules.GoSumLines)
	srv := httptest.NewServer(db)
	defer srv.Close()

	// Someone replaced the code of example.com/hello v1.0.0 upstream.
	tampered := fixture.Standard()
	evil := tampered.Add("example.com/hello", "v1.0.0", map[string]string{
		"go.mod":   "module example.com/hello\n",
		"hello.go": "package hello // and something evil",
	}, time.Now())
	tampered.Put(evil)

	v := &checksum.Verify{
		Next: tampered,
		DB:   &checksum.DB{Key: db.Key, URL: srv.URL},
	}
	ctx := context.Background()
	rc, err := v.Zip(ctx, "example.com/hello", "v1.1.0")
	if err != nil {
		panic(err)
	}
	data, _ := io.ReadAll(rc)
	rc.Close()
	fmt.Println("v1.1.0 verified:", len(data) > 0)

	// A tampered zip fails when read to its end: the reader holds back the
	// last bytes until the zip is verified.
	rc, err = v.Zip(ctx, "example.com/hello", "v1.0.0")
	if err == nil {
		_, err = io.ReadAll(rc)
		rc.Close()
	}
	var mismatch *checksum.MismatchError
	fmt.Println("v1.0.0 refused:", errors.As(err, &mismatch), mismatch.Source)
	// Output:
	// v1.1.0 verified: true
	// v1.0.0 refused: true sum.example.com
}

func ExampleParseGOSUMDB() {
	db, _ := checksum.ParseGOSUMDB("sum.golang.org")
	fmt.Println(db.Name(), db.Key == checksum.SumGolangOrg)
	db, _ = checksum.ParseGOSUMDB("off")
	fmt.Println(db == nil)
	_, err := checksum.ParseGOSUMDB("sum.example.com")
	fmt.Println(err)
	// Output:
	// sum.golang.org true
	// true
	// invalid GOSUMDB: malformed verifier id
}
