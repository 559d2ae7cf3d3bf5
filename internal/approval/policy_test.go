package approval

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/internal/hook"
)

// suite is the platform's settings of the measurements: approvers
// alice and bob, two required, expiry rejects after a day, and alarms and
// change windows of its own.
func suite(t *testing.T) Settings {
	t.Helper()
	s := DefaultSettings()
	s.Approvers = []string{"alice@example.com", "bob@example.com"}
	s.RequiredApprovals = 2
	s.AbortOnAlarms = Alarms{Names: []string{"orders-5xx"}}
	ws, err := ParseChangeWindows("GATEHOUSE_CHANGE_WINDOWS", []byte(`[{"days": ["mon", "tue", "wed", "thu"], "start": "09:00", "end": "17:00", "timezone": "UTC"}]`))
	if err != nil {
		t.Fatal(err)
	}
	s.ChangeWindows = ws
	s.Steps = StepsEach
	return s
}

// TestServicesCannotLoosenTheSuite: each way the issue measured a service
// undoing the suite's settings is refused, naming the key and the rule.
func TestServicesCannotLoosenTheSuite(t *testing.T) {
	tests := []struct {
		name    string
		details string
		want    []string
	}{
		{"shared link, one approval, expiry approves after a minute",
			`{"approvers": [], "requiredApprovals": 1, "onExpiry": "approve", "timeout": "1m"}`,
			[]string{
				"hookDetails.approvers: a shared link in place of the suite's approvers (GATEHOUSE_POLICY approval.loosen.approvers.sharedLink)",
				"hookDetails.requiredApprovals: 1 is below the suite's 2 (GATEHOUSE_POLICY approval.loosen.requiredApprovals.min)",
				"hookDetails.onExpiry: approve where the suite rejects",
				"hookDetails.timeout: 1m is shorter than 23h, the least allowed where expiry approves",
			}},
		{"one approval", `{"requiredApprovals": 1}`, []string{"hookDetails.requiredApprovals: 1 is below the suite's 2"}},
		{"an approver the suite does not know", `{"approvers": ["alice@example.com", "mallory@example.net"]}`,
			[]string{"hookDetails.approvers: mallory@example.net is not one of the suite's approvers (GATEHOUSE_POLICY approval.loosen.approvers)"}},
		{"a longer wait", `{"timeout": "72h"}`, []string{"hookDetails.timeout: 72h is longer than 23h, the longest allowed"}},
		{"first deployments skipped", `{"firstDeployment": "skip"}`, []string{"hookDetails.firstDeployment: skip where the suite gates first deployments"}},
		{"no wait for the smoke verdict", `{"waitForSmoke": false}`, []string{"hookDetails.waitForSmoke: false stops the suite's wait for the smoke verdict"}},
		{"once for every step", `{"steps": "first"}`, []string{"hookDetails.steps: first where the suite asks at every step (GATEHOUSE_POLICY approval.loosen.steps)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Apply(suite(t), json.RawMessage(tt.details))
			if err == nil {
				t.Fatalf("Apply(%s) = nil error, want a refusal", tt.details)
			}
			var pe *PolicyError
			if !errors.As(err, &pe) {
				t.Errorf("Apply(%s) = %v, want a PolicyError", tt.details, err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Apply(%s) =\n%s\nwant it to contain %q", tt.details, err, w)
				}
			}
		})
	}
}

// TestServicesMayTighten: what only tightens the suite is accepted as given.
func TestServicesMayTighten(t *testing.T) {
	s, err := Apply(suite(t), json.RawMessage(`{"approvers": ["alice@example.com", "bob@example.com"], "requiredApprovals": 2,
		"timeout": "4h", "abortOnAlarms": {"names": ["orders-latency"]}, "waitForSmoke": true, "firstDeployment": "gate"}`))
	if err != nil {
		t.Fatalf("Apply(tighter) = %v", err)
	}
	if s.Timeout != 4*time.Hour || s.RequiredApprovals != 2 {
		t.Errorf("Apply(tighter) = timeout %s, %d required", s.Timeout, s.RequiredApprovals)
	}
	// The service's alarm is watched besides the suite's.
	if diff := cmp.Diff(Alarms{Names: []string{"orders-latency", "orders-5xx"}}, s.AbortOnAlarms); diff != "" {
		t.Errorf("abortOnAlarms (-want +got):\n%s", diff)
	}
}

