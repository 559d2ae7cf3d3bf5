package approval

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/gatehouse-dev/gatehouse/internal/hook"
)

// Limits on settings. MaxTimeout is the longest a PAUSE hook waits
// (timeoutConfiguration of 20160 minutes, 14 days): a request can never
// outlast its hook, and the hook's own timeout must be longer still so that
// the request expires, and onExpiry decides, first. A Lambda hook's request
// must expire within a day (CheckLambda).
const (
	MinTimeout       = time.Minute
	MaxTimeout       = hook.MaxTimeout
	DefaultTimeout   = 23 * time.Hour
	MaxApprovers     = 50
	MinCallbackDelay = 1
	MaxCallbackDelay = 900
	// MaxAlarmNames and MaxAlarmPrefixes bound abortOnAlarms, as for the bake
	// hook; MaxAlarmNameLen is CloudWatch's limit on an alarm name.
	MaxAlarmNames    = 100
	MaxAlarmPrefixes = 10
	MaxAlarmNameLen  = 255
)

// ErrLambdaLimit: a Lambda hook's approval whose timeout cannot expire
// before ECS ends the stage (ECS-HOOKS.md, section 3).
var ErrLambdaLimit = fmt.Errorf("cannot expire before ECS's 24-hour limit: ECS ends a stage with Lambda hooks after 24 hours and rolls the deployment back, so onExpiry could never take effect; give less than 24h, or use approval mode pause, where an ECS PAUSE hook waits up to 14 days")

// CheckLambda reports, wrapping ErrLambdaLimit and naming the timeout's
// key, why s cannot hold a deployment on a Lambda hook: its timeout is 24
// hours or more.
func (s Settings) CheckLambda(key string) error {
	if s.Timeout >= hook.MaxLambdaStage {
		return fmt.Errorf("%s: %s %w", key, hook.FormatDuration(s.Timeout), ErrLambdaLimit)
	}
	return nil
}

// First-deployment policies.
const (
	FirstDeploymentGate = "gate"
	FirstDeploymentSkip = "skip"
	// StepsFirst asks once per deployment and stage: the first step's
	// decision covers a linear or canary deployment's later steps.
	StepsFirst = "first"
	// StepsEach asks again at every step of a linear or canary deployment.
	StepsEach = "each"
)

// Settings shape an approval request. Environment variables give the defaults;
// a hook's hookDetails override them per service.
type Settings struct {
	// Approvers are the email addresses that may decide; empty means one
	// shared link.
	Approvers []string
	// RequiredApprovals is how many distinct approvers must approve.
	RequiredApprovals int
	// Timeout is how long the request waits for a decision.
	Timeout time.Duration
	// CallbackDelay is the number of seconds between polls.
	CallbackDelay int
	// FirstDeployment is gate or skip.
	FirstDeployment string
	// Steps is StepsFirst or StepsEach: whether a gate at a stage ECS runs
	// at every step of a linear or canary deployment
	// (PRE_PRODUCTION_TRAFFIC_SHIFT, PRODUCTION_TRAFFIC_SHIFT) asks once or
	// at each step.
	Steps string
	// OnExpiry is what expiry decides: Reject, or Approve as an explicit opt-in.
	OnExpiry Decision
	// ReminderAt is the fraction of Timeout after which a reminder goes out;
	// zero sends none.
	ReminderAt float64
	// WaitForSmoke holds the review messages until the smoke checks of the
	// same stage pass. Nil means: wait when a smoke hook runs at the stage.
	WaitForSmoke *bool
	// Gate names this gate when several approval hooks hold the same stage;
	// each name keeps its own request.
	Gate string
	// TestURL, when set, is where reviewers try green (an absolute http or
	// https URL); it wins over the discovered test listener. A hint for
	// people, so the policy's floors do not apply to it.
	TestURL string
	// AbortOnAlarms are CloudWatch alarms watched while the request is open:
	// one in ALARM closes it and fails the hook, so a green that degrades
	// during the wait rolls back instead of waiting for a decision.
	AbortOnAlarms Alarms
	// Freezes and ChangeWindows say when deployments need an emergency
	// override: during a freeze, and, when windows are configured, outside
	// all of them. Judged when the request is created.
	Freezes       []Freeze
	ChangeWindows []ChangeWindow
	// ServiceWindows are a service's own change windows, which narrow
	// ChangeWindows (the suite's): a deployment outside either set needs an
	// override. A service whose policy lets it replace the suite's windows
	// sets ChangeWindows instead.
	ServiceWindows []ChangeWindow
	// Policy is what the suite lets hookDetails loosen (see Policy); only
	// the suite sets it.
	Policy Policy
	// Floors say, for people, what the suite's policy does not let the
	// service loosen; Apply sets them.
	Floors []string
}

