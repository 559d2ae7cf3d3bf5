package gatehouse_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"github.com/gatehouse-dev/gatehouse/internal/approval"
	"github.com/gatehouse-dev/gatehouse/internal/bake"
	"github.com/gatehouse-dev/gatehouse/internal/smoke"
)

func TestDemoServiceBlueGreen(t *testing.T) {
	f := appFixture(t)
	d := f.demoJSON
	green := logicalID(t, d, "AWS::ElasticLoadBalancingV2::TargetGroup", "GreenTargetGroup")
	blue := logicalID(t, d, "AWS::ElasticLoadBalancingV2::TargetGroup", "BlueTargetGroup")
	prodRule := logicalID(t, d, "AWS::ElasticLoadBalancingV2::ListenerRule", "ProductionRule")
	testRule := logicalID(t, d, "AWS::ElasticLoadBalancingV2::ListenerRule", "TestRule")
	infraRole := logicalID(t, d, "AWS::IAM::Role", "ServiceAlternateRole")
	ref := func(id string) any { return objEq(map[string]any{"Ref": id}) }

	check(t, "strategy, bake time and alarms with rollback", func() {
		f.demo.HasResourceProperties(jsii.String("AWS::ECS::Service"), obj(map[string]any{
			"LaunchType": "FARGATE",
			"DeploymentConfiguration": obj(map[string]any{
				"Strategy":          "BLUE_GREEN",
				"BakeTimeInMinutes": 10,
				"Alarms": objEq(map[string]any{
					"AlarmNames": arrayEq(ref(logicalID(t, d, "AWS::CloudWatch::Alarm", "Target5xxAlarm")), ref(logicalID(t, d, "AWS::CloudWatch::Alarm", "UnhealthyTargetsAlarm"))),
					"Enable":     true,
					"Rollback":   true,
				}),
			}),
		}))
	})
	check(t, "advanced configuration: alternate target group, production and test rules, role", func() {
		f.demo.HasResourceProperties(jsii.String("AWS::ECS::Service"), obj(map[string]any{
			"LoadBalancers": arrayEq(objEq(map[string]any{
				"ContainerName":  "web",
				"ContainerPort":  80,
				"TargetGroupArn": ref(blue),
				"AdvancedConfiguration": objEq(map[string]any{
					"AlternateTargetGroupArn": ref(green),
					"ProductionListenerRule":  ref(prodRule),
					"TestListenerRule":        ref(testRule),
					"RoleArn":                 objEq(map[string]any{"Fn::GetAtt": arrayEq(infraRole, "Arn")}),
				}),
			})),
		}))
	})
	check(t, "load-balancer infrastructure role", func() {
		f.demo.HasResourceProperties(jsii.String("AWS::IAM::Role"), obj(map[string]any{
			"AssumeRolePolicyDocument": obj(map[string]any{"Statement": arrayEq(obj(map[string]any{
				"Principal": objEq(map[string]any{"Service": "ecs.amazonaws.com"}),
			}))}),
			"ManagedPolicyArns": arrayEq(obj(map[string]any{"Fn::Join": arrayWith(arrayWith(assertions.Match_StringLikeRegexp(jsii.String("AmazonECSInfrastructureRolePolicyForLoadBalancers"))))})),
		}))
	})
	mustFail(t, "a rolling service would not match", func() {
		f.demo.HasResourceProperties(jsii.String("AWS::ECS::Service"), obj(map[string]any{
			"DeploymentConfiguration": obj(map[string]any{"Strategy": "ROLLING"}),
		}))
	})
}

func TestDemoServiceLifecycleHooks(t *testing.T) {
	f := appFixture(t)
	svc := resources(f.demoJSON, "AWS::ECS::Service")
	if len(svc) != 1 {
		t.Fatalf("%d services, want 1", len(svc))
	}
	var hooks []any
	for _, r := range svc {
		hooks = r["Properties"].(map[string]any)["DeploymentConfiguration"].(map[string]any)["LifecycleHooks"].([]any)
	}
	type want struct {
		target  string
		stages  []string
		timeout float64
		hasJSON bool
	}
	wants := []want{
		{"SuiteSmokeHook", []string{"POST_TEST_TRAFFIC_SHIFT"}, 30, true},
		{"SuiteApprovalHook", []string{"POST_TEST_TRAFFIC_SHIFT"}, 270, true},
		{"SuiteBakeHook", []string{"POST_PRODUCTION_TRAFFIC_SHIFT"}, 60, true},
	}
	if len(hooks) != len(wants) {
		t.Fatalf("%d lifecycle hooks, want %d", len(hooks), len(wants))
	}
	for i, w := range wants {
		h := hooks[i].(map[string]any)
		if got := flatten(h["HookTargetArn"]); !strings.Contains(got, "ExportsOutputFnGetAtt"+w.target) {
			t.Errorf("hook %d HookTargetArn = %s, want the export of %s", i, got, w.target)
		}
		if got := flatten(h["RoleArn"]); !strings.Contains(got, "ExportsOutputFnGetAttSuiteHookInvokeRole") {
			t.Errorf("hook %d RoleArn = %s, want the hook invoke role's export", i, got)
		}
		if got := strs(h["LifecycleStages"]); strings.Join(got, ",") != strings.Join(w.stages, ",") {
			t.Errorf("hook %d LifecycleStages = %v, want %v", i, got, w.stages)
		}
		tc, _ := h["TimeoutConfiguration"].(map[string]any)
		if tc["TimeoutInMinutes"] != w.timeout || tc["Action"] != "ROLLBACK" {
			t.Errorf("hook %d TimeoutConfiguration = %v, want %v minutes, ROLLBACK", i, tc, w.timeout)
		}
		if _, ok := h["HookDetails"]; ok != w.hasJSON {
			t.Errorf("hook %d HookDetails present = %v, want %v", i, ok, w.hasJSON)
		}
	}

	// Each hook's details parse with the very code the function runs, so
	// the demo cannot ship details its hook refuses.
	for _, h := range f.stacks.Demo.Hooks {
		raw, err := json.Marshal(h.Details)
		if err != nil {
			t.Fatalf("hook %s: %v", h.ID, err)
		}
		switch h.ID {
		case "Smoke":
			_, err = smoke.ParseConfig(raw)
		case "Approval":
			var s approval.Settings
			// Over the suite's defaults, with the demo's policy (Build).
			def := approval.DefaultSettings()
			def.Policy.FirstDeployment = true
			s, err = approval.Apply(def, raw)
			if err == nil && s.Timeout.Minutes() >= h.Timeout.Minutes() {
				t.Errorf("approval timeout %v is not below the hook's ECS timeout %v", s.Timeout, h.Timeout)
			}
			// The first deployment creates the service: nothing to review.
			if err == nil && s.FirstDeployment != approval.FirstDeploymentSkip {
				t.Errorf("approval firstDeployment = %q, want %q", s.FirstDeployment, approval.FirstDeploymentSkip)
			}
			// An open request watches the deployment alarms.
			if err == nil && len(s.AbortOnAlarms.Names) != 2 {
				t.Errorf("approval abortOnAlarms = %+v, want the two deployment alarms", s.AbortOnAlarms)
			}
		case "Bake":
			_, err = bake.ParseConfig(raw)
		default:
			t.Errorf("unexpected hook %s", h.ID)
		}
		if err != nil {
			t.Errorf("hook %s details %s: %v", h.ID, raw, err)
		}
	}
}

