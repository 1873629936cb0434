package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/modfetch/modfetch/upstream"
)

// parseFlags sets fs's flags from the environment (setFromEnv), then
// from args, which must hold nothing else.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := setFromEnv(fs); err != nil {
		return err
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	return nil
}

// setFromEnv sets each flag of fs from its environment variable,
// MODFETCH_<NAME> (the name in capitals, "-" as "_"), when that is set;
// the command line, parsed after, wins.
func setFromEnv(fs *flag.FlagSet) error {
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		name := "MODFETCH_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v, ok := os.LookupEnv(name); ok && err == nil {
			if e := f.Value.Set(v); e != nil {
				err = fmt.Errorf("%s=%q: %v", name, v, e)
			}
		}
	})
	return err
}

// orNone turns a flag's 0 ("none") into the library's negative value.
func orNone(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}

// parseHedge parses -hedge: "", a positive duration, or "auto".
func parseHedge(s string) (time.Duration, error) {
	switch s {
	case "":
		return 0, nil
	case "auto":
		return upstream.HedgeAuto, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("-hedge %q: want a positive duration or auto", s)
	}
	return d, nil
}

// logHealth logs each upstream's breaker state changes.
func logHealth(logger *slog.Logger) func(name string, from, to upstream.HealthState, err error) {
	return func(name string, from, to upstream.HealthState, err error) {
		level := slog.LevelWarn
		if to == upstream.Healthy {
			level = slog.LevelInfo
		}
		logger.Log(context.Background(), level, "upstream state changed", "upstream", name, "from", from, "to", to, "error", err)
	}
}
