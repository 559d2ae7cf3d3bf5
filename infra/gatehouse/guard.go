package gatehouse

import (
	"encoding/json"
	"sort"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// Why the listener rules need a guard (aws/aws-cdk#36649): during a
// blue/green deployment ECS rewrites the production and test listener rules'
// forward weights, so after the first deployment the live rules no longer
// match the template. CloudFormation compares templates, not live state: it
// leaves the rules alone until their template properties change (a code
// change, a CDK upgrade rendering them differently, a replaced target
// group), and then writes back the weights the code declares, sending
// production traffic to whichever target group the code names, which after
// an even number of deployments holds no tasks.
//
// The guard has two parts. The rules are declared once, in the shape ECS
// keeps them in (one weighted forward over both target groups), and a test
// pins that shape so an accidental change fails `make test`. And a stack
// policy denies CloudFormation any update of the rules, so a change that
// slips through fails the stack update loudly instead of moving traffic.

// ProtectedResources lists constructs whose CloudFormation resources a stack
// policy should protect from updates, replacement and deletion.
type ProtectedResources []constructs.IConstruct

// StackPolicy returns a CloudFormation stack policy (JSON) that denies every
// update to the resources (Update:Modify, Update:Replace, Update:Delete) and
// allows all others. Apply it once after the first deployment with
// `aws cloudformation set-stack-policy`; a stack update that would touch a
// protected resource then fails and rolls back instead of resetting the
// live resource. The logical IDs are fixed at synthesis, so the policy is
// plain text.
func (p ProtectedResources) StackPolicy(stack awscdk.Stack) string {
	ids := make([]string, 0, len(p))
	for _, c := range p {
		el, ok := c.Node().DefaultChild().(awscdk.CfnElement)
		if !ok {
			el = c.(awscdk.CfnElement)
		}
		ids = append(ids, "LogicalResourceId/"+*stack.GetLogicalId(el))
	}
	sort.Strings(ids)
	type statement struct {
		Effect    string `json:"Effect"`
		Action    string `json:"Action"`
		Principal string `json:"Principal"`
		Resource  any    `json:"Resource"`
	}
	policy := struct {
		Statement []statement `json:"Statement"`
	}{[]statement{
		{Effect: "Deny", Action: "Update:*", Principal: "*", Resource: ids},
		{Effect: "Allow", Action: "Update:*", Principal: "*", Resource: "*"},
	}}
	b, err := json.Marshal(policy)
	if err != nil {
		panic(err) // static shape: cannot fail
	}
	return string(b)
}

// Output adds the stack policy as a stack output named id.
func (p ProtectedResources) Output(stack awscdk.Stack, id string) awscdk.CfnOutput {
	return awscdk.NewCfnOutput(stack, jsii.String(id), &awscdk.CfnOutputProps{
		Description: jsii.String("Stack policy protecting the blue/green listener rules from CloudFormation updates (aws/aws-cdk#36649). Apply once after the first deploy: aws cloudformation set-stack-policy --stack-name " + *stack.StackName() + " --stack-policy-body <this value>"),
		Value:       jsii.String(p.StackPolicy(stack)),
	})
}
