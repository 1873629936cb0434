package upstream

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/modfetch/modfetch"
	"github.com/modfetch/modfetch/internal/vcs"
	"github.com/modfetch/modfetch/internal/web"
)

// A RepoRoot is where the code for a module path lives: the answer of
// [Direct.RepoRoot], by the go command's rules
// (cmd/go/internal/vcs: RepoRootForImportPath).
type RepoRoot struct {
	// VCS is "git", "hg", "svn", "bzr" or "fossil", or "mod" for a
	// go-import tag that names a module proxy.
	VCS string

	// URL is the repository's URL, scheme included (for "mod", the
	// proxy's base URL).
	URL string

	// Root is the import path of the repository's root.
	Root string

	// Subdir is the directory in the repository that corresponds to Root
	// (from a four-field go-import tag); usually "".
	Subdir string

	// Custom reports whether the answer came from go-import meta tags
	// rather than the table of known hosting sites.
	Custom bool
}

// security is how a lookup may reach servers: GOINSECURE lets go-get
// discovery skip certificate checks and fall back to http, and lets scheme
// probing use git://, http:// and other insecure schemes.
type security int

const (
	secureOnly security = iota
	insecure
)

// vcsSchemes lists each VCS's URL schemes in the order the go command
// probes them.
var vcsSchemes = map[string][]string{
	"git":    {"git", "https", "http", "git+ssh", "ssh"},
	"hg":     {"https", "http", "ssh"},
	"svn":    {"https", "http", "svn", "svn+ssh"},
	"bzr":    {"https", "http", "bzr", "bzr+ssh"},
	"fossil": {"https", "http"},
}

var secureSchemes = map[string]bool{"https": true, "git+ssh": true, "bzr+ssh": true, "svn+ssh": true, "ssh": true}

// isSecureScheme is the go command's rule; for git, GIT_ALLOW_PROTOCOL
// (if set) replaces the list.
func (d *Direct) isSecureScheme(vcsName, scheme string) bool {
	if vcsName == "git" {
		if allow := d.runner.Getenv("GIT_ALLOW_PROTOCOL"); allow != "" {
			for s := range strings.SplitSeq(allow, ":") {
				if s == scheme {
					return true
				}
			}
			return false
		}
	}
	return secureSchemes[scheme]
}

// A vcsPath maps import paths of a known hosting site (or of the
// host/path.vcs form) to a repository.
type vcsPath struct {
	prefix     string // import path prefix; "" for the general form
	re         *regexp.Regexp
	repo       string // repository URL template ({root} and other groups)
	vcs        string // VCS name template
	check      func(ctx context.Context, d *Direct, match map[string]string) error
	schemeless bool // repo has no scheme: probe for one
}

// vcsPaths is the go command's table of known sites, tried before go-get
// discovery.
var vcsPaths = []*vcsPath{
	{
		prefix: "github.com",
		re:     regexp.MustCompile(`^(?P<root>github\.com/[\w.\-]+/[\w.\-]+)(/[\w.\-]+)*$`),
		vcs:    "git",
		repo:   "https://{root}",
		check:  noVCSSuffix,
	},
	{
		prefix: "bitbucket.org",
		re:     regexp.MustCompile(`^(?P<root>bitbucket\.org/(?P<bitname>[\w.\-]+/[\w.\-]+))(/[\w.\-]+)*$`),
		vcs:    "git",
		repo:   "https://{root}",
		check:  noVCSSuffix,
	},
	{
		prefix: "hub.jazz.net/git",
		re:     regexp.MustCompile(`^(?P<root>hub\.jazz\.net/git/[a-z0-9]+/[\w.\-]+)(/[\w.\-]+)*$`),
		vcs:    "git",
		repo:   "https://{root}",
		check:  noVCSSuffix,
	},
	{
		prefix: "git.apache.org",
		re:     regexp.MustCompile(`^(?P<root>git\.apache\.org/[a-z0-9_.\-]+\.git)(/[\w.\-]+)*$`),
		vcs:    "git",
		repo:   "https://{root}",
	},
	{
		prefix: "git.openstack.org",
		re:     regexp.MustCompile(`^(?P<root>git\.openstack\.org/[\w.\-]+/[\w.\-]+)(\.git)?(/[\w.\-]+)*$`),
		vcs:    "git",
		repo:   "https://{root}",
	},
	{
		prefix: "chiselapp.com",
		re:     regexp.MustCompile(`^(?P<root>chiselapp\.com/user/[A-Za-z0-9]+/repository/[\w.\-]+)$`),
		vcs:    "fossil",
		repo:   "https://{root}",
	},
	{
		// host[:port]/path.vcs[/more]: the root keeps the suffix, the
		// repository drops it and gets a probed scheme.
		re:         regexp.MustCompile(`(?P<root>(?P<repo>([a-z0-9.\-]+\.)+[a-z0-9.\-]+(:[0-9]+)?(/~?[\w.\-]+)+?)\.(?P<vcs>bzr|fossil|git|hg|svn))(/~?[\w.\-]+)*$`),
		schemeless: true,
	},
}

