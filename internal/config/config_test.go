package config

import (
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/internal/approval"
	"github.com/gatehouse-dev/gatehouse/internal/hook"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

const key40 = "0123456789abcdef0123456789abcdef01234567"

func TestLoadApprovalHook(t *testing.T) {
	c, err := LoadApprovalHook(env(map[string]string{
		EnvStateBucket:          "gatehouse-state",
		EnvTopicARN:             "arn:aws:sns:us-west-2:123456789012:gatehouse-reviews",
		EnvReviewURL:            "https://abc.lambda-url.us-west-2.on.aws/",
		EnvSigningKeySecret:     "arn:aws:secretsmanager:us-west-2:123456789012:secret:gatehouse-signing-AbCdEf",
		EnvApprovers:            "alice@example.com, Bob@example.com",
		EnvRequiredApprovals:    "2",
		EnvApprovalTimeout:      "4h",
		EnvCallbackDelay:        "60",
		EnvFirstDeployment:      "skip",
		EnvOnExpiry:             "reject",
		EnvReminderAt:           "0.5",
		EnvAbortOnAlarms:        "orders-5xx, orders-p99",
		EnvAbortOnAlarmPrefixes: "orders-canary-",
	}))
	if err != nil {
		t.Fatalf("LoadApprovalHook = %v", err)
	}
	want := approval.Settings{
		Approvers:         []string{"alice@example.com", "bob@example.com"},
		RequiredApprovals: 2,
		Timeout:           4 * time.Hour,
		CallbackDelay:     60,
		FirstDeployment:   "skip",
		OnExpiry:          approval.Reject,
		ReminderAt:        0.5,
	}
	if got := c.Defaults; strings.Join(got.Approvers, ",") != strings.Join(want.Approvers, ",") ||
		got.RequiredApprovals != want.RequiredApprovals || got.Timeout != want.Timeout || got.CallbackDelay != want.CallbackDelay ||
		got.FirstDeployment != want.FirstDeployment || got.OnExpiry != want.OnExpiry || got.ReminderAt != want.ReminderAt {
		t.Errorf("Defaults = %+v, want %+v", got, want)
	}
	if c.Signing.SecretARN == "" || c.Signing.Key != nil {
		t.Errorf("Signing = %+v, want the secret ARN only", c.Signing)
	}
	if got := c.Defaults.AbortOnAlarms.String(); got != "orders-5xx, orders-p99, orders-canary-*" {
		t.Errorf("AbortOnAlarms = %s, want both names and the prefix", got)
	}
}

func TestLoadApprovalHookDefaults(t *testing.T) {
	c, err := LoadApprovalHook(env(map[string]string{
		EnvStateBucket: "b", EnvTopicARN: "t", EnvReviewURL: "http://127.0.0.1:8080", EnvSigningKey: key40,
	}))
	if err != nil {
		t.Fatalf("LoadApprovalHook = %v", err)
	}
	d := approval.DefaultSettings()
	if c.Defaults.Timeout != 23*time.Hour || c.Defaults.RequiredApprovals != 1 || c.Defaults.CallbackDelay != 30 ||
		len(c.Defaults.Approvers) != 0 || c.Defaults.OnExpiry != d.OnExpiry {
		t.Errorf("Defaults = %+v, want the documented defaults", c.Defaults)
	}
	if c.Signing.Key == nil {
		t.Error("Signing.Key = nil, want the key from the environment")
	}
}

func TestLoadReportsEveryBadVariable(t *testing.T) {
	_, err := LoadApprovalHook(env(map[string]string{
		EnvReviewURL:         "ftp://x",
		EnvSigningKey:        "short",
		EnvRequiredApprovals: "two",
		EnvApprovalTimeout:   "forever",
		EnvApprovers:         "not-an-email",
		EnvCallbackDelay:     "soon",
		EnvReminderAt:        "most",
	}))
	if err == nil {
		t.Fatal("LoadApprovalHook = nil error, want many")
	}
	for _, name := range []string{EnvStateBucket, EnvTopicARN, EnvReviewURL, EnvSigningKey, EnvRequiredApprovals, EnvApprovalTimeout, EnvApprovers, EnvCallbackDelay, EnvReminderAt} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error does not name %s:\n%v", name, err)
		}
	}
	if one := hook.OneLine(err.Error()); strings.Contains(one, "\n") {
		t.Errorf("hook.OneLine() = %q, want one line", one)
	}
}