// Alarms names CloudWatch alarms, by name and by name prefix.
type Alarms struct {
	Names    []string `json:"names,omitempty"`
	Prefixes []string `json:"prefixes,omitempty"`
}

// String lists the alarms for people: names, then prefixes with a *.
func (a Alarms) String() string {
	list := slices.Clone(a.Names)
	for _, p := range a.Prefixes {
		list = append(list, p+"*")
	}
	return strings.Join(list, ", ")
}

// with returns a and, after them, those of b it does not name.
func (a Alarms) with(b Alarms) Alarms {
	out := Alarms{Names: slices.Clone(a.Names), Prefixes: slices.Clone(a.Prefixes)}
	for _, n := range b.Names {
		if !slices.Contains(out.Names, n) {
			out.Names = append(out.Names, n)
		}
	}
	for _, p := range b.Prefixes {
		if !slices.Contains(out.Prefixes, p) {
			out.Prefixes = append(out.Prefixes, p)
		}
	}
	return out
}

// Empty reports whether no alarm is named.
func (a Alarms) Empty() bool { return len(a.Names) == 0 && len(a.Prefixes) == 0 }

// validate checks the names and prefixes, naming them by key.
func (a Alarms) validate(key string) []error {
	var errs []error
	if len(a.Names) > MaxAlarmNames {
		errs = append(errs, fmt.Errorf("%s.names: %d alarms, at most %d", key, len(a.Names), MaxAlarmNames))
	}
	if len(a.Prefixes) > MaxAlarmPrefixes {
		errs = append(errs, fmt.Errorf("%s.prefixes: %d prefixes, at most %d", key, len(a.Prefixes), MaxAlarmPrefixes))
	}
	for field, list := range map[string][]string{"names": a.Names, "prefixes": a.Prefixes} {
		for i, n := range list {
			if n == "" || len(n) > MaxAlarmNameLen || strings.TrimSpace(n) != n || strings.ContainsFunc(n, unicode.IsControl) {
				errs = append(errs, fmt.Errorf("%s.%s[%d]: %q, want an alarm name of 1 to %d characters without surrounding spaces or control characters", key, field, i, hook.Clip(n, 40), MaxAlarmNameLen))
			}
		}
	}
	slices.SortFunc(errs, func(x, y error) int { return strings.Compare(x.Error(), y.Error()) })
	return errs
}

