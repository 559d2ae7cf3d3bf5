package gatehouse

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/gatehouse-dev/gatehouse/internal/approval"
	"github.com/gatehouse-dev/gatehouse/internal/bake"
	"github.com/gatehouse-dev/gatehouse/internal/config"
	"github.com/gatehouse-dev/gatehouse/internal/hook"
	"github.com/gatehouse-dev/gatehouse/internal/smoke"
)

// DefaultSuiteApprovalTimeout is the approval's own timeout the suite sets
// (GATEHOUSE_APPROVAL_TIMEOUT) when SuiteProps.ApprovalTimeout is empty. It
// stays an hour below the approval hook's default ECS timeout
// (DefaultApprovalTimeout, 24h), so a request expires, and onExpiry decides,
// before ECS gives up on the hook and rolls the deployment back.
const DefaultSuiteApprovalTimeout = approval.DefaultTimeout

// lambdaLimit says why a Lambda-mode approval must expire within a day.
var lambdaLimit = fmt.Sprintf("cannot expire before ECS's 24-hour limit: ECS ends a stage with Lambda hooks after 24 hours (a Lambda hook's timeout is at most 1440 minutes) and rolls the deployment back, so onExpiry could never take effect; give less than 24h (at most %s), or use approval mode pause (-c approvalMode=pause, SuiteProps.ApprovalMode), where an ECS PAUSE hook waits up to 14 days",
	hook.FormatDuration(DefaultSuiteApprovalTimeout))

// hookDefaults are a suite's defaults, as its functions load them at start
// from the environment the suite gives them.
type hookDefaults struct {
	approval approval.Settings
	smoke    smoke.Config
	bake     bake.Config
	// subscribed are the addresses with an email subscription to the
	// review topic, each filtered on its own address.
	subscribed []string
}

// smokeComplete reports why the smoke defaults alone are not a
// configuration the smoke hook accepts, or nil if they are.
func (d *hookDefaults) smokeComplete() error { return d.smoke.Validate() }

// bakeComplete reports why the bake defaults alone are not a configuration
// the bake hook accepts, or nil if they are.
func (d *hookDefaults) bakeComplete() error {
	_, err := bake.Apply(d.bake, nil)
	return err
}

// settingNames name a suite's settings in errors as the user gave them:
// as SuiteProps fields for NewSuite, as context keys for the app. The
// functions' loaders name the environment variables the settings become;
// rename puts the user's names in their place.
type settingNames struct {
	approvers, approval, timeout, smoke, bake string
	rename                                    *strings.Replacer
}

// settingVars are the environment variables the suite's settings become,
// with the context key and the SuiteProps field of each.
var settingVars = []struct{ env, ctx, prop string }{
	{config.EnvApprovers, CtxApprovers, "Approvers"},
	{config.EnvRequiredApprovals, CtxRequiredApprovals, "RequiredApprovals"},
	{config.EnvApprovalTimeout, CtxApprovalTimeout, "ApprovalTimeout"},
	{config.EnvApprovalSteps, CtxApprovalSteps, "ApprovalSteps"},
	{config.EnvFreezes, CtxFreezes, "Freezes"},
	{config.EnvChangeWindows, CtxChangeWindows, "ChangeWindows"},
	{config.EnvPolicy, CtxPolicy, "Policy"},
	{config.EnvSmokeConfig, CtxSmokeConfig, "SmokeConfig"},
	{config.EnvBakeConfig, CtxBakeConfig, "BakeConfig"},
	{config.EnvReviewURL, CtxReviewURL, "ReviewURL"},
}

// renamer replaces each variable by name(its row); "VAR." (a path into a
// JSON setting) by "name(row): "; and the approval hook's check of its
// defaults as a whole, which names them as hookDetails keys, by the
// settings' names too.
func renamer(name func(ctx, prop string) string) *strings.Replacer {
	var pairs []string
	for _, v := range settingVars {
		pairs = append(pairs, v.env+".", name(v.ctx, v.prop)+": ", v.env, name(v.ctx, v.prop))
	}
	const whole = "approval defaults from the environment: "
	pairs = append(pairs,
		whole+"timeout:", name(CtxApprovalTimeout, "ApprovalTimeout")+":",
		whole+"requiredApprovals:", name(CtxRequiredApprovals, "RequiredApprovals")+":",
		whole+"approvers:", name(CtxApprovers, "Approvers")+":",
		whole+"steps:", name(CtxApprovalSteps, "ApprovalSteps")+":",
		whole, "")
	return strings.NewReplacer(pairs...)
}

