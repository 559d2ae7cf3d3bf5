package approval

import (
	"errors"
	"strings"
	"testing"
	"time"
	_ "time/tzdata"
)

func mustWindows(t *testing.T, raw string) []ChangeWindow {
	t.Helper()
	ws, err := ParseChangeWindows("changeWindows", []byte(raw))
	if err != nil {
		t.Fatalf("ParseChangeWindows(%s) = %v", raw, err)
	}
	return ws
}

func TestChangeWindowContains(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	office := Settings{ChangeWindows: mustWindows(t, `[{"days": ["mon","tue","wed","thu","fri"], "start": "09:00", "end": "17:00", "timezone": "Europe/Berlin"}]`)}
	night := Settings{ChangeWindows: mustWindows(t, `[{"days": ["sat"], "start": "22:00", "end": "02:00", "timezone": "UTC"}]`)}
	for _, tt := range []struct {
		name string
		s    Settings
		at   time.Time
		open bool
	}{
		{"Wednesday 10:00 Berlin", office, time.Date(2026, 11, 25, 10, 0, 0, 0, berlin), true},
		{"Wednesday 09:00 Berlin, the first minute", office, time.Date(2026, 11, 25, 9, 0, 0, 0, berlin), true},
		{"Wednesday 17:00 Berlin, the end is exclusive", office, time.Date(2026, 11, 25, 17, 0, 0, 0, berlin), false},
		{"Wednesday 08:30 UTC is 09:30 in Berlin (winter)", office, time.Date(2026, 11, 25, 8, 30, 0, 0, time.UTC), true},
		{"Wednesday 16:30 UTC is 17:30 in Berlin", office, time.Date(2026, 11, 25, 16, 30, 0, 0, time.UTC), false},
		{"summer time: 07:30 UTC is 09:30 in Berlin", office, time.Date(2026, 7, 1, 7, 30, 0, 0, time.UTC), true},
		{"Saturday noon", office, time.Date(2026, 11, 28, 12, 0, 0, 0, berlin), false},
		{"past midnight: Saturday 23:00", night, time.Date(2026, 11, 28, 23, 0, 0, 0, time.UTC), true},
		{"past midnight: Sunday 01:59", night, time.Date(2026, 11, 29, 1, 59, 0, 0, time.UTC), true},
		{"past midnight: Sunday 02:00", night, time.Date(2026, 11, 29, 2, 0, 0, 0, time.UTC), false},
		{"past midnight: Saturday 01:00 belongs to Friday's night", night, time.Date(2026, 11, 28, 1, 0, 0, 0, time.UTC), false},
		{"no windows: always open", Settings{}, time.Date(2026, 11, 28, 3, 0, 0, 0, time.UTC), true},
	} {
		got := tt.s.FrozenAt(tt.at)
		if (got == "") != tt.open {
			t.Errorf("%s: FrozenAt = %q, want open %v", tt.name, got, tt.open)
		}
		if !tt.open && !strings.HasPrefix(got, "outside the change windows (") {
			t.Errorf("%s: FrozenAt = %q, want it to name the windows", tt.name, got)
		}
	}
	if got := office.FrozenAt(time.Date(2026, 11, 28, 12, 0, 0, 0, berlin)); got != "outside the change windows (mon,tue,wed,thu,fri 09:00-17:00 Europe/Berlin)" {
		t.Errorf("FrozenAt = %q", got)
	}
}

func TestFreezeBeatsWindows(t *testing.T) {
	s := Settings{
		Freezes:       []Freeze{{Start: time.Date(2026, 12, 20, 0, 0, 0, 0, time.UTC), End: time.Date(2027, 1, 4, 0, 0, 0, 0, time.UTC), Reason: "holidays"}},
		ChangeWindows: mustWindows(t, `[{"days": ["mon","tue","wed","thu","fri","sat","sun"], "start": "00:00", "end": "24:00", "timezone": "UTC"}]`),
	}
	if got := s.FrozenAt(time.Date(2026, 12, 22, 10, 0, 0, 0, time.UTC)); got != "deployment freeze (holidays) until 2027-01-04 00:00 UTC" {
		t.Errorf("in the freeze: %q", got)
	}
	if got := s.FrozenAt(time.Date(2027, 1, 4, 0, 0, 0, 0, time.UTC)); got != "" {
		t.Errorf("at the freeze's end: %q, want open (the end is exclusive)", got)
	}
	if got := s.FrozenAt(time.Date(2026, 12, 19, 23, 59, 0, 0, time.UTC)); got != "" {
		t.Errorf("before the freeze: %q, want open", got)
	}
}

