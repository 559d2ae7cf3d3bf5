package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/gatehouse-dev/gatehouse/internal/approval"
	"github.com/gatehouse-dev/gatehouse/internal/awsenv"
	"github.com/gatehouse-dev/gatehouse/internal/config"
	"github.com/gatehouse-dev/gatehouse/internal/ecsdeploy"
	"github.com/gatehouse-dev/gatehouse/internal/hook"
	"github.com/gatehouse-dev/gatehouse/internal/operator"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/internal/wiring/approvalparts"
)

// newDeployments makes the ECS reader that tells whether a deployment still
// waits; tests replace it.
var newDeployments = func(cfg aws.Config, getenv func(string) string) *ecsdeploy.Reader {
	return ecsdeploy.New(ecs.NewFromConfig(cfg, func(o *ecs.Options) { o.BaseEndpoint = awsenv.BaseEndpoint(getenv, awsenv.ECS) }))
}

// newPauses reads PAUSE hooks' states; tests replace it.
var newPauses = func(cfg aws.Config, getenv func(string) string) operator.PauseStates {
	return approvalparts.ECSPauses{API: ecs.NewFromConfig(cfg, func(o *ecs.Options) { o.BaseEndpoint = awsenv.BaseEndpoint(getenv, awsenv.ECS) })}
}

// newIdentity makes the STS client; tests replace it.
var newIdentity = func(cfg aws.Config, getenv func(string) string) operator.Identity {
	return sts.NewFromConfig(cfg, func(o *sts.Options) { o.BaseEndpoint = awsenv.BaseEndpoint(getenv, awsenv.STS) })
}

func runOperator(ctx context.Context, cmd string, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	f, code := parseOperator(cmd, args, stderr, getenv)
	if code >= 0 {
		return code
	}
	fail := func(err error) int {
		fmt.Fprintf(stderr, "gatehouse %s: %v\n", cmd, err)
		return 1
	}
	op, err := newOperator(ctx, f.bucket, stdout, getenv)
	if err != nil {
		return fail(err)
	}
	sel := operator.Selector{Stage: f.stage, Gate: f.gate}
	switch cmd {
	case "list":
		err = op.List(ctx, f.all)
	case "status":
		err = op.Status(ctx, f.deployment, sel)
	case "approve", "reject":
		d := approval.Approve
		if cmd == "reject" {
			d = approval.Reject
		}
		err = op.Decide(ctx, f.deployment, sel, d, strings.TrimSpace(f.comment), f.override)
	}
	if errors.Is(err, operator.ErrNoRequest) {
		return fail(fmt.Errorf("%s in s3://%s: check the ARN and the bucket", err, f.bucket))
	}
	if err != nil {
		return fail(err)
	}
	return 0
}

// operatorArgs are an operator command's flags and argument.
type operatorArgs struct {
	bucket, deployment, stage, gate, comment string
	all, override                            bool
}

// parseOperator reads cmd's flags and argument. It returns the exit code
// of a usage error, or -1 to go on.
func parseOperator(cmd string, args []string, stderr io.Writer, getenv func(string) string) (operatorArgs, int) {
	var f operatorArgs
	fs := flag.NewFlagSet("gatehouse "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.bucket, "bucket", getenv(config.EnvStateBucket), "the state bucket (default $"+config.EnvStateBucket+")")
	switch cmd {
	case "list":
		fs.BoolVar(&f.all, "all", false, "include decided and expired requests")
	default:
		fs.StringVar(&f.stage, "stage", "", "the lifecycle stage, when the deployment has requests at several")
		fs.StringVar(&f.gate, "gate", "", "the gate name, when several approval hooks hold the same stage")
		if cmd == "approve" || cmd == "reject" {
			fs.StringVar(&f.comment, "comment", "", "a comment recorded with the decision")
		}
		if cmd == "approve" {
			fs.BoolVar(&f.override, "override", false, "approve as an emergency override of a freeze or change window (needs --comment with the reason)")
		}
	}
	// Flags may follow the deployment ARN.
	var positional []string
	rest := args
	for {
		if err := fs.Parse(rest); err != nil {
			return f, parseExit(err)
		}
		if fs.NArg() == 0 {
			break
		}
		positional = append(positional, fs.Arg(0))
		rest = fs.Args()[1:]
	}
	usage := func(format string, a ...any) (operatorArgs, int) {
		fmt.Fprintf(stderr, "gatehouse %s: %s\n", cmd, fmt.Sprintf(format, a...))
		return f, 2
	}
	want := 1
	if cmd == "list" {
		want = 0
	}
	switch {
	case len(positional) != want && want == 0:
		return usage("unexpected argument %q", positional[0])
	case len(positional) != want:
		return usage("want exactly one deployment ARN (arn:aws:ecs:REGION:ACCOUNT:service-deployment/CLUSTER/SERVICE/ID)")
	}
	if want == 1 {
		f.deployment = positional[0]
		if _, err := hook.ParseDeploymentARN(f.deployment); err != nil {
			return usage("%v", err)
		}
	}
	switch {
	case f.bucket == "":
		return usage("no state bucket: pass --bucket or set %s", config.EnvStateBucket)
	case len(f.comment) > approval.MaxCommentLen:
		return usage("--comment is longer than %d bytes", approval.MaxCommentLen)
	case f.override && strings.TrimSpace(f.comment) == "":
		return usage("--override needs --comment with the reason")
	}
	return f, -1
}