// vcsPathsAfterDynamic are tried when go-get discovery fails.
var vcsPathsAfterDynamic = []*vcsPath{
	{
		prefix: "launchpad.net",
		re:     regexp.MustCompile(`^(?P<root>launchpad\.net/((?P<project>[\w.\-]+)(?P<series>/[\w.\-]+)?|~[\w.\-]+/(\+junk|[\w.\-]+)/[\w.\-]+))(/[\w.\-]+)*$`),
		vcs:    "bzr",
		repo:   "https://{root}",
		check:  launchpadVCS,
	},
}

// noVCSSuffix rejects repository names ending in a VCS suffix (".git").
func noVCSSuffix(ctx context.Context, d *Direct, match map[string]string) error {
	repo := match["repo"]
	for vcsName := range vcsSchemes {
		if strings.HasSuffix(repo, "."+vcsName) {
			return fmt.Errorf("invalid version control suffix in %s path", match["prefix"])
		}
	}
	return nil
}

// launchpadVCS decides whether launchpad.net/project/series names a
// series (with its own branch) or a directory of the project.
func launchpadVCS(ctx context.Context, d *Direct, match map[string]string) error {
	if match["project"] == "" || match["series"] == "" {
		return nil
	}
	u := &url.URL{Scheme: "https", Host: "code.launchpad.net", Path: expand(match, "/{project}{series}/.bzr/branch-format")}
	resp, err := d.get(ctx, d.secureClient(), u)
	if err == nil {
		resp.Body.Close()
	}
	if err != nil || resp.StatusCode != http.StatusOK {
		match["root"] = expand(match, "launchpad.net/{project}")
		match["repo"] = expand(match, "https://{root}")
	}
	return nil
}

// expand replaces each {k} in s by match[k], once.
func expand(match map[string]string, s string) string {
	oldNew := make([]string, 0, 2*len(match))
	for k, v := range match {
		oldNew = append(oldNew, "{"+k+"}", v)
	}
	return strings.NewReplacer(oldNew...).Replace(s)
}

var errUnknownSite = errors.New("dynamic lookup required to find mapping")

// repoRootForImportPath is the go command's RepoRootForImportPath in
// module mode: the table of known sites, else go-get discovery, else the
// sites tried after it (Launchpad).
func (d *Direct) repoRootForImportPath(ctx context.Context, importPath string, sec security) (*RepoRoot, error) {
	rr, err := d.repoRootFromVCSPaths(ctx, importPath, sec, vcsPaths)
	if err == errUnknownSite {
		rr, err = d.repoRootForImportDynamic(ctx, importPath, sec)
		if err != nil {
			err = fmt.Errorf("unrecognized import path %q: %w", importPath, err)
		}
	}
	if err != nil {
		if rr1, err1 := d.repoRootFromVCSPaths(ctx, importPath, sec, vcsPathsAfterDynamic); err1 == nil {
			rr, err = rr1, nil
		}
	}
	if err == nil && strings.Contains(importPath, "...") && strings.Contains(rr.Root, "...") {
		return nil, fmt.Errorf("cannot expand ... in %q", importPath)
	}
	return rr, err
}

