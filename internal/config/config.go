// Package config names every environment variable gatehouse reads, in one
// place that the functions and the CDK app both import, and parses each
// function's environment into a typed struct. A loader reports every bad
// variable at once.
package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/gatehouse-dev/gatehouse/internal/approval"
	"github.com/gatehouse-dev/gatehouse/internal/hook"
	"github.com/gatehouse-dev/gatehouse/internal/slackapi"
	"github.com/gatehouse-dev/gatehouse/internal/token"
)

// Environment variables.
const (
	EnvStateBucket       = "GATEHOUSE_STATE_BUCKET"
	EnvTopicARN          = "GATEHOUSE_TOPIC_ARN"
	EnvReviewURL         = "GATEHOUSE_REVIEW_URL"
	EnvSigningKeySecret  = "GATEHOUSE_SIGNING_KEY_SECRET_ARN"
	EnvSigningKey        = "GATEHOUSE_SIGNING_KEY"
	EnvApprovers         = "GATEHOUSE_APPROVERS"
	EnvRequiredApprovals = "GATEHOUSE_REQUIRED_APPROVALS"
	EnvApprovalTimeout   = "GATEHOUSE_APPROVAL_TIMEOUT"
	EnvCallbackDelay     = "GATEHOUSE_CALLBACK_DELAY"
	EnvFirstDeployment   = "GATEHOUSE_FIRST_DEPLOYMENT"
	EnvOnExpiry          = "GATEHOUSE_ON_EXPIRY"
	EnvReminderAt        = "GATEHOUSE_REMINDER_AT"
	// EnvApprovalSteps is the hookDetails key steps for the suite: first
	// or each (every step of a linear or canary deployment asks again).
	EnvApprovalSteps = "GATEHOUSE_APPROVAL_STEPS"
	// EnvAbortOnAlarms and EnvAbortOnAlarmPrefixes list, comma-separated,
	// the CloudWatch alarms (by name and by name prefix) an open approval
	// request watches: one in ALARM aborts it.
	EnvAbortOnAlarms        = "GATEHOUSE_ABORT_ON_ALARMS"
	EnvAbortOnAlarmPrefixes = "GATEHOUSE_ABORT_ON_ALARM_PREFIXES"
	// EnvFreezes and EnvChangeWindows are JSON lists, as the hookDetails keys
	// freezes and changeWindows: when a deployment needs an emergency
	// override to be approved.
	EnvFreezes       = "GATEHOUSE_FREEZES"
	EnvChangeWindows = "GATEHOUSE_CHANGE_WINDOWS"
	// EnvTestURL is where reviewers try green, as the hookDetails key
	// testUrl: it wins over the discovered test listener.
	EnvTestURL = "GATEHOUSE_TEST_URL"
	// EnvSmokeFunction names the smoke hook's function (name or ARN) for the
	// approval hook: when ECS runs it at the same stage, the approval hook
	// waits for its verdict before asking anyone (waitForSmoke).
	EnvSmokeFunction = "GATEHOUSE_SMOKE_FUNCTION"
	// EnvBakeFunction names the bake hook's function (name or ARN) for the
	// approval hook: when ECS runs it at PRE_PRODUCTION_TRAFFIC_SHIFT too,
	// as the step check, a request of one step (steps: each) waits for its
	// verdict on the step just baked before asking anyone.
	EnvBakeFunction = "GATEHOUSE_BAKE_FUNCTION"
	// EnvPolicy is the suite's policy: what services' hookDetails may
	// loosen, a JSON object with a section per hook ("approval", "smoke",
	// "bake"). Unset, hookDetails may only tighten the suite's settings.
	EnvPolicy = "GATEHOUSE_POLICY"
	// EnvDeployerLookup, "cloudtrail", has the approval hook look up who
	// started each deployment (LookupEvents), so that they cannot approve
	// it; unset, nobody is looked up.
	EnvDeployerLookup = "GATEHOUSE_DEPLOYER_LOOKUP"
	// EnvSlackSecret is the Secrets Manager secret of the Slack app, JSON
	// {"signingSecret": ..., "botToken": ...}: set, approvers whose email
	// Slack knows are asked in Slack too. EnvSlackSigningSecret and
	// EnvSlackBotToken give them directly, for local runs and tests;
	// EnvSlackAPIURL is the Web API's base URL (default Slack's).
	EnvSlackSecret        = "GATEHOUSE_SLACK_SECRET_ARN"
	EnvSlackSigningSecret = "GATEHOUSE_SLACK_SIGNING_SECRET"
	EnvSlackBotToken      = "GATEHOUSE_SLACK_BOT_TOKEN"
	EnvSlackAPIURL        = "GATEHOUSE_SLACK_API_URL"
	// EnvOperatorAccounts lists, comma-separated, the AWS accounts whose
	// identities the CLI lets approve besides the deployment's own.
	EnvOperatorAccounts = "GATEHOUSE_OPERATOR_ACCOUNTS"
	// EnvApprovalHook names the suite's approval hook function (name or
	// ARN) for the CLI: after a deciding vote on a PAUSE request it invokes
	// the function, which announces the decision and tells ECS with the
	// suite's own permissions.
	EnvApprovalHook = "GATEHOUSE_APPROVAL_HOOK"
)

