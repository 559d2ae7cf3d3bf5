package gatehouse_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsecs"
	"github.com/aws/jsii-runtime-go"

	"github.com/gatehouse-dev/gatehouse/infra/gatehouse"
)

// The Go snippets of README.md and docs/ are the bodies of the functions
// below, between "// snippet" and "// end snippet": TestSnippetsSynthesize
// runs each against a service in a consumer app, as pasted, and
// TestDocSnippetsAreTested checks that every ```go block of the docs is
// one of them. A snippet changed in the docs and not here fails.

func snippetAttach(stack awscdk.Stack, service awsecs.FargateService) {
	// snippet
	hooks := gatehouse.LookupSuite(stack, "Gatehouse", "/gatehouse/GatehouseHooks/suite") // the SuiteParameter output
	gatehouse.Attach(service, &gatehouse.AttachProps{Role: hooks.InvokeRole, Hooks: []gatehouse.Hook{
		hooks.Smoke(gatehouse.HookOptions{Details: map[string]any{
			"checks": []any{map[string]any{"name": "health", "path": "/health", "expectStatus": []int{200}}},
		}}),
		hooks.Approval(gatehouse.HookOptions{
			// alice must be in the suite's -c approvers to receive the link.
			Details: map[string]any{"approvers": []string{"alice@example.com"}, "timeout": "4h"},
			Timeout: 4*time.Hour + 30*time.Minute, // ECS's timeoutConfiguration, above the approval's own
		}),
		hooks.Bake(gatehouse.HookOptions{Details: map[string]any{
			"window":  "10m",
			"alarms":  map[string]any{"prefixes": []string{"orders-"}},
			"metrics": []any{map[string]any{"name": "5xx rate", "kind": "targetGroup5xxRate", "max": 0.01}},
		}}),
	}})
	// end snippet
}

func snippetPause(stack awscdk.Stack, service awsecs.FargateService) {
	// snippet
	hooks := gatehouse.LookupSuite(stack, "Gatehouse", "/gatehouse/GatehouseHooks/suite") // a suite deployed with -c approvalMode=pause
	gatehouse.Attach(service, &gatehouse.AttachProps{Role: hooks.InvokeRole, Hooks: []gatehouse.Hook{
		hooks.Approval(gatehouse.HookOptions{
			Details: map[string]any{"approvers": []string{"alice@example.com", "bob@example.com"}, "requiredApprovals": 2, "timeout": "72h"},
			Timeout: 73 * time.Hour, // the PAUSE hook's timeout, up to 14 days: then ROLLBACK
		}),
	}})
	// end snippet
}

func snippetFromARNs(stack awscdk.Stack, service awsecs.FargateService) {
	// snippet
	hooks := gatehouse.FromARNs(stack, "Gatehouse", gatehouse.ARNs{
		ApprovalHook: *awscdk.Fn_ImportValue(jsii.String("GatehouseHooks-ApprovalHookArn")),
		SmokeHook:    *awscdk.Fn_ImportValue(jsii.String("GatehouseHooks-SmokeHookArn")),
		BakeHook:     *awscdk.Fn_ImportValue(jsii.String("GatehouseHooks-BakeHookArn")),
		InvokeRole:   *awscdk.Fn_ImportValue(jsii.String("GatehouseHooks-HookInvokeRoleArn")),
	})
	gatehouse.Attach(service, &gatehouse.AttachProps{Role: hooks.InvokeRole, Hooks: []gatehouse.Hook{
		hooks.Approval(gatehouse.HookOptions{Details: map[string]any{"approvers": []string{"alice@example.com"}, "timeout": "4h"}}),
	}})
	// end snippet
}

