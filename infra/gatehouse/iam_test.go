package gatehouse_test

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// starResourceActions are the only actions allowed on Resource "*", each
// with the reason it needs it.
var starResourceActions = map[string]string{
	"elasticloadbalancing:DescribeListeners":     "no resource-level permissions",
	"elasticloadbalancing:DescribeLoadBalancers": "no resource-level permissions",
	"elasticloadbalancing:DescribeRules":         "no resource-level permissions",
	"cloudwatch:GetMetricData":                   "no resource-level permissions",
	"cloudtrail:LookupEvents":                    "no resource-level permissions",
	"ecs:DescribeTaskDefinition":                 "no resource-level permissions",
	"cloudwatch:DescribeAlarms": "the alarms are named per service in hookDetails at run time, and DescribeAlarms " +
		"returns composite alarms only to a caller allowed it on \"*\"",
	// The smoke hook in a VPC (smokeVpcId): what AWSLambdaVPCAccessExecutionRole
	// grants, on "*" as there. Lambda creates and deletes the function's
	// network interfaces with the execution role; their IDs are not known
	// in advance, and ec2:DescribeNetworkInterfaces and ec2:DescribeSubnets
	// support no resource-level permissions.
	"ec2:CreateNetworkInterface":     "Lambda VPC access: network interfaces created at run time (AWSLambdaVPCAccessExecutionRole)",
	"ec2:DescribeNetworkInterfaces":  "Lambda VPC access: no resource-level permissions",
	"ec2:DescribeSubnets":            "Lambda VPC access: no resource-level permissions",
	"ec2:DeleteNetworkInterface":     "Lambda VPC access: interface IDs known only at run time (AWSLambdaVPCAccessExecutionRole)",
	"ec2:AssignPrivateIpAddresses":   "Lambda VPC access: interface IDs known only at run time (AWSLambdaVPCAccessExecutionRole)",
	"ec2:UnassignPrivateIpAddresses": "Lambda VPC access: interface IDs known only at run time (AWSLambdaVPCAccessExecutionRole)",
}

// statement is an IAM policy statement from a template.
type statement struct {
	where    string
	sid      string
	effect   string
	actions  []string
	resource []any
}

// statements returns every statement of every identity policy in tmpl: the
// policies of AWS::IAM::Policy resources and the roles' inline policies.
func statements(tmpl map[string]any) []statement {
	var out []statement
	add := func(where string, doc any) {
		d, _ := doc.(map[string]any)
		sts, _ := d["Statement"].([]any)
		for i, s := range sts {
			s := s.(map[string]any)
			st := statement{where: fmt.Sprintf("%s[%d]", where, i), effect: fmt.Sprint(s["Effect"])}
			st.sid, _ = s["Sid"].(string)
			st.actions = strs(s["Action"])
			if r, ok := s["Resource"].([]any); ok {
				st.resource = r
			} else {
				st.resource = []any{s["Resource"]}
			}
			out = append(out, st)
		}
	}
	for id, r := range resources(tmpl, "AWS::IAM::Policy") {
		add(id, r["Properties"].(map[string]any)["PolicyDocument"])
	}
	for id, r := range resources(tmpl, "AWS::IAM::Role") {
		pols, _ := r["Properties"].(map[string]any)["Policies"].([]any)
		for _, p := range pols {
			add(id+"/inline", p.(map[string]any)["PolicyDocument"])
		}
	}
	return out
}

func strs(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		out := make([]string, len(v))
		for i, s := range v {
			out[i] = fmt.Sprint(s)
		}
		return out
	}
	return nil
}

// TestNoWildcardActions: no identity policy of either stack, nor of the
// hooks stack with the smoke hook in a VPC, grants an action with a
// wildcard, and a Resource "*" appears only with the allowed actions.
func TestNoWildcardActions(t *testing.T) {
	f := appFixture(t)
	v := smokeVPCFixture(t)
	for name, tmpl := range map[string]map[string]any{"hooks": f.hooksJSON, "demo": f.demoJSON, "hooks with smokeVpcId": v.hooksJSON} {
		sts := statements(tmpl)
		if len(sts) == 0 {
			t.Fatalf("%s: no IAM statements found", name)
		}
		for _, s := range sts {
			for _, a := range s.actions {
				if strings.Contains(a, "*") {
					t.Errorf("%s %s: action %q has a wildcard", name, s.where, a)
				}
			}
			for _, r := range s.resource {
				if r != "*" {
					continue
				}
				for _, a := range s.actions {
					if _, ok := starResourceActions[a]; !ok {
						t.Errorf("%s %s: %s on Resource \"*\", which AWS does not require", name, s.where, a)
					}
				}
			}
		}
	}
}

