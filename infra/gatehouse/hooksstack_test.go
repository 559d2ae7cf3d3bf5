package gatehouse_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"github.com/gatehouse-dev/gatehouse/infra/gatehouse"
	"github.com/gatehouse-dev/gatehouse/internal/config"
)

func TestFunctions(t *testing.T) {
	f := appFixture(t)
	anyValue := assertions.Match_AnyValue()
	absent := assertions.Match_Absent()
	tests := []struct {
		prefix  string
		timeout float64
		env     map[string]any
	}{
		{"SuiteApprovalHook", 60, map[string]any{
			config.EnvStateBucket:      anyValue,
			config.EnvTopicARN:         anyValue,
			config.EnvReviewURL:        obj(map[string]any{"Fn::GetAtt": arrayWith(assertions.Match_StringLikeRegexp(jsii.String("ApprovalApiFunctionUrl")), "FunctionUrl")}),
			config.EnvSigningKeySecret: anyValue,
			config.EnvApprovers:        "alice@example.com,bob@example.com",
			// An hour below the hook's 24h ECS timeout: expiry comes first.
			config.EnvApprovalTimeout: "23h",
		}},
		{"SuiteApprovalApi", 10, map[string]any{
			config.EnvStateBucket:      anyValue,
			config.EnvSigningKeySecret: anyValue,
			config.EnvTopicARN:         absent,
		}},
		{"SuiteSmokeHook", 300, map[string]any{config.EnvStateBucket: anyValue, config.EnvSigningKeySecret: absent}},
		{"SuiteBakeHook", 60, map[string]any{config.EnvStateBucket: anyValue, config.EnvSigningKeySecret: absent}},
	}
	fns := resources(f.hooksJSON, "AWS::Lambda::Function")
	if len(fns) != len(tests) {
		t.Errorf("%d functions, want %d", len(fns), len(tests))
	}
	for _, tt := range tests {
		id := logicalID(t, f.hooksJSON, "AWS::Lambda::Function", tt.prefix)
		tmpl := assertions.Template_FromJSON(&map[string]any{"Resources": map[string]any{id: fns[id]}}, nil)
		check(t, tt.prefix, func() {
			tmpl.HasResourceProperties(jsii.String("AWS::Lambda::Function"), obj(map[string]any{
				"Runtime":       "provided.al2023",
				"Architectures": arrayEq("arm64"),
				"Handler":       "bootstrap",
				"MemorySize":    256,
				"Timeout":       tt.timeout,
				"Environment":   obj(map[string]any{"Variables": obj(tt.env)}),
				"LoggingConfig": obj(map[string]any{"LogGroup": obj(map[string]any{"Ref": assertions.Match_StringLikeRegexp(jsii.String(tt.prefix + "Logs"))})}),
				"Role":          obj(map[string]any{"Fn::GetAtt": arrayWith(assertions.Match_StringLikeRegexp(jsii.String(tt.prefix + "Role")))}),
			}))
		})
	}
	// Every log group keeps logs for a bounded time.
	check(t, "log groups", func() {
		f.hooks.AllResourcesProperties(jsii.String("AWS::Logs::LogGroup"), obj(map[string]any{"RetentionInDays": 30}))
		f.hooks.ResourceCountIs(jsii.String("AWS::Logs::LogGroup"), jsii.Number(4))
	})
}

