package main

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"

	"github.com/gatehouse-dev/gatehouse/internal/approval"
	"github.com/gatehouse-dev/gatehouse/internal/awstest"
	"github.com/gatehouse-dev/gatehouse/internal/hook"
	"github.com/gatehouse-dev/gatehouse/internal/local"
	"github.com/gatehouse-dev/gatehouse/internal/operator"
	"github.com/gatehouse-dev/gatehouse/internal/simulator"
)

// fakeCredentials gives the process static AWS credentials and nothing
// else: no region, no profile, no metadata service.
func fakeCredentials(t *testing.T) {
	t.Helper()
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_SESSION_TOKEN": "",
		"AWS_REGION": "", "AWS_DEFAULT_REGION": "", "AWS_PROFILE": "",
		"AWS_CONFIG_FILE": "/nonexistent", "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
		"AWS_EC2_METADATA_DISABLED": "true",
	} {
		t.Setenv(k, v)
	}
}

// TestHelpAndUsage: each command's -h prints its usage line, what it does
// and its flags to stdout and exits 0; a usage error goes to stderr with
// the usage line and exits 2; --version says which build this is.
func TestHelpAndUsage(t *testing.T) {
	for _, cmd := range []string{"local", "list", "status", "approve", "reject", "rollback"} {
		for _, h := range []string{"-h", "--help"} {
			code, out, errOut := gatehouse(t, nil, cmd, h)
			if code != 0 || !strings.HasPrefix(out, "usage: gatehouse "+cmd) || !strings.Contains(out, "Flags:") || errOut != "" {
				t.Errorf("gatehouse %s %s = %d, stdout %q, stderr %q; want 0 and the usage on stdout", cmd, h, code, out, errOut)
			}
		}
		code, out, errOut := gatehouse(t, nil, cmd, "--no-such-flag")
		if code != 2 || out != "" || !strings.Contains(errOut, "flag provided but not defined: -no-such-flag") || !strings.Contains(errOut, "usage: gatehouse "+cmd) {
			t.Errorf("gatehouse %s --no-such-flag = %d, stdout %q, stderr %q; want 2 and the usage on stderr", cmd, code, out, errOut)
		}
	}
	for _, args := range [][]string{{"approve"}, {"list", "extra"}, {"rollback"}, {"local", "extra"}} {
		code, out, errOut := gatehouse(t, nil, args...)
		if code != 2 || out != "" || !strings.Contains(errOut, "usage: gatehouse "+args[0]) {
			t.Errorf("gatehouse %q = %d, stdout %q, stderr %q; want 2 and the usage line on stderr", args, code, out, errOut)
		}
	}
	for _, v := range []string{"--version", "version"} {
		if code, out, _ := gatehouse(t, nil, v); code != 0 || !strings.HasPrefix(out, "gatehouse ") || !strings.Contains(out, "go1.") {
			t.Errorf("gatehouse %s = %d %q, want 0 and the version", v, code, out)
		}
	}
	// The bucket error says where the name comes from.
	if code, _, errOut := gatehouse(t, nil, "list"); code != 2 || !strings.Contains(errOut, "StateBucketName output") {
		t.Errorf("list without a bucket = %d %q, want 2 naming the StateBucketName output", code, errOut)
	}
	for _, args := range [][]string{
		{"list", "--local", "--bucket", "b"},
		{"list", "--state-dir", "/tmp/x", "--bucket", "b"},
		{"approve", "--local", "arn:aws:ecs:us-east-1:000000000000:service-deployment/local/demo/x"},
	} {
		if code, _, errOut := gatehouse(t, nil, args...); code != 2 || !strings.Contains(errOut, "--local") {
			t.Errorf("gatehouse %q = %d %q, want a usage error about --local", args, code, errOut)
		}
	}
}

