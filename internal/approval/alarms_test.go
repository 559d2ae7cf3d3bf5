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
	if body := f.n.sent()[0].Body; !strings.Contains(body, "Watching:    orders-5xx, orders-p* (in ALARM: rolled back)") {
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

// TestAbortOnAlarmAfterApproval: an approved request is not read against
// the alarms again: the approvers decided, and the bake hook watches what
// follows.
func TestAbortOnAlarmAfterApproval(t *testing.T) {
	f, a := alarmFixture(t)
	f.mustPoll(t, Pending)
	f.vote(t, "alice@example.com", Approve)
	a.set("orders-5xx", "ALARM")
	if v := f.mustPoll(t, Approved); !v.Pass {
		t.Errorf("verdict %+v, want a pass", v)
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
