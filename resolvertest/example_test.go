package resolvertest_test

import (
	"context"
	"fmt"

	"github.com/modfetch/modfetch/resolvertest"
)

// The Source serves the suite's modules by the Resolver contract; a test
// can use it on its own as a reference Resolver.
func ExampleSource() {
	src := resolvertest.NewSource(resolvertest.Modules())
	ctx := context.Background()
	list, _ := src.List(ctx, "example.com/hello")
	fmt.Println(list)
	info, _ := src.Latest(ctx, "example.com/hello")
	fmt.Println(info.Version, info.Time.Format("2006-01-02"))
	_, err := src.List(ctx, "not a path")
	fmt.Println(err)
	fmt.Println("calls that reached the modules:", src.Calls())
	// Output:
	// [v1.0.0 v1.1.0]
	// v1.1.0 2024-01-02
	// module not a path: malformed module path "not a path": invalid char ' '
	// calls that reached the modules: 2
}
