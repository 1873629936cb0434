package modfetch

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"
)

// An HTTPError is an answer other than 200 OK from a module proxy, a
// checksum database or another server of the protocol, or a failure to
// read a file:// URL (reported as 404 or 403 like the go command does).
//
// errors.Is(err, fs.ErrNotExist) holds for status 404 and 410 only.
// Its text is the go command's:
//
//	reading https://proxy.example/m/@v/v1.0.0.info: 404 Not Found
//		server response: not found: m@v1.0.0: invalid version
type HTTPError struct {
	URL        string // the requested URL, with any password redacted
	Status     string // such as "404 Not Found"
	StatusCode int    // such as 404

	// Detail is the server's explanation, taken from a text/plain body the
	// way the go command takes it: printable UTF-8 only, up to the first
	// blank line, at most 8 lines and 648 bytes (longer text is cut and
	// marked "[Truncated: too many lines.]" or "[Truncated: too long.]").
	// Lines after the first are separated by "\n\t".
	Detail string

	// Err is the underlying cause when there is one, such as the
	// *fs.PathError of a file:// URL that could not be read.
	Err error
}

func (e *HTTPError) Error() string {
	if e.Detail != "" {
		sep := " "
		if strings.ContainsRune(e.Detail, '\n') {
			sep = "\n\t"
		}
		return fmt.Sprintf("reading %s: %v\n\tserver response:%s%s", e.URL, e.Status, sep, e.Detail)
	}
	if e.Err != nil {
		err := e.Err
		if pe, ok := err.(*fs.PathError); ok {
			// The URL already names the file; drop the redundant path.
			err = pe.Err
		}
		return fmt.Sprintf("reading %s: %v", e.URL, err)
	}
	return fmt.Sprintf("reading %s: %v", e.URL, e.Status)
}

// Is reports whether target is fs.ErrNotExist and the status is 404 or 410.
func (e *HTTPError) Is(target error) bool {
	return target == fs.ErrNotExist && (e.StatusCode == 404 || e.StatusCode == 410)
}

func (e *HTTPError) Unwrap() error { return e.Err }

// NotExist returns an error with err's text for which
// errors.Is(result, fs.ErrNotExist) holds, and which unwraps to err.
// Layers use it for answers that mean "not here" without an HTTP status,
// such as a module that configuration keeps away from a source.
func NotExist(err error) error {
	if err == nil {
		return nil
	}
	return notExistError{err}
}

type notExistError struct{ err error }

func (e notExistError) Error() string      { return e.err.Error() }
func (e notExistError) Unwrap() error      { return e.err }
func (notExistError) Is(target error) bool { return target == fs.ErrNotExist }

// ErrForbidden is wrapped by the errors of answers refused by policy,
// such as a version that allow/deny rules (package rules) deny. It is
// not "not found": a GOPROXY walk stops at it, and proxy.Handler answers
// 403 Forbidden with the error's text, which the go command shows.
var ErrForbidden = errors.New("forbidden")

// ErrTooLarge is wrapped by every error for something over its size
// limit: a proxy's answer longer than the client's limit, a zip over
// x/mod's zip.MaxZipFile, a value larger than a store can hold.
var ErrTooLarge = errors.New("too large")

// ErrZipTooLarge is the error for a module zip over x/mod's
// zip.MaxZipFile (500 MiB), with the go command's text "downloaded zip
// file too large". It wraps [ErrTooLarge].
var ErrZipTooLarge error = &textError{"downloaded zip file too large", ErrTooLarge}

// textError is an error with its own text that wraps another.
type textError struct {
	text string
	err  error
}

func (e *textError) Error() string { return e.text }
func (e *textError) Unwrap() error { return e.err }