func TestStateBucket(t *testing.T) {
	f := appFixture(t)
	check(t, "encryption, versioning, public access block, lifecycle", func() {
		f.hooks.HasResourceProperties(jsii.String("AWS::S3::Bucket"), obj(map[string]any{
			"BucketEncryption": obj(map[string]any{
				"ServerSideEncryptionConfiguration": arrayWith(obj(map[string]any{
					"ServerSideEncryptionByDefault": obj(map[string]any{"SSEAlgorithm": "AES256"}),
				})),
			}),
			"VersioningConfiguration": objEq(map[string]any{"Status": "Enabled"}),
			"PublicAccessBlockConfiguration": objEq(map[string]any{
				"BlockPublicAcls": true, "BlockPublicPolicy": true, "IgnorePublicAcls": true, "RestrictPublicBuckets": true,
			}),
			"LifecycleConfiguration": obj(map[string]any{"Rules": arrayWith(obj(map[string]any{
				"Id":                          "expire-old-records",
				"Status":                      "Enabled",
				"ExpirationInDays":            90,
				"NoncurrentVersionExpiration": obj(map[string]any{"NoncurrentDays": 30}),
			}))}),
		}))
	})
	check(t, "retained on stack deletion", func() {
		f.hooks.HasResource(jsii.String("AWS::S3::Bucket"), obj(map[string]any{"DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain"}))
	})
	check(t, "TLS-only bucket policy", func() {
		f.hooks.HasResourceProperties(jsii.String("AWS::S3::BucketPolicy"), obj(map[string]any{
			"PolicyDocument": obj(map[string]any{"Statement": arrayWith(obj(map[string]any{
				"Effect":    "Deny",
				"Action":    "s3:*",
				"Principal": objEq(map[string]any{"AWS": "*"}),
				"Condition": objEq(map[string]any{"Bool": objEq(map[string]any{"aws:SecureTransport": "false"})}),
			}))}),
		}))
	})
	// A bucket policy that allowed plain HTTP would fail the check above.
	mustFail(t, "TLS check is not vacuous", func() {
		f.hooks.HasResourceProperties(jsii.String("AWS::S3::BucketPolicy"), obj(map[string]any{
			"PolicyDocument": obj(map[string]any{"Statement": arrayWith(obj(map[string]any{
				"Effect": "Allow", "Principal": objEq(map[string]any{"AWS": "*"}),
			}))}),
		}))
	})
}

func TestReviewTopicAndSubscriptions(t *testing.T) {
	f := appFixture(t)
	check(t, "encrypted topic", func() {
		f.hooks.HasResourceProperties(jsii.String("AWS::SNS::Topic"), obj(map[string]any{
			"KmsMasterKeyId": obj(map[string]any{"Fn::Join": assertions.Match_AnyValue()}),
		}))
	})
	check(t, "publishing over TLS only", func() {
		f.hooks.HasResourceProperties(jsii.String("AWS::SNS::TopicPolicy"), obj(map[string]any{
			"PolicyDocument": obj(map[string]any{"Statement": arrayWith(obj(map[string]any{
				"Effect": "Deny", "Condition": objEq(map[string]any{"Bool": objEq(map[string]any{"aws:SecureTransport": "false"})}),
			}))}),
		}))
	})
	check(t, "one subscription per approver", func() {
		f.hooks.ResourceCountIs(jsii.String("AWS::SNS::Subscription"), jsii.Number(float64(len(approvers))))
	})
	for _, a := range approvers {
		check(t, "subscription of "+a, func() {
			f.hooks.HasResourceProperties(jsii.String("AWS::SNS::Subscription"), objEq(map[string]any{
				"Protocol":     "email",
				"Endpoint":     a,
				"TopicArn":     assertions.Match_AnyValue(),
				"FilterPolicy": objEq(map[string]any{gatehouse.ApproverAttribute: arrayEq(a)}),
			}))
		})
	}
	// The topic uses the AWS managed key for SNS.
	topics := resources(f.hooksJSON, "AWS::SNS::Topic")
	for id, r := range topics {
		key := r["Properties"].(map[string]any)["KmsMasterKeyId"]
		if s := flatten(key); s != "arn:${AWS::Partition}:kms:${AWS::Region}:${AWS::AccountId}:alias/aws/sns" {
			t.Errorf("topic %s KmsMasterKeyId = %s, want the aws/sns alias", id, s)
		}
	}
}

func TestSigningSecret(t *testing.T) {
	f := appFixture(t)
	check(t, "generated 64-character key under \"key\"", func() {
		f.hooks.HasResourceProperties(jsii.String("AWS::SecretsManager::Secret"), obj(map[string]any{
			"GenerateSecretString": objEq(map[string]any{
				"SecretStringTemplate": "{}",
				"GenerateStringKey":    "key",
				"PasswordLength":       64,
				"ExcludePunctuation":   true,
				"IncludeSpace":         false,
			}),
		}))
	})
}

