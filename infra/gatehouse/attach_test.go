package gatehouse_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsecs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/jsii-runtime-go"
	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/infra/gatehouse"
)

// A deployed suite, as another app sees it: ARNs from the GatehouseHooks outputs.
var deployed = gatehouse.ARNs{
	ApprovalHook: "arn:aws:lambda:eu-west-1:111122223333:function:approval-hook",
	SmokeHook:    "arn:aws:lambda:eu-west-1:111122223333:function:smoke-hook",
	BakeHook:     "arn:aws:lambda:eu-west-1:111122223333:function:bake-hook",
	InvokeRole:   "arn:aws:iam::111122223333:role/gatehouse-invoke",
}

// consumerService is a Fargate service in someone else's app.
func consumerService(stack awscdk.Stack) awsecs.FargateService {
	vpc := awsec2.Vpc_FromVpcAttributes(stack, jsii.String("Vpc"), &awsec2.VpcAttributes{
		VpcId:             jsii.String("vpc-0123456789abcdef0"),
		AvailabilityZones: jsii.Strings("eu-west-1a", "eu-west-1b"),
		PrivateSubnetIds:  jsii.Strings("subnet-0123456789abcdef0", "subnet-0123456789abcdef1"),
	})
	task := awsecs.NewFargateTaskDefinition(stack, jsii.String("Task"), nil)
	task.AddContainer(jsii.String("app"), &awsecs.ContainerDefinitionOptions{
		Image: awsecs.ContainerImage_FromRegistry(jsii.String("public.ecr.aws/nginx/nginx:stable-alpine"), nil),
	})
	return awsecs.NewFargateService(stack, jsii.String("Service"), &awsecs.FargateServiceProps{
		Cluster:            awsecs.NewCluster(stack, jsii.String("Cluster"), &awsecs.ClusterProps{Vpc: vpc}),
		TaskDefinition:     task,
		DeploymentStrategy: awsecs.DeploymentStrategy_BLUE_GREEN,
		BakeTime:           awscdk.Duration_Minutes(jsii.Number(5)),
	})
}