// TestRegion: the region is --region, else the deployment ARN's, else the
// environment's; with none the CLI says how to give one, before it asks
// AWS anything.
func TestRegion(t *testing.T) {
	fakeCredentials(t)
	var got []string
	old := newIdentity
	t.Cleanup(func() { newIdentity = old })
	newIdentity = func(cfg aws.Config, _ func(string) string) operator.Identity {
		got = append(got, cfg.Region)
		return localIdentity("")
	}
	arn := "arn:aws:ecs:eu-west-1:123456789012:service-deployment/c/s/d"
	e := env(map[string]string{"GATEHOUSE_STATE_BUCKET": "b"})
	if code, _, errOut := gatehouse(t, e, "list"); code != 1 || !strings.Contains(errOut, "no AWS region: set AWS_REGION or pass --region") {
		t.Errorf("list with no region = %d %q", code, errOut)
	}
	for _, tt := range []struct {
		envRegion string
		args      []string
		want      string
	}{
		{"", []string{"status", arn}, "eu-west-1"},
		{"us-east-2", []string{"status", arn}, "eu-west-1"},
		{"us-east-2", []string{"status", arn, "--region", "ap-south-1"}, "ap-south-1"},
		{"us-east-2", []string{"list"}, "us-east-2"},
		{"", []string{"list", "--region", "ca-central-1"}, "ca-central-1"},
	} {
		t.Setenv("AWS_REGION", tt.envRegion)
		got = nil
		// The calls themselves fail (no endpoint answers here): only the
		// region is checked.
		gatehouse(t, env(map[string]string{"GATEHOUSE_STATE_BUCKET": "b", "AWS_ENDPOINT_URL": "http://127.0.0.1:1"}), tt.args...)
		if len(got) != 1 || got[0] != tt.want {
			t.Errorf("gatehouse %q with AWS_REGION=%q used region %v, want %s", tt.args, tt.envRegion, got, tt.want)
		}
	}
}

// TestAWSErrorsInOneLine: expired credentials, credentials AWS does not
// accept and a denied call are each told in one line naming what to do,
// never the SDK's error chain.
func TestAWSErrorsInOneLine(t *testing.T) {
	fakeCredentials(t)
	oldECS, oldStdin := newECS, stdin
	t.Cleanup(func() { newECS, stdin = oldECS, oldStdin })
	for _, tt := range []struct {
		code string
		want string
	}{
		{"AccessDeniedException", "access denied: your AWS identity may not call ecs:DescribeServiceDeployments (AccessDeniedException); the permissions each command needs are in docs/operator.md"},
		{"ExpiredTokenException", "your AWS credentials have expired: sign in again (aws sso login, or fresh keys) and retry"},
		{"UnrecognizedClientException", "AWS does not accept your credentials (UnrecognizedClientException)"},
	} {
		newECS = func(aws.Config, func(string) string) deploymentsAPI {
			return ecs.New(ecs.Options{Region: "us-west-2", Credentials: aws.AnonymousCredentials{}, RetryMaxAttempts: 1,
				APIOptions: []func(*middlewareStack) error{answerError(&smithy.GenericAPIError{Code: tt.code, Message: "long SDK text\nwith lines"})}})
		}
		code, out, errOut := gatehouse(t, nil, "rollback", rollbackARN, "--yes")
		if code != 1 || errOut != "gatehouse rollback: "+tt.want+"\n" && !strings.HasPrefix(errOut, "gatehouse rollback: "+tt.want) {
			t.Errorf("rollback answered %s = %d, %q %q; want 1 and %q", tt.code, code, out, errOut, tt.want)
		}
		if strings.Count(errOut, "\n") != 1 || strings.Contains(errOut, "operation error") {
			t.Errorf("rollback answered %s printed %q, want one line without the SDK's chain", tt.code, errOut)
		}
	}
}

// TestNoSDKWarnings: the SDK's own log lines (here its IMDSv1 fallback
// warning, when the metadata service refuses a token) never reach the
// terminal; the missing credentials are said in one line.
func TestNoSDKWarnings(t *testing.T) {
	fakeCredentials(t)
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "false")
	imds := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) }))
	t.Cleanup(imds.Close)
	t.Setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", imds.URL)
	// The SDK's default logger writes to the process's standard error.
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	oldStderr := os.Stderr
	os.Stderr = w
	code, out, errOut := gatehouse(t, nil, "list", "--bucket", "b", "--region", "us-east-1")
	os.Stderr = oldStderr
	_ = w.Close()
	leaked, _ := io.ReadAll(r)
	if len(leaked) > 0 {
		t.Errorf("the SDK wrote to standard error: %q", leaked)
	}
	if code != 1 || out != "" || errOut != "gatehouse list: no AWS credentials: configure them as for the AWS CLI (aws configure, AWS_PROFILE, aws sso login)\n" {
		t.Errorf("list without credentials = %d, %q %q", code, out, errOut)
	}
}

