package gatehouse_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"github.com/gatehouse-dev/gatehouse/infra/gatehouse"
	"github.com/gatehouse-dev/gatehouse/internal/config"
)

// TestNewSuiteCanonicalApprovers: the library path canonicalizes approvers
// as the app does: the approval hook publishes the lowercased address, and
// the filter policies and GATEHOUSE_APPROVERS must match it exactly.
func TestNewSuiteCanonicalApprovers(t *testing.T) {
	stack := awscdk.NewStack(newApp(), jsii.String("S"), nil)
	gatehouse.NewSuite(stack, "Suite", &gatehouse.SuiteProps{
		AssetDir:  assetRoot,
		Approvers: []string{"Alice@Example.com", " alice@example.com", "bob@example.com"},
		Freezes:   `[{"start": "2026-12-20T00:00:00Z", "end": "2027-01-04T00:00:00Z", "reason": "holidays"}]`,
	})
	tmpl := assertions.Template_FromStack(stack, nil)
	check(t, "one subscription per distinct address", func() {
		tmpl.ResourceCountIs(jsii.String("AWS::SNS::Subscription"), jsii.Number(2))
	})
	for _, a := range []string{"alice@example.com", "bob@example.com"} {
		check(t, "lowercased subscription of "+a, func() {
			tmpl.HasResourceProperties(jsii.String("AWS::SNS::Subscription"), obj(map[string]any{
				"Endpoint":     a,
				"FilterPolicy": objEq(map[string]any{gatehouse.ApproverAttribute: arrayEq(a)}),
			}))
		})
	}
	check(t, "canonical GATEHOUSE_APPROVERS and the default approval timeout", func() {
		tmpl.HasResourceProperties(jsii.String("AWS::Lambda::Function"), obj(map[string]any{
			"Environment": obj(map[string]any{"Variables": obj(map[string]any{
				config.EnvApprovers:       "alice@example.com,bob@example.com",
				config.EnvApprovalTimeout: "23h",
				config.EnvFreezes:         `[{"start": "2026-12-20T00:00:00Z", "end": "2027-01-04T00:00:00Z", "reason": "holidays"}]`,
			})}),
		}))
	})
	mustFail(t, "no warning about missing approvers", func() {
		assertions.Annotations_FromStack(stack).HasWarning(jsii.String("*"), assertions.Match_StringLikeRegexp(jsii.String("no approvers")))
	})
}

