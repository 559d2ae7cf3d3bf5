package gatehouse_test

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/infra/gatehouse"
	"github.com/gatehouse-dev/gatehouse/internal/rollout"
)

func TestOptionsFromContext(t *testing.T) {
	app := awscdk.NewApp(&awscdk.AppProps{Context: &map[string]any{
		gatehouse.CtxApprovers:              " alice@example.com, bob@example.com ,",
		gatehouse.CtxRequiredApprovals:      "2",
		gatehouse.CtxDemo:                   "true",
		gatehouse.CtxAPIReservedConcurrency: float64(5),
		gatehouse.CtxReviewURL:              "https://deploy.example.com/gatehouse",
		gatehouse.CtxStrategy:               "linear",
		gatehouse.CtxStepPercent:            "12.5",
		gatehouse.CtxStepBakeMinutes:        float64(3),
		gatehouse.CtxNag:                    false,
		gatehouse.CtxApprovalMode:           "pause",
		gatehouse.CtxApprovalSteps:          "each",
		// JSON settings: as a string (-c) or as JSON in cdk.json.
		gatehouse.CtxFreezes:       `[{"start": "2026-12-20T00:00:00Z", "end": "2027-01-04T00:00:00Z"}]`,
		gatehouse.CtxChangeWindows: []any{map[string]any{"days": []any{"mon"}, "start": "09:00", "end": "17:00", "timezone": "UTC"}},
	}})
	got, err := gatehouse.OptionsFromContext(app, func(k string) string {
		if k == gatehouse.EnvAssetDir {
			return "/elsewhere"
		}
		return ""
	})
	if err != nil {
		t.Fatalf("OptionsFromContext: %v", err)
	}
	want := gatehouse.Options{
		AssetDir:               "/elsewhere",
		Approvers:              []string{"alice@example.com", "bob@example.com"},
		RequiredApprovals:      2,
		RecordExpirationDays:   90,
		APIReservedConcurrency: 5,
		ReviewURL:              "https://deploy.example.com/gatehouse",
		Strategy:               rollout.Strategy{Kind: rollout.Linear, StepPercent: 12.5, StepBake: 3 * time.Minute},
		Demo:                   true,
		BakeTimeMinutes:        10,
		Nag:                    false,
		ApprovalMode:           gatehouse.ApprovalModePause,
		ApprovalSteps:          "each",
		Freezes:                `[{"start": "2026-12-20T00:00:00Z", "end": "2027-01-04T00:00:00Z"}]`,
		ChangeWindows:          `[{"days":["mon"],"end":"17:00","start":"09:00","timezone":"UTC"}]`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("OptionsFromContext (-want +got):\n%s", diff)
	}
}

// TestZeroBakeStaysZero: -c canaryBakeTimeInMinutes=0 (or
// stepBakeTimeInMinutes=0) is valid in ECS and stays 0; absent is ECS's
// default.
func TestZeroBakeStaysZero(t *testing.T) {
	for _, tt := range []struct {
		ctx  map[string]any
		want rollout.Strategy
	}{
		{map[string]any{gatehouse.CtxStrategy: "canary", gatehouse.CtxCanaryBakeMinutes: "0"}, rollout.Strategy{Kind: rollout.Canary, CanaryPercent: 5}},
		{map[string]any{gatehouse.CtxStrategy: "linear", gatehouse.CtxStepBakeMinutes: float64(0)}, rollout.Strategy{Kind: rollout.Linear, StepPercent: 10}},
		{map[string]any{gatehouse.CtxStrategy: "linear"}, rollout.Strategy{Kind: rollout.Linear, StepPercent: 10, StepBake: 6 * time.Minute}},
	} {
		ctx := tt.ctx
		got, err := gatehouse.OptionsFromContext(awscdk.NewApp(&awscdk.AppProps{Context: &ctx}), func(string) string { return "" })
		if err != nil {
			t.Fatal(err)
		}
		if s := got.Strategy.WithDefaults(); s != tt.want || s.Validate() != nil {
			t.Errorf("%v: strategy %+v (%v), want %+v", tt.ctx, s, s.Validate(), tt.want)
		}
	}
}

