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

// sweptFixture is a pause fixture whose gate marks open requests for the
// sweep, as the approval hook's is.
func sweptFixture(t *testing.T) (*fixture, *fakePauses, hook.PauseEvent) {
	t.Helper()
	f, ps, ev := pauseFixture(t)
	f.gate.Index = f.st
	f.poll.Settings.ReminderAt = 0.5
	if _, err := f.gate.OpenPause(context.Background(), ev, f.poll.Settings); err != nil {
		t.Fatal(err)
	}
	return f, ps, ev
}

func (f *fixture) sweep(t *testing.T) Swept {
	t.Helper()
	s, err := f.gate.Sweep(context.Background(), f.poll.Settings)
	if err != nil {
		t.Fatalf("Sweep = %+v, %v", s, err)
	}
	return s
}

func (f *fixture) markers(t *testing.T) []string {
	t.Helper()
	keys, err := f.st.List(context.Background(), PauseIndexPrefix, 0)
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

// TestSweepIsTheClock: nothing polls a PAUSE request, so the sweep sends
// the reminder at its time, and at expiry rolls back, naming ROLLBACK, once;
// the marker goes when ECS was told. A pending, unchanged request costs one
// read a sweep.
func TestSweepIsTheClock(t *testing.T) {
	f, ps, _ := sweptFixture(t)
	if m := f.markers(t); len(m) != 1 || m[0] != markerKey(f.key) {
		t.Fatalf("markers %v, want the request's", m)
	}
	gets := f.st.Gets()
	if s := f.sweep(t); s.Open != 1 {
		t.Errorf("swept %+v, want one open", s)
	}
	if n := f.st.Gets() - gets; n != 1 {
		t.Errorf("a sweep of one pending request read %d times, want 1", n)
	}
	sent := len(f.n.sent())
	f.clock.Add(2*time.Hour + time.Minute)
	f.sweep(t)
	if got := f.n.sent()[sent:]; len(got) != 2 || !strings.Contains(strings.ToLower(got[0].Subject), "remind") {
		t.Errorf("after the reminder time the sweep sent %+v, want a reminder to each approver", got)
	}
	f.sweep(t)
	if len(f.n.sent()) != sent+2 {
		t.Errorf("a second sweep reminded again")
	}
	f.clock.Add(2 * time.Hour)
	f.sweep(t)
	if fmt.Sprint(ps.calls) != "[hook-1 ROLLBACK]" {
		t.Errorf("at expiry the calls are %v, want one ROLLBACK", ps.calls)
	}
	r, _ := f.load(t)
	if r.Outcome != Expired || r.Pause.Done == nil || r.AnnouncedAt == nil {
		t.Errorf("after expiry: outcome %s, pause %+v", r.Outcome, r.Pause)
	}
	if s := f.sweep(t); s.Ended != 1 || len(f.markers(t)) != 0 {
		t.Errorf("swept %+v, markers %v: want the marker removed once ECS was told", s, f.markers(t))
	}
	if s := f.sweep(t); s != (Swept{}) || len(ps.calls) != 1 {
		t.Errorf("an empty sweep did %+v, calls %v", s, ps.calls)
	}
}

// TestSweepRetriesTheCall: a ContinueServiceDeployment that failed is made
// again by the sweeps, backing off (1, 2, 4 minutes, ...), with the action
// fixed before the first call, until ECS takes it; the audit keeps the
// first failures, not one line a minute.
func TestSweepRetriesTheCall(t *testing.T) {
	f, ps, _ := sweptFixture(t)
	ps.fail = hook.Transient(errors.New("ThrottlingException: rate exceeded"))
	if err := f.cast(t, Vote{Approver: "alice@example.com", Decision: Approve, Via: "link"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.gate.Settle(context.Background(), f.key); err != nil {
		t.Fatal(err)
	}
	if len(ps.calls) != 1 {
		t.Fatalf("Settle made %d calls, want 1 (a failure waits for the sweep)", len(ps.calls))
	}
	f.sweep(t) // not due yet
	if len(ps.calls) != 1 {
		t.Errorf("a sweep called again before the retry was due: %v", ps.calls)
	}
	// Sweeps each minute for 10 minutes: calls at +1, +3, +7 minutes.
	for range 10 {
		f.clock.Add(time.Minute)
		f.sweep(t)
	}
	if len(ps.calls) != 4 {
		t.Errorf("%d calls in 10 minutes of failures, want 4 (backing off): %v", len(ps.calls), ps.calls)
	}
	ps.fail = nil
	f.clock.Add(MaxContinueDelay)
	f.sweep(t)
	for _, c := range ps.calls {
		if c != "hook-1 CONTINUE" {
			t.Errorf("call %q, want CONTINUE each time", c)
		}
	}
	r, _ := f.load(t)
	if r.Pause.Result != "accepted" || r.Pause.Attempts != 5 || r.Pause.Claimed != nil || r.Pause.RetryAt != nil {
		t.Errorf("recorded %+v", r.Pause)
	}
	failures := 0
	for _, h := range r.History {
		if strings.Contains(h.Detail, "failed (attempt") {
			failures++
		}
	}
	if failures != 3 { // attempts 1, 2 and 4
		t.Errorf("%d failures in the audit, want 3 (the first ones, then each doubling)", failures)
	}
	n := len(ps.calls)
	f.sweep(t)
	if len(ps.calls) != n {
		t.Errorf("a call was made after ECS took one: %v", ps.calls)
	}
}

// TestContinueClaimed: while one caller holds the claim on the call, no one
// else makes it; a claim whose caller died is taken over after the lease,
// with the same action.
func TestContinueClaimed(t *testing.T) {
	f, ps, _ := sweptFixture(t)
	if err := f.cast(t, Vote{Approver: "bob@example.com", Decision: Reject, Via: "link"}); err != nil {
		t.Fatal(err)
	}
	// The claim of a caller that died after claiming, before calling.
	r, etag := f.load(t)
	claimed := f.clock.Now()
	r.Pause.Action, r.Pause.Claimed, r.Pause.Attempts = "ROLLBACK", &claimed, 1
	now := f.clock.Now()
	r.AnnouncedAt = &now
	if _, err := f.gate.write(context.Background(), f.key, etag, r); err != nil {
		t.Fatal(err)
	}
	if _, err := f.gate.Settle(context.Background(), f.key); err != nil {
		t.Fatal(err)
	}
	f.sweep(t)
	if len(ps.calls) != 0 {
		t.Fatalf("calls %v while another caller holds the claim", ps.calls)
	}
	f.clock.Add(ContinueLease)
	f.sweep(t)
	if fmt.Sprint(ps.calls) != "[hook-1 ROLLBACK]" {
		t.Errorf("calls %v after the lease, want the claimed ROLLBACK", ps.calls)
	}
}

// TestSweepOpensWhatTheEventsDidNot: a marker whose request does not exist
// (every delivery of the event failed after the marker was written) opens
// the request, with its messages, while ECS lists the hook awaiting action;
// once it does not, the marker goes. A marker that names no deployment goes
// too; a request that cannot be read fails the sweep, not the others.
func TestSweepOpensWhatTheEventsDidNot(t *testing.T) {
	f, ps, ev := pauseFixture(t)
	f.gate.Index = f.st
	f.n.fail = func(Message) error { return hook.Transient(errors.New("SNS is down")) }
	if _, err := f.gate.OpenPause(context.Background(), ev, f.poll.Settings); err == nil {
		t.Fatal("OpenPause succeeded with SNS down")
	}
	// As if the request's create had failed too: only the marker is left.
	f.st.Delete(context.Background(), f.key)
	if m := f.markers(t); len(m) != 1 {
		t.Fatalf("markers %v, want the request's, written first", m)
	}
	f.n.fail = nil
	f.sweep(t)
	if r, _ := f.load(t); r.Pause == nil || len(f.n.sent()) != 2 {
		t.Errorf("the sweep did not open the request: %+v, %d messages", r, len(f.n.sent()))
	}

	bare := PauseIndexPrefix + "111122223333/us-west-2/c/s/x/POST_TEST_TRAFFIC_SHIFT.pause-0.json"
	if err := f.st.Put(context.Background(), bare, []byte(`{"marked":"2026-12-01T00:00:00Z"}`), "application/json"); err != nil {
		t.Fatal(err)
	}
	broken := PauseIndexPrefix + "111122223333/us-west-2/c/s/y/POST_TEST_TRAFFIC_SHIFT.pause-1.json"
	if err := f.st.Put(context.Background(), broken, []byte(`{}`), "application/json"); err != nil {
		t.Fatal(err)
	}
	if err := f.st.Put(context.Background(), KeyPrefix+strings.TrimPrefix(broken, PauseIndexPrefix), []byte(`not json`), "application/json"); err != nil {
		t.Fatal(err)
	}
	s, err := f.gate.Sweep(context.Background(), f.poll.Settings)
	if err == nil || s.Failed != 1 || s.Open != 1 || s.Ended != 1 {
		t.Errorf("Sweep = %+v, %v; want the broken request failed, the bare marker ended, the open one open", s, err)
	}
	// ECS no longer lists the hook, and the request is gone: the marker
	// goes, once ECS has had UnconfirmedFor to list it.
	f.st.Delete(context.Background(), f.key)
	ps.waiting = nil
	f.clock.Add(UnconfirmedFor)
	f.gate.Sweep(context.Background(), f.poll.Settings)
	if got := f.markers(t); len(got) != 0 {
		t.Errorf("markers %v, want none: the broken request's named no hook to roll back, and went with the error", got)
	}
}

// TestPauseFirstDeploymentSkip: a PAUSE hook at a service's first
// deployment under firstDeployment: skip asks nobody and tells ECS
// CONTINUE, once, with the call in the audit.
func TestPauseFirstDeploymentSkip(t *testing.T) {
	f, ps, ev := pauseFixture(t)
	f.gate.Describer = fakeDescriber{d: Change{Known: true, FirstDeployment: true, TargetTaskDefinition: "orders:1"}}
	f.poll.Settings.FirstDeployment = FirstDeploymentSkip
	for range 2 {
		if _, err := f.gate.OpenPause(context.Background(), ev, f.poll.Settings); err != nil {
			t.Fatal(err)
		}
	}
	r, _ := f.load(t)
	if r.Outcome != Skipped || r.Pause.Done == nil || fmt.Sprint(ps.calls) != "[hook-1 CONTINUE]" || len(f.n.sent()) != 0 {
		t.Errorf("outcome %s, pause %+v, calls %v, %d messages; want skipped, one CONTINUE, nobody asked", r.Outcome, r.Pause, ps.calls, len(f.n.sent()))
	}
	if err := r.Check(); err != nil {
		t.Errorf("the skipped request reads as inconsistent: %v", err)
	}
}

// TestSweepWithoutIndex fails rather than sweeping nothing in silence.
func TestSweepWithoutIndex(t *testing.T) {
	f, _, _ := pauseFixture(t)
	if _, err := f.gate.Sweep(context.Background(), f.poll.Settings); err == nil {
		t.Error("a sweep without an index reported success")
	}
}

// TestSweepWhenECSCouldNotBeAsked: an event ECS could not be asked about
// (every delivery failed) leaves a marker from what the event says; the
// sweep asks ECS again and opens the request.
func TestSweepWhenECSCouldNotBeAsked(t *testing.T) {
	f, ps, ev := pauseFixture(t)
	f.gate.Index = f.st
	ev.Stage = hook.StagePostTestTrafficShift
	ps.awaitErr = errors.New("ThrottlingException")
	if _, err := f.gate.OpenPause(context.Background(), ev, f.poll.Settings); err == nil {
		t.Fatal("OpenPause succeeded though ECS could not be asked")
	}
	if m := f.markers(t); len(m) != 1 || m[0] != markerKey(f.key) || len(f.n.sent()) != 0 {
		t.Fatalf("markers %v, %d messages; want the request's marker and nobody asked yet", m, len(f.n.sent()))
	}
	ps.awaitErr = nil
	f.sweep(t)
	if r, _ := f.load(t); r.Pause == nil || len(f.n.sent()) != 2 {
		t.Errorf("the sweep did not open the request: %+v, %d messages", r, len(f.n.sent()))
	}
}

// TestSweepLeavesWhatECSLeft: a pending request whose deployment ECS no
// longer holds at the hook (it stopped or rolled back) is closed at the
// next sweep, aborted, with the marker; its approvers are told, and
// nothing is continued.
func TestSweepLeavesWhatECSLeft(t *testing.T) {
	f, ps, _ := sweptFixture(t)
	sent := len(f.n.sent())
	ps.waiting, ps.deployment = nil, "ROLLBACK_IN_PROGRESS"
	if s := f.sweep(t); s.Ended != 1 || len(f.markers(t)) != 0 {
		t.Errorf("swept %+v: want the marker removed", s)
	}
	r, _ := f.load(t)
	if r.Outcome != Aborted || r.Pause.Done == nil || len(ps.calls) != 0 || !strings.Contains(r.AbortReason, "ROLLBACK_IN_PROGRESS") {
		t.Errorf("outcome %s (%s), pause %+v, calls %v; want aborted, nothing continued", r.Outcome, r.AbortReason, r.Pause, ps.calls)
	}
	if n := f.n.count("[gatehouse] Deploy of orders (prod-cluster) aborted"); n != 2 || len(f.n.sent()) != sent+2 {
		t.Errorf("%d decision notices of %d new messages, want one to each approver", n, len(f.n.sent())-sent)
	}
}

// TestSweepRollsBackWhatItCannotRead: a PAUSE request that cannot be read
// (corrupt, inconsistent) approves nothing: ECS is told ROLLBACK from the
// marker, once, the document is left for inspection, and the marker goes.
func TestSweepRollsBackWhatItCannotRead(t *testing.T) {
	f, ps, _ := sweptFixture(t)
	if err := f.st.Put(context.Background(), f.key, []byte(`{"schemaVersion": 99}`), "application/json"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.gate.Sweep(context.Background(), f.poll.Settings); err == nil {
		t.Error("a sweep over an unreadable request reported nothing")
	}
	if fmt.Sprint(ps.calls) != "[hook-1 ROLLBACK]" || len(f.markers(t)) != 0 {
		t.Errorf("calls %v, markers %v; want one ROLLBACK and the marker removed", ps.calls, f.markers(t))
	}
	if obj, err := f.st.Get(context.Background(), f.key); err != nil || string(obj.Body) != `{"schemaVersion": 99}` {
		t.Errorf("the document was changed: %s, %v", obj.Body, err)
	}
	f.sweep(t)
	if len(ps.calls) != 1 {
		t.Errorf("calls %v after another sweep", ps.calls)
	}
}

// TestUnconfirmedEvents: an event for a hook ECS does not list yet leaves
// a marker, and the sweep opens the request once ECS lists it; an event
// ECS never confirms, or cannot be asked about (a foreign account's, a
// forged one), is dropped after UnconfirmedFor, once, instead of failing
// every sweep.
func TestUnconfirmedEvents(t *testing.T) {
	f, ps, ev := pauseFixture(t)
	f.gate.Index = f.st
	ev.Stage = hook.StagePostTestTrafficShift
	listed := ps.waiting
	ps.waiting = nil
	if _, err := f.gate.OpenPause(context.Background(), ev, f.poll.Settings); err != nil {
		t.Fatal(err)
	}
	if m := f.markers(t); len(m) != 1 || len(f.n.sent()) != 0 {
		t.Fatalf("markers %v, %d messages; want the event marked, nobody asked", m, len(f.n.sent()))
	}
	f.clock.Add(time.Minute)
	f.sweep(t)
	ps.waiting = listed
	f.clock.Add(time.Minute)
	f.sweep(t)
	if r, _ := f.load(t); r.Pause == nil || len(f.n.sent()) != 2 {
		t.Errorf("the sweep did not open the request once ECS listed it: %+v, %d messages", r, len(f.n.sent()))
	}

	for _, tt := range []struct {
		name string
		err  error
	}{{"never listed", nil}, {"never answered", errors.New("AccessDeniedException: not authorized")}} {
		t.Run(tt.name, func(t *testing.T) {
			f, ps, ev := pauseFixture(t)
			f.gate.Index = f.st
			ev.Stage, ev.HookID = hook.StagePostTestTrafficShift, "forged"
			ps.awaitErr = tt.err
			f.gate.OpenPause(context.Background(), ev, f.poll.Settings)
			if m := f.markers(t); len(m) != 1 {
				t.Fatalf("markers %v, want the event's", m)
			}
			for i := range 3 {
				f.clock.Add(UnconfirmedFor / 4)
				if _, err := f.gate.Sweep(context.Background(), f.poll.Settings); (err != nil) != (tt.err != nil) || len(f.markers(t)) != 1 {
					t.Errorf("sweep %d: %v, markers %v; want the marker kept, and ECS's trouble reported", i, err, f.markers(t))
				}
			}
			f.clock.Add(UnconfirmedFor / 4)
			if _, err := f.gate.Sweep(context.Background(), f.poll.Settings); err != nil || len(f.markers(t)) != 0 {
				t.Errorf("after %s: %v, markers %v; want it dropped without an error", UnconfirmedFor, err, f.markers(t))
			}
			if len(f.n.sent()) != 0 {
				t.Errorf("%d messages for an event ECS never confirmed", len(f.n.sent()))
			}
		})
	}
}

// TestAnnouncementRetried: a decision notice SNS failed to send is not
// recorded as sent: the sweep sends it again, a SendLease apart, until it
// is, telling nobody twice; at most MaxAnnouncements times.
func TestAnnouncementRetried(t *testing.T) {
	for _, recovers := range []bool{true, false} {
		f, ps, _ := sweptFixture(t)
		down := func(m Message) error {
			if strings.Contains(m.Subject, "approved") {
				return hook.Transient(errors.New("SNS is down"))
			}
			return nil
		}
		f.n.fail = down
		if err := f.cast(t, Vote{Approver: "alice@example.com", Decision: Approve, Via: "link"}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.gate.Settle(context.Background(), f.key); err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(ps.calls) != "[hook-1 CONTINUE]" || f.n.count("[gatehouse] Deploy of") != 0 {
			t.Fatalf("calls %v, %d notices; want ECS told, nobody told yet", ps.calls, f.n.count("[gatehouse] Deploy of"))
		}
		if recovers {
			f.n.fail = nil
		}
		for range 2 * MaxAnnouncements {
			f.clock.Add(SendLease)
			f.sweep(t)
		}
		r, _ := f.load(t)
		switch {
		case recovers && (f.n.count("[gatehouse] Deploy of orders (prod-cluster) approved") != 2 || len(r.unannounced()) != 0 || len(f.markers(t)) != 0):
			t.Errorf("after SNS recovered: %d notices, untold %v, markers %v; want both told once, the marker gone", f.n.count("[gatehouse] Deploy of"), r.unannounced(), f.markers(t))
		case !recovers && (r.Announcements != MaxAnnouncements-1 || len(f.markers(t)) != 0):
			t.Errorf("SNS never recovering: %d announcements again, markers %v; want %d, then the marker gone", r.Announcements, f.markers(t), MaxAnnouncements-1)
		}
		if len(ps.calls) != 1 {
			t.Errorf("calls %v, want ECS told once", ps.calls)
		}
	}
}

// TestPassingFaultKeepsTheEvent: while ECS cannot be reached (a passing
// fault), an event's marker is kept however long it lasts, and the sweep
// opens the request once ECS answers: a real wait is never forgotten.
func TestPassingFaultKeepsTheEvent(t *testing.T) {
	f, ps, ev := pauseFixture(t)
	f.gate.Index = f.st
	ev.Stage = hook.StagePostTestTrafficShift
	ps.awaitErr = hook.Transient(errors.New("ServiceUnavailable: try again"))
	if _, err := f.gate.OpenPause(context.Background(), ev, f.poll.Settings); err == nil {
		t.Fatal("OpenPause succeeded though ECS could not be asked")
	}
	for range 20 {
		f.clock.Add(time.Minute)
		if _, err := f.gate.Sweep(context.Background(), f.poll.Settings); err == nil {
			t.Error("a sweep that could not ask ECS reported nothing")
		}
	}
	ps.mu.Lock()
	ps.awaitErr = nil
	ps.mu.Unlock()
	f.sweep(t)
	if r, _ := f.load(t); r.Pause == nil || len(f.n.sent()) != 2 {
		t.Errorf("the request was not opened once ECS answered: %+v, %d messages", r, len(f.n.sent()))
	}
}

// TestRefusedContinueIsReported: ECS refusing gatehouse's continue for
// good (AccessDenied: the service lost the tag its permission needs) is
// retried and reported, so the function's Errors alarm says it, and the
// audit names the tag.
func TestRefusedContinueIsReported(t *testing.T) {
	f, ps, _ := sweptFixture(t)
	ps.fail = errors.New("AccessDeniedException: not authorized to perform ecs:ContinueServiceDeployment")
	if err := f.cast(t, Vote{Approver: "alice@example.com", Decision: Reject, Via: "link"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.gate.Settle(context.Background(), f.key); err == nil || !strings.Contains(err.Error(), "gatehouse:pause=approval") {
		t.Errorf("Settle = %v, want the refusal reported, naming the tag", err)
	}
	f.clock.Add(2 * time.Minute)
	if _, err := f.gate.Sweep(context.Background(), f.poll.Settings); err == nil {
		t.Error("the sweep reported nothing")
	}
	if r, _ := f.load(t); r.Pause.Done != nil || r.Pause.Attempts != 2 || len(f.markers(t)) != 1 {
		t.Errorf("pause %+v, markers %v; want it retried, the marker kept", r.Pause, f.markers(t))
	}
}