// ParseAccounts parses a comma-separated list of 12-digit AWS account ids.
func ParseAccounts(s string) ([]string, error) {
	var out []string
	for _, a := range strings.Split(s, ",") {
		a = strings.TrimSpace(a)
		if a == "" {
			continue
		}
		if len(a) != 12 || strings.Trim(a, "0123456789") != "" {
			return nil, fmt.Errorf("%q is not a 12-digit AWS account id", a)
		}
		out = append(out, a)
	}
	return out, nil
}

// PolicySections are the sections of GATEHOUSE_POLICY, one per hook.
var PolicySections = []string{"approval", "bake", "smoke"}

// PolicySection returns the section name of the suite's policy in
// GATEHOUSE_POLICY, or nil when it has none. Unknown sections are refused,
// by every hook, so that a typo cannot quietly leave a hook without its
// policy.
func PolicySection(getenv func(string) string, name string) (json.RawMessage, error) {
	raw := strings.TrimSpace(getenv(EnvPolicy))
	if raw == "" {
		return nil, nil
	}
	keys, fields, err := hook.Document(EnvPolicy, []byte(raw))
	if err != nil {
		return nil, err
	}
	var d hook.Decoder
	for _, k := range keys {
		if !slices.Contains(PolicySections, k) {
			d.Fail(hook.Path(EnvPolicy, k), "unknown section: want %s", hook.QuoteAll(PolicySections))
		}
	}
	return fields[name], d.Err()
}

// Signing says where the link-signing keys come from: a Secrets Manager
// secret in AWS, or a key in the environment for local runs.
type Signing struct {
	SecretARN string
	Key       *token.Keyring
}

// Slack says how the suite reaches Slack: the app's secret in Secrets
// Manager, or its secrets given directly (local runs), and the Web API.
type Slack struct {
	SecretARN string
	Local     slackapi.Secrets
	APIURL    string
}

// ApprovalHook is the approval hook's configuration.
type ApprovalHook struct {
	Bucket    string
	TopicARN  string
	ReviewURL string
	Signing   Signing
	// Defaults are the approval settings hookDetails can override.
	Defaults approval.Settings
	// SmokeFunction is the smoke hook's function name or ARN, if any.
	SmokeFunction string
	// BakeFunction is the bake hook's function name or ARN, if any.
	BakeFunction string
	// DeployerLookup is set when GATEHOUSE_DEPLOYER_LOOKUP is "cloudtrail".
	DeployerLookup bool
	// Function is the hook's own function name, as Lambda sets it
	// (AWS_LAMBDA_FUNCTION_NAME): how it finds itself among the hooks ECS
	// reports.
	Function string
	// Slack, when set, asks approvers in Slack too.
	Slack *Slack
}

// ApprovalAPI is the review API's configuration.
type ApprovalAPI struct {
	Bucket  string
	Signing Signing
	// ReviewURL, when set, is the base of the review links (as the approval
	// hook has it): the API serves its pages under its path as well as at
	// the root, for a custom domain with a path in front of the Function URL.
	ReviewURL string
	// TopicARN, when set, is the review topic: the API then ends ECS PAUSE
	// hooks' waits itself after the deciding vote, and announces the
	// outcome (pause mode); unset, the approval hook's sweep does.
	TopicARN string
	// Slack, when set, takes votes from Slack's buttons.
	Slack *Slack
}

// loader collects every problem before reporting.
type loader struct {
	getenv func(string) string
	errs   []error
}

func (l *loader) required(name string) string {
	v := strings.TrimSpace(l.getenv(name))
	if v == "" {
		l.errs = append(l.errs, fmt.Errorf("%s is required", name))
	}
	return v
}

func (l *loader) bad(name string, format string, args ...any) {
	l.errs = append(l.errs, fmt.Errorf("%s: %s", name, fmt.Sprintf(format, args...)))
}

