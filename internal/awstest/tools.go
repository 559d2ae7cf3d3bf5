package awstest

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// ToolsBinEnv names the environment variable that overrides the directory
// holding the pinned tool binaries (default: build/tools/bin under the module
// root). The Makefile exports it.
const ToolsBinEnv = "GATEHOUSE_TOOLS_BIN"

// Region is the AWS region every stand-in reports.
const Region = "us-east-1"

// Bounds for every readiness loop: whichever is hit first ends the wait.
const (
	readyAttempts = 500
	readyTimeout  = 10 * time.Second
	readyPoll     = 20 * time.Millisecond
	stopTimeout   = 10 * time.Second
)

// ModuleRoot returns the directory holding the main module's go.mod, found
// by walking up from the working directory (a test runs in its package
// directory).
func ModuleRoot(t testing.TB) string {
	t.Helper()
	root, err := moduleRoot()
	if err != nil {
		t.Fatalf("awstest: %v", err)
	}
	return root
}

var moduleRoot = sync.OnceValues(func() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("find module root: %w", err)
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		if filepath.Dir(dir) == dir {
			return "", fmt.Errorf("find module root: no go.mod above %s", wd)
		}
	}
})

// toolPath returns the path of a pinned tool binary, failing the test with
// instructions when it is missing.
func toolPath(t testing.TB, name string) string {
	t.Helper()
	dir := os.Getenv(ToolsBinEnv)
	if dir == "" {
		dir = filepath.Join(ModuleRoot(t), "build", "tools", "bin")
	}
	path := filepath.Join(dir, name)
	info, err := os.Stat(path)
	if err != nil || info.IsDir() || info.Mode()&0o111 == 0 {
		t.Fatalf("awstest: %s not found in %s: run `make tools` (scripts/tools.sh)", name, dir)
	}
	return path
}

// Ports for the tool servers come from below Linux's default ephemeral range
// (32768-60999). A port that the kernel hands out for port 0 (httptest
// servers, other test binaries probing with port 0, outgoing connections) is
// reused quickly once closed; a port picked at random from this range by
// another test binary at the same moment is unlikely.
const (
	minToolPort = 20000
	maxToolPort = 32767
	portProbes  = 50
)

// freeAddr returns a 127.0.0.1 address with a random port that was free a
// moment ago. Another process can take it before the tool binds it, so
// callers retry on a bind failure and check that the server answering is
// theirs where they can.
func freeAddr() (string, error) {
	var lastErr error
	for range portProbes {
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(minToolPort+mrand.IntN(maxToolPort-minToolPort+1)))
		l, err := net.Listen("tcp", addr)
		if err != nil {
			lastErr = err
			continue
		}
		l.Close()
		return addr, nil
	}
	return "", fmt.Errorf("find free port in %d-%d: %w", minToolPort, maxToolPort, lastErr)
}

// randomHex returns n random bytes, hex encoded.
func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("awstest: crypto/rand: %v", err)) // never fails on supported platforms
	}
	return hex.EncodeToString(b)
}

// baseEnv is the environment every child process starts from: just enough
// to run, and nothing of the caller's AWS configuration.
func baseEnv(home string) []string {
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home}
	if tmp := os.Getenv("TMPDIR"); tmp != "" {
		env = append(env, "TMPDIR="+tmp)
	}
	return env
}

// mergeEnv joins KEY=VALUE lists; a later value for a key replaces an earlier
// one in place.
func mergeEnv(lists ...[]string) []string {
	var out []string
	index := map[string]int{}
	for _, list := range lists {
		for _, kv := range list {
			k, _, _ := strings.Cut(kv, "=")
			if i, ok := index[k]; ok {
				out[i] = kv
				continue
			}
			index[k] = len(out)
			out = append(out, kv)
		}
	}
	return out
}

// logBuffer collects a child process's combined output.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// process is a running tool binary.
type process struct {
	name    string
	cmd     *exec.Cmd
	out     *logBuffer
	done    chan struct{} // closed once the process has exited
	waitErr error         // valid after done is closed
	stop    func()        // kills the process (group) and waits, once
}

// startProcess starts path with args and env in its own process group (so
// stopping it also stops its children, such as a Lambda bootstrap).
func startProcess(name, path string, args, env []string, dir string) (*process, error) {
	p := &process{name: name, out: &logBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(path, args...)
	p.cmd.Env = env
	p.cmd.Dir = dir
	p.cmd.Stdout = p.out
	p.cmd.Stderr = p.out
	// A grandchild holding the output pipe open must not block Wait forever.
	p.cmd.WaitDelay = 2 * time.Second
	setProcessGroup(p.cmd)
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	go func() {
		p.waitErr = p.cmd.Wait()
		close(p.done)
	}()
	p.stop = sync.OnceFunc(func() {
		killProcessGroup(p.cmd)
		select {
		case <-p.done:
		case <-time.After(stopTimeout):
		}
	})
	return p, nil
}

// exited reports whether the process has exited.
func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// errExited is returned by waitListening when the process exits before
// listening.
var errExited = errors.New("process exited")

// errNoProc means that listening cannot tell which process owns a socket.
var errNoProc = errors.New("process socket table not available")

// waitListening waits, bounded in attempts and time, until the process
// listens on addr, failing early if it exits.
//
// Where the kernel tells (Linux /proc), it waits for a listening socket
// owned by the process itself: a port found free by freeAddr can be taken by
// another test binary's server before this one binds it, and a mere TCP
// connect would then succeed against the wrong server. Elsewhere it waits
// until addr accepts connections.
func (p *process) waitListening(addr string) error {
	deadline := time.Now().Add(readyTimeout)
	var lastErr error
	for range readyAttempts {
		if p.exited() {
			return fmt.Errorf("%s: %w (%v) before listening on %s", p.name, errExited, p.waitErr, addr)
		}
		ok, err := listening(p.cmd.Process.Pid, addr)
		if errors.Is(err, errNoProc) {
			var conn net.Conn
			if conn, err = net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
				conn.Close()
				ok = true
			}
		}
		if ok {
			return nil
		}
		lastErr = err
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(readyPoll)
	}
	if lastErr == nil {
		lastErr = errors.New("no listening socket")
	}
	return fmt.Errorf("%s not listening on %s after %v: %w", p.name, addr, readyTimeout, lastErr)
}

// logOnFailure registers a cleanup that logs the process output if the test
// failed. Register it before the cleanup that stops the process: cleanups
// run last-in first-out, so the output is then complete.
func (p *process) logOnFailure(t testing.TB) {
	t.Helper()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("%s (pid %d) output:\n%s", p.name, p.cmd.Process.Pid, p.out.String())
		}
	})
}
