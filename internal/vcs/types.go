package vcs

import (
	"errors"
	"io/fs"
	"strings"
	"time"

	"github.com/modfetch/modfetch"
)

// A Tag is a tag name and the commit it names.
type Tag struct {
	Name string
	Hash string
}

// A RevInfo describes a revision.
type RevInfo struct {
	Origin  *modfetch.Origin // VCS, URL, Hash and, for a named revision, Ref
	Name    string           // full commit hash
	Short   string           // 12-digit prefix used in pseudo-versions
	Version string           // the rev asked for if it is a tag on the commit, else Name
	Time    time.Time        // commit time, UTC
	Tags    []string         // tags on the commit, sorted
}

// An UnknownRevisionError is a revision the repository does not have.
// errors.Is(err, fs.ErrNotExist) holds for it.
type UnknownRevisionError struct {
	Rev string
}

func (e *UnknownRevisionError) Error() string { return "unknown revision " + e.Rev }

// Is reports whether target is fs.ErrNotExist.
func (e *UnknownRevisionError) Is(target error) bool { return target == fs.ErrNotExist }

// ErrNoCommits is the go command's codehost.ErrNoCommits: the error of
// Latest for a repository without commits (no HEAD), and of a proxy's
// @latest for a module without timed versions. errors.Is(ErrNoCommits,
// fs.ErrNotExist) holds.
var ErrNoCommits = modfetch.NotExist(errors.New("no commits"))

// HasPathPrefix reports whether the slash-separated path s starts with
// the elements of prefix (cmd/go/internal/str: HasPathPrefix).
func HasPathPrefix(s, prefix string) bool {
	switch {
	case len(s) == len(prefix):
		return s == prefix
	case prefix == "":
		return true
	case len(s) > len(prefix):
		if prefix[len(prefix)-1] == '/' {
			return strings.HasPrefix(s, prefix)
		}
		return s[len(prefix)] == '/' && s[:len(prefix)] == prefix
	}
	return false
}

// AllHex reports whether rev is entirely lower-case hexadecimal digits.
func AllHex(rev string) bool {
	for i := 0; i < len(rev); i++ {
		c := rev[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
