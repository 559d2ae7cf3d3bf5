package approval

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/hook"
)

// TestInconsistentRequestDecidesNothing: a stored request whose parts
// disagree (each way the issue measured a hand-edited document passing) is
// answered FAILED "request document is inconsistent", and left as it is.
func TestInconsistentRequestDecidesNothing(t *testing.T) {
	tests := []struct {
		name string
		edit func(r *Request)
		want string
	}{
		{"approved with no votes", func(r *Request) { r.Outcome = Approved }, "its outcome is approved, but 0 distinct approver(s) on its list approved, of 2 required"},
		{"approvals from addresses not on the list", func(r *Request) {
			r.Votes = []Vote{{Approver: "mallory@example.net", Decision: Approve, At: t0}, {Approver: "eve@example.net", Decision: Approve, At: t0}}
		}, "mallory@example.net, who is not on its list, approved"},
		{"one approver twice", func(r *Request) {
			r.Votes = []Vote{{Approver: "alice@example.com", Decision: Approve, At: t0}, {Approver: "Alice@example.com", Decision: Approve, At: t0}}
		}, "Alice@example.com voted twice"},
		{"a lowered quorum", func(r *Request) {
			r.RequiredApprovals = 1
			r.Votes = []Vote{{Approver: "alice@example.com", Decision: Approve, At: t0}}
		}, "requiredApprovals is 1, but it was created with 2"},
		{"expiry turned to approve", func(r *Request) { r.OnExpiry = Approve }, "onExpiry is approve, but it was created with reject"},
		{"expiry moved", func(r *Request) { r.ExpiresAt = r.ExpiresAt.Add(-4 * time.Hour) }, "its expiry differs"},
		{"an approver added", func(r *Request) { r.Approvers = append(r.Approvers, "mallory@example.net") }, "its approvers differ"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, []string{"alice@example.com", "bob@example.com"}, 2)
			f.mustPoll(t, Pending)
			r, etag := f.load(t)
			tt.edit(r)
			body, _ := json.Marshal(r)
			if _, err := f.st.Update(context.Background(), f.key, body, etag); err != nil {
				t.Fatal(err)
			}
			before, _ := f.st.Get(context.Background(), f.key)
			_, err := f.gate.Poll(context.Background(), f.poll)
			if !errors.Is(err, ErrInconsistent) || !strings.Contains(err.Error(), tt.want) || hook.IsTransient(err) {
				t.Errorf("Poll = %v, want a final ErrInconsistent saying %q", err, tt.want)
			}
			after, _ := f.st.Get(context.Background(), f.key)
			if after.ETag != before.ETag {
				t.Error("the inconsistent document was rewritten")
			}
			h := hook.Wrap(HookHandler(f.gate, f.poll.Settings), hook.Options{})
			payload, _ := json.Marshal(map[string]any{
				"executionId": "e", "lifecycleStage": hook.StagePostTestTrafficShift, "resourceArn": deploymentARN,
				"executionDetails": map[string]any{"serviceArn": f.poll.ServiceARN, "targetServiceRevisionArn": "rev-green"},
			})
			res, err := h(context.Background(), payload)
			if err != nil || res.HookStatus != hook.StatusFailed || !strings.Contains(res.Reason, "request document is inconsistent") {
				t.Errorf("hook answered %s %q, %v; want FAILED: request document is inconsistent", res.HookStatus, res.Reason, err)
			}
		})
	}
}

// TestConsistentRequestsPass: what gatehouse itself writes is consistent,
// an unlisted operator's reject from the CLI included, and so is a
// document written before terms were recorded.
func TestConsistentRequestsPass(t *testing.T) {
	f := newFixture(t, []string{"alice@example.com", "bob@example.com"}, 2)
	f.mustPoll(t, Pending)
	for _, v := range []Vote{{Approver: "alice@example.com", Decision: Approve}, {Approver: "bob@example.com", Decision: Approve}} {
		r, etag := f.load(t)
		if _, _, err := Update(context.Background(), f.st, f.key, etag, r, func(r *Request) error { return r.Cast(v, t0) }); err != nil {
			t.Fatal(err)
		}
	}
	f.mustPoll(t, Approved)
	r, _ := f.load(t)
	if err := r.Check(); err != nil {
		t.Errorf("an approval gatehouse recorded: %v", err)
	}
	r.Terms = nil
	if err := r.Check(); err != nil {
		t.Errorf("a document without terms: %v", err)
	}
	g := newFixture(t, []string{"alice@example.com"}, 1)
	g.mustPoll(t, Pending)
	r, _ = g.load(t)
	if err := r.Cast(Vote{Approver: "arn:aws:iam::123456789012:user/ops", Decision: Reject, Via: "cli"}, t0); err != nil {
		t.Fatal(err)
	}
	if err := r.Check(); err != nil {
		t.Errorf("an operator's reject: %v", err)
	}
}

