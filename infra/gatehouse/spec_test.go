package gatehouse_test

import (
	"encoding/json"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsecs"
	"github.com/aws/jsii-runtime-go"

	"github.com/gatehouse-dev/gatehouse/infra/cfnspec"
	"github.com/gatehouse-dev/gatehouse/infra/gatehouse"
)

var loadSpec = sync.OnceValues(func() (*cfnspec.Spec, error) {
	wd, err := os.Getwd()
	if err != nil {
		return nil, err
	}
	return cfnspec.Find(wd)
})

// checkSpec fails the test with every problem CloudFormation would reject
// in the template.
func checkSpec(t *testing.T, name string, tmpl map[string]any) []string {
	t.Helper()
	spec, err := loadSpec()
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(tmpl)
	if err != nil {
		t.Fatal(err)
	}
	return spec.Check(b)
}

// TestTemplatesPassTheCloudFormationSpec: what the app synthesizes (the
// suite and the demo service, and a suite with every opt-in attached with
// the longest hook timeout) has no property CloudFormation would reject.
func TestTemplatesPassTheCloudFormationSpec(t *testing.T) {
	f := appFixture(t)
	stack, suite, svc := suiteAndService(gatehouse.SuiteProps{
		Approvers:              []string{"alice@example.com"},
		APIReservedConcurrency: 5,
		ReviewURL:              "https://deploy.example.com/gatehouse",
		Policy:                 `{"approval": {"loosen": {"timeout": {"max": "335h"}}}}`,
		ApprovalMode:           gatehouse.ApprovalModePause,
	})
	gatehouse.Attach(svc, &gatehouse.AttachProps{Role: suite.InvokeRole, Hooks: []gatehouse.Hook{
		suite.Targets().Approval(gatehouse.HookOptions{
			Details: map[string]any{"timeout": "335h"}, Timeout: gatehouse.MaxPauseHookTimeout, OnTimeout: gatehouse.TimeoutRollback,
			Stages: []gatehouse.Stage{gatehouse.StagePreProductionTrafficShift},
		}),
	}})
	for name, tmpl := range map[string]map[string]any{
		"GatehouseHooks":          f.hooksJSON,
		"GatehouseDemoService":    f.demoJSON,
		"suite with every opt-in": *assertions.Template_FromStack(stack, nil).ToJSON(),
	} {
		if problems := checkSpec(t, name, tmpl); len(problems) > 0 {
			t.Errorf("%s: CloudFormation would reject:\n%s", name, strings.Join(problems, "\n"))
		}
	}
}

// TestSpecCheckCatchesAPlantedProperty: a property CloudFormation rejects,
// set the way the constructs set what the L2 lacks, fails here.
func TestSpecCheckCatchesAPlantedProperty(t *testing.T) {
	stack, suite, svc := suiteAndService(gatehouse.SuiteProps{Approvers: []string{"alice@example.com"}})
	gatehouse.Attach(svc, &gatehouse.AttachProps{Role: suite.InvokeRole, Hooks: []gatehouse.Hook{
		suite.Targets().Approval(gatehouse.HookOptions{Details: map[string]any{"timeout": "1h"}, Timeout: 2 * time.Hour}),
	}})
	cfn := svc.Node().DefaultChild().(awsecs.CfnService)
	cfn.AddPropertyOverride(jsii.String("DeploymentConfiguration.LifecycleHooks.0.TimeoutConfiguration.TimeoutInMinute"), jsii.Number(5))
	cfn.AddPropertyOverride(jsii.String("DeploymentConfiguration.Strategy"), jsii.String("BLUEGREEN"))
	awscdk.Tags_Of(stack).Add(jsii.String("team"), jsii.String("platform"), nil)
	got := strings.Join(checkSpec(t, "planted", *assertions.Template_FromStack(stack, nil).ToJSON()), "\n")
	for _, want := range []string{
		"TimeoutConfiguration.TimeoutInMinute: HookTimeoutConfig has no property TimeoutInMinute",
		`DeploymentConfiguration.Strategy: "BLUEGREEN" is not one of`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("spec check found:\n%s\nwant it to find %q", got, want)
		}
	}
}
