package gatehouse

import (
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsecs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/gatehouse-dev/gatehouse/internal/approval"
	"github.com/gatehouse-dev/gatehouse/internal/config"
	"github.com/gatehouse-dev/gatehouse/internal/hook"
	"github.com/gatehouse-dev/gatehouse/internal/layout"
)

// ApprovalMode is how the approval gate holds a deployment.
type ApprovalMode string

// Approval modes.
const (
	// ApprovalModeLambda (the default): ECS calls the approval hook's
	// function until it answers; a vote is seen at its next call, up to
	// callbackDelay later, and the wait is capped by the hook's timeout.
	ApprovalModeLambda ApprovalMode = "lambda"
	// ApprovalModePause: an ECS PAUSE hook holds the deployment (up to 14
	// days); its "ECS Hook State Change" event opens the request, the
	// deciding vote continues the deployment at once, and a sweep each
	// minute keeps the time (reminders, expiry, alarms). A service's
	// settings are its gatehouse: tags (ECS sends a PAUSE hook no
	// hookDetails): Attach sets them from the hook's Details.
	ApprovalModePause ApprovalMode = "pause"
)

// ParseApprovalMode reads an approval mode; empty is ApprovalModeLambda.
func ParseApprovalMode(s string) (ApprovalMode, error) {
	switch m := ApprovalMode(strings.TrimSpace(s)); m {
	case "", ApprovalModeLambda:
		return ApprovalModeLambda, nil
	case ApprovalModePause:
		return m, nil
	}
	return "", fmt.Errorf("%q is neither %q nor %q", s, ApprovalModeLambda, ApprovalModePause)
}

// PauseStages are where ECS allows a PAUSE hook (ECS-HOOKS.md, section 7):
// never at TEST_TRAFFIC_SHIFT or PRODUCTION_TRAFFIC_SHIFT.
var PauseStages = hook.PauseStages

// CheckApprovalStage reports why the approval hook cannot hold deployments
// at stage in mode: ECS allows a Lambda hook at every hookable stage, a
// PAUSE hook at PauseStages.
func CheckApprovalStage(mode ApprovalMode, stage Stage) error {
	if !stage.Valid() {
		return fmt.Errorf("%q is not a stage a hook can run at: want one of %v", stage, hook.Stages)
	}
	if mode == ApprovalModePause && !slices.Contains(PauseStages, stage) {
		return fmt.Errorf("%s: ECS allows a PAUSE hook (approval mode pause) only at %v", stage, PauseStages)
	}
	return nil
}

// SweepSchedule is how often the sweep rule calls the approval hook in
// pause mode: EventBridge's shortest rate.
const SweepSchedule = "rate(1 minute)"

// newPauseMode adds what pause mode needs: the rule that sends PAUSE hooks'
// events to the approval hook, the sweep rule, and the grants of both
// functions to end PAUSE hooks' waits.
func (s *Suite) newPauseMode(c constructs.Construct, g *grants) {
	target := awseventstargets.NewLambdaFunction(s.ApprovalHook, &awseventstargets.LambdaFunctionProps{
		// EventBridge retries a failed delivery; the function returns an
		// error when it could not open the request, and is idempotent.
		RetryAttempts: jsii.Number(10),
		MaxEventAge:   awscdk.Duration_Hours(jsii.Number(2)),
	})
	s.PauseEvents = awsevents.NewRule(c, jsii.String("PauseEvents"), &awsevents.RuleProps{
		Description: jsii.String("gatehouse: ECS PAUSE hooks awaiting action open approval requests; their outcomes close them"),
		EventPattern: &awsevents.EventPattern{
			Source:     jsii.Strings(hook.PauseEventSource),
			DetailType: jsii.Strings(hook.PauseEventDetailType),
			Account:    &[]*string{awscdk.Aws_ACCOUNT_ID()},
			Detail: &map[string]any{
				"hookType":  []string{approval.PauseHookType},
				"eventName": []string{hook.HookAwaitingAction, hook.HookSucceeded, hook.HookFailed, hook.HookTimedOut},
			},
		},
		Targets: &[]awsevents.IRuleTarget{target},
	})
	s.Sweep = awsevents.NewRule(c, jsii.String("PauseSweep"), &awsevents.RuleProps{
		Description: jsii.String("gatehouse: the clock of approvals on PAUSE hooks (reminders, expiry, alarms, retries)"),
		Schedule:    awsevents.Schedule_Expression(jsii.String(SweepSchedule)),
		Targets: &[]awsevents.IRuleTarget{awseventstargets.NewLambdaFunction(s.ApprovalHook, &awseventstargets.LambdaFunctionProps{
			// A missed sweep is made up by the next.
			RetryAttempts: jsii.Number(0),
		})},
	})
	// Both functions end waits; only of services that opted in (their tag),
	// and of their deployments, which carry no tags: two statements, since
	// one with both resources and the tag condition would deny.
	for _, fn := range []awslambda.Function{s.ApprovalHook, s.ApprovalAPI} {
		for _, st := range continueStatements(g) {
			fn.AddToRolePolicy(st)
		}
	}
	s.ApprovalHook.AddToRolePolicy(allow("ReadServiceSettings", []string{"ecs:ListTagsForResource"}, g.services))
	s.ApprovalHook.AddToRolePolicy(allow("OpenPauseIndex", []string{"s3:GetObject", "s3:PutObject", "s3:DeleteObject"},
		s.Bucket.ArnForObjects(jsii.String(layout.PauseIndex+"*"))))
	s.ApprovalAPI.AddToRolePolicy(allow("AnnounceDecisions", []string{"sns:Publish"}, s.Topic.TopicArn()))
	s.ApprovalAPI.AddToRolePolicy(allow("WatchAlarms", []string{"cloudwatch:DescribeAlarms"}, jsii.String("*")))
	s.ApprovalAPI.AddEnvironment(jsii.String(config.EnvTopicARN), s.Topic.TopicArn(), nil)
	stack := g.stack
	suppressWildcards(s.ApprovalHook.Role(), []nagWildcard{
		{"Resource::<" + ref(stack, s.Bucket) + ".Arn>/" + layout.PauseIndex + "*", "One marker per open PAUSE request, keyed by deployment under the pauses/open/ prefix, for the sweep; the prefix is the narrowest scope."},
	})
	suppressWildcards(s.ApprovalAPI.Role(), []nagWildcard{
		{"Resource::*", "cloudwatch:DescribeAlarms: the alarms a decided PAUSE request still watches (abortOnAlarms) are named by each service at run time, and DescribeAlarms returns composite alarms only to a caller allowed it on Resource \"*\". It reads alarm states only."},
	})
}

