package approval

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/hook"
)

// fakeAlarms is CloudWatch as a test sets it: alarm states by name, or an
// error.
type fakeAlarms struct {
	mu     sync.Mutex
	states map[string]string
	err    error
	reads  int
}

func (f *fakeAlarms) Alarms(ctx context.Context, names, prefixes []string) ([]Alarm, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reads++
	if f.err != nil {
		return nil, f.err
	}
	var out []Alarm
	for name, state := range f.states {
		if slices.Contains(names, name) || slices.ContainsFunc(prefixes, func(p string) bool { return strings.HasPrefix(name, p) }) {
			out = append(out, Alarm{Name: name, State: state, Reason: "Threshold Crossed: 3 datapoints were greater than the threshold (1.0)."})
		}
	}
	return out, nil
}

func (f *fakeAlarms) set(name, state string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.states[name] = state
}

func (f *fakeAlarms) fail(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.err = err
}

func alarmFixture(t *testing.T) (*fixture, *fakeAlarms) {
	t.Helper()
	f := newFixture(t, []string{"alice@example.com", "bob@example.com"}, 1)
	a := &fakeAlarms{states: map[string]string{"orders-5xx": "OK", "orders-p99": "OK", "orders-cpu": "INSUFFICIENT_DATA"}}
	f.gate.Alarms = a
	f.poll.Settings.AbortOnAlarms = Alarms{Names: []string{"orders-5xx"}, Prefixes: []string{"orders-p"}}
	return f, a
}

// TestAbortOnAlarmDuringWait: an alarm that goes into ALARM while the request
// waits closes it as aborted, tells those who were asked, and fails the hook;
// the review links then show a closed request and a vote is refused.
func TestAbortOnAlarmDuringWait(t *testing.T) {
	f, a := alarmFixture(t)
	f.mustPoll(t, Pending)
	if n := f.n.count("[gatehouse] Approve"); n != 2 {
		t.Fatalf("%d review messages, want 2", n)
	}
	if body := f.n.sent()[0].Body; !strings.Contains(body, "Watching:    orders-5xx, orders-p* (in ALARM before the deployment goes on: rolled back)") {
		t.Errorf("review message does not say which alarms are watched:\n%s", body)
	}
	f.clock.Add(time.Minute)
	f.mustPoll(t, Pending)

	a.set("orders-p99", "ALARM")
	f.clock.Add(time.Minute)
	v := f.mustPoll(t, Aborted)
	want := "aborted: alarm orders-p99 is in ALARM (Threshold Crossed: 3 datapoints were greater than the threshold (1.0).)"
	if v.Pass || v.Reason != want {
		t.Errorf("verdict %+v, want no pass and the reason %q", v, want)
	}
	r, _ := f.load(t)
	decided := slices.IndexFunc(r.History, func(e Event) bool { return e.Kind == "decided" })
	if r.Outcome != Aborted || r.AnnouncedAt == nil || decided < 0 || r.History[decided].Detail != want {
		t.Errorf("stored request: outcome %q, announced %v, history %+v; want aborted, announced, and the reason in the audit trail", r.Outcome, r.AnnouncedAt, r.History)
	}
	if n := f.n.count("[gatehouse] Deploy of orders (prod-cluster) aborted"); n != 2 {
		t.Errorf("%d decision notices, want one to each approver", n)
	}
	if err := r.Cast(Vote{Approver: "alice@example.com", Decision: Approve, Via: "link"}, f.clock.Now()); !errors.Is(err, ErrClosed) {
		t.Errorf("vote on an aborted request = %v, want ErrClosed", err)
	}

	// Closed is closed: the alarm recovering changes nothing, and nobody is
	// told twice.
	a.set("orders-p99", "OK")
	reads := a.reads
	f.mustPoll(t, Aborted)
	if a.reads != reads {
		t.Errorf("a closed request read the alarms again")
	}
	if n := f.n.count("[gatehouse] Deploy of"); n != 2 {
		t.Errorf("%d decision notices after another poll, want still 2", n)
	}
}

