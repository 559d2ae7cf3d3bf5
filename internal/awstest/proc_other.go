//go:build !linux

package awstest

import "os/exec"

// setProcessGroup does nothing outside Linux: a server may outlive a test
// binary that dies without running its cleanups.
func setProcessGroup(*exec.Cmd) {}

// killProcessGroup kills cmd.
func killProcessGroup(cmd *exec.Cmd) {
	_ = cmd.Process.Kill()
}

// listening is not implemented outside Linux: callers fall back to
// connecting to addr.
func listening(pid int, addr string) (bool, error) {
	return false, errNoProc
}
