//go:build !unix

package vcs

import (
	"os"
	"os/exec"
)

// Without process groups, only the process itself can be killed.
func setProcessGroup(cmd *exec.Cmd) {}

func signalGroup(cmd *exec.Cmd, kill bool) error {
	if cmd.Process == nil {
		return nil
	}
	err := cmd.Process.Kill()
	if err != nil {
		return os.ErrProcessDone
	}
	return nil
}
