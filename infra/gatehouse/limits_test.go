package gatehouse_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"github.com/gatehouse-dev/gatehouse/infra/gatehouse"
	"github.com/gatehouse-dev/gatehouse/internal/rollout"
)

// TestHookTimeoutLimits: ECS allows a Lambda hook 1440 minutes and a
// PAUSE hook 20160 (ECS-HOOKS.md, section 3). A PAUSE approval hook may
// wait 14 days, and its approval's own timeout follow it where the suite's
// policy lets the service wait so long; no Lambda hook waits over a day.
func TestHookTimeoutLimits(t *testing.T) {
	stack, suite, svc := suiteAndService(gatehouse.SuiteProps{Approvers: []string{"alice@example.com"}, ApprovalMode: gatehouse.ApprovalModePause,
		Policy: `{"approval": {"loosen": {"timeout": {"max": "335h"}}}}`})
	gatehouse.Attach(svc, &gatehouse.AttachProps{Role: suite.InvokeRole, Hooks: []gatehouse.Hook{
		suite.Targets().Approval(gatehouse.HookOptions{
			Details: map[string]any{"timeout": "335h"},
			Timeout: gatehouse.MaxPauseHookTimeout,
		}),
	}})
	tmpl := assertions.Template_FromStack(stack, nil)
	check(t, "a 20160-minute PAUSE hook", func() {
		tmpl.HasResourceProperties(jsii.String("AWS::ECS::Service"), obj(map[string]any{
			"DeploymentConfiguration": obj(map[string]any{"LifecycleHooks": arrayWith(obj(map[string]any{
				"TargetType":           "PAUSE",
				"TimeoutConfiguration": objEq(map[string]any{"TimeoutInMinutes": 20160, "Action": "ROLLBACK"}),
			}))}),
		}))
	})

	// A policy that would let services wait longer: no Lambda hook can.
	_, lambdaSuite, _ := suiteAndService(gatehouse.SuiteProps{Approvers: []string{"alice@example.com"}, Policy: `{"approval": {"loosen": {"timeout": {"max": "47h"}}}}`})
	for _, tt := range []struct {
		name  string
		hooks func(gatehouse.Targets) []gatehouse.Hook
		wants []string
	}{
		{"a Lambda hook over 24 hours", func(t gatehouse.Targets) []gatehouse.Hook {
			return []gatehouse.Hook{t.Bake(gatehouse.HookOptions{Details: map[string]any{"alarms": map[string]any{"names": []string{"a"}}}, Timeout: 1441 * time.Minute})}
		}, []string{"1m to 24h (1440 minutes, the most ECS allows a Lambda hook", "PAUSE hook (approval mode pause) waits up to 14 days"}},
		{"a Lambda approval hook over 24 hours", func(t gatehouse.Targets) []gatehouse.Hook {
			return []gatehouse.Hook{t.Approval(gatehouse.HookOptions{Details: map[string]any{"timeout": "47h"}, Timeout: 48 * time.Hour})}
		}, []string{"1440 minutes"}},
		{"a Lambda approval that cannot expire in a day", func(t gatehouse.Targets) []gatehouse.Hook {
			return []gatehouse.Hook{t.Approval(gatehouse.HookOptions{Details: map[string]any{"timeout": "30h"}})}
		}, []string{"hookDetails.timeout", "30h", "cannot expire before ECS's 24-hour limit", "approval mode pause", "14 days"}},
	} {
		for _, targets := range []struct {
			name string
			t    func(awscdk.Stack) gatehouse.Targets
		}{
			{"suite", func(awscdk.Stack) gatehouse.Targets { return lambdaSuite.Targets() }},
			{"FromARNs", func(s awscdk.Stack) gatehouse.Targets { return gatehouse.FromARNs(s, "Deployed", deployed) }},
		} {
			t.Run(tt.name+"/"+targets.name, func(t *testing.T) {
				stack := awscdk.NewStack(newApp(), jsii.String("C"), nil)
				svc := consumerService(stack)
				tg := targets.t(stack)
				msg, panicked := panics(func() { gatehouse.Attach(svc, &gatehouse.AttachProps{Role: tg.InvokeRole, Hooks: tt.hooks(tg)}) })
				if !panicked {
					t.Fatal("Attach accepted it")
				}
				for _, w := range tt.wants {
					if !strings.Contains(msg, w) {
						t.Errorf("Attach panicked with %q, want it to contain %q", msg, w)
					}
				}
			})
		}
	}
	// The CLI's JSON for update-service never carries one either.
	if _, err := gatehouse.LifecycleHooksJSON(lambdaSuite.InvokeRole, []gatehouse.Hook{lambdaSuite.Targets().Approval(gatehouse.HookOptions{Timeout: 48 * time.Hour})}); err == nil || !strings.Contains(err.Error(), "1440 minutes") {
		t.Errorf("LifecycleHooksJSON of a 48h Lambda hook = %v, want refused", err)
	}
}