var (
	suitePropNames = settingNames{
		approvers: "SuiteProps.Approvers",
		approval:  "approval settings (SuiteProps.Approvers, RequiredApprovals, ApprovalTimeout, Freezes, ChangeWindows, Policy)",
		timeout:   "SuiteProps.ApprovalTimeout",
		smoke:     "SuiteProps.SmokeConfig or Policy",
		bake:      "SuiteProps.BakeConfig or Policy",
		rename:    renamer(func(_, prop string) string { return "SuiteProps." + prop }),
	}
	contextNames = settingNames{
		approvers: "context " + CtxApprovers,
		approval:  fmt.Sprintf("approval settings (context %s, %s, %s, %s, %s, %s)", CtxApprovers, CtxRequiredApprovals, CtxApprovalTimeout, CtxFreezes, CtxChangeWindows, CtxPolicy),
		timeout:   "context " + CtxApprovalTimeout,
		smoke:     "context " + CtxSmokeConfig + " or " + CtxPolicy,
		bake:      "context " + CtxBakeConfig + " or " + CtxPolicy,
		rename:    renamer(func(ctx, _ string) string { return "context " + ctx }),
	}
)

// loaderErrors adds to errs each of a loader's errors, in the user's
// names; one that names none of the settings is prefixed with what. An
// error said already (the policy, which three loaders read) is not said
// again.
func (n settingNames) loaderErrors(errs []error, what string, err error) []error {
	var each []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		each = j.Unwrap()
	} else {
		each = []error{err}
	}
	for _, e := range each {
		msg := hook.OneLine(e.Error())
		renamed := msg
		if n.rename != nil {
			renamed = n.rename.Replace(msg)
		}
		if renamed == msg {
			renamed = what + ": " + msg
		}
		if !slices.ContainsFunc(errs, func(x error) bool { return x.Error() == renamed }) {
			errs = append(errs, errors.New(renamed))
		}
	}
	return errs
}

// settingsEnv returns the environment variables the suite derives from p's
// settings, per function; NewSuite adds the resource names (bucket, topic,
// URL, secret) to them.
func (p SuiteProps) settingsEnv() (approvalEnv, smokeEnv, bakeEnv map[string]string) {
	approvalEnv = map[string]string{}
	if len(p.Approvers) > 0 {
		approvalEnv[config.EnvApprovers] = strings.Join(p.Approvers, ",")
	}
	if p.RequiredApprovals != 0 {
		approvalEnv[config.EnvRequiredApprovals] = strconv.Itoa(p.RequiredApprovals)
	}
	if p.ApprovalTimeout != "" {
		approvalEnv[config.EnvApprovalTimeout] = p.ApprovalTimeout
	}
	if p.Freezes != "" {
		approvalEnv[config.EnvFreezes] = p.Freezes
	}
	if p.ApprovalSteps != "" {
		approvalEnv[config.EnvApprovalSteps] = p.ApprovalSteps
	}
	if p.ChangeWindows != "" {
		approvalEnv[config.EnvChangeWindows] = p.ChangeWindows
	}
	smokeEnv = map[string]string{}
	if p.SmokeConfig != "" {
		smokeEnv[config.EnvSmokeConfig] = p.SmokeConfig
	}
	bakeEnv = map[string]string{}
	if p.BakeConfig != "" {
		bakeEnv[config.EnvBakeConfig] = p.BakeConfig
	}
	if p.Policy != "" {
		for _, env := range []map[string]string{approvalEnv, smokeEnv, bakeEnv} {
			env[config.EnvPolicy] = p.Policy
		}
	}
	return approvalEnv, smokeEnv, bakeEnv
}

