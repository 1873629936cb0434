package checksum_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/modfetch/modfetch/checksum"
	"github.com/modfetch/modfetch/upstream"
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
	// A module proxy (a file tree in the GOPROXY layout) on which someone
	// replaced the go.mod file of example.com/hello v1.0.0.
	tree, _ := os.MkdirTemp("", "proxy")
	defer os.RemoveAll(tree)
	os.MkdirAll(filepath.Join(tree, "example.com/hello/@v"), 0o777)
	os.WriteFile(filepath.Join(tree, "example.com/hello/@v/v1.0.0.mod"), []byte("module example.com/hello // and something evil\n"), 0o666)

	// The hash recorded in go.sum when the module was first used (a
	// checksum.DB vouches the same way, for modules go.sum lacks).
	genuine, _ := checksum.HashGoMod([]byte("module example.com/hello\n"))
	sums := new(checksum.GoSum)
	sums.Add("example.com/hello", "v1.0.0", true, genuine)

	v := &checksum.Verify{Next: &upstream.Proxy{URL: "file://" + filepath.ToSlash(tree)}, GoSum: sums}
	_, err := v.GoMod(context.Background(), "example.com/hello", "v1.0.0")
	var mismatch *checksum.MismatchError
	if errors.As(err, &mismatch) {
		fmt.Println("refused:", mismatch.Path, mismatch.Version, "go.mod:", mismatch.GoMod)
		fmt.Println("want", mismatch.Want)
	}
	// Output:
	// refused: example.com/hello v1.0.0 go.mod: true
	// want h1:fpu2YBs8Cn+uPELS7pdczZmF9hlK1PibTkwahffYMfo=
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
