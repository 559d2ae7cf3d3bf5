package gatehouse_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"github.com/gatehouse-dev/gatehouse/infra/gatehouse"
	"github.com/gatehouse-dev/gatehouse/internal/approval"
	"github.com/gatehouse-dev/gatehouse/internal/hook"
)

// TestPauseMode: `cdk synth -c demo=true -c approvalMode=pause` gives the
// demo service a PAUSE hook at the approval stage in place of the Lambda
// approval hook, with its settings as the service's tags; the suite gets
// the rule for PAUSE hooks' events and the sweep, and the grants to
// continue deployments, on services and their deployments only; the
// templates pass the CloudFormation spec and cdk-nag.
func TestPauseMode(t *testing.T) {
	app := newApp()
	stacks, err := build(app, gatehouse.Options{
		AssetDir: assetRoot, Approvers: approvers, RecordExpirationDays: 90, Demo: true, BakeTimeMinutes: 10, Nag: true,
		ApprovalMode: gatehouse.ApprovalModePause,
	})
	if err != nil {
		t.Fatal(err)
	}
	hooks := assertions.Template_FromStack(stacks.Hooks, nil)
	demo := assertions.Template_FromStack(stacks.Demo.Stack, nil)
	hooksJSON, demoJSON := *hooks.ToJSON(), *demo.ToJSON()

	var lifecycle []any
	var tags []any
	for _, r := range resources(demoJSON, "AWS::ECS::Service") {
		props := r["Properties"].(map[string]any)
		lifecycle = props["DeploymentConfiguration"].(map[string]any)["LifecycleHooks"].([]any)
		tags, _ = props["Tags"].([]any)
	}
	var pause []map[string]any
	lambdas := 0
	for _, h := range lifecycle {
		h := h.(map[string]any)
		if h["TargetType"] == "PAUSE" {
			pause = append(pause, h)
		} else if h["HookTargetArn"] != nil {
			lambdas++
		}
	}
	if len(pause) != 1 || lambdas != 2 {
		t.Fatalf("lifecycle hooks %v: want one PAUSE hook and the smoke and bake Lambda hooks", lifecycle)
	}
	p := pause[0]
	if p["HookTargetArn"] != nil || p["RoleArn"] != nil || p["HookDetails"] != nil {
		t.Errorf("the PAUSE hook has a target, role or hookDetails: %v", p)
	}
	if b, _ := json.Marshal(p["LifecycleStages"]); string(b) != `["POST_TEST_TRAFFIC_SHIFT"]` {
		t.Errorf("PAUSE hook stages %s", b)
	}
	if tc, _ := p["TimeoutConfiguration"].(map[string]any); tc == nil || tc["Action"] != "ROLLBACK" || tc["TimeoutInMinutes"] == nil {
		t.Errorf("PAUSE hook timeout %v, want minutes and ROLLBACK", p["TimeoutConfiguration"])
	}
	got := map[string]bool{}
	for _, tag := range tags {
		tag := tag.(map[string]any)
		got[tag["Key"].(string)] = true
		if tag["Key"] == approval.TagOptIn && tag["Value"] != approval.OptInApproval {
			t.Errorf("opt-in tag %v", tag)
		}
	}
	for _, k := range []string{approval.TagOptIn, "gatehouse:timeout", "gatehouse:firstDeployment", "gatehouse:abortOnAlarms"} {
		if !got[k] {
			t.Errorf("service tags %v lack %s: the settings the Lambda hook had in hookDetails", tags, k)
		}
	}

	approvalHook := logicalID(t, hooksJSON, "AWS::Lambda::Function", "SuiteApprovalHook")
	check(t, "the rule for PAUSE hooks' events", func() {
		hooks.HasResourceProperties(jsii.String("AWS::Events::Rule"), obj(map[string]any{
			"EventPattern": objEq(map[string]any{
				"source": arrayEq("aws.ecs"), "detail-type": arrayEq("ECS Hook State Change"), "account": arrayEq(objEq(map[string]any{"Ref": "AWS::AccountId"})),
				"detail": objEq(map[string]any{"hookType": arrayEq("PAUSE"),
					"eventName": arrayEq("HOOK_AWAITING_ACTION", "HOOK_SUCCEEDED", "HOOK_FAILED", "HOOK_TIMED_OUT")}),
			}),
			"Targets": arrayWith(obj(map[string]any{"Arn": objEq(map[string]any{"Fn::GetAtt": arrayEq(approvalHook, "Arn")})})),
		}))
	})
	check(t, "the sweep", func() {
		hooks.HasResourceProperties(jsii.String("AWS::Events::Rule"), obj(map[string]any{
			"ScheduleExpression": gatehouse.SweepSchedule,
			"Targets":            arrayWith(obj(map[string]any{"Arn": objEq(map[string]any{"Fn::GetAtt": arrayEq(approvalHook, "Arn")})})),
		}))
	})
	// ecs:ContinueServiceDeployment: on services tagged gatehouse:pause=
	// approval, and on their deployments, in two statements of each
	// function (one with both resources and the condition would deny).
	var services, deployments int
	for _, r := range resources(hooksJSON, "AWS::IAM::Policy") {
		doc := r["Properties"].(map[string]any)["PolicyDocument"].(map[string]any)
		for _, st := range doc["Statement"].([]any) {
			st := st.(map[string]any)
			if st["Action"] != "ecs:ContinueServiceDeployment" {
				continue
			}
			b, _ := json.Marshal(st["Resource"])
			cond, _ := json.Marshal(st["Condition"])
			switch {
			case strings.Contains(string(b), ":service/*/*") && !strings.Contains(string(b), "service-deployment") &&
				string(cond) == `{"StringEquals":{"ecs:ResourceTag/gatehouse:pause":"approval"}}`:
				services++
			case strings.Contains(string(b), ":service-deployment/*/*/*") && !strings.Contains(string(b), ":service/") && st["Condition"] == nil:
				deployments++
			default:
				t.Errorf("ecs:ContinueServiceDeployment on %s (condition %s), want opted-in services, or deployments, alone", b, cond)
			}
		}
	}
	if services != 2 || deployments != 2 {
		t.Errorf("%d grants on services, %d on deployments, want the approval hook's and the review API's of each", services, deployments)
	}
	// The SCP that makes gatehouse the only way on, as an output.
	var guard map[string]any
	for id, o := range hooksJSON["Outputs"].(map[string]any) {
		if id == "ContinueGuardPolicy" {
			guard = o.(map[string]any)
		}
	}
	if b, _ := json.Marshal(guard); guard == nil || !strings.Contains(string(b), `\"Effect\":\"Deny\"`) || !strings.Contains(string(b), "ecs:ResourceTag/gatehouse:pause") || !strings.Contains(string(b), "ArnNotLike") {
		t.Errorf("ContinueGuardPolicy output %s, want a Deny of ecs:ContinueServiceDeployment to all but gatehouse's roles", b)
	}
	for name, tmpl := range map[string]map[string]any{"GatehouseHooks": hooksJSON, "GatehouseDemoService": demoJSON} {
		if problems := checkSpec(t, name, tmpl); len(problems) > 0 {
			t.Errorf("%s: CloudFormation would reject:\n%s", name, strings.Join(problems, "\n"))
		}
	}
	for name, stack := range map[string]assertions.Annotations{"GatehouseHooks": assertions.Annotations_FromStack(stacks.Hooks), "GatehouseDemoService": assertions.Annotations_FromStack(stacks.Demo.Stack)} {
		for _, m := range *stack.FindError(jsii.String("*"), awsSolutions()) {
			t.Errorf("%s: %s", name, describe(m))
		}
	}
}