func TestReviewAPIFunctionURL(t *testing.T) {
	f := appFixture(t)
	api := logicalID(t, f.hooksJSON, "AWS::Lambda::Function", "SuiteApprovalApi")
	check(t, "Function URL", func() {
		f.hooks.HasResourceProperties(jsii.String("AWS::Lambda::Url"), objEq(map[string]any{
			"AuthType":          "NONE",
			"InvokeMode":        "BUFFERED",
			"TargetFunctionArn": objEq(map[string]any{"Fn::GetAtt": arrayEq(api, "Arn")}),
		}))
		f.hooks.ResourceCountIs(jsii.String("AWS::Lambda::Url"), jsii.Number(1))
	})
	// Lambda keeps 100 executions of an account unreserved: a default
	// deployment reserves none, so it works in accounts with a quota of 10.
	check(t, "a default synth reserves no concurrency", func() {
		f.hooks.ResourcePropertiesCountIs(jsii.String("AWS::Lambda::Function"), obj(map[string]any{
			"ReservedConcurrentExecutions": assertions.Match_AnyValue(),
		}), jsii.Number(0))
	})
	mustFail(t, "an IAM-authenticated URL is not what we deploy", func() {
		f.hooks.HasResourceProperties(jsii.String("AWS::Lambda::Url"), obj(map[string]any{"AuthType": "AWS_IAM"}))
	})
}

func TestHookInvokeRole(t *testing.T) {
	f := appFixture(t)
	role := logicalID(t, f.hooksJSON, "AWS::IAM::Role", "SuiteHookInvokeRole")
	check(t, "trusted by ECS only", func() {
		f.hooks.HasResourceProperties(jsii.String("AWS::IAM::Role"), obj(map[string]any{
			"AssumeRolePolicyDocument": obj(map[string]any{"Statement": arrayEq(objEq(map[string]any{
				"Action":    "sts:AssumeRole",
				"Effect":    "Allow",
				"Principal": objEq(map[string]any{"Service": "ecs.amazonaws.com"}),
			}))}),
			"Description": "Lets Amazon ECS invoke the gatehouse lifecycle hooks",
		}))
	})
	arn := func(prefix string) any {
		return objEq(map[string]any{"Fn::GetAtt": arrayEq(logicalID(t, f.hooksJSON, "AWS::Lambda::Function", prefix), "Arn")})
	}
	check(t, "invokes exactly the three hooks", func() {
		f.hooks.HasResourceProperties(jsii.String("AWS::IAM::Policy"), obj(map[string]any{
			"Roles": arrayEq(objEq(map[string]any{"Ref": role})),
			"PolicyDocument": obj(map[string]any{"Statement": arrayEq(objEq(map[string]any{
				"Sid":      "InvokeHooks",
				"Effect":   "Allow",
				"Action":   "lambda:InvokeFunction",
				"Resource": arrayEq(arn("SuiteApprovalHook"), arn("SuiteSmokeHook"), arn("SuiteBakeHook")),
			}))}),
		}))
	})
}

func TestAlarms(t *testing.T) {
	f := appFixture(t)
	check(t, "errors and throttles of every function", func() {
		f.hooks.ResourceCountIs(jsii.String("AWS::CloudWatch::Alarm"), jsii.Number(8))
	})
	for _, prefix := range []string{"SuiteApprovalHook", "SuiteApprovalApi", "SuiteSmokeHook", "SuiteBakeHook"} {
		fn := logicalID(t, f.hooksJSON, "AWS::Lambda::Function", prefix)
		for _, metric := range []string{"Errors", "Throttles"} {
			check(t, prefix+" "+metric, func() {
				f.hooks.HasResourceProperties(jsii.String("AWS::CloudWatch::Alarm"), obj(map[string]any{
					"MetricName":         metric,
					"Namespace":          "AWS/Lambda",
					"Dimensions":         arrayEq(objEq(map[string]any{"Name": "FunctionName", "Value": objEq(map[string]any{"Ref": fn})})),
					"Threshold":          1,
					"ComparisonOperator": "GreaterThanOrEqualToThreshold",
					"TreatMissingData":   "notBreaching",
				}))
			})
		}
	}
}