// consumerDescription is a deployed suite's description, as its SSM
// parameter holds it: pause mode, alice and bob subscribed, a policy that
// lets services wait up to 96h.
func consumerDescription(t *testing.T, mode gatehouse.ApprovalMode) string {
	t.Helper()
	b, err := json.Marshal(gatehouse.SuiteDescription{
		Format: gatehouse.SuiteDescriptionFormat,
		ARNs: gatehouse.ARNs{
			ApprovalHook: "arn:aws:lambda:eu-west-1:123456789012:function:GatehouseHooks-SuiteApprovalHook",
			SmokeHook:    "arn:aws:lambda:eu-west-1:123456789012:function:GatehouseHooks-SuiteSmokeHook",
			BakeHook:     "arn:aws:lambda:eu-west-1:123456789012:function:GatehouseHooks-SuiteBakeHook",
			InvokeRole:   "arn:aws:iam::123456789012:role/GatehouseHooks-SuiteHookInvokeRole",
		},
		ApprovalMode:  mode,
		ApprovalStage: gatehouse.StagePostTestTrafficShift,
		Settings: gatehouse.SuiteSettings{Approvers: []string{"alice@example.com", "bob@example.com"}, ApprovalTimeout: "23h",
			Policy: `{"approval": {"loosen": {"timeout": {"max": "96h"}, "approvers": {"domains": ["example.com"]}}}}`},
	})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// consumerStack is a stack of another app, in an explicit account and
// region, whose SSM lookup of the suite's description is answered from
// the app's context (as cdk.context.json answers it).
func consumerStack(t *testing.T, description string) awscdk.Stack {
	t.Helper()
	app := newApp()
	stack := awscdk.NewStack(app, jsii.String("Orders"), &awscdk.StackProps{Env: &awscdk.Environment{Account: jsii.String("123456789012"), Region: jsii.String("eu-west-1")}})
	key := awscdk.ContextProvider_GetKey(stack, &awscdk.GetContextKeyOptions{Provider: jsii.String("ssm"),
		Props: &map[string]any{"parameterName": "/gatehouse/GatehouseHooks/suite"}}).Key
	stack.Node().SetContext(key, description)
	return stack
}

// TestSnippetsSynthesize: each snippet, in a consumer app, synthesizes
// hooks as it says.
func TestSnippetsSynthesize(t *testing.T) {
	for _, tt := range []struct {
		name    string
		snippet func(awscdk.Stack, awsecs.FargateService)
		mode    gatehouse.ApprovalMode
		hooks   int
	}{
		{"attach", snippetAttach, gatehouse.ApprovalModeLambda, 3},
		{"pause", snippetPause, gatehouse.ApprovalModePause, 1},
		{"FromARNs", snippetFromARNs, gatehouse.ApprovalModeLambda, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			stack := consumerStack(t, consumerDescription(t, tt.mode))
			svc := consumerService(stack)
			if msg, panicked := panics(func() { tt.snippet(stack, svc) }); panicked {
				t.Fatalf("the snippet panicked: %s", msg)
			}
			tmpl := *assertions.Template_FromStack(stack, nil).ToJSON()
			for _, r := range resources(tmpl, "AWS::ECS::Service") {
				hooks := r["Properties"].(map[string]any)["DeploymentConfiguration"].(map[string]any)["LifecycleHooks"].([]any)
				if len(hooks) != tt.hooks {
					t.Errorf("%d lifecycle hooks, want %d", len(hooks), tt.hooks)
				}
				if tt.mode == gatehouse.ApprovalModePause && hooks[0].(map[string]any)["TargetType"] != "PAUSE" {
					t.Errorf("hook %v, want a PAUSE hook", hooks[0])
				}
			}
		})
	}
}

