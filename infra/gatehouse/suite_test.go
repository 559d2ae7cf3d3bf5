package gatehouse_test

import (
	"strings"
	"testing"

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
			[]string{"SuiteProps.Approvers, RequiredApprovals", "requiredApprovals"}},
		{"negative quorum", gatehouse.SuiteProps{RequiredApprovals: -1}, []string{"requiredApprovals"}},
		{"bad timeout", gatehouse.SuiteProps{ApprovalTimeout: "soon"}, []string{"GATEHOUSE_APPROVAL_TIMEOUT"}},
		{"timeout at the ECS timeout", gatehouse.SuiteProps{ApprovalTimeout: "24h"}, []string{"SuiteProps.ApprovalTimeout", "24h is not below 24h", "23h"}},
		{"bad smoke config", gatehouse.SuiteProps{SmokeConfig: `{"retries": "many"}`}, []string{"SuiteProps.SmokeConfig", "retries"}},
		{"bad bake config", gatehouse.SuiteProps{BakeConfig: `{"window": "forever"}`}, []string{"SuiteProps.BakeConfig", "window"}},
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
