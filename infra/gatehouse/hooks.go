package gatehouse

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsecs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/gatehouse-dev/gatehouse/internal/hook"
)

// Stage is an ECS deployment lifecycle stage a Lambda hook can run at: the
// hook protocol's own type, so the names cannot drift.
type Stage = hook.Stage

// The hookable stages, in deployment order. SCALE_UP, BAKE_TIME and CLEAN_UP
// cannot be hooked.
const (
	StageReconcileService           = hook.StageReconcileService
	StagePreScaleUp                 = hook.StagePreScaleUp
	StagePostScaleUp                = hook.StagePostScaleUp
	StageTestTrafficShift           = hook.StageTestTrafficShift
	StagePostTestTrafficShift       = hook.StagePostTestTrafficShift
	StagePreProductionTrafficShift  = hook.StagePreProductionTrafficShift
	StageProductionTrafficShift     = hook.StageProductionTrafficShift
	StagePostProductionTrafficShift = hook.StagePostProductionTrafficShift
)

// l2Stages are the stages the CDK L2 construct knows (aws-cdk-lib 2.276.0
// lacks PRE_PRODUCTION_TRAFFIC_SHIFT); others are set on the L1 resource.
var l2Stages = map[Stage]awsecs.DeploymentLifecycleStage{
	StageReconcileService:           awsecs.DeploymentLifecycleStage_RECONCILE_SERVICE,
	StagePreScaleUp:                 awsecs.DeploymentLifecycleStage_PRE_SCALE_UP,
	StagePostScaleUp:                awsecs.DeploymentLifecycleStage_POST_SCALE_UP,
	StageTestTrafficShift:           awsecs.DeploymentLifecycleStage_TEST_TRAFFIC_SHIFT,
	StagePostTestTrafficShift:       awsecs.DeploymentLifecycleStage_POST_TEST_TRAFFIC_SHIFT,
	StageProductionTrafficShift:     awsecs.DeploymentLifecycleStage_PRODUCTION_TRAFFIC_SHIFT,
	StagePostProductionTrafficShift: awsecs.DeploymentLifecycleStage_POST_PRODUCTION_TRAFFIC_SHIFT,
}

// TimeoutAction is what ECS does with a hook that has not answered SUCCEEDED
// or FAILED within its timeout.
type TimeoutAction string

// Timeout actions.
const (
	TimeoutRollback TimeoutAction = "ROLLBACK"
	TimeoutContinue TimeoutAction = "CONTINUE"
)

// Limits ECS puts on Lambda hooks.
const (
	// MaxHooks is the most Lambda hooks one service may have; MaxPauseHooks
	// the most PAUSE hooks, counted apart.
	MaxHooks      = 10
	MaxPauseHooks = 10
	// MaxHookTimeout is the longest timeoutConfiguration ECS accepts for a
	// Lambda hook (timeoutInMinutes 1 to 1440): 24 hours. A stage with
	// Lambda hooks lasts at most that long, then the deployment rolls back.
	MaxHookTimeout = hook.MaxLambdaTimeout
	// MaxPauseHookTimeout is the longest a PAUSE hook waits
	// (timeoutInMinutes 1 to 20160): 14 days.
	MaxPauseHookTimeout = hook.MaxPauseTimeout
	// DefaultECSHookTimeout is the timeout ECS gives a hook without a
	// timeoutConfiguration.
	DefaultECSHookTimeout = hook.DefaultTimeout
)

// Hook is one deployment lifecycle hook: a function, the stages it runs at,
// the hookDetails ECS passes it and how long ECS waits for a verdict.
type Hook struct {
	// ID names the hook in the construct tree and in errors; unique per service.
	ID string
	// Function is the Lambda function ECS invokes.
	Function awslambda.IFunction
	// Stages are the lifecycle stages the hook runs at.
	Stages []Stage
	// Details become the hook's hookDetails, a JSON object. Values may hold
	// CDK string tokens. Nil means none.
	Details map[string]any
	// Timeout is the hook's timeoutConfiguration, in whole minutes from 1
	// minute to 1440 minutes (24 hours, MaxHookTimeout) for a Lambda hook,
	// or 20160 minutes (14 days, MaxPauseHookTimeout) for a PAUSE hook.
	// Zero leaves ECS's default (24 hours, ROLLBACK). Where a CloudFormation
	// stack deploys the service, the stack operation's 36 hours bound it
	// too (CheckStackDuration).
	Timeout time.Duration
	// OnTimeout is the action at Timeout; empty means ROLLBACK.
	OnTimeout TimeoutAction
	// Pause makes the hook an ECS PAUSE hook (TargetType PAUSE) in place of
	// a Lambda hook: Targets.Approval sets it in ApprovalModePause. ECS
	// invokes nothing and sends no hookDetails: Function is not the
	// target, and Details become the service's gatehouse: tags.
	Pause bool

	// kind and suite are set by Targets' Smoke, Approval and Bake: which
	// gatehouse function the hook runs and, for targets from a Suite in
	// this app, that suite's defaults, against which Details are checked.
	kind  hookKind
	suite *hookDefaults
}

