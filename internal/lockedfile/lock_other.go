//go:build !(darwin || dragonfly || freebsd || linux || netbsd || openbsd || windows)

package lockedfile

import "os"

// Systems without flock(2) or LockFileEx (Solaris, AIX, Plan 9, WebAssembly)
// have no lock here: callers still get all-or-nothing visibility from
// atomic renames, but processes sharing a directory do not exclude each
// other.
func tryLock(f *os.File, exclusive bool) (bool, error) { return true, nil }

func unlock(f *os.File) {}