func (l *loader) signing() Signing {
	arn := strings.TrimSpace(l.getenv(EnvSigningKeySecret))
	raw := l.getenv(EnvSigningKey)
	switch {
	case arn != "" && raw != "":
		l.bad(EnvSigningKey, "refused because %s is set: keys in the environment are for local runs only", EnvSigningKeySecret)
	case arn != "":
		if !strings.HasPrefix(arn, "arn:") {
			l.bad(EnvSigningKeySecret, "%q is not an ARN", arn)
		}
		return Signing{SecretARN: arn}
	case raw != "":
		k, err := token.ParseSecret(raw)
		if err != nil {
			l.bad(EnvSigningKey, "%v", err)
			return Signing{}
		}
		return Signing{Key: &token.Keyring{Current: k}}
	default:
		l.errs = append(l.errs, fmt.Errorf("%s is required (or %s for local runs)", EnvSigningKeySecret, EnvSigningKey))
	}
	return Signing{}
}

// loopback reports whether host names this machine.
func loopback(host string) bool {
	ip := net.ParseIP(host)
	return host == "localhost" || ip != nil && ip.IsLoopback()
}

// calendar reads into s when deployments need an override (freezes,
// change windows) and where reviewers try green.
func (l *loader) calendar(s *approval.Settings) {
	if v := strings.TrimSpace(l.getenv(EnvFreezes)); v != "" {
		fs, err := approval.ParseFreezes(EnvFreezes, []byte(v))
		if err != nil {
			l.errs = append(l.errs, err)
		}
		s.Freezes = fs
	}
	if v := strings.TrimSpace(l.getenv(EnvTestURL)); v != "" {
		if err := approval.CheckTestURL(v); err != nil {
			l.bad(EnvTestURL, "%v", err)
		}
		s.TestURL = v
	}
	if v := strings.TrimSpace(l.getenv(EnvChangeWindows)); v != "" {
		ws, err := approval.ParseChangeWindows(EnvChangeWindows, []byte(v))
		if err != nil {
			l.errs = append(l.errs, err)
		}
		s.ChangeWindows = ws
	}
}

// slack reads how to reach Slack: nil when nothing says so.
func (l *loader) slack() *Slack {
	arn := strings.TrimSpace(l.getenv(EnvSlackSecret))
	local := slackapi.Secrets{SigningSecret: l.getenv(EnvSlackSigningSecret), BotToken: l.getenv(EnvSlackBotToken)}
	api := strings.TrimSpace(l.getenv(EnvSlackAPIURL))
	if api != "" {
		u, err := url.Parse(api)
		switch {
		case err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "":
			l.bad(EnvSlackAPIURL, "%q is not an absolute http(s) URL", api)
		case u.Scheme == "http" && !loopback(u.Hostname()):
			// The bot token goes with every call.
			l.bad(EnvSlackAPIURL, "%q: http is for a Slack stand-in on loopback only; Slack's Web API takes https", api)
		}
	}
	switch {
	case arn != "" && (local.SigningSecret != "" || local.BotToken != ""):
		given := EnvSlackSigningSecret
		if local.SigningSecret == "" {
			given = EnvSlackBotToken
		}
		l.bad(given, "refused because %s is set: secrets in the environment are for local runs only", EnvSlackSecret)
	case arn != "":
		if !strings.HasPrefix(arn, "arn:") {
			l.bad(EnvSlackSecret, "%q is not an ARN", arn)
		}
		return &Slack{SecretARN: arn, APIURL: api}
	case local.SigningSecret != "" && local.BotToken != "":
		return &Slack{Local: local, APIURL: api}
	case local.SigningSecret != "" || local.BotToken != "":
		l.errs = append(l.errs, fmt.Errorf("%s and %s are needed together", EnvSlackSigningSecret, EnvSlackBotToken))
	case api != "":
		l.bad(EnvSlackAPIURL, "set, but nothing says how to reach Slack (%s, or %s and %s)", EnvSlackSecret, EnvSlackSigningSecret, EnvSlackBotToken)
	}
	return nil
}