// repoRootFromVCSPaths maps importPath through a table.
func (d *Direct) repoRootFromVCSPaths(ctx context.Context, importPath string, sec security, table []*vcsPath) (*RepoRoot, error) {
	// The go command's own test stubs, which keep these from the network.
	if vcs.HasPathPrefix(importPath, "example.net") {
		return nil, errors.New("no modules on example.net")
	}
	if importPath == "rsc.io" {
		return nil, errors.New("rsc.io is not a module")
	}
	for _, p := range []string{"http:", "https:"} {
		if strings.HasPrefix(importPath, p) {
			return nil, fmt.Errorf("%q not allowed in import path", p+"//")
		}
	}
	for _, srv := range table {
		if !vcs.HasPathPrefix(importPath, srv.prefix) {
			continue
		}
		m := srv.re.FindStringSubmatch(importPath)
		if m == nil {
			if srv.prefix != "" {
				return nil, fmt.Errorf("invalid %s import path %q", srv.prefix, importPath)
			}
			continue
		}
		match := map[string]string{"prefix": srv.prefix + "/", "import": importPath}
		for i, name := range srv.re.SubexpNames() {
			if name != "" && match[name] == "" {
				match[name] = m[i]
			}
		}
		if srv.vcs != "" {
			match["vcs"] = expand(match, srv.vcs)
		}
		if srv.repo != "" {
			match["repo"] = expand(match, srv.repo)
		}
		if srv.check != nil {
			if err := srv.check(ctx, d, match); err != nil {
				return nil, err
			}
		}
		vcsName := match["vcs"]
		if _, ok := vcsSchemes[vcsName]; !ok {
			return nil, fmt.Errorf("unknown version control system %q", vcsName)
		}
		if err := d.checkGOVCS(vcsName, match["root"]); err != nil {
			return nil, err
		}
		repoURL := match["repo"]
		if srv.schemeless {
			scheme, err := d.probeScheme(ctx, vcsName, match["repo"], sec)
			if err != nil {
				return nil, err
			}
			repoURL = scheme + "://" + match["repo"]
		}
		return &RepoRoot{VCS: vcsName, URL: repoURL, Root: match["root"]}, nil
	}
	return nil, errUnknownSite
}

// probeScheme finds the first of the VCS's schemes that the security mode
// allows and that works: `git ls-remote scheme://repo` succeeds. For
// other VCSes (which direct mode does not run) it is the first allowed.
func (d *Direct) probeScheme(ctx context.Context, vcsName, repo string, sec security) (string, error) {
	for _, s := range vcsSchemes[vcsName] {
		if sec == secureOnly && !d.isSecureScheme(vcsName, s) {
			continue
		}
		if vcsName != "git" {
			return s, nil
		}
		if err := d.pingGit(ctx, s+"://"+repo); err == nil {
			return s, nil
		} else if ctx.Err() != nil {
			return "", err
		}
	}
	frag := ""
	if sec == secureOnly {
		frag = "secure "
	}
	return "", fmt.Errorf("no %sprotocol found for repository", frag)
}

func (d *Direct) pingGit(ctx context.Context, u string) error {
	root, err := d.workRoot()
	if err != nil {
		return err
	}
	// No Repo is registered for a URL that is only probed.
	_, err = d.runner.Run(ctx, vcs.Cmd{Dir: root, Env: []string{"GIT_DIR=" + vcs.WorkDir(root, u)}, Args: []string{"ls-remote", u}, Limit: 64 << 20})
	return err
}

// A metaImport is a parsed go-import meta tag.
type metaImport struct {
	Prefix, VCS, RepoRoot, SubDir string
}

