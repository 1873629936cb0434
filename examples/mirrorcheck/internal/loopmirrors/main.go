// Command loopmirrors serves the three loopback mirrors of mirrorcheck's
// README demonstration until interrupted: healthy on 127.0.0.1:7001, slow
// (each module answer delayed by -delay) on :7002, tampering on :7003,
// each serving the loopback checksum database under /sumdb/. It prints
// the environment and the sample to check them with.
//
//	go run ./examples/mirrorcheck/internal/loopmirrors [-port 7001] [-delay 50ms]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/modfetch/modfetch/examples/mirrorcheck/internal/loopback"
)

func main() {
	port := flag.Int("port", 7001, "port of the healthy mirror; the slow and tampering ones take the next two")
	delay := flag.Duration("delay", 50*time.Millisecond, "delay of the slow mirror's answers")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := serve(ctx, *port, *delay); err != nil {
		fmt.Fprintf(os.Stderr, "loopmirrors: %v\n", err)
		os.Exit(1)
	}
}

func serve(ctx context.Context, port int, delay time.Duration) error {
	m := loopback.New(delay)
	handlers := []http.Handler{m.Healthy, m.Slow, m.Tamper}
	var urls []string
	errc := make(chan error, len(handlers))
	for i, h := range handlers {
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port+i))
		if err != nil {
			return err
		}
		srv := &http.Server{Handler: h}
		go func() { errc <- srv.Serve(l) }()
		defer srv.Close()
		urls = append(urls, "http://"+l.Addr().String())
	}
	fmt.Printf("healthy %s, slow %s (+%s), tampering %s\n", urls[0], urls[1], delay, urls[2])
	fmt.Printf("export GOSUMDB='%s' GOPRIVATE= GONOPROXY= GONOSUMDB=\n", m.GOSUMDB())
	fmt.Printf("sample: %s\n", strings.Join(m.Sample(), " "))
	select {
	case <-ctx.Done():
		return nil
	case err := <-errc:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return err
	}
}
