package goenv

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// fakeEnv is an envSource for tests: no process state is read.
type fakeEnv struct {
	vars          map[string]string
	configDir     string // "" means os.UserConfigDir fails
	home          string // "" means os.UserHomeDir fails
	goExe         string // "" means no go in $PATH
	builtinGOROOT string
}

func (e *fakeEnv) Getenv(key string) string { return e.vars[key] }

func (e *fakeEnv) UserConfigDir() (string, error) {
	if e.configDir == "" {
		return "", os.ErrNotExist
	}
	return e.configDir, nil
}

func (e *fakeEnv) UserHomeDir() (string, error) {
	if e.home == "" {
		return "", os.ErrNotExist
	}
	return e.home, nil
}

func (e *fakeEnv) LookPath(file string) (string, error) {
	if file != "go" || e.goExe == "" {
		return "", exec.ErrNotFound
	}
	return e.goExe, nil
}

func (e *fakeEnv) BuiltinGOROOT() string { return e.builtinGOROOT }

func writeFile(t *testing.T, name, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(name), 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, []byte(content), 0o666); err != nil {
		t.Fatal(err)
	}
}

// loadCase describes a temporary world: $TMP holds home/, config/ (the user
// config dir) and goroot/. In every string, $TMP is replaced by its path and
// "/" by the OS separator in wanted paths.
type loadCase struct {
	name     string
	env      map[string]string
	userFile *string // content of $TMP/config/go/env; nil: no file
	goEnv    *string // content of $TMP/goroot/go.env; nil: no file
	files    map[string]string
	noHome   bool
	noConfig bool // os.UserConfigDir fails
	noGOROOT bool // builtin GOROOT unset (it is $TMP/goroot otherwise)
	goExe    string
	want     map[string]string // field name -> value
	wantErr  string
}

func ptr(s string) *string { return &s }

const stdGoEnv = "# defaults\nGOPROXY=https://goroot.example,direct\nGOSUMDB=sum.goroot.example\nGOTOOLCHAIN=auto\n"