// checkSettings is the one check of the settings that become the functions'
// environment, for NewSuite and the app alike. It replaces p.Approvers with
// their canonical form (lowercased and de-duplicated, as the approval hook
// publishes them in the "approver" attribute, which the subscriptions'
// filter policies must match exactly), sets the default approval timeout,
// and runs each function's own loader on the environment the suite will
// give it, so a value the function would refuse at start fails the
// synthesis instead. It returns the defaults the functions will load.
func (p *SuiteProps) checkSettings(n settingNames) (*hookDefaults, error) {
	var errs []error
	approvers, err := approval.ParseApprovers(p.Approvers)
	if err != nil {
		errs = append(errs, fmt.Errorf("%s: %s", n.approvers, hook.OneLine(err.Error())))
	}
	p.Approvers = approvers
	if p.ApprovalTimeout == "" {
		p.ApprovalTimeout = hook.FormatDuration(DefaultSuiteApprovalTimeout)
	}
	approvalEnv, smokeEnv, bakeEnv := p.settingsEnv()
	// Stand-ins for the resource names, which are tokens until deployment.
	approvalEnv[config.EnvStateBucket] = "bucket"
	approvalEnv[config.EnvTopicARN] = "arn:aws:sns:us-east-1:123456789012:topic"
	approvalEnv[config.EnvReviewURL] = "https://example.com/"
	if p.ReviewURL != "" {
		approvalEnv[config.EnvReviewURL] = p.ReviewURL
	}
	approvalEnv[config.EnvSigningKeySecret] = "arn:aws:secretsmanager:us-east-1:123456789012:secret:key"
	smokeEnv[config.EnvStateBucket] = "bucket"
	bakeEnv[config.EnvStateBucket] = "bucket"

	d := &hookDefaults{subscribed: approvers}
	a, err := config.LoadApprovalHook(func(k string) string { return approvalEnv[k] })
	switch {
	case err != nil:
		errs = n.loaderErrors(errs, n.approval, err)
	case p.ApprovalMode == ApprovalModePause && a.Defaults.Timeout >= MaxPauseHookTimeout:
		errs = append(errs, fmt.Errorf("%s: %s is not below %s, the longest a PAUSE hook waits (20160 minutes): the request would expire as ECS times the hook out and rolls back, so onExpiry could never take effect; give at most %s",
			n.timeout, p.ApprovalTimeout, hook.FormatDuration(MaxPauseHookTimeout), hook.FormatDuration(MaxPauseHookTimeout-time.Hour)))
	case p.ApprovalMode != ApprovalModePause && a.Defaults.Timeout >= MaxHookTimeout:
		errs = append(errs, fmt.Errorf("%s: %s %s", n.timeout, p.ApprovalTimeout, lambdaLimit))
	}
	d.approval = a.Defaults
	s, err := config.LoadSmokeHook(func(k string) string { return smokeEnv[k] })
	if err != nil {
		errs = n.loaderErrors(errs, n.smoke, err)
	}
	d.smoke = s.Defaults
	b, err := bake.LoadHookEnv(func(k string) string { return bakeEnv[k] })
	if err != nil {
		errs = n.loaderErrors(errs, n.bake, err)
	}
	d.bake = b.Defaults
	return d, errors.Join(errs...)
}

// hookKind says which gatehouse function a Hook built by Targets runs.
type hookKind int

const (
	kindOther hookKind = iota
	kindSmoke
	kindApproval
	kindBake
)

func (k hookKind) function() string {
	switch k {
	case kindSmoke:
		return SmokeHookName
	case kindApproval:
		return ApprovalHookName
	case kindBake:
		return BakeHookName
	}
	return "other"
}

// tokenString matches a CDK string token in rendered text.
var tokenString = regexp.MustCompile(`\$\{Token\[[^\]]*\]\}`)

// tokenPlaceholder stands in for a token when Details are checked: a valid
// host name, alarm name or path segment.
const tokenPlaceholder = "gatehouse-token"

