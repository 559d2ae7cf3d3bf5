package gatehouse

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsssm"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/gatehouse-dev/gatehouse/internal/hook"
)

// SuiteDescription is what another CDK app needs to attach a deployed
// suite's hooks and check their Details as the suite's functions will: its
// ARNs, its approval mode and stage, and the settings its functions run
// with (defaults and policy). The GatehouseHooks stack publishes it as the
// SSM parameter SuiteParameterName (and the SuiteParameter output names
// it); FromSuite reads it, and LookupSuite looks it up.
type SuiteDescription struct {
	// Format is SuiteDescriptionFormat; a reader refuses any other.
	Format int `json:"format"`
	// ARNs are the suite's functions and invoke role.
	ARNs ARNs `json:"arns"`
	// ApprovalMode and ApprovalStage are the suite's.
	ApprovalMode  ApprovalMode `json:"approvalMode"`
	ApprovalStage Stage        `json:"approvalStage"`
	// Settings are the suite's settings that become its functions'
	// environment.
	Settings SuiteSettings `json:"settings"`
}

// SuiteSettings are the SuiteProps that become the functions' environment.
type SuiteSettings struct {
	Approvers         []string `json:"approvers,omitempty"`
	RequiredApprovals int      `json:"requiredApprovals,omitempty"`
	ApprovalTimeout   string   `json:"approvalTimeout,omitempty"`
	Freezes           string   `json:"freezes,omitempty"`
	ChangeWindows     string   `json:"changeWindows,omitempty"`
	SmokeConfig       string   `json:"smokeConfig,omitempty"`
	BakeConfig        string   `json:"bakeConfig,omitempty"`
	Policy            string   `json:"policy,omitempty"`
}

// SuiteDescriptionFormat is the format of SuiteDescription this code writes
// and reads.
const SuiteDescriptionFormat = 1

// SuiteParameterName is the SSM parameter a GatehouseHooks stack named
// stackName publishes its SuiteDescription under.
func SuiteParameterName(stackName string) string {
	return "/gatehouse/" + stackName + "/suite"
}

// settings returns p's settings as a description holds them.
func (p SuiteProps) settings() SuiteSettings {
	return SuiteSettings{Approvers: p.Approvers, RequiredApprovals: p.RequiredApprovals, ApprovalTimeout: p.ApprovalTimeout,
		Freezes: p.Freezes, ChangeWindows: p.ChangeWindows, SmokeConfig: p.SmokeConfig, BakeConfig: p.BakeConfig, Policy: p.Policy}
}

// Description returns the suite's SuiteDescription as JSON text: a CDK
// token, since the ARNs are resolved at deployment.
func (s *Suite) Description() *string {
	// jsii takes plain values: the settings as the JSON they are.
	var settings map[string]any
	b, _ := json.Marshal(s.settings)
	_ = json.Unmarshal(b, &settings)
	d := map[string]any{
		"format": SuiteDescriptionFormat,
		"arns": map[string]any{
			"ApprovalHook": s.ApprovalHook.FunctionArn(), "SmokeHook": s.SmokeHook.FunctionArn(),
			"BakeHook": s.BakeHook.FunctionArn(), "InvokeRole": s.InvokeRole.RoleArn(),
		},
		"approvalMode": string(s.mode), "approvalStage": string(s.stage), "settings": settings,
	}
	return awscdk.Stack_Of(s.Construct).ToJsonString(d, nil)
}

// FromSuite refers to a deployed suite from another app, as FromARNs does,
// with what the suite published of itself (SuiteDescription, as JSON: the
// value of its SSM parameter): the targets carry the suite's approval mode
// and stage, and Attach checks each hook's Details merged with the suite's
// defaults and against its policy, as its functions will, and warns of an
// approver the review topic has no subscription for. Like the CDK's own
// constructs, FromSuite panics on invalid input.
func FromSuite(scope constructs.Construct, id string, description string) Targets {
	t, err := fromSuite(scope, id, description)
	if err != nil {
		panic(fmt.Sprintf("gatehouse.FromSuite(%s): %s", id, hook.OneLine(err.Error())))
	}
	return t
}