// TestFunctionRolesLeastPrivilege pins each function's permissions: its
// own log group and exactly the calls the function makes.
// TestFunctionRolesLeastPrivilege: each role holds exactly what its function
// calls. The read-only ECS describes are granted on the services as well as
// on the service deployments and revisions: the IAM service reference lists
// the service resource type for them too, and a grant that misses the one
// AWS checks is AccessDenied in a real account.
func TestFunctionRolesLeastPrivilege(t *testing.T) {
	f := appFixture(t)
	want := map[string][]string{
		"SuiteApprovalHookRole": {
			"WriteOwnLogs logs:CreateLogStream,logs:PutLogEvents ${SuiteApprovalHookLogs.Arn}",
			"Approvals s3:GetObject,s3:PutObject ${SuiteStateBucket.Arn}/approvals/*",
			"ReadReports s3:GetObject ${SuiteStateBucket.Arn}/reports/*",
			"TellMissingFromDenied s3:ListBucket ${SuiteStateBucket.Arn}",
			"PublishReviews sns:Publish ${SuiteReviewTopic}",
			"ReadSubscriptions sns:ListSubscriptionsByTopic ${SuiteReviewTopic}",
			"ReadSubscriptionFilters sns:GetSubscriptionAttributes ${SuiteReviewTopic}:*",
			"ReadSigningKey secretsmanager:GetSecretValue ${SuiteSigningKey}",
			"DescribeDeployment ecs:DescribeServiceDeployments arn:${AWS::Partition}:ecs:${AWS::Region}:${AWS::AccountId}:service-deployment/*/*/*,arn:${AWS::Partition}:ecs:${AWS::Region}:${AWS::AccountId}:service/*/*",
			"ListDeployments ecs:ListServiceDeployments arn:${AWS::Partition}:ecs:${AWS::Region}:${AWS::AccountId}:service/*/*",
			"DescribeRevisions ecs:DescribeServiceRevisions arn:${AWS::Partition}:ecs:${AWS::Region}:${AWS::AccountId}:service-revision/*/*/*,arn:${AWS::Partition}:ecs:${AWS::Region}:${AWS::AccountId}:service/*/*",
			"WatchAlarms cloudwatch:DescribeAlarms *",
			"FindDeployer cloudtrail:LookupEvents *",
			"ReadTaskDefinitions ecs:DescribeTaskDefinition *",
			"FindTestListener elasticloadbalancing:DescribeListeners,elasticloadbalancing:DescribeLoadBalancers,elasticloadbalancing:DescribeRules *",
		},
		"SuiteApprovalApiRole": {
			"WriteOwnLogs logs:CreateLogStream,logs:PutLogEvents ${SuiteApprovalApiLogs.Arn}",
			"Approvals s3:GetObject,s3:PutObject ${SuiteStateBucket.Arn}/approvals/*",
			"ReadReports s3:GetObject ${SuiteStateBucket.Arn}/reports/*",
			"TellMissingFromDenied s3:ListBucket ${SuiteStateBucket.Arn}",
			"ReadSigningKey secretsmanager:GetSecretValue ${SuiteSigningKey}",
			"DeploymentStatus ecs:DescribeServiceDeployments arn:${AWS::Partition}:ecs:${AWS::Region}:${AWS::AccountId}:service-deployment/*/*/*,arn:${AWS::Partition}:ecs:${AWS::Region}:${AWS::AccountId}:service/*/*",
		},
		"SuiteSmokeHookRole": {
			"WriteOwnLogs logs:CreateLogStream,logs:PutLogEvents ${SuiteSmokeHookLogs.Arn}",
			"WriteReports s3:PutObject ${SuiteStateBucket.Arn}/reports/*",
			"DescribeDeployment ecs:DescribeServiceDeployments arn:${AWS::Partition}:ecs:${AWS::Region}:${AWS::AccountId}:service-deployment/*/*/*,arn:${AWS::Partition}:ecs:${AWS::Region}:${AWS::AccountId}:service/*/*",
			"DescribeRevisions ecs:DescribeServiceRevisions arn:${AWS::Partition}:ecs:${AWS::Region}:${AWS::AccountId}:service-revision/*/*/*,arn:${AWS::Partition}:ecs:${AWS::Region}:${AWS::AccountId}:service/*/*",
			"FindTestListener elasticloadbalancing:DescribeListeners,elasticloadbalancing:DescribeLoadBalancers,elasticloadbalancing:DescribeRules *",
		},
		"SuiteBakeHookRole": {
			"WriteOwnLogs logs:CreateLogStream,logs:PutLogEvents ${SuiteBakeHookLogs.Arn}",
			"WriteReports s3:PutObject ${SuiteStateBucket.Arn}/reports/*",
			"ReadReports s3:GetObject ${SuiteStateBucket.Arn}/reports/*",
			"TellMissingFromDenied s3:ListBucket ${SuiteStateBucket.Arn}",
			"DescribeDeployment ecs:DescribeServiceDeployments arn:${AWS::Partition}:ecs:${AWS::Region}:${AWS::AccountId}:service-deployment/*/*/*,arn:${AWS::Partition}:ecs:${AWS::Region}:${AWS::AccountId}:service/*/*",
			"DescribeRevisions ecs:DescribeServiceRevisions arn:${AWS::Partition}:ecs:${AWS::Region}:${AWS::AccountId}:service-revision/*/*/*,arn:${AWS::Partition}:ecs:${AWS::Region}:${AWS::AccountId}:service/*/*",
			"ReadAlarmsAndMetrics cloudwatch:DescribeAlarms,cloudwatch:GetMetricData *",
			"FindTargetGroups elasticloadbalancing:DescribeListeners,elasticloadbalancing:DescribeRules *",
		},
	}
	got := map[string][]string{}
	for id, r := range resources(f.hooksJSON, "AWS::IAM::Policy") {
		props := r["Properties"].(map[string]any)
		roles := props["Roles"].([]any)
		if len(roles) != 1 {
			t.Errorf("policy %s attached to %d roles, want 1", id, len(roles))
			continue
		}
		role := stripIDs("${" + roles[0].(map[string]any)["Ref"].(string) + "}")
		role = strings.TrimSuffix(strings.TrimPrefix(role, "${"), "}")
		if _, ok := want[role]; !ok {
			continue
		}
		for _, s := range statements(map[string]any{"Resources": map[string]any{id: r}}) {
			if s.effect != "Allow" {
				t.Errorf("%s: effect %s", s.where, s.effect)
			}
			var res []string
			for _, x := range s.resource {
				res = append(res, stripIDs(flatten(x)))
			}
			got[role] = append(got[role], fmt.Sprintf("%s %s %s", s.sid, strings.Join(s.actions, ","), strings.Join(res, ",")))
		}
	}
	for role := range want {
		if diff := cmp.Diff(want[role], got[role]); diff != "" {
			t.Errorf("%s statements (-want +got):\n%s", role, diff)
		}
	}
	// No managed policies on the function roles: everything is spelled out.
	for id, r := range resources(f.hooksJSON, "AWS::IAM::Role") {
		if mp, ok := r["Properties"].(map[string]any)["ManagedPolicyArns"]; ok {
			t.Errorf("role %s has managed policies %v", id, mp)
		}
	}
}

