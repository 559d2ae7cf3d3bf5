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
	s, err := f.gate.Sweep(context.Background())
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
// again by each sweep, with the action fixed before the first call, until
// ECS takes it.
func TestSweepRetriesTheCall(t *testing.T) {
	f, ps, _ := sweptFixture(t)
	ps.fail = errors.New("ThrottlingException: rate exceeded")
	if err := f.cast(t, Vote{Approver: "alice@example.com", Decision: Approve, Via: "link"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.gate.Settle(context.Background(), f.key); err != nil {
		t.Fatal(err)
	}
	if len(ps.calls) != 1 {
		t.Fatalf("Settle made %d calls, want 1 (a failure waits for the sweep)", len(ps.calls))
	}
	f.sweep(t)
	ps.fail = nil
	f.sweep(t)
	if fmt.Sprint(ps.calls) != "[hook-1 CONTINUE hook-1 CONTINUE hook-1 CONTINUE]" {
		t.Errorf("calls %v, want CONTINUE once a sweep until taken", ps.calls)
	}
	r, _ := f.load(t)
	if r.Pause.Result != "accepted" || r.Pause.Attempts != 3 || r.Pause.Claimed != nil {
		t.Errorf("recorded %+v", r.Pause)
	}
	f.sweep(t)
	if len(ps.calls) != 3 {
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

// TestSweepOrphans: a marker whose request does not exist is kept while a
// call may still be creating the request, then removed; a request that
// cannot be read does not stop the others.
func TestSweepOrphans(t *testing.T) {
	f, _, _ := sweptFixture(t)
	orphan := PauseIndexPrefix + "111122223333/us-west-2/c/s/x/POST_TEST_TRAFFIC_SHIFT.pause-0.json"
	if err := f.gate.mark(context.Background(), KeyPrefix+strings.TrimPrefix(orphan, PauseIndexPrefix)); err != nil {
		t.Fatal(err)
	}
	broken := PauseIndexPrefix + "111122223333/us-west-2/c/s/y/POST_TEST_TRAFFIC_SHIFT.pause-1.json"
	if err := f.st.Put(context.Background(), broken, []byte(`{}`), "application/json"); err != nil {
		t.Fatal(err)
	}
	if err := f.st.Put(context.Background(), KeyPrefix+strings.TrimPrefix(broken, PauseIndexPrefix), []byte(`not json`), "application/json"); err != nil {
		t.Fatal(err)
	}
	s, err := f.gate.Sweep(context.Background())
	if err == nil || s.Failed != 1 || s.Open != 2 {
		t.Errorf("Sweep = %+v, %v; want the broken request failed, the others open", s, err)
	}
	f.clock.Add(orphanAge)
	f.gate.Sweep(context.Background())
	for _, m := range f.markers(t) {
		if m == orphan {
			t.Errorf("the orphan marker is still there after %s", orphanAge)
		}
	}
	if len(f.markers(t)) != 2 {
		t.Errorf("markers %v, want the open request's and the broken one's", f.markers(t))
	}
}

// TestSweepWithoutIndex fails rather than sweeping nothing in silence.
func TestSweepWithoutIndex(t *testing.T) {
	f, _, _ := pauseFixture(t)
	if _, err := f.gate.Sweep(context.Background()); err == nil {
		t.Error("a sweep without an index reported success")
	}
}