func (tc *loadCase) run(t *testing.T) {
	t.Parallel()
	tmp := t.TempDir()
	expand := func(s string) string { return strings.ReplaceAll(s, "$TMP", tmp) }
	fe := &fakeEnv{
		vars:      map[string]string{},
		configDir: filepath.Join(tmp, "config"),
		home:      filepath.Join(tmp, "home"),
	}
	if tc.noHome {
		fe.home = ""
	}
	if tc.noConfig {
		fe.configDir = ""
	}
	goroot := filepath.Join(tmp, "goroot")
	if err := os.MkdirAll(goroot, 0o777); err != nil {
		t.Fatal(err)
	}
	if !tc.noGOROOT {
		fe.builtinGOROOT = goroot
	}
	if tc.goExe != "" {
		fe.goExe = filepath.FromSlash(expand(tc.goExe))
	}
	for k, v := range tc.env {
		fe.vars[k] = expand(v)
	}
	if tc.userFile != nil {
		writeFile(t, filepath.Join(tmp, "config", "go", "env"), expand(*tc.userFile))
	}
	if tc.goEnv != nil {
		writeFile(t, filepath.Join(goroot, "go.env"), expand(*tc.goEnv))
	}
	for name, content := range tc.files {
		writeFile(t, filepath.FromSlash(expand(name)), expand(content))
	}

	c, err := load(fe)
	if tc.wantErr != "" {
		if err == nil || err.Error() != expand(tc.wantErr) {
			t.Fatalf("load: error %v, want %q", err, expand(tc.wantErr))
		}
		return
	}
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	got := fieldMap(c)
	for k, v := range tc.want {
		if _, ok := got[k]; !ok {
			t.Fatalf("bad test: unknown field %s", k)
		}
		v = expand(v)
		if strings.Contains(v, tmp) {
			v = filepath.FromSlash(v)
		}
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
}

func fieldMap(c *Config) map[string]string {
	rw := "false"
	if c.ModCacheRW {
		rw = "true"
	}
	return map[string]string{
		"GOPROXY": c.GOPROXY, "GONOPROXY": c.GONOPROXY, "GOPRIVATE": c.GOPRIVATE,
		"GOSUMDB": c.GOSUMDB, "GONOSUMDB": c.GONOSUMDB, "GOINSECURE": c.GOINSECURE,
		"GOVCS": c.GOVCS, "GOMODCACHE": c.GOMODCACHE, "GOPATH": c.GOPATH,
		"GOFLAGS": c.GOFLAGS, "GOAUTH": c.GOAUTH, "GOROOT": c.GOROOT,
		"GOENV": c.GOENV, "NETRC": c.NETRC, "ModCacheRW": rw,
	}
}

func TestLoad(t *testing.T) {
	list := string(filepath.ListSeparator)
	tests := []loadCase{
		{
			name: "precedence",
			env:  map[string]string{"GOPROXY": "https://env.example"},
			userFile: ptr("GOPROXY=https://user.example\nGOSUMDB=sum.user.example\n" +
				"GOINSECURE=insecure.user.example\n"),
			goEnv: ptr(stdGoEnv + "GOINSECURE=insecure.goroot.example\nGOVCS=*:git\n"),
			want: map[string]string{
				"GOPROXY":    "https://env.example",
				"GOSUMDB":    "sum.user.example",
				"GOINSECURE": "insecure.user.example",
				"GOVCS":      "*:git",
				"GOAUTH":     "netrc",
				"GOPRIVATE":  "",
				"GONOPROXY":  "",
				"GONOSUMDB":  "",
				"GOROOT":     "$TMP/goroot",
				"GOENV":      "$TMP/config/go/env",
				"GOPATH":     "$TMP/home/go",
				"GOMODCACHE": "$TMP/home/go/pkg/mod",
				"NETRC":      "$TMP/home/.netrc",
				"ModCacheRW": "false",
			},
		},
		{
			name:     "empty env var falls through",
			env:      map[string]string{"GOPROXY": "", "GOSUMDB": "", "GOAUTH": "", "GOPATH": ""},
			userFile: ptr("GOPROXY=https://user.example\n"),
			goEnv:    ptr(stdGoEnv),
			want: map[string]string{
				"GOPROXY": "https://user.example",
				"GOSUMDB": "sum.goroot.example",
				"GOAUTH":  "netrc",
				"GOPATH":  "$TMP/home/go",
			},
		},
		{
			name:     "empty value in user file shadows go.env",
			userFile: ptr("GOPROXY=\nGOSUMDB=\n"),
			goEnv:    ptr(stdGoEnv),
			want:     map[string]string{"GOPROXY": "", "GOSUMDB": ""},
		},
		{
			name:     "empty value in user file shadows built-in go.env",
			userFile: ptr("GOPROXY=\nGOSUMDB=\n"),
			noGOROOT: true,
			want:     map[string]string{"GOPROXY": "", "GOSUMDB": "", "GOROOT": ""},
		},
		{
			name:     "empty value in user file still gets defaults",
			env:      map[string]string{"GOPRIVATE": "*.corp.example"},
			userFile: ptr("GOAUTH=\nGONOPROXY=\nGOPATH=\nGOMODCACHE=\n"),
			goEnv:    ptr(stdGoEnv),
			want: map[string]string{
				"GOAUTH":     "netrc",
				"GONOPROXY":  "*.corp.example",
				"GOPATH":     "$TMP/home/go",
				"GOMODCACHE": "$TMP/home/go/pkg/mod",
			},
		},
		{
			name:     "GOENV=off ignores the user file",
			env:      map[string]string{"GOENV": "off"},
			userFile: ptr("GOPROXY=https://user.example\n"),
			goEnv:    ptr(stdGoEnv),
			want:     map[string]string{"GOPROXY": "https://goroot.example,direct", "GOENV": "off"},
		},
		{
			name:     "GOENV names a custom file",
			env:      map[string]string{"GOENV": "$TMP/custom.env"},
			userFile: ptr("GOPROXY=https://user.example\nGOSUMDB=sum.user.example\n"),
			files:    map[string]string{"$TMP/custom.env": "GOPROXY=https://custom.example\n"},
			goEnv:    ptr(stdGoEnv),
			want: map[string]string{
				"GOPROXY": "https://custom.example",
				"GOSUMDB": "sum.goroot.example",
				"GOENV":   "$TMP/custom.env",
			},
		},
		{
			name:  "GOENV names a missing file",
			env:   map[string]string{"GOENV": "$TMP/missing.env"},
			goEnv: ptr(stdGoEnv),
			want:  map[string]string{"GOPROXY": "https://goroot.example,direct", "GOENV": "$TMP/missing.env"},
		},
		{
			name:     "no user config dir",
			noConfig: true,
			goEnv:    ptr(stdGoEnv),
			want:     map[string]string{"GOENV": "", "GOPROXY": "https://goroot.example,direct"},
		},
		{
			name: "comments and blank lines",
			userFile: ptr("# GOPROXY=https://commented.example\n\n  GOSUMDB=indented\n" +
				"lower=x\n=x\nGOPROXY=https://a.example/?x=y,direct\nGOVCS\nGOINSECURE= spaced \n" +
				"GOPRIVATE=first\nGOPRIVATE=second\n"),
			goEnv: ptr("\n# comment\n\n" + stdGoEnv + "\n# GOSUMDB=commented\n"),
			want: map[string]string{
				"GOPROXY":    "https://a.example/?x=y,direct",
				"GOSUMDB":    "sum.goroot.example",
				"GOINSECURE": " spaced ",
				"GOPRIVATE":  "second",
				"GOVCS":      "",
			},
		},
		{
			name: "GONOPROXY and GONOSUMDB default to GOPRIVATE",
			env:  map[string]string{"GOPRIVATE": "*.corp.example,github.com/acme"},
			want: map[string]string{
				"GOPRIVATE": "*.corp.example,github.com/acme",
				"GONOPROXY": "*.corp.example,github.com/acme",
				"GONOSUMDB": "*.corp.example,github.com/acme",
			},
		},
		{
			name:     "explicit GONOPROXY and GONOSUMDB win over GOPRIVATE",
			env:      map[string]string{"GONOPROXY": "none"},
			userFile: ptr("GOPRIVATE=*.corp.example\nGONOSUMDB=sum.corp.example\n"),
			want: map[string]string{
				"GOPRIVATE": "*.corp.example",
				"GONOPROXY": "none",
				"GONOSUMDB": "sum.corp.example",
			},
		},
		{
			name: "GOMODCACHE from the first GOPATH entry",
			env:  map[string]string{"GOPATH": "$TMP/a" + list + "$TMP/b"},
			want: map[string]string{
				"GOPATH":     "$TMP/a" + list + "$TMP/b",
				"GOMODCACHE": "$TMP/a/pkg/mod",
			},
		},
		{
			name:     "explicit GOMODCACHE",
			env:      map[string]string{"GOPATH": "$TMP/a"},
			userFile: ptr("GOMODCACHE=$TMP/modcache\n"),
			want:     map[string]string{"GOPATH": "$TMP/a", "GOMODCACHE": "$TMP/modcache"},
		},
		{
			name:     "GOPATH from the user file",
			userFile: ptr("GOPATH=$TMP/user-gopath\n"),
			want:     map[string]string{"GOPATH": "$TMP/user-gopath", "GOMODCACHE": "$TMP/user-gopath/pkg/mod"},
		},
		{
			name:     "default GOPATH is never GOROOT",
			env:      map[string]string{"GOROOT": "$TMP/home/go", "GOMODCACHE": "$TMP/modcache"},
			want:     map[string]string{"GOPATH": "", "GOROOT": "$TMP/home/go", "GOMODCACHE": "$TMP/modcache"},
			noGOROOT: true,
		},
		{
			name:     "no go.env anywhere: built-in defaults",
			noGOROOT: true,
			want: map[string]string{
				"GOPROXY": "https://proxy.golang.org,direct",
				"GOSUMDB": "sum.golang.org",
				"GOROOT":  "",
			},
		},
		{
			name: "GOROOT without go.env: built-in defaults",
			want: map[string]string{
				"GOPROXY": "https://proxy.golang.org,direct",
				"GOSUMDB": "sum.golang.org",
				"GOROOT":  "$TMP/goroot",
			},
		},
		{
			name:     "GOROOT from the environment",
			env:      map[string]string{"GOROOT": "$TMP/other/"},
			userFile: ptr("GOROOT=$TMP/goroot\n"),
			goEnv:    ptr(stdGoEnv),
			files:    map[string]string{"$TMP/other/go.env": "GOPROXY=https://other.example\n"},
			want: map[string]string{
				"GOROOT":  "$TMP/other",
				"GOPROXY": "https://other.example",
				"GOSUMDB": "",
			},
		},
		{
			name:     "GOROOT from the user file",
			userFile: ptr("GOROOT=$TMP/other\n"),
			goEnv:    ptr(stdGoEnv),
			files:    map[string]string{"$TMP/other/go.env": "GOPROXY=https://other.example\nGOROOT=/elsewhere\n"},
			want:     map[string]string{"GOROOT": "$TMP/other", "GOPROXY": "https://other.example"},
		},
		{
			name:     "GOROOT from go in PATH",
			noGOROOT: true,
			goExe:    "$TMP/sdk/bin/go",
			files: map[string]string{
				"$TMP/sdk/bin/go": "",
				"$TMP/sdk/go.env": "GOPROXY=https://sdk.example\n",
			},
			want: map[string]string{"GOROOT": "$TMP/sdk", "GOPROXY": "https://sdk.example"},
		},
		{
			name:  "go in PATH beats the built-in GOROOT",
			goEnv: ptr(stdGoEnv),
			goExe: "$TMP/sdk/bin/go",
			files: map[string]string{
				"$TMP/sdk/bin/go":  "",
				"$TMP/sdk/VERSION": "go1.26.8\n",
			},
			want: map[string]string{"GOROOT": "$TMP/sdk", "GOPROXY": "https://proxy.golang.org,direct"},
		},
		{
			name:  "go in PATH outside a GOROOT",
			goEnv: ptr(stdGoEnv),
			goExe: "$TMP/bin/go",
			files: map[string]string{"$TMP/bin/go": ""},
			want:  map[string]string{"GOROOT": "$TMP/goroot", "GOPROXY": "https://goroot.example,direct"},
		},
		{
			name: "NETRC",
			env:  map[string]string{"NETRC": "$TMP/my-netrc"},
			want: map[string]string{"NETRC": "$TMP/my-netrc"},
		},
		{
			name:   "no home",
			noHome: true,
			env:    map[string]string{"GOMODCACHE": "$TMP/modcache"},
			want:   map[string]string{"NETRC": "", "GOPATH": "", "GOMODCACHE": "$TMP/modcache"},
		},
		{
			name: "GOFLAGS",
			env:  map[string]string{"GOFLAGS": "-mod=mod -modcacherw -insecure"},
			want: map[string]string{"GOFLAGS": "-mod=mod -modcacherw -insecure", "ModCacheRW": "true"},
		},
		{
			name:     "GOFLAGS from the user file",
			userFile: ptr("GOFLAGS=-modcacherw\n"),
			want:     map[string]string{"ModCacheRW": "true"},
		},

		// Errors.
		{
			name:    "relative GOMODCACHE",
			env:     map[string]string{"GOMODCACHE": "rel/path"},
			wantErr: `GOMODCACHE entry is relative; must be absolute path: "rel/path".`,
		},
		{
			name:    "no module cache",
			noHome:  true,
			wantErr: "module cache not found: neither GOMODCACHE nor GOPATH is set",
		},
		{
			name:    "first GOPATH entry empty",
			env:     map[string]string{"GOPATH": list + "$TMP/b"},
			wantErr: "module cache not found: neither GOMODCACHE nor GOPATH is set",
		},
		{
			name:    "relative GOPATH",
			env:     map[string]string{"GOPATH": "$TMP/a" + list + "rel"},
			wantErr: `GOPATH entry is relative; must be absolute path: "rel".`,
		},
		{
			name:    "GOPATH with ~",
			env:     map[string]string{"GOPATH": "~/go"},
			wantErr: `GOPATH entry cannot start with shell metacharacter '~': "~/go"`,
		},
		{
			name:    "unsupported GOAUTH",
			env:     map[string]string{"GOAUTH": "netrc;git /src"},
			wantErr: `GOAUTH command "git /src" is not supported (modfetch supports only "netrc" and "off")`,
		},
		{
			name:    "bad GOFLAGS",
			env:     map[string]string{"GOFLAGS": `-modcacherw "-x`},
			wantErr: `parsing $GOFLAGS: unterminated " string`,
		},
	}
	for i := range tests {
		tc := &tests[i]
		t.Run(tc.name, tc.run)
	}
}

// TestLoadRelativeHome checks the go command's treatment of a GOPATH
// derived from a relative $HOME: it is dropped, and the module cache
// derived from it is still rejected.
func TestLoadRelativeHome(t *testing.T) {
	t.Parallel()
	fe := &fakeEnv{vars: map[string]string{}, home: "relhome"}
	_, err := load(fe)
	want := `GOMODCACHE entry is relative; must be absolute path: "` + filepath.Join("relhome", "go", "pkg", "mod") + `".`
	if err == nil || err.Error() != want {
		t.Fatalf("load: error %v, want %q", err, want)
	}

	abs := t.TempDir()
	fe.vars["GOMODCACHE"] = abs
	c, err := load(fe)
	if err != nil {
		t.Fatal(err)
	}
	if c.GOPATH != "" || c.GOMODCACHE != abs {
		t.Errorf("GOPATH = %q, GOMODCACHE = %q; want \"\", %q", c.GOPATH, c.GOMODCACHE, abs)
	}
}

func TestLoadGOROOTSymlink(t *testing.T) {
	t.Parallel()
	tmp := t.TempDir()
	sdk := filepath.Join(tmp, "sdk")
	writeFile(t, filepath.Join(sdk, "bin", "go"), "")
	writeFile(t, filepath.Join(sdk, "go.env"), "GOPROXY=https://sdk.example\n")
	link := filepath.Join(tmp, "usrbin", "go")
	if err := os.MkdirAll(filepath.Dir(link), 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(sdk, "bin", "go"), link); err != nil {
		t.Skipf("symlinks unavailable: %v", err)
	}
	fe := &fakeEnv{vars: map[string]string{}, home: tmp, goExe: link}
	c, err := load(fe)
	if err != nil {
		t.Fatal(err)
	}
	if c.GOROOT != sdk || c.GOPROXY != "https://sdk.example" {
		t.Errorf("GOROOT = %q, GOPROXY = %q; want %q, https://sdk.example", c.GOROOT, c.GOPROXY, sdk)
	}
}

func TestParseModCacheRW(t *testing.T) {
	t.Parallel()
	tests := []struct {
		goflags string
		want    bool
		wantErr string
	}{
		{"", false, ""},
		{"   ", false, ""},
		{"-modcacherw", true, ""},
		{"--modcacherw", true, ""},
		{"-modcacherw=true", true, ""},
		{"-modcacherw=1", true, ""},
		{"-modcacherw=t", true, ""},
		{"--modcacherw=TRUE", true, ""},
		{"-modcacherw=false", false, ""},
		{"-modcacherw=0", false, ""},
		{"-modcacherw -modcacherw=false", false, ""},
		{"-modcacherw=false -modcacherw", true, ""},
		{"-modcacherw=0\t-mod=mod\n--modcacherw=T", true, ""},
		{"-modcacherwx -xmodcacherw -modcacherw.x", false, ""},
		{"-insecure -mod=readonly", false, ""},
		{`'-modcacherw' "-ldflags=-s -w"`, true, ""},
		{`"-modcacherw=false"`, false, ""},
		{"-modcacherw=maybe", false, `invalid boolean value "maybe" for flag -modcacherw (from $GOFLAGS): parse error`},
		{"--modcacherw=", false, `invalid boolean value "" for flag -modcacherw (from $GOFLAGS): parse error`},
		{"-modcacherw modcacherw", false, `parsing $GOFLAGS: non-flag "modcacherw"`},
		{"-", false, `parsing $GOFLAGS: non-flag "-"`},
		{"--", false, `parsing $GOFLAGS: non-flag "--"`},
		{"---x", false, `parsing $GOFLAGS: non-flag "---x"`},
		{"-=x", false, `parsing $GOFLAGS: non-flag "-=x"`},
		{"--=x", false, `parsing $GOFLAGS: non-flag "--=x"`},
		{"-modcacherw '-x", false, `parsing $GOFLAGS: unterminated ' string`},
	}
	for _, tc := range tests {
		if runtime.GOOS == "windows" {
			tc.wantErr = strings.Replace(tc.wantErr, "$GOFLAGS", "%GOFLAGS%", 1)
		}
		got, err := parseModCacheRW(tc.goflags)
		if tc.wantErr != "" {
			if err == nil || err.Error() != tc.wantErr {
				t.Errorf("parseModCacheRW(%q): error %v, want %q", tc.goflags, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("parseModCacheRW(%q) = %v, %v; want %v", tc.goflags, got, err, tc.want)
		}
	}
}

func TestParseEnvFile(t *testing.T) {
	t.Parallel()
	data := "# comment\n\nGOPROXY=a=b,c\nGOSUMDB=\nlower=1\n=2\nNOEQUALS\n GOVCS=indented\nGOFLAGS='-x'\nGOAUTH=netrc\r\nGOPATH=last"
	got := parseEnvFile([]byte(data))
	want := map[string]string{
		"GOPROXY": "a=b,c",
		"GOSUMDB": "",
		"GOFLAGS": "'-x'",    // not unquoted
		"GOAUTH":  "netrc\r", // like the go command, no CR stripping
		"GOPATH":  "last",
	}
	if len(got) != len(want) {
		t.Errorf("parseEnvFile = %q, want %q", got, want)
	}
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			t.Errorf("parseEnvFile: %s = %q (present %v), want %q", k, g, ok, v)
		}
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	abs := t.TempDir()
	tests := []struct {
		name    string
		c       Config
		wantErr string
	}{
		{"ok", Config{GOMODCACHE: abs}, ""},
		{"ok netrc", Config{GOMODCACHE: abs, GOAUTH: "netrc", GOPATH: abs}, ""},
		{"ok off", Config{GOMODCACHE: abs, GOAUTH: " off "}, ""},
		{"empty GOMODCACHE", Config{GOPATH: abs}, "module cache not found: neither GOMODCACHE nor GOPATH is set"},
		{"relative GOMODCACHE", Config{GOMODCACHE: "mod"}, `GOMODCACHE entry is relative; must be absolute path: "mod".`},
		{"relative GOPATH", Config{GOMODCACHE: abs, GOPATH: "gopath"}, `GOPATH entry is relative; must be absolute path: "gopath".`},
		{"GOPATH same as GOROOT", Config{GOMODCACHE: abs, GOPATH: "goroot", GOROOT: "goroot/"}, ""},
		{"empty GOAUTH command", Config{GOMODCACHE: abs, GOAUTH: "netrc;"}, "GOAUTH encountered an empty command (GOAUTH=netrc;)"},
	}
	for _, tc := range tests {
		err := tc.c.Validate()
		if tc.wantErr == "" {
			if err != nil {
				t.Errorf("%s: Validate: %v", tc.name, err)
			}
			continue
		}
		if err == nil || err.Error() != tc.wantErr {
			t.Errorf("%s: Validate: error %v, want %q", tc.name, err, tc.wantErr)
		}
	}
}

// TestLoadMatchesGoEnv compares load with `go env` run in the same
// environment. It needs a go command in $PATH and runs on Linux only, where
// os.UserConfigDir is $XDG_CONFIG_HOME.
func TestLoadMatchesGoEnv(t *testing.T) {
	t.Parallel()
	if runtime.GOOS != "linux" {
		t.Skip("needs os.UserConfigDir = $XDG_CONFIG_HOME")
	}
	goExe, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command in $PATH")
	}
	list := string(filepath.ListSeparator)
	tests := []struct {
		name     string
		env      []string
		userFile string
	}{
		{
			name:     "user file shadows go.env",
			env:      []string{"GOPROXY=", "GONOPROXY="},
			userFile: "# comment\n\nGOSUMDB=\nGOPRIVATE=*.corp.example\nGOFLAGS=-modcacherw -mod=mod\n",
		},
		{
			name:     "GOENV=off",
			env:      []string{"GOENV=off", "GONOSUMDB=none", "GOPATH=$TMP/a" + list + "$TMP/b"},
			userFile: "GOPROXY=https://user.example\n",
		},
		{
			name:     "custom values",
			env:      []string{"GOAUTH=off", "GOMODCACHE=$TMP/mc", "GOVCS=*:git", "GOINSECURE=x.example"},
			userFile: "GOPROXY=https://user.example|direct\nGOPATH=$TMP/user-gopath\nGONOPROXY=\n",
		},
	}
	names := []string{"GOPROXY", "GONOPROXY", "GOPRIVATE", "GOSUMDB", "GONOSUMDB", "GOINSECURE",
		"GOVCS", "GOMODCACHE", "GOPATH", "GOFLAGS", "GOAUTH", "GOROOT", "GOENV"}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tmp := t.TempDir()
			fe := &fakeEnv{
				vars:          map[string]string{},
				configDir:     filepath.Join(tmp, "config"),
				home:          filepath.Join(tmp, "home"),
				goExe:         goExe,
				builtinGOROOT: runtime.GOROOT(),
			}
			environ := []string{
				"PATH=" + os.Getenv("PATH"),
				"HOME=" + fe.home,
				"XDG_CONFIG_HOME=" + fe.configDir,
				"GOTOOLCHAIN=local",
				"GOTELEMETRY=off",
			}
			for _, kv := range tc.env {
				kv = strings.ReplaceAll(kv, "$TMP", tmp)
				environ = append(environ, kv)
				k, v, _ := strings.Cut(kv, "=")
				fe.vars[k] = v
			}
			for _, kv := range environ {
				k, v, _ := strings.Cut(kv, "=")
				fe.vars[k] = v
			}
			writeFile(t, filepath.Join(fe.configDir, "go", "env"), strings.ReplaceAll(tc.userFile, "$TMP", tmp))
			// Telemetry off in this fresh config directory, so that the go
			// command starts no background process writing under tmp while
			// the test cleans it up.
			writeFile(t, filepath.Join(fe.configDir, "go", "telemetry", "mode"), "off")

			cmd := exec.Command(goExe, append([]string{"env", "-json"}, names...)...)
			cmd.Env = environ
			cmd.Dir = tmp
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("go env: %v\n%s", err, out)
			}
			var want map[string]string
			if err := json.Unmarshal(out, &want); err != nil {
				t.Fatal(err)
			}
			c, err := load(fe)
			if err != nil {
				t.Fatal(err)
			}
			got := fieldMap(c)
			if got["GOENV"] == "off" {
				got["GOENV"] = "" // `go env GOENV` prints "" for GOENV=off
			}
			for _, name := range names {
				if got[name] != want[name] {
					t.Errorf("%s = %q, go env says %q", name, got[name], want[name])
				}
			}
		})
	}
}