// continueStatements grant ecs:ContinueServiceDeployment on the services
// tagged gatehouse:pause=approval, and on service deployments (which carry
// no tags; ECS authorizes the action on both).
func continueStatements(g *grants) []awsiam.PolicyStatement {
	services := awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("ContinueOptedInServices"),
		Effect:     awsiam.Effect_ALLOW,
		Actions:    jsii.Strings("ecs:ContinueServiceDeployment"),
		Resources:  &[]*string{g.services},
		Conditions: &map[string]any{"StringEquals": map[string]any{"ecs:ResourceTag/" + approval.TagOptIn: approval.OptInApproval}},
	})
	return []awsiam.PolicyStatement{services, allow("ContinueTheirDeployments", []string{"ecs:ContinueServiceDeployment"}, g.deployments)}
}

// ContinueGuardPolicy returns an IAM policy document (JSON, CDK tokens
// resolved at deployment) that denies ecs:ContinueServiceDeployment on
// services tagged gatehouse:pause=approval to every principal but the
// suite's approval hook and review API: as a service control policy it
// makes gatehouse the only way on for a service it gates (the console's
// "Take action" and the CLI are refused). A permissions boundary also
// needs the Allow statements the role may have: a Deny alone grants
// nothing.
func (s *Suite) ContinueGuardPolicy() *string {
	stack := awscdk.Stack_Of(s.Construct)
	return stack.ToJsonString(map[string]any{
		"Version": "2012-10-17",
		"Statement": []any{map[string]any{
			"Sid":      "OnlyGatehouseContinuesGatedDeployments",
			"Effect":   "Deny",
			"Action":   "ecs:ContinueServiceDeployment",
			"Resource": "*",
			"Condition": map[string]any{
				"StringEquals": map[string]any{"ecs:ResourceTag/" + approval.TagOptIn: approval.OptInApproval},
				"ArnNotLike":   map[string]any{"aws:PrincipalArn": []any{s.ApprovalHook.Role().RoleArn(), s.ApprovalAPI.Role().RoleArn()}},
			},
		}},
	}, nil)
}

// pauseMarker names the construct Attach leaves under a service with a
// PAUSE approval hook.
const pauseMarker = "GatehousePauseApproval"

// attachPause sets the L1 element at path, which the L2 rendered for the
// placeholder target, to a PAUSE hook, and h's Details to the service's
// tags.
func attachPause(cfn awsecs.CfnService, h Hook, path string) error {
	for _, s := range h.Stages {
		if !slices.Contains(PauseStages, s) {
			return fmt.Errorf("hook %q: ECS allows a PAUSE hook only at %v, not at %s (HookOptions.Stages)", h.ID, PauseStages, s)
		}
	}
	cfn.AddPropertyOverride(jsii.String(path+"TargetType"), jsii.String("PAUSE"))
	cfn.AddPropertyDeletionOverride(jsii.String(path + "HookTargetArn"))
	cfn.AddPropertyDeletionOverride(jsii.String(path + "RoleArn"))
	cfn.AddPropertyDeletionOverride(jsii.String(path + "HookDetails"))
	tags, err := approval.DetailTags(h.Details)
	if err != nil {
		return fmt.Errorf("hook %q: Details: %w", h.ID, err)
	}
	for k, v := range tags {
		cfn.Tags().SetTag(jsii.String(k), jsii.String(v), jsii.Number(100), jsii.Bool(true))
	}
	return nil
}
