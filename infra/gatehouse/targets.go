package gatehouse

import (
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
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
}

// ARNs of a deployed suite, as the GatehouseHooks stack outputs them.
type ARNs struct {
	ApprovalHook string
	SmokeHook    string
	BakeHook     string
	InvokeRole   string
}

// FromARNs refers to a deployed suite from another app or account. Nothing
// is created, and the role is imported immutable: no policy is ever added to it.
func FromARNs(scope constructs.Construct, id string, a ARNs) Targets {
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
	// DefaultApprovalTimeout is ECS's limit; keep the approval's own timeout
	// (hookDetails "timeout", 24h by default) at or below it.
	DefaultApprovalTimeout = 24 * time.Hour
	// DefaultBakeTimeout bounds the bake window.
	DefaultBakeTimeout = time.Hour
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

// Smoke is the smoke-test hook: after test traffic reaches green.
func (t Targets) Smoke(o HookOptions) Hook {
	return o.hook("Smoke", t.SmokeHook, StagePostTestTrafficShift, DefaultSmokeTimeout)
}

// Approval is the approval gate: after test traffic reaches green, beside
// the smoke tests (hooks on one stage run in parallel, all must succeed).
func (t Targets) Approval(o HookOptions) Hook {
	return o.hook("Approval", t.ApprovalHook, StagePostTestTrafficShift, DefaultApprovalTimeout)
}

// Bake is the bake check: after production traffic reaches green.
func (t Targets) Bake(o HookOptions) Hook {
	return o.hook("Bake", t.BakeHook, StagePostProductionTrafficShift, DefaultBakeTimeout)
}

// Standard returns the three hooks with their default stages and timeouts
// and no hookDetails (every function then uses its environment defaults).
func (t Targets) Standard() []Hook {
	return []Hook{t.Smoke(HookOptions{}), t.Approval(HookOptions{}), t.Bake(HookOptions{})}
}
