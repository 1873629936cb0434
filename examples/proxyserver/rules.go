package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/modfetch/modfetch/rules"
)

// loadRules reads and parses the -rules file at path.
func loadRules(path string) (*rules.Set, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("-rules: %w", err)
	}
	s, err := rules.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("-rules %s: %w", path, err)
	}
	return s, nil
}

// watchRules returns a rules.Filter with the rules of the file at path
// (its Next is for the caller to set, before serving), and reads the file
// again on each SIGHUP until ctx ends. A reload swaps the rules
// atomically: requests under way finish with the rules they began with,
// and none is dropped. A file that cannot be read or parsed on a reload
// leaves the previous rules in force, and the error is logged. (Replace
// the file by renaming a new one over it, so that a reload never reads a
// half-written file.)
func watchRules(ctx context.Context, path string, logger *slog.Logger) (*rules.Filter, error) {
	s, err := loadRules(path)
	if err != nil {
		return nil, err
	}
	f := new(rules.Filter)
	f.Store(s)
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go func() {
		defer signal.Stop(hup)
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				s, err := loadRules(path)
				if err != nil {
					logger.Error("rules not reloaded: keeping the previous rules", "file", path, "error", err)
					continue
				}
				f.Store(s)
				logger.Info("rules reloaded", "file", path)
			}
		}
	}()
	return f, nil
}