func TestSigningKeyRefusedWithSecret(t *testing.T) {
	_, err := LoadApprovalAPI(env(map[string]string{
		EnvStateBucket: "b", EnvSigningKeySecret: "arn:aws:secretsmanager:us-west-2:1:secret:s", EnvSigningKey: key40,
	}))
	if err == nil || !strings.Contains(err.Error(), EnvSigningKey) {
		t.Errorf("LoadApprovalAPI with both keys = %v, want GATEHOUSE_SIGNING_KEY refused", err)
	}
	_, err = LoadApprovalAPI(env(map[string]string{EnvStateBucket: "b"}))
	if err == nil || !strings.Contains(err.Error(), EnvSigningKeySecret) {
		t.Errorf("LoadApprovalAPI without a key = %v, want it to ask for %s", err, EnvSigningKeySecret)
	}
}

func TestUnenforceableQuorumRefused(t *testing.T) {
	_, err := LoadApprovalHook(env(map[string]string{
		EnvStateBucket: "b", EnvTopicARN: "t", EnvReviewURL: "https://x", EnvSigningKey: key40, EnvRequiredApprovals: "2",
	}))
	if err == nil || !strings.Contains(err.Error(), "requiredApprovals") {
		t.Errorf("LoadApprovalHook with quorum 2 and no approvers = %v, want it refused", err)
	}
}

func TestLoadApprovalHookFreezesAndWindows(t *testing.T) {
	base := map[string]string{EnvStateBucket: "b", EnvTopicARN: "t", EnvReviewURL: "http://127.0.0.1:8080", EnvSigningKey: key40}
	with := func(extra map[string]string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	c, err := LoadApprovalHook(env(with(map[string]string{
		EnvFreezes:       `[{"start": "2026-12-20T00:00:00Z", "end": "2027-01-04T00:00:00Z", "reason": "holidays"}]`,
		EnvChangeWindows: `[{"days": ["mon", "fri"], "start": "09:00", "end": "17:00", "timezone": "Europe/Berlin"}]`,
	})))
	if err != nil || len(c.Defaults.Freezes) != 1 || len(c.Defaults.ChangeWindows) != 1 || c.Defaults.ChangeWindows[0].String() != "mon,fri 09:00-17:00 Europe/Berlin" {
		t.Fatalf("LoadApprovalHook = %+v, %v", c.Defaults, err)
	}
	_, err = LoadApprovalHook(env(with(map[string]string{
		EnvFreezes:       `[{"start": "2027-01-04T00:00:00Z", "end": "2026-12-20T00:00:00Z"}]`,
		EnvChangeWindows: `[{"days": ["someday"], "start": "09:00", "end": "17:00", "timezone": "UTC"}]`,
	})))
	for _, want := range []string{EnvFreezes + "[0]: want a start and a later end", EnvChangeWindows + `[0].days: "someday"`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("LoadApprovalHook = %v, want it to say %q", err, want)
		}
	}
}

