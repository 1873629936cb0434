package coderepo

import (
	"archive/zip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"

	"golang.org/x/mod/module"
	modzip "golang.org/x/mod/zip"

	"github.com/modfetch/modfetch/internal/fileinfo"
)

// Zip writes the module zip of canonical version to dst, as the go
// command makes it: `git archive` of the module's directory at the
// revision, the files under that directory given to x/mod's zip.Create
// (which drops nested modules, vendored packages, .hg_archival.txt,
// symbolic links and other irregular files, and enforces the size
// limits), with the repository root's LICENSE added to a subdirectory
// module that has none. The archive is spooled to a temporary file, never
// held in memory.
func (r *Repo) Zip(ctx context.Context, dst io.Writer, version string) error {
	if version != module.CanonicalVersion(version) {
		return fmt.Errorf("version %s is not canonical", version)
	}
	if module.IsPseudoVersion(version) {
		if _, err := r.Stat(ctx, version); err != nil {
			return err
		}
	}
	rev, subdir, _, err := r.findDir(ctx, version)
	if err != nil {
		return err
	}

	a, err := r.code.ReadZip(ctx, rev, subdir, r.TempDir, modzip.MaxZipFile)
	if err != nil {
		return err
	}
	defer a.Close()
	zr, err := zip.NewReader(a, a.Size)
	if err != nil {
		return err
	}

	subdir = strings.Trim(subdir, "/")
	if subdir != "" {
		subdir += "/"
	}
	var files []modzip.File
	haveLICENSE := false
	top := ""
	for _, zf := range zr.File {
		if top == "" {
			i := strings.Index(zf.Name, "/")
			if i < 0 {
				return errors.New("missing top-level directory prefix")
			}
			top = zf.Name[:i+1]
		}
		name, ok := strings.CutPrefix(zf.Name, top)
		if !ok {
			return errors.New("zip file contains more than one top-level directory")
		}
		if name, ok = strings.CutPrefix(name, subdir); !ok {
			continue
		}
		if name == "" || strings.HasSuffix(name, "/") {
			continue // directories
		}
		files = append(files, zipFile{name: name, f: zf})
		if name == "LICENSE" {
			haveLICENSE = true
		}
	}
	if !haveLICENSE && subdir != "" {
		if data, err := r.code.ReadFile(ctx, rev, "LICENSE", modzip.MaxLICENSE); err == nil {
			files = append(files, fileinfo.ZipFile{Name: "LICENSE", Data: string(data)})
		} else if ctx.Err() != nil {
			return err
		}
	}
	return modzip.Create(dst, module.Version{Path: r.modPath, Version: version}, files)
}

// zipFile is a file of the git archive.
type zipFile struct {
	name string
	f    *zip.File
}

func (f zipFile) Path() string                 { return f.name }
func (f zipFile) Lstat() (fs.FileInfo, error)  { return f.f.FileInfo(), nil }
func (f zipFile) Open() (io.ReadCloser, error) { return f.f.Open() }