// repoRootForImportDynamic asks https://importPath?go-get=1 (and under
// GOINSECURE http) for go-import meta tags.
func (d *Direct) repoRootForImportDynamic(ctx context.Context, importPath string, sec security) (*RepoRoot, error) {
	u, err := urlForImportPath(importPath)
	if err != nil {
		return nil, err
	}
	page, err := d.getPage(ctx, sec, u)
	if err != nil {
		if sec == insecure {
			return nil, fmt.Errorf("http/https fetch: %w", err)
		}
		return nil, fmt.Errorf("https fetch: %w", err)
	}
	imports, perr := parseMetaGoImports(bytes.NewReader(page.body))
	if len(imports) == 0 && page.err != nil {
		return nil, page.err // a non-200 answer without tags
	}
	if perr != nil {
		return nil, fmt.Errorf("parsing %s: %v", importPath, perr)
	}
	mmi, err := matchGoImport(imports, importPath)
	if err != nil {
		if _, ok := err.(importMismatchError); !ok {
			return nil, fmt.Errorf("parse %s: %v", u, err)
		}
		return nil, fmt.Errorf("parse %s: no go-import meta tags (%s)", page.url, err)
	}
	// A tag for a shorter prefix is trusted only if the prefix's own page
	// says the same: "uni.edu/bob/project" may not speak for "uni.edu".
	if mmi.Prefix != importPath {
		u2, imports2, err := d.metaImportsForPrefix(ctx, mmi.Prefix, sec)
		if err != nil {
			return nil, err
		}
		m2, err := matchGoImport(imports2, importPath)
		if err != nil || mmi != m2 {
			return nil, fmt.Errorf("%s and %s disagree about go-import for %s", page.url, u2, mmi.Prefix)
		}
	}
	if s := mmi.SubDir; s != "" && (s[0] == '/' || s[0] == '-') {
		why := "leading slash"
		if s[0] == '-' {
			why = "leading hyphen"
		}
		return nil, fmt.Errorf("%s: invalid subdirectory %q: %v", page.url, s, why)
	}
	if err := validateRepoRoot(mmi.RepoRoot); err != nil {
		return nil, fmt.Errorf("%s: invalid repo root %q: %v", page.url, mmi.RepoRoot, err)
	}
	if mmi.VCS != "mod" {
		if _, ok := vcsSchemes[mmi.VCS]; !ok {
			return nil, fmt.Errorf("%s: unknown vcs %q", page.url, mmi.VCS)
		}
	}
	if err := d.checkGOVCS(mmi.VCS, mmi.Prefix); err != nil {
		return nil, err
	}
	return &RepoRoot{VCS: mmi.VCS, URL: mmi.RepoRoot, Root: mmi.Prefix, Subdir: mmi.SubDir, Custom: true}, nil
}

func validateRepoRoot(repoRoot string) error {
	u, err := url.Parse(repoRoot)
	if err != nil {
		return err
	}
	if u.Scheme == "" {
		return errors.New("no scheme")
	}
	if u.Scheme == "file" {
		return errors.New("file scheme disallowed")
	}
	return nil
}

// urlForImportPath returns the discovery URL for importPath, without a
// scheme (the security mode picks it).
func urlForImportPath(importPath string) (*url.URL, error) {
	host, p, _ := strings.Cut(importPath, "/")
	if !strings.Contains(host, ".") {
		return nil, errors.New("import path does not begin with hostname")
	}
	return &url.URL{Host: host, Path: "/" + p, RawQuery: "go-get=1"}, nil
}

// metaResult is a prefix page's tags.
type metaResult struct {
	url     string // the page's URL, as the go command prints it
	imports []metaImport
}

// metaImportsForPrefix fetches and parses the page of a go-import prefix.
// Answers are shared by concurrent callers and successful ones are
// remembered for discoveryTTL.
func (d *Direct) metaImportsForPrefix(ctx context.Context, prefix string, sec security) (string, []metaImport, error) {
	u, err := urlForImportPath(prefix)
	if err != nil {
		return "", nil, err
	}
	res, err := d.metas.Do(ctx, prefix, func(ctx context.Context) (metaResult, error) {
		res := metaResult{url: u.String()}
		page, err := d.getPage(ctx, sec, u)
		if err != nil {
			return res, fmt.Errorf("fetching %s: %w", prefix, err)
		}
		imports, perr := parseMetaGoImports(bytes.NewReader(page.body))
		if len(imports) == 0 && page.err != nil {
			return res, page.err
		}
		if perr != nil {
			return res, fmt.Errorf("parsing %s: %v", page.url, perr)
		}
		if len(imports) == 0 {
			return res, fmt.Errorf("fetching %s: no go-import meta tag found in %s", prefix, page.url)
		}
		res.imports = imports
		return res, nil
	})
	return u.String(), res.imports, err
}

