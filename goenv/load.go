package goenv

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
)

// builtinGoEnv holds the settings of the go.env file that ships with every Go
// distribution. Load uses them when no $GOROOT/go.env can be found, so that a
// program built with this package and run on a machine without a Go
// installation behaves like a stock go command.
func builtinGoEnv() map[string]string {
	return map[string]string{
		"GOPROXY": "https://proxy.golang.org,direct",
		"GOSUMDB": "sum.golang.org",
	}
}

// Load returns the Config the go command would use in the current process,
// computed the way `go env` computes it (cmd/go/internal/cfg):
//
//   - Each variable is taken from the process environment, else from the
//     user env file, else from $GOROOT/go.env, else from its built-in
//     default. An environment variable set to the empty string counts as
//     unset, but an empty value written in the user env file (NAME=) shadows
//     go.env.
//   - The user env file is $GOENV, or os.UserConfigDir()/go/env; GOENV=off
//     disables it. Its lines are NAME=VALUE as written by `go env -w`; values
//     are not quoted, the first '=' splits, and lines that are empty, lack
//     '=' or do not start with an upper-case ASCII letter (comments) are
//     ignored. A file that cannot be read is treated as empty, as the go
//     command does.
//   - GOROOT is $GOROOT, else the user env file's GOROOT, else the
//     installation holding the `go` executable found in $PATH (symlinks
//     resolved; recognised by a go.env or VERSION file), else the GOROOT this
//     program was built with if it still exists. If no go.env file is found
//     there, the distribution's defaults are used:
//     GOPROXY=https://proxy.golang.org,direct and GOSUMDB=sum.golang.org.
//   - GOAUTH defaults to "netrc"; GONOPROXY and GONOSUMDB to GOPRIVATE;
//     GOPATH to $HOME/go (unless that is GOROOT); GOMODCACHE to
//     GOPATH[0]/pkg/mod. GOINSECURE and GOVCS have no default.
//   - NETRC is $NETRC, else ~/.netrc (on Windows ~/_netrc when it exists).
//     The file is not read by Load; see [Config.HTTPClient].
//   - ModCacheRW reflects -modcacherw in GOFLAGS (the last occurrence wins).
//     Other flags are ignored, including -insecure, which only `go get`
//     rejects.
//
// Load fails if GOFLAGS cannot be parsed (an unterminated quote, a word that
// is not a flag, a bad -modcacherw value), if a GOPATH entry set explicitly is
// relative or starts with '~' (a relative default GOPATH derived from $HOME is
// dropped instead, as the go command does), or if [Config.Validate] fails.
// Load never prints and never exits.
func Load() (*Config, error) {
	return load(osEnv{})
}

// envSource is what load needs from the process: its environment and the
// locations the os package derives from it. Tests substitute a fake.
type envSource interface {
	// Getenv returns the value of the environment variable key; unset and
	// empty are the same.
	Getenv(key string) string
	// UserConfigDir is os.UserConfigDir.
	UserConfigDir() (string, error)
	// UserHomeDir is os.UserHomeDir.
	UserHomeDir() (string, error)
	// LookPath is exec.LookPath.
	LookPath(file string) (string, error)
	// BuiltinGOROOT is the GOROOT recorded when the program was built
	// (runtime.GOROOT), or "".
	BuiltinGOROOT() string
}

// osEnv is the envSource of the running process.
type osEnv struct{}

func (osEnv) Getenv(key string) string             { return os.Getenv(key) }
func (osEnv) UserConfigDir() (string, error)       { return os.UserConfigDir() }
func (osEnv) UserHomeDir() (string, error)         { return os.UserHomeDir() }
func (osEnv) LookPath(file string) (string, error) { return exec.LookPath(file) }
func (osEnv) BuiltinGOROOT() string                { return runtime.GOROOT() }

// envLookup resolves variables with the go command's precedence.
type envLookup struct {
	env    envSource
	user   map[string]string // user env file
	goroot map[string]string // $GOROOT/go.env or the built-in defaults
}

// get returns the effective value of key, without any built-in default.
func (l *envLookup) get(key string) string {
	if v := l.env.Getenv(key); v != "" {
		return v
	}
	if v, ok := l.user[key]; ok {
		return v
	}
	return l.goroot[key]
}

// getOr returns get(key), or def when that is empty.
func (l *envLookup) getOr(key, def string) string {
	if v := l.get(key); v != "" {
		return v
	}
	return def
}

