package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go/middleware"

	"github.com/gatehouse-dev/gatehouse/internal/approval"
	"github.com/gatehouse-dev/gatehouse/internal/awstest"
	"github.com/gatehouse-dev/gatehouse/internal/ecsdeploy"
	"github.com/gatehouse-dev/gatehouse/internal/hook"
	"github.com/gatehouse-dev/gatehouse/internal/local"
	"github.com/gatehouse-dev/gatehouse/internal/operator"
	"github.com/gatehouse-dev/gatehouse/internal/rollout"
	"github.com/gatehouse-dev/gatehouse/internal/simulator"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

func gatehouse(t *testing.T, getenv func(string) string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	code := run(context.Background(), args, &out, &errOut, getenv)
	return code, out.String(), errOut.String()
}

func TestUsage(t *testing.T) {
	tests := []struct {
		args []string
		code int
		want string
	}{
		{nil, 2, "Usage:"},
		{[]string{"deploy"}, 2, `unknown command "deploy"`},
		{[]string{"help"}, 0, "gatehouse local"},
		{[]string{"local", "-h"}, 0, "-scenario"},
		{[]string{"approve", "-h"}, 0, "-comment"},
		{[]string{"local", "--scenario", "chaos"}, 2, `unknown scenario "chaos"`},
		{[]string{"local", "--green", "purple", "--scenario", "approve"}, 2, "green mode"},
		{[]string{"local", "--green", "broken", "--scenario", "approve"}, 2, "--green broken does not go with --scenario approve"},
		{[]string{"local", "--speed", "-1", "--scenario", "approve"}, 2, "speed"},
		{[]string{"local", "--config", "/nonexistent.yaml"}, 2, "config"},
		{[]string{"local", "extra"}, 2, "unexpected argument"},
		{[]string{"local", "--approval-mode", "paused", "--scenario", "approve"}, 2, "approvalMode"},
		{[]string{"approve"}, 2, "want exactly one deployment ARN"},
		{[]string{"list", "x"}, 2, "unexpected argument"},
		{[]string{"status", "arn:aws:ecs:us-west-2:1:service/c/s", "--bucket", "b"}, 2, "not a service-deployment ARN"},
		{[]string{"status", "arn:aws:ecs:us-west-2:1:service-deployment/c/s/d"}, 2, "no state bucket"},
		{[]string{"reject", "arn:aws:ecs:us-west-2:1:service-deployment/c/s/d", "--bucket", "b", "--comment", strings.Repeat("x", 2000)}, 2, "--comment"},
	}
	for _, tt := range tests {
		code, out, errOut := gatehouse(t, nil, tt.args...)
		if code != tt.code || !strings.Contains(out+errOut, tt.want) {
			t.Errorf("gatehouse %q = %d, %q %q; want %d and %q", tt.args, code, out, errOut, tt.code, tt.want)
		}
	}
}

// TestScenarios runs every scenario of `gatehouse local --scenario` as a
// user would, and checks its exit code and last line, under every
// deployment strategy (--strategy) and every ECS behaviour the
// documentation leaves open (--ecs): hookDetails replaced, merged or
// deep-merged, and rollback weights reversed, empty or absent. Each
// scenario ends for the reason it is about (RunScenario checks it). The
// defaults run at the default speed, as a user sees them; the rest at the
// highest.
//
// In pause mode (--approval-mode pause) every scenario runs again under
// every strategy, and under every ECS behaviour with blue/green: the
// approval gate is then an ECS PAUSE hook, which ECS sends no hookDetails.
func TestScenarios(t *testing.T) {
	for _, mode := range []string{local.ModeLambda, local.ModePause} {
		for _, strategy := range rollout.Kinds {
			for _, b := range simulator.Behaviours() {
				if mode == local.ModePause && strategy != rollout.BlueGreen && b != simulator.DefaultBehaviour {
					continue
				}
				for _, s := range local.Scenarios {
					runScenario(t, mode, strategy, b, s)
				}
			}
		}
	}
}