// TestAttachInAnotherApp is the construct as another CDK Go app uses it:
// hooks from a deployed suite, a stage the L2 construct does not know yet,
// hookDetails, timeouts, and a hook added the L2 way afterwards.
func TestAttachInAnotherApp(t *testing.T) {
	app := newApp()
	stack := awscdk.NewStack(app, jsii.String("Orders"), nil)
	svc := consumerService(stack)
	hooks := gatehouse.FromARNs(stack, "Gatehouse", deployed)
	gatehouse.Attach(svc, &gatehouse.AttachProps{Role: hooks.InvokeRole, Hooks: []gatehouse.Hook{
		hooks.Smoke(gatehouse.HookOptions{Details: map[string]any{"checks": []any{map[string]any{"name": "health", "path": "/health", "expectStatus": []int{200}}}}}),
		hooks.Approval(gatehouse.HookOptions{
			Stages:    []gatehouse.Stage{gatehouse.StagePreProductionTrafficShift},
			Details:   map[string]any{"approvers": []string{"alice@example.com"}, "timeout": "2h"},
			Timeout:   150 * time.Minute,
			OnTimeout: gatehouse.TimeoutRollback,
		}),
	}})
	// A second Attach continues where the first stopped.
	gatehouse.Attach(svc, &gatehouse.AttachProps{Role: hooks.InvokeRole, Hooks: []gatehouse.Hook{
		hooks.Bake(gatehouse.HookOptions{Details: map[string]any{"window": "15m"}, Timeout: 45 * time.Minute, OnTimeout: gatehouse.TimeoutContinue}),
	}})
	// A hook added the L2 way after every Attach keeps its plain rendering.
	svc.AddLifecycleHook(awsecs.NewDeploymentLifecycleLambdaTarget(hooks.SmokeHook, jsii.String("Extra"), &awsecs.DeploymentLifecycleLambdaTargetProps{
		LifecycleStages: &[]awsecs.DeploymentLifecycleStage{awsecs.DeploymentLifecycleStage_POST_SCALE_UP},
		Role:            hooks.InvokeRole,
	}))

	tmpl := assertions.Template_FromStack(stack, nil)
	j := *tmpl.ToJSON()
	var got []any
	for _, r := range resources(j, "AWS::ECS::Service") {
		got = r["Properties"].(map[string]any)["DeploymentConfiguration"].(map[string]any)["LifecycleHooks"].([]any)
	}
	want := []any{
		map[string]any{
			"HookTargetArn": deployed.SmokeHook, "RoleArn": deployed.InvokeRole,
			"LifecycleStages":      []any{"POST_TEST_TRAFFIC_SHIFT"},
			"HookDetails":          `{"checks":[{"expectStatus":[200],"name":"health","path":"/health"}]}`,
			"TimeoutConfiguration": map[string]any{"TimeoutInMinutes": float64(30), "Action": "ROLLBACK"},
		},
		map[string]any{
			"HookTargetArn": deployed.ApprovalHook, "RoleArn": deployed.InvokeRole,
			"LifecycleStages":      []any{"PRE_PRODUCTION_TRAFFIC_SHIFT"},
			"HookDetails":          `{"approvers":["alice@example.com"],"timeout":"2h"}`,
			"TimeoutConfiguration": map[string]any{"TimeoutInMinutes": float64(150), "Action": "ROLLBACK"},
		},
		map[string]any{
			"HookTargetArn": deployed.BakeHook, "RoleArn": deployed.InvokeRole,
			"LifecycleStages":      []any{"POST_PRODUCTION_TRAFFIC_SHIFT"},
			"HookDetails":          `{"window":"15m"}`,
			"TimeoutConfiguration": map[string]any{"TimeoutInMinutes": float64(45), "Action": "CONTINUE"},
		},
		map[string]any{
			"HookTargetArn": deployed.SmokeHook, "RoleArn": deployed.InvokeRole,
			"LifecycleStages": []any{"POST_SCALE_UP"},
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("LifecycleHooks (-want +got):\n%s", diff)
	}
	// The imported role is used as is: nothing is granted to it, no role is created.
	check(t, "no IAM changes in the consumer", func() {
		tmpl.ResourcePropertiesCountIs(jsii.String("AWS::IAM::Policy"), obj(map[string]any{
			"PolicyDocument": obj(map[string]any{"Statement": arrayWith(obj(map[string]any{"Action": "lambda:InvokeFunction"}))}),
		}), jsii.Number(0))
	})
}

func TestAttachRefuses(t *testing.T) {
	role := func(stack awscdk.Stack) awsiam.IRole {
		return awsiam.Role_FromRoleArn(stack, jsii.String("R"), jsii.String(deployed.InvokeRole), nil)
	}
	tests := []struct {
		name  string
		hooks func(gatehouse.Targets) []gatehouse.Hook
		want  string
	}{
		{"timeout below a minute", func(t gatehouse.Targets) []gatehouse.Hook {
			return []gatehouse.Hook{t.Smoke(gatehouse.HookOptions{Timeout: 30 * time.Second})}
		}, "whole number of minutes"},
		{"timeout above a day", func(t gatehouse.Targets) []gatehouse.Hook {
			return []gatehouse.Hook{t.Approval(gatehouse.HookOptions{Timeout: 1441 * time.Minute})}
		}, "1m to 24h (1440 minutes, the most ECS allows a Lambda hook"},
		{"PAUSE timeout above 14 days", func(t gatehouse.Targets) []gatehouse.Hook {
			t.ApprovalMode = gatehouse.ApprovalModePause
			return []gatehouse.Hook{t.Approval(gatehouse.HookOptions{Timeout: 20161 * time.Minute})}
		}, "1m to 336h (20160 minutes, the most ECS allows a PAUSE hook)"},
		{"unhookable stage", func(t gatehouse.Targets) []gatehouse.Hook {
			return []gatehouse.Hook{t.Bake(gatehouse.HookOptions{Stages: []gatehouse.Stage{"BAKE_TIME"}})}
		}, `"BAKE_TIME" cannot be hooked`},
		{"duplicate ID", func(t gatehouse.Targets) []gatehouse.Hook {
			return []gatehouse.Hook{t.Smoke(gatehouse.HookOptions{}), t.Smoke(gatehouse.HookOptions{})}
		}, "attached twice"},
		{"an approval that continues on timeout", func(t gatehouse.Targets) []gatehouse.Hook {
			return []gatehouse.Hook{t.Approval(gatehouse.HookOptions{OnTimeout: gatehouse.TimeoutContinue})}
		}, "OnTimeout CONTINUE would let the deployment go on when nobody decides"},
		{"an approval timeout past the hook's ECS timeout", func(t gatehouse.Targets) []gatehouse.Hook {
			return []gatehouse.Hook{t.Approval(gatehouse.HookOptions{Details: map[string]any{"timeout": "20h"}, Timeout: 12 * time.Hour})}
		}, "not below the hook's ECS timeout 12h"},
		{"an approval timeout of ECS's default hook timeout", func(t gatehouse.Targets) []gatehouse.Hook {
			h := t.Approval(gatehouse.HookOptions{Details: map[string]any{"timeout": "48h"}})
			h.Timeout = 0 // ECS's default, 24h
			return []gatehouse.Hook{h}
		}, "48h cannot expire before ECS's 24-hour limit"},
		{"bad timeout action", func(t gatehouse.Targets) []gatehouse.Hook {
			return []gatehouse.Hook{t.Smoke(gatehouse.HookOptions{Timeout: time.Hour, OnTimeout: "IGNORE"})}
		}, "neither ROLLBACK nor CONTINUE"},
		{"more than ten hooks", func(t gatehouse.Targets) []gatehouse.Hook {
			var hs []gatehouse.Hook
			for i := range 11 {
				h := t.Smoke(gatehouse.HookOptions{})
				h.ID = "Smoke" + strings.Repeat("x", i)
				hs = append(hs, h)
			}
			return hs
		}, "at most 10"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			app := newApp()
			stack := awscdk.NewStack(app, jsii.String("S"), nil)
			svc := consumerService(stack)
			targets := gatehouse.FromARNs(stack, "G", deployed)
			msg, panicked := panics(func() {
				gatehouse.Attach(svc, &gatehouse.AttachProps{Role: role(stack), Hooks: tt.hooks(targets)})
			})
			if !panicked {
				t.Fatal("Attach accepted the hooks")
			}
			if !strings.Contains(msg, tt.want) || !strings.Contains(msg, "gatehouse.Attach(S/Service)") {
				t.Errorf("Attach panicked with %q, want it to name the service and mention %q", msg, tt.want)
			}
		})
	}
	t.Run("no role", func(t *testing.T) {
		app := newApp()
		stack := awscdk.NewStack(app, jsii.String("S"), nil)
		svc := consumerService(stack)
		msg, panicked := panics(func() { gatehouse.Attach(svc, &gatehouse.AttachProps{}) })
		if !panicked || !strings.Contains(msg, "Role is required") {
			t.Errorf("Attach without a role: panicked=%v %q", panicked, msg)
		}
	})
}