func TestFreezeSettingsErrors(t *testing.T) {
	for _, tt := range []struct{ details, want string }{
		{`{"changeWindows": {"days": ["mon"]}}`, `hookDetails.changeWindows: want a JSON list`},
		{`{"changeWindows": [{"days": ["mon"], "start": "09:00", "end": "17:00"}]}`, `hookDetails.changeWindows[0].timezone: required`},
		{`{"changeWindows": [{"days": ["monday"], "start": "9:00", "end": "17:00", "timezone": "Mars/Olympus"}]}`,
			`hookDetails.changeWindows[0].days: "monday"`},
		{`{"changeWindows": [{"days": ["mon"], "start": "9:00", "end": "17:00", "timezone": "UTC"}]}`, `hookDetails.changeWindows[0].start: "9:00", want HH:MM`},
		{`{"changeWindows": [{"days": ["mon"], "start": "09:00", "end": "17:00", "timezone": "Mars/Olympus"}]}`, `hookDetails.changeWindows[0].timezone: "Mars/Olympus" is not an IANA time zone`},
		{`{"changeWindows": [{"days": ["mon"], "start": "09:00", "end": "09:00", "timezone": "UTC"}]}`, `hookDetails.changeWindows[0].end: equal to start`},
		{`{"changeWindows": [{"days": ["mon"], "start": "24:00", "end": "09:00", "timezone": "UTC"}]}`, `hookDetails.changeWindows[0].start: "24:00" is the end of a day`},
		{`{"changeWindows": [{"days": ["mon"], "start": "09:00", "end": "17:00", "timezone": "UTC", "tz": "x"}]}`, `hookDetails.changeWindows[0]: want {"days"`},
		{`{"changeWindows": [{"days": ["mon"], "start": "09:00", "end": "17:00", "timezone": "Local"}]}`, `is not an IANA time zone`},
		{`{"freezes": {"start": "2026-12-20T00:00:00Z"}}`, `hookDetails.freezes: want a JSON list`},
		{`{"freezes": [{"start": "2026-12-20T00:00:00Z", "end": "2027-01-04T00:00:00Z"}, {"start": "2026-12-20", "end": "2027-01-04"}]}`, `hookDetails.freezes[1]: want {"start"`},
		{`{"changeWindows": [{"days": ["mon"], "start": "+9:00", "end": "17:00", "timezone": "UTC"}]}`, `changeWindows[0].start: "+9:00", want HH:MM`},
		{`{"changeWindows": [{"days": ["mon"], "start": "09:+5", "end": "17:00", "timezone": "UTC"}]}`, `changeWindows[0].start: "09:+5", want HH:MM`},
		{`{"changeWindows": [{"days": ["mon"], "start": "09:00", "end": "24:30", "timezone": "UTC"}]}`, `changeWindows[0].end: "24:30", want HH:MM from 00:00 to 24:00`},
		{`{"freezes": [{"start": "2027-01-04T00:00:00Z", "end": "2026-12-20T00:00:00Z"}]}`, `hookDetails.freezes[0]: want a start and a later end`},
		{`{"freezes": [{"start": "2026-12-20T00:00:00Z", "end": "2027-01-04T00:00:00Z", "reason": "a\nb"}]}`, `hookDetails.freezes[0].reason: want one line`},
	} {
		if _, err := Apply(DefaultSettings(), []byte(tt.details)); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Apply(%s) = %v, want an error containing %q", tt.details, err, tt.want)
		}
	}
	if _, err := Apply(DefaultSettings(), []byte(`{"changeWindows": [{"days": ["mon"], "start": "9am", "end": "00:00", "timezone": "UTC"}]}`)); err == nil || strings.Contains(err.Error(), "equal to start") {
		t.Errorf("a bad start also reported as equal to the end: %v", err)
	}
	s, err := Apply(DefaultSettings(), []byte(`{"freezes": [{"start": "2026-12-20T00:00:00+01:00", "end": "2027-01-04T00:00:00Z", "reason": "holidays"}],
		"changeWindows": [{"days": ["mon", "Tue"], "start": "09:00", "end": "17:30", "timezone": "America/New_York"}]}`))
	if err != nil || len(s.Freezes) != 1 || len(s.ServiceWindows) != 1 || s.ServiceWindows[0].String() != "mon,tue 09:00-17:30 America/New_York" {
		t.Errorf("Apply = %+v, %v", s, err)
	}
}

