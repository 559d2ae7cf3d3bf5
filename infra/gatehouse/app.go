package gatehouse

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	"github.com/gatehouse-dev/gatehouse/internal/approval"
	"github.com/gatehouse-dev/gatehouse/internal/config"
	"github.com/gatehouse-dev/gatehouse/internal/hook"
	"github.com/gatehouse-dev/gatehouse/internal/rollout"
)

// Context keys the app reads (`-c key=value` or cdk.json "context").
const (
	CtxAssetDir               = "assetDir"
	CtxApprovers              = "approvers"
	CtxRequiredApprovals      = "requiredApprovals"
	CtxApprovalTimeout        = "approvalTimeout"
	CtxFreezes                = "freezes"
	CtxChangeWindows          = "changeWindows"
	CtxRecordExpirationDays   = "recordExpirationDays"
	CtxAPIReservedConcurrency = "apiReservedConcurrency"
	CtxReviewURL              = "reviewUrl"
	CtxSlackSecretARN         = "slackSecretArn"
	CtxAlarmTopicARN          = "alarmTopicArn"
	CtxSmokeConfig            = "smokeConfig"
	CtxBakeConfig             = "bakeConfig"
	CtxPolicy                 = "policy"
	CtxSubscriptionAdmins     = "subscriptionAdmins"
	CtxApprovalMode           = "approvalMode"
	CtxApprovalStage          = "approvalStage"
	CtxApprovalSteps          = "approvalSteps"
	CtxDemo                   = "demo"
	CtxTestListenerCIDR       = "testListenerCidr"
	CtxDemoImage              = "demoImage"
	CtxBakeTimeMinutes        = "bakeTimeMinutes"
	CtxStrategy               = "strategy"
	CtxStepPercent            = "stepPercent"
	CtxStepBakeMinutes        = "stepBakeTimeInMinutes"
	CtxCanaryPercent          = "canaryPercent"
	CtxCanaryBakeMinutes      = "canaryBakeTimeInMinutes"
	CtxNag                    = "nag"
	CtxSmokeVPCID             = "smokeVpcId"
	CtxSmokeSubnetIDs         = "smokeSubnetIds"
	CtxSmokeSecurityGroupIDs  = "smokeSecurityGroupIds"
)

// ContextKeys are the context keys the app reads.
var ContextKeys = []string{CtxAssetDir, CtxApprovers, CtxRequiredApprovals, CtxApprovalTimeout, CtxFreezes, CtxChangeWindows,
	CtxRecordExpirationDays, CtxAPIReservedConcurrency, CtxReviewURL, CtxSlackSecretARN, CtxAlarmTopicARN, CtxSmokeConfig, CtxBakeConfig, CtxPolicy,
	CtxSubscriptionAdmins, CtxApprovalMode, CtxApprovalStage, CtxApprovalSteps, CtxDemo, CtxTestListenerCIDR, CtxDemoImage, CtxBakeTimeMinutes, CtxStrategy,
	CtxStepPercent, CtxStepBakeMinutes, CtxCanaryPercent, CtxCanaryBakeMinutes, CtxNag, CtxSmokeVPCID, CtxSmokeSubnetIDs, CtxSmokeSecurityGroupIDs}

// cdkContextKeys are context keys of the CDK's own without a ":", "@" or
// "/" in them (those are the CDK's too).
var cdkContextKeys = []string{"cli-telemetry", "acknowledged-issue-numbers"}

// EnvAssetDir overrides the asset directory when the context does not set it.
const EnvAssetDir = "GATEHOUSE_ASSET_DIR"

// DefaultAssetDir is where `make build` writes the functions, relative to
// the repository root, where cdk.json runs the app.
const DefaultAssetDir = "build"

