//go:build windows

package lockedfile

import (
	"errors"
	"os"
	"syscall"
	"unsafe"
)

// LockFileEx and UnlockFileEx, which the syscall package does not wrap,
// as the go command's lockedfile uses them: a lock on the whole file
// (every byte offset), which Windows enforces between processes.
var (
	kernel32         = syscall.NewLazyDLL("kernel32.dll")
	procLockFileEx   = kernel32.NewProc("LockFileEx")
	procUnlockFileEx = kernel32.NewProc("UnlockFileEx")
)

const (
	lockfileFailImmediately = 0x00000001
	lockfileExclusiveLock   = 0x00000002
	errorLockViolation      = syscall.Errno(33) // ERROR_LOCK_VIOLATION
	allBytes                = ^uint32(0)
)

func tryLock(f *os.File, exclusive bool) (bool, error) {
	flags := uint32(lockfileFailImmediately)
	if exclusive {
		flags |= lockfileExclusiveLock
	}
	ol := new(syscall.Overlapped)
	r, _, err := procLockFileEx.Call(f.Fd(), uintptr(flags), 0, uintptr(allBytes), uintptr(allBytes), uintptr(unsafe.Pointer(ol)))
	if r != 0 {
		return true, nil
	}
	if errors.Is(err, errorLockViolation) {
		return false, nil
	}
	return false, err
}

func unlock(f *os.File) {
	ol := new(syscall.Overlapped)
	procUnlockFileEx.Call(f.Fd(), 0, uintptr(allBytes), uintptr(allBytes), uintptr(unsafe.Pointer(ol)))
}