// TestPauseHookRefusals: a PAUSE hook only where ECS allows one, and with
// Details a tag can hold.
func TestPauseHookRefusals(t *testing.T) {
	for name, c := range map[string]struct {
		o    gatehouse.HookOptions
		want string
	}{
		"stage":                   {gatehouse.HookOptions{Stages: []gatehouse.Stage{gatehouse.StageProductionTrafficShift}}, "only at"},
		"change windows":          {gatehouse.HookOptions{Details: map[string]any{"changeWindows": []any{map[string]any{"days": "Mon-Fri"}}}}, "changeWindows"},
		"alarm name with a space": {gatehouse.HookOptions{Details: map[string]any{"abortOnAlarms": map[string]any{"names": []string{"api 5xx"}}}}, "holds a space"},
		"the opt-in as a setting": {gatehouse.HookOptions{Details: map[string]any{"pause": "off"}}, "gatehouse's own"},
	} {
		_, suite, svc := suiteAndService(gatehouse.SuiteProps{Approvers: []string{"alice@example.com"}, ApprovalMode: gatehouse.ApprovalModePause})
		msg, panicked := panics(func() {
			gatehouse.Attach(svc, &gatehouse.AttachProps{Role: suite.InvokeRole, Hooks: []gatehouse.Hook{suite.Targets().Approval(c.o)}})
		})
		if !panicked || !strings.Contains(msg, c.want) {
			t.Errorf("%s: Attach = %q (panicked %v), want a refusal naming %q", name, msg, panicked, c.want)
		}
	}
	_, suite, svc := suiteAndService(gatehouse.SuiteProps{Approvers: []string{"alice@example.com"}, ApprovalMode: gatehouse.ApprovalModePause})
	t2 := suite.Targets()
	second := t2.Approval(gatehouse.HookOptions{Stages: []gatehouse.Stage{gatehouse.StagePreProductionTrafficShift}})
	second.ID = "Release"
	msg, panicked := panics(func() {
		gatehouse.Attach(svc, &gatehouse.AttachProps{Role: suite.InvokeRole, Hooks: []gatehouse.Hook{t2.Approval(gatehouse.HookOptions{}), second}})
	})
	if !panicked || !strings.Contains(msg, "a second PAUSE approval hook") {
		t.Errorf("two PAUSE approval hooks on one service: Attach = %q (panicked %v), want a refusal: they would share its tags", msg, panicked)
	}
	if _, err := gatehouse.ParseApprovalMode("paused"); err == nil {
		t.Error(`approval mode "paused" accepted`)
	}
}

