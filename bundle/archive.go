package bundle

import (
	"archive/tar"
	"archive/zip"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	modzip "golang.org/x/mod/zip"
)

// A Format is the form of a bundle on disk.
type Format int

const (
	// Dir: a directory in the GOPROXY layout, usable as a file://
	// GOPROXY as it is.
	Dir Format = iota
	// TarGz: a gzip-compressed tar archive of that directory's files.
	TarGz
	// Zip: a zip archive of that directory's files.
	Zip
)

func (f Format) String() string {
	switch f {
	case Dir:
		return "directory"
	case TarGz:
		return "tar.gz"
	case Zip:
		return "zip"
	}
	return "Format(?)"
}

// FormatOf returns the format a bundle named name has: TarGz for a name
// ending in ".tar.gz" (or ".tgz"), Zip for ".zip", Dir otherwise.
func FormatOf(name string) Format {
	switch {
	case strings.HasSuffix(name, ".tar.gz"), strings.HasSuffix(name, ".tgz"):
		return TarGz
	case strings.HasSuffix(name, ".zip"):
		return Zip
	}
	return Dir
}

// archiveTime is the modification time of every archive entry, so that
// the same bundle gives the same bytes.
var archiveTime = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// maxEntry bounds an archive entry: a module zip may be as large as
// x/mod/zip allows, other files are small.
func maxEntry(name string) int64 {
	if strings.HasSuffix(name, ".zip") && !strings.HasPrefix(name, "sumdb/") {
		return modzip.MaxZipFile
	}
	return maxSmallFile
}

// Pack writes the regular files below dir into w as an archive of
// format f (TarGz or Zip), in lexical order, streaming each file: the
// form [Export] gives a bundle whose name ends in ".tar.gz" or ".zip".
// Entries are named by their slash-separated path below dir, with a
// fixed modification time, so that the same files give the same bytes.
func Pack(ctx context.Context, w io.Writer, dir string, f Format) error {
	var (
		tw *tar.Writer
		gw *gzip.Writer
		zw *zip.Writer
	)
	switch f {
	case TarGz:
		gw = gzip.NewWriter(w)
		tw = tar.NewWriter(gw)
	case Zip:
		zw = zip.NewWriter(w)
	default:
		return fmt.Errorf("pack: not an archive format: %v", f)
	}
	err := filepath.WalkDir(dir, func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(dir, name)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		src, err := os.Open(name)
		if err != nil {
			return err
		}
		defer src.Close()
		fi, err := src.Stat()
		if err != nil {
			return err
		}
		var dst io.Writer
		if tw != nil {
			hdr := &tar.Header{Typeflag: tar.TypeReg, Name: rel, Mode: 0o644, Size: fi.Size(), ModTime: archiveTime, Format: tar.FormatPAX}
			if err := tw.WriteHeader(hdr); err != nil {
				return err
			}
			dst = tw
		} else {
			method := zip.Deflate
			if strings.HasSuffix(rel, ".zip") {
				method = zip.Store // compressed already
			}
			hdr := &zip.FileHeader{Name: rel, Method: method, Modified: archiveTime}
			hdr.SetMode(0o644)
			if dst, err = zw.CreateHeader(hdr); err != nil {
				return err
			}
		}
		n, err := io.Copy(dst, src)
		if err == nil && n != fi.Size() {
			err = fmt.Errorf("%s changed while it was archived", rel)
		}
		return err
	})
	if err != nil {
		return err
	}
	if tw != nil {
		if err := tw.Close(); err != nil {
			return err
		}
		return gw.Close()
	}
	return zw.Close()
}

// checkEntryName returns the local file name of an archive entry, or an
// error for a name that is absolute, leaves the directory, or is not
// clean.
//
// A leading "./", as `tar -C dir .` writes, is allowed; the root itself
// is the name ".".
func checkEntryName(name string) (string, error) {
	clean := strings.TrimSuffix(name, "/")
	if clean == "." {
		return ".", nil
	}
	clean = strings.TrimPrefix(clean, "./")
	if clean == "" || path.Clean(clean) != clean || strings.Contains(clean, `\`) || !filepath.IsLocal(filepath.FromSlash(clean)) {
		return "", fmt.Errorf("archive entry %q: %w (not a clean relative name)", name, ErrLayout)
	}
	return filepath.FromSlash(clean), nil
}

// unpackFile writes one archive entry below dir, refusing a name that
// is there already and content longer than the entry's limit.
func unpackFile(dir, name string, r io.Reader) error {
	local, err := checkEntryName(name)
	if err != nil {
		return err
	}
	dst := filepath.Join(dir, local)
	if err := os.MkdirAll(filepath.Dir(dst), 0o777); err != nil {
		return err
	}
	f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o666)
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("archive entry %q: %w (twice in the archive)", name, ErrLayout)
		}
		return err
	}
	limit := maxEntry(filepath.ToSlash(local))
	n, err := io.Copy(f, io.LimitReader(r, limit+1))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && n > limit {
		err = fmt.Errorf("archive entry %q: larger than %d bytes", name, limit)
	}
	return err
}

// unpack extracts the archive file name, of format f, into dir: regular
// files and directories only.
func unpack(ctx context.Context, name string, f Format, dir string) error {
	switch f {
	case TarGz:
		file, err := os.Open(name)
		if err != nil {
			return err
		}
		defer file.Close()
		gr, err := gzip.NewReader(file)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		tr := tar.NewReader(gr)
		for {
			if err := ctx.Err(); err != nil {
				return err
			}
			hdr, err := tr.Next()
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			switch hdr.Typeflag {
			case tar.TypeDir:
				local, err := checkEntryName(hdr.Name)
				if err != nil {
					return err
				}
				if err := os.MkdirAll(filepath.Join(dir, local), 0o777); err != nil {
					return err
				}
			case tar.TypeReg:
				if err := unpackFile(dir, hdr.Name, tr); err != nil {
					return err
				}
			default:
				return fmt.Errorf("archive entry %q: %w (not a regular file)", hdr.Name, ErrLayout)
			}
		}
	case Zip:
		zr, err := zip.OpenReader(name)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		defer zr.Close()
		for _, zf := range zr.File {
			if err := ctx.Err(); err != nil {
				return err
			}
			mode := zf.Mode()
			switch {
			case mode.IsDir():
				local, err := checkEntryName(zf.Name)
				if err != nil {
					return err
				}
				if err := os.MkdirAll(filepath.Join(dir, local), 0o777); err != nil {
					return err
				}
			case mode.IsRegular():
				rc, err := zf.Open()
				if err != nil {
					return fmt.Errorf("archive entry %q: %w", zf.Name, err)
				}
				err = unpackFile(dir, zf.Name, rc)
				rc.Close()
				if err != nil {
					return err
				}
			default:
				return fmt.Errorf("archive entry %q: %w (not a regular file)", zf.Name, ErrLayout)
			}
		}
		return nil
	}
	return fmt.Errorf("unpack: not an archive format: %v", f)
}