// raceNotifier runs before, once, in the middle of publishing the first
// message that matches: the request changes while that message is out.
type raceNotifier struct {
	fakeNotifier
	match  func(Message) bool
	before func()
	once   sync.Once
}

func (n *raceNotifier) Publish(ctx context.Context, m Message) (string, error) {
	if n.match(m) {
		n.once.Do(n.before)
	}
	return n.fakeNotifier.Publish(ctx, m)
}

// TestLateReviewGetsTheDecision: a request that closes while bob's review
// link is being published announces its outcome to alice only, since bob's
// link is not recorded yet; bob must get the decision notice too.
func TestLateReviewGetsTheDecision(t *testing.T) {
	f := newFixture(t, []string{"alice@example.com", "bob@example.com"}, 2)
	n := &raceNotifier{match: func(m Message) bool {
		return m.Approver == "bob@example.com" && strings.HasPrefix(m.Subject, "[gatehouse] Approve")
	}}
	f.gate.Notifier = n
	n.before = func() {
		// alice rejects, and another call closes and announces.
		r, etag := f.load(t)
		if _, _, err := Update(context.Background(), f.st, f.key, etag, r, func(r *Request) error {
			return r.Cast(Vote{Approver: "alice@example.com", Decision: Reject, Comment: "no"}, t0)
		}); err != nil {
			t.Error(err)
		}
		if v, err := f.gate.Poll(context.Background(), f.poll); err != nil || v.Outcome != Rejected {
			t.Errorf("the racing call = %+v, %v", v, err)
		}
	}
	if _, err := f.gate.Poll(context.Background(), f.poll); err != nil {
		t.Fatal(err)
	}
	decided := map[string]int{}
	for _, m := range n.sent() {
		if strings.Contains(m.Subject, "rejected") {
			decided[m.Approver]++
		}
	}
	if decided["alice@example.com"] != 1 || decided["bob@example.com"] != 1 {
		t.Errorf("decision notices %v, want one each for alice and bob", decided)
	}
	r, _ := f.load(t)
	if !r.noticeSent("decision", "bob@example.com") || !strings.Contains(r.History[len(r.History)-1].Detail, "whose review link went out as the request closed") {
		t.Errorf("bob's notice not recorded: %+v", r.History)
	}
	// Later calls send nothing more.
	before := len(n.sent())
	f.mustPoll(t, Rejected)
	if len(n.sent()) != before {
		t.Errorf("a later call sent %d more messages", len(n.sent())-before)
	}
}

// TestTamperedSkipIsRefused: a stored request edited to the outcome
// skipped, which passes like approved, is inconsistent unless it is what
// gatehouse skips: a PAUSE request that asked nobody, at a first
// deployment or carrying an earlier step's decision.
func TestTamperedSkipIsRefused(t *testing.T) {
	f, _, ev := pauseFixture(t)
	if _, err := f.gate.OpenPause(context.Background(), ev, f.poll.Settings); err != nil {
		t.Fatal(err)
	}
	r, _ := f.load(t)
	for name, edit := range map[string]func(*Request){
		"a pending request":     func(r *Request) {},
		"one that asked nobody": func(r *Request) { r.Notices = nil },
		"a Lambda hook's":       func(r *Request) { r.Notices, r.Pause, r.Change.FirstDeployment = nil, nil, true },
		"one with votes": func(r *Request) {
			r.Notices, r.Change.FirstDeployment, r.Votes = nil, true, []Vote{{Approver: "alice@example.com", Decision: Reject}}
		},
		"a first deployment's": nil,
		"an earlier step's":    nil,
	} {
		c := clone(r)
		c.Outcome = Skipped
		switch {
		case edit != nil:
			edit(c)
			if err := c.Check(); !errors.Is(err, ErrInconsistent) || !strings.Contains(err.Error(), "skipped") {
				t.Errorf("%s edited to skipped: Check = %v, want inconsistent", name, err)
			}
		case name == "a first deployment's":
			c.Notices, c.Change.FirstDeployment = nil, true
			if err := c.Check(); err != nil {
				t.Errorf("%s: Check = %v", name, err)
			}
		default:
			c.Notices, c.Carried = nil, "approved by alice@example.com (1 of 1 required)"
			if err := c.Check(); err != nil {
				t.Errorf("%s: Check = %v", name, err)
			}
		}
	}
}