// TestLookupSuiteChecksAsTheSuite: with the suite's description, Attach
// checks Details against the suite's policy and defaults, and warns of an
// approver its review topic does not reach; before the lookup is answered
// it synthesizes with a placeholder.
func TestLookupSuiteChecksAsTheSuite(t *testing.T) {
	stack := consumerStack(t, consumerDescription(t, gatehouse.ApprovalModePause))
	hooks := gatehouse.LookupSuite(stack, "Gatehouse", "/gatehouse/GatehouseHooks/suite")
	msg, panicked := panics(func() {
		gatehouse.Attach(consumerService(stack), &gatehouse.AttachProps{Role: hooks.InvokeRole, Hooks: []gatehouse.Hook{
			hooks.Approval(gatehouse.HookOptions{Details: map[string]any{"timeout": "120h"}, Timeout: 121 * time.Hour}),
		}})
	})
	if !panicked || !strings.Contains(msg, "120h is longer than 96h, the longest allowed") {
		t.Errorf("a 120h wait under the suite's 96h policy: %v %q", panicked, msg)
	}
	stack = consumerStack(t, consumerDescription(t, gatehouse.ApprovalModePause))
	hooks = gatehouse.LookupSuite(stack, "Gatehouse", "/gatehouse/GatehouseHooks/suite")
	gatehouse.Attach(consumerService(stack), &gatehouse.AttachProps{Role: hooks.InvokeRole, Hooks: []gatehouse.Hook{
		hooks.Approval(gatehouse.HookOptions{Details: map[string]any{"approvers": []string{"carol@example.com"}}}),
	}})
	var warned bool
	for _, m := range *assertions.Annotations_FromStack(stack).FindWarning(jsii.String("*"), assertions.Match_AnyValue()) {
		warned = warned || strings.Contains(describe(m), "approver carol@example.com is not subscribed to the review topic")
	}
	if !warned {
		t.Error("no warning for an approver the suite's topic does not reach")
	}
	// Not looked up yet: a placeholder, checked key by key.
	app := newApp()
	pending := awscdk.NewStack(app, jsii.String("Pending"), &awscdk.StackProps{Env: &awscdk.Environment{Account: jsii.String("123456789012"), Region: jsii.String("eu-west-1")}})
	if msg, panicked := panics(func() {
		h := gatehouse.LookupSuite(pending, "Gatehouse", "/gatehouse/GatehouseHooks/suite")
		gatehouse.Attach(consumerService(pending), &gatehouse.AttachProps{Role: h.InvokeRole, Hooks: []gatehouse.Hook{h.Approval(gatehouse.HookOptions{})}})
	}); panicked {
		t.Errorf("before the lookup: %s", msg)
	}
	for _, bad := range []string{`{}`, `{"format": 2}`, `not json`, `{"format": 1, "arns": {}, "extra": 1}`} {
		if _, panicked := panics(func() { gatehouse.FromSuite(newStackIn(t), "G", bad) }); !panicked {
			t.Errorf("FromSuite(%s) accepted it", bad)
		}
	}
}

func newStackIn(t *testing.T) awscdk.Stack {
	t.Helper()
	return awscdk.NewStack(newApp(), jsii.String("S"), nil)
}

// TestDocSnippetsAreTested: every ```go block of README.md and docs/ is
// the body of one of the snippets above (whitespace aside).
func TestDocSnippetsAreTested(t *testing.T) {
	src, err := os.ReadFile("snippets_test.go")
	if err != nil {
		t.Fatal(err)
	}
	tested := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?s)// snippet\n(.*?)\n\t// end snippet`).FindAllStringSubmatch(string(src), -1) {
		tested[normalize(m[1])] = true
	}
	if len(tested) < 3 {
		t.Fatalf("found %d snippets in this file", len(tested))
	}
	files, _ := filepath.Glob("../../docs/*.md")
	files = append(files, "../../README.md")
	blocks := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range regexp.MustCompile("(?s)```go\n(.*?)```").FindAllStringSubmatch(string(b), -1) {
			blocks++
			if !tested[normalize(m[1])] {
				t.Errorf("%s: a Go snippet no test compiles: add it to snippets_test.go:\n%s", f, m[1])
			}
		}
	}
	if blocks == 0 {
		t.Error("no Go snippet in the docs: the test would pass on nothing")
	}
}

// normalize drops leading whitespace on each line and blank lines.
func normalize(s string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
