package approval

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/hook"
)

// Policy is what the suite lets a service's hookDetails loosen. The suite's
// settings (the environment) are floors: by default hookDetails may only
// tighten them (more approvals, approvers from the suite's list, expiry that
// rejects, a shorter wait, more alarms, narrower windows). Each field that
// is set names a key services may loosen, and how far.
type Policy struct {
	// MinRequiredApprovals lets services lower requiredApprovals, to this at
	// the least; 0 lets them not lower it.
	MinRequiredApprovals int
	// MaxTimeout lets services set a longer timeout than the suite's, up to
	// this; 0 lets them not lengthen it.
	MaxTimeout time.Duration
	// MinTimeout lets services set a shorter timeout than the suite's where
	// expiry approves (a shorter wait approves sooner), down to this; 0
	// lets them not shorten it.
	MinTimeout time.Duration
	// ApproveOnExpiry lets services set onExpiry: approve where the suite
	// rejects. Expiry still approves only when every approver was reachable.
	ApproveOnExpiry bool
	// ApproverDomains and Approvers are the addresses services may name as
	// approvers besides the suite's own: any address at one of the domains,
	// or one of the list.
	ApproverDomains []string
	Approvers       []string
	// SharedLink lets services replace the suite's approvers by one shared
	// link (approvers: []).
	SharedLink bool
	// FirstDeployment lets services skip the gate for a first deployment
	// where the suite gates it.
	FirstDeployment bool
	// WaitForSmoke lets services stop waiting for the smoke verdict where
	// the suite waits.
	WaitForSmoke bool
	// Steps lets services ask once (steps: first) where the suite asks at
	// every step of a linear or canary deployment.
	Steps bool
	// ChangeWindows lets services replace the suite's change windows (and so
	// lift them); without it a service's windows can only narrow them.
	ChangeWindows bool
	// AbortOnAlarms lets services replace the suite's watched alarms; without
	// it a service's alarms are watched besides the suite's.
	AbortOnAlarms bool
	// SelfApproval lets whoever started a deployment (CloudTrail names them)
	// approve it; without it their approval is refused and never counted.
	SelfApproval bool
	// DeployerUnknown lets approvals count while who started the deployment
	// is not known yet; without it they wait (at most DeployerWait).
	DeployerUnknown bool
	// TimeoutAction lets a service's approval hook run with ECS's timeout
	// action CONTINUE, which lets the deployment go on when nobody decides
	// before the hook's ECS timeout; without it such a hook is refused.
	TimeoutAction bool
}

// Unpoliced returns err without the suite's policy refusals
// (*PolicyError): what remains is wrong whatever the suite's policy, such
// as a bad value. Nil when nothing else is wrong.
func Unpoliced(err error) error {
	switch e := err.(type) {
	case nil, *PolicyError:
		return nil
	case interface{ Unwrap() []error }:
		var rest []error
		for _, x := range e.Unwrap() {
			if y := Unpoliced(x); y != nil {
				rest = append(rest, y)
			}
		}
		return errors.Join(rest...)
	}
	return err
}

// UnknownSuite are settings that stand for a suite not known here (its
// settings live in another deployment): the built-in defaults with as many
// approvers as a request may have, so that a service's hookDetails can be
// checked for what is wrong whatever the suite's settings (Unpoliced).
func UnknownSuite() Settings {
	s := DefaultSettings()
	for i := range MaxApprovers {
		s.Approvers = append(s.Approvers, fmt.Sprintf("suite-approver-%d@gatehouse.invalid", i))
	}
	return s
}

// PolicyKeys are the keys of the approval section of GATEHOUSE_POLICY's
// "loosen" object.
func PolicyKeys() []string {
	return []string{"abortOnAlarms", "approvers", "changeWindows", "firstDeployment", "onExpiry", "requiredApprovals", "selfApproval", "deployerUnknown", "steps", "timeout", "timeoutAction", "waitForSmoke"}
}

// ParsePolicy reads the approval hook's section of the suite's policy, at
// path (such as GATEHOUSE_POLICY.approval):
//
//	{"loosen": {"requiredApprovals": {"min": 1}, "timeout": {"max": "72h", "min": "1h"},
//	  "onExpiry": true, "approvers": {"domains": ["example.com"],
//	  "list": ["release@example.org"], "sharedLink": false},
//	  "firstDeployment": true, "waitForSmoke": true,
//	  "changeWindows": true, "abortOnAlarms": true}}
//
// Every key is optional; unknown keys are refused.
func ParsePolicy(path string, raw json.RawMessage) (Policy, error) {
	var p Policy
	var d hook.Decoder
	at, loosen, err := hook.LoosenFields(&d, path, raw)
	if err != nil {
		return p, err
	}
	for _, k := range slices.Sorted(maps.Keys(loosen)) {
		p.loosen(&d, hook.Path(at, k), k, loosen[k])
	}
	return p, d.Err()
}