// TestNewSuiteRefuses: NewSuite runs the functions' loaders on the
// environment it will set, as the app does, and names the field at fault.
func TestNewSuiteRefuses(t *testing.T) {
	tests := []struct {
		name  string
		props gatehouse.SuiteProps
		wants []string
	}{
		{"bad approver", gatehouse.SuiteProps{Approvers: []string{"alice"}}, []string{"SuiteProps.Approvers", `"alice" is not an email address`}},
		{"quorum above the approvers", gatehouse.SuiteProps{Approvers: []string{"a@example.com", "A@example.com"}, RequiredApprovals: 2},
			[]string{"SuiteProps.RequiredApprovals: 2 is more than the 1 approvers"}},
		{"negative quorum", gatehouse.SuiteProps{RequiredApprovals: -1}, []string{"SuiteProps.RequiredApprovals: -1, want at least 1"}},
		{"bad timeout", gatehouse.SuiteProps{ApprovalTimeout: "soon"}, []string{`SuiteProps.ApprovalTimeout: "soon" is not a duration`}},
		{"steps neither first nor each", gatehouse.SuiteProps{ApprovalSteps: "every"}, []string{`SuiteProps.ApprovalSteps: "every", want first or each`}},
		{"timeout at the longest PAUSE timeout", gatehouse.SuiteProps{ApprovalTimeout: "336h", ApprovalMode: gatehouse.ApprovalModePause}, []string{"SuiteProps.ApprovalTimeout", "336h is not below 336h", "335h"}},
		{"a Lambda-mode timeout of a day", gatehouse.SuiteProps{ApprovalTimeout: "24h"}, []string{"SuiteProps.ApprovalTimeout", "24h cannot expire before ECS's 24-hour limit", "at most 23h", "approvalMode=pause"}},
		{"records expire before the longest request", gatehouse.SuiteProps{RecordExpiration: 14 * 24 * time.Hour}, []string{"RecordExpiration", "at least 15"}},
		{"negative reserved concurrency", gatehouse.SuiteProps{APIReservedConcurrency: -1}, []string{"APIReservedConcurrency -1 is negative"}},
		{"review URL with a query", gatehouse.SuiteProps{ReviewURL: "https://deploy.example.com/gatehouse?x=1"}, []string{"ReviewURL", "query"}},
		{"bad smoke config", gatehouse.SuiteProps{SmokeConfig: `{"retries": "many"}`}, []string{"SuiteProps.SmokeConfig", "retries"}},
		{"bad bake config", gatehouse.SuiteProps{BakeConfig: `{"window": "forever"}`}, []string{"SuiteProps.BakeConfig", "window"}},
		{"bad policy", gatehouse.SuiteProps{Policy: `{"approval": {"loosen": {"quorum": 1}}}`}, []string{"SuiteProps.Policy: approval.loosen.quorum: unknown key"}},
		{"subscription admin not an ARN", gatehouse.SuiteProps{SubscriptionAdmins: []string{"Admin"}}, []string{"SubscriptionAdmins", `"Admin" is not an IAM principal ARN`}},
		{"Slack secret by name", gatehouse.SuiteProps{SlackSecretArn: "gatehouse/slack"}, []string{"SlackSecretArn", "complete ARN"}},
		{"Slack secret's partial ARN", gatehouse.SuiteProps{SlackSecretArn: "arn:aws:secretsmanager:us-east-1:123456789012:secret:gatehouse/slack"}, []string{"SlackSecretArn", "describe-secret"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stack := awscdk.NewStack(newApp(), jsii.String("S"), nil)
			p := tt.props
			p.AssetDir = assetRoot
			msg, panicked := panics(func() { gatehouse.NewSuite(stack, "Suite", &p) })
			if !panicked {
				t.Fatal("NewSuite accepted the props")
			}
			for _, w := range append(tt.wants, "gatehouse.NewSuite") {
				if !strings.Contains(msg, w) {
					t.Errorf("NewSuite panicked with %q, want it to mention %q", msg, w)
				}
			}
		})
	}
}

// TestNewSuiteWithoutApprovers: a shared-link message to a topic without
// subscriptions reaches nobody; the synthesis warns and says what to do.
func TestNewSuiteWithoutApprovers(t *testing.T) {
	stack := awscdk.NewStack(newApp(), jsii.String("S"), nil)
	gatehouse.NewSuite(stack, "Suite", &gatehouse.SuiteProps{AssetDir: assetRoot})
	notes := assertions.Annotations_FromStack(stack)
	for _, w := range []string{"no approvers", "reaches nobody", "-c approvers=", "aws sns subscribe"} {
		check(t, "warning mentions "+w, func() {
			notes.HasWarning(jsii.String("/S/Suite/ReviewTopic"), assertions.Match_StringLikeRegexp(jsii.String(w)))
		})
	}
	check(t, "no subscriptions", func() {
		assertions.Template_FromStack(stack, nil).ResourceCountIs(jsii.String("AWS::SNS::Subscription"), jsii.Number(0))
	})
}

// TestNewSuiteOptIns: reserved concurrency for the review API is an opt-in,
// and a custom review URL becomes the base of the links and the path the
// review API serves under.
func TestNewSuiteOptIns(t *testing.T) {
	stack := awscdk.NewStack(newApp(), jsii.String("S"), nil)
	gatehouse.NewSuite(stack, "Suite", &gatehouse.SuiteProps{
		AssetDir:               assetRoot,
		Approvers:              []string{"alice@example.com"},
		APIReservedConcurrency: 5,
		ReviewURL:              "https://deploy.example.com/gatehouse",
	})
	tmpl := assertions.Template_FromStack(stack, nil)
	check(t, "the review API alone reserves 5", func() {
		tmpl.ResourcePropertiesCountIs(jsii.String("AWS::Lambda::Function"), obj(map[string]any{
			"ReservedConcurrentExecutions": assertions.Match_AnyValue(),
		}), jsii.Number(1))
		tmpl.HasResourceProperties(jsii.String("AWS::Lambda::Function"), obj(map[string]any{
			"Description":                  assertions.Match_StringLikeRegexp(jsii.String("review API")),
			"ReservedConcurrentExecutions": 5,
		}))
	})
	check(t, "both the hook and the API know the review URL", func() {
		tmpl.ResourcePropertiesCountIs(jsii.String("AWS::Lambda::Function"), obj(map[string]any{
			"Environment": obj(map[string]any{"Variables": obj(map[string]any{
				config.EnvReviewURL: "https://deploy.example.com/gatehouse",
			})}),
		}), jsii.Number(2))
	})
}