// newOperator returns the operator for the state bucket, with the
// caller's AWS credentials.
func newOperator(ctx context.Context, bucket string, stdout io.Writer, getenv func(string) string) (*operator.Operator, error) {
	fn := strings.TrimSpace(getenv(config.EnvApprovalHook))
	if fn != "" && !validFunction(fn) {
		return nil, fmt.Errorf("%s: %q is not a Lambda function name or ARN (the GatehouseHooks output ApprovalHookArn)", config.EnvApprovalHook, fn)
	}
	accounts, err := config.ParseAccounts(getenv(config.EnvOperatorAccounts))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", config.EnvOperatorAccounts, err)
	}
	// The SDK's default configuration: the whole credential chain
	// (profiles, SSO, roles), as for the AWS CLI. The functions do without
	// it (awsenv.FromEnv), which keeps SSO, STS and IMDS out of them.
	cfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("load aws config: %w", err)
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	_, err = cfg.Credentials.Retrieve(cctx)
	cancel()
	if err != nil {
		return nil, fmt.Errorf("no AWS credentials: configure them as for the AWS CLI (aws configure, AWS_PROFILE, aws sso login): %w", err)
	}
	op := &operator.Operator{
		Accounts: accounts,
		Store:    store.New(awsenv.NewS3(cfg, getenv), bucket),
		Identity: newIdentity(cfg, getenv),
		Now:      time.Now,
		Out:      stdout,
		// An open request whose deployment ECS stopped or rolled back, or
		// whose PAUSE hook someone else ended, takes no votes, and list
		// and status say so.
		Deployments: newDeployments(cfg, getenv),
		Pauses:      newPauses(cfg, getenv),
	}
	if fn != "" {
		// Pause mode: the suite's approval hook settles a deciding vote
		// at once, with its own permissions, never the voter's.
		op.Settler = newSettler(cfg, getenv, fn)
	}
	return op, nil
}

// validFunction reports whether s can name a Lambda function: a name, or
// a function ARN.
func validFunction(s string) bool {
	if strings.HasPrefix(s, "arn:") {
		parts := strings.Split(s, ":")
		return len(parts) >= 7 && parts[2] == "lambda" && parts[5] == "function" && parts[6] != ""
	}
	return !strings.ContainsAny(s, " /:") && len(s) <= 64
}

// newSettler invokes the approval hook with a settle event; tests replace
// it.
var newSettler = func(cfg aws.Config, getenv func(string) string, function string) operator.Settler {
	return hookSettler{API: lambda.NewFromConfig(cfg, func(o *lambda.Options) { o.BaseEndpoint = awsenv.BaseEndpoint(getenv, awsenv.Lambda) }), Function: function}
}

// Invoker is the Lambda call hookSettler makes. *lambda.Client satisfies
// it.
type Invoker interface {
	Invoke(ctx context.Context, params *lambda.InvokeInput, optFns ...func(*lambda.Options)) (*lambda.InvokeOutput, error)
}

// hookSettler settles a request by invoking the suite's approval hook with
// a settle event: the decision is announced, and ECS told, with the
// suite's permissions.
type hookSettler struct {
	API      Invoker
	Function string
}

// Settle implements operator.Settler.
func (s hookSettler) Settle(ctx context.Context, key string) (approval.Verdict, error) {
	out, err := s.API.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(s.Function), Payload: hook.SettleEvent(key)})
	if err != nil {
		return approval.Verdict{}, fmt.Errorf("invoke %s: %w", s.Function, err)
	}
	if out.FunctionError != nil {
		var e struct {
			Message string `json:"errorMessage"`
		}
		_ = json.Unmarshal(out.Payload, &e)
		return approval.Verdict{}, fmt.Errorf("%s: %s", s.Function, hook.OneLine(cmp.Or(e.Message, aws.ToString(out.FunctionError))))
	}
	var res hook.Response
	if err := json.Unmarshal(out.Payload, &res); err != nil {
		return approval.Verdict{}, fmt.Errorf("%s answered %s: %w", s.Function, hook.Quote(out.Payload), err)
	}
	return approval.Verdict{Reason: res.Reason}, nil
}
