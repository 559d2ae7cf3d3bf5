package awstest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// functionTimeout is the default AWS_LAMBDA_FUNCTION_TIMEOUT, in seconds,
// for functions under NewRIE (the emulator's own default is 300).
const functionTimeout = 30

// builds caches BuildFunction results by package for the test binary.
var builds = struct {
	mu sync.Mutex
	m  map[string]*build
}{m: map[string]*build{}}

type build struct {
	once sync.Once
	path string
	err  error
}

// buildDir is the directory BuildFunction writes into, one per test binary.
//
// `go test` runs a test binary from its work directory ($WORK/bNNN), which it
// deletes afterwards, so binaries built next to it are removed with it. A
// test binary run by hand (go test -c) uses a directory under os.TempDir
// that is left behind.
var buildDir = sync.OnceValues(func() (string, error) {
	parent := ""
	if exe, err := os.Executable(); err == nil && strings.HasPrefix(filepath.Base(filepath.Dir(filepath.Dir(exe))), "go-build") {
		parent = filepath.Dir(exe)
	}
	dir, err := os.MkdirTemp(parent, "awstest-functions-")
	if err != nil {
		return "", fmt.Errorf("create build directory: %w", err)
	}
	return dir, nil
})

// BuildFunction builds a Lambda function for the host, as
// `CGO_ENABLED=0 go build -tags lambda.norpc`, and returns the path of the
// binary, named bootstrap in a directory named after the package. pkg is a
// package path relative to the module root, such as
// "./functions/approval-hook"; a bare name such as "approval-hook" means
// "./functions/approval-hook". Each package is built once per test binary;
// later calls, also from parallel tests, return the same path.
func BuildFunction(t testing.TB, pkg string) string {
	t.Helper()
	if !strings.HasPrefix(pkg, "./") {
		pkg = "./functions/" + pkg
	}
	builds.mu.Lock()
	b, ok := builds.m[pkg]
	if !ok {
		b = &build{}
		builds.m[pkg] = b
	}
	builds.mu.Unlock()

	b.once.Do(func() { b.path, b.err = buildFunction(pkg) })
	if b.err != nil {
		t.Fatalf("awstest: %v", b.err)
	}
	return b.path
}

func buildFunction(pkg string) (string, error) {
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	dir, err := buildDir()
	if err != nil {
		return "", err
	}
	out, err := os.MkdirTemp(dir, filepath.Base(pkg)+"-")
	if err != nil {
		return "", fmt.Errorf("build %s: %w", pkg, err)
	}
	// Named after the package so that NewRIE can name the function.
	out = filepath.Join(out, filepath.Base(pkg))
	if err := os.Mkdir(out, 0o755); err != nil {
		return "", fmt.Errorf("build %s: %w", pkg, err)
	}
	bootstrap := filepath.Join(out, "bootstrap")
	// `go test` puts its own go first in PATH.
	goBin, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("build %s: %w", pkg, err)
	}
	// As `make build` compiles them (Makefile, LAMBDA_FLAGS): what is
	// tested and measured is what ships.
	cmd := exec.Command(goBin, "build", "-tags", "lambda.norpc", "-gcflags=all=-l", "-o", bootstrap, pkg)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+runtime.GOOS, "GOARCH="+runtime.GOARCH)
	if output, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build %s: %w\n%s", pkg, err, output)
	}
	return bootstrap, nil
}

// ErrTimeout is returned by RIE.Invoke when the function did not answer
// within AWS_LAMBDA_FUNCTION_TIMEOUT.
var ErrTimeout = errors.New("task timed out")

// HandlerError is the error response of a function whose handler returned
// an error (sent by the emulator with HTTP 200, so RIE.Invoke recognizes it
// by its body) or whose process died (HTTP 502).
type HandlerError struct {
	// Type is the error's type as the runtime reports it: "errorString"
	// for errors.New, the panic value's type ("string") for a panic,
	// "Runtime.ExitError" when the process exited.
	Type string `json:"errorType"`
	// Message is the error message.
	Message string `json:"errorMessage"`
}

