package approval

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/internal/hook"
)

// TestApplyTags: a service's gatehouse: tags set what its hookDetails would,
// in what a tag value can hold, with the same validation and floors; each
// error names the tag.
func TestApplyTags(t *testing.T) {
	suite := DefaultSettings()
	suite.Approvers = []string{"alice@example.com", "bob@example.com", "carol@example.com"}
	suite.RequiredApprovals = 2
	s, err := ApplyTags(suite, map[string]string{
		"gatehouse:approvers":         "alice@example.com  bob@example.com",
		"gatehouse:requiredApprovals": "2",
		"gatehouse:timeout":           "2h",
		"gatehouse:reminderAt":        "0.5",
		"gatehouse:waitForSmoke":      "true",
		"gatehouse:abortOnAlarms":     "orders-5xx orders-latency-*",
		"team":                        "orders", // not ours
	})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"alice@example.com", "bob@example.com"}, s.Approvers); diff != "" {
		t.Errorf("approvers (-want +got):\n%s", diff)
	}
	if s.Timeout != 2*time.Hour || s.ReminderAt != 0.5 || s.WaitForSmoke == nil || !*s.WaitForSmoke || s.RequiredApprovals != 2 {
		t.Errorf("settings %+v", s)
	}
	if diff := cmp.Diff(Alarms{Names: []string{"orders-5xx"}, Prefixes: []string{"orders-latency-"}}, s.AbortOnAlarms); diff != "" {
		t.Errorf("abortOnAlarms (-want +got):\n%s", diff)
	}
	if len(suite.Approvers) != 3 {
		t.Error("the suite's settings were changed")
	}

	for tags, want := range map[string]string{
		"gatehouse:requiredApprovals=two":          "tag gatehouse:requiredApprovals",
		"gatehouse:timeout=soon":                   "tag gatehouse:timeout",
		"gatehouse:changeWindows=Mon 09:00-17:00":  "tag gatehouse:changeWindows: cannot be set by a tag",
		"gatehouse:freezes=2026-12-24":             "tag gatehouse:freezes: cannot be set by a tag",
		"gatehouse:approver=alice@example.com":     "tag gatehouse:approver: unknown key",
		"gatehouse:approvers=mallory@example.org":  "approvers",
		"gatehouse:requiredApprovals=1":            "requiredApprovals",
		"gatehouse:onExpiry=approve":               "tag gatehouse:onExpiry: ",
		"gatehouse:waitForSmoke=false":             "tag gatehouse:waitForSmoke: ",
		"gatehouse:timeout=72h":                    "timeout",
		"gatehouse:waitForSmoke=sometimes":         "tag gatehouse:waitForSmoke",
		"gatehouse:firstDeployment=skip":           "firstDeployment",
		"gatehouse:approvers=alice@example.com x@": "tag gatehouse:approvers",
	} {
		k, v, _ := strings.Cut(tags, "=")
		_, err := ApplyTags(suite, map[string]string{k: v})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ApplyTags(%s) = %v, want an error naming %q", tags, err, want)
		}
	}
}

// fakeTags is a service's tags, or the error reading them.
type fakeTags struct {
	tags map[string]string
	err  error
}

func (f fakeTags) Tags(ctx context.Context, serviceARN string) (map[string]string, error) {
	return f.tags, f.err
}