// TestReviewURL: the review URL may have a path (a custom domain in front of
// the Function URL); the review API takes it optionally, to serve under it.
func TestReviewURL(t *testing.T) {
	api := map[string]string{EnvStateBucket: "b", EnvSigningKey: key40}
	c, err := LoadApprovalAPI(env(api))
	if err != nil || c.ReviewURL != "" {
		t.Errorf("LoadApprovalAPI without a review URL = %+v, %v, want it optional", c, err)
	}
	api[EnvReviewURL] = "https://deploy.example.com/gatehouse"
	if c, err := LoadApprovalAPI(env(api)); err != nil || c.ReviewURL != "https://deploy.example.com/gatehouse" {
		t.Errorf("LoadApprovalAPI = %+v, %v, want the review URL", c, err)
	}
	api[EnvTopicARN] = "arn:aws:sns:us-west-2:123456789012:gatehouse-reviews"
	if c, err := LoadApprovalAPI(env(api)); err != nil || c.TopicARN != api[EnvTopicARN] {
		t.Errorf("LoadApprovalAPI = %+v, %v, want the topic (pause mode)", c, err)
	}
	api[EnvTopicARN] = "gatehouse-reviews"
	if _, err := LoadApprovalAPI(env(api)); err == nil || !strings.Contains(err.Error(), EnvTopicARN) {
		t.Errorf("LoadApprovalAPI with topic %q = %v, want it refused naming %s", api[EnvTopicARN], err, EnvTopicARN)
	}
	delete(api, EnvTopicARN)
	for _, bad := range []string{"deploy.example.com/gatehouse", "https:///gatehouse", "https://x/gatehouse?a=1", "https://x/gatehouse#f", "ftp://x"} {
		api[EnvReviewURL] = bad
		if _, err := LoadApprovalAPI(env(api)); err == nil || !strings.Contains(err.Error(), EnvReviewURL) {
			t.Errorf("LoadApprovalAPI with review URL %q = %v, want it refused naming %s", bad, err, EnvReviewURL)
		}
		hookEnv := map[string]string{EnvStateBucket: "b", EnvTopicARN: "t", EnvReviewURL: bad, EnvSigningKey: key40}
		if _, err := LoadApprovalHook(env(hookEnv)); err == nil || !strings.Contains(err.Error(), EnvReviewURL) {
			t.Errorf("LoadApprovalHook with review URL %q = %v, want it refused", bad, err)
		}
	}
}

// TestLoadPolicy: GATEHOUSE_POLICY's approval section becomes the
// settings' policy; a bad section, or a section no hook knows, is refused
// naming it.
func TestLoadPolicy(t *testing.T) {
	base := map[string]string{EnvStateBucket: "b", EnvTopicARN: "t", EnvReviewURL: "http://127.0.0.1:8080", EnvSigningKey: key40}
	with := func(policy string) map[string]string {
		m := maps.Clone(base)
		m[EnvPolicy] = policy
		return m
	}
	c, err := LoadApprovalHook(env(with(`{"approval": {"loosen": {"requiredApprovals": {"min": 1}, "onExpiry": true}}, "smoke": {}}`)))
	if err != nil {
		t.Fatal(err)
	}
	if p := c.Defaults.Policy; p.MinRequiredApprovals != 1 || !p.ApproveOnExpiry || p.SharedLink {
		t.Errorf("Policy = %+v", p)
	}
	if c, err := LoadApprovalHook(env(base)); err != nil || !cmp.Equal(c.Defaults.Policy, approval.Policy{}) {
		t.Errorf("without %s: Policy = %+v, %v; want no loosening", EnvPolicy, c.Defaults.Policy, err)
	}
	for policy, want := range map[string]string{
		`{"approval": {"loosen": {"quorum": 1}}}`: "GATEHOUSE_POLICY.approval.loosen.quorum: unknown key",
		`{"aproval": {}}`:                         `GATEHOUSE_POLICY.aproval: unknown section: want "approval", "bake", "smoke"`,
		`[]`:                                      "GATEHOUSE_POLICY: want a JSON object",
	} {
		if _, err := LoadApprovalHook(env(with(policy))); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s=%s: %v, want %q", EnvPolicy, policy, err, want)
		}
	}
}

func TestParseAccounts(t *testing.T) {
	got, err := ParseAccounts(" 123456789012, ,210987654321")
	if err != nil || !cmp.Equal([]string{"123456789012", "210987654321"}, got) {
		t.Errorf("ParseAccounts = %v, %v", got, err)
	}
	for _, bad := range []string{"12345", "12345678901a", "arn:aws:iam::123456789012:root"} {
		if _, err := ParseAccounts(bad); err == nil {
			t.Errorf("ParseAccounts(%q) = nil error", bad)
		}
	}
}

func TestDeployerLookup(t *testing.T) {
	base := map[string]string{EnvStateBucket: "b", EnvTopicARN: "t", EnvReviewURL: "http://127.0.0.1:8080", EnvSigningKey: key40}
	for v, want := range map[string]bool{"": false, "cloudtrail": true} {
		m := maps.Clone(base)
		m[EnvDeployerLookup] = v
		if c, err := LoadApprovalHook(env(m)); err != nil || c.DeployerLookup != want {
			t.Errorf("%s=%q: %v, %v; want %v", EnvDeployerLookup, v, c.DeployerLookup, err, want)
		}
	}
	m := maps.Clone(base)
	m[EnvDeployerLookup] = "yes"
	if _, err := LoadApprovalHook(env(m)); err == nil || !strings.Contains(err.Error(), `GATEHOUSE_DEPLOYER_LOOKUP: "yes": want cloudtrail, or unset`) {
		t.Errorf("bad value: %v", err)
	}
}