// loosen reads one key of the "loosen" object.
func (p *Policy) loosen(d *hook.Decoder, path, key string, raw json.RawMessage) {
	flag := func(dst *bool) { *dst, _ = d.Bool(path, raw) }
	switch key {
	case "requiredApprovals":
		if m, ok := limits(d, path, raw, "min"); ok {
			p.MinRequiredApprovals, _ = d.Integer(hook.Path(path, "min"), m["min"], 1, MaxApprovers)
		}
	case "timeout":
		m, ok := limits(d, path, raw, "max", "min")
		if !ok {
			break
		}
		if v, ok := m["max"]; ok {
			p.MaxTimeout, _ = d.Duration(hook.Path(path, "max"), v, MinTimeout, MaxTimeout)
		}
		if v, ok := m["min"]; ok {
			p.MinTimeout, _ = d.Duration(hook.Path(path, "min"), v, MinTimeout, MaxTimeout)
		}
	case "approvers":
		m, ok := limits(d, path, raw, "domains", "list", "sharedLink")
		if !ok {
			break
		}
		if v, ok := m["domains"]; ok {
			domains, _ := d.StringList(hook.Path(path, "domains"), v, MaxApprovers, 253)
			for _, dom := range domains {
				p.ApproverDomains = append(p.ApproverDomains, strings.ToLower(strings.TrimPrefix(dom, "@")))
			}
		}
		if v, ok := m["list"]; ok {
			var list []string
			if json.Unmarshal(v, &list) != nil {
				d.Want(hook.Path(path, "list"), "a JSON list of email addresses", v)
			} else if a, err := ParseApprovers(list); err != nil {
				d.Add(hook.Path(path, "list"), err)
			} else {
				p.Approvers = a
			}
		}
		if v, ok := m["sharedLink"]; ok {
			p.SharedLink, _ = d.Bool(hook.Path(path, "sharedLink"), v)
		}
	case "onExpiry":
		flag(&p.ApproveOnExpiry)
	case "firstDeployment":
		flag(&p.FirstDeployment)
	case "waitForSmoke":
		flag(&p.WaitForSmoke)
	case "steps":
		flag(&p.Steps)
	case "changeWindows":
		flag(&p.ChangeWindows)
	case "abortOnAlarms":
		flag(&p.AbortOnAlarms)
	case "timeoutAction":
		flag(&p.TimeoutAction)
	case "selfApproval":
		flag(&p.SelfApproval)
	case "deployerUnknown":
		flag(&p.DeployerUnknown)
	default:
		d.Unknown(path)
	}
}

// limits decodes an object whose keys are all among allowed.
func limits(d *hook.Decoder, path string, raw json.RawMessage, allowed ...string) (map[string]json.RawMessage, bool) {
	m, ok := d.Object(path, raw)
	if !ok {
		return nil, false
	}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if !slices.Contains(allowed, k) {
			d.Unknown(hook.Path(path, k))
			ok = false
		}
	}
	return m, ok
}

// PolicyError is a hookDetails key the suite's policy does not let a
// service set so: it names the key and the rule.
type PolicyError struct {
	// Key is the hookDetails key, such as requiredApprovals.
	Key string
	// Rule says what the suite allows, and how the policy would allow more.
	Rule string
	// Path is the key as its source spells it: hookDetails.requiredApprovals,
	// or tag gatehouse:requiredApprovals.
	Path string
}

func (e *PolicyError) Error() string { return e.Path + ": " + e.Rule }