func TestLifecycleHooksJSON(t *testing.T) {
	app := newApp()
	stack := awscdk.NewStack(app, jsii.String("S"), nil)
	targets := gatehouse.FromARNs(stack, "G", deployed)
	got, err := gatehouse.LifecycleHooksJSON(targets.InvokeRole, []gatehouse.Hook{
		targets.Approval(gatehouse.HookOptions{Details: map[string]any{"requiredApprovals": 2}, Timeout: 4 * time.Hour}),
		targets.Bake(gatehouse.HookOptions{}),
	})
	if err != nil {
		t.Fatal(err)
	}
	var hooks []gatehouse.CLIHook
	if err := json.Unmarshal([]byte(got), &hooks); err != nil {
		t.Fatalf("LifecycleHooksJSON = %s: %v", got, err)
	}
	want := []gatehouse.CLIHook{
		{HookTargetArn: deployed.ApprovalHook, RoleArn: deployed.InvokeRole, LifecycleStages: []string{"POST_TEST_TRAFFIC_SHIFT"},
			HookDetails: map[string]any{"requiredApprovals": float64(2)}, TimeoutConfiguration: &gatehouse.CLIHookTimeout{TimeoutInMinutes: 240, Action: "ROLLBACK"}},
		{HookTargetArn: deployed.BakeHook, RoleArn: deployed.InvokeRole, LifecycleStages: []string{"POST_PRODUCTION_TRAFFIC_SHIFT"},
			TimeoutConfiguration: &gatehouse.CLIHookTimeout{TimeoutInMinutes: 60, Action: "ROLLBACK"}},
	}
	if diff := cmp.Diff(want, hooks); diff != "" {
		t.Errorf("LifecycleHooksJSON (-want +got):\n%s", diff)
	}
}

