package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/modfetch/modfetch/goenv"
)

// mainModuleRoot returns the directory of the main module, found like the
// go command finds it (cmd/go/internal/modload: Init, findModuleRoot):
// the current directory or the nearest parent holding a go.mod file,
// except the system temporary directory. When there is none, or the go
// command would not use it here, it prints the go command's error and
// returns "" and the exit status.
func mainModuleRoot(cfg *goenv.Config, stderr io.Writer) (root string, code int) {
	switch env := os.Getenv("GO111MODULE"); env {
	case "", "on", "auto":
	case "off":
		fmt.Fprintf(stderr, "go: modules disabled by GO111MODULE=off; see 'go help modules'\n")
		return "", 1
	default:
		fmt.Fprintf(stderr, "go: unknown environment setting GO111MODULE=%s\n", env)
		return "", 1
	}
	cwd, err := os.Getwd()
	if err != nil {
		fmt.Fprintf(stderr, "go: %v\n", err)
		return "", 1
	}
	if work := workFile(cwd, cfg.GOROOT); work != "" {
		// With no arguments the go command downloads "all" of every
		// module of the workspace, which modgraph does not compute.
		fmt.Fprintf(stderr, "download: workspace mode (%s) is not supported without module arguments; set GOWORK=off to download the main module's dependencies\n", work)
		return "", 1
	}
	root = findUp(cwd, "go.mod")
	if root != "" && filepath.Clean(root) == filepath.Clean(os.TempDir()) {
		fmt.Fprintf(stderr, "go: warning: ignoring go.mod in system temp root %v\n", os.TempDir())
		root = ""
	}
	if root == "" {
		fmt.Fprintf(stderr, "go: no modules specified (see 'go help mod download')\n")
		return "", 1
	}
	return root, 0
}

// workFile returns the go.work file the go command would use in dir
// (cmd/go/internal/modload: FindGoWork): $GOWORK unless "off" or "auto",
// else the nearest go.work in dir or a parent, not crossing GOROOT.
// GOWORK is read from the environment only.
func workFile(dir, goroot string) string {
	switch gowork := os.Getenv("GOWORK"); gowork {
	case "off":
		return ""
	case "", "auto":
	default:
		return gowork
	}
	for d := filepath.Clean(dir); ; {
		if fi, err := os.Stat(filepath.Join(d, "go.work")); err == nil && !fi.IsDir() {
			return filepath.Join(d, "go.work")
		}
		parent := filepath.Dir(d)
		if parent == d || goroot != "" && parent == filepath.Clean(goroot) {
			return ""
		}
		d = parent
	}
}

// findUp returns dir or its nearest parent holding a regular file named
// name, or "".
func findUp(dir, name string) string {
	for d := filepath.Clean(dir); ; {
		if fi, err := os.Stat(filepath.Join(d, name)); err == nil && !fi.IsDir() {
			return d
		}
		parent := filepath.Dir(d)
		if parent == d {
			return ""
		}
		d = parent
	}
}

// shortPath returns name relative to the current directory when that is
// shorter, as the go command names files in its messages.
func shortPath(name string) string {
	cwd, err := os.Getwd()
	if err != nil {
		return name
	}
	if rel, err := filepath.Rel(cwd, name); err == nil && len(rel) < len(name) && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return rel
	}
	return name
}
