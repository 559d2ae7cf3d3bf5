package approval

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
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