func (l *loader) settings() approval.Settings {
	s := approval.DefaultSettings()
	if v := l.getenv(EnvApprovers); strings.TrimSpace(v) != "" {
		a, err := approval.ParseApprovers(strings.Split(v, ","))
		if err != nil {
			l.bad(EnvApprovers, "%v", err)
		}
		s.Approvers = a
	}
	if v := strings.TrimSpace(l.getenv(EnvRequiredApprovals)); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			l.bad(EnvRequiredApprovals, "%q is not a whole number", v)
		} else {
			s.RequiredApprovals = n
		}
	}
	if v := strings.TrimSpace(l.getenv(EnvApprovalTimeout)); v != "" {
		d, err := approval.ParseTimeout(v)
		if err != nil {
			l.bad(EnvApprovalTimeout, "%v", err)
		} else {
			s.Timeout = d
		}
	}
	if v := strings.TrimSpace(l.getenv(EnvCallbackDelay)); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			l.bad(EnvCallbackDelay, "%q is not a whole number of seconds", v)
		} else {
			s.CallbackDelay = n
		}
	}
	if v := strings.TrimSpace(l.getenv(EnvFirstDeployment)); v != "" {
		s.FirstDeployment = v
	}
	if v := strings.TrimSpace(l.getenv(EnvApprovalSteps)); v != "" {
		s.Steps = v
	}
	if v := strings.TrimSpace(l.getenv(EnvOnExpiry)); v != "" {
		s.OnExpiry = approval.Decision(v)
	}
	if v := strings.TrimSpace(l.getenv(EnvReminderAt)); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			l.bad(EnvReminderAt, "%q is not a fraction such as 0.75", v)
		} else {
			s.ReminderAt = f
		}
	}
	s.AbortOnAlarms.Names = approval.ParseAlarmList(l.getenv(EnvAbortOnAlarms))
	s.AbortOnAlarms.Prefixes = approval.ParseAlarmList(l.getenv(EnvAbortOnAlarmPrefixes))
	l.calendar(&s)
	section, err := PolicySection(l.getenv, "approval")
	if err == nil && section != nil {
		s.Policy, err = approval.ParsePolicy(EnvPolicy+".approval", section)
	}
	if err != nil {
		l.errs = append(l.errs, err)
	}
	if len(l.errs) == 0 {
		if err := s.Validate(); err != nil {
			l.errs = append(l.errs, fmt.Errorf("approval defaults from the environment: %w", err))
		}
	}
	return s
}

func (l *loader) url(name string) string {
	v := l.required(name)
	if v != "" {
		if err := CheckReviewURL(v); err != nil {
			l.bad(name, "%v", err)
		}
	}
	return v
}

// optionalURL is url for a variable that may be unset.
func (l *loader) optionalURL(name string) string {
	if strings.TrimSpace(l.getenv(name)) == "" {
		return ""
	}
	return l.url(name)
}

// CheckReviewURL reports why v cannot be the base of review links: it must
// be an absolute http(s) URL with a host, and may have a path (a custom
// domain in front of the review API, https://deploy.example.com/gatehouse),
// but no query or fragment, since links are the base, /review and the token.
func CheckReviewURL(v string) error {
	u, err := url.Parse(v)
	switch {
	case err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "":
		return fmt.Errorf("%q is not an absolute http(s) URL", v)
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return fmt.Errorf("%q has a query or fragment: give the base URL only", v)
	}
	return nil
}

// LoadApprovalHook reads the approval hook's environment.
func LoadApprovalHook(getenv func(string) string) (ApprovalHook, error) {
	l := &loader{getenv: getenv}
	c := ApprovalHook{
		Bucket:    l.required(EnvStateBucket),
		TopicARN:  l.required(EnvTopicARN),
		ReviewURL: l.url(EnvReviewURL),
		Signing:   l.signing(),
		// Optional: without it, waitForSmoke is off unless hookDetails set it.
		SmokeFunction: strings.TrimSpace(getenv(EnvSmokeFunction)),
		BakeFunction:  strings.TrimSpace(getenv(EnvBakeFunction)),
		Function:      strings.TrimSpace(getenv("AWS_LAMBDA_FUNCTION_NAME")),
	}
	switch v := strings.TrimSpace(getenv(EnvDeployerLookup)); v {
	case "":
	case "cloudtrail":
		c.DeployerLookup = true
	default:
		l.bad(EnvDeployerLookup, "%q: want cloudtrail, or unset", v)
	}
	c.Defaults = l.settings()
	c.Slack = l.slack()
	return c, errors.Join(l.errs...)
}

// LoadApprovalAPI reads the review API's environment.
func LoadApprovalAPI(getenv func(string) string) (ApprovalAPI, error) {
	l := &loader{getenv: getenv}
	c := ApprovalAPI{
		Bucket:    l.required(EnvStateBucket),
		Signing:   l.signing(),
		ReviewURL: l.optionalURL(EnvReviewURL),
		TopicARN:  strings.TrimSpace(getenv(EnvTopicARN)),
	}
	if c.TopicARN != "" && !strings.HasPrefix(c.TopicARN, "arn:") {
		// Optional, but a wrong one would leave every PAUSE decision's
		// announcement to fail.
		l.bad(EnvTopicARN, "%q is not an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME)", c.TopicARN)
	}
	c.Slack = l.slack()
	return c, errors.Join(l.errs...)
}