// checkDetails checks the Details of a hook built by Targets the way its
// function will at run time, with the function's own code. For targets from
// a Suite in this app it knows the suite's defaults and checks the merged
// configuration whole: smoke needs checks, bake needs alarms or metrics, and
// the approval's timeout must stay below the hook's ECS timeout. For
// targets from FromARNs, whose defaults live in another deployment, it
// checks each key given. CDK tokens in Details are checked as a placeholder.
// Warnings are problems that only the deployment can confirm.
func (h Hook) checkDetails() (warnings []string, err error) {
	if h.kind == kindOther {
		return nil, nil
	}
	text, err := h.detailsJSON()
	if err != nil {
		return nil, err
	}
	raw := json.RawMessage(tokenString.ReplaceAllString(text, tokenPlaceholder))
	fail := func(format string, args ...any) error {
		return fmt.Errorf("hook %q (%s): %s", h.ID, h.kind.function(), fmt.Sprintf(format, args...))
	}
	ecsTimeout := h.Timeout
	if ecsTimeout == 0 {
		// No timeoutConfiguration: ECS's default.
		ecsTimeout = DefaultECSHookTimeout
	}
	if h.kind == kindApproval && h.timeoutAction() == TimeoutContinue {
		return nil, fail("OnTimeout CONTINUE would let the deployment go on when nobody decides before the hook's ECS timeout: silence would become an approval; an approval hook must roll back (ROLLBACK, the default)")
	}
	switch h.kind {
	case kindSmoke:
		if h.suite == nil {
			if _, err := smoke.DefaultConfig().Apply(raw, "hookDetails"); err != nil {
				return nil, fail("invalid smoke configuration: %s", hook.OneLine(err.Error()))
			}
			return nil, nil
		}
		c, err := h.suite.smoke.ApplyService(raw)
		if err == nil {
			err = c.Validate()
		}
		if err != nil {
			return nil, fail("the hook would answer FAILED and roll every deployment back: invalid smoke configuration (hookDetails over the suite's SmokeConfig): %s", hook.OneLine(err.Error()))
		}
	case kindBake:
		if h.suite == nil {
			if _, err := bake.ParseConfig(raw); err != nil {
				return nil, fail("invalid bake configuration: hookDetails: %s", hook.OneLine(err.Error()))
			}
			return nil, nil
		}
		if _, err := bake.Apply(h.suite.bake, raw); err != nil {
			return nil, fail("the hook would answer FAILED and roll every deployment back: invalid bake configuration (hookDetails over the suite's BakeConfig): %s", hook.OneLine(err.Error()))
		}
	case kindApproval:
		if h.Pause {
			if err := h.checkPauseTags(); err != nil {
				return nil, fail("%s", err)
			}
		}
		if h.suite == nil {
			return h.checkApprovalUnknownSuite(raw, ecsTimeout, fail)
		}
		s, err := approval.Apply(h.suite.approval, raw)
		if err != nil {
			return nil, fail("the hook would answer FAILED and roll every deployment back: invalid approval configuration (hookDetails over the suite's defaults): %s", hook.OneLine(err.Error()))
		}
		if !h.Pause && s.Timeout >= MaxHookTimeout {
			return nil, fail("hookDetails.timeout: the approval's timeout %s (hookDetails.timeout, or the suite's ApprovalTimeout) %s", hook.FormatDuration(s.Timeout), lambdaLimit)
		}
		if s.Timeout >= ecsTimeout {
			return nil, fail("hookDetails.timeout: the approval's timeout %s (hookDetails.timeout, or the suite's ApprovalTimeout) is not below the hook's ECS timeout %s: ECS would time the hook out and roll back as the request expires, so onExpiry could never take effect; give a shorter hookDetails.timeout or a longer Timeout",
				hook.FormatDuration(s.Timeout), hook.FormatDuration(ecsTimeout))
		}
		switch {
		case len(s.Approvers) == 0 && len(h.suite.subscribed) > 0:
			warnings = append(warnings, fmt.Sprintf("hook %q (%s): no approvers, so the review goes out as one shared-link message without the \"approver\" attribute, which only a subscription without a filter policy receives; every subscription the suite made filters on it, so nobody is asked and the request expires. Give hookDetails.approvers from SuiteProps.Approvers (-c approvers).", h.ID, h.kind.function()))
		default:
			for _, a := range s.Approvers {
				if !slices.Contains(h.suite.subscribed, a) {
					warnings = append(warnings, fmt.Sprintf("hook %q (%s): approver %s is not subscribed to the review topic, so their review link reaches nobody; add them to SuiteProps.Approvers (-c approvers) and redeploy the suite.", h.ID, h.kind.function(), a))
				}
			}
		}
	}
	return warnings, nil
}