// enforce refuses what s, the suite's settings overridden by hookDetails,
// loosens beyond what the suite's policy allows.
func enforce(suite Settings, s Settings, pathOf func(string) string) error {
	p := suite.Policy
	var errs []error
	refuse := func(key, format string, args ...any) {
		errs = append(errs, &PolicyError{Key: key, Rule: fmt.Sprintf(format, args...), Path: pathOf(key)})
	}
	if floor := suite.RequiredApprovals; s.RequiredApprovals < floor {
		switch {
		case p.MinRequiredApprovals == 0:
			refuse("requiredApprovals", "%d is below the suite's %d (GATEHOUSE_POLICY approval.loosen.requiredApprovals.min)", s.RequiredApprovals, floor)
		case s.RequiredApprovals < p.MinRequiredApprovals:
			refuse("requiredApprovals", "%d is below %d, the least allowed (GATEHOUSE_POLICY approval.loosen.requiredApprovals.min)", s.RequiredApprovals, p.MinRequiredApprovals)
		}
	}
	if len(suite.Approvers) > 0 {
		if len(s.Approvers) == 0 && !p.SharedLink {
			refuse("approvers", "a shared link in place of the suite's approvers (GATEHOUSE_POLICY approval.loosen.approvers.sharedLink)")
		}
		for _, a := range s.Approvers {
			if !slices.Contains(suite.Approvers, a) && !p.allowsApprover(a) {
				refuse("approvers", "%s is not one of the suite's approvers%s (GATEHOUSE_POLICY approval.loosen.approvers)", a, p.approverRule())
			}
		}
	} else if len(p.ApproverDomains) > 0 || len(p.Approvers) > 0 {
		for _, a := range s.Approvers {
			if !p.allowsApprover(a) {
				refuse("approvers", "%s is not an approver the suite's policy allows%s (GATEHOUSE_POLICY approval.loosen.approvers)", a, p.approverRule())
			}
		}
	}
	if suite.OnExpiry == Reject && s.OnExpiry == Approve && !p.ApproveOnExpiry {
		refuse("onExpiry", "approve where the suite rejects (GATEHOUSE_POLICY approval.loosen.onExpiry)")
	}
	if limit := max(suite.Timeout, p.MaxTimeout); s.OnExpiry == Reject && s.Timeout > limit {
		refuse("timeout", "%s is longer than %s, the longest allowed (GATEHOUSE_POLICY approval.loosen.timeout.max)", hook.FormatDuration(s.Timeout), hook.FormatDuration(limit))
	}
	if least := suite.Timeout; s.OnExpiry == Approve && s.Timeout < least && (p.MinTimeout == 0 || s.Timeout < p.MinTimeout) {
		// Where expiry approves, a shorter wait approves sooner.
		if p.MinTimeout > 0 {
			least = p.MinTimeout
		}
		refuse("timeout", "%s is shorter than %s, the least allowed where expiry approves (GATEHOUSE_POLICY approval.loosen.timeout.min)", hook.FormatDuration(s.Timeout), hook.FormatDuration(least))
	}
	if suite.FirstDeployment == FirstDeploymentGate && s.FirstDeployment == FirstDeploymentSkip && !p.FirstDeployment {
		refuse("firstDeployment", "skip where the suite gates first deployments (GATEHOUSE_POLICY approval.loosen.firstDeployment)")
	}
	if suite.Steps == StepsEach && s.Steps == StepsFirst && !p.Steps {
		refuse("steps", "first where the suite asks at every step (GATEHOUSE_POLICY approval.loosen.steps)")
	}
	if (suite.WaitForSmoke == nil || *suite.WaitForSmoke) && s.WaitForSmoke != nil && !*s.WaitForSmoke && !p.WaitForSmoke {
		// Unset, the suite waits whenever its smoke hook runs at the stage.
		refuse("waitForSmoke", "false stops the suite's wait for the smoke verdict (GATEHOUSE_POLICY approval.loosen.waitForSmoke)")
	}
	return errors.Join(errs...)
}

func (p Policy) allowsApprover(a string) bool {
	if slices.Contains(p.Approvers, a) {
		return true
	}
	_, domain, _ := strings.Cut(a, "@")
	return slices.Contains(p.ApproverDomains, domain)
}

func (p Policy) approverRule() string {
	var allowed []string
	for _, d := range p.ApproverDomains {
		allowed = append(allowed, "an address at "+d)
	}
	allowed = append(allowed, p.Approvers...)
	if len(allowed) == 0 {
		return ""
	}
	return ", nor " + strings.Join(allowed, ", ")
}

// floors say, in sentences for the review page, what the suite's settings
// and policy do not let a service loosen.
func (suite Settings) floors() []string {
	p := suite.Policy
	var out []string
	add := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	if p.MinRequiredApprovals == 0 || p.MinRequiredApprovals >= suite.RequiredApprovals {
		add("This service may not lower the quorum below %d.", suite.RequiredApprovals)
	} else {
		add("This service may lower the quorum from the suite's %d to %d at the least.", suite.RequiredApprovals, p.MinRequiredApprovals)
	}
	if len(suite.Approvers) > 0 {
		others := ""
		if rule := p.approverRule(); rule != "" {
			others = " or" + strings.TrimPrefix(rule, ", nor")
		}
		add("Approvers come from the suite's list of %d%s.", len(suite.Approvers), others)
		if !p.SharedLink {
			add("This service may not replace them by a shared link.")
		}
	}
	if suite.OnExpiry == Reject && !p.ApproveOnExpiry {
		add("Expiry rejects: this service may not make it approve.")
	}
	add("This service may not wait longer than %s for a decision.", hook.FormatDuration(max(suite.Timeout, p.MaxTimeout)))
	if suite.FirstDeployment == FirstDeploymentGate && !p.FirstDeployment {
		add("First deployments are gated: this service may not skip them.")
	}
	if suite.Steps == StepsEach && !p.Steps {
		add("Every step of a linear or canary deployment is approved: this service may not ask only once.")
	}
	if !suite.AbortOnAlarms.Empty() && !p.AbortOnAlarms {
		add("The suite's alarms (%s) are always watched.", suite.AbortOnAlarms)
	}
	if len(suite.ChangeWindows) > 0 && !p.ChangeWindows {
		add("The suite's change windows hold; this service's own can only narrow them.")
	}
	if len(suite.Freezes) > 0 {
		add("The suite's freezes hold; this service can only add to them.")
	}
	return out
}