// TestApprovalStage: the approval's stage is a setting (SuiteProps,
// -c approvalStage, HookOptions.Stages): a PAUSE hook may sit at any of
// the six stages ECS allows, PRE_SCALE_UP holding a deployment before any
// green task starts; a stage ECS refuses for the mode is refused, naming
// the key.
func TestApprovalStage(t *testing.T) {
	for _, stage := range []gatehouse.Stage{gatehouse.StagePreScaleUp, gatehouse.StageReconcileService} {
		stack, suite, svc := suiteAndService(gatehouse.SuiteProps{Approvers: []string{"alice@example.com"}, ApprovalMode: gatehouse.ApprovalModePause, ApprovalStage: stage})
		gatehouse.Attach(svc, &gatehouse.AttachProps{Role: suite.InvokeRole, Hooks: []gatehouse.Hook{suite.Targets().Approval(gatehouse.HookOptions{})}})
		check(t, string(stage), func() {
			assertions.Template_FromStack(stack, nil).HasResourceProperties(jsii.String("AWS::ECS::Service"), obj(map[string]any{
				"DeploymentConfiguration": obj(map[string]any{"LifecycleHooks": arrayWith(obj(map[string]any{
					"TargetType": "PAUSE", "LifecycleStages": arrayEq(string(stage)),
				}))}),
			}))
		})
	}
	msg, panicked := panics(func() {
		suiteAndService(gatehouse.SuiteProps{Approvers: []string{"alice@example.com"}, ApprovalMode: gatehouse.ApprovalModePause, ApprovalStage: gatehouse.StageTestTrafficShift})
	})
	if !panicked || !strings.Contains(msg, "ApprovalStage: TEST_TRAFFIC_SHIFT: ECS allows a PAUSE hook (approval mode pause) only at") {
		t.Errorf("a PAUSE approval at TEST_TRAFFIC_SHIFT: %v %q", panicked, msg)
	}
	_, err := build(newApp(), gatehouse.Options{AssetDir: assetRoot, Approvers: approvers, RecordExpirationDays: 90, BakeTimeMinutes: 10,
		ApprovalMode: gatehouse.ApprovalModePause, ApprovalStage: gatehouse.StageProductionTrafficShift})
	if err == nil || !strings.Contains(err.Error(), "context approvalStage: PRODUCTION_TRAFFIC_SHIFT: ECS allows a PAUSE hook") {
		t.Errorf("-c approvalStage=PRODUCTION_TRAFFIC_SHIFT in pause mode = %v", err)
	}
	// A Lambda approval hook may sit at any hookable stage.
	_, suite, _ := suiteAndService(gatehouse.SuiteProps{Approvers: []string{"alice@example.com"}, ApprovalStage: gatehouse.StagePreScaleUp})
	if h := suite.Targets().Approval(gatehouse.HookOptions{}); len(h.Stages) != 1 || h.Stages[0] != gatehouse.StagePreScaleUp || h.Pause {
		t.Errorf("approval hook %+v, want a Lambda hook at PRE_SCALE_UP", h)
	}
}