// suiteAndService builds a suite and a consumer service in one stack.
func suiteAndService(props gatehouse.SuiteProps) (awscdk.Stack, *gatehouse.Suite, awsecs.FargateService) {
	app := newApp()
	stack := awscdk.NewStack(app, jsii.String("S"), nil)
	props.AssetDir = assetRoot
	suite := gatehouse.NewSuite(stack, "Suite", &props)
	return stack, suite, consumerService(stack)
}

// TestAttachChecksDetailsWithSuiteDefaults: with targets from a Suite,
// Attach merges each hook's Details over the suite's defaults as the
// function will, and refuses what the function would answer FAILED.
func TestAttachChecksDetailsWithSuiteDefaults(t *testing.T) {
	tests := []struct {
		name  string
		props gatehouse.SuiteProps
		hook  func(gatehouse.Targets) gatehouse.Hook
		wants []string
	}{
		{"smoke without checks", gatehouse.SuiteProps{}, func(t gatehouse.Targets) gatehouse.Hook {
			return t.Smoke(gatehouse.HookOptions{})
		}, []string{`hook "Smoke" (smoke-hook)`, "checks: none configured"}},
		{"smoke with checks in neither", gatehouse.SuiteProps{SmokeConfig: `{"retries": 5}`}, func(t gatehouse.Targets) gatehouse.Hook {
			return t.Smoke(gatehouse.HookOptions{Details: map[string]any{"timeoutMs": 2000}})
		}, []string{`hook "Smoke" (smoke-hook)`, "checks"}},
		{"smoke unknown key", gatehouse.SuiteProps{}, func(t gatehouse.Targets) gatehouse.Hook {
			return t.Smoke(gatehouse.HookOptions{Details: map[string]any{"checks": []any{map[string]any{"name": "h", "path": "/"}}, "colour": "green"}})
		}, []string{`hook "Smoke" (smoke-hook)`, "hookDetails.colour: unknown key"}},
		{"bake without checks", gatehouse.SuiteProps{}, func(t gatehouse.Targets) gatehouse.Hook {
			return t.Bake(gatehouse.HookOptions{Details: map[string]any{"window": "15m"}})
		}, []string{`hook "Bake" (bake-hook)`, "no checks configured", "alarms or metrics"}},
		{"bake bad value", gatehouse.SuiteProps{BakeConfig: `{"alarms": {"prefixes": ["orders-"]}}`}, func(t gatehouse.Targets) gatehouse.Hook {
			return t.Bake(gatehouse.HookOptions{Details: map[string]any{"window": "forever"}})
		}, []string{`hook "Bake" (bake-hook)`, "hookDetails.window"}},
		{"approval timeout at the ECS timeout", gatehouse.SuiteProps{Approvers: []string{"alice@example.com"}}, func(t gatehouse.Targets) gatehouse.Hook {
			return t.Approval(gatehouse.HookOptions{Details: map[string]any{"timeout": "4h"}, Timeout: 4 * time.Hour})
		}, []string{`hook "Approval" (approval-hook)`, "hookDetails.timeout", "4h", "not below"}},
		{"approval default timeout above a shorter ECS timeout", gatehouse.SuiteProps{Approvers: []string{"alice@example.com"}}, func(t gatehouse.Targets) gatehouse.Hook {
			return t.Approval(gatehouse.HookOptions{Timeout: 2 * time.Hour})
		}, []string{`hook "Approval" (approval-hook)`, "23h", "not below"}},
		{"approval quorum above the approvers", gatehouse.SuiteProps{Approvers: []string{"alice@example.com"}}, func(t gatehouse.Targets) gatehouse.Hook {
			return t.Approval(gatehouse.HookOptions{Details: map[string]any{"requiredApprovals": 2}})
		}, []string{`hook "Approval" (approval-hook)`, "requiredApprovals"}},
		{"approval quorum below the suite's", gatehouse.SuiteProps{Approvers: []string{"alice@example.com", "bob@example.com"}, RequiredApprovals: 2}, func(t gatehouse.Targets) gatehouse.Hook {
			return t.Approval(gatehouse.HookOptions{Details: map[string]any{"requiredApprovals": 1}})
		}, []string{`hook "Approval" (approval-hook)`, "hookDetails.requiredApprovals: 1 is below the suite's 2 (GATEHOUSE_POLICY approval.loosen.requiredApprovals.min)"}},
		{"approver the policy does not allow", gatehouse.SuiteProps{Approvers: []string{"alice@example.com"}}, func(t gatehouse.Targets) gatehouse.Hook {
			return t.Approval(gatehouse.HookOptions{Details: map[string]any{"approvers": []string{"carol@example.com"}}})
		}, []string{`hook "Approval" (approval-hook)`, "carol@example.com is not one of the suite's approvers"}},
		{"smoke check the suite's policy keeps", gatehouse.SuiteProps{SmokeConfig: `{"checks": [{"name": "health", "path": "/health"}]}`}, func(t gatehouse.Targets) gatehouse.Hook {
			return t.Smoke(gatehouse.HookOptions{Details: map[string]any{"checks": []any{map[string]any{"name": "health", "path": "/"}}}})
		}, []string{`hook "Smoke" (smoke-hook)`, `"health" is one of the suite's checks`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, suite, svc := suiteAndService(tt.props)
			targets := suite.Targets()
			msg, panicked := panics(func() {
				gatehouse.Attach(svc, &gatehouse.AttachProps{Role: targets.InvokeRole, Hooks: []gatehouse.Hook{tt.hook(targets)}})
			})
			if !panicked {
				t.Fatal("Attach accepted the hook")
			}
			for _, w := range append(tt.wants, "gatehouse.Attach(S/Service)") {
				if !strings.Contains(msg, w) {
					t.Errorf("Attach panicked with %q, want it to mention %q", msg, w)
				}
			}
		})
	}
}