// TestContextTypos: a context key near one the app reads is refused,
// naming it; a quorum of 0 is refused, not taken for unset; keys the CDK
// and other tools set are left alone.
func TestContextTypos(t *testing.T) {
	for ctx, want := range map[string]string{
		"approver":           "unknown context key approver; did you mean approvers?",
		"approvaltimeout":    "unknown context key approvaltimeout; did you mean approvalTimeout?",
		"requiredApproval":   "unknown context key requiredApproval; did you mean requiredApprovals?",
		"requiredApprovals0": "unknown context key requiredApprovals0; did you mean requiredApprovals?",
	} {
		ctx := ctx
		_, err := gatehouse.OptionsFromContext(awscdk.NewApp(&awscdk.AppProps{Context: &map[string]any{ctx: "x"}}), func(string) string { return "" })
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("-c %s: %v, want %q", ctx, err, want)
		}
	}
	_, err := gatehouse.OptionsFromContext(awscdk.NewApp(&awscdk.AppProps{Context: &map[string]any{gatehouse.CtxRequiredApprovals: "0"}}), func(string) string { return "" })
	if err == nil || !strings.Contains(err.Error(), "context requiredApprovals: 0, want at least 1") {
		t.Errorf("-c requiredApprovals=0: %v", err)
	}
	ok := map[string]any{"cli-telemetry": false, "acknowledged-issue-numbers": []any{1}, "@aws-cdk/core:newStyleStackSynthesis": true, "something-else-entirely": 1}
	if _, err := gatehouse.OptionsFromContext(awscdk.NewApp(&awscdk.AppProps{Context: &ok}), func(string) string { return "" }); err != nil {
		t.Errorf("the CDK's keys and an unrelated one: %v", err)
	}
}

func TestOptionsFromContextDefaults(t *testing.T) {
	got, err := gatehouse.OptionsFromContext(awscdk.NewApp(nil), func(string) string { return "" })
	if err != nil {
		t.Fatalf("OptionsFromContext: %v", err)
	}
	if got.AssetDir != gatehouse.DefaultAssetDir || !got.Nag || got.Demo || got.APIReservedConcurrency != 0 || got.ReviewURL != "" {
		t.Errorf("defaults = %+v", got)
	}
}

func TestOptionsFromContextReportsEveryBadValue(t *testing.T) {
	app := awscdk.NewApp(&awscdk.AppProps{Context: &map[string]any{
		gatehouse.CtxRequiredApprovals: "two",
		gatehouse.CtxDemo:              "maybe",
	}})
	_, err := gatehouse.OptionsFromContext(app, func(string) string { return "" })
	if err == nil {
		t.Fatal("OptionsFromContext accepted bad values")
	}
	for _, want := range []string{"requiredApprovals", "demo"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
}

// TestBuildRefuses: settings the functions would refuse at start, and
// missing binaries, fail the synthesis with a message saying what to do.
func TestBuildRefuses(t *testing.T) {
	empty := t.TempDir()
	good := gatehouse.Options{AssetDir: assetRoot, RecordExpirationDays: 90, BakeTimeMinutes: 10}
	tests := []struct {
		name  string
		edit  func(*gatehouse.Options)
		wants []string
	}{
		{"no binaries", func(o *gatehouse.Options) { o.AssetDir = empty },
			[]string{"make build", filepath.Join(empty, "approval-hook", "bootstrap"), filepath.Join(empty, "bake-hook", "bootstrap")}},
		{"bad approver", func(o *gatehouse.Options) { o.Approvers = []string{"alice"} }, []string{"approvers", `"alice" is not an email address`}},
		{"more approvals than approvers", func(o *gatehouse.Options) {
			o.Approvers = []string{"a@example.com"}
			o.RequiredApprovals = 2
		}, []string{"requiredApprovals"}},
		{"bad timeout", func(o *gatehouse.Options) { o.ApprovalTimeout = "soon" }, []string{"approvalTimeout"}},
		{"bad freezes", func(o *gatehouse.Options) { o.Freezes = `[{"start": "tomorrow"}]` }, []string{"context freezes[0]: want {", `parsing time "tomorrow"`}},
		{"bad change window", func(o *gatehouse.Options) {
			o.ChangeWindows = `[{"days": ["mon"], "start": "09:00", "end": "17:00", "timezone": "Berlin"}]`
		}, []string{"context changeWindows[0].timezone: \"Berlin\" is not an IANA time zone"}},
		// The user's names, each said once: a bad policy reaches three
		// functions' loaders.
		{"a policy that is no JSON object", func(o *gatehouse.Options) { o.Policy = "notjson" }, []string{"context policy: want a JSON object"}},
		{"approval timeout at the longest PAUSE hook timeout", func(o *gatehouse.Options) {
			o.ApprovalTimeout, o.ApprovalMode = "336h", gatehouse.ApprovalModePause
		}, []string{"context approvalTimeout", "not below 336h"}},
		{"a Lambda-mode approval timeout over a day", func(o *gatehouse.Options) { o.ApprovalTimeout = "47h" },
			[]string{"context approvalTimeout: 47h cannot expire before ECS's 24-hour limit", "approvalMode=pause", "14 days"}},
		{"records expire before the longest request", func(o *gatehouse.Options) { o.RecordExpirationDays = 14 }, []string{"recordExpirationDays", "below 15"}},
		{"negative reserved concurrency", func(o *gatehouse.Options) { o.APIReservedConcurrency = -1 }, []string{"apiReservedConcurrency"}},
		{"review URL that is no URL", func(o *gatehouse.Options) { o.ReviewURL = "deploy.example.com/gatehouse" }, []string{"context reviewUrl", "not an absolute http(s) URL"}},
		{"bad smoke config", func(o *gatehouse.Options) { o.SmokeConfig = `{"retries": "many"}` }, []string{"smokeConfig"}},
		{"bad bake config", func(o *gatehouse.Options) { o.BakeConfig = `{"window": "forever"}` }, []string{"bakeConfig"}},
		{"records expire too soon", func(o *gatehouse.Options) { o.RecordExpirationDays = 1 }, []string{"recordExpirationDays"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := good
			tt.edit(&o)
			_, err := gatehouse.Build(awscdk.NewApp(nil), o)
			if err == nil {
				t.Fatal("Build succeeded")
			}
			for _, w := range tt.wants {
				if n := strings.Count(err.Error(), w); n != 1 {
					t.Errorf("Build error %q mentions %q %d times, want once", err, w, n)
				}
			}
			if strings.Contains(strings.ReplaceAll(err.Error(), "GATEHOUSE_ASSET_DIR", ""), "GATEHOUSE_") {
				t.Errorf("Build error %q names an environment variable, not the context key given", err)
			}
		})
	}
}

func TestCheckAssets(t *testing.T) {
	if err := gatehouse.CheckAssets(assetRoot); err != nil {
		t.Errorf("CheckAssets(complete dir) = %v", err)
	}
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "approval-hook", "bootstrap"), 0o755); err != nil {
		t.Fatal(err)
	}
	err := gatehouse.CheckAssets(dir)
	if err == nil || !strings.Contains(err.Error(), "is not a file") || !strings.Contains(err.Error(), "run `make build` first") {
		t.Errorf("CheckAssets(bootstrap is a directory) = %v", err)
	}
}

