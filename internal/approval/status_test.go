package approval

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/hook"
)

// TestExpiryStatusFollowsTheVerdict: what ECS is told at expiry is what
// the reason says. An expiry that must not approve (an approver
// unreachable, a freeze, a review message never sent, expiry rejecting)
// answers FAILED "rejected, not approved by default" or "rejected"; only
// an expiry that approves by explicit opt-in, with everyone asked and
// reachable, answers SUCCEEDED.
func TestExpiryStatusFollowsTheVerdict(t *testing.T) {
	alice, bob := "alice@example.com", "bob@example.com"
	tests := []struct {
		name   string
		setup  func(f *fixture)
		status hook.Status
		reason string
	}{
		{"expiry approves, everyone reachable", func(f *fixture) {}, hook.StatusSucceeded, "approved by default (onExpiry: approve)"},
		{"expiry rejects", func(f *fixture) { f.poll.Settings.OnExpiry = Reject }, hook.StatusFailed, "rejected by default"},
		{"bob unreachable", func(f *fixture) {
			f.gate.Subscriptions = subscriptionsFunc(func(context.Context) ([]Subscriber, error) {
				return []Subscriber{{Endpoint: alice, Confirmed: true, Filtered: true, Approvers: []string{alice}}}, nil
			})
		}, hook.StatusFailed, "rejected, not approved by default"},
		{"a freeze", func(f *fixture) {
			f.poll.Settings.Freezes = []Freeze{{Start: t0.Add(-time.Hour), End: t0.Add(48 * time.Hour), Reason: "holidays"}}
		}, hook.StatusFailed, "expiry does not approve a deployment that needs an emergency override"},
		{"bob's review never sent", func(f *fixture) {
			f.n.fail = func(m Message) error {
				if m.Approver == bob {
					return hook.Transient(errors.New("SNS throttled"))
				}
				return nil
			}
		}, hook.StatusFailed, "not every approver could be notified: rejected, not approved by default"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, []string{alice, bob}, 1)
			f.poll.Settings.OnExpiry = Approve
			f.poll.Settings.Policy.ApproveOnExpiry = true
			tt.setup(f)
			h := hook.Wrap(HookHandler(f.gate, f.poll.Settings), hook.Options{Now: f.clock.Now})
			if res, err := h(context.Background(), f.lambdaCall(nil)); err != nil || res.HookStatus != hook.StatusInProgress {
				t.Fatalf("first call: %s %q, %v", res.HookStatus, res.Reason, err)
			}
			f.clock.Add(5 * time.Hour)
			res, err := h(context.Background(), f.lambdaCall(nil))
			if err != nil || res.HookStatus != tt.status || !strings.Contains(res.Reason, tt.reason) {
				t.Errorf("at expiry: %s %q, %v; want %s saying %q", res.HookStatus, res.Reason, err, tt.status, tt.reason)
			}
			if approved := strings.Contains(res.Reason, "approved by default (onExpiry: approve)"); approved != (res.HookStatus == hook.StatusSucceeded) {
				t.Errorf("the status %s disagrees with the reason %q", res.HookStatus, res.Reason)
			}
		})
	}
}