// TestAttachAcceptsCompleteDetails: complete Details, CDK tokens in them
// included, pass; an approver without a subscription is a warning.
func TestAttachAcceptsCompleteDetails(t *testing.T) {
	stack, suite, svc := suiteAndService(gatehouse.SuiteProps{
		Approvers:  []string{"Alice@Example.com"},
		BakeConfig: `{"alarms": {"prefixes": ["orders-"]}}`,
		// The policy lets services name carol besides the suite's approvers.
		Policy: `{"approval": {"loosen": {"approvers": {"list": ["carol@example.com"]}}}}`,
	})
	targets := suite.Targets()
	alb := fmt.Sprintf("http://%s:8080", *stack.StackName()) // a token
	gatehouse.Attach(svc, &gatehouse.AttachProps{Role: targets.InvokeRole, Hooks: []gatehouse.Hook{
		targets.Smoke(gatehouse.HookOptions{Details: map[string]any{
			"baseUrl": alb,
			"checks":  []any{map[string]any{"name": "health", "path": "/health"}},
		}}),
		// The address is compared as the function does: lowercased.
		targets.Approval(gatehouse.HookOptions{Details: map[string]any{"approvers": []string{"alice@example.com", "carol@example.com"}}}),
		targets.Bake(gatehouse.HookOptions{}), // the suite's defaults are complete
	}})
	notes := assertions.Annotations_FromStack(stack)
	check(t, "warning for the approver without a subscription", func() {
		notes.HasWarning(jsii.String("/S/Service"), assertions.Match_StringLikeRegexp(jsii.String("approver carol@example.com is not subscribed")))
	})
	mustFail(t, "no warning for the subscribed approver", func() {
		notes.HasWarning(jsii.String("/S/Service"), assertions.Match_StringLikeRegexp(jsii.String("approver alice@example.com is not subscribed")))
	})
}