func (h Hook) check() error {
	var problems []string
	if h.ID == "" {
		problems = append(problems, "ID is empty")
	}
	if h.Function == nil {
		problems = append(problems, "Function is nil")
	}
	if len(h.Stages) == 0 {
		problems = append(problems, "no Stages")
	}
	seen := map[Stage]bool{}
	for _, s := range h.Stages {
		if !s.Valid() {
			problems = append(problems, fmt.Sprintf("stage %q cannot be hooked", s))
		}
		if seen[s] {
			problems = append(problems, fmt.Sprintf("stage %s listed twice", s))
		}
		seen[s] = true
	}
	if limit := hook.MaxHookTimeout(h.Pause); h.Timeout != 0 && (h.Timeout < time.Minute || h.Timeout > limit || h.Timeout%time.Minute != 0) {
		kind := "a Lambda hook: ECS ends a stage with Lambda hooks after 24 hours and rolls back; a PAUSE hook (approval mode pause) waits up to 14 days"
		if h.Pause {
			kind = "a PAUSE hook"
		}
		problems = append(problems, fmt.Sprintf("Timeout %v is not a whole number of minutes from 1m to %s (%d minutes, the most ECS allows %s)", h.Timeout, hook.FormatDuration(limit), int(limit.Minutes()), kind))
	}
	if h.Pause && h.kind != kindApproval {
		problems = append(problems, "only the approval hook (Targets.Approval) can be a PAUSE hook")
	}
	switch h.OnTimeout {
	case "", TimeoutRollback, TimeoutContinue:
	default:
		problems = append(problems, fmt.Sprintf("OnTimeout %q is neither ROLLBACK nor CONTINUE", h.OnTimeout))
	}
	if len(problems) > 0 {
		return fmt.Errorf("hook %q: %s", h.ID, strings.Join(problems, "; "))
	}
	return nil
}

func (h Hook) stageNames() []string {
	out := make([]string, len(h.Stages))
	for i, s := range h.Stages {
		out[i] = string(s)
	}
	return out
}

// detailsJSON renders Details as the JSON text CloudFormation takes
// (HookDetails "must be a JSON object as a string"). encoding/json sorts
// keys, so the template is stable; embedded CDK tokens survive as text and
// become an Fn::Join.
func (h Hook) detailsJSON() (string, error) {
	if h.Details == nil {
		return "", nil
	}
	b, err := json.Marshal(h.Details)
	if err != nil {
		return "", fmt.Errorf("hook %q: hookDetails: %w", h.ID, err)
	}
	return string(b), nil
}

func (h Hook) timeoutAction() TimeoutAction {
	if h.OnTimeout == "" {
		return TimeoutRollback
	}
	return h.OnTimeout
}

// AttachProps says which hooks to attach and with which role.
type AttachProps struct {
	// Role is the role ECS assumes to invoke the hooks: trusted by
	// ecs.amazonaws.com, allowed lambda:InvokeFunction on each hook function
	// (Suite.InvokeRole, or FromARNs for a deployed suite). It is not changed.
	Role awsiam.IRole
	// Hooks are attached in order.
	Hooks []Hook
}

// markerPrefix names the empty constructs Attach leaves under a service, one
// per hook: they make hook IDs unique per service and count the hooks
// attached so far.
const markerPrefix = "GatehouseHook"

// Attach adds hooks to an ECS service (a FargateService or Ec2Service whose
// deployment controller is ECS, with a BLUE_GREEN, LINEAR or CANARY
// strategy). Each hook is added with the L2 AddLifecycleHook; what the L2
// construct cannot express yet (hookDetails, timeoutConfiguration, the
// PRE_PRODUCTION_TRAFFIC_SHIFT stage) is set on the service's
// AWS::ECS::Service resource at the hook's position in LifecycleHooks.
//
// Positions are counted from the hooks Attach added, so a hook added to the
// service directly with AddLifecycleHook (or FargateServiceProps
// LifecycleHooks) must come after every Attach call, or it would receive a
// gatehouse hook's hookDetails and timeout. Simplest: pass every hook,
// gatehouse or not, to Attach as a Hook. Like the CDK's own constructs,
// Attach panics on invalid input.
//
// The Details of hooks made by Targets are checked with the functions' own
// code. With targets from a Suite in this app (Suite.Targets), the suite's
// defaults and Details are checked together, as the function will merge
// them: a smoke hook without checks, a bake hook without alarms or metrics,
// or an approval whose timeout is not below the hook's ECS timeout would
// fail every deployment, and panics here naming the hook and the key. With
// targets from FromARNs, each key given is checked. An approver the review
// topic has no subscription for gets a synthesis warning.
func Attach(service awsecs.BaseService, props *AttachProps) {
	if err := attach(service, props); err != nil {
		panic(fmt.Sprintf("gatehouse.Attach(%s): %v", *service.Node().Path(), err))
	}
}