func (e *HandlerError) Error() string {
	return fmt.Sprintf("handler error %s: %s", e.Type, e.Message)
}

// RIE is a function binary running under the AWS Lambda Runtime Interface
// Emulator on 127.0.0.1.
type RIE struct {
	// Endpoint is the emulator's base URL, http://127.0.0.1:PORT.
	Endpoint string
	// FunctionName is the function's AWS_LAMBDA_FUNCTION_NAME.
	FunctionName string

	// mu serializes invokes: the emulator crashes on concurrent ones.
	mu      sync.Mutex
	timeout time.Duration
	proc    *process
}

// NewRIE runs bootstrap under build/tools/bin/aws-lambda-rie, natively, on
// two free 127.0.0.1 ports, and waits until the emulator accepts
// connections. The function starts on the first Invoke. The emulator and
// the function are killed when the test ends, and their output is logged if
// the test failed.
//
// The function's environment is built from scratch, not inherited: PATH,
// HOME (an empty temporary directory), AWS_LAMBDA_FUNCTION_NAME (the
// bootstrap's directory name), AWS_LAMBDA_FUNCTION_TIMEOUT=30,
// AWS_REGION=us-east-1, placeholder credentials, no shared config files,
// no instance metadata, and AWS_ENDPOINT_URL=http://127.0.0.1:1 so that any
// service without its own AWS_ENDPOINT_URL_<SERVICE> fails fast instead of
// reaching AWS. env (KEY=VALUE, such as S3.Env and SNS.Env) is applied last;
// a later entry for a key replaces an earlier one. Do not set
// AWS_LAMBDA_MAX_CONCURRENCY: it switches the emulator to another mode.
func NewRIE(t testing.TB, bootstrap string, env []string) *RIE {
	t.Helper()
	bin := toolPath(t, "aws-lambda-rie")
	if _, err := os.Stat(bootstrap); err != nil {
		t.Fatalf("awstest: bootstrap: %v", err)
	}
	home := t.TempDir()
	name := filepath.Base(filepath.Dir(bootstrap))
	env = mergeEnv(baseEnv(home), []string{
		"AWS_LAMBDA_FUNCTION_NAME=" + name,
		fmt.Sprintf("AWS_LAMBDA_FUNCTION_TIMEOUT=%d", functionTimeout),
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=128",
		"AWS_REGION=" + Region,
		"AWS_ACCESS_KEY_ID=awstest",
		"AWS_SECRET_ACCESS_KEY=awstest",
		"AWS_ENDPOINT_URL=http://127.0.0.1:1",
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_CONFIG_FILE=" + filepath.Join(home, "aws-config"),
		"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(home, "aws-credentials"),
	}, env)
	r := &RIE{FunctionName: name, timeout: functionTimeout * time.Second}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case "AWS_LAMBDA_FUNCTION_NAME":
			r.FunctionName = v
		case "AWS_LAMBDA_FUNCTION_TIMEOUT":
			secs, err := strconv.Atoi(v)
			if err != nil || secs <= 0 {
				t.Fatalf("awstest: AWS_LAMBDA_FUNCTION_TIMEOUT=%q: want a positive number of seconds", v)
			}
			r.timeout = time.Duration(secs) * time.Second
		}
	}

	const attempts = 3
	for attempt := 1; ; attempt++ {
		rieAddr, err := freeAddr()
		if err != nil {
			t.Fatalf("awstest: %v", err)
		}
		apiAddr, err := freeAddr()
		if err != nil {
			t.Fatalf("awstest: %v", err)
		}
		// Both addresses must be set: the defaults (0.0.0.0:8080 and
		// 127.0.0.1:9001) collide between emulators. Unknown flags are
		// ignored silently.
		args := []string{
			"--runtime-interface-emulator-address", rieAddr,
			"--runtime-api-address", apiAddr,
			bootstrap,
		}
		p, err := startProcess("aws-lambda-rie "+r.FunctionName, bin, args, env, filepath.Dir(bootstrap))
		if err != nil {
			t.Fatalf("awstest: %v", err)
		}
		err = p.waitListening(rieAddr)
		if err == nil {
			err = p.waitListening(apiAddr)
		}
		if err == nil {
			r.proc = p
			r.Endpoint = "http://" + rieAddr
			break
		}
		p.stop()
		out := p.out.String()
		if attempt < attempts && strings.Contains(out, "address already in use") {
			continue // another process took a port after freeAddr released it
		}
		t.Fatalf("awstest: start aws-lambda-rie (attempt %d): %v\noutput:\n%s", attempt, err, out)
	}
	r.proc.logOnFailure(t)
	t.Cleanup(r.proc.stop)
	return r
}

