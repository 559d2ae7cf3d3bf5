package approval

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/hook"
)

// fakeDeployers answers who started the deployment: nobody until set.
type fakeDeployers struct {
	mu    sync.Mutex
	ids   []string
	err   error
	calls int
}

func (f *fakeDeployers) StartedBy(context.Context, hook.DeploymentARN, string, time.Time, time.Duration) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	return f.ids, f.err
}

func (f *fakeDeployers) set(ids ...string) { f.mu.Lock(); f.ids = ids; f.mu.Unlock() }

const (
	aliceSSO = "arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_Deployers_0123/alice@example.com"
	bobSSO   = "arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_Deployers_0123/bob@example.com"
)

func (f *fixture) cast(t *testing.T, v Vote) error {
	t.Helper()
	r, etag := f.load(t)
	_, _, err := Update(context.Background(), f.st, f.key, etag, r, func(n *Request) error { return n.Cast(v, f.clock.Now()) })
	return err
}

// TestDeployerCannotApprove: with CloudTrail naming alice as who started
// the deployment, her approval is refused and recorded as refused; bob's
// counts. The page and the messages say who started it.
func TestDeployerCannotApprove(t *testing.T) {
	f := newFixture(t, []string{"alice@example.com", "bob@example.com"}, 1)
	ds := &fakeDeployers{ids: []string{aliceSSO}}
	f.gate.Deployers = ds
	f.mustPoll(t, Pending)
	r, _ := f.load(t)
	if r.StartedBy == nil || !strings.Contains(r.StartedBy.Describe(), "alice@example.com") || !r.ForbidSelfApproval {
		t.Fatalf("started by = %+v", r.StartedBy)
	}
	if msgs := f.n.sent(); len(msgs) == 0 || !strings.Contains(msgs[0].Body, "Started by:  "+aliceSSO) {
		t.Errorf("review message does not say who started it:\n%s", msgs[0].Body)
	}
	if err := f.cast(t, Vote{Approver: "alice@example.com", Decision: Approve, Via: "link"}); !errors.Is(err, ErrSelfApproval) {
		t.Fatalf("alice's approval = %v, want ErrSelfApproval", err)
	}
	r, _ = f.load(t)
	if len(r.Votes) != 0 || !strings.Contains(r.History[len(r.History)-1].Detail, "approval refused: alice@example.com started this deployment") {
		t.Errorf("after alice's approval: votes %+v, last event %+v; want none, and the refusal recorded", r.Votes, r.History[len(r.History)-1])
	}
	// A CLI vote from her identity is hers too, and a reject is always hers to give.
	if err := f.cast(t, Vote{Approver: "alice@example.com", Identity: aliceSSO, Decision: Approve, Via: "cli"}); !errors.Is(err, ErrSelfApproval) {
		t.Errorf("alice from the CLI = %v, want ErrSelfApproval", err)
	}
	if err := f.cast(t, Vote{Approver: "arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_Deployers_0123", Identity: aliceSSO, Decision: Approve, Via: "cli"}); !errors.Is(err, ErrNotApprover) {
		t.Errorf("alice's role, not on the list = %v, want ErrNotApprover", err)
	}
	if err := f.cast(t, Vote{Approver: "bob@example.com", Decision: Approve, Via: "link"}); err != nil {
		t.Fatal(err)
	}
	f.mustPoll(t, Approved)
}