// TestAttachChecksDetailsOfDeployedSuite: with targets from FromARNs the
// suite's defaults are unknown, so each key given is checked, and an
// approval timeout must stay below the hook's ECS timeout.
func TestAttachChecksDetailsOfDeployedSuite(t *testing.T) {
	tests := []struct {
		name  string
		hook  func(gatehouse.Targets) gatehouse.Hook
		wants []string
	}{
		{"approval timeout above the ECS timeout", func(t gatehouse.Targets) gatehouse.Hook {
			return t.Approval(gatehouse.HookOptions{Details: map[string]any{"timeout": "3h"}, Timeout: 2 * time.Hour})
		}, []string{`hook "Approval" (approval-hook)`, "hookDetails.timeout", "not below the hook's ECS timeout 2h"}},
		{"approval timeout of 24h at the default ECS timeout", func(t gatehouse.Targets) gatehouse.Hook {
			return t.Approval(gatehouse.HookOptions{Details: map[string]any{"timeout": "24h"}})
		}, []string{"hookDetails.timeout", "24h cannot expire before ECS's 24-hour limit"}},
		// Each key goes through the function's own decoder.
		{"a misspelt key", func(t gatehouse.Targets) gatehouse.Hook {
			return t.Approval(gatehouse.HookOptions{Details: map[string]any{"approver": []string{"alice@example.com"}}})
		}, []string{`hook "Approval" (approval-hook)`, "hookDetails.approver: unknown key"}},
		{"an approver that is no address", func(t gatehouse.Targets) gatehouse.Hook {
			return t.Approval(gatehouse.HookOptions{Details: map[string]any{"approvers": []string{"alice"}}})
		}, []string{"hookDetails.approvers", `"alice" is not an email address`}},
		{"a quorum above the approvers", func(t gatehouse.Targets) gatehouse.Hook {
			return t.Approval(gatehouse.HookOptions{Details: map[string]any{"approvers": []string{"alice@example.com"}, "requiredApprovals": 5}})
		}, []string{"requiredApprovals"}},
		{"an expiry that is neither", func(t gatehouse.Targets) gatehouse.Hook {
			return t.Approval(gatehouse.HookOptions{Details: map[string]any{"onExpiry": "maybe"}})
		}, []string{"onExpiry: \"maybe\", want reject or approve"}},
		{"smoke bad check", func(t gatehouse.Targets) gatehouse.Hook {
			return t.Smoke(gatehouse.HookOptions{Details: map[string]any{"checks": "all"}})
		}, []string{`hook "Smoke" (smoke-hook)`, "hookDetails.checks"}},
		{"bake bad window", func(t gatehouse.Targets) gatehouse.Hook {
			return t.Bake(gatehouse.HookOptions{Details: map[string]any{"window": "forever"}})
		}, []string{`hook "Bake" (bake-hook)`, "window"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stack := awscdk.NewStack(newApp(), jsii.String("S"), nil)
			svc := consumerService(stack)
			targets := gatehouse.FromARNs(stack, "G", deployed)
			msg, panicked := panics(func() {
				gatehouse.Attach(svc, &gatehouse.AttachProps{Role: targets.InvokeRole, Hooks: []gatehouse.Hook{tt.hook(targets)}})
			})
			if !panicked {
				t.Fatal("Attach accepted the hook")
			}
			for _, w := range tt.wants {
				if !strings.Contains(msg, w) {
					t.Errorf("Attach panicked with %q, want it to mention %q", msg, w)
				}
			}
		})
	}
	// Without a timeout in Details, a short ECS timeout races the deployed
	// suite's default: a warning, since that default is not known here.
	stack := awscdk.NewStack(newApp(), jsii.String("S"), nil)
	targets := gatehouse.FromARNs(stack, "G", deployed)
	gatehouse.Attach(consumerService(stack), &gatehouse.AttachProps{Role: targets.InvokeRole, Hooks: []gatehouse.Hook{
		targets.Approval(gatehouse.HookOptions{Timeout: 2 * time.Hour}),
	}})
	check(t, "warning for an approval without a timeout", func() {
		assertions.Annotations_FromStack(stack).HasWarning(jsii.String("/S/Service"), assertions.Match_StringLikeRegexp(jsii.String("hookDetails set no timeout")))
	})
}