// TestAbortOnAlarmBeforeAsking: a green whose alarm already fires is refused
// before anyone is asked.
func TestAbortOnAlarmBeforeAsking(t *testing.T) {
	f, a := alarmFixture(t)
	a.set("orders-5xx", "ALARM")
	v := f.mustPoll(t, Aborted)
	if !strings.HasSuffix(v.Reason, "; nobody was asked to approve") || !strings.Contains(v.Reason, "alarm orders-5xx is in ALARM") {
		t.Errorf("reason %q, want the alarm and that nobody was asked", v.Reason)
	}
	if n := len(f.n.sent()); n != 0 {
		t.Errorf("%d messages sent, want none", n)
	}
	if r, _ := f.load(t); r.Outcome != Aborted {
		t.Errorf("stored outcome %q, want the request recorded as aborted", r.Outcome)
	}
}

// TestAbortOnAlarmFailsClosed: alarms that cannot be watched abort the
// request (a watch that cannot see is no watch); a transient error keeps it
// open and reads again next time; states other than ALARM do not abort.
func TestAbortOnAlarmFailsClosed(t *testing.T) {
	tests := []struct {
		name   string
		setup  func(f *fixture, a *fakeAlarms)
		want   Outcome
		reason string
	}{
		{"insufficient data is not an alarm", func(f *fixture, a *fakeAlarms) {
			f.poll.Settings.AbortOnAlarms.Names = append(f.poll.Settings.AbortOnAlarms.Names, "orders-cpu")
		}, Pending, "waiting for approval"},
		{"a named alarm does not exist", func(f *fixture, a *fakeAlarms) {
			f.poll.Settings.AbortOnAlarms.Names = []string{"orders-5xx", "orders-typo"}
		}, Aborted, `aborted: abortOnAlarms: alarm "orders-typo" does not exist`},
		{"a prefix matches none", func(f *fixture, a *fakeAlarms) {
			f.poll.Settings.AbortOnAlarms.Prefixes = []string{"payments-"}
		}, Aborted, `abortOnAlarms: no alarm name starts with "payments-"`},
		{"access denied", func(f *fixture, a *fakeAlarms) {
			a.fail(errors.New("AccessDenied: not authorized to perform cloudwatch:DescribeAlarms"))
		}, Aborted, "abortOnAlarms: cannot read the alarms: AccessDenied"},
		{"no alarm reader", func(f *fixture, a *fakeAlarms) { f.gate.Alarms = nil }, Aborted,
			"abortOnAlarms: this approval hook cannot read CloudWatch alarms"},
		{"throttled", func(f *fixture, a *fakeAlarms) {
			a.fail(hook.Transient(errors.New("Throttling: rate exceeded")))
		}, Pending, "waiting for approval"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, a := alarmFixture(t)
			tt.setup(f, a)
			v := f.mustPoll(t, tt.want)
			if !strings.Contains(v.Reason, tt.reason) {
				t.Errorf("reason %q, want it to contain %q", v.Reason, tt.reason)
			}
		})
	}

	// After a transient error the next call reads again, and acts on it.
	f, a := alarmFixture(t)
	a.fail(hook.Transient(errors.New("Throttling: rate exceeded")))
	f.mustPoll(t, Pending)
	a.fail(nil)
	a.set("orders-5xx", "ALARM")
	f.clock.Add(time.Minute)
	f.mustPoll(t, Aborted)
}

// TestAbortOnAlarmOnePerPoll: a pending poll reads the alarms once and the
// request once, and writes nothing.
func TestAbortOnAlarmOnePerPoll(t *testing.T) {
	f, a := alarmFixture(t)
	f.mustPoll(t, Pending)
	_, etag := f.load(t)
	for i := range 3 {
		before := a.reads
		f.clock.Add(time.Minute)
		f.mustPoll(t, Pending)
		if a.reads != before+1 {
			t.Fatalf("poll %d read the alarms %d times, want once", i, a.reads-before)
		}
	}
	if _, now := f.load(t); now != etag {
		t.Errorf("pending polls wrote the request")
	}
}