// TestFrozenRequest: a request created during a freeze takes only
// emergency overrides with a reason; a reject needs none; expiry never
// approves it, even with onExpiry approve.
func TestFrozenRequest(t *testing.T) {
	f := newFixture(t, []string{"alice@example.com", "bob@example.com"}, 1)
	f.poll.Settings.Freezes = []Freeze{{Start: t0.Add(-time.Hour), End: t0.Add(48 * time.Hour), Reason: "holidays"}}
	f.poll.Settings.OnExpiry = Approve
	v := f.mustPoll(t, Pending)
	if !strings.Contains(v.Reason, "deployment freeze (holidays) until") || !strings.Contains(v.Reason, "approvals must be emergency overrides") {
		t.Errorf("reason %q, want the freeze and what it takes", v.Reason)
	}
	if body := f.n.sent()[0].Body; !strings.Contains(body, "FROZEN:      deployment freeze (holidays)") || strings.Contains(body, "approved (onExpiry: approve)") {
		t.Errorf("review message does not state the freeze, or promises approval on expiry:\n%s", body)
	}
	r, _ := f.load(t)
	if err := r.Cast(Vote{Approver: "alice@example.com", Decision: Approve, Via: "link"}, f.clock.Now()); !errors.Is(err, ErrFrozen) {
		t.Errorf("plain approval = %v, want ErrFrozen", err)
	}
	if err := r.Cast(Vote{Approver: "alice@example.com", Decision: Approve, Via: "link", Override: true, Comment: "  "}, f.clock.Now()); !errors.Is(err, ErrOverrideReason) {
		t.Errorf("override without a reason = %v, want ErrOverrideReason", err)
	}
	if len(r.Votes) != 0 {
		t.Fatalf("refused votes were recorded: %+v", r.Votes)
	}

	// Expiry does not approve a frozen request.
	f.clock.Add(5 * time.Hour)
	v = f.mustPoll(t, Expired)
	if v.Pass || !strings.Contains(v.Reason, "expiry does not approve a deployment that needs an emergency override") {
		t.Errorf("expiry of a frozen request = %+v, want a rejection saying why", v)
	}

	// An override with a reason approves, and the record says so.
	f = newFixture(t, []string{"alice@example.com", "bob@example.com"}, 1)
	f.poll.Settings.Freezes = []Freeze{{Start: t0.Add(-time.Hour), End: t0.Add(48 * time.Hour), Reason: "holidays"}}
	f.mustPoll(t, Pending)
	r, etag := f.load(t)
	if _, _, err := Update(t.Context(), f.st, f.key, etag, r, func(n *Request) error {
		return n.Cast(Vote{Approver: "alice@example.com", Decision: Approve, Via: "link", Override: true, Comment: "payment outage fix"}, f.clock.Now())
	}); err != nil {
		t.Fatal(err)
	}
	v = f.mustPoll(t, Approved)
	if !v.Pass || v.Reason != "approved by alice@example.com (emergency override) (1 of 1 required)" {
		t.Errorf("verdict %+v, want a pass naming the override", v)
	}
	r, _ = f.load(t)
	found := false
	for _, e := range r.History {
		found = found || e.Kind == "vote" && e.Detail == "approve as an emergency override (deployment freeze (holidays) until 2026-11-27 09:00 UTC) via link: payment outage fix"
	}
	if !found {
		t.Errorf("audit trail does not record the override and its reason: %+v", r.History)
	}
}

// TestOverrideOutsideAFreeze: an override flag on a request that needs
// none is a plain approval.
func TestOverrideOutsideAFreeze(t *testing.T) {
	f := newFixture(t, []string{"alice@example.com"}, 1)
	f.mustPoll(t, Pending)
	r, _ := f.load(t)
	if err := r.Cast(Vote{Approver: "alice@example.com", Decision: Approve, Via: "link", Override: true}, f.clock.Now()); err != nil || r.Votes[0].Override {
		t.Errorf("Cast = %v, vote %+v; want a plain approval", err, r.Votes)
	}
}

func TestOverlappingFreezesNameTheLatestEnd(t *testing.T) {
	s := Settings{Freezes: []Freeze{
		{Start: t0.Add(-time.Hour), End: t0.Add(time.Hour), Reason: "release"},
		{Start: t0.Add(-2 * time.Hour), End: t0.Add(72 * time.Hour), Reason: "holidays"},
	}}
	if got := s.FrozenAt(t0); got != "deployment freeze (holidays) until 2026-11-28 09:00 UTC" {
		t.Errorf("FrozenAt = %q, want the freeze that lasts longest", got)
	}
}