// Options are the app's settings.
type Options struct {
	AssetDir               string
	Approvers              []string
	RequiredApprovals      int
	ApprovalTimeout        string
	Freezes                string
	ChangeWindows          string
	RecordExpirationDays   int
	APIReservedConcurrency int
	ReviewURL              string
	// SlackSecretARN asks approvers in Slack too (context slackSecretArn).
	SlackSecretARN     string
	AlarmTopicARN      string
	SmokeConfig        string
	BakeConfig         string
	Policy             string
	SubscriptionAdmins []string
	// ApprovalMode is lambda (the default) or pause (context approvalMode).
	ApprovalMode ApprovalMode
	// ApprovalStage is where the standard approval hook holds deployments
	// (context approvalStage; default POST_TEST_TRAFFIC_SHIFT).
	ApprovalStage Stage
	// ApprovalSteps is first or each (context approvalSteps; default
	// first): SuiteProps.ApprovalSteps.
	ApprovalSteps    string
	Demo             bool
	TestListenerCIDR string
	DemoImage        string
	BakeTimeMinutes  int
	// Strategy is the demo service's deployment strategy (context
	// strategy=blue-green|linear|canary, stepPercent,
	// stepBakeTimeInMinutes, canaryPercent, canaryBakeTimeInMinutes).
	Strategy rollout.Strategy
	// SmokeVPCID, SmokeSubnetIDs and SmokeSecurityGroupIDs place the smoke
	// hook in a VPC, to test through an internal load balancer.
	SmokeVPCID            string
	SmokeSubnetIDs        []string
	SmokeSecurityGroupIDs []string
	// Nag applies cdk-nag's AwsSolutions checks to every stack (default on):
	// an unsuppressed finding is an error and fails the synthesis. The app
	// (infra/main.go) applies them; Build does not, so that the constructs
	// do not depend on cdk-nag.
	Nag bool
}

// OptionsFromContext reads Options from the app's context, reporting every
// bad value at once. getenv supplies GATEHOUSE_ASSET_DIR.
func OptionsFromContext(app awscdk.App, getenv func(string) string) (Options, error) {
	c := &contextReader{app: app}
	str, jsonText, float, num, boolean := c.str, c.jsonText, c.float, c.num, c.boolean
	c.checkKeys()
	o := Options{
		AssetDir:               str(CtxAssetDir),
		RequiredApprovals:      num(CtxRequiredApprovals, 0),
		ApprovalTimeout:        str(CtxApprovalTimeout),
		Freezes:                jsonText(CtxFreezes),
		ChangeWindows:          jsonText(CtxChangeWindows),
		RecordExpirationDays:   num(CtxRecordExpirationDays, int(DefaultRecordExpiration/(24*time.Hour))),
		APIReservedConcurrency: num(CtxAPIReservedConcurrency, 0),
		ReviewURL:              str(CtxReviewURL),
		SlackSecretARN:         str(CtxSlackSecretARN),
		AlarmTopicARN:          str(CtxAlarmTopicARN),
		SmokeConfig:            jsonText(CtxSmokeConfig),
		BakeConfig:             jsonText(CtxBakeConfig),
		Policy:                 jsonText(CtxPolicy),
		Demo:                   boolean(CtxDemo, false),
		TestListenerCIDR:       str(CtxTestListenerCIDR),
		DemoImage:              str(CtxDemoImage),
		BakeTimeMinutes:        num(CtxBakeTimeMinutes, int(DefaultBakeTime/time.Minute)),
		Nag:                    boolean(CtxNag, true),
	}
	if str(CtxRequiredApprovals) != "" && o.RequiredApprovals < 1 {
		// Given, 0 is no quorum: refused, not taken for unset.
		c.fail(fmt.Errorf("context %s: %d, want at least 1", CtxRequiredApprovals, o.RequiredApprovals))
	}
	if o.AssetDir == "" {
		o.AssetDir = strings.TrimSpace(getenv(EnvAssetDir))
	}
	if o.AssetDir == "" {
		o.AssetDir = DefaultAssetDir
	}
	// The functions lowercase approver addresses and publish them so in the
	// "approver" attribute; SNS filter policies match exactly, so the
	// subscriptions must use the same canonical form.
	approvers, err := approval.ParseApprovers(list(str(CtxApprovers)))
	if err != nil {
		c.fail(fmt.Errorf("context %s: %w", CtxApprovers, err))
	}
	o.Approvers = approvers
	kind, err := rollout.ParseKind(str(CtxStrategy))
	if err != nil {
		c.fail(fmt.Errorf("context %s: %w", CtxStrategy, err))
	}
	o.Strategy = rollout.Strategy{
		Kind:          kind,
		StepPercent:   float(CtxStepPercent),
		StepBake:      c.bake(CtxStepBakeMinutes),
		CanaryPercent: float(CtxCanaryPercent),
		CanaryBake:    c.bake(CtxCanaryBakeMinutes),
	}
	o.SubscriptionAdmins = list(str(CtxSubscriptionAdmins))
	if o.ApprovalMode, err = ParseApprovalMode(str(CtxApprovalMode)); err != nil {
		c.fail(fmt.Errorf("context %s: %w", CtxApprovalMode, err))
	}
	o.ApprovalStage = Stage(strings.ToUpper(str(CtxApprovalStage)))
	o.ApprovalSteps = str(CtxApprovalSteps)
	o.SmokeVPCID = str(CtxSmokeVPCID)
	o.SmokeSubnetIDs = list(str(CtxSmokeSubnetIDs))
	o.SmokeSecurityGroupIDs = list(str(CtxSmokeSecurityGroupIDs))
	return o, errors.Join(c.errs...)
}

