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
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/gatehouse-dev/gatehouse/internal/approval"
	"github.com/gatehouse-dev/gatehouse/internal/awsenv"
	"github.com/gatehouse-dev/gatehouse/internal/config"
	"github.com/gatehouse-dev/gatehouse/internal/ecsdeploy"
	"github.com/gatehouse-dev/gatehouse/internal/hook"
	"github.com/gatehouse-dev/gatehouse/internal/local"
	"github.com/gatehouse-dev/gatehouse/internal/operator"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/internal/wiring/approvalparts"
)

// newDeployments makes the ECS reader that tells whether a deployment still
// waits; tests replace it.
var newDeployments = func(cfg aws.Config, getenv func(string) string) *ecsdeploy.Reader {
	return ecsdeploy.New(ecsdeploy.NewClient(cfg, getenv))
}

// newPauses reads PAUSE hooks' states; tests replace it.
var newPauses = func(cfg aws.Config, getenv func(string) string) operator.PauseStates {
	return approvalparts.ECSPauses{API: ecsdeploy.NewClient(cfg, getenv)}
}

// newIdentity makes the STS client; tests replace it.
var newIdentity = func(cfg aws.Config, getenv func(string) string) operator.Identity {
	return sts.NewFromConfig(cfg, func(o *sts.Options) { o.BaseEndpoint = awsenv.BaseEndpoint(getenv, awsenv.STS) })
}

// The operator commands' usage, first line first.
var operatorUsage = map[string]string{
	"list": `usage: gatehouse list [--all] [--bucket B] [--region R]
       gatehouse list --local [--all] [--state-dir DIR]
Lists the approval requests waiting for a decision (--all: every request),
in AWS, or in a running gatehouse local (--local).
`,
	"status": `usage: gatehouse status <deployment-arn> [--stage S] [--gate G] [--bucket B] [--region R]
       gatehouse status --local <deployment-arn> [--state-dir DIR]
Shows an approval request: its settings, votes and audit history.
`,
	"approve": `usage: gatehouse approve <deployment-arn> [--comment C] [--override] [--stage S] [--gate G] [--bucket B] [--region R]
       gatehouse approve --local <deployment-arn> --as ADDRESS [--comment C] [--state-dir DIR]
Approves as your AWS identity: the approver whose address is your IAM user
name or IAM Identity Center user name (--local: as ADDRESS).
`,
	"reject": `usage: gatehouse reject <deployment-arn> [--comment C] [--stage S] [--gate G] [--bucket B] [--region R]
       gatehouse reject --local <deployment-arn> --as ADDRESS [--comment C] [--state-dir DIR]
Rejects as your AWS identity (--local: as ADDRESS): the deployment rolls back.
`,
}

func runOperator(ctx context.Context, cmd string, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	f, code := parseOperator(cmd, args, stdout, stderr, getenv)
	if code >= 0 {
		return code
	}
	fail := func(err error) int {
		fmt.Fprintf(stderr, "gatehouse %s: %v\n", cmd, err)
		return 1
	}
	var op *operator.Operator
	var err error
	if f.local {
		op, err = newLocalOperator(ctx, f, stdout)
	} else {
		op, err = newOperator(ctx, f, stdout, getenv)
	}
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
	switch {
	case errors.Is(err, operator.ErrNoRequest) && f.local:
		return fail(fmt.Errorf("%w in gatehouse local (%s): check the ARN with gatehouse list --local", err, f.stateDir))
	case errors.Is(err, operator.ErrNoRequest):
		return fail(fmt.Errorf("%w in s3://%s: check the ARN and the bucket", err, f.bucket))
	case f.local && err != nil && isConnRefused(err):
		return fail(fmt.Errorf("%w (%s): it stopped; start it again (make local, or gatehouse local)", local.ErrNotRunning, f.stateDir))
	case err != nil && !f.local:
		return fail(explain(err))
	case err != nil:
		return fail(err)
	}
	return 0
}

// operatorArgs are an operator command's flags and argument.
type operatorArgs struct {
	bucket, region, deployment, stage, gate, comment string
	all, override                                    bool
	// local: against a running gatehouse local, on stateDir, as the
	// approver as.
	local        bool
	stateDir, as string
}

