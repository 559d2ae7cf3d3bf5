package gatehouse_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/gatehouse-dev/gatehouse/infra/gatehouse"
)

// awsSolutions matches cdk-nag's AwsSolutions findings. A function, not a
// variable: a jsii call at package initialisation would start the runtime
// before TestMain sets its environment.
func awsSolutions() assertions.Matcher {
	return assertions.Match_StringLikeRegexp(jsii.String("AwsSolutions-.*"))
}

// TestNagAwsSolutions: cdk-nag's AwsSolutions pack finds no unsuppressed
// error in either stack (Build applies it to the whole app).
func TestNagAwsSolutions(t *testing.T) {
	f := appFixture(t)
	for name, notes := range map[string]assertions.Annotations{"GatehouseHooks": f.hooksNotes, "GatehouseDemoService": f.demoNotes} {
		for _, m := range *notes.FindError(jsii.String("*"), awsSolutions()) {
			t.Errorf("%s: %s", name, describe(m))
		}
		for _, m := range *notes.FindWarning(jsii.String("*"), awsSolutions()) {
			t.Errorf("%s: warning %s", name, describe(m))
		}
	}
}

// TestNagSuppressionsHaveReasons: every suppression names its rule, gives a
// reason, and IAM5 wildcards are suppressed finding by finding.
func TestNagSuppressionsHaveReasons(t *testing.T) {
	f := appFixture(t)
	total := 0
	for name, tmpl := range map[string]map[string]any{"hooks": f.hooksJSON, "demo": f.demoJSON} {
		if md, ok := tmpl["Metadata"].(map[string]any); ok && md["cdk_nag"] != nil {
			t.Errorf("%s: stack-wide suppressions %v: suppress on the resource instead", name, md["cdk_nag"])
		}
		for id, r := range tmpl["Resources"].(map[string]any) {
			md, _ := r.(map[string]any)["Metadata"].(map[string]any)
			nag, _ := md["cdk_nag"].(map[string]any)
			rules, _ := nag["rules_to_suppress"].([]any)
			for _, rule := range rules {
				rule := rule.(map[string]any)
				total++
				reason := fmt.Sprint(rule["reason"])
				if !strings.HasPrefix(fmt.Sprint(rule["id"]), "AwsSolutions-") {
					t.Errorf("%s %s: suppression %v is not an AwsSolutions rule", name, id, rule["id"])
				}
				if len(reason) < 40 {
					t.Errorf("%s %s: suppression of %v has a thin reason %q", name, id, rule["id"], reason)
				}
				if rule["id"] == "AwsSolutions-IAM5" && rule["applies_to"] == nil {
					t.Errorf("%s %s: IAM5 suppressed for every finding, want applies_to", name, id)
				}
			}
		}
	}
	if total == 0 {
		t.Error("no suppressions found; the metadata layout changed?")
	}
}

// TestNagCatchesFindings proves the check above can fail: an unsuppressed
// finding surfaces as an error annotation.
func TestNagCatchesFindings(t *testing.T) {
	app := newApp()
	stack := awscdk.NewStack(app, jsii.String("NagProbe"), nil)
	awss3.NewBucket(stack, jsii.String("Plain"), &awss3.BucketProps{})
	awscdk.Aspects_Of(app).Add(cdknag.NewAwsSolutionsChecks(nil), nil)
	errs := *assertions.Annotations_FromStack(stack).FindError(jsii.String("*"), assertions.Match_StringLikeRegexp(jsii.String("AwsSolutions-S10")))
	if len(errs) == 0 {
		t.Error("a bucket without TLS enforcement raised no AwsSolutions-S10 error")
	}
}

// describe prints a synthesis message (its fields' declarations are marked
// deprecated in favour of another package, so print it whole).
func describe(m any) string {
	b, err := json.Marshal(m)
	if err != nil {
		return fmt.Sprint(m)
	}
	return string(b)
}

// build is gatehouse.Build as the app runs it: with cdk-nag's AwsSolutions
// checks when o.Nag (infra/main.go adds them).
func build(app awscdk.App, o gatehouse.Options) (*gatehouse.Stacks, error) {
	s, err := gatehouse.Build(app, o)
	if err == nil && o.Nag {
		awscdk.Aspects_Of(app).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)
	}
	return s, err
}