// TestSlack: Slack is configured by its secret in AWS, or by its two
// secrets given directly for local runs; nothing set is no Slack; each
// half-configuration is refused naming the variable.
func TestSlack(t *testing.T) {
	base := map[string]string{EnvStateBucket: "b", EnvSigningKey: strings.Repeat("k", 40)}
	with := func(m map[string]string) map[string]string {
		out := map[string]string{}
		for k, v := range base {
			out[k] = v
		}
		for k, v := range m {
			out[k] = v
		}
		return out
	}
	c, err := LoadApprovalAPI(env(base))
	if err != nil || c.Slack != nil {
		t.Errorf("nothing set: Slack %+v, %v; want none", c.Slack, err)
	}
	c, err = LoadApprovalAPI(env(with(map[string]string{EnvSlackSecret: "arn:aws:secretsmanager:us-east-1:1:secret:slack"})))
	if err != nil || c.Slack == nil || c.Slack.SecretARN != "arn:aws:secretsmanager:us-east-1:1:secret:slack" {
		t.Errorf("the secret: %+v, %v", c.Slack, err)
	}
	c, err = LoadApprovalAPI(env(with(map[string]string{EnvSlackSigningSecret: "s", EnvSlackBotToken: "xoxb-1", EnvSlackAPIURL: "http://127.0.0.1:9/api/"})))
	if err != nil || c.Slack == nil || c.Slack.Local.BotToken != "xoxb-1" || c.Slack.APIURL != "http://127.0.0.1:9/api/" {
		t.Errorf("local secrets: %+v, %v", c.Slack, err)
	}
	for name, tc := range map[string]struct {
		env  map[string]string
		want string
	}{
		"both ways":         {map[string]string{EnvSlackSecret: "arn:x", EnvSlackBotToken: "xoxb"}, EnvSlackBotToken},
		"both ways, secret": {map[string]string{EnvSlackSecret: "arn:x", EnvSlackSigningSecret: "s"}, EnvSlackSigningSecret},
		"not an ARN":        {map[string]string{EnvSlackSecret: "slack"}, EnvSlackSecret},
		"token alone":       {map[string]string{EnvSlackBotToken: "xoxb"}, EnvSlackSigningSecret},
		"API URL alone":     {map[string]string{EnvSlackAPIURL: "https://slack.example.com/api/"}, EnvSlackAPIURL},
		"API URL not URL":   {map[string]string{EnvSlackSecret: "arn:x", EnvSlackAPIURL: "slack.com"}, EnvSlackAPIURL},
	} {
		if _, err := LoadApprovalAPI(env(with(tc.env))); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error naming %s", name, err, tc.want)
		}
	}
}

// TestTestURL: where reviewers try green is an absolute http(s) URL, or the
// variable is refused, naming it.
func TestTestURL(t *testing.T) {
	base := map[string]string{EnvStateBucket: "b", EnvTopicARN: "arn:aws:sns:us-east-1:1:t", EnvReviewURL: "https://review.example.com/", EnvSigningKey: strings.Repeat("k", 40)}
	base[EnvTestURL] = "https://orders-test.example.com:8443"
	c, err := LoadApprovalHook(env(base))
	if err != nil || c.Defaults.TestURL != "https://orders-test.example.com:8443" {
		t.Errorf("a test URL: %q, %v", c.Defaults.TestURL, err)
	}
	for _, bad := range []string{"orders-test.example.com", "ftp://orders-test.example.com", "https://user:pass@orders-test.example.com"} {
		base[EnvTestURL] = bad
		if _, err := LoadApprovalHook(env(base)); err == nil || !strings.Contains(err.Error(), EnvTestURL) {
			t.Errorf("%q: %v, want an error naming %s", bad, err, EnvTestURL)
		}
	}
}
