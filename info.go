package modfetch

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"
)

// Info describes a module version: the answer to $path/@v/$rev.info and
// $path/@latest. Its JSON encoding (encoding/json, field order as declared)
// is byte for byte what the go command writes to its cache's .info files.
type Info struct {
	Version string    // canonical version, such as "v1.3.2"
	Time    time.Time // commit time; the zero Time when the source did not say

	// Origin, when known, records where the version came from. The go command
	// uses it to decide whether cached answers are still current.
	Origin *Origin `json:",omitempty"`
}

// Origin describes the provenance of a module version in its version
// control repository. Its fields mirror the go command's Origin type
// (cmd/go/internal/modfetch/codehost) and its JSON encoding.
type Origin struct {
	VCS    string `json:",omitempty"` // "git" etc.
	URL    string `json:",omitempty"` // URL of repository
	Subdir string `json:",omitempty"` // subdirectory in repository

	Hash string `json:",omitempty"` // commit hash or ID

	// TagPrefix and TagSum, when set, summarise the repository's tags of the
	// form TagPrefix + a valid semantic version.
	TagPrefix string `json:",omitempty"`
	TagSum    string `json:",omitempty"`

	// Ref, when set, is the mutable name (such as "refs/heads/main") that
	// resolved to Hash.
	Ref string `json:",omitempty"`

	// RepoSum, when set, summarises the whole state of the repository.
	RepoSum string `json:",omitempty"`
}

// Clean returns a copy of info as the go command keeps it in its module
// cache's .info files (cmd/go/internal/modfetch: writeDiskStat): the
// Origin loses TagPrefix, TagSum and RepoSum, which only matter for
// re-validating a query, and, for a pseudo-version, Ref. Clean of nil is
// nil.
func (info *Info) Clean() *Info {
	if info == nil {
		return nil
	}
	cp := *info
	if info.Origin != nil {
		o := *info.Origin
		o.TagPrefix, o.TagSum, o.RepoSum = "", "", ""
		if module.IsPseudoVersion(info.Version) {
			o.Ref = ""
		}
		cp.Origin = &o
	}
	return &cp
}

// ParseInfo parses the JSON of a .info or @latest answer. It accepts every
// shape seen from proxies in the wild: any spacing, any field order, unknown
// fields (which are dropped), a missing Time, and an Origin object. It
// requires a Version that is a canonical semantic version and, when present,
// a Time in RFC 3339 form. json.Marshal of the result is the canonical
// encoding.
func ParseInfo(data []byte) (*Info, error) {
	var raw struct {
		Version *string
		Time    *time.Time
		Origin  *Origin
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, err
	}
	if raw.Version == nil {
		return nil, errors.New("missing Version")
	}
	if err := CheckCanonical(*raw.Version); err != nil {
		return nil, err
	}
	info := &Info{Version: *raw.Version, Origin: raw.Origin}
	if raw.Time != nil {
		info.Time = *raw.Time
	}
	return info, nil
}

// CheckCanonical reports whether v is a canonical semantic version (as
// module.CanonicalVersion would return it, including a "+incompatible"
// suffix), returning a descriptive error when it is not.
func CheckCanonical(v string) error {
	if !semver.IsValid(v) {
		return fmt.Errorf("version %q is not a valid semantic version", v)
	}
	if module.CanonicalVersion(v) != v {
		return fmt.Errorf("version %q is not canonical (want %q)", v, module.CanonicalVersion(v))
	}
	return nil
}

// IsCanonical reports whether v is a canonical semantic version, the only
// form a module version takes in go.mod and go.sum files and in the
// .mod and .zip endpoints.
func IsCanonical(v string) bool {
	return CheckCanonical(v) == nil
}