// TestAbortOnAlarmAfterApproval: an approval recorded between two hook
// calls does not go on while a watched alarm fires: the call that finds it
// reads the alarms first. Once the gate has answered its pass, the alarms
// are not read again.
func TestAbortOnAlarmAfterApproval(t *testing.T) {
	f, a := alarmFixture(t)
	f.mustPoll(t, Pending)
	f.vote(t, "alice@example.com", Approve)
	a.set("orders-5xx", "ALARM")
	v := f.mustPoll(t, Aborted)
	if v.Pass || !strings.Contains(v.Reason, "alarm orders-5xx is in ALARM") ||
		!strings.HasSuffix(v.Reason, "; approved by alice@example.com (1 of 1 required), but the deployment did not go on") {
		t.Errorf("verdict %+v, want an abort that says the approval did not go on", v)
	}
	if n := f.n.count("[gatehouse] Deploy of orders (prod-cluster) aborted"); n != 2 {
		t.Errorf("%d abort notices, want 2", n)
	}

	f, a = alarmFixture(t)
	f.mustPoll(t, Pending)
	f.vote(t, "alice@example.com", Approve)
	if v := f.mustPoll(t, Approved); !v.Pass {
		t.Fatalf("verdict %+v, want a pass", v)
	}
	a.set("orders-5xx", "ALARM")
	reads := a.reads
	if v := f.mustPoll(t, Approved); !v.Pass || a.reads != reads {
		t.Errorf("after the pass was answered: verdict %+v, %d more reads; want the same pass and no read", v, a.reads-reads)
	}
}

// TestAbortOnAlarmBeforeExpiryApproves: onExpiry approve is silence taken
// as consent; it is not taken while a watched alarm fires.
func TestAbortOnAlarmBeforeExpiryApproves(t *testing.T) {
	f, a := alarmFixture(t)
	f.poll.Settings.OnExpiry = Approve
	f.mustPoll(t, Pending)
	a.set("orders-p99", "ALARM")
	f.clock.Add(5 * time.Hour)
	if v := f.mustPoll(t, Aborted); v.Pass {
		t.Errorf("verdict %+v, want no pass", v)
	}
}

// TestAlarmTroubleIsBounded: unreadable alarms are recorded once when the
// trouble starts and once when it ends; no pass is answered without a look
// at them; trouble that lasts AlarmTroubleLimit aborts the request.
func TestAlarmTroubleIsBounded(t *testing.T) {
	f, a := alarmFixture(t)
	f.mustPoll(t, Pending)
	throttled := hook.Transient(errors.New("Throttling: rate exceeded"))
	a.fail(throttled)
	f.clock.Add(time.Minute)
	f.mustPoll(t, Pending)
	r, etag := f.load(t)
	if r.AlarmTroubleSince == nil || !r.AlarmTroubleSince.Equal(f.clock.Now()) {
		t.Fatalf("alarmTroubleSince = %v, want the time the trouble started", r.AlarmTroubleSince)
	}
	f.clock.Add(time.Minute)
	f.mustPoll(t, Pending)
	if _, now := f.load(t); now != etag {
		t.Errorf("a second call in the same trouble wrote the request")
	}

	// An approval meanwhile is not answered while the alarms cannot be read.
	f.vote(t, "alice@example.com", Approve)
	if _, err := f.gate.Poll(t.Context(), f.poll); !hook.IsTransient(err) || !strings.Contains(err.Error(), "could not be read") {
		t.Fatalf("Poll = %v, want a transient error: no pass without a look at the alarms", err)
	}
	// Readable again: the trouble is cleared and the approval goes on.
	a.fail(nil)
	if v := f.mustPoll(t, Approved); !v.Pass {
		t.Errorf("verdict %+v, want the pass", v)
	}
	if r, _ := f.load(t); r.AlarmTroubleSince != nil {
		t.Errorf("alarmTroubleSince = %v after the alarms were read, want it cleared", r.AlarmTroubleSince)
	}

	// Trouble that lasts aborts.
	f, a = alarmFixture(t)
	a.fail(throttled)
	f.mustPoll(t, Pending)
	f.clock.Add(AlarmTroubleLimit - time.Second)
	f.mustPoll(t, Pending)
	f.clock.Add(time.Second)
	v := f.mustPoll(t, Aborted)
	if !strings.Contains(v.Reason, "abortOnAlarms: the alarms could not be read for 10m: Throttling: rate exceeded") {
		t.Errorf("reason %q, want how long and why", v.Reason)
	}

	// A duration whose seconds end in 0 keeps every digit.
	f, a = alarmFixture(t)
	a.fail(throttled)
	f.mustPoll(t, Pending)
	f.clock.Add(AlarmTroubleLimit + 30*time.Second)
	v = f.mustPoll(t, Aborted)
	if !strings.Contains(v.Reason, "could not be read for 10m30s:") {
		t.Errorf("reason %q, want 10m30s", v.Reason)
	}
}