// TestPauseSettingsFromTags: the request of a PAUSE hook takes the
// service's tags; bad tags close it, refused with the tag named, and roll
// back at once; tags that cannot be read open nothing, for a retry.
func TestPauseSettingsFromTags(t *testing.T) {
	f, _, ev := pauseFixture(t)
	f.gate.Tags = fakeTags{tags: map[string]string{TagOptIn: OptInApproval, "gatehouse:requiredApprovals": "2"}}
	if _, err := f.gate.OpenPause(context.Background(), ev, f.poll.Settings); err != nil {
		t.Fatal(err)
	}
	if r, _ := f.load(t); r.RequiredApprovals != 2 {
		t.Errorf("required %d, want the tag's 2", r.RequiredApprovals)
	}

	f, ps, ev := pauseFixture(t)
	f.gate.Tags = fakeTags{tags: map[string]string{TagOptIn: OptInApproval, "gatehouse:timeout": "soon"}}
	if _, err := f.gate.OpenPause(context.Background(), ev, f.poll.Settings); err != nil {
		t.Fatal(err)
	}
	r, _ := f.load(t)
	if r.Outcome != Refused || !strings.Contains(r.Refusal, "tag gatehouse:timeout") || fmt.Sprint(ps.calls) != "[hook-1 ROLLBACK]" || len(f.n.sent()) != 0 {
		t.Errorf("bad tags: outcome %s, refusal %q, calls %v, %d messages; want refused naming the tag, one ROLLBACK, nobody asked",
			r.Outcome, r.Refusal, ps.calls, len(f.n.sent()))
	}

	f, ps, ev = pauseFixture(t)
	f.gate.Tags = fakeTags{err: errors.New("AccessDeniedException")}
	if _, err := f.gate.OpenPause(context.Background(), ev, f.poll.Settings); err == nil {
		t.Error("unreadable tags opened the request with the suite's settings")
	}
	if len(f.st.Keys()) != 0 || len(ps.calls) != 0 || len(f.n.sent()) != 0 {
		t.Errorf("unreadable tags left %v, calls %v", f.st.Keys(), ps.calls)
	}

	// A request opened while the service had the tag goes on being swept
	// after it lost it.
	f, _, ev = pauseFixture(t)
	f.gate.Index = f.st
	f.gate.Tags = fakeTags{tags: map[string]string{TagOptIn: OptInApproval}}
	if _, err := f.gate.OpenPause(context.Background(), ev, f.poll.Settings); err != nil {
		t.Fatal(err)
	}
	f.gate.Tags = fakeTags{tags: map[string]string{}}
	if _, err := f.gate.OpenPause(context.Background(), ev, f.poll.Settings); err != nil {
		t.Fatal(err)
	}
	if m, _ := f.st.List(context.Background(), PauseIndexPrefix, 0); len(m) != 1 {
		t.Errorf("markers %v: a repeated event removed an open request's marker", m)
	}

	// Another team's PAUSE hook, on a service without the opt-in tag:
	// nothing is opened, sent or continued, and no marker is left.
	f, ps, ev = pauseFixture(t)
	f.gate.Index = f.st
	f.gate.Tags = fakeTags{tags: map[string]string{"gatehouse:requiredApprovals": "2"}}
	if v, err := f.gate.OpenPause(context.Background(), ev, f.poll.Settings); err != nil || len(v) != 1 || v[0].Outcome != Pending {
		t.Errorf("OpenPause = %+v, %v", v, err)
	}
	if len(f.st.Keys()) != 0 || len(ps.calls) != 0 || len(f.n.sent()) != 0 {
		t.Errorf("a PAUSE hook not ours left %v, calls %v, %d messages", f.st.Keys(), ps.calls, len(f.n.sent()))
	}
}