func runScenario(t *testing.T, mode string, strategy rollout.Kind, b simulator.Behaviour, s local.Scenario) {
	name := string(strategy) + "/" + b.String() + "/" + s.Name
	if mode == local.ModePause {
		name = "pause/" + name
	}
	t.Run(name, func(t *testing.T) {
		t.Parallel()
		args := []string{"local", "--scenario", s.Name, "--strategy", string(strategy), "--ecs", b.String(), "--approval-mode", mode}
		if strategy != rollout.BlueGreen || b != simulator.DefaultBehaviour || mode == local.ModePause {
			args = append(args, "--speed", strconv.Itoa(local.MaxSpeed))
		}
		code, out, errOut := gatehouse(t, nil, args...)
		lines := strings.Split(strings.TrimSpace(out), "\n")
		last := lines[len(lines)-1]
		if code != local.ExitAsExpected || !strings.HasPrefix(last, "deployment ") || !strings.HasSuffix(last, ": "+string(s.Want)) {
			t.Errorf("scenario %s (%s, %s, %s): exit %d, last line %q; want 0 and %s\n%s%s", s.Name, mode, strategy, b, code, last, s.Want, out, errOut)
		}
	})
}

// TestBadApprovalHook: a GATEHOUSE_APPROVAL_HOOK that names no function
// stops the CLI before it asks AWS anything, naming the variable.
func TestBadApprovalHook(t *testing.T) {
	for _, bad := range []string{"approval hook", "arn:aws:sns:us-west-2:123456789012:reviews"} {
		code, out, errOut := gatehouse(t, env(map[string]string{"GATEHOUSE_APPROVAL_HOOK": bad}), "list", "--bucket", "b")
		if code == 0 || !strings.Contains(out+errOut, "GATEHOUSE_APPROVAL_HOOK") {
			t.Errorf("gatehouse list with %q = %d, %q %q; want an error naming GATEHOUSE_APPROVAL_HOOK", bad, code, out, errOut)
		}
	}
}