// TestTenLambdaHooksAndAPauseHook: ECS counts Lambda hooks and PAUSE hooks
// apart (ten of each): a PAUSE approval beside ten Lambda hooks is fine.
func TestTenLambdaHooksAndAPauseHook(t *testing.T) {
	stack, suite, svc := suiteAndService(gatehouse.SuiteProps{Approvers: []string{"alice@example.com"}, ApprovalMode: gatehouse.ApprovalModePause})
	tg := suite.Targets()
	hooks := []gatehouse.Hook{tg.Approval(gatehouse.HookOptions{})}
	for i := range 10 {
		h := tg.Smoke(gatehouse.HookOptions{Details: map[string]any{"checks": []any{map[string]any{"name": "home", "path": "/"}}}})
		h.ID = fmt.Sprintf("Smoke%d", i)
		hooks = append(hooks, h)
	}
	gatehouse.Attach(svc, &gatehouse.AttachProps{Role: suite.InvokeRole, Hooks: hooks})
	for _, r := range resources(*assertions.Template_FromStack(stack, nil).ToJSON(), "AWS::ECS::Service") {
		if n := len(r["Properties"].(map[string]any)["DeploymentConfiguration"].(map[string]any)["LifecycleHooks"].([]any)); n != 11 {
			t.Errorf("%d lifecycle hooks, want 11", n)
		}
	}
	extra := tg.Smoke(gatehouse.HookOptions{Details: map[string]any{"checks": []any{map[string]any{"name": "home", "path": "/"}}}})
	extra.ID = "Smoke10"
	if msg, panicked := panics(func() {
		gatehouse.Attach(svc, &gatehouse.AttachProps{Role: suite.InvokeRole, Hooks: []gatehouse.Hook{extra}})
	}); !panicked || !strings.Contains(msg, "11 Lambda hooks: ECS allows at most 10") {
		t.Errorf("an eleventh Lambda hook: %v %q", panicked, msg)
	}
}

// TestMixedStageWarning: a PAUSE approval that may wait over a day at the
// stage of a Lambda hook (the smoke hook) gets a synthesis warning: under
// the stricter reading of ECS's 24-hour stage limit it rolls back after a
// day. At a stage of its own, or within a day, it gets none.
func TestMixedStageWarning(t *testing.T) {
	for _, tt := range []struct {
		name  string
		stage gatehouse.Stage
		wait  time.Duration
		warns bool
	}{
		{"beside the smoke hook, 72h", gatehouse.StagePostTestTrafficShift, 73 * time.Hour, true},
		{"at a stage of its own, 72h", gatehouse.StagePreProductionTrafficShift, 73 * time.Hour, false},
		{"beside the smoke hook, 4h", gatehouse.StagePostTestTrafficShift, 5 * time.Hour, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			stack, suite, svc := suiteAndService(gatehouse.SuiteProps{Approvers: []string{"alice@example.com"}, ApprovalMode: gatehouse.ApprovalModePause,
				Policy: `{"approval": {"loosen": {"timeout": {"max": "72h"}}}}`})
			tg := suite.Targets()
			gatehouse.Attach(svc, &gatehouse.AttachProps{Role: suite.InvokeRole, Hooks: []gatehouse.Hook{
				tg.Smoke(gatehouse.HookOptions{Details: map[string]any{"checks": []any{map[string]any{"name": "home", "path": "/"}}}}),
				tg.Approval(gatehouse.HookOptions{Stages: []gatehouse.Stage{tt.stage}, Timeout: tt.wait,
					Details: map[string]any{"timeout": hook.FormatDuration(tt.wait - time.Hour)}}),
			}})
			var found bool
			for _, m := range *assertions.Annotations_FromStack(stack).FindWarning(jsii.String("*"), assertions.Match_AnyValue()) {
				found = found || strings.Contains(describe(m), "whether that holds while a PAUSE hook waits there is not documented")
			}
			if found != tt.warns {
				t.Errorf("warning %v, want %v", found, tt.warns)
			}
		})
	}
}