func attach(service awsecs.BaseService, props *AttachProps) error {
	if props == nil || props.Role == nil {
		return fmt.Errorf("AttachProps.Role is required: the role ECS invokes the hooks with")
	}
	cfn, ok := service.Node().DefaultChild().(awsecs.CfnService)
	if !ok {
		return fmt.Errorf("the service has no AWS::ECS::Service default child")
	}
	index := 0
	for _, c := range *service.Node().Children() {
		if strings.HasPrefix(*c.Node().Id(), markerPrefix) {
			index++
		}
	}
	// ECS counts Lambda hooks and PAUSE hooks apart: ten of each.
	pauses := 0
	if service.Node().TryFindChild(jsii.String(pauseMarker)) != nil {
		pauses++
	}
	lambdas := index - pauses
	for _, h := range props.Hooks {
		if h.Pause {
			pauses++
		} else {
			lambdas++
		}
	}
	if lambdas > MaxHooks {
		return fmt.Errorf("%d Lambda hooks: ECS allows at most %d Lambda hooks per service (and %d PAUSE hooks)", lambdas, MaxHooks, MaxPauseHooks)
	}
	if pauses > MaxPauseHooks {
		return fmt.Errorf("%d PAUSE hooks: ECS allows at most %d PAUSE hooks per service", pauses, MaxPauseHooks)
	}
	ids := map[string]bool{}
	for _, h := range props.Hooks {
		if err := h.check(); err != nil {
			return err
		}
		if ids[h.ID] || service.Node().TryFindChild(jsii.String(markerPrefix+h.ID)) != nil {
			return fmt.Errorf("hook %q attached twice", h.ID)
		}
		ids[h.ID] = true
	}
	var warnings []string
	for _, h := range props.Hooks {
		w, err := h.checkDetails()
		if err != nil {
			return err
		}
		warnings = append(warnings, w...)
	}
	for _, w := range warnings {
		awscdk.Annotations_Of(service).AddWarningV2(jsii.String("gatehouse:hookDetails"), jsii.String(w), nil)
	}
	if w := mixedStages(props.Hooks); w != "" {
		awscdk.Annotations_Of(service).AddWarningV2(jsii.String("gatehouse:mixedStage"), jsii.String(w), nil)
	}
	for _, h := range props.Hooks {
		if err := attachOne(service, cfn, props.Role, h, index); err != nil {
			return err
		}
		index++
	}
	return nil
}

// mixedStages warns of a PAUSE hook that may wait more than a day at a
// stage with Lambda hooks: whether ECS's 24 hours for a stage with Lambda
// hooks bound it then is not documented, and under that reading the
// deployment rolls back after a day, whatever the PAUSE hook's timeout.
func mixedStages(hooks []Hook) string {
	for _, p := range hooks {
		if !p.Pause || p.Timeout <= MaxHookTimeout {
			continue
		}
		for _, l := range hooks {
			for _, s := range p.Stages {
				if !l.Pause && slices.Contains(l.Stages, s) {
					return fmt.Sprintf("hook %q: a PAUSE hook that may wait %s at %s, where Lambda hook %q runs too: ECS ends a stage with Lambda hooks after 24 hours, and whether that holds while a PAUSE hook waits there is not documented; if it does, the deployment rolls back after a day. For waits over a day, put the PAUSE approval at a stage without Lambda hooks (HookOptions.Stages, -c approvalStage), such as PRE_PRODUCTION_TRAFFIC_SHIFT, where the test listener still serves green (of a blue/green service: a linear or canary one runs the bake's step check there).",
						p.ID, hook.FormatDuration(p.Timeout), s, l.ID)
				}
			}
		}
	}
	return ""
}