// TestAbortWaitsForAPublisher: a caller that finds a reason to abort while
// another publishes the review links leaves it to the next call, so no link
// goes out for a closed request.
func TestAbortWaitsForAPublisher(t *testing.T) {
	f, a := alarmFixture(t)
	f.mustPoll(t, Pending)
	r, etag := f.load(t)
	now := f.clock.Now()
	if _, _, err := Update(t.Context(), f.st, f.key, etag, r, func(n *Request) error { n.SendingSince = &now; return nil }); err != nil {
		t.Fatal(err)
	}
	a.set("orders-5xx", "ALARM")
	f.mustPoll(t, Pending)
	f.clock.Add(SendLease)
	f.mustPoll(t, Aborted)
}

// TestDecisionNoticeOnlyToThoseAsked: the outcome goes to those whose
// review message went out, and nobody else.
func TestDecisionNoticeOnlyToThoseAsked(t *testing.T) {
	f := newFixture(t, []string{"alice@example.com", "bob@example.com"}, 1)
	f.n.fail = func(m Message) error {
		if m.Approver == "bob@example.com" && strings.HasPrefix(m.Subject, "[gatehouse] Approve") {
			return errors.New("AuthorizationError: not allowed")
		}
		return nil
	}
	if _, err := f.gate.Poll(t.Context(), f.poll); err == nil {
		t.Fatal("Poll = nil, want the permanent publish failure")
	}
	f.vote(t, "alice@example.com", Reject)
	f.mustPoll(t, Rejected)
	for _, m := range f.n.sent() {
		if m.Approver == "bob@example.com" {
			t.Errorf("bob, never asked, got %q", m.Subject)
		}
	}
	if n := f.n.count("[gatehouse] Deploy of"); n != 1 {
		t.Errorf("%d decision notices, want 1 (alice)", n)
	}
}

func TestAbortOnAlarmsSettings(t *testing.T) {
	s, err := Apply(DefaultSettings(), []byte(`{"abortOnAlarms": {"names": ["orders-5xx"], "prefixes": ["orders-p"]}}`))
	if err != nil || s.AbortOnAlarms.String() != "orders-5xx, orders-p*" {
		t.Errorf("Apply = %+v, %v, want the alarms", s.AbortOnAlarms, err)
	}
	for _, tt := range []struct{ details, want string }{
		{`{"abortOnAlarms": ["orders-5xx"]}`, `hookDetails.abortOnAlarms: want {"names": [...], "prefixes": [...]}`},
		{`{"abortOnAlarms": {"name": ["orders-5xx"]}}`, `hookDetails.abortOnAlarms: want`},
		{`{"abortOnAlarms": null}`, `hookDetails.abortOnAlarms: want`},
		{`{"abortOnAlarms": {"names": [""]}}`, `abortOnAlarms.names[0]: ""`},
		{`{"abortOnAlarms": {"prefixes": [" orders"]}}`, `abortOnAlarms.prefixes[0]: " orders"`},
		{`{"abortOnAlarms": {"prefixes": ["a","b","c","d","e","f","g","h","i","j","k"]}}`, `abortOnAlarms.prefixes: 11 prefixes, at most 10`},
	} {
		if _, err := Apply(DefaultSettings(), []byte(tt.details)); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Apply(%s) = %v, want an error containing %q", tt.details, err, tt.want)
		}
	}
	if got := ParseAlarmList(" a, b,,a ,c "); !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Errorf("ParseAlarmList = %q", got)
	}
}
