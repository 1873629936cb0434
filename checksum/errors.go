package checksum

import (
	"fmt"
	"strings"

	"golang.org/x/mod/sumdb"
)

const goSumMismatch = `

SECURITY ERROR
This download does NOT match an earlier download recorded in go.sum.
The bits may have been replaced on the origin server, or an attacker may
have intercepted the download attempt.

For more information, see 'go help module-auth'.`

const sumdbMismatch = `

SECURITY ERROR
This download does NOT match the one reported by the checksum server.
The bits may have been replaced on the origin server, or an attacker may
have intercepted the download attempt.

For more information, see 'go help module-auth'.`

const sumdbAbsent = `

SECURITY ERROR
This download does NOT match one reported by the checksum server.
The checksum server has provided checksums, but the checksums do
not contain an entry for the download.
The checksum server may be malfunctioning, or an attacker may have
intercepted the checksum request.
The download cannot be verified.

For more information, see 'go help module-auth'.`

// A MismatchError reports a download whose hash is not the one on record.
// Its text is the go command's SECURITY ERROR for the same case.
type MismatchError struct {
	Path    string // module path
	Version string // module version
	GoMod   bool   // the go.mod file's hash, not the zip's
	Got     string // hash of the downloaded bytes
	Want    string // hash on record; empty when the database had no line for it
	Source  string // where Want comes from: a go.sum file name or a database name
	DB      bool   // Source is a checksum database
}

func (e *MismatchError) Error() string {
	noun := "module"
	if e.GoMod {
		noun = "go.mod"
	}
	if e.DB {
		if e.Want == "" {
			return fmt.Sprintf("%s@%s: verifying %s: checksum missing from sumdb response"+sumdbAbsent, e.Path, e.Version, noun)
		}
		return fmt.Sprintf("%s@%s: verifying %s: checksum mismatch\n\tdownloaded: %v\n\t%s: %v"+sumdbMismatch, e.Path, e.Version, noun, e.Got, e.Source, e.Want)
	}
	v := e.Version
	if e.GoMod {
		v += "/go.mod"
	}
	return fmt.Sprintf("verifying %s@%s: checksum mismatch\n\tdownloaded: %v\n\t%s:     %v"+goSumMismatch, e.Path, v, e.Got, e.Source, e.Want)
}

// ErrSecurity is wrapped by the error of a lookup that found the checksum
// database misbehaving: its signed tree is not an extension of the one
// seen before (a fork or a rollback). Lookups keep failing until the stored
// tree head is removed by hand, as with the go command.
var ErrSecurity = sumdb.ErrSecurity

// A SecurityError carries the database's misbehavior report: both signed
// tree heads and the proof of their inconsistency, as the go command
// prints them.
type SecurityError struct {
	DB  string // database name
	Msg string // "SECURITY ERROR\ngo.sum database server misbehavior detected!..."
}

func (e *SecurityError) Error() string { return strings.TrimRight(e.Msg, "\n") }

// Is reports whether target is ErrSecurity.
func (e *SecurityError) Is(target error) bool { return target == ErrSecurity }
