package gatehouse

import (
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// suppress records, on c and its children, why a cdk-nag rule does not apply.
func suppress(c constructs.IConstruct, rule, reason string) {
	cdknag.NagSuppressions_AddResourceSuppressions(c, &[]*cdknag.NagPackSuppression{
		{Id: jsii.String(rule), Reason: jsii.String(reason)},
	}, jsii.Bool(true))
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
	if len(ws) == 0 {
		return
	}
	s := make([]*cdknag.NagPackSuppression, 0, len(ws))
	for _, w := range ws {
		s = append(s, &cdknag.NagPackSuppression{
			Id:        jsii.String("AwsSolutions-IAM5"),
			Reason:    jsii.String(w.reason),
			AppliesTo: &[]any{w.finding},
		})
	}
	cdknag.NagSuppressions_AddResourceSuppressions(c, &s, jsii.Bool(true))
}