// TestServiceAlarmsAndWindowsCannotBeLifted: an empty abortOnAlarms keeps
// the suite's alarms watched, and an empty or wider changeWindows keeps the
// suite's windows, which a service's windows can only narrow.
func TestServiceAlarmsAndWindowsCannotBeLifted(t *testing.T) {
	s, err := Apply(suite(t), json.RawMessage(`{"abortOnAlarms": {}, "changeWindows": []}`))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(Alarms{Names: []string{"orders-5xx"}}, s.AbortOnAlarms); diff != "" {
		t.Errorf("abortOnAlarms: {} (-want +got):\n%s", diff)
	}
	saturday := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	monday := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	if why := s.FrozenAt(saturday); !strings.Contains(why, "outside the change windows") {
		t.Errorf("changeWindows: [] on a Saturday: FrozenAt = %q, want outside the suite's windows", why)
	}
	// Every day, all day: still only the suite's days.
	wide, err := Apply(suite(t), json.RawMessage(`{"changeWindows": [{"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], "start": "00:00", "end": "24:00", "timezone": "UTC"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if why := wide.FrozenAt(saturday); !strings.Contains(why, "outside the change windows") {
		t.Errorf("a wider window on a Saturday: FrozenAt = %q, want outside the suite's windows", why)
	}
	// Mornings only: narrower than the suite's.
	narrow, err := Apply(suite(t), json.RawMessage(`{"changeWindows": [{"days": ["mon"], "start": "09:00", "end": "11:00", "timezone": "UTC"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if why := narrow.FrozenAt(monday); !strings.Contains(why, "outside the service's change windows") {
		t.Errorf("narrower window at Monday noon: FrozenAt = %q, want outside the service's windows", why)
	}
	if why := narrow.FrozenAt(monday.Add(-2 * time.Hour)); why != "" {
		t.Errorf("narrower window at Monday 10:00: FrozenAt = %q, want none", why)
	}
}

// TestPolicyLoosens: what the policy names may be loosened, within its
// limits, and no further.
func TestPolicyLoosens(t *testing.T) {
	p, err := ParsePolicy("GATEHOUSE_POLICY.approval", json.RawMessage(`{"loosen": {"requiredApprovals": {"min": 1}, "timeout": {"max": "72h", "min": "2h"},
		"onExpiry": true, "approvers": {"domains": ["@Example.org"], "list": ["release@example.net"]}, "firstDeployment": true,
		"changeWindows": true, "abortOnAlarms": true}}`))
	if err != nil {
		t.Fatal(err)
	}
	base := suite(t)
	base.Policy = p
	s, err := Apply(base, json.RawMessage(`{"approvers": ["alice@example.com", "carol@example.org", "release@example.net"], "requiredApprovals": 1,
		"onExpiry": "approve", "timeout": "2h", "firstDeployment": "skip", "changeWindows": [], "abortOnAlarms": {}}`))
	if err != nil {
		t.Fatalf("Apply(within the policy) = %v", err)
	}
	if s.RequiredApprovals != 1 || s.OnExpiry != Approve || len(s.ChangeWindows) != 0 || !s.AbortOnAlarms.Empty() || s.Timeout != 2*time.Hour {
		t.Errorf("Apply(within the policy) = %+v", s)
	}
	for details, want := range map[string]string{
		`{"timeout": "73h"}`:                       "hookDetails.timeout: 73h is longer than 72h, the longest allowed",
		`{"onExpiry": "approve", "timeout": "1h"}`: "hookDetails.timeout: 1h is shorter than 2h, the least allowed where expiry approves",
		`{"approvers": ["eve@example.com"]}`:       "eve@example.com is not one of the suite's approvers, nor an address at example.org, release@example.net",
		`{"approvers": []}`:                        "shared link",
		`{"requiredApprovals": 0}`:                 "requiredApprovals: 0, want at least 1",
	} {
		if _, err := Apply(base, json.RawMessage(details)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Apply(%s) = %v, want %q", details, err, want)
		}
	}
}

func TestParsePolicyErrors(t *testing.T) {
	for raw, want := range map[string]string{
		`[]`:                              "P: want a JSON object",
		`{"loosn": {}}`:                   "P.loosn: unknown key",
		`{"loosen": {"quorum": true}}`:    "P.loosen.quorum: unknown key",
		`{"loosen": {"onExpiry": "yes"}}`: "P.loosen.onExpiry: want true or false",
		`{"loosen": {"requiredApprovals": {"min": 0}}}`:                  "P.loosen.requiredApprovals.min: want a whole number from 1",
		`{"loosen": {"requiredApprovals": {"least": 1}}}`:                "P.loosen.requiredApprovals.least: unknown key",
		`{"loosen": {"timeout": {"max": "forever"}}}`:                    "P.loosen.timeout.max: want a duration",
		`{"loosen": {"approvers": {"list": ["Bob <bob@example.com>"]}}}`: "P.loosen.approvers.list",
	} {
		if _, err := ParsePolicy("P", json.RawMessage(raw)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParsePolicy(%s) = %v, want %q", raw, err, want)
		}
	}
	if p, err := ParsePolicy("P", json.RawMessage(`{}`)); err != nil || !cmp.Equal(p, Policy{}) {
		t.Errorf("ParsePolicy({}) = %+v, %v; want no loosening", p, err)
	}
}

// TestFloors: the page says what the suite does not let the service loosen,
// and what its policy does.
func TestFloors(t *testing.T) {
	s, err := Apply(suite(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"This service may not lower the quorum below 2.",
		"Approvers come from the suite's list of 2.",
		"This service may not replace them by a shared link.",
		"Expiry rejects: this service may not make it approve.",
		"This service may not wait longer than 23h for a decision.",
		"First deployments are gated: this service may not skip them.",
		"Every step of a linear or canary deployment is approved: this service may not ask only once.",
		"The suite's alarms (orders-5xx) are always watched.",
		"The suite's change windows hold; this service's own can only narrow them.",
	}
	if diff := cmp.Diff(want, s.Floors); diff != "" {
		t.Errorf("floors (-want +got):\n%s", diff)
	}
	loose := suite(t)
	loose.Policy = Policy{MinRequiredApprovals: 1, MaxTimeout: 72 * time.Hour, ApproverDomains: []string{"example.org"}, SharedLink: true}
	s, err = Apply(loose, nil)
	if err != nil {
		t.Fatal(err)
	}
	want = []string{
		"This service may lower the quorum from the suite's 2 to 1 at the least.",
		"Approvers come from the suite's list of 2 or an address at example.org.",
		"Expiry rejects: this service may not make it approve.",
		"This service may not wait longer than 72h for a decision.",
		"First deployments are gated: this service may not skip them.",
		"Every step of a linear or canary deployment is approved: this service may not ask only once.",
		"The suite's alarms (orders-5xx) are always watched.",
		"The suite's change windows hold; this service's own can only narrow them.",
	}
	if diff := cmp.Diff(want, s.Floors); diff != "" {
		t.Errorf("floors with a policy (-want +got):\n%s", diff)
	}
}

// TestRefusalIsAudited: a configuration the policy refuses answers FAILED
// naming the key and the rule, and the same reason is recorded as a closed
// request that nobody was asked about; a pending request at the key is
// closed so, and a repeated call changes nothing.
func TestRefusalIsAudited(t *testing.T) {
	f := newFixture(t, []string{"alice@example.com", "bob@example.com"}, 2)
	h := hook.Wrap(HookHandler(f.gate, f.poll.Settings), hook.Options{})
	payload, _ := json.Marshal(map[string]any{
		"executionId": "e", "lifecycleStage": hook.StagePostTestTrafficShift, "resourceArn": deploymentARN,
		"executionDetails": map[string]any{"serviceArn": f.poll.ServiceARN, "targetServiceRevisionArn": "rev-green"},
		"hookDetails":      map[string]any{"requiredApprovals": 1},
	})
	for call := range 2 {
		res, err := h(context.Background(), payload)
		if err != nil || res.HookStatus != hook.StatusFailed || !strings.Contains(res.Reason, "hookDetails.requiredApprovals: 1 is below the suite's 2") {
			t.Fatalf("call %d: %s %q, %v; want FAILED naming requiredApprovals", call, res.HookStatus, res.Reason, err)
		}
		r, _ := f.load(t)
		if r.Outcome != Refused || !strings.Contains(r.Refusal, "requiredApprovals: 1 is below the suite's 2") || len(r.History) != 2 {
			t.Errorf("call %d: recorded %s %q with %d events, want refused with the reason and 2 events", call, r.Outcome, r.Refusal, len(r.History))
		}
		if last := r.History[len(r.History)-1]; !strings.Contains(last.Detail, "refused by the suite's policy: ") || !strings.Contains(last.Detail, "requiredApprovals") {
			t.Errorf("call %d: audit entry %q, want the refusal", call, last.Detail)
		}
	}
	if n := len(f.n.sent()); n != 0 {
		t.Errorf("%d messages sent for a refused configuration, want none", n)
	}

	// A request already open (its configuration changed under it) is closed.
	g := newFixture(t, []string{"alice@example.com", "bob@example.com"}, 2)
	g.mustPoll(t, Pending)
	if err := g.gate.Refuse(context.Background(), g.poll, "hookDetails.requiredApprovals: refused"); err != nil {
		t.Fatal(err)
	}
	if r, _ := g.load(t); r.Outcome != Refused || r.Refusal != "hookDetails.requiredApprovals: refused" {
		t.Errorf("open request after Refuse: %s %q, want refused", r.Outcome, r.Refusal)
	}
	if v := g.mustPoll(t, Refused); v.Pass {
		t.Error("a refused request passes")
	}
	decided := 0
	for _, m := range g.n.sent() {
		if strings.Contains(m.Subject, "refused") {
			decided++
		}
	}
	if decided != 2 {
		t.Errorf("%d decision notices after the open request was refused, want 2 (alice and bob were asked)", decided)
	}

	// A named gate's refusal is recorded at that gate's request.
	n := newFixture(t, []string{"alice@example.com", "bob@example.com"}, 2)
	hn := hook.Wrap(HookHandler(n.gate, n.poll.Settings), hook.Options{})
	payload, _ = json.Marshal(map[string]any{
		"executionId": "e", "lifecycleStage": hook.StagePostTestTrafficShift, "resourceArn": deploymentARN,
		"executionDetails": map[string]any{"serviceArn": n.poll.ServiceARN, "targetServiceRevisionArn": "rev-green"},
		"hookDetails":      map[string]any{"requiredApprovals": 1, "gate": "security"},
	})
	if res, _ := hn(context.Background(), payload); res.HookStatus != hook.StatusFailed {
		t.Fatalf("named gate: %s %q", res.HookStatus, res.Reason)
	}
	if _, err := n.st.Get(context.Background(), GateKey(n.poll.Deployment, hook.StagePostTestTrafficShift, "security")); err != nil {
		t.Errorf("the security gate's refusal is not recorded at its key: %v", err)
	}
	if _, err := n.st.Get(context.Background(), n.key); err == nil {
		t.Error("the security gate's refusal was recorded at the unnamed gate's key")
	}
}

// TestTimeoutContinue: when ECS reports this approval hook's timeout
// action as CONTINUE, silence would become approval at the hook's ECS
// timeout: the request is refused (and recorded so) unless the policy
// allows it, and then the page's data, the messages and the audit say so.
func TestTimeoutContinue(t *testing.T) {
	const self = "arn:aws:lambda:us-west-2:123456789012:function:gatehouse-approval-hook"
	for _, allowed := range []bool{false, true} {
		f := newFixture(t, []string{"alice@example.com"}, 1)
		f.gate.Function = "gatehouse-approval-hook"
		f.gate.Describer = fakeDescriber{d: Change{SourceTaskDefinitions: []string{"orders:41"}, Hooks: []string{self}, ContinueOnTimeout: []string{self}}}
		f.poll.Settings.Policy.TimeoutAction = allowed
		v, err := f.gate.Poll(context.Background(), f.poll)
		if err != nil {
			t.Fatal(err)
		}
		r, _ := f.load(t)
		if !allowed {
			if v.Outcome != Refused || v.Pass || !strings.Contains(v.Reason, "timeout action as CONTINUE") || r.Outcome != Refused {
				t.Errorf("not allowed: %+v, stored %s; want refused", v, r.Outcome)
			}
			if n := len(f.n.sent()); n != 0 {
				t.Errorf("not allowed: %d messages sent", n)
			}
			continue
		}
		if v.Outcome != Pending || !r.TimeoutContinues || !strings.Contains(r.History[1].Detail, "timeout action for this approval hook is CONTINUE") {
			t.Errorf("allowed: %+v, stored %+v", v, r)
		}
		if msgs := f.n.sent(); len(msgs) != 1 || !strings.Contains(msgs[0].Body, "ECS TIMEOUT: CONTINUE") {
			t.Errorf("allowed: messages %+v, want the review message to say so", msgs)
		}
	}
	// Another hook's CONTINUE is not this one's.
	f := newFixture(t, []string{"alice@example.com"}, 1)
	f.gate.Function = "gatehouse-approval-hook"
	f.gate.Describer = fakeDescriber{d: Change{SourceTaskDefinitions: []string{"orders:41"}, ContinueOnTimeout: []string{"arn:aws:lambda:us-west-2:123456789012:function:other"}}}
	f.mustPoll(t, Pending)
}

// TestTimeoutContinueToldLater: a request opened while ECS could not be
// described learns this hook's timeout action on a later call, and a
// CONTINUE the policy does not allow closes it as refused.
func TestTimeoutContinueToldLater(t *testing.T) {
	const self = "arn:aws:lambda:us-west-2:123456789012:function:gatehouse-approval-hook"
	f := newFixture(t, []string{"alice@example.com"}, 1)
	f.gate.Function = "gatehouse-approval-hook"
	f.gate.Describer = fakeDescriber{err: errors.New("ThrottlingException: rate exceeded")}
	f.mustPoll(t, Pending)
	f.gate.Describer = fakeDescriber{d: Change{SourceTaskDefinitions: []string{"orders:41"}, Hooks: []string{self}, ContinueOnTimeout: []string{self}}}
	if v := f.mustPoll(t, Refused); v.Pass || !strings.Contains(v.Reason, "timeout action as CONTINUE") {
		t.Errorf("verdict %+v, want refused", v)
	}
}

// TestApproverDomainMatchesWhole: a policy that allows addresses at
// example.com allows exactly that domain: not a longer name that ends the
// same (evilexample.com), not a subdomain, not a look-alike with the domain
// inside the local part.
func TestApproverDomainMatchesWhole(t *testing.T) {
	suite := DefaultSettings()
	suite.Approvers = []string{"alice@example.com"}
	p, err := ParsePolicy("GATEHOUSE_POLICY.approval", json.RawMessage(`{"loosen": {"approvers": {"domains": ["example.com"]}}}`))
	if err != nil {
		t.Fatal(err)
	}
	suite.Policy = p
	for approver, allowed := range map[string]bool{
		"bob@example.com":         true,
		"Bob@Example.com":         true,
		"x@evilexample.com":       false,
		"x@mail.example.com":      false,
		"example.com@evil.test":   false,
		"x@example.com.evil.test": false,
		"x@notexample.com":        false,
	} {
		_, err := Apply(suite, json.RawMessage(`{"approvers": ["`+approver+`"]}`))
		if (err == nil) != allowed {
			t.Errorf("approver %s: Apply = %v, want allowed %v", approver, err, allowed)
		}
	}
}

// TestUnpoliced: what the suite's policy refuses is left out; what is
// wrong whatever the policy stays.
func TestUnpoliced(t *testing.T) {
	suite := DefaultSettings()
	suite.Approvers = []string{"alice@example.com"}
	_, err := Apply(suite, json.RawMessage(`{"approvers": ["bob@example.com"], "requiredApprovals": 2}`))
	var pe *PolicyError
	if !errors.As(err, &pe) {
		t.Fatalf("Apply = %v, want a policy refusal among the errors", err)
	}
	rest := Unpoliced(err)
	if rest == nil || errors.As(rest, &pe) || !strings.Contains(rest.Error(), "requiredApprovals: 2 is more than the 1 approvers") {
		t.Errorf("Unpoliced = %v, want only the quorum's error", rest)
	}
	if _, err := Apply(suite, json.RawMessage(`{"approvers": ["bob@example.com"]}`)); err == nil || Unpoliced(err) != nil {
		t.Errorf("a refusal alone: Apply = %v, Unpoliced = %v; want it refused, then nothing left", err, Unpoliced(err))
	}
}