// contextReader reads the app's context values, collecting every problem.
type contextReader struct {
	app  awscdk.App
	errs []error
}

func (c *contextReader) fail(err error) { c.errs = append(c.errs, err) }

// checkKeys refuses a context key the app does not read that is near one
// it reads (a typo: -c approver=...), naming that one; other keys, which
// other tools may set, are left alone.
func (c *contextReader) checkKeys() {
	all, _ := c.app.Node().GetAllContext(nil).(map[string]any)
	for _, k := range slices.Sorted(maps.Keys(all)) {
		if slices.Contains(ContextKeys, k) || slices.Contains(cdkContextKeys, k) || strings.ContainsAny(k, ":@/") {
			continue
		}
		if near := nearest(k, ContextKeys); near != "" {
			c.fail(fmt.Errorf("unknown context key %s; did you mean %s?", k, near))
		}
	}
}

// nearest returns the one of keys within two edits of k (case aside), or "".
func nearest(k string, keys []string) string {
	best, bestD := "", 3
	for _, key := range keys {
		if d := editDistance(strings.ToLower(k), strings.ToLower(key)); d < bestD {
			best, bestD = key, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

// str reads a setting as text.
func (c *contextReader) str(key string) string {
	switch v := c.app.Node().TryGetContext(jsii.String(key)).(type) {
	case nil:
		return ""
	case string:
		return strings.TrimSpace(v)
	case bool:
		return strconv.FormatBool(v)
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	default:
		c.fail(fmt.Errorf("context %s: %v is not a string, number or boolean", key, v))
		return ""
	}
}

// jsonText reads a JSON setting: a string holding JSON (-c key='[...]'),
// or JSON written as such in cdk.json.
func (c *contextReader) jsonText(key string) string {
	switch v := c.app.Node().TryGetContext(jsii.String(key)).(type) {
	case []any, map[string]any:
		b, err := json.Marshal(v)
		if err != nil {
			c.fail(fmt.Errorf("context %s: %w", key, err))
		}
		return string(b)
	}
	return c.str(key)
}

func (c *contextReader) float(key string) float64 {
	s := c.str(key)
	if s == "" {
		return 0
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		c.fail(fmt.Errorf("context %s: %q is not a number", key, s))
	}
	return f
}

func (c *contextReader) num(key string, def int) int {
	s := c.str(key)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		c.fail(fmt.Errorf("context %s: %q is not a whole number", key, s))
	}
	return n
}

// bake reads a step or canary bake in minutes: absent leaves ECS's
// default, 0 is none (rollout.NoBake).
func (c *contextReader) bake(key string) time.Duration {
	if c.str(key) == "" {
		return 0
	}
	return rollout.Bake(time.Duration(c.num(key, 0)) * time.Minute)
}

func (c *contextReader) boolean(key string, def bool) bool {
	s := c.str(key)
	if s == "" {
		return def
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		c.fail(fmt.Errorf("context %s: %q is not true or false", key, s))
	}
	return b
}

// demoPolicy is policy, letting services skip the approval of their first
// deployment: the demo service's first deployment creates it, and the
// stack would otherwise wait for an approval (NewDemoStack sets
// firstDeployment: skip). Nothing else is loosened.
func demoPolicy(policy string) (string, error) {
	doc := map[string]any{}
	if strings.TrimSpace(policy) != "" {
		if err := json.Unmarshal([]byte(policy), &doc); err != nil || doc == nil {
			return "", fmt.Errorf("context %s: want a JSON object, got %s", CtxPolicy, hook.Quote([]byte(policy)))
		}
	}
	section := func(m map[string]any, key string) (map[string]any, error) {
		v, ok := m[key]
		if !ok {
			v = map[string]any{}
			m[key] = v
		}
		obj, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("context %s: %s: want a JSON object", CtxPolicy, key)
		}
		return obj, nil
	}
	approvalSection, err := section(doc, "approval")
	if err != nil {
		return "", err
	}
	loosen, err := section(approvalSection, "loosen")
	if err != nil {
		return "", err
	}
	loosen["firstDeployment"] = true
	b, err := json.Marshal(doc)
	return string(b), err
}

// list splits a comma-separated context value, dropping blanks.
func list(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// check validates what the app is about to deploy. Settings that become a
// function's environment go through the loader that function runs at start
// (SuiteProps.checkSettings, the check NewSuite makes too), so a value the
// function would refuse fails the synthesis instead.
func (o Options) check() error {
	var errs []error
	settings := SuiteProps{
		Approvers:         o.Approvers,
		RequiredApprovals: o.RequiredApprovals,
		ApprovalTimeout:   o.ApprovalTimeout,
		Freezes:           o.Freezes,
		ChangeWindows:     o.ChangeWindows,
		SmokeConfig:       o.SmokeConfig,
		BakeConfig:        o.BakeConfig,
		Policy:            o.Policy,
		ApprovalMode:      o.ApprovalMode,
	}
	if _, err := settings.checkSettings(contextNames); err != nil {
		errs = append(errs, err)
	}
	if o.ApprovalStage != "" {
		if err := CheckApprovalStage(o.ApprovalMode, o.ApprovalStage); err != nil {
			errs = append(errs, fmt.Errorf("context %s: %w", CtxApprovalStage, err))
		}
	}
	if o.APIReservedConcurrency < 0 {
		errs = append(errs, fmt.Errorf("context %s: %d is negative: give 0 (the default) to reserve none", CtxAPIReservedConcurrency, o.APIReservedConcurrency))
	}
	if o.ReviewURL != "" {
		if err := config.CheckReviewURL(o.ReviewURL); err != nil {
			errs = append(errs, fmt.Errorf("context %s: %w", CtxReviewURL, err))
		}
	}
	if o.SlackSecretARN != "" {
		if err := CheckSlackSecretArn(o.SlackSecretARN); err != nil {
			errs = append(errs, fmt.Errorf("context %s: %w", CtxSlackSecretARN, err))
		}
	}
	if minDays := int(MinRecordExpiration / (24 * time.Hour)); o.RecordExpirationDays < minDays {
		errs = append(errs, fmt.Errorf("context %s: %d is below %d: a record must outlive the longest approval request (14 days)", CtxRecordExpirationDays, o.RecordExpirationDays, minDays))
	}
	if o.AlarmTopicARN != "" && !strings.HasPrefix(o.AlarmTopicARN, "arn:") {
		errs = append(errs, fmt.Errorf("context %s: %q is not an ARN", CtxAlarmTopicARN, o.AlarmTopicARN))
	}
	if err := o.Strategy.WithDefaults().Validate(); err != nil {
		errs = append(errs, fmt.Errorf("context %s", strings.ReplaceAll(err.Error(), "\n", "; context ")))
	}
	if o.BakeTimeMinutes < 1 || o.BakeTimeMinutes > 1440 {
		errs = append(errs, fmt.Errorf("context %s: %d is outside 1 to 1440", CtxBakeTimeMinutes, o.BakeTimeMinutes))
	}
	switch {
	case o.SmokeVPCID == "" && (len(o.SmokeSubnetIDs) > 0 || len(o.SmokeSecurityGroupIDs) > 0):
		errs = append(errs, fmt.Errorf("context %s and %s need %s", CtxSmokeSubnetIDs, CtxSmokeSecurityGroupIDs, CtxSmokeVPCID))
	case o.SmokeVPCID != "" && len(o.SmokeSubnetIDs) == 0:
		errs = append(errs, fmt.Errorf("context %s needs %s (comma-separated subnet IDs)", CtxSmokeVPCID, CtxSmokeSubnetIDs))
	}
	if err := CheckAssets(o.AssetDir); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// slackSecretARN is a Secrets Manager secret's complete ARN: its name ends
// in the six characters Secrets Manager adds.
var slackSecretARN = regexp.MustCompile(`^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:[A-Za-z0-9/_+=.@-]+-[A-Za-z0-9]{6}$`)

// CheckSlackSecretArn reports why arn cannot name the Slack app's secret:
// the functions may read exactly that secret, so it must be its complete
// ARN.
func CheckSlackSecretArn(arn string) error {
	if !slackSecretARN.MatchString(arn) {
		return fmt.Errorf("%q is not a Secrets Manager secret's complete ARN (arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME-AbCdEf, as `aws secretsmanager describe-secret --secret-id NAME --query ARN` prints it)", arn)
	}
	return nil
}

// Stacks are what Build added to the app.
type Stacks struct {
	Hooks awscdk.Stack
	Suite *Suite
	// Demo is nil unless Options.Demo.
	Demo *DemoStack
}

// Build adds the GatehouseHooks stack, and with Options.Demo the
// GatehouseDemoService stack, to app. Stacks are environment-agnostic: the
// account and region come from the CLI's credentials at deploy time, and
// synthesis needs no AWS access.
func Build(app awscdk.App, o Options) (*Stacks, error) {
	if o.Demo {
		policy, err := demoPolicy(o.Policy)
		if err != nil {
			return nil, err
		}
		o.Policy = policy
	}
	if err := o.check(); err != nil {
		return nil, err
	}
	props := &HooksStackProps{
		StackProps: awscdk.StackProps{Description: jsii.String("gatehouse: ECS blue/green deployment lifecycle hooks (approval, smoke, bake)")},
		Suite: SuiteProps{
			AssetDir:               o.AssetDir,
			Approvers:              o.Approvers,
			RequiredApprovals:      o.RequiredApprovals,
			ApprovalTimeout:        o.ApprovalTimeout,
			Freezes:                o.Freezes,
			ChangeWindows:          o.ChangeWindows,
			RecordExpiration:       time.Duration(o.RecordExpirationDays) * 24 * time.Hour,
			APIReservedConcurrency: o.APIReservedConcurrency,
			ReviewURL:              o.ReviewURL,
			SlackSecretArn:         o.SlackSecretARN,
			SmokeConfig:            o.SmokeConfig,
			BakeConfig:             o.BakeConfig,
			Policy:                 o.Policy,
			ApprovalMode:           o.ApprovalMode,
			ApprovalStage:          o.ApprovalStage,
			ApprovalSteps:          o.ApprovalSteps,
			SubscriptionAdmins:     o.SubscriptionAdmins,
		},
	}
	props.AlarmTopicARN = o.AlarmTopicARN
	if o.SmokeVPCID != "" {
		props.SmokeNetwork = &SmokeNetwork{VpcID: o.SmokeVPCID, SubnetIDs: o.SmokeSubnetIDs, SecurityGroupIDs: o.SmokeSecurityGroupIDs}
	}
	s := &Stacks{}
	s.Hooks, s.Suite = NewHooksStack(app, HooksStackName, props)
	if o.Demo {
		s.Demo = NewDemoStack(app, DemoStackName, &DemoStackProps{
			StackProps:       awscdk.StackProps{Description: jsii.String("gatehouse demo: a blue/green Fargate service gated by the gatehouse hooks")},
			Targets:          s.Suite.Targets(),
			Image:            o.DemoImage,
			TestListenerCIDR: o.TestListenerCIDR,
			BakeTime:         time.Duration(o.BakeTimeMinutes) * time.Minute,
			Strategy:         o.Strategy,
		})
	}
	return s, nil
}
