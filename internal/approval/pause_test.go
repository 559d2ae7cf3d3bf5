package approval

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/hook"
)

// fakePauses is ECS for PAUSE hooks: which hooks await action, and the
// ContinueServiceDeployment calls made.
type fakePauses struct {
	mu      sync.Mutex
	waiting map[string]Paused // by hook id
	calls   []string
	fail    error
	// awaitErr fails Awaiting and State: ECS cannot be asked.
	awaitErr error
	// ended are the hooks no longer waiting, with their status; deployment
	// is the deployment's status (IN_PROGRESS when empty).
	ended      map[string]string
	deployment string
}

func (f *fakePauses) State(ctx context.Context, arn, hookID string) (HookState, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.awaitErr != nil {
		return HookState{}, f.awaitErr
	}
	st := HookState{Deployment: f.deployment, Status: f.ended[hookID]}
	if st.Deployment == "" {
		st.Deployment = "IN_PROGRESS"
	}
	if _, ok := f.waiting[hookID]; ok {
		st.Status = HookAwaiting
	}
	return st, nil
}

// end ends hook id's wait as someone else would (the console), with
// status SUCCEEDED, FAILED or TIMED_OUT.
func (f *fakePauses) end(id, status string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.waiting, id)
	if f.ended == nil {
		f.ended = map[string]string{}
	}
	f.ended[id] = status
}

func (f *fakePauses) Awaiting(ctx context.Context, arn, hookID string) ([]Paused, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.awaitErr != nil {
		return nil, f.awaitErr
	}
	var out []Paused
	for id, p := range f.waiting {
		if hookID == "" || id == hookID {
			out = append(out, p)
		}
	}
	return out, nil
}

func (f *fakePauses) Continue(ctx context.Context, arn, hookID, action string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, hookID+" "+action)
	if f.fail != nil {
		return f.fail
	}
	if _, ok := f.waiting[hookID]; !ok {
		return fmt.Errorf("hook %s: %w", hookID, ErrHookNotWaiting)
	}
	delete(f.waiting, hookID)
	if f.ended == nil {
		f.ended = map[string]string{}
	}
	f.ended[hookID] = map[string]string{"CONTINUE": HookSucceeded, "ROLLBACK": HookFailed}[action]
	return nil
}

func pauseFixture(t *testing.T) (*fixture, *fakePauses, hook.PauseEvent) {
	t.Helper()
	f := newFixture(t, []string{"alice@example.com", "bob@example.com"}, 1)
	ps := &fakePauses{waiting: map[string]Paused{"hook-1": {HookID: "hook-1", Stage: hook.StagePostTestTrafficShift, ServiceARN: f.poll.ServiceARN, TargetRevisionARN: "rev-green"}}}
	f.gate.Pauses = ps
	f.key = GateKey(f.poll.Deployment, hook.StagePostTestTrafficShift, PauseGate("hook-1"))
	return f, ps, hook.PauseEvent{EventName: hook.HookAwaitingAction, DeploymentARN: deploymentARN, HookID: "hook-1"}
}