var logicalIDHash = regexp.MustCompile(`\$\{([A-Za-z0-9]+?)[0-9A-F]{8}(\.[A-Za-z]+)?\}`)

// stripIDs removes the CDK's hash suffixes from logical IDs in s, so tests
// name resources by their construct path.
func stripIDs(s string) string {
	return logicalIDHash.ReplaceAllString(s, "$${$1$2}")
}

// flatten renders a CloudFormation value as one string, intrinsic functions
// as ${...} placeholders: {"Ref": "X"} is ${X}, {"Fn::GetAtt": ["X", "Arn"]}
// is ${X.Arn}, {"Fn::ImportValue": "E"} is ${import:E}, and Fn::Join joins.
func flatten(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case float64:
		return fmt.Sprint(v)
	case map[string]any:
		if r, ok := v["Ref"]; ok {
			return "${" + fmt.Sprint(r) + "}"
		}
		if g, ok := v["Fn::GetAtt"].([]any); ok {
			return "${" + fmt.Sprint(g[0]) + "." + fmt.Sprint(g[1]) + "}"
		}
		if i, ok := v["Fn::ImportValue"]; ok {
			return "${import:" + fmt.Sprint(i) + "}"
		}
		if j, ok := v["Fn::Join"].([]any); ok {
			var parts []string
			for _, p := range j[1].([]any) {
				parts = append(parts, flatten(p))
			}
			return strings.Join(parts, fmt.Sprint(j[0]))
		}
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// TestFlatten keeps the helper honest.
func TestFlatten(t *testing.T) {
	v := map[string]any{"Fn::Join": []any{"", []any{"arn:", map[string]any{"Ref": "AWS::Partition"}, ":x:", map[string]any{"Fn::GetAtt": []any{"SuiteStateBucket96AC1E24", "Arn"}}}}}
	if got, want := stripIDs(flatten(v)), "arn:${AWS::Partition}:x:${SuiteStateBucket.Arn}"; got != want {
		t.Errorf("flatten = %q, want %q", got, want)
	}
}
