package approval

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/hook"
)

// endedEvent is the "ECS Hook State Change" event of hook-1 ending.
func endedEvent(name string) hook.PauseEvent {
	return hook.PauseEvent{EventName: name, HookType: "PAUSE", DeploymentARN: deploymentARN, HookID: "hook-1", Stage: hook.StagePostTestTrafficShift}
}

// TestContinueOutsideIsNeverAnApproval: someone allowed
// ecs:ContinueServiceDeployment ends the PAUSE hook (the console's "Take
// action"). Whichever notices first (the sweep, the hook's outcome event,
// a vote), the request closes as continued outside gatehouse, never
// approved: votes are refused, the approvers are told once, the audit
// names it, and gatehouse calls ECS no more.
func TestContinueOutsideIsNeverAnApproval(t *testing.T) {
	for _, tt := range []struct {
		status, by string
		want       Outcome
		says       string
	}{
		{HookSucceeded, "sweep", ContinuedOutside, "gatehouse never told ECS to go on"},
		{HookSucceeded, "event", ContinuedOutside, "gatehouse never told ECS to go on"},
		{HookSucceeded, "vote", ContinuedOutside, "gatehouse never told ECS to go on"},
		{HookFailed, "event", ContinuedOutside, "rolled the deployment back"},
		{HookTimedOut, "sweep", Aborted, "ECS timed this PAUSE hook out"},
	} {
		t.Run(tt.status+" by "+tt.by, func(t *testing.T) {
			f, ps, _ := sweptFixture(t)
			asked := len(f.n.sent())
			ps.end("hook-1", tt.status)
			var err error
			switch tt.by {
			case "sweep":
				if s := f.sweep(t); s.Ended != 1 {
					t.Errorf("swept %+v, want the request ended", s)
				}
			case "event":
				err = f.gate.EndPause(context.Background(), endedEvent(map[string]string{HookSucceeded: hook.HookSucceeded, HookFailed: hook.HookFailed}[tt.status]))
			case "vote":
				if _, err = f.gate.CheckPause(context.Background(), f.key); !errors.Is(err, ErrHookEnded) {
					t.Errorf("CheckPause = %v, want ErrHookEnded", err)
				}
				err = nil
			}
			if err != nil {
				t.Fatal(err)
			}
			r, _ := f.load(t)
			if r.Outcome != tt.want || r.Passes(r.Outcome) || !strings.Contains(r.Summary(r.Outcome), tt.says) {
				t.Errorf("outcome %s (passes %v): %s; want %s saying %q", r.Outcome, r.Passes(r.Outcome), r.Summary(r.Outcome), tt.want, tt.says)
			}
			if err := r.Check(); err != nil {
				t.Errorf("Check = %v", err)
			}
			if !strings.Contains(fmt.Sprint(r.History), "decided gatehouse "+r.Summary(r.Outcome)) {
				t.Errorf("the audit does not name it: %v", r.History)
			}
			if n := len(f.n.sent()) - asked; n != 2 {
				t.Errorf("%d decision notices, want one to each approver", n)
			}
			if err := f.cast(t, Vote{Approver: "alice@example.com", Decision: Approve, Via: "link"}); !errors.Is(err, ErrClosed) {
				t.Errorf("a later approval = %v, want ErrClosed", err)
			}
			// Nothing moves it on again, or tells anyone twice.
			f.clock.Add(5 * time.Hour)
			f.sweep(t)
			if _, err := f.gate.Settle(context.Background(), f.key); err != nil {
				t.Fatal(err)
			}
			if err := f.gate.EndPause(context.Background(), endedEvent(hook.HookSucceeded)); err != nil {
				t.Fatal(err)
			}
			if len(ps.calls) != 0 || len(f.n.sent())-asked != 2 || len(f.markers(t)) != 0 {
				t.Errorf("calls %v, %d messages, markers %v afterwards; want none, 2, none", ps.calls, len(f.n.sent())-asked, f.markers(t))
			}
			if got, _ := f.load(t); got.Outcome != tt.want {
				t.Errorf("outcome %s afterwards", got.Outcome)
			}
		})
	}
}

