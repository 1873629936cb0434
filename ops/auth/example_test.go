package auth_test

import (
	"context"
	"log"
	"net/http"
	"time"

	"github.com/modfetch/modfetch/goenv"
	"github.com/modfetch/modfetch/ops/auth"
)

// A module proxy under a path prefix, closed to clients without a token,
// in a few lines: clients set GOPROXY=https://host/go/ and put the token
// in .netrc as the password for the host (GOAUTH=netrc, the default).
func Example() {
	cfg, err := goenv.Load()
	if err != nil {
		log.Fatal(err)
	}
	srv, err := cfg.Server(&goenv.ServerOptions{Options: goenv.Options{MutableTTL: time.Minute, WriteBehind: true}})
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close(context.Background()) // lets write-behind finish
	tokens, err := auth.Load("/etc/modproxy/tokens", "")
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/go/", http.StripPrefix("/go", tokens.Require(srv)))
	mux.Handle("/readyz", srv.Ready())
	log.Fatal(http.ListenAndServeTLS(":443", "cert.pem", "key.pem", mux))
}
