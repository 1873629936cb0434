package rules_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/modfetch/modfetch"
	"github.com/modfetch/modfetch/rules"
	"github.com/modfetch/modfetch/upstream"
)

func Example() {
	set, err := rules.Parse([]byte(`
# A compromised release, and everything before a security fix.
deny example.com/m@v1.2.3
deny example.com/m@<v1.1.0
# Nothing from this host at all.
deny *.evil.example
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, v := range []string{"v1.0.0", "v1.2.2", "v1.2.3"} {
		ok, reason := set.Allowed("example.com/m", v)
		fmt.Println(v, ok, reason)
	}
	ok, reason := set.Allowed("git.evil.example/tool", "")
	fmt.Println("git.evil.example/tool", ok, reason)
	// Output:
	// v1.0.0 false denied by rule at line 4 (deny example.com/m@<v1.1.0)
	// v1.2.2 true no rule denies it
	// v1.2.3 false denied by rule at line 3 (deny example.com/m@v1.2.3)
	// git.evil.example/tool false denied by rule at line 6 (deny *.evil.example)
}

// A Filter in front of any Resolver refuses what its rules deny, with
// errors that proxy.Handler answers with 403.
func ExampleFilter() {
	// Next is any Resolver: a goenv.Stack, a cache.Cache, a proxy...
	f := &rules.Filter{Next: &upstream.Proxy{URL: "https://proxy.golang.org"}}
	set, err := rules.Parse([]byte("deny example.com/m@v1.2.3\n"))
	if err != nil {
		fmt.Println(err)
		return
	}
	f.Store(set) // at any time, while f serves

	_, err = f.Zip(context.Background(), "example.com/m", "v1.2.3") // refused before asking Next
	fmt.Println(err)
	fmt.Println(errors.Is(err, rules.ErrDenied), errors.Is(err, modfetch.ErrForbidden))
	// Output:
	// example.com/m@v1.2.3: denied by rule at line 1 (deny example.com/m@v1.2.3)
	// true true
}

func ExampleParse_error() {
	_, err := rules.Parse([]byte("allow example.com/*\nblock example.com/m\ndeny example.com/m@v1.2\n"))
	fmt.Println(err)
	// Output:
	// line 2: unknown verb "block": want allow or deny
	// line 3: bad version "v1.2": an exact version must be canonical (v1.2.0); for every v1.2.x, write >=v1.2,<...
}