// TestListenerRulesGuard pins the listener rules in the shape ECS keeps them
// in (aws/aws-cdk#36649): a change to them would make CloudFormation write
// back these weights over ECS's traffic state. Changing this test means
// following the procedure in docs/deploy.md ("Listener rules").
func TestListenerRulesGuard(t *testing.T) {
	f := appFixture(t)
	d := f.demoJSON
	blue := logicalID(t, d, "AWS::ElasticLoadBalancingV2::TargetGroup", "BlueTargetGroup")
	green := logicalID(t, d, "AWS::ElasticLoadBalancingV2::TargetGroup", "GreenTargetGroup")
	rules := resources(d, "AWS::ElasticLoadBalancingV2::ListenerRule")
	if len(rules) != 2 {
		t.Fatalf("%d listener rules, want 2 (production, test)", len(rules))
	}
	for _, name := range []string{"ProductionRule", "TestRule"} {
		listener := "ProductionListener"
		if name == "TestRule" {
			listener = "TestListener"
		}
		id := logicalID(t, d, "AWS::ElasticLoadBalancingV2::ListenerRule", name)
		tmpl := assertions.Template_FromJSON(&map[string]any{"Resources": map[string]any{id: rules[id]}}, nil)
		check(t, name, func() {
			tmpl.HasResourceProperties(jsii.String("AWS::ElasticLoadBalancingV2::ListenerRule"), objEq(map[string]any{
				"Priority":    1,
				"ListenerArn": objEq(map[string]any{"Ref": logicalID(t, d, "AWS::ElasticLoadBalancingV2::Listener", "LoadBalancer"+listener)}),
				"Conditions": arrayEq(objEq(map[string]any{
					"Field": "path-pattern", "PathPatternConfig": objEq(map[string]any{"Values": arrayEq("/*")}),
				})),
				"Actions": arrayEq(objEq(map[string]any{
					"Type": "forward",
					"ForwardConfig": objEq(map[string]any{"TargetGroups": arrayEq(
						objEq(map[string]any{"TargetGroupArn": objEq(map[string]any{"Ref": blue}), "Weight": 100}),
						objEq(map[string]any{"TargetGroupArn": objEq(map[string]any{"Ref": green}), "Weight": 0}),
					)}),
				})),
			}))
		})
	}

	// The stack policy output denies CloudFormation any update of both rules.
	out := f.demoJSON["Outputs"].(map[string]any)["ListenerRuleStackPolicy"].(map[string]any)["Value"].(string)
	var policy struct {
		Statement []struct {
			Effect, Action, Principal string
			Resource                  any
		}
	}
	if err := json.Unmarshal([]byte(out), &policy); err != nil {
		t.Fatalf("stack policy %q: %v", out, err)
	}
	if len(policy.Statement) != 2 || policy.Statement[0].Effect != "Deny" || policy.Statement[0].Action != "Update:*" ||
		policy.Statement[1].Effect != "Allow" || policy.Statement[1].Resource != "*" {
		t.Fatalf("stack policy = %s, want Deny Update:* on the rules, then Allow Update:* on *", out)
	}
	denied := strs(policy.Statement[0].Resource)
	for _, name := range []string{"ProductionRule", "TestRule"} {
		id := "LogicalResourceId/" + logicalID(t, d, "AWS::ElasticLoadBalancingV2::ListenerRule", name)
		if !strings.Contains(strings.Join(denied, " "), id) {
			t.Errorf("stack policy denies %v, want %s among them", denied, id)
		}
	}
}

func TestDemoServiceOutputs(t *testing.T) {
	f := appFixture(t)
	for _, name := range []string{"ProductionUrl", "TestUrl", "ClusterName", "ServiceName", "ListenerRuleStackPolicy"} {
		check(t, "output "+name, func() { f.demo.HasOutput(jsii.String(name), assertions.Match_AnyValue()) })
	}
}