// TestApprovalHookTimeoutFollowsTheSuite: in pause mode a suite approval
// timeout above a day gives the standard approval hook an ECS timeout an
// hour longer, so the request still expires first; in Lambda mode the
// hook waits a day, ECS's limit, and such a suite is refused.
func TestApprovalHookTimeoutFollowsTheSuite(t *testing.T) {
	_, suite, _ := suiteAndService(gatehouse.SuiteProps{Approvers: []string{"alice@example.com"}, ApprovalTimeout: "72h", ApprovalMode: gatehouse.ApprovalModePause})
	if got := suite.Targets().Approval(gatehouse.HookOptions{}).Timeout; got != 73*time.Hour {
		t.Errorf("approval hook timeout = %v, want 73h", got)
	}
	_, suite, _ = suiteAndService(gatehouse.SuiteProps{Approvers: []string{"alice@example.com"}})
	if got := suite.Targets().Approval(gatehouse.HookOptions{}).Timeout; got != 24*time.Hour {
		t.Errorf("approval hook timeout with the suite's default = %v, want 24h", got)
	}
	msg, panicked := panics(func() {
		suiteAndService(gatehouse.SuiteProps{Approvers: []string{"alice@example.com"}, ApprovalTimeout: "47h"})
	})
	for _, w := range []string{"SuiteProps.ApprovalTimeout", "47h cannot expire before ECS's 24-hour limit", "approvalMode=pause"} {
		if !panicked || !strings.Contains(msg, w) {
			t.Errorf("a 47h Lambda-mode suite: NewSuite panicked %v with %q, want it to contain %q", panicked, msg, w)
		}
	}
}

func TestCheckStackDuration(t *testing.T) {
	h := func(stage gatehouse.Stage, timeout time.Duration) gatehouse.Hook {
		return gatehouse.Hook{ID: string(stage), Stages: []gatehouse.Stage{stage}, Timeout: timeout}
	}
	tests := []struct {
		name  string
		hooks []gatehouse.Hook
		r     gatehouse.Rollout
		wants []string // empty: accepted
	}{
		{"the demo's defaults", []gatehouse.Hook{
			h(gatehouse.StagePostTestTrafficShift, 30*time.Minute), h(gatehouse.StagePostTestTrafficShift, 4*time.Hour+30*time.Minute),
			h(gatehouse.StagePostProductionTrafficShift, time.Hour),
		}, gatehouse.Rollout{BakeTime: 10 * time.Minute}, nil},
		// Hooks at one stage run in parallel: the longest counts, once.
		{"parallel hooks count once", []gatehouse.Hook{
			h(gatehouse.StagePostTestTrafficShift, 30*time.Hour), h(gatehouse.StagePostTestTrafficShift, 30*time.Hour),
		}, gatehouse.Rollout{BakeTime: time.Hour}, nil},
		{"exactly 36h", []gatehouse.Hook{h(gatehouse.StagePostTestTrafficShift, 35*time.Hour)}, gatehouse.Rollout{BakeTime: time.Hour}, nil},
		{"a day-long approval and a day-long bake hook", []gatehouse.Hook{
			h(gatehouse.StagePostTestTrafficShift, 0), h(gatehouse.StagePostProductionTrafficShift, 24*time.Hour),
		}, gatehouse.Rollout{BakeTime: 10 * time.Minute}, []string{"could last 48h10m", "POST_TEST_TRAFFIC_SHIFT 24h", "POST_PRODUCTION_TRAFFIC_SHIFT 24h", "36h a CloudFormation stack operation may last"}},
		{"a 14-day hook", []gatehouse.Hook{h(gatehouse.StagePostTestTrafficShift, gatehouse.MaxPauseHookTimeout)}, gatehouse.Rollout{}, []string{"could last 336h"}},
		// Per-step stages wait once per traffic shift.
		{"linear, a per-step approval", []gatehouse.Hook{h(gatehouse.StageProductionTrafficShift, 4*time.Hour)},
			gatehouse.Rollout{Strategy: rollout.Strategy{Kind: rollout.Linear, StepPercent: 10, StepBake: 6 * time.Minute}, BakeTime: 10 * time.Minute},
			[]string{"PRODUCTION_TRAFFIC_SHIFT 10 × 4h", "could last 41h4m", "bake times: 1h4m"}},
		{"canary, within both limits", []gatehouse.Hook{h(gatehouse.StagePreProductionTrafficShift, 2*time.Hour)},
			gatehouse.Rollout{Strategy: rollout.Strategy{Kind: rollout.Canary, CanaryPercent: 5, CanaryBake: 10 * time.Minute}, BakeTime: 10 * time.Minute}, nil},
		{"canary over CloudFormation's computed 33h", nil,
			gatehouse.Rollout{Strategy: rollout.Strategy{Kind: rollout.Canary, CanaryPercent: 5, CanaryBake: 24 * time.Hour}, BakeTime: 10 * time.Hour},
			[]string{"refuses a canary deployment", "over 33h", "34h"}},
		// 100/10 = 10 shifts, 9 step bakes; 100/11 = 9 step bakes too.
		{"linear over the computed 33h", nil,
			gatehouse.Rollout{Strategy: rollout.Strategy{Kind: rollout.Linear, StepPercent: 11, StepBake: 4 * time.Hour}},
			[]string{"refuses a linear deployment", "36h"}},
		{"linear just within the computed 33h", nil,
			gatehouse.Rollout{Strategy: rollout.Strategy{Kind: rollout.Linear, StepPercent: 10, StepBake: 3 * time.Hour}, BakeTime: 6 * time.Hour}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := gatehouse.CheckStackDuration(tt.hooks, tt.r)
			if len(tt.wants) == 0 {
				if err != nil {
					t.Errorf("CheckStackDuration = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatal("CheckStackDuration accepted it")
			}
			for _, w := range tt.wants {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("CheckStackDuration = %q, want it to mention %q", err, w)
				}
			}
		})
	}
}

