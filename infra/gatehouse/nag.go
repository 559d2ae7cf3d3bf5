package gatehouse

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// The constructs record why a cdk-nag rule does not apply to a resource as
// cdk-nag reads it: template metadata "cdk_nag": {"rules_to_suppress":
// [...]}, cdk-nag's documented form for suppressions. They do not import
// cdk-nag, so an app that uses them without cdk-nag does not depend on it;
// the gatehouse app runs cdk-nag's AwsSolutions checks (infra/main.go).

// nagRule is one suppression as cdk-nag reads it.
type nagRule struct {
	ID        string   `json:"id"`
	Reason    string   `json:"reason"`
	AppliesTo []string `json:"applies_to,omitempty"`
}

// nagMetadata is the metadata key cdk-nag reads suppressions from.
const nagMetadata = "cdk_nag"

// addNagRules adds rules to the suppressions of every CloudFormation
// resource in c's tree, beside those there already.
func addNagRules(c constructs.IConstruct, rules []nagRule) {
	for _, child := range *c.Node().FindAll(constructs.ConstructOrder_PREORDER) {
		res, ok := child.(awscdk.CfnResource)
		if !ok || !*awscdk.CfnResource_IsCfnResource(child) {
			continue
		}
		var existing []any
		if m, ok := res.GetMetadata(jsii.String(nagMetadata)).(map[string]any); ok {
			existing, _ = m["rules_to_suppress"].([]any)
		}
		for _, r := range rules {
			e := map[string]any{"id": r.ID, "reason": r.Reason}
			if len(r.AppliesTo) > 0 {
				e["applies_to"] = r.AppliesTo
			}
			existing = append(existing, e)
		}
		res.AddMetadata(jsii.String(nagMetadata), map[string]any{"rules_to_suppress": existing})
	}
}

// suppress records, on c and its children, why a cdk-nag rule does not apply.
func suppress(c constructs.IConstruct, rule, reason string) {
	addNagRules(c, []nagRule{{ID: rule, Reason: reason}})
}

// nagWildcard is one AwsSolutions-IAM5 finding, as cdk-nag names it, and why
// the wildcard is needed.
type nagWildcard struct {
	finding string
	reason  string
}

// suppressWildcards suppresses exactly the listed IAM5 findings on a role and
// its policy, each with its own reason: any other wildcard still fails.
func suppressWildcards(c constructs.IConstruct, ws []nagWildcard) {
	rules := make([]nagRule, 0, len(ws))
	for _, w := range ws {
		rules = append(rules, nagRule{ID: "AwsSolutions-IAM5", Reason: w.reason, AppliesTo: []string{w.finding}})
	}
	if len(rules) > 0 {
		addNagRules(c, rules)
	}
}