// env is a fake process environment.
func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestOperatorCommands(t *testing.T) {
	srv := awstest.NewS3(t)
	st := store.New(srv.Client(), srv.Bucket)
	// The suite's bucket is in the deployment's region (the CLI's default).
	arn := "arn:aws:ecs:us-east-1:123456789012:service-deployment/prod-cluster/orders/cli1"
	d, _ := hook.ParseDeploymentARN(arn)
	g := &approval.Gate{Store: st, Notifier: discard{}, Linker: noLinks{}, Now: time.Now, Log: slog.New(slog.DiscardHandler)}
	s := approval.DefaultSettings()
	s.Approvers = []string{"alice@example.com"}
	if _, err := g.Poll(context.Background(), approval.Poll{Deployment: d, Stage: hook.StagePostTestTrafficShift, ServiceARN: d.ServiceARN(), Settings: s}); err != nil {
		t.Fatal(err)
	}
	// A second request, whose deployment ECS has rolled back meanwhile.
	gone := strings.Replace(arn, "cli1", "cli2", 1)
	d2, _ := hook.ParseDeploymentARN(gone)
	if _, err := g.Poll(context.Background(), approval.Poll{Deployment: d2, Stage: hook.StagePostTestTrafficShift, ServiceARN: d2.ServiceARN(), Settings: s}); err != nil {
		t.Fatal(err)
	}
	// The CLI reads credentials, region and endpoint like the AWS CLI: from
	// the environment, here the local S3 server's. STS has no local
	// stand-in; it is answered at the SDK's Initialize step.
	for _, kv := range srv.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	t.Setenv("AWS_CONFIG_FILE", "/nonexistent")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	old := newIdentity
	newIdentity = func(aws.Config, func(string) string) operator.Identity {
		return sts.New(sts.Options{Region: "us-east-1", Credentials: aws.AnonymousCredentials{},
			APIOptions: []func(*middleware.Stack) error{awstest.Answer(func(any) (any, error) {
				return &sts.GetCallerIdentityOutput{Arn: aws.String("arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_Deployers_0123/alice@example.com")}, nil
			})}})
	}
	t.Cleanup(func() { newIdentity = old })
	// ECS has no local stand-in either.
	oldDeployments := newDeployments
	newDeployments = func(aws.Config, func(string) string) *ecsdeploy.Reader {
		return ecsdeploy.New(ecs.New(ecs.Options{Region: "us-west-2", Credentials: aws.AnonymousCredentials{},
			APIOptions: []func(*middleware.Stack) error{awstest.Answer(func(p any) (any, error) {
				in, ok := p.(*ecs.DescribeServiceDeploymentsInput)
				if !ok || len(in.ServiceDeploymentArns) != 1 {
					return nil, fmt.Errorf("unexpected ECS call %T", p)
				}
				status := ecstypes.ServiceDeploymentStatusInProgress
				if in.ServiceDeploymentArns[0] == gone {
					status = ecstypes.ServiceDeploymentStatusRollbackSuccessful
				}
				return &ecs.DescribeServiceDeploymentsOutput{ServiceDeployments: []ecstypes.ServiceDeployment{{ServiceDeploymentArn: aws.String(in.ServiceDeploymentArns[0]), Status: status}}}, nil
			})}}))
	}
	t.Cleanup(func() { newDeployments = oldDeployments })
	e := env(map[string]string{"GATEHOUSE_STATE_BUCKET": srv.Bucket})

	if code, out, errOut := gatehouse(t, e, "list"); code != 0 || !strings.Contains(out, arn) || !strings.Contains(out, "pending, but ECS: ROLLBACK_SUCCESSFUL") {
		t.Errorf("list = %d %q %q, want both requests, the second marked as over", code, out, errOut)
	}
	if code, _, errOut := gatehouse(t, e, "approve", gone); code != 1 || !strings.Contains(errOut, "ECS reports this deployment ROLLBACK_SUCCESSFUL: it no longer waits for this approval, and there is nothing to decide. Nothing was recorded.") {
		t.Errorf("approve of a rolled-back deployment = %d %q, want 1 and why", code, errOut)
	}
	if code, out, _ := gatehouse(t, e, "status", gone); code != 0 || !strings.Contains(out, "ECS:         the deployment is ROLLBACK_SUCCESSFUL") {
		t.Errorf("status of a rolled-back deployment = %d %q", code, out)
	}
	for _, args := range [][]string{{"approve", arn, "--override"}, {"reject", arn, "--override", "--comment", "x"}} {
		if code, _, errOut := gatehouse(t, e, args...); code != 2 {
			t.Errorf("%q = %d %q, want usage error 2", args, code, errOut)
		}
	}
	if _, _, errOut := gatehouse(t, e, "approve", arn, "--override"); !strings.Contains(errOut, "--override needs --comment with the reason") {
		t.Errorf("approve --override without --comment: %q", errOut)
	}
	if code, out, errOut := gatehouse(t, e, "approve", arn, "--comment", "checked the canary"); code != 0 || !strings.Contains(out, "approved by alice@example.com") {
		t.Errorf("approve = %d %q %q", code, out, errOut)
	}
	if code, _, errOut := gatehouse(t, e, "reject", arn); code != 1 || !strings.Contains(errOut, "This approval request is closed (approved by") {
		t.Errorf("reject after approval = %d %q, want 1 and 'closed'", code, errOut)
	}
	if code, out, _ := gatehouse(t, e, "status", arn, "--stage", "post_test_traffic_shift"); code != 0 || !strings.Contains(out, `"checked the canary"`) {
		t.Errorf("status = %d %q", code, out)
	}
	unknown := strings.Replace(arn, "cli1", "nope", 1)
	if code, _, errOut := gatehouse(t, e, "status", unknown); code != 1 || !strings.Contains(errOut, "no approval request") {
		t.Errorf("status of an unknown deployment = %d %q", code, errOut)
	}

	// Without credentials the CLI says so, before calling anything.
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", "")
	t.Setenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "")
	t.Setenv("AWS_WEB_IDENTITY_TOKEN_FILE", "")
	if code, _, errOut := gatehouse(t, e, "list"); code != 1 || !strings.Contains(errOut, "no AWS credentials") {
		t.Errorf("list without credentials = %d %q", code, errOut)
	}
}

type discard struct{}

func (discard) Publish(context.Context, approval.Message) (string, error) { return "id", nil }

type noLinks struct{}

func (noLinks) Link(context.Context, *approval.Request, string) (string, error) {
	return "https://x/review?token=t", nil
}