// Invoke sends payload to the function and returns its response. Calls are
// serialized. When the handler returned an error, panicked or exited, it
// returns the body and an error wrapping a *HandlerError (see errors.As);
// when the function did not answer in time, an error wrapping ErrTimeout.
// After a panic, exit or timeout the emulator starts a fresh process on the
// next invoke, as Lambda does. If ctx has no deadline, the function timeout
// plus ten seconds applies.
func (r *RIE) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, r.timeout+10*time.Second)
		defer cancel()
	}
	url := r.Endpoint + "/2015-03-31/functions/function/invocations"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(payload))
	if err != nil {
		return nil, fmt.Errorf("invoke %s: %w", r.FunctionName, err)
	}
	h := randomHex(16)
	id := h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
	req.Header.Set("X-Amzn-RequestId", id)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("invoke %s: %w", r.FunctionName, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("invoke %s: read response: %w", r.FunctionName, err)
	}
	if resp.StatusCode == http.StatusOK {
		r.awaitEnd(id)
	}
	switch resp.StatusCode {
	case http.StatusOK:
		// A timeout comes back as plain text with HTTP 200.
		if bytes.HasPrefix(body, []byte("Task timed out")) {
			return body, fmt.Errorf("invoke %s: %w: %s", r.FunctionName, ErrTimeout, body)
		}
		// So does an error returned by the handler.
		if herr := handlerError(body); herr != nil {
			return body, fmt.Errorf("invoke %s: %w", r.FunctionName, herr)
		}
		return body, nil
	case http.StatusBadGateway:
		// The runtime process died (a panic, os.Exit); the emulator starts
		// a new one on the next invoke.
		if herr := handlerError(body); herr != nil {
			return body, fmt.Errorf("invoke %s: %w", r.FunctionName, herr)
		}
	}
	return body, fmt.Errorf("invoke %s: emulator answered %s: %s", r.FunctionName, resp.Status, body)
}

// awaitEnd waits, briefly, until the emulator's END line for invocation id
// has been read from its output. The function writes to the same pipe
// before it answers, so its output is then in Logs too; without the wait a
// test reading Logs right after Invoke would race with the pipe reader.
// The emulator prints no END line when the function process dies.
func (r *RIE) awaitEnd(id string) {
	const attempts, poll = 400, 5 * time.Millisecond // at most about 2s
	end := "END RequestId: " + id
	for range attempts {
		if strings.Contains(r.proc.out.String(), end) {
			return
		}
		time.Sleep(poll)
	}
}

// handlerError decodes a function error response: a JSON object with both
// errorMessage and errorType (and perhaps stackTrace).
func handlerError(body []byte) *HandlerError {
	var fields map[string]json.RawMessage
	if json.Unmarshal(body, &fields) != nil {
		return nil
	}
	if _, ok := fields["errorMessage"]; !ok {
		return nil
	}
	if _, ok := fields["errorType"]; !ok {
		return nil
	}
	var herr HandlerError
	if json.Unmarshal(body, &herr) != nil {
		return nil
	}
	return &herr
}

// Logs returns the output of the emulator and the function so far:
// the emulator's START/END/REPORT lines and whatever the function wrote to
// stdout and stderr. After an Invoke that got HTTP 200 (a response, a
// handler error or a timeout) it holds everything that invocation logged;
// after a panic or exit, output may lag briefly.
func (r *RIE) Logs() string {
	return r.proc.out.String()
}
