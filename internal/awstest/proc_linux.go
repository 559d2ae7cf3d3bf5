package awstest

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
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

// listening reports whether process pid has a listening TCP socket bound
// to addr (IPv4). It reads /proc: the socket table gives the inode of the
// listener on the port, the process's descriptors show whether it is ours.
func listening(pid int, addr string) (bool, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return false, err
	}
	ip := net.ParseIP(host).To4()
	p, err := strconv.Atoi(port)
	if ip == nil || err != nil {
		return false, fmt.Errorf("not an IPv4 address: %s", addr)
	}
	// /proc/net/tcp writes the address as the in-memory (host order) hex of
	// the IPv4 word and the port as big-endian hex.
	local := fmt.Sprintf("%08X:%04X", binary.NativeEndian.Uint32(ip), p)
	table, err := os.ReadFile(fmt.Sprintf("/proc/%d/net/tcp", pid))
	if err != nil {
		return false, errors.Join(errNoProc, err)
	}
	inodes := map[string]bool{}
	for line := range strings.Lines(string(table)) {
		f := strings.Fields(line)
		const stateListen = "0A"
		if len(f) > 9 && f[1] == local && f[3] == stateListen {
			inodes["socket:["+f[9]+"]"] = true
		}
	}
	if len(inodes) == 0 {
		return false, nil
	}
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	fds, err := os.ReadDir(dir)
	if err != nil {
		return false, errors.Join(errNoProc, err)
	}
	for _, fd := range fds {
		if target, err := os.Readlink(filepath.Join(dir, fd.Name())); err == nil && inodes[target] {
			return true, nil
		}
	}
	return false, nil
}