// TestOwnContinueStaysApproved: gatehouse's own continue, seen again as
// HOOK_SUCCEEDED (or by the sweep), keeps the request approved; a continue
// gatehouse claimed but did not record is recorded as taken.
func TestOwnContinueStaysApproved(t *testing.T) {
	f, ps, _ := sweptFixture(t)
	if err := f.cast(t, Vote{Approver: "alice@example.com", Decision: Approve, Via: "link"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.gate.Settle(context.Background(), f.key); err != nil {
		t.Fatal(err)
	}
	sent := len(f.n.sent())
	if err := f.gate.EndPause(context.Background(), endedEvent(hook.HookSucceeded)); err != nil {
		t.Fatal(err)
	}
	f.sweep(t)
	r, _ := f.load(t)
	if r.Outcome != Approved || r.Pause.Result != "accepted" || len(f.n.sent()) != sent || fmt.Sprint(ps.calls) != "[hook-1 CONTINUE]" {
		t.Errorf("outcome %s, pause %+v, %d more messages, calls %v; want approved, accepted, nothing more", r.Outcome, r.Pause, len(f.n.sent())-sent, ps.calls)
	}

	// The claimer died after ECS took its call: the event records it.
	f, ps, _ = sweptFixture(t)
	if err := f.cast(t, Vote{Approver: "alice@example.com", Decision: Approve, Via: "link"}); err != nil {
		t.Fatal(err)
	}
	r, etag := f.load(t)
	claimed := f.clock.Now().Add(-2 * ContinueLease)
	if _, _, err := Update(context.Background(), f.st, f.key, etag, r, func(n *Request) error {
		n.AnnouncedAt = &claimed
		n.Pause.Action, n.Pause.Claimed, n.Pause.Attempts = "CONTINUE", &claimed, 1
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	ps.end("hook-1", HookSucceeded)
	if err := f.gate.EndPause(context.Background(), endedEvent(hook.HookSucceeded)); err != nil {
		t.Fatal(err)
	}
	if r, _ := f.load(t); r.Outcome != Approved || r.Pause.Done == nil || r.Pause.Result != "accepted" || len(ps.calls) != 0 {
		t.Errorf("outcome %s, pause %+v, calls %v; want approved and the continue recorded as taken", r.Outcome, r.Pause, ps.calls)
	}
}

// TestOutcomeEventsConfirmWithECS: an outcome event only says where to
// look: a forged or early one for a hook ECS still holds changes nothing,
// nor does one while ECS cannot be asked (the sweep asks again).
func TestOutcomeEventsConfirmWithECS(t *testing.T) {
	f, ps, _ := sweptFixture(t)
	sent := len(f.n.sent())
	for _, ev := range []hook.PauseEvent{endedEvent(hook.HookSucceeded), endedEvent(hook.HookTimedOut),
		{EventName: hook.HookSucceeded, DeploymentARN: deploymentARN, HookID: "hook-1"}} {
		if err := f.gate.EndPause(context.Background(), ev); err != nil {
			t.Fatal(err)
		}
	}
	ps.end("hook-1", HookSucceeded)
	ps.awaitErr = errors.New("ThrottlingException")
	if err := f.gate.EndPause(context.Background(), endedEvent(hook.HookSucceeded)); err != nil {
		t.Fatal(err)
	}
	if r, _ := f.load(t); r.Outcome != Pending || len(f.n.sent()) != sent {
		t.Errorf("outcome %s, %d more messages; want pending, nothing sent", r.Outcome, len(f.n.sent())-sent)
	}
	// Without a stage, the event finds the request by its open marker.
	ps.awaitErr = nil
	if err := f.gate.EndPause(context.Background(), hook.PauseEvent{EventName: hook.HookSucceeded, DeploymentARN: deploymentARN, HookID: "hook-1"}); err != nil {
		t.Fatal(err)
	}
	if r, _ := f.load(t); r.Outcome != ContinuedOutside {
		t.Errorf("outcome %s, want continued-outside", r.Outcome)
	}
}

// TestPauseEndedWritesNothing: the page's look at ECS (Service.Standing)
// says why the request takes no vote, and writes nothing.
func TestPauseEndedWritesNothing(t *testing.T) {
	f, ps, _ := sweptFixture(t)
	svc := NewService(Parts{Gate: f.gate})
	r, etag := f.load(t)
	if st := svc.Standing(context.Background(), r); st != (Standing{}) {
		t.Errorf("Standing of a waiting hook = %+v", st)
	}
	ps.end("hook-1", HookSucceeded)
	if st := svc.Standing(context.Background(), r); !strings.Contains(st.Ended, "gatehouse never told ECS to go on") || st.Over != "" {
		t.Errorf("Standing = %+v, want it to say the hook ended", st)
	}
	if _, now := f.load(t); now != etag {
		t.Error("PauseEnded wrote the request")
	}
}

// TestDecisionOverriddenOutside: approvers reject, and someone continues
// the deployment from the console before gatehouse's ROLLBACK lands (ECS
// refuses it: the hook no longer waits; or the sweep sees it first). The
// deployment went on: the request closes as continued outside gatehouse,
// the page says so, and everyone asked is told, once.
func TestDecisionOverriddenOutside(t *testing.T) {
	for _, by := range []string{"the refused ROLLBACK", "the sweep"} {
		t.Run(by, func(t *testing.T) {
			f, ps, _ := sweptFixture(t)
			if err := f.cast(t, Vote{Approver: "alice@example.com", Decision: Reject, Via: "link"}); err != nil {
				t.Fatal(err)
			}
			ps.end("hook-1", HookSucceeded) // the console's "Take action: Continue"
			asked := len(f.n.sent())
			if by == "the refused ROLLBACK" {
				if _, err := f.gate.Settle(context.Background(), f.key); err != nil {
					t.Fatal(err)
				}
			} else {
				// Announced, the ROLLBACK not yet claimed, when the sweep looks.
				r, etag := f.load(t)
				now := f.clock.Now()
				if _, _, err := Update(context.Background(), f.st, f.key, etag, r, func(n *Request) error { n.AnnouncedAt = &now; return nil }); err != nil {
					t.Fatal(err)
				}
			}
			f.sweep(t)
			f.sweep(t)
			r, _ := f.load(t)
			if r.Outcome != ContinuedOutside || !strings.Contains(r.Summary(r.Outcome), "rejected by alice@example.com") || !strings.Contains(r.Summary(r.Outcome), "overrode the decision") || r.Passes(r.Outcome) {
				t.Errorf("outcome %s: %s", r.Outcome, r.Summary(r.Outcome))
			}
			overrides := 0
			for _, m := range f.n.sent()[asked:] {
				if strings.Contains(m.Subject, "continued outside gatehouse") {
					overrides++
				}
			}
			if overrides != 2 {
				t.Errorf("%d override notices (%d messages), want one to each approver", overrides, len(f.n.sent())-asked)
			}
			if strings.Contains(r.PauseState(), "rolling back") {
				t.Errorf("the page says %q", r.PauseState())
			}
		})
	}
}

// TestOutsideRollbackIsNotGatehousesContinue: approved, gatehouse's
// CONTINUE throttled, then someone rolls back from the console and ECS no
// longer lists the hook: that is not recorded as ECS taking the CONTINUE.
func TestOutsideRollbackIsNotGatehousesContinue(t *testing.T) {
	f, ps, _ := sweptFixture(t)
	ps.fail = hook.Transient(errors.New("ThrottlingException: rate exceeded"))
	if err := f.cast(t, Vote{Approver: "alice@example.com", Decision: Approve, Via: "link"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.gate.Settle(context.Background(), f.key); err != nil {
		t.Fatal(err)
	}
	ps.mu.Lock()
	delete(ps.waiting, "hook-1")
	ps.deployment, ps.fail = "ROLLBACK_IN_PROGRESS", nil
	ps.mu.Unlock()
	f.sweep(t)
	if r, _ := f.load(t); r.Pause.Done == nil || r.Pause.Result == "accepted" || !strings.Contains(r.Pause.Result, "ROLLBACK_IN_PROGRESS") {
		t.Errorf("recorded %+v: an outside rollback taken for gatehouse's CONTINUE", r.Pause)
	}
}

// TestReannouncedOnce: two sweeps that read the same copy claim the
// announcement again once: nobody is told twice.
func TestReannouncedOnce(t *testing.T) {
	f, _, _ := sweptFixture(t)
	f.n.fail = func(Message) error { return hook.Transient(errors.New("SNS is down")) }
	if err := f.cast(t, Vote{Approver: "alice@example.com", Decision: Reject, Via: "link"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.gate.Settle(context.Background(), f.key); err != nil {
		t.Fatal(err)
	}
	f.n.fail = nil
	before := len(f.n.sent())
	f.clock.Add(SendLease + time.Second)
	r, etag := f.load(t)
	for range 2 {
		if _, err := f.gate.reannounce(context.Background(), f.key, etag, r); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(f.n.sent()) - before; n != 2 {
		t.Errorf("%d decision notices for 2 approvers", n)
	}
}