// TestChangeWindowOnDaylightSavingDays: windows are wall-clock times in
// their zone, on the days the clocks change too.
func TestChangeWindowOnDaylightSavingDays(t *testing.T) {
	s := Settings{ChangeWindows: mustWindows(t, `[{"days": ["sun"], "start": "01:00", "end": "04:00", "timezone": "Europe/Berlin"}]`)}
	for _, tt := range []struct {
		at   time.Time
		open bool
	}{
		// 2026-03-29: 02:00 CET becomes 03:00 CEST (01:00 UTC).
		{time.Date(2026, 3, 29, 0, 30, 0, 0, time.UTC), true},   // 01:30 CET
		{time.Date(2026, 3, 29, 1, 30, 0, 0, time.UTC), true},   // 03:30 CEST
		{time.Date(2026, 3, 29, 2, 0, 0, 0, time.UTC), false},   // 04:00 CEST
		{time.Date(2026, 10, 25, 1, 30, 0, 0, time.UTC), true},  // 02:30 CET, the repeated hour
		{time.Date(2026, 10, 25, 3, 0, 0, 0, time.UTC), false},  // 04:00 CET
		{time.Date(2026, 10, 24, 23, 30, 0, 0, time.UTC), true}, // 01:30 CEST, Sunday in Berlin, Saturday in UTC
	} {
		if got := s.FrozenAt(tt.at) == ""; got != tt.open {
			t.Errorf("at %s: open %v, want %v", tt.at.Format(time.RFC3339), got, tt.open)
		}
	}
}

// TestSchemaVersion2: a document older code would misread (a freeze, watched
// alarms) is written as version 2, which that code refuses; others stay
// version 1. A plain approval on a frozen request, as an older writer might
// add, does not count.
func TestSchemaVersion2(t *testing.T) {
	f := newFixture(t, []string{"alice@example.com"}, 1)
	f.mustPoll(t, Pending)
	r, _ := f.load(t)
	r.Terms = nil // as written before version 3
	b, _ := r.Encode()
	if !strings.Contains(string(b), `"schemaVersion": 1`) {
		t.Errorf("a plain request is not version 1:\n%s", b)
	}
	r.Freeze = "deployment freeze until 2027-01-04 00:00 UTC"
	b, _ = r.Encode()
	if !strings.Contains(string(b), `"schemaVersion": 2`) {
		t.Errorf("a frozen request is not version 2:\n%s", b)
	}
	back, err := Decode(b)
	if err != nil || back.Freeze == "" {
		t.Fatalf("Decode(version 2) = %+v, %v", back, err)
	}
	back.Votes = append(back.Votes, Vote{Approver: "alice@example.com", Decision: Approve, At: t0, Via: "link"})
	if o := back.Evaluate(t0); o != Pending {
		t.Errorf("a plain approval of a frozen request evaluates %q, want pending", o)
	}
	if _, err := Decode([]byte(strings.Replace(string(b), `"schemaVersion": 2`, `"schemaVersion": 4`, 1))); err == nil || !strings.Contains(err.Error(), "schema version 4, want 1 to 3") {
		t.Errorf("Decode(version 4) = %v, want a refusal", err)
	}
	// What governance relies on is version 3, which older code refuses.
	terms := back.terms()
	back.Terms = &terms
	if b, _ = back.Encode(); !strings.Contains(string(b), `"schemaVersion": 3`) {
		t.Errorf("a request with its terms is not version 3:\n%s", b)
	}
}

// TestServiceFreezesAddToTheOrganisations: hookDetails cannot lift a freeze
// set in the environment.
func TestServiceFreezesAddToTheOrganisations(t *testing.T) {
	d := DefaultSettings()
	d.Freezes = []Freeze{{Start: t0, End: t0.Add(time.Hour), Reason: "org"}}
	s, err := Apply(d, []byte(`{"freezes": []}`))
	if err != nil || len(s.Freezes) != 1 {
		t.Errorf("Apply(freezes: []) = %+v, %v; want the organisation's freeze kept", s.Freezes, err)
	}
	s, err = Apply(d, []byte(`{"freezes": [{"start": "2026-12-20T00:00:00Z", "end": "2027-01-04T00:00:00Z"}]}`))
	if err != nil || len(s.Freezes) != 2 || len(d.Freezes) != 1 {
		t.Errorf("Apply(a freeze) = %+v, %v; want both, and the defaults untouched", s.Freezes, err)
	}
}

// TestFirstDeploymentSkipIsNotTakenInAFreeze: skipping the first deployment
// does not skip a freeze.
func TestFirstDeploymentSkipIsNotTakenInAFreeze(t *testing.T) {
	f := newFixture(t, []string{"alice@example.com"}, 1)
	f.gate.Describer = fakeDescriber{d: Change{TargetTaskDefinition: "orders:1", FirstDeployment: true}}
	f.poll.Settings.FirstDeployment = FirstDeploymentSkip
	f.poll.Settings.Freezes = []Freeze{{Start: t0.Add(-time.Hour), End: t0.Add(time.Hour)}}
	if v := f.mustPoll(t, Pending); !strings.Contains(v.Reason, "deployment freeze") {
		t.Errorf("verdict %+v, want the first deployment held in the freeze", v)
	}
}
