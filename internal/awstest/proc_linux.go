package awstest

import (
	"os/exec"
	"syscall"
)

// setProcessGroup starts cmd in a process group of its own, and has the
// kernel kill it if the test binary dies without running its cleanups (a
// panic, a -timeout, Ctrl-C), so no server outlives the test run.
func setProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// killProcessGroup kills cmd and every process in its group.
func killProcessGroup(cmd *exec.Cmd) {
	// With Setpgid the group id is the child's pid; a negative pid
	// addresses the whole group.
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	_ = cmd.Process.Kill()
}