// parseOperator reads cmd's flags and argument. It returns the exit code
// of a usage error or of help, or -1 to go on.
func parseOperator(cmd string, args []string, stdout, stderr io.Writer, getenv func(string) string) (operatorArgs, int) {
	var f operatorArgs
	usage := operatorUsage[cmd]
	fs := flag.NewFlagSet("gatehouse "+cmd, flag.ContinueOnError)
	fs.StringVar(&f.bucket, "bucket", getenv(config.EnvStateBucket), "the state bucket: the suite's StateBucketName output (default $"+config.EnvStateBucket+")")
	fs.StringVar(&f.region, "region", "", "the AWS region (default: the deployment ARN's, else $AWS_REGION or the profile's)")
	fs.BoolVar(&f.local, "local", false, "against a running gatehouse local instead of AWS")
	fs.StringVar(&f.stateDir, "state-dir", defaultStateDir(), "with --local: the state directory gatehouse local runs on")
	switch cmd {
	case "list":
		fs.BoolVar(&f.all, "all", false, "include decided and expired requests")
	default:
		fs.StringVar(&f.stage, "stage", "", "the lifecycle stage, when the deployment has requests at several")
		fs.StringVar(&f.gate, "gate", "", "the gate name, when several approval hooks hold the same stage")
	}
	if cmd == "approve" || cmd == "reject" {
		fs.StringVar(&f.comment, "comment", "", "a comment recorded with the decision")
		fs.StringVar(&f.as, "as", "", "with --local: the approver address to vote as (in AWS your identity is your credentials')")
	}
	if cmd == "approve" {
		fs.BoolVar(&f.override, "override", false, "approve as an emergency override of a freeze or change window (needs --comment with the reason)")
	}
	positional, code := parseFlags(fs, usage, args, stdout, stderr)
	if code >= 0 {
		return f, code
	}
	bad := func(format string, a ...any) (operatorArgs, int) {
		return f, usageError(stderr, cmd, usage, format, a...)
	}
	set := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	want := 1
	if cmd == "list" {
		want = 0
	}
	switch {
	case len(positional) != want && want == 0:
		return bad("unexpected argument %q", positional[0])
	case len(positional) != want:
		return bad("want exactly one deployment ARN (arn:aws:ecs:REGION:ACCOUNT:service-deployment/CLUSTER/SERVICE/ID; gatehouse list shows them)")
	}
	if want == 1 {
		f.deployment = positional[0]
		if _, err := hook.ParseDeploymentARN(f.deployment); err != nil {
			return bad("%v", err)
		}
	}
	switch {
	case f.local && (set["bucket"] || set["region"]):
		return bad("--local runs against gatehouse local: --bucket and --region are for AWS")
	case !f.local && (set["state-dir"] || set["as"]):
		return bad("--state-dir and --as go with --local; in AWS your identity is your credentials'")
	case f.local && (cmd == "approve" || cmd == "reject") && f.as == "":
		return bad("--local needs --as with the approver address to vote as (such as alice@example.com)")
	case !f.local && f.bucket == "":
		return bad("no state bucket: pass --bucket with the suite's StateBucketName output (aws cloudformation describe-stacks --stack-name GatehouseHooks), or set %s", config.EnvStateBucket)
	case len(f.comment) > approval.MaxCommentLen:
		return bad("--comment is longer than %d bytes", approval.MaxCommentLen)
	case f.override && strings.TrimSpace(f.comment) == "":
		return bad("--override needs --comment with the reason")
	}
	return f, -1
}

// newOperator returns the operator for the state bucket, with the
// caller's AWS credentials.
func newOperator(ctx context.Context, f operatorArgs, stdout io.Writer, getenv func(string) string) (*operator.Operator, error) {
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
	cfg, err := loadAWS(ctx, f.region, f.deployment)
	if err != nil {
		return nil, err
	}
	op := &operator.Operator{
		Accounts: accounts,
		Store:    store.New(awsenv.NewS3(cfg, getenv), f.bucket),
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

// newLocalOperator returns the operator for the gatehouse local running on
// f.stateDir: its embedded S3 server and simulated clock, the deployment
// records it keeps, and the caller as the approver f.as, signed in as
// through IAM Identity Center.
func newLocalOperator(ctx context.Context, f operatorArgs, stdout io.Writer) (*operator.Operator, error) {
	e, err := local.ReadEndpoint(f.stateDir)
	if err != nil {
		return nil, err
	}
	if f.as != "" {
		if _, err := approval.ParseApprovers([]string{f.as}); err != nil {
			return nil, fmt.Errorf("--as: %w", err)
		}
	}
	return &operator.Operator{
		Store:       e.Store(),
		Identity:    localIdentity("arn:aws:sts::" + e.Account + ":assumed-role/AWSReservedSSO_Approvers_local/" + strings.ToLower(f.as)),
		Now:         e.Now,
		Out:         stdout,
		Deployments: e.Deployments(),
		SweepNote:   "local mode's sweep tells the simulated ECS within a simulated minute",
	}, nil
}

// localIdentity is who the caller is in local mode: the approver --as
// names.
type localIdentity string

func (id localIdentity) GetCallerIdentity(context.Context, *sts.GetCallerIdentityInput, ...func(*sts.Options)) (*sts.GetCallerIdentityOutput, error) {
	return &sts.GetCallerIdentityOutput{Arn: aws.String(string(id))}, nil
}

// isConnRefused reports whether err is a refused connection: the local
// mode stopped.
func isConnRefused(err error) bool { return errors.Is(err, syscall.ECONNREFUSED) }

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