func TestHooksStackOutputs(t *testing.T) {
	f := appFixture(t)
	for _, name := range []string{"ApprovalHookArn", "SmokeHookArn", "BakeHookArn", "ApprovalApiArn", "HookInvokeRoleArn", "ReviewUrl", "LifecycleHooksJson", "LifecycleHooksNote", "StateBucketName", "ReviewTopicArn"} {
		check(t, "output "+name, func() { f.hooks.HasOutput(jsii.String(name), assertions.Match_AnyValue()) })
	}
	// Without -c smokeConfig and -c bakeConfig the smoke and bake hooks
	// have no checks and would fail every deployment: the lifecycleHooks
	// JSON holds the approval hook alone, and a note says how to add them.
	outputs := f.hooksJSON["Outputs"].(map[string]any)
	out := outputs["LifecycleHooksJson"].(map[string]any)["Value"]
	want := `[{"hookTargetArn":"${SuiteApprovalHook.Arn}","roleArn":"${SuiteHookInvokeRole.Arn}","lifecycleStages":["POST_TEST_TRAFFIC_SHIFT"],"timeoutConfiguration":{"timeoutInMinutes":1440,"action":"ROLLBACK"}}]`
	if got := stripIDs(flatten(out)); got != want {
		t.Errorf("LifecycleHooksJson =\n%s\nwant\n%s", got, want)
	}
	if desc := outputs["LifecycleHooksJson"].(map[string]any)["Description"].(string); !strings.Contains(desc, "LifecycleHooksNote") || strings.Contains(desc, "smoke") {
		t.Errorf("LifecycleHooksJson description = %q, want approval only and a pointer to the note", desc)
	}
	note := outputs["LifecycleHooksNote"].(map[string]any)["Value"].(string)
	for _, w := range []string{"smoke-hook", "bake-hook", "smokeConfig", "bakeConfig", `"checks"`, `"metrics"`, "hookDetails", "FAILED"} {
		if !strings.Contains(note, w) {
			t.Errorf("LifecycleHooksNote %q does not mention %s", note, w)
		}
	}
}

// TestHooksStackOutputsWithDefaults: a smoke or bake hook whose suite
// defaults give checks needs no hookDetails, and joins the lifecycleHooks
// JSON; an incomplete default (bake settings without a check) keeps it out.
func TestHooksStackOutputsWithDefaults(t *testing.T) {
	tests := []struct {
		name        string
		smoke, bake string
		want        []string
		note        bool
	}{
		{"both", `{"checks": [{"name": "home", "path": "/"}]}`, `{"alarms": {"prefixes": ["orders-"]}}`,
			[]string{"SuiteSmokeHook", "SuiteApprovalHook", "SuiteBakeHook"}, false},
		{"smoke only", `{"checks": [{"name": "home", "path": "/"}]}`, `{"window": "15m"}`,
			[]string{"SuiteSmokeHook", "SuiteApprovalHook"}, true},
		{"bake only", `{"retries": 5}`, `{"metrics": [{"kind": "targetGroup5xxRate", "max": 0.01}]}`,
			[]string{"SuiteApprovalHook", "SuiteBakeHook"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := gatehouse.Build(newApp(), gatehouse.Options{
				AssetDir: assetRoot, Approvers: approvers, RecordExpirationDays: 90, BakeTimeMinutes: 10,
				SmokeConfig: tt.smoke, BakeConfig: tt.bake,
			})
			if err != nil {
				t.Fatal(err)
			}
			outputs := (*assertions.Template_FromStack(s.Hooks, nil).ToJSON())["Outputs"].(map[string]any)
			var hooks []gatehouse.CLIHook
			if err := json.Unmarshal([]byte(stripIDs(flatten(outputs["LifecycleHooksJson"].(map[string]any)["Value"]))), &hooks); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, h := range hooks {
				got = append(got, strings.TrimSuffix(strings.TrimPrefix(h.HookTargetArn, "${"), ".Arn}"))
			}
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("LifecycleHooksJson hooks = %v, want %v", got, tt.want)
			}
			if _, ok := outputs["LifecycleHooksNote"]; ok != tt.note {
				t.Errorf("LifecycleHooksNote present = %v, want %v", ok, tt.note)
			}
		})
	}
}
