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

// linkerFunc makes review links with a function.
type linkerFunc func(r *Request, approver string) (string, error)

func (f linkerFunc) Link(ctx context.Context, r *Request, approver string) (string, error) {
	return f(r, approver)
}

// TestUnsignableLinkNotifiesNobody: a review link that cannot be signed
// (no signing key) sends that approver nothing, records no notice for
// them, and fails the call closed; expiry under onExpiry approve then
// rejects, since they were never asked.
func TestUnsignableLinkNotifiesNobody(t *testing.T) {
	alice, bob := "alice@example.com", "bob@example.com"
	f := newFixture(t, []string{alice, bob}, 1)
	f.poll.Settings.OnExpiry = Approve
	f.poll.Settings.Policy.ApproveOnExpiry = true
	f.gate.Linker = linkerFunc(func(r *Request, a string) (string, error) {
		if a == bob {
			return "", errors.New("signing key: AccessDeniedException")
		}
		return fakeLinker{}.Link(context.Background(), r, a)
	})
	if _, err := f.gate.Poll(context.Background(), f.poll); err == nil || hook.IsTransient(err) || !strings.Contains(err.Error(), "cannot notify the approvers") {
		t.Errorf("first poll = %v, want a permanent failure: nobody may wait on a link that was never sent", err)
	}
	for _, m := range f.n.sent() {
		if m.Approver == bob || !strings.Contains(m.Body, "https://review.example/review?token=") {
			t.Errorf("message to %s without a usable link:\n%s", m.Approver, m.Body)
		}
	}
	r, _ := f.load(t)
	if r.noticeSent("review", bob) || r.allNotified() {
		t.Errorf("notices %+v: bob counted as notified", r.Notices)
	}
	f.clock.Add(5 * time.Hour)
	if v, _ := f.gate.Poll(context.Background(), f.poll); v.Pass {
		t.Errorf("expiry = %+v, want no approval: bob was never asked", v)
	}
}

// TestTallyCountsDistinctApprovers: the tally itself, whatever wrote the
// votes, counts each approver once (case aside), only approvers on the
// list (any name on a shared link), and overrides only while one is
// needed; a reject is a veto.
func TestTallyCountsDistinctApprovers(t *testing.T) {
	approve := func(who string) Vote { return Vote{Approver: who, Decision: Approve, Via: "link"} }
	for _, tt := range []struct {
		name      string
		approvers []string
		freeze    string
		votes     []Vote
		want      Outcome
	}{
		{"one approver twice", []string{"alice@example.com", "bob@example.com"}, "", []Vote{approve("alice@example.com"), approve("ALICE@example.com")}, Pending},
		{"two approvers", []string{"alice@example.com", "bob@example.com"}, "", []Vote{approve("alice@example.com"), approve("bob@example.com")}, Approved},
		{"one not on the list", []string{"alice@example.com", "bob@example.com"}, "", []Vote{approve("alice@example.com"), approve("mallory@example.com")}, Pending},
		{"a shared link, one name twice", nil, "", []Vote{approve("Sam"), approve("sam")}, Pending},
		{"a shared link, two names", nil, "", []Vote{approve("sam"), approve("kim")}, Approved},
		{"plain approvals during a freeze", []string{"alice@example.com", "bob@example.com"}, "holidays", []Vote{approve("alice@example.com"), approve("bob@example.com")}, Pending},
		{"a veto", []string{"alice@example.com", "bob@example.com"}, "", []Vote{approve("alice@example.com"), approve("bob@example.com"), {Approver: "carol@example.com", Decision: Reject}}, Rejected},
	} {
		r := &Request{Approvers: tt.approvers, RequiredApprovals: 2, Freeze: tt.freeze, Votes: tt.votes, ExpiresAt: t0.Add(time.Hour)}
		if got := r.Evaluate(t0); got != tt.want {
			t.Errorf("%s: Evaluate = %s, want %s", tt.name, got, tt.want)
		}
	}
}