func load(env envSource) (*Config, error) {
	c := new(Config)
	l := &envLookup{env: env}

	// User env file (cmd/go/internal/cfg: EnvFile).
	switch file := env.Getenv("GOENV"); file {
	case "off":
		c.GOENV = "off"
	case "":
		if dir, err := env.UserConfigDir(); err == nil && dir != "" {
			c.GOENV = filepath.Join(dir, "go", "env")
		}
	default:
		c.GOENV = file
	}
	if c.GOENV != "" && c.GOENV != "off" {
		l.user = readEnvFile(c.GOENV)
	}

	// GOROOT and its go.env (cfg: initEnvCache, findGOROOT).
	c.GOROOT = findGOROOT(env, l.user["GOROOT"])
	if c.GOROOT != "" {
		l.goroot = readEnvFile(filepath.Join(c.GOROOT, "go.env"))
	}
	if l.goroot == nil {
		l.goroot = builtinGoEnv()
	}
	delete(l.goroot, "GOROOT") // go.env cannot name a different GOROOT.

	c.GOPROXY = l.get("GOPROXY")
	c.GOSUMDB = l.get("GOSUMDB")
	c.GOPRIVATE = l.get("GOPRIVATE")
	c.GONOPROXY = l.getOr("GONOPROXY", c.GOPRIVATE)
	c.GONOSUMDB = l.getOr("GONOSUMDB", c.GOPRIVATE)
	c.GOINSECURE = l.get("GOINSECURE")
	c.GOVCS = l.get("GOVCS")
	c.GOAUTH = l.getOr("GOAUTH", "netrc")
	c.GOFLAGS = l.get("GOFLAGS")

	// GOPATH (cfg: defaultContext, gopath; go/build: defaultGOPATH).
	home, err := env.UserHomeDir()
	if err != nil {
		home = ""
	}
	defGOPATH := ""
	if home != "" {
		defGOPATH = filepath.Join(home, "go")
		if filepath.Clean(defGOPATH) == filepath.Clean(c.GOROOT) {
			defGOPATH = "" // never default GOPATH to GOROOT
		}
	}
	explicitGOPATH := l.get("GOPATH")
	c.GOPATH = explicitGOPATH
	if c.GOPATH == "" {
		c.GOPATH = defGOPATH
	}

	// GOMODCACHE is computed from GOPATH before the GOPATH checks below,
	// as in the go command, where it is a package-level variable.
	defModCache := ""
	if list := filepath.SplitList(c.GOPATH); len(list) > 0 && list[0] != "" {
		defModCache = filepath.Join(list[0], "pkg", "mod")
	}
	c.GOMODCACHE = l.getOr("GOMODCACHE", defModCache)

	// cmd/go/main.go: a relative GOPATH inferred from $HOME is dropped; one
	// set explicitly is an error (reported by checkGOPATH, via Validate).
	if explicitGOPATH == "" && !sameGOPATHAndGOROOT(c.GOPATH, c.GOROOT) {
		for _, p := range filepath.SplitList(c.GOPATH) {
			if p != "" && !filepath.IsAbs(p) {
				c.GOPATH = ""
				break
			}
		}
	}

	// NETRC (cmd/go/internal/auth: netrcPath).
	c.NETRC = env.Getenv("NETRC")
	if c.NETRC == "" {
		c.NETRC = defaultNetrcPath(home)
	}

	c.ModCacheRW, err = parseModCacheRW(c.GOFLAGS)
	if err != nil {
		return nil, err
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// Validate reports whether c can be used to fetch modules, with the errors
// the go command reports for the same settings:
//
//   - GOMODCACHE must be set and absolute ("GOMODCACHE entry is relative;
//     must be absolute path: ..." and "module cache not found: neither
//     GOMODCACHE nor GOPATH is set");
//   - each non-empty GOPATH entry must be absolute and must not start with
//     '~', unless GOPATH equals GOROOT (which the go command only warns
//     about);
//   - GOAUTH must parse, and use only "netrc" and "off" (see
//     [Config.HTTPClient]); the empty string means the default, "netrc".
//
// The other fields are checked by the packages that use them.
func (c *Config) Validate() error {
	if err := checkGOPATH(c.GOPATH, c.GOROOT); err != nil {
		return err
	}
	if c.GOMODCACHE == "" {
		return errors.New("module cache not found: neither GOMODCACHE nor GOPATH is set")
	}
	if !filepath.IsAbs(c.GOMODCACHE) {
		return fmt.Errorf("GOMODCACHE entry is relative; must be absolute path: %q.", c.GOMODCACHE)
	}
	if _, err := parseGOAUTH(c.GOAUTH); err != nil {
		return err
	}
	return nil
}

// checkGOPATH applies the GOPATH checks of cmd/go/main.go.
func checkGOPATH(gopath, goroot string) error {
	if sameGOPATHAndGOROOT(gopath, goroot) {
		return nil // the go command only warns
	}
	for _, p := range filepath.SplitList(gopath) {
		if p == "" {
			continue // empty elements are ignored
		}
		if strings.HasPrefix(p, "~") {
			return fmt.Errorf("GOPATH entry cannot start with shell metacharacter '~': %q", p)
		}
		if !filepath.IsAbs(p) {
			return fmt.Errorf("GOPATH entry is relative; must be absolute path: %q.", p)
		}
	}
	return nil
}

func sameGOPATHAndGOROOT(gopath, goroot string) bool {
	return gopath != "" && filepath.Clean(gopath) == filepath.Clean(goroot)
}

// readEnvFile parses a go env file (the user file or $GOROOT/go.env) the way
// cmd/go/internal/cfg.readEnvFile does. It returns nil if the file cannot be
// read, for any reason.
func readEnvFile(file string) map[string]string {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil
	}
	return parseEnvFile(data)
}

// parseEnvFile parses NAME=VALUE lines. Lines without '=' and lines that do
// not start with an upper-case ASCII letter (blank lines, comments) are
// skipped; the value is everything after the first '=', unquoted and
// untrimmed. A later line for the same name overrides an earlier one.
func parseEnvFile(data []byte) map[string]string {
	m := make(map[string]string)
	for len(data) > 0 {
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		i := bytes.IndexByte(line, '=')
		if i < 0 || line[0] < 'A' || 'Z' < line[0] {
			continue
		}
		m[string(line[:i])] = string(line[i+1:])
	}
	return m
}

// findGOROOT returns the Go installation to take go.env from, or "".
// userGOROOT is the GOROOT set in the user env file.
func findGOROOT(env envSource, userGOROOT string) string {
	if r := env.Getenv("GOROOT"); r != "" {
		return filepath.Clean(r)
	}
	if userGOROOT != "" {
		return filepath.Clean(userGOROOT)
	}
	if exe, err := env.LookPath("go"); err == nil {
		if exe, err = filepath.Abs(exe); err == nil {
			// Like cmd/go's findGOROOT: the executable is GOROOT/bin/go or
			// GOROOT/bin/GOOS_GOARCH/go, perhaps behind a symlink such as
			// /usr/local/bin/go.
			cands := []string{exe}
			if real, err := filepath.EvalSymlinks(exe); err == nil && real != exe {
				cands = append(cands, real)
			}
			for _, exe := range cands {
				for _, dir := range []string{filepath.Join(exe, "../.."), filepath.Join(exe, "../../..")} {
					if looksLikeGOROOT(dir) {
						return dir
					}
				}
			}
		}
	}
	if r := env.BuiltinGOROOT(); r != "" {
		if fi, err := os.Stat(r); err == nil && fi.IsDir() {
			return filepath.Clean(r)
		}
	}
	return ""
}

// looksLikeGOROOT reports whether dir holds a go.env or VERSION file.
func looksLikeGOROOT(dir string) bool {
	for _, name := range []string{"go.env", "VERSION"} {
		if fi, err := os.Stat(filepath.Join(dir, name)); err == nil && fi.Mode().IsRegular() {
			return true
		}
	}
	return false
}

// defaultNetrcPath returns the netrc file the go command uses when $NETRC is
// not set: home/.netrc, or on Windows home/_netrc if that file exists. It
// returns "" if home is "".
func defaultNetrcPath(home string) string {
	if home == "" {
		return ""
	}
	if runtime.GOOS == "windows" {
		legacy := filepath.Join(home, "_netrc")
		if _, err := os.Stat(legacy); err == nil {
			return legacy
		}
	}
	return filepath.Join(home, ".netrc")
}

// parseModCacheRW reports whether the GOFLAGS value goflags turns
// -modcacherw on. It checks the list the way cmd/go/internal/base
// (InitGOFLAGS, SetFromGOFLAGS) does, except that flag names are not checked
// against the go command's flags: every word must look like a flag, and a
// -modcacherw value must be a boolean. The last -modcacherw wins.
func parseModCacheRW(goflags string) (bool, error) {
	words, err := splitQuoted(goflags)
	if err != nil {
		return false, fmt.Errorf("parsing $GOFLAGS: %w", err)
	}
	where := "$GOFLAGS"
	if runtime.GOOS == "windows" {
		where = "%GOFLAGS%"
	}
	rw := false
	for _, w := range words {
		if !strings.HasPrefix(w, "-") || w == "-" || w == "--" || strings.HasPrefix(w, "---") ||
			strings.HasPrefix(w, "-=") || strings.HasPrefix(w, "--=") {
			return false, fmt.Errorf("parsing $GOFLAGS: non-flag %q", w)
		}
		name, value, hasValue := strings.Cut(w, "=")
		if strings.HasPrefix(name, "--") {
			name = name[1:] // "--x" is "-x"
		}
		if name != "-modcacherw" {
			continue
		}
		if !hasValue {
			rw = true
			continue
		}
		b, err := strconv.ParseBool(value)
		if err != nil {
			return false, fmt.Errorf("invalid boolean value %q for flag %s (from %s): parse error", value, name, where)
		}
		rw = b
	}
	return rw, nil
}

// splitQuoted splits s into fields separated by spaces, tabs, carriage
// returns and newlines, allowing '...' or "..." around a field, with no
// unescaping inside (cmd/internal/quoted.Split).
func splitQuoted(s string) ([]string, error) {
	isSpace := func(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
	var f []string
	for {
		for len(s) > 0 && isSpace(s[0]) {
			s = s[1:]
		}
		if len(s) == 0 {
			return f, nil
		}
		if q := s[0]; q == '"' || q == '\'' {
			i := strings.IndexByte(s[1:], q)
			if i < 0 {
				return nil, fmt.Errorf("unterminated %c string", q)
			}
			f = append(f, s[1:1+i])
			s = s[2+i:]
			continue
		}
		i := 0
		for i < len(s) && !isSpace(s[i]) {
			i++
		}
		f = append(f, s[:i])
		s = s[i:]
	}
}
