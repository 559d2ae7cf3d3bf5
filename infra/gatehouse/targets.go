package gatehouse

import (
	"cmp"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/gatehouse-dev/gatehouse/internal/hook"
)

// Targets are the gatehouse hook functions and the role ECS invokes them
// with: from a Suite in the same app (Suite.Targets), or from a deployed
// GatehouseHooks stack's outputs (FromARNs).
type Targets struct {
	ApprovalHook awslambda.IFunction
	SmokeHook    awslambda.IFunction
	BakeHook     awslambda.IFunction
	// InvokeRole is trusted by ecs.amazonaws.com and may invoke exactly the
	// three hook functions.
	InvokeRole awsiam.IRole
	// ApprovalMode is the suite's (SuiteProps.ApprovalMode): in
	// ApprovalModePause, Approval is an ECS PAUSE hook. For FromARNs, set it
	// as the deployed suite's.
	ApprovalMode ApprovalMode
	// ApprovalStage is where Approval holds deployments unless
	// HookOptions.Stages say otherwise (SuiteProps.ApprovalStage; empty:
	// POST_TEST_TRAFFIC_SHIFT).
	ApprovalStage Stage

	// suite holds the suite's defaults when the targets come from a Suite
	// in this app; nil for FromARNs.
	suite *hookDefaults
}

// ARNs of a deployed suite, as the GatehouseHooks stack outputs them.
type ARNs struct {
	ApprovalHook string
	SmokeHook    string
	BakeHook     string
	InvokeRole   string
}

// FromARNs refers to a deployed suite from another app. Nothing is created,
// and the role is imported immutable: no policy is ever added to it.
//
// The suite must be in the same account and region as the services it is
// attached to: its roles scope the ECS describes to the suite's own account
// and region. The function ARNs must be unqualified (no :version or :alias
// suffix), as the GatehouseHooks outputs give them: the invoke role may
// invoke exactly the unqualified functions, so ECS could not invoke a
// qualified ARN. Like the CDK's own constructs, FromARNs panics on invalid
// input.
func FromARNs(scope constructs.Construct, id string, a ARNs) Targets {
	if err := a.check(awscdk.Stack_Of(scope)); err != nil {
		panic(fmt.Sprintf("gatehouse.FromARNs(%s): %s", id, hook.OneLine(err.Error())))
	}
	c := constructs.NewConstruct(scope, jsii.String(id))
	return Targets{
		ApprovalHook: awslambda.Function_FromFunctionArn(c, jsii.String("ApprovalHook"), jsii.String(a.ApprovalHook)),
		SmokeHook:    awslambda.Function_FromFunctionArn(c, jsii.String("SmokeHook"), jsii.String(a.SmokeHook)),
		BakeHook:     awslambda.Function_FromFunctionArn(c, jsii.String("BakeHook"), jsii.String(a.BakeHook)),
		InvokeRole: awsiam.Role_FromRoleArn(c, jsii.String("InvokeRole"), jsii.String(a.InvokeRole), &awsiam.FromRoleArnOptions{
			Mutable: jsii.Bool(false),
		}),
	}
}

// check reports every ARN that is not an unqualified Lambda function ARN
// (or an IAM role ARN), and any that names another region or account than
// the stack's, when the stack's are known. ARNs that are CDK tokens (an
// import, a parameter) are left to deployment.
func (a ARNs) check(stack awscdk.Stack) error {
	var errs []error
	known := func(s *string) string {
		if s == nil || unresolved(*s) {
			return ""
		}
		return *s
	}
	region, account := known(stack.Region()), known(stack.Account())
	same := func(field string, arnRegion, arnAccount string) {
		if region != "" && arnRegion != "" && arnRegion != region {
			errs = append(errs, fmt.Errorf("%s is in region %s, the stack in %s: the suite must be in the same account and region as the services", field, arnRegion, region))
		}
		if account != "" && arnAccount != account {
			errs = append(errs, fmt.Errorf("%s is in account %s, the stack in %s: the suite must be in the same account and region as the services", field, arnAccount, account))
		}
	}
	for _, f := range []struct{ field, arn string }{
		{"ApprovalHook", a.ApprovalHook}, {"SmokeHook", a.SmokeHook}, {"BakeHook", a.BakeHook},
	} {
		if unresolved(f.arn) {
			continue
		}
		// arn:PARTITION:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]
		parts := strings.Split(f.arn, ":")
		switch {
		case len(parts) < 7 || parts[0] != "arn" || parts[2] != "lambda" || parts[5] != "function" || parts[6] == "":
			errs = append(errs, fmt.Errorf("%s %q is not a Lambda function ARN (arn:aws:lambda:REGION:ACCOUNT:function:NAME)", f.field, f.arn))
			continue
		case len(parts) > 7:
			errs = append(errs, fmt.Errorf("%s %q is qualified (:%s): give the unqualified function ARN, as the GatehouseHooks outputs do; the invoke role may invoke only the unqualified functions", f.field, f.arn, strings.Join(parts[7:], ":")))
		}
		same(f.field, parts[3], parts[4])
	}
	if !unresolved(a.InvokeRole) {
		parts := strings.Split(a.InvokeRole, ":")
		if len(parts) != 6 || parts[0] != "arn" || parts[2] != "iam" || !strings.HasPrefix(parts[5], "role/") {
			errs = append(errs, fmt.Errorf("InvokeRole %q is not an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME)", a.InvokeRole))
		} else {
			same("InvokeRole", "", parts[4])
		}
	}
	return errors.Join(errs...)
}