// TestDetailTags: what Attach writes as tags is read back as the same
// settings; what a tag would read otherwise is refused, naming the key.
func TestDetailTags(t *testing.T) {
	suite := DefaultSettings()
	suite.Approvers = []string{"alice@example.com", "bob@example.com"}
	details := map[string]any{
		"approvers": []any{"alice@example.com", "bob@example.com"}, "requiredApprovals": 2, "timeout": "4h",
		"abortOnAlarms": map[string]any{"names": []any{"orders-5xx"}, "prefixes": []any{"orders-"}}, "waitForSmoke": true,
	}
	tags, err := DetailTags(details)
	if err != nil {
		t.Fatal(err)
	}
	if tags[TagOptIn] != OptInApproval {
		t.Errorf("tags %v lack the opt-in", tags)
	}
	fromTags, err := ApplyTags(suite, tags)
	if err != nil {
		t.Fatal(err)
	}
	js, _ := json.Marshal(details)
	fromDetails, err := Apply(suite, js)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(fromDetails.AbortOnAlarms, fromTags.AbortOnAlarms); diff != "" || fromTags.RequiredApprovals != 2 || fromTags.Timeout != 4*time.Hour || len(fromTags.Approvers) != 2 {
		t.Errorf("read back differently: %+v (alarms -details +tags:\n%s)", fromTags, diff)
	}
	for key, v := range map[string]any{
		"pause":         "off",
		"abortOnAlarms": map[string]any{"names": []any{"api 5xx"}},
		"approvers":     []any{"alice@example.com", ""},
		"gate":          map[string]any{"x": 1},
	} {
		if _, err := DetailTags(map[string]any{key: v}); err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("DetailTags(%s: %v) = %v, want a refusal naming it", key, v, err)
		}
	}
	if _, err := DetailTags(map[string]any{"abortOnAlarms": map[string]any{"names": []any{"cpu*"}}}); err == nil {
		t.Error("an alarm name ending in * was accepted: a tag would read it as a prefix")
	}
}

// TestSettingsHoldBetweenSteps: the settings read when a deployment's
// first PAUSE request opened hold for the whole deployment: retagging the
// service between linear or canary steps (a bad tag, the opt-in removed)
// neither rolls back nor hangs an approved deployment; each later step's
// pause carries the decision and is continued.
func TestSettingsHoldBetweenSteps(t *testing.T) {
	for name, retagged := range map[string]map[string]string{
		"a bad tag":          {TagOptIn: OptInApproval, "gatehouse:timeout": "soon"},
		"the opt-in removed": {},
	} {
		t.Run(name, func(t *testing.T) {
			f, ps, ev := pauseFixture(t)
			f.gate.Index = f.st
			f.gate.Tags = fakeTags{tags: map[string]string{TagOptIn: OptInApproval}}
			ev.Stage = hook.StagePreProductionTrafficShift
			ps.waiting["hook-1"] = Paused{HookID: "hook-1", Stage: hook.StagePreProductionTrafficShift, ServiceARN: f.poll.ServiceARN}
			f.key = GateKey(f.poll.Deployment, hook.StagePreProductionTrafficShift, PauseGate("hook-1"))
			if _, err := f.gate.OpenPause(context.Background(), ev, f.poll.Settings); err != nil {
				t.Fatal(err)
			}
			if err := f.cast(t, Vote{Approver: "alice@example.com", Decision: Approve, Via: "link"}); err != nil {
				t.Fatal(err)
			}
			if _, err := f.gate.Settle(context.Background(), f.key); err != nil {
				t.Fatal(err)
			}
			sent := len(f.n.sent())
			f.gate.Tags = fakeTags{tags: retagged}
			f.clock.Add(10 * time.Minute)
			ps.waiting["hook-2"] = Paused{HookID: "hook-2", Stage: hook.StagePreProductionTrafficShift, ServiceARN: f.poll.ServiceARN}
			next := ev
			next.HookID = "hook-2"
			if _, err := f.gate.OpenPause(context.Background(), next, f.poll.Settings); err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(ps.calls) != "[hook-1 CONTINUE hook-2 CONTINUE]" || len(f.n.sent()) != sent {
				t.Errorf("calls %v, %d more messages; want the second step continued, nobody asked", ps.calls, len(f.n.sent())-sent)
			}
			f.key = GateKey(f.poll.Deployment, hook.StagePreProductionTrafficShift, PauseGate("hook-2"))
			if r, _ := f.load(t); r.Outcome != Skipped || r.Carried == "" || r.Check() != nil {
				t.Errorf("second step's request: %s carrying %q (%v)", r.Outcome, r.Carried, r.Check())
			}
		})
	}
}