// TestReviewTopicPolicy: only the account's root user, the CDK's
// CloudFormation execution roles, the approval hook and the configured
// administrators may subscribe to the review topic or list its
// subscriptions: an unfiltered subscription would get every personal link.
func TestReviewTopicPolicy(t *testing.T) {
	stack := awscdk.NewStack(newApp(), jsii.String("S"), nil)
	gatehouse.NewSuite(stack, "Suite", &gatehouse.SuiteProps{AssetDir: assetRoot, Approvers: []string{"alice@example.com"},
		SubscriptionAdmins: []string{"arn:aws:iam::*:role/aws-reserved/sso.amazonaws.com/*AWSReservedSSO_AdministratorAccess_*"}})
	tmpl := assertions.Template_FromStack(stack, nil)
	check(t, "a deny for everyone else", func() {
		tmpl.HasResourceProperties(jsii.String("AWS::SNS::TopicPolicy"), obj(map[string]any{
			"PolicyDocument": obj(map[string]any{"Statement": arrayWith(obj(map[string]any{
				"Sid":       "OnlyAdministratorsSubscribe",
				"Effect":    "Deny",
				"Principal": obj(map[string]any{"AWS": "*"}),
				"Action":    []any{"sns:Subscribe", "sns:ListSubscriptionsByTopic", "sns:SetTopicAttributes", "sns:AddPermission", "sns:RemovePermission"},
				"Condition": obj(map[string]any{"ArnNotLike": obj(map[string]any{"aws:PrincipalArn": arrayWith(
					"arn:aws:iam::*:role/aws-reserved/sso.amazonaws.com/*AWSReservedSSO_AdministratorAccess_*",
				)})}),
			}))}),
		}))
	})
	doc := tmpl.FindResources(jsii.String("AWS::SNS::TopicPolicy"), nil)
	b, _ := json.Marshal(doc)
	for _, w := range []string{`:root`, `:role/cdk-*-cfn-exec-role-*`, `ApprovalHookRole`} {
		if !strings.Contains(string(b), w) {
			t.Errorf("topic policy does not allow %s:\n%s", w, b)
		}
	}
}

// TestNewSuiteWithSlack: with the Slack app's secret, the approval hook and
// the review API are told it, and each may read exactly that secret; the
// other functions may not.
func TestNewSuiteWithSlack(t *testing.T) {
	const arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:gatehouse/slack-AbC123"
	stack := awscdk.NewStack(newApp(), jsii.String("S"), nil)
	gatehouse.NewSuite(stack, "Suite", &gatehouse.SuiteProps{AssetDir: assetRoot, Approvers: []string{"alice@example.com"}, SlackSecretArn: arn})
	tmpl := assertions.Template_FromStack(stack, nil)
	var told []string
	for id, r := range resources(*tmpl.ToJSON(), "AWS::Lambda::Function") {
		env, _ := r["Properties"].(map[string]any)["Environment"].(map[string]any)
		vars, _ := env["Variables"].(map[string]any)
		if vars[config.EnvSlackSecret] == arn {
			told = append(told, stripIDs("${"+id+"}"))
		}
	}
	slices.Sort(told)
	if strings.Join(told, " ") != "${SuiteApprovalApi} ${SuiteApprovalHook}" {
		t.Errorf("functions told the Slack secret: %v, want the approval hook and the review API", told)
	}
	readers := 0
	for id, r := range resources(*tmpl.ToJSON(), "AWS::IAM::Policy") {
		for _, s := range statements(map[string]any{"Resources": map[string]any{id: r}}) {
			if s.sid != "ReadSlackSecret" {
				continue
			}
			readers++
			if strings.Join(s.actions, ",") != "secretsmanager:GetSecretValue" || len(s.resource) != 1 || s.resource[0] != arn {
				t.Errorf("%s: %v on %v, want GetSecretValue on %s alone", s.where, s.actions, s.resource, arn)
			}
		}
	}
	if readers != 2 {
		t.Errorf("%d policies read the Slack secret, want 2 (the approval hook's and the review API's)", readers)
	}
}