// unresolved reports whether s holds a CDK token.
func unresolved(s string) bool {
	return *awscdk.Token_IsUnresolved(jsii.String(s))
}

// HookOptions adjust one of the standard hooks; zero values keep the defaults.
type HookOptions struct {
	// Details are the hook's hookDetails.
	Details map[string]any
	// Stages replace the default stage.
	Stages []Stage
	// Timeout replaces the default timeoutConfiguration.
	Timeout time.Duration
	// OnTimeout replaces ROLLBACK.
	OnTimeout TimeoutAction
}

// Default stages and timeouts of the standard hooks.
const (
	// DefaultSmokeTimeout bounds the smoke tests, retries included.
	DefaultSmokeTimeout = 30 * time.Minute
	// DefaultApprovalTimeout is the approval hook's ECS timeout, ECS's own
	// default and the longest a Lambda hook waits; in pause mode, an hour
	// above a longer SuiteProps.ApprovalTimeout (at most
	// MaxPauseHookTimeout). The approval's own timeout (hookDetails
	// "timeout", or the suite's, 23h by default) must stay below it, so the
	// request expires before ECS times the hook out; Attach checks it.
	DefaultApprovalTimeout = 24 * time.Hour
	// DefaultBakeTimeout bounds the bake window.
	DefaultBakeTimeout = time.Hour
	// DefaultStepCheckTimeout bounds one step's check: it judges the step
	// bake just ended, usually on its first call, and holds the step at
	// most one more step bake for evidence. Raise it (HookOptions.Timeout)
	// above twice the step bake plus maxErrorDuration for long step bakes.
	DefaultStepCheckTimeout = 30 * time.Minute
)

func (o HookOptions) hook(id string, fn awslambda.IFunction, stage Stage, timeout time.Duration) Hook {
	h := Hook{ID: id, Function: fn, Stages: []Stage{stage}, Details: o.Details, Timeout: timeout, OnTimeout: o.OnTimeout}
	if len(o.Stages) > 0 {
		h.Stages = o.Stages
	}
	if o.Timeout != 0 {
		h.Timeout = o.Timeout
	}
	return h
}

// Smoke is the smoke-test hook: after test traffic reaches green. Details
// must give checks unless the suite's SmokeConfig does.
func (t Targets) Smoke(o HookOptions) Hook {
	h := o.hook("Smoke", t.SmokeHook, StagePostTestTrafficShift, DefaultSmokeTimeout)
	h.kind, h.suite = kindSmoke, t.suite
	return h
}

// Approval is the approval gate: after test traffic reaches green, beside
// the smoke tests (hooks on one stage run in parallel, all must succeed).
func (t Targets) Approval(o HookOptions) Hook {
	timeout := DefaultApprovalTimeout
	if t.suite != nil && t.ApprovalMode == ApprovalModePause {
		// Only a PAUSE hook waits longer than a day.
		timeout = min(max(timeout, t.suite.approval.Timeout+time.Hour), MaxPauseHookTimeout)
	}
	h := o.hook("Approval", t.ApprovalHook, cmp.Or(t.ApprovalStage, StagePostTestTrafficShift), timeout)
	h.kind, h.suite = kindApproval, t.suite
	h.Pause = t.ApprovalMode == ApprovalModePause
	return h
}

// Bake is the bake check: after production traffic reaches green. Details
// must give alarms or metrics unless the suite's BakeConfig does.
func (t Targets) Bake(o HookOptions) Hook {
	h := o.hook("Bake", t.BakeHook, StagePostProductionTrafficShift, DefaultBakeTimeout)
	h.kind, h.suite = kindBake, t.suite
	return h
}

// StepCheck is the bake hook as the step check of a linear or canary
// service: ECS calls it at PRE_PRODUCTION_TRAFFIC_SHIFT before every
// production step, and it judges the step just baked (green's share of
// production, against blue, over the step bake, with the bake's checks),
// failing before a bad canary or linear step goes further. Before the
// first step, and for a blue/green service, it passes without a verdict.
// Add it beside Bake, with the same Details; stepMinRequests in them sets
// the evidence a step needs.
func (t Targets) StepCheck(o HookOptions) Hook {
	h := o.hook("StepCheck", t.BakeHook, StagePreProductionTrafficShift, DefaultStepCheckTimeout)
	h.kind, h.suite = kindBake, t.suite
	return h
}

// Standard returns the hooks that work without hookDetails, with their
// default stages and timeouts: the approval hook, and the smoke and bake
// hooks only when the suite's own defaults (SmokeConfig, BakeConfig) are a
// complete configuration. Without checks the smoke and bake hooks answer
// FAILED, and every deployment rolls back. For targets from FromARNs, whose
// defaults this app cannot see, that is the approval hook alone: add Smoke
// and Bake with Details that give their checks.
func (t Targets) Standard() []Hook {
	var hooks []Hook
	if t.suite != nil && t.suite.smokeComplete() == nil {
		hooks = append(hooks, t.Smoke(HookOptions{}))
	}
	hooks = append(hooks, t.Approval(HookOptions{}))
	if t.suite != nil && t.suite.bakeComplete() == nil {
		hooks = append(hooks, t.Bake(HookOptions{}))
	}
	return hooks
}