// smokeVPC is the app built with the smoke hook in a VPC (smokeVpcId),
// once for every test that reads it.
type smokeVPC struct {
	stacks    *gatehouse.Stacks
	hooks     assertions.Template
	hooksJSON map[string]any
	err       error
}

var (
	smokeVPCOnce sync.Once
	theSmokeVPC  smokeVPC
)

func smokeVPCFixture(t *testing.T) *smokeVPC {
	t.Helper()
	smokeVPCOnce.Do(func() {
		v := &theSmokeVPC
		v.stacks, v.err = build(newApp(), gatehouse.Options{
			AssetDir: assetRoot, RecordExpirationDays: 90, BakeTimeMinutes: 10, Nag: true,
			SmokeVPCID:     "vpc-0123456789abcdef0",
			SmokeSubnetIDs: []string{"subnet-0123456789abcdef0", "subnet-0123456789abcdef1"},
		})
		if v.err != nil {
			return
		}
		v.hooks = assertions.Template_FromStack(v.stacks.Hooks, nil)
		v.hooksJSON = *v.hooks.ToJSON()
	})
	if theSmokeVPC.err != nil {
		t.Fatal(theSmokeVPC.err)
	}
	return &theSmokeVPC
}

// TestSmokeHookInVPC: to test through an internal load balancer, the smoke
// hook runs in the VPC, with the network-interface permissions Lambda needs
// there and nothing else changed.
func TestSmokeHookInVPC(t *testing.T) {
	v := smokeVPCFixture(t)
	tmpl, j := v.hooks, v.hooksJSON
	s := v.stacks
	smokeFn := logicalID(t, j, "AWS::Lambda::Function", "SuiteSmokeHook")
	sg := logicalID(t, j, "AWS::EC2::SecurityGroup", "SuiteSmokeHookSecurityGroup")
	check(t, "smoke hook in the VPC", func() {
		tmpl.HasResourceProperties(jsii.String("AWS::Lambda::Function"), obj(map[string]any{
			"Description": assertions.Match_StringLikeRegexp(jsii.String("smoke")),
			"VpcConfig": objEq(map[string]any{
				"SubnetIds":        arrayEq("subnet-0123456789abcdef0", "subnet-0123456789abcdef1"),
				"SecurityGroupIds": arrayEq(objEq(map[string]any{"Fn::GetAtt": arrayEq(sg, "GroupId")})),
			}),
		}))
		tmpl.ResourcePropertiesCountIs(jsii.String("AWS::Lambda::Function"), obj(map[string]any{"VpcConfig": assertions.Match_AnyValue()}), jsii.Number(1))
	})
	found := false
	for _, st := range statements(j) {
		if st.sid != "VpcNetworkInterfaces" {
			continue
		}
		found = true
		if !strings.Contains(st.where, "SuiteSmokeHookRole") {
			t.Errorf("ENI permissions on %s, want only the smoke hook's role", st.where)
		}
		for _, a := range st.actions {
			if !strings.HasPrefix(a, "ec2:") || strings.Contains(a, "*") {
				t.Errorf("%s: action %s", st.where, a)
			}
		}
	}
	if !found {
		t.Errorf("no VpcNetworkInterfaces statement for %s", smokeFn)
	}
	for _, m := range *assertions.Annotations_FromStack(s.Hooks).FindError(jsii.String("*"), awsSolutions()) {
		t.Errorf("cdk-nag: %s", describe(m))
	}
}