// TestLocalOperator: the operator commands run against a running
// gatehouse local (--local): list shows the waiting request, status its
// history, approve --as an approver decides it at the simulated time and
// the deployment goes on; once local mode stops, the commands say so.
func TestLocalOperator(t *testing.T) {
	dir := t.TempDir()
	cfg := local.DefaultConfig()
	cfg.Speed = local.MaxSpeed
	l, err := local.Start(local.Options{StateDir: dir, Listen: "127.0.0.1:0", Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	tr, err := l.Deploy(local.Healthy)
	if err != nil {
		t.Fatal(err)
	}
	wait := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(30 * time.Second); !ok(); time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
		}
	}
	wait("the approval request", func() bool {
		_, out, _ := gatehouse(t, nil, "list", "--local", "--state-dir", dir)
		return strings.Contains(out, tr.D.ARN) && strings.Contains(out, "pending")
	})
	wait("the review links, after the smoke checks", func() bool {
		_, out, _ := gatehouse(t, nil, "status", "--local", "--state-dir", dir, tr.D.ARN)
		return strings.Contains(out, "review link sent to bob@example.com")
	})
	if code, out, errOut := gatehouse(t, nil, "status", "--local", "--state-dir", dir, tr.D.ARN); code != 0 || !strings.Contains(out, "alice@example.com: waiting") {
		t.Errorf("status --local = %d %q %q", code, out, errOut)
	}
	// Not an approver: refused, nothing recorded.
	if code, _, errOut := gatehouse(t, nil, "approve", "--local", "--state-dir", dir, tr.D.ARN, "--as", "mallory@example.com"); code != 1 || !strings.Contains(errOut, "mallory@example.com") {
		t.Errorf("approve --as a non-approver = %d %q, want 1", code, errOut)
	}
	before := l.Clock.Now()
	code, out, errOut := gatehouse(t, nil, "approve", "--local", "--state-dir", dir, tr.D.ARN, "--as", "alice@example.com", "--comment", "from the CLI")
	if code != 0 || !strings.Contains(out, "recorded: approve") {
		t.Fatalf("approve --local = %d %q %q", code, out, errOut)
	}
	select {
	case <-tr.Done():
	case <-time.After(60 * time.Second):
		t.Fatal("the deployment did not end within 60s of the approval")
	}
	if s := tr.D.Snapshot(); s.Status != simulator.StatusSuccessful {
		t.Errorf("deployment %s (%s), want SUCCESSFUL", s.Status, s.Reason)
	}
	// The vote was cast at the simulated time, not the machine's.
	obj, err := l.Store.Get(t.Context(), mustKey(t, tr.D.ARN))
	if err != nil {
		t.Fatal(err)
	}
	req, err := approval.Decode(obj.Body)
	if err != nil {
		t.Fatal(err)
	}
	v, ok := req.VoteOf("alice@example.com")
	if !ok || v.At.Before(before) || v.At.After(l.Clock.Now()) || v.Via != "cli" || v.Comment != "from the CLI" {
		t.Errorf("vote %+v, want alice's CLI vote at the simulated time (after %s)", v, before)
	}
	l.Close()
	if code, _, errOut := gatehouse(t, nil, "list", "--local", "--state-dir", dir); code != 1 || !strings.Contains(errOut, "no gatehouse local runs with this state directory") {
		t.Errorf("list --local after it stopped = %d %q", code, errOut)
	}
	// A local mode that died without cleaning up: its server is gone.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gone := "http://" + ln.Addr().String()
	_ = ln.Close()
	b, _ := json.Marshal(map[string]any{"s3": gone, "bucket": local.Bucket, "region": "us-east-1", "account": "000000000000"})
	if err := os.WriteFile(filepath.Join(dir, "endpoint.json"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := gatehouse(t, nil, "list", "--local", "--state-dir", dir); code != 1 || !strings.Contains(errOut, "it stopped; start it again") {
		t.Errorf("list --local with a dead local mode = %d %q", code, errOut)
	}
}

func mustKey(t *testing.T, arn string) string {
	t.Helper()
	d, err := hook.ParseDeploymentARN(arn)
	if err != nil {
		t.Fatal(err)
	}
	return approval.Key(d, hook.StagePostTestTrafficShift)
}

// middlewareStack is the SDK's middleware stack.
type middlewareStack = middleware.Stack

// answerError answers every call with err at the SDK's Initialize step.
func answerError(err error) func(*middleware.Stack) error {
	return awstest.Answer(func(any) (any, error) { return nil, err })
}
