package cfnspec

import (
	"os"
	"strings"
	"sync"
	"testing"
)

// load reads the pinned spec from the repository's node_modules.
var load = sync.OnceValues(func() (*Spec, error) {
	wd, err := os.Getwd()
	if err != nil {
		return nil, err
	}
	return Find(wd)
})

func spec(t *testing.T) *Spec {
	t.Helper()
	s, err := load()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

const good = `{"Resources": {
  "Fn": {"Type": "AWS::Lambda::Function", "Properties": {
    "Role": {"Fn::GetAtt": ["Role", "Arn"]},
    "Code": {"S3Bucket": "b", "S3Key": "k"},
    "Runtime": "provided.al2023", "Handler": "bootstrap", "MemorySize": 256, "Timeout": "10",
    "Architectures": ["arm64"],
    "Environment": {"Variables": {"A": "1", "B": {"Ref": "X"}}},
    "Tags": [{"Key": "k", "Value": "v"}]
  }, "DependsOn": ["Role"]},
  "Role": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": []}}},
  "Svc": {"Type": "AWS::ECS::Service", "Properties": {"DeploymentConfiguration": {
    "Strategy": "BLUE_GREEN", "BakeTimeInMinutes": 10,
    "LifecycleHooks": [{"HookTargetArn": "arn", "RoleArn": "arn", "LifecycleStages": ["POST_TEST_TRAFFIC_SHIFT", "PRE_PRODUCTION_TRAFFIC_SHIFT"],
      "HookDetails": "{\"timeout\":\"4h\"}", "TimeoutConfiguration": {"TimeoutInMinutes": 20160, "Action": "ROLLBACK"}}]
  }}},
  "Meta": {"Type": "AWS::CDK::Metadata", "Properties": {"Analytics": "v2:..."}},
  "Custom": {"Type": "Custom::Thing", "Properties": {"ServiceToken": "arn", "Anything": [1, 2]}}
}}`

func TestCheckAcceptsAValidTemplate(t *testing.T) {
	if got := spec(t).Check([]byte(good)); len(got) != 0 {
		t.Errorf("Check(good) = %q, want no problems", got)
	}
}

// TestCheckFindsWhatCloudFormationRejects: each planted fault is found, at
// its path, for a reason.
func TestCheckFindsWhatCloudFormationRejects(t *testing.T) {
	tests := []struct {
		name, from, to string
		want           []string
	}{
		{"unknown property", `"MemorySize": 256`, `"MemorySize": 256, "Memory": 256`, []string{"Resources.Fn.Properties.Memory", "has no property Memory"}},
		{"unknown nested property", `"TimeoutInMinutes": 20160`, `"TimeoutMinutes": 20160`, []string{"LifecycleHooks[0].TimeoutConfiguration.TimeoutMinutes", "HookTimeoutConfig has no property TimeoutMinutes"}},
		{"wrong type", `"MemorySize": 256`, `"MemorySize": [256]`, []string{"Resources.Fn.Properties.MemorySize", "want an integer, got a list"}},
		{"not an integer", `"MemorySize": 256`, `"MemorySize": 256.5`, []string{"MemorySize", "want an integer, got 256.5"}},
		{"not a number", `"Timeout": "10"`, `"Timeout": "ten"`, []string{"Timeout", "want an integer, got a string"}},
		{"missing required property", `"Role": {"Fn::GetAtt": ["Role", "Arn"]},`, ``, []string{"Resources.Fn.Properties.Role", "required by AWS::Lambda::Function"}},
		{"missing required nested property", `"LifecycleStages": ["POST_TEST_TRAFFIC_SHIFT", "PRE_PRODUCTION_TRAFFIC_SHIFT"],`, ``, []string{"LifecycleHooks[0].LifecycleStages", "required by DeploymentLifecycleHook"}},
		{"value not allowed", `"Action": "ROLLBACK"`, `"Action": "WAIT"`, []string{"TimeoutConfiguration.Action", `"WAIT" is not one of ROLLBACK, CONTINUE`}},
		{"element not allowed", `"PRE_PRODUCTION_TRAFFIC_SHIFT"]`, `"BAKE_TIME"]`, []string{"LifecycleStages[1]", `"BAKE_TIME" is not one of`}},
		{"unknown resource type", `"AWS::IAM::Role"`, `"AWS::IAM::Rol"`, []string{"Resources.Role.Type", "AWS::IAM::Rol is not a CloudFormation resource type"}},
		{"unknown resource attribute", `"DependsOn": ["Role"]`, `"DependOn": ["Role"]`, []string{"Resources.Fn.DependOn", "not a resource attribute"}},
		{"a tag without a value", `{"Key": "k", "Value": "v"}`, `{"Key": "k"}`, []string{"Tags[0].Value", "required by Tag"}},
		{"an object where a list goes", `"Architectures": ["arm64"]`, `"Architectures": {"a": "arm64"}`, []string{"Architectures", "want a list, got an object"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !strings.Contains(good, tt.from) {
				t.Fatalf("the template has no %s", tt.from)
			}
			got := strings.Join(spec(t).Check([]byte(strings.Replace(good, tt.from, tt.to, 1))), "\n")
			if got == "" {
				t.Fatal("Check found nothing")
			}
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("Check = %q, want it to mention %q", got, w)
				}
			}
		})
	}
}

func TestCheckRefusesWhatIsNoTemplate(t *testing.T) {
	if got := spec(t).Check([]byte(`{"Resources": [`)); len(got) != 1 || !strings.HasPrefix(got[0], "template:") {
		t.Errorf("Check(broken JSON) = %q", got)
	}
}