// TestApprovalsWaitForTheDeployer: while CloudTrail has not named who
// started the deployment, approvals wait (retrying with backoff); once it
// names bob, bob's approval is refused, and a caller it names later (its
// event delivered late) too; after DeployerWait without an answer, the
// deployer is unknown, and approvals still do not count: an error or an
// empty answer is never leave to approve one's own change.
func TestApprovalsWaitForTheDeployer(t *testing.T) {
	f := newFixture(t, []string{"alice@example.com", "bob@example.com"}, 1)
	ds := &fakeDeployers{}
	f.gate.Deployers = ds
	f.mustPoll(t, Pending)
	if err := f.cast(t, Vote{Approver: "alice@example.com", Decision: Approve, Via: "link"}); !errors.Is(err, ErrDeployerPending) {
		t.Fatalf("approval while unknown = %v, want ErrDeployerPending", err)
	}
	calls := ds.calls
	f.mustPoll(t, Pending) // not due yet: no lookup
	if ds.calls != calls {
		t.Errorf("looked up again before the backoff: %d calls", ds.calls-calls)
	}
	ds.set(bobSSO)
	f.clock.Add(deployerRetry)
	f.mustPoll(t, Pending)
	r, _ := f.load(t)
	if !strings.Contains(r.StartedBy.Describe(), "bob@example.com") {
		t.Fatalf("after the retry: started by %q", r.StartedBy.Describe())
	}
	if err := f.cast(t, Vote{Approver: "bob@example.com", Decision: Approve, Via: "link"}); !errors.Is(err, ErrSelfApproval) {
		t.Errorf("bob's approval = %v, want ErrSelfApproval", err)
	}
	// alice's UpdateService arrives late: she is a deployer too.
	ds.set(bobSSO, aliceSSO)
	f.clock.Add(2 * deployerRetry)
	f.mustPoll(t, Pending)
	if err := f.cast(t, Vote{Approver: "alice@example.com", Decision: Approve, Via: "link"}); !errors.Is(err, ErrSelfApproval) {
		t.Errorf("alice's approval, named late = %v, want ErrSelfApproval", err)
	}

	g := newFixture(t, []string{"alice@example.com", "bob@example.com"}, 1)
	g.gate.Deployers = &fakeDeployers{err: errors.New("ThrottlingException: rate exceeded")}
	g.mustPoll(t, Pending)
	for range 10 {
		g.clock.Add(deployerRetryMax)
		g.mustPoll(t, Pending)
	}
	r, _ = g.load(t)
	if r.StartedBy.pending() || !strings.Contains(r.StartedBy.Unknown, "CloudTrail named no caller within 15m: ThrottlingException") {
		t.Fatalf("after %s: %+v, want unknown, saying why", DeployerWait, r.StartedBy)
	}
	if err := g.cast(t, Vote{Approver: "alice@example.com", Decision: Approve, Via: "link"}); !errors.Is(err, ErrDeployerUnknown) {
		t.Errorf("approval once the deployer is unknown = %v, want ErrDeployerUnknown", err)
	}
	if err := g.cast(t, Vote{Approver: "alice@example.com", Decision: Reject, Via: "link"}); err != nil {
		t.Errorf("a reject once the deployer is unknown = %v, want it recorded", err)
	}
	g.mustPoll(t, Rejected)
}

// TestCountWithoutDeployer: where the policy lets approvals count while the
// deployer is unknown, an approval from who turns out to have started the
// deployment stops counting when CloudTrail names them.
func TestCountWithoutDeployer(t *testing.T) {
	f := newFixture(t, []string{"alice@example.com", "bob@example.com"}, 2)
	ds := &fakeDeployers{}
	f.gate.Deployers = ds
	f.poll.Settings.Policy.DeployerUnknown = true
	f.mustPoll(t, Pending)
	if err := f.cast(t, Vote{Approver: "bob@example.com", Decision: Approve, Via: "link"}); err != nil {
		t.Fatal(err)
	}
	ds.set(bobSSO)
	f.clock.Add(deployerRetry)
	f.mustPoll(t, Pending)
	if err := f.cast(t, Vote{Approver: "alice@example.com", Decision: Approve, Via: "link"}); err != nil {
		t.Fatal(err)
	}
	if v := f.mustPoll(t, Pending); !strings.Contains(v.Reason, "1 of 2") && !strings.Contains(v.Reason, "waiting") {
		t.Errorf("verdict %+v: bob's approval, given before he was named, must not count", v)
	}
	r, _ := f.load(t)
	if err := r.Check(); err != nil {
		t.Errorf("Check = %v", err)
	}
}

// TestSelfApprovalAllowedByPolicy: a policy may let the deployer approve.
func TestSelfApprovalAllowedByPolicy(t *testing.T) {
	f := newFixture(t, []string{"alice@example.com"}, 1)
	f.gate.Deployers = &fakeDeployers{ids: []string{aliceSSO}}
	f.poll.Settings.Policy.SelfApproval = true
	f.mustPoll(t, Pending)
	if err := f.cast(t, Vote{Approver: "alice@example.com", Decision: Approve, Via: "link"}); err != nil {
		t.Fatal(err)
	}
	f.mustPoll(t, Approved)
}

// TestDeployerCannotApproveASharedLink: on a shared-link request, which
// anyone may approve under a name, the deployer's own identity from the
// CLI is refused exactly as the deployer (ErrSelfApproval), recorded, and
// never counted; another identity's approval counts.
func TestDeployerCannotApproveASharedLink(t *testing.T) {
	f := newFixture(t, nil, 1)
	f.gate.Deployers = &fakeDeployers{ids: []string{aliceSSO}}
	f.mustPoll(t, Pending)
	if err := f.cast(t, Vote{Approver: "arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_Deployers_0123", Identity: aliceSSO, Decision: Approve, Via: "cli"}); !errors.Is(err, ErrSelfApproval) {
		t.Fatalf("the deployer from the CLI on a shared link = %v, want ErrSelfApproval", err)
	}
	r, _ := f.load(t)
	if len(r.Votes) != 0 || r.Evaluate(f.clock.Now()) != Pending {
		t.Errorf("votes %+v, outcome %s: the deployer's approval counted", r.Votes, r.Evaluate(f.clock.Now()))
	}
	if err := f.cast(t, Vote{Approver: "arn:aws:iam::123456789012:user/bob", Identity: "arn:aws:iam::123456789012:user/bob", Decision: Approve, Via: "cli"}); err != nil {
		t.Fatal(err)
	}
	f.mustPoll(t, Approved)
}