// checkApprovalUnknownSuite checks an approval hook of a deployed suite
// whose settings are not known here (FromARNs): the Details go through the
// function's own decoder, so an unknown key, a bad value or an
// inconsistent quorum fails the synthesis; the suite's floors are for the
// function to enforce. A timeout in Details must stay below the hook's ECS
// timeout (and, for a Lambda hook, a day).
func (h Hook) checkApprovalUnknownSuite(raw json.RawMessage, ecsTimeout time.Duration, fail func(string, ...any) error) ([]string, error) {
	s, err := approval.Apply(approval.UnknownSuite(), raw)
	if err = approval.Unpoliced(err); err != nil {
		return nil, fail("the hook would answer FAILED and roll every deployment back: invalid approval configuration: %s", hook.OneLine(err.Error()))
	}
	var fields map[string]json.RawMessage
	if len(raw) > 0 {
		_ = json.Unmarshal(raw, &fields)
	}
	warnings := []string{fmt.Sprintf("hook %q (%s): the deployed suite's settings are not known here (FromARNs), so its policy and the review topic's subscriptions cannot be checked at synthesis: use FromSuite with the suite's SuiteDescription for that.", h.ID, h.kind.function())}
	if _, ok := fields["timeout"]; !ok {
		if h.Timeout != 0 && h.Timeout <= DefaultSuiteApprovalTimeout {
			warnings = append(warnings, fmt.Sprintf("hook %q (%s): hookDetails set no timeout, so the approval's own timeout is the deployed suite's default (%s unless approvalTimeout was set), which is not below this hook's ECS timeout %s: ECS would roll back first. Set hookDetails.timeout below %s.",
				h.ID, h.kind.function(), hook.FormatDuration(DefaultSuiteApprovalTimeout), hook.FormatDuration(h.Timeout), hook.FormatDuration(h.Timeout)))
		}
		return warnings, nil
	}
	if !h.Pause && s.Timeout >= MaxHookTimeout {
		return nil, fail("hookDetails.timeout: %s %s", hook.FormatDuration(s.Timeout), lambdaLimit)
	}
	if s.Timeout >= ecsTimeout {
		return nil, fail("hookDetails.timeout: the approval's timeout %s is not below the hook's ECS timeout %s: ECS would time the hook out and roll back as the request expires, so onExpiry could never take effect; give a shorter hookDetails.timeout or a longer Timeout",
			hook.FormatDuration(s.Timeout), hook.FormatDuration(ecsTimeout))
	}
	return warnings, nil
}

// checkPauseTags checks that a PAUSE hook's Details can be the service's
// tags, and read back as the same settings (approval.ApplyTags).
func (h Hook) checkPauseTags() error {
	tags, err := approval.DetailTags(h.Details)
	if err != nil {
		return fmt.Errorf("a PAUSE hook's Details become the service's tags: %w", err)
	}
	for k, v := range tags {
		if !tagValue.MatchString(v) || len(v) > 256 {
			return fmt.Errorf("tag %s: %q is not an ECS tag value (at most 256 letters, digits, spaces and + - = . _ : / @)", k, v)
		}
	}
	// A deployed suite's settings and floors are not known here (FromARNs):
	// its function enforces them; LookupSuite and FromSuite know them.
	defaults, policed := approval.UnknownSuite(), false
	if h.suite != nil {
		defaults, policed = h.suite.approval, true
	}
	fromTags, err := approval.ApplyTags(defaults, tags)
	if !policed {
		err = approval.Unpoliced(err)
	}
	if err != nil {
		return fmt.Errorf("the service's tags would be refused, and every deployment rolled back: %s", hook.OneLine(err.Error()))
	}
	text, err := h.detailsJSON()
	if err != nil {
		return err
	}
	if fromDetails, err := approval.Apply(defaults, json.RawMessage(cmp.Or(text, "{}"))); err == nil {
		if diff := gocmp.Diff(tagSettings(fromDetails), tagSettings(fromTags), cmpopts.EquateEmpty()); diff != "" {
			return fmt.Errorf("the service's tags would not be read back as these Details (-Details +tags):\n%s", diff)
		}
	}
	return nil
}

// tagValue is what an ECS tag value may hold; CDK tokens pass.
var tagValue = regexp.MustCompile(`^([\p{L}\p{Z}\p{N}_.:/=+\-@]*|.*\$\{Token\[.*)$`)

// tagSettings are the settings a service's tags can set.
func tagSettings(s approval.Settings) map[string]any {
	return map[string]any{
		"approvers": s.Approvers, "requiredApprovals": s.RequiredApprovals, "timeout": s.Timeout, "callbackDelay": s.CallbackDelay,
		"firstDeployment": s.FirstDeployment, "onExpiry": s.OnExpiry, "reminderAt": s.ReminderAt, "waitForSmoke": s.WaitForSmoke,
		"gate": s.Gate, "steps": s.Steps, "abortOnAlarms": s.AbortOnAlarms,
	}
}