// importMismatchError lists the tags that did not match the import path.
type importMismatchError struct {
	importPath string
	mismatches []string
}

func (m importMismatchError) Error() string {
	s := make([]string, len(m.mismatches))
	for i, pre := range m.mismatches {
		s[i] = fmt.Sprintf("meta tag %s did not match import path %s", pre, m.importPath)
	}
	return strings.Join(s, ", ")
}

// matchGoImport returns the one tag whose prefix is a path prefix of
// importPath ("mod" tags come first and win over later ones).
func matchGoImport(imports []metaImport, importPath string) (metaImport, error) {
	match := -1
	mismatch := importMismatchError{importPath: importPath}
	for i, im := range imports {
		if !vcs.HasPathPrefix(importPath, im.Prefix) {
			mismatch.mismatches = append(mismatch.mismatches, im.Prefix)
			continue
		}
		if match >= 0 {
			if imports[match].VCS == "mod" && im.VCS != "mod" {
				break
			}
			return metaImport{}, fmt.Errorf("multiple meta tags match import path %q", importPath)
		}
		match = i
	}
	if match < 0 {
		return metaImport{}, mismatch
	}
	return imports[match], nil
}

// parseMetaGoImports reads go-import meta tags from the <head> of an HTML
// page, leniently, as the go command does: "mod" entries first, hiding
// other entries for the same prefix.
func parseMetaGoImports(r io.Reader) ([]metaImport, error) {
	dec := xml.NewDecoder(r)
	dec.CharsetReader = func(charset string, input io.Reader) (io.Reader, error) {
		switch strings.ToLower(charset) {
		case "utf-8", "ascii":
			return input, nil
		}
		return nil, fmt.Errorf("can't decode XML document using charset %q", charset)
	}
	dec.Strict = false
	var imports []metaImport
	for {
		t, err := dec.RawToken()
		if err != nil {
			if err != io.EOF && len(imports) == 0 {
				return nil, err
			}
			break
		}
		if e, ok := t.(xml.StartElement); ok && strings.EqualFold(e.Name.Local, "body") {
			break
		}
		if e, ok := t.(xml.EndElement); ok && strings.EqualFold(e.Name.Local, "head") {
			break
		}
		e, ok := t.(xml.StartElement)
		if !ok || !strings.EqualFold(e.Name.Local, "meta") || attrValue(e.Attr, "name") != "go-import" {
			continue
		}
		if f := strings.Fields(attrValue(e.Attr, "content")); len(f) == 3 || len(f) == 4 {
			mi := metaImport{Prefix: f[0], VCS: f[1], RepoRoot: f[2]}
			if len(f) == 4 {
				mi.SubDir = f[3]
			}
			imports = append(imports, mi)
		}
	}
	var list []metaImport
	haveMod := make(map[string]bool)
	for _, m := range imports {
		if m.VCS == "mod" {
			haveMod[m.Prefix] = true
			list = append(list, m)
		}
	}
	for _, m := range imports {
		if m.VCS != "mod" && !haveMod[m.Prefix] {
			list = append(list, m)
		}
	}
	return list, nil
}

func attrValue(attrs []xml.Attr, name string) string {
	for _, a := range attrs {
		if strings.EqualFold(a.Name.Local, name) {
			return a.Value
		}
	}
	return ""
}

// maxPageSize bounds a go-get page; tags are in its <head>.
const maxPageSize = 2 << 20

// A page is a go-get answer. Non-200 answers are still parsed (servers
// put tags in 404 pages); err is their status error.
type page struct {
	url  string // redacted
	body []byte
	err  error // *modfetch.HTTPError for a status other than 200
}