func fromSuite(scope constructs.Construct, id string, description string) (Targets, error) {
	var d SuiteDescription
	dec := json.NewDecoder(strings.NewReader(description))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d); err != nil {
		return Targets{}, fmt.Errorf("the suite's description is not a SuiteDescription (the GatehouseHooks stack's SSM parameter, SuiteParameter output): %w", err)
	}
	if d.Format != SuiteDescriptionFormat {
		return Targets{}, fmt.Errorf("the suite's description has format %d; this code reads format %d: use the gatehouse version the suite was deployed with", d.Format, SuiteDescriptionFormat)
	}
	mode, err := ParseApprovalMode(string(d.ApprovalMode))
	if err != nil {
		return Targets{}, fmt.Errorf("approvalMode: %w", err)
	}
	if d.ApprovalStage == "" {
		d.ApprovalStage = StagePostTestTrafficShift
	}
	if err := CheckApprovalStage(mode, d.ApprovalStage); err != nil {
		return Targets{}, fmt.Errorf("approvalStage: %w", err)
	}
	if err := d.ARNs.check(awscdk.Stack_Of(scope)); err != nil {
		return Targets{}, err
	}
	st := d.Settings
	p := SuiteProps{Approvers: st.Approvers, RequiredApprovals: st.RequiredApprovals, ApprovalTimeout: st.ApprovalTimeout, Freezes: st.Freezes,
		ChangeWindows: st.ChangeWindows, SmokeConfig: st.SmokeConfig, BakeConfig: st.BakeConfig, Policy: st.Policy, ApprovalMode: mode}
	defs, err := p.checkSettings(descriptionNames)
	if err != nil {
		return Targets{}, err
	}
	t := FromARNs(scope, id, d.ARNs)
	t.ApprovalMode, t.ApprovalStage, t.suite = mode, d.ApprovalStage, defs
	return t, nil
}

// descriptionNames name a described suite's settings in errors.
var descriptionNames = settingNames{
	approvers: "the suite's approvers",
	approval:  "the suite's approval settings",
	timeout:   "the suite's approvalTimeout",
	smoke:     "the suite's smokeConfig or policy",
	bake:      "the suite's bakeConfig or policy",
	rename:    renamer(func(ctx, _ string) string { return "the suite's " + ctx }),
}

// LookupSuite is FromSuite with the description looked up, at synthesis,
// from the SSM parameter a deployed GatehouseHooks stack publishes
// (SuiteParameterName; its SuiteParameter output), in the stack's own
// account and region (the stack needs an explicit env). The CDK caches the
// value in cdk.context.json: commit that file, and `cdk context --reset`
// it after redeploying the suite with other settings. Until the lookup is
// answered, the CDK synthesizes once with a placeholder, for which the
// targets check each key as FromARNs does.
func LookupSuite(scope constructs.Construct, id, parameterName string) Targets {
	value := *awsssm.StringParameter_ValueFromLookup(scope, jsii.String(parameterName), nil, nil)
	if strings.HasPrefix(value, "dummy-value-for-") {
		stack := awscdk.Stack_Of(scope)
		prefix := fmt.Sprintf("arn:%s:lambda:%s:%s:function:gatehouse-lookup-pending-", *stack.Partition(), *stack.Region(), *stack.Account())
		return FromARNs(scope, id, ARNs{ApprovalHook: prefix + "approval", SmokeHook: prefix + "smoke", BakeHook: prefix + "bake",
			InvokeRole: fmt.Sprintf("arn:%s:iam::%s:role/gatehouse-lookup-pending", *stack.Partition(), *stack.Account())})
	}
	return FromSuite(scope, id, value)
}