// ParseAlarmList splits a comma-separated list of alarm names or prefixes,
// dropping empty entries and duplicates.
func ParseAlarmList(s string) []string {
	var out []string
	for _, n := range strings.Split(s, ",") {
		if n = strings.TrimSpace(n); n != "" && !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

// gateName is what a gate name may look like: it becomes part of an S3 key.
var gateName = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,31}$`)

// DefaultSettings are the built-in defaults.
func DefaultSettings() Settings {
	return Settings{
		RequiredApprovals: 1,
		// Below ECS's 24 hours for a stage with Lambda hooks, so that the
		// request expires, and onExpiry decides, before ECS rolls back.
		Timeout:         DefaultTimeout,
		CallbackDelay:   30,
		FirstDeployment: FirstDeploymentGate,
		Steps:           StepsFirst,
		OnExpiry:        Reject,
		ReminderAt:      0.75,
	}
}

// Validate reports every inconsistency in s at once, naming each setting by
// its hookDetails key.
func (s Settings) Validate() error {
	var errs []error
	if s.RequiredApprovals < 1 {
		errs = append(errs, fmt.Errorf("requiredApprovals: %d, want at least 1", s.RequiredApprovals))
	}
	if len(s.Approvers) == 0 && s.RequiredApprovals > 1 {
		errs = append(errs, fmt.Errorf("requiredApprovals: %d needs that many approvers; a shared link cannot tell reviewers apart", s.RequiredApprovals))
	}
	if len(s.Approvers) > 0 && s.RequiredApprovals > len(s.Approvers) {
		errs = append(errs, fmt.Errorf("requiredApprovals: %d is more than the %d approvers", s.RequiredApprovals, len(s.Approvers)))
	}
	if len(s.Approvers) > MaxApprovers {
		errs = append(errs, fmt.Errorf("approvers: %d, at most %d", len(s.Approvers), MaxApprovers))
	}
	if s.Timeout < MinTimeout || s.Timeout > MaxTimeout {
		errs = append(errs, fmt.Errorf("timeout: %s, want between %s and %s", hook.FormatDuration(s.Timeout), hook.FormatDuration(MinTimeout), hook.FormatDuration(MaxTimeout)))
	}
	if s.CallbackDelay < MinCallbackDelay || s.CallbackDelay > MaxCallbackDelay {
		errs = append(errs, fmt.Errorf("callbackDelay: %d, want between %d and %d seconds", s.CallbackDelay, MinCallbackDelay, MaxCallbackDelay))
	}
	if s.FirstDeployment != FirstDeploymentGate && s.FirstDeployment != FirstDeploymentSkip {
		errs = append(errs, fmt.Errorf("firstDeployment: %q, want gate or skip", s.FirstDeployment))
	}
	if s.Steps != StepsFirst && s.Steps != StepsEach {
		errs = append(errs, fmt.Errorf("steps: %q, want first or each", s.Steps))
	}
	if s.OnExpiry != Approve && s.OnExpiry != Reject {
		errs = append(errs, fmt.Errorf("onExpiry: %q, want reject or approve", s.OnExpiry))
	}
	if s.Gate != "" && !gateName.MatchString(s.Gate) {
		errs = append(errs, fmt.Errorf("gate: %q, want up to 32 lowercase letters, digits and dashes", s.Gate))
	}
	errs = append(errs, s.AbortOnAlarms.validate("abortOnAlarms")...)
	errs = append(errs, validateFreezes("freezes", s.Freezes)...)
	if len(s.ChangeWindows) > MaxChangeWindows || len(s.ServiceWindows) > MaxChangeWindows {
		errs = append(errs, fmt.Errorf("changeWindows: %d windows, at most %d", max(len(s.ChangeWindows), len(s.ServiceWindows)), MaxChangeWindows))
	}
	if s.ReminderAt < 0 || s.ReminderAt >= 1 {
		errs = append(errs, fmt.Errorf("reminderAt: %g, want a fraction of the timeout from 0 (no reminder) to below 1", s.ReminderAt))
	}
	return errors.Join(errs...)
}

// ParseApprovers parses, checks and de-duplicates email addresses. Each must
// be a bare address (no display name): it becomes the SNS filter value.
func ParseApprovers(list []string) ([]string, error) {
	var out []string
	var errs []error
	for _, a := range list {
		a = strings.TrimSpace(a)
		if a == "" {
			continue
		}
		addr, err := mail.ParseAddress(a)
		if err != nil || addr.Address != a || addr.Name != "" {
			errs = append(errs, fmt.Errorf("%q is not an email address", a))
			continue
		}
		a = strings.ToLower(a)
		if !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	return out, errors.Join(errs...)
}

// ParseTimeout parses a Go duration such as "4h" or "90m".
func ParseTimeout(s string) (time.Duration, error) {
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration like 4h or 90m", s)
	}
	return d, nil
}

// Apply returns defaults overridden by hookDetails, a JSON object, and checks
// the result. Keys it does not know are refused, except those listed in
// ignore (keys meant for other gatehouse hooks sharing the same details).
// Every error names the key at fault.
func Apply(defaults Settings, hookDetails json.RawMessage, ignore ...string) (Settings, error) {
	keys, fields, err := hook.Document("hookDetails", hookDetails)
	if err != nil {
		return cloneDefaults(defaults), err
	}
	return apply(defaults, "hookDetails", func(k string) string { return "hookDetails." + k }, keys, fields, ignore)
}

// CheckTestURL reports why v cannot be where reviewers try green: it must
// be an absolute http or https URL with a host and no credentials.
func CheckTestURL(v string) error {
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return fmt.Errorf("%q is not an absolute http or https URL without credentials", v)
	}
	return nil
}

// cloneDefaults returns defaults with its own lists, for a service to
// change.
func cloneDefaults(defaults Settings) Settings {
	s := defaults
	s.Approvers = slices.Clone(defaults.Approvers)
	s.AbortOnAlarms = Alarms{Names: slices.Clone(defaults.AbortOnAlarms.Names), Prefixes: slices.Clone(defaults.AbortOnAlarms.Prefixes)}
	return s
}

// apply is Apply over a document of any source (hookDetails, a service's
// tags): each key's value is decoded as in hookDetails, and each error
// names the key as pathOf spells it in its source.
func apply(defaults Settings, source string, pathOf func(string) string, keys []string, fields map[string]json.RawMessage, ignore []string) (Settings, error) {
	s := cloneDefaults(defaults)
	var d hook.Decoder
	for _, k := range keys {
		apply, known := detailKeys[k]
		switch {
		case known:
			apply(&d, pathOf(k), fields[k], &s, defaults)
		case !slices.Contains(ignore, k):
			d.Unknown(pathOf(k))
		}
	}
	if err := d.Err(); err != nil {
		return s, err
	}
	s.Floors = defaults.floors()
	invalid := s.Validate()
	if invalid != nil {
		invalid = fmt.Errorf("%s: %w", source, invalid)
	}
	// Refusals by the suite's policy are *PolicyError.
	return s, errors.Join(invalid, enforce(defaults, s, pathOf))
}

// detailKeys applies each hookDetails key the approval hook reads to the
// settings. Ranges are checked by Validate, on the result as a whole.
var detailKeys = map[string]func(d *hook.Decoder, path string, raw json.RawMessage, s *Settings, defaults Settings){
	"approvers": func(d *hook.Decoder, path string, raw json.RawMessage, s *Settings, _ Settings) {
		var list []string
		if err := json.Unmarshal(raw, &list); err != nil {
			d.Want(path, "a JSON list of email addresses", raw)
			return
		}
		a, err := ParseApprovers(list)
		if err != nil {
			d.Add(path, err)
			return
		}
		s.Approvers = a
	},
	"requiredApprovals": func(d *hook.Decoder, path string, raw json.RawMessage, s *Settings, _ Settings) {
		decodeFresh(d, path, raw, "a whole number", &s.RequiredApprovals)
	},
	"timeout": func(d *hook.Decoder, path string, raw json.RawMessage, s *Settings, _ Settings) {
		v, ok := d.Text(path, raw, `a duration string like "4h"`)
		if !ok {
			return
		}
		t, err := ParseTimeout(v)
		if err != nil {
			d.Add(path, err)
			return
		}
		s.Timeout = t
	},
	"callbackDelay": func(d *hook.Decoder, path string, raw json.RawMessage, s *Settings, _ Settings) {
		decodeFresh(d, path, raw, "a whole number of seconds", &s.CallbackDelay)
	},
	"firstDeployment": func(d *hook.Decoder, path string, raw json.RawMessage, s *Settings, _ Settings) {
		decodeInto(d, path, raw, `"gate" or "skip"`, &s.FirstDeployment)
	},
	"steps": func(d *hook.Decoder, path string, raw json.RawMessage, s *Settings, _ Settings) {
		decodeFresh(d, path, raw, `"first" or "each"`, &s.Steps)
	},
	"onExpiry": func(d *hook.Decoder, path string, raw json.RawMessage, s *Settings, _ Settings) {
		decodeFresh(d, path, raw, `"reject" or "approve"`, &s.OnExpiry)
	},
	"reminderAt": func(d *hook.Decoder, path string, raw json.RawMessage, s *Settings, _ Settings) {
		decodeInto(d, path, raw, "a fraction of the timeout such as 0.75", &s.ReminderAt)
	},
	"gate": func(d *hook.Decoder, path string, raw json.RawMessage, s *Settings, _ Settings) {
		decodeInto(d, path, raw, `a name such as "security"`, &s.Gate)
	},
	"testUrl": func(d *hook.Decoder, path string, raw json.RawMessage, s *Settings, _ Settings) {
		var v string
		if json.Unmarshal(raw, &v) != nil || CheckTestURL(v) != nil {
			d.Want(path, "an absolute http or https URL, such as \"https://orders-test.example.com:8443\"", raw)
			return
		}
		s.TestURL = v
	},
	"abortOnAlarms": func(d *hook.Decoder, path string, raw json.RawMessage, s *Settings, defaults Settings) {
		var a Alarms
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&a); err != nil || hook.IsNull(raw) {
			d.Want(path, `{"names": [...], "prefixes": [...]}`, raw)
			return
		}
		if !defaults.Policy.AbortOnAlarms {
			// A service watches its alarms besides the suite's.
			a = a.with(defaults.AbortOnAlarms)
		}
		s.AbortOnAlarms = a
	},
	"freezes": func(d *hook.Decoder, path string, raw json.RawMessage, s *Settings, defaults Settings) {
		fs, err := ParseFreezes(path, raw)
		if err != nil {
			d.Include(err)
			return
		}
		// A service adds freezes to the organisation's; it cannot lift them.
		s.Freezes = append(slices.Clone(defaults.Freezes), fs...)
	},
	"changeWindows": func(d *hook.Decoder, path string, raw json.RawMessage, s *Settings, defaults Settings) {
		ws, err := ParseChangeWindows(path, raw)
		if err != nil {
			d.Include(err)
			return
		}
		if defaults.Policy.ChangeWindows {
			s.ChangeWindows = ws
			return
		}
		// A service's windows narrow the suite's; they cannot lift them.
		s.ServiceWindows = ws
	},
	"waitForSmoke": func(d *hook.Decoder, path string, raw json.RawMessage, s *Settings, _ Settings) {
		var b bool
		if !decodeInto(d, path, raw, "true or false", &b) {
			return
		}
		s.WaitForSmoke = &b
	},
}

// decodeFresh decodes raw into a zero value and stores it in dst, so that
// null reads as the zero value (which Validate refuses for the keys that
// use it) rather than leaving the suite's value in place.
func decodeFresh[T any](d *hook.Decoder, path string, raw json.RawMessage, want string, dst *T) {
	var v T
	if decodeInto(d, path, raw, want, &v) {
		*dst = v
	}
}

// decodeInto decodes raw into v, recording at path that want was
// expected when it does not fit.
func decodeInto(d *hook.Decoder, path string, raw json.RawMessage, want string, v any) bool {
	if err := json.Unmarshal(raw, v); err != nil {
		d.Want(path, want, raw)
		return false
	}
	return true
}