// getPage fetches u (which has no scheme) as the go command's web.Get:
// https; under GOINSECURE https without certificate checks and then http.
func (d *Direct) getPage(ctx context.Context, sec security, u *url.URL) (*page, error) {
	secure := *u
	secure.Scheme = "https"
	client := d.secureClient()
	if sec == insecure {
		client = d.insecureClient()
	}
	fetched := &secure
	resp, err := d.get(ctx, client, &secure)
	if err != nil {
		if sec != insecure || ctx.Err() != nil {
			return nil, err
		}
		plain := *u
		plain.Scheme = "http"
		if plain.User != nil {
			return nil, fmt.Errorf("refusing to pass credentials to insecure URL: %s", plain.Redacted())
		}
		fetched = &plain
		resp, err = d.get(ctx, d.secureClient(), &plain)
		if err != nil {
			return nil, err
		}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxPageSize))
	if err != nil {
		return nil, err
	}
	p := &page{url: fetched.Redacted(), body: body}
	if resp.StatusCode != http.StatusOK {
		p.err = &modfetch.HTTPError{URL: p.url, Status: resp.Status, StatusCode: resp.StatusCode,
			Detail: web.ErrorDetail(resp.Header.Get("Content-Type"), bytes.NewReader(body))}
	}
	return p, nil
}

// get sends one GET of u.
func (d *Direct) get(ctx context.Context, client *http.Client, u *url.URL) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", u.String(), nil)
	if err != nil {
		return nil, err
	}
	return client.Do(req)
}

// notFound reports whether the server answers 404 or 410 for u, as the go
// command checks after `git ls-remote` fails for an https remote.
func (d *Direct) notFound(ctx context.Context, u string) bool {
	pu, err := url.Parse(u)
	if err != nil || pu.Scheme != "https" {
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	resp, err := d.get(ctx, d.secureClient(), pu)
	if err != nil {
		return false
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	return resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone
}

// secureClient is d.Client, refusing redirects from https to other
// schemes and stopping after 10 redirects.
func (d *Direct) secureClient() *http.Client {
	d.clientOnce.Do(d.initClients)
	return d.secure
}

// insecureClient is for GOINSECURE https: no certificate checks (when
// d.Client's transport is an *http.Transport or nil), a 5 second limit.
func (d *Direct) insecureClient() *http.Client {
	d.clientOnce.Do(d.initClients)
	return d.insecure
}

func (d *Direct) initClients() {
	base := d.Client
	if base == nil {
		base = http.DefaultClient
	}
	d.secure = web.SecureRedirects(base)

	// GOINSECURE: any scheme may follow (the go command's Insecure mode),
	// so the client's own policy (nil: at most 10 redirects) is kept.
	ic := *base
	ic.Timeout = 5 * time.Second
	rt := base.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	if t, ok := skipVerify(rt); ok {
		ic.Transport = t
	}
	d.insecure = &ic
}

// A TransportWrapper is an http.RoundTripper that adds something (such
// as credentials) to another. Direct uses it to reach the *http.Transport
// underneath when GOINSECURE requires skipping certificate checks.
type TransportWrapper interface {
	http.RoundTripper
	// Unwrap returns the wrapped RoundTripper.
	Unwrap() http.RoundTripper
	// Rewrap returns a wrapper like this one around next instead.
	Rewrap(next http.RoundTripper) http.RoundTripper
}

// skipVerify returns a copy of rt that skips certificate checks, if rt is
// an *http.Transport or wraps one through TransportWrappers.
func skipVerify(rt http.RoundTripper) (http.RoundTripper, bool) {
	switch t := rt.(type) {
	case *http.Transport:
		t = t.Clone()
		if t.TLSClientConfig == nil {
			t.TLSClientConfig = new(tls.Config)
		}
		t.TLSClientConfig.InsecureSkipVerify = true
		return t, true
	case TransportWrapper:
		inner, ok := skipVerify(t.Unwrap())
		if !ok {
			return nil, false
		}
		return t.Rewrap(inner), true
	}
	return nil, false
}