// TestPauseEventOpensTheRequest: the event opens the request, notifying
// each approver once; a repeated event changes nothing; an event ECS does
// not confirm (unknown hook, forged, another event) sends nothing.
func TestPauseEventOpensTheRequest(t *testing.T) {
	f, _, ev := pauseFixture(t)
	for range 3 { // EventBridge may deliver it more than once
		if _, err := f.gate.OpenPause(context.Background(), ev, f.poll.Settings); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(f.n.sent()); n != 2 {
		t.Errorf("%d messages after three deliveries, want one per approver", n)
	}
	r, _ := f.load(t)
	if r.Pause == nil || r.Pause.HookID != "hook-1" || r.Gate != PauseGate("hook-1") {
		t.Errorf("request %+v, want it to hold hook-1", r.Pause)
	}
	for _, other := range []hook.PauseEvent{
		{EventName: hook.HookAwaitingAction, DeploymentARN: deploymentARN, HookID: "forged"},
		{EventName: "HOOK_SUCCEEDED", DeploymentARN: deploymentARN, HookID: "hook-1"},
		{EventName: hook.HookAwaitingAction, DeploymentARN: "not-an-arn", HookID: "hook-1"},
	} {
		if v, err := f.gate.OpenPause(context.Background(), other, f.poll.Settings); err != nil || len(v) != 0 {
			t.Errorf("OpenPause(%+v) = %+v, %v; want nothing", other, v, err)
		}
	}
	if n := len(f.n.sent()); n != 2 {
		t.Errorf("%d messages after the unconfirmed events, want still 2", n)
	}
}

// TestDecidingVoteContinues: the vote that decides ends the hook's wait at
// once (Settle), with the action its outcome decides, named explicitly and
// sent once; a later vote or Settle does not call again.
func TestDecidingVoteContinues(t *testing.T) {
	for decision, action := range map[Decision]string{Approve: "CONTINUE", Reject: "ROLLBACK"} {
		f, ps, ev := pauseFixture(t)
		if _, err := f.gate.OpenPause(context.Background(), ev, f.poll.Settings); err != nil {
			t.Fatal(err)
		}
		if err := f.cast(t, Vote{Approver: "alice@example.com", Decision: decision, Via: "link"}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.gate.Settle(context.Background(), f.key); err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(ps.calls) != "[hook-1 "+action+"]" {
			t.Errorf("%s: calls %v, want one %s", decision, ps.calls, action)
		}
		r, _ := f.load(t)
		if r.Pause.Action != action || r.Pause.Done == nil || r.Pause.Result != "accepted" || !strings.Contains(r.History[len(r.History)-1].Detail, "ECS took ContinueServiceDeployment "+action) {
			t.Errorf("%s: recorded %+v, last event %+v", decision, r.Pause, r.History[len(r.History)-1])
		}
		if _, err := f.gate.Settle(context.Background(), f.key); err != nil {
			t.Fatal(err)
		}
		if _, err := f.gate.OpenPause(context.Background(), ev, f.poll.Settings); err != nil {
			t.Fatal(err)
		}
		if len(ps.calls) != 1 {
			t.Errorf("%s: %d calls after a second Settle and a late event, want 1", decision, len(ps.calls))
		}
	}
}

// TestContinueRetriedNeverChanged: a transient failure is recorded and the
// call made again, with the same action; ECS saying the hook waits no more
// ends the retries.
func TestContinueRetriedNeverChanged(t *testing.T) {
	f, ps, ev := pauseFixture(t)
	if _, err := f.gate.OpenPause(context.Background(), ev, f.poll.Settings); err != nil {
		t.Fatal(err)
	}
	if err := f.cast(t, Vote{Approver: "alice@example.com", Decision: Approve, Via: "link"}); err != nil {
		t.Fatal(err)
	}
	ps.fail = hook.Transient(errors.New("ThrottlingException: rate exceeded"))
	if _, err := f.gate.Settle(context.Background(), f.key); err != nil {
		t.Fatal(err)
	}
	r, _ := f.load(t)
	if r.Pause.Done != nil || r.Pause.Action != "CONTINUE" || r.Pause.Attempts != 1 {
		t.Fatalf("after a throttled call: %+v", r.Pause)
	}
	ps.fail = nil
	f.clock.Add(time.Minute)
	if _, err := f.gate.Settle(context.Background(), f.key); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(ps.calls) != "[hook-1 CONTINUE hook-1 CONTINUE]" {
		t.Errorf("calls %v, want CONTINUE twice", ps.calls)
	}
	// A hook that timed out meanwhile: ECS says so, and that ends it.
	g, gs, gev := pauseFixture(t)
	if _, err := g.gate.OpenPause(context.Background(), gev, g.poll.Settings); err != nil {
		t.Fatal(err)
	}
	if err := g.cast(t, Vote{Approver: "bob@example.com", Decision: Reject, Via: "link"}); err != nil {
		t.Fatal(err)
	}
	gs.end("hook-1", HookTimedOut)
	if _, err := g.gate.Settle(context.Background(), g.key); err != nil {
		t.Fatal(err)
	}
	r, _ = g.load(t)
	if r.Pause.Done == nil || !strings.Contains(r.Pause.Result, "ECS reports the hook TIMED_OUT") || r.Outcome != Rejected {
		t.Errorf("after ECS said the hook waits no more: %s, %+v", r.Outcome, r.Pause)
	}
}

// TestPauseWithoutAStage: a PAUSE hook ECS reports at no lifecycle stage
// (and an event that names none) opens nothing: its links would not work.
func TestPauseWithoutAStage(t *testing.T) {
	f, ps, ev := pauseFixture(t)
	ps.waiting["hook-1"] = Paused{HookID: "hook-1", ServiceARN: f.poll.ServiceARN, TargetRevisionARN: "rev-green"}
	if v, err := f.gate.OpenPause(context.Background(), ev, f.poll.Settings); err != nil || len(v) != 0 || len(f.n.sent()) != 0 {
		t.Errorf("OpenPause = %+v, %v, %d messages; want nothing", v, err, len(f.n.sent()))
	}
	ev.Stage = hook.StagePostTestTrafficShift // the event says where
	if v, err := f.gate.OpenPause(context.Background(), ev, f.poll.Settings); err != nil || len(v) != 1 || len(f.n.sent()) != 2 {
		t.Errorf("OpenPause with the event's stage = %+v, %v, %d messages", v, err, len(f.n.sent()))
	}
}

// TestSettleLooksUpTheDeployer: nothing polls a PAUSE request, so Settle
// (called when a vote is refused for want of the deployer) runs the due
// lookup; once CloudTrail names the deployer, others' approvals count.
func TestSettleLooksUpTheDeployer(t *testing.T) {
	f, ps, ev := pauseFixture(t)
	ds := &fakeDeployers{}
	f.gate.Deployers = ds
	if _, err := f.gate.OpenPause(context.Background(), ev, f.poll.Settings); err != nil {
		t.Fatal(err)
	}
	if err := f.cast(t, Vote{Approver: "alice@example.com", Decision: Approve, Via: "link"}); !errors.Is(err, ErrDeployerPending) {
		t.Fatalf("approval while unknown = %v", err)
	}
	ds.set(bobSSO)
	f.clock.Add(deployerRetry)
	if _, err := f.gate.Settle(context.Background(), f.key); err != nil {
		t.Fatal(err)
	}
	if err := f.cast(t, Vote{Approver: "alice@example.com", Decision: Approve, Via: "link"}); err != nil {
		t.Fatalf("alice's approval once bob is named = %v", err)
	}
	if _, err := f.gate.Settle(context.Background(), f.key); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(ps.calls) != "[hook-1 CONTINUE]" {
		t.Errorf("calls %v, want one CONTINUE", ps.calls)
	}
}

// TestPauseApproversUnreachable: SNS refusing for good (no permission, no
// topic) closes a PAUSE request at once, aborted, saying why, and tells ECS
// ROLLBACK, as a Lambda hook's call would fail; a passing SNS fault is
// retried as before.
func TestPauseApproversUnreachable(t *testing.T) {
	f, ps, ev := pauseFixture(t)
	f.gate.Index = f.st
	f.n.fail = func(Message) error {
		return errors.New("AuthorizationError: not authorized to perform sns:Publish")
	}
	if _, err := f.gate.OpenPause(context.Background(), ev, f.poll.Settings); err != nil {
		t.Fatal(err)
	}
	r, _ := f.load(t)
	if r.Outcome != Aborted || !strings.Contains(r.AbortReason, "cannot notify the approvers: ") || !strings.Contains(r.AbortReason, "sns:Publish") ||
		fmt.Sprint(ps.calls) != "[hook-1 ROLLBACK]" || r.Passes(r.Outcome) {
		t.Errorf("outcome %s (%s), calls %v; want aborted saying why, one ROLLBACK", r.Outcome, r.AbortReason, ps.calls)
	}
	if s := f.sweep(t); s.Ended != 1 || len(ps.calls) != 1 {
		t.Errorf("swept %+v, calls %v; want the marker gone, no more calls", s, ps.calls)
	}

	f, ps, ev = pauseFixture(t)
	f.n.fail = func(Message) error { return hook.Transient(errors.New("Throttling")) }
	if _, err := f.gate.OpenPause(context.Background(), ev, f.poll.Settings); err == nil {
		t.Error("a passing fault was not reported, for a retry")
	}
	if r, _ := f.load(t); r.Outcome != Pending || len(ps.calls) != 0 {
		t.Errorf("a passing fault: outcome %s, calls %v; want pending, nothing told", r.Outcome, ps.calls)
	}
}
