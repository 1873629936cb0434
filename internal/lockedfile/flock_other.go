//go:build !unix

package lockedfile

import "os"

// Without flock there is no cross-process lock; callers still get
// all-or-nothing visibility from atomic renames.
func tryLock(f *os.File, exclusive bool) (bool, error) { return true, nil }

func unlock(f *os.File) {}