func TestFromARNsRefuses(t *testing.T) {
	tests := []struct {
		name  string
		env   *awscdk.Environment
		edit  func(*gatehouse.ARNs)
		wants []string
	}{
		{"qualified function ARN", nil, func(a *gatehouse.ARNs) { a.ApprovalHook += ":live" },
			[]string{"ApprovalHook", "qualified (:live)", "unqualified"}},
		{"version-qualified function ARN", nil, func(a *gatehouse.ARNs) { a.BakeHook += ":3" },
			[]string{"BakeHook", "qualified (:3)"}},
		{"function name instead of ARN", nil, func(a *gatehouse.ARNs) { a.SmokeHook = "smoke-hook" },
			[]string{"SmokeHook", "not a Lambda function ARN"}},
		{"role name instead of ARN", nil, func(a *gatehouse.ARNs) { a.InvokeRole = "gatehouse-invoke" },
			[]string{"InvokeRole", "not an IAM role ARN"}},
		{"another region", &awscdk.Environment{Account: jsii.String("111122223333"), Region: jsii.String("us-east-1")}, func(*gatehouse.ARNs) {},
			[]string{"region eu-west-1", "same account and region", "ApprovalHook"}},
		{"another account", &awscdk.Environment{Account: jsii.String("444455556666"), Region: jsii.String("eu-west-1")}, func(*gatehouse.ARNs) {},
			[]string{"account 111122223333", "InvokeRole"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stack := awscdk.NewStack(newApp(), jsii.String("S"), &awscdk.StackProps{Env: tt.env})
			a := deployed
			tt.edit(&a)
			msg, panicked := panics(func() { gatehouse.FromARNs(stack, "G", a) })
			if !panicked {
				t.Fatal("FromARNs accepted the ARNs")
			}
			for _, w := range append(tt.wants, "gatehouse.FromARNs(G)") {
				if !strings.Contains(msg, w) {
					t.Errorf("FromARNs panicked with %q, want it to mention %q", msg, w)
				}
			}
		})
	}
	// ARNs that are tokens (an import) are left to deployment; a stack in
	// the suite's own account and region is fine.
	stack := awscdk.NewStack(newApp(), jsii.String("S"), &awscdk.StackProps{Env: &awscdk.Environment{Account: jsii.String("111122223333"), Region: jsii.String("eu-west-1")}})
	gatehouse.FromARNs(stack, "Same", deployed)
	imported := awscdk.Fn_ImportValue(jsii.String("GatehouseHooks:ApprovalHookArn"))
	gatehouse.FromARNs(stack, "Imported", gatehouse.ARNs{ApprovalHook: *imported, SmokeHook: *imported, BakeHook: *imported, InvokeRole: *imported})
}