// attachOne adds hook h to the service at position index of its
// LifecycleHooks.
func attachOne(service awsecs.BaseService, cfn awsecs.CfnService, role awsiam.IRole, h Hook, index int) error {
	details, err := h.detailsJSON()
	if err != nil {
		return err
	}
	constructs.NewConstruct(service, jsii.String(markerPrefix+h.ID))

	// The L2 construct renders HookTargetArn, RoleArn and the stages it
	// knows; a hook only at stages it does not know gets a placeholder
	// that the override below replaces.
	var stages []awsecs.DeploymentLifecycleStage
	allKnown := true
	for _, s := range h.Stages {
		if l2, ok := l2Stages[s]; ok {
			stages = append(stages, l2)
		} else {
			allKnown = false
		}
	}
	if len(stages) == 0 {
		stages = []awsecs.DeploymentLifecycleStage{awsecs.DeploymentLifecycleStage_POST_TEST_TRAFFIC_SHIFT}
	}
	service.AddLifecycleHook(awsecs.NewDeploymentLifecycleLambdaTarget(h.Function, jsii.String(h.ID), &awsecs.DeploymentLifecycleLambdaTargetProps{
		LifecycleStages: &stages,
		Role:            role,
	}))

	path := "DeploymentConfiguration.LifecycleHooks." + strconv.Itoa(index) + "."
	if !allKnown {
		cfn.AddPropertyOverride(jsii.String(path+"LifecycleStages"), jsii.Strings(h.stageNames()...))
	}
	if h.Pause {
		// The service's tags hold the settings of one PAUSE approval
		// hook: a second would share them.
		if service.Node().TryFindChild(jsii.String(pauseMarker)) != nil {
			return fmt.Errorf("hook %q: a second PAUSE approval hook on the service: its settings are the service's gatehouse: tags, which one hook's Details fill", h.ID)
		}
		constructs.NewConstruct(service, jsii.String(pauseMarker))
		if err := attachPause(cfn, h, path); err != nil {
			return err
		}
	} else if details != "" {
		cfn.AddPropertyOverride(jsii.String(path+"HookDetails"), jsii.String(details))
	}
	if h.Timeout != 0 {
		cfn.AddPropertyOverride(jsii.String(path+"TimeoutConfiguration.TimeoutInMinutes"), jsii.Number(h.Timeout.Minutes()))
		cfn.AddPropertyOverride(jsii.String(path+"TimeoutConfiguration.Action"), jsii.String(string(h.timeoutAction())))
	}
	return nil
}

// CLIHook is one element of the lifecycleHooks list of
// `aws ecs create-service` / `update-service --deployment-configuration`.
type CLIHook struct {
	// TargetType is PAUSE for a PAUSE hook, which has no target or role.
	TargetType           string          `json:"targetType,omitempty"`
	HookTargetArn        string          `json:"hookTargetArn,omitempty"`
	RoleArn              string          `json:"roleArn,omitempty"`
	LifecycleStages      []string        `json:"lifecycleStages"`
	HookDetails          map[string]any  `json:"hookDetails,omitempty"`
	TimeoutConfiguration *CLIHookTimeout `json:"timeoutConfiguration,omitempty"`
}

// CLIHookTimeout is a hook's timeoutConfiguration in the ECS API.
type CLIHookTimeout struct {
	TimeoutInMinutes int    `json:"timeoutInMinutes"`
	Action           string `json:"action"`
}

// LifecycleHooksJSON renders hooks as the ECS API's lifecycleHooks list, for
// `aws ecs update-service`. ARNs may be CDK tokens: the result is then a
// token that CloudFormation resolves, fit for a stack output. Hooks made by
// Targets have their Details checked as Attach checks them.
func LifecycleHooksJSON(role awsiam.IRole, hooks []Hook) (string, error) {
	out := make([]CLIHook, 0, len(hooks))
	for _, h := range hooks {
		if err := h.check(); err != nil {
			return "", err
		}
		if _, err := h.checkDetails(); err != nil {
			return "", err
		}
		c := CLIHook{
			HookTargetArn:   *h.Function.FunctionArn(),
			RoleArn:         *role.RoleArn(),
			LifecycleStages: h.stageNames(),
			HookDetails:     h.Details,
		}
		if h.Pause {
			// Its Details are the service's tags (see Attach).
			c = CLIHook{TargetType: "PAUSE", LifecycleStages: c.LifecycleStages}
		}
		if h.Timeout != 0 {
			c.TimeoutConfiguration = &CLIHookTimeout{TimeoutInMinutes: int(h.Timeout.Minutes()), Action: string(h.timeoutAction())}
		}
		out = append(out, c)
	}
	b, err := json.Marshal(out)
	if err != nil {
		return "", err
	}
	return string(b), nil
}