// TestDemoStackRefusesWhatCloudFormationWouldRollBack: the demo stack
// deploys its service, so a deployment that could outlast a stack
// operation fails the synthesis, saying why.
func TestDemoStackRefusesWhatCloudFormationWouldRollBack(t *testing.T) {
	app := newApp()
	hooksStack := awscdk.NewStack(app, jsii.String("H"), nil)
	suite := gatehouse.NewSuite(hooksStack, "Suite", &gatehouse.SuiteProps{AssetDir: assetRoot, Approvers: []string{"alice@example.com"}, ApprovalMode: gatehouse.ApprovalModePause})
	msg, panicked := panics(func() {
		gatehouse.NewDemoStack(app, "D", &gatehouse.DemoStackProps{Targets: suite.Targets(), ApprovalTimeout: 40 * time.Hour})
	})
	if !panicked {
		t.Fatal("NewDemoStack accepted a 40h approval")
	}
	for _, w := range []string{"gatehouse.NewDemoStack", "36h a CloudFormation stack operation may last", "POST_TEST_TRAFFIC_SHIFT 40h30m"} {
		if !strings.Contains(msg, w) {
			t.Errorf("NewDemoStack panicked with %q, want it to mention %q", msg, w)
		}
	}
}

// TestDemoStrategies: -c strategy=linear|canary gives the demo service its
// LinearConfiguration or CanaryConfiguration, within CloudFormation's
// limits and the resource spec; a step out of range is refused at synth,
// naming the key.
func TestDemoStrategies(t *testing.T) {
	for _, tt := range []struct {
		strategy rollout.Strategy
		want     map[string]any
	}{
		{rollout.Strategy{Kind: rollout.Linear, StepPercent: 20, StepBake: 3 * time.Minute},
			map[string]any{"Strategy": "LINEAR", "LinearConfiguration": objEq(map[string]any{"StepPercent": 20, "StepBakeTimeInMinutes": 3})}},
		{rollout.Strategy{Kind: rollout.Canary},
			map[string]any{"Strategy": "CANARY", "CanaryConfiguration": objEq(map[string]any{"CanaryPercent": 5, "CanaryBakeTimeInMinutes": 10})}},
		// No bake between the steps: ECS allows 0, and it stays 0.
		{rollout.Strategy{Kind: rollout.Linear, StepPercent: 20, StepBake: rollout.NoBake},
			map[string]any{"Strategy": "LINEAR", "LinearConfiguration": objEq(map[string]any{"StepPercent": 20, "StepBakeTimeInMinutes": 0})}},
		{rollout.Strategy{Kind: rollout.Canary, CanaryBake: rollout.NoBake},
			map[string]any{"Strategy": "CANARY", "CanaryConfiguration": objEq(map[string]any{"CanaryPercent": 5, "CanaryBakeTimeInMinutes": 0})}},
	} {
		t.Run(tt.strategy.WithDefaults().Kind.ECSName()+fmt.Sprint(tt.strategy.StepBake, tt.strategy.CanaryBake), func(t *testing.T) {
			app := newApp()
			stacks, err := gatehouse.Build(app, gatehouse.Options{AssetDir: assetRoot, Approvers: approvers, RecordExpirationDays: 90,
				Demo: true, BakeTimeMinutes: 10, Strategy: tt.strategy})
			if err != nil {
				t.Fatal(err)
			}
			tmpl := assertions.Template_FromStack(stacks.Demo.Stack, nil)
			check(t, "the strategy's configuration", func() {
				tmpl.HasResourceProperties(jsii.String("AWS::ECS::Service"), obj(map[string]any{"DeploymentConfiguration": obj(tt.want)}))
			})
			if problems := checkSpec(t, "demo", *tmpl.ToJSON()); len(problems) > 0 {
				t.Errorf("CloudFormation would reject:\n%s", strings.Join(problems, "\n"))
			}
			// The bake hook also judges every step, before the next.
			if stages := bakeStages(t, *tmpl.ToJSON()); !slices.Equal(stages, []string{"POST_PRODUCTION_TRAFFIC_SHIFT", "PRE_PRODUCTION_TRAFFIC_SHIFT"}) {
				t.Errorf("the bake hook runs at %v, want after the shift and before every step", stages)
			}
		})
	}
	stacks, err := gatehouse.Build(newApp(), gatehouse.Options{AssetDir: assetRoot, Approvers: approvers, RecordExpirationDays: 90, Demo: true, BakeTimeMinutes: 10})
	if err != nil {
		t.Fatal(err)
	}
	if stages := bakeStages(t, *assertions.Template_FromStack(stacks.Demo.Stack, nil).ToJSON()); !slices.Equal(stages, []string{"POST_PRODUCTION_TRAFFIC_SHIFT"}) {
		t.Errorf("blue/green: the bake hook runs at %v, want after the shift alone (one step)", stages)
	}
	for _, tt := range []struct {
		strategy rollout.Strategy
		want     string
	}{
		{rollout.Strategy{Kind: rollout.Linear, StepPercent: 2}, "context stepPercent: 2, want a multiple of 0.1 from 3 to 100"},
		{rollout.Strategy{Kind: rollout.Canary, CanaryPercent: 150}, "context canaryPercent: 150"},
		{rollout.Strategy{Kind: rollout.Linear, StepPercent: 10, StepBake: 1500 * time.Minute}, "context stepBakeTimeInMinutes"},
	} {
		_, err := gatehouse.Build(newApp(), gatehouse.Options{AssetDir: assetRoot, RecordExpirationDays: 90, Demo: true, BakeTimeMinutes: 10, Strategy: tt.strategy})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Build(%+v) = %v, want %q", tt.strategy, err, tt.want)
		}
	}
	app := awscdk.NewApp(&awscdk.AppProps{Context: &map[string]any{gatehouse.CtxStrategy: "rolling"}})
	if _, err := gatehouse.OptionsFromContext(app, func(string) string { return "" }); err == nil || !strings.Contains(err.Error(), "want one of blue-green, linear, canary") {
		t.Errorf("strategy=rolling: %v", err)
	}
}

// bakeStages returns the stages the demo service's hooks whose hookDetails
// configure a bake (a window) run at, in the order of its lifecycle hooks.
func bakeStages(t *testing.T, tmpl map[string]any) []string {
	t.Helper()
	var out []string
	for _, r := range tmpl["Resources"].(map[string]any) {
		res := r.(map[string]any)
		if res["Type"] != "AWS::ECS::Service" {
			continue
		}
		dc, _ := res["Properties"].(map[string]any)["DeploymentConfiguration"].(map[string]any)
		hooks, _ := dc["LifecycleHooks"].([]any)
		for _, h := range hooks {
			hm := h.(map[string]any)
			details, _ := json.Marshal(hm["HookDetails"])
			if !strings.Contains(string(details), "window") {
				continue
			}
			for _, s := range hm["LifecycleStages"].([]any) {
				out = append(out, fmt.Sprint(s))
			}
		}
	}
	return out
}
