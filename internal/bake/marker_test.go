package bake

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/smithy-go"

	"github.com/gatehouse-dev/gatehouse/internal/hook"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// noMerge plays an ECS that passes back only the configured hookDetails,
// never the state an IN_PROGRESS answer returned.
func noMerge(dst, src any) any { return dst }

func markerKey(t *testing.T) string {
	t.Helper()
	return StartKey(mustARN(t), hook.StagePostProductionTrafficShift)
}

func readMarker(t *testing.T, s *store.Memory) marker {
	t.Helper()
	obj, err := s.Get(context.Background(), markerKey(t))
	if err != nil {
		t.Fatalf("start marker: %v", err)
	}
	m, err := decodeMarker(obj.Body)
	if err != nil {
		t.Fatalf("start marker %s: %v", obj.Body, err)
	}
	return m
}

func putMarker(t *testing.T, s *store.Memory, body []byte) {
	t.Helper()
	if _, err := s.Create(context.Background(), markerKey(t), body); err != nil {
		t.Fatal(err)
	}
}

// ownMarker returns the marker of the test deployment's run with the
// issue's configuration, started at start.
func ownMarker(t *testing.T, start time.Time) marker {
	t.Helper()
	return markerOf(boundState(t, issueConfig, start))
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func answerState(t *testing.T, res hook.Response) State {
	t.Helper()
	st, ok, err := decodeState(res.HookDetails)
	if err != nil || !ok {
		t.Fatalf("state in %s: ok %v, err %v", res.HookDetails, ok, err)
	}
	return st
}

// reportOf returns the stored verdict.
func reportOf(t *testing.T, s *store.Memory) Report {
	t.Helper()
	obj, err := s.Get(context.Background(), Key(mustARN(t), hook.StagePostProductionTrafficShift))
	if err != nil {
		t.Fatalf("report: %v", err)
	}
	var rep Report
	if err := json.Unmarshal(obj.Body, &rep); err != nil {
		t.Fatalf("report %s: %v", obj.Body, err)
	}
	return rep
}

func TestStartKey(t *testing.T) {
	want := "reports/123456789012/us-west-2/prod-cluster/orders/EZe5RNVLH6PPzHXINuP28/bake-POST_PRODUCTION_TRAFFIC_SHIFT.start.json"
	if got := markerKey(t); got != want {
		t.Errorf("StartKey = %s, want %s", got, want)
	}
}

// TestBakeWithoutMergedState: ECS passes back only the configured
// hookDetails. With a state bucket, the window still ends on time, from the
// start marker the first call wrote, and the bake passes after the window;
// without one, every call starts afresh (the failure the marker prevents).
func TestBakeWithoutMergedState(t *testing.T) {
	t.Run("with a state bucket", func(t *testing.T) {
		now := t0
		src, reports := healthySources(), store.NewMemory()
		var logs bytes.Buffer
		c := newChecker(src, &fakeLocator{}, reports, &now)
		c.Log = slog.New(slog.NewJSONHandler(&logs, nil))
		d := &deployment{t: t, h: HookHandler(c, DefaultConfig()), details: json.RawMessage(issueConfig), merge: noMerge}
		steps := []struct {
			at        time.Duration
			want      hook.Status
			why       string
			wantDelay int
		}{
			{0, hook.StatusInProgress, "baking 0s of 10m, every check within limits", 60},
			{time.Minute, hook.StatusInProgress, "baking 1m of 10m", 60},
			{4 * time.Minute, hook.StatusInProgress, "baking 4m of 10m", 60},
			{9*time.Minute + 40*time.Second, hook.StatusInProgress, "baking 9m40s of 10m", 20},
			{10 * time.Minute, hook.StatusSucceeded, "bake passed: 10m, every check within limits", 0},
		}
		for i, s := range steps {
			now = t0.Add(s.at)
			res := d.call()
			if res.HookStatus != s.want || !strings.Contains(res.Reason, s.why) || res.CallBackDelay != s.wantDelay {
				t.Fatalf("call at +%s = %s (delay %d) %q, want %s (delay %d) with %q", s.at, res.HookStatus, res.CallBackDelay, res.Reason, s.want, s.wantDelay, s.why)
			}
			resumed := strings.Contains(res.Reason, "window continued from its start marker in the state bucket, started 2026-11-25T09:00:00Z: there is no run state in hookDetails; the earlier history is lost")
			if resumed != (i > 0) {
				t.Errorf("call at +%s: reason %q, want it to say the window was continued from the marker: %v", s.at, res.Reason, i > 0)
			}
			if res.HookStatus == hook.StatusInProgress {
				if st := answerState(t, res); !st.Start.Equal(t0) || !st.Marked || len(st.History) != 1 {
					t.Errorf("call at +%s: state %+v, want the marker's start, marked, with this call's history only", s.at, st)
				}
			}
		}
		m := readMarker(t, reports)
		want := marker{Version: MarkerVersion, DeploymentARN: deploymentARN, Stage: hook.StagePostProductionTrafficShift,
			TargetRevisionARN: greenRevision, Config: fingerprint(mustConfig(t, issueConfig)), Start: t0}
		if !m.Start.Equal(want.Start) || m.DeploymentARN != want.DeploymentARN || m.Stage != want.Stage ||
			m.TargetRevisionARN != want.TargetRevisionARN || m.Config != want.Config || m.Version != want.Version || m.ExtendedEnd != nil {
			t.Errorf("marker = %+v, want %+v", m, want)
		}
		if n := reports.Writes(); n != 2 {
			t.Errorf("%d writes, want 2: the marker once and the verdict", n)
		}
		if rep := reportOf(t, reports); rep.HookStatus != hook.StatusSucceeded || !rep.WindowStart.Equal(t0) || !rep.WindowEnd.Equal(t0.Add(10*time.Minute)) {
			t.Errorf("report: %s from %v to %v", rep.HookStatus, rep.WindowStart, rep.WindowEnd)
		}
		if n := strings.Count(logs.String(), "bake window continued from the start marker"); n != len(steps)-1 {
			t.Errorf("%d log lines about the marker, want one per call after the first:\n%s", n, logs.String())
		}
	})
	t.Run("without a state bucket", func(t *testing.T) {
		now := t0
		d := &deployment{t: t, h: HookHandler(newChecker(healthySources(), &fakeLocator{}, nil, &now), DefaultConfig()),
			details: json.RawMessage(issueConfig), merge: noMerge}
		for _, at := range []time.Duration{0, 10 * time.Minute, 20 * time.Minute} {
			now = t0.Add(at)
			res := d.call()
			if res.HookStatus != hook.StatusInProgress || !strings.Contains(res.Reason, "baking 0s of 10m") {
				t.Fatalf("call at +%s = %s %q, want a window started afresh", at, res.HookStatus, res.Reason)
			}
			if st := answerState(t, res); st.Marked {
				t.Errorf("state marked without a state bucket")
			}
		}
	})
}

// TestBakeWithoutMergedStateExtendsOnce: the extension is recorded in the
// marker, so that a bake without enough traffic ends rather than extending
// on every call.
func TestBakeWithoutMergedStateExtendsOnce(t *testing.T) {
	now := t0
	src, reports := healthySources(), store.NewMemory()
	src.green = Stats{Requests: 30, Latency: &Percentiles{P99: 100}}
	d := &deployment{t: t, h: HookHandler(newChecker(src, &fakeLocator{}, reports, &now), DefaultConfig()), details: json.RawMessage(issueConfig), merge: noMerge}
	for _, s := range []struct {
		at   time.Duration
		want hook.Status
		why  string
	}{
		{0, hook.StatusInProgress, "waiting for traffic: 30 requests on green, want at least 100"},
		{10 * time.Minute, hook.StatusInProgress, "extended once by 10m (until 2026-11-25T09:20:00Z)"},
		{15 * time.Minute, hook.StatusInProgress, "baking 15m of 20m"},
		{20 * time.Minute, hook.StatusFailed, "no evidence after 20m of 20m (extended once): traffic: 30 requests on green, want at least 100 (onNoTraffic: fail)"},
	} {
		now = t0.Add(s.at)
		res := d.call()
		if res.HookStatus != s.want || !strings.Contains(res.Reason, s.why) {
			t.Fatalf("call at +%s = %s %q, want %s with %q", s.at, res.HookStatus, res.Reason, s.want, s.why)
		}
	}
	if m := readMarker(t, reports); !m.Start.Equal(t0) || m.ExtendedEnd == nil || !m.ExtendedEnd.Equal(t0.Add(20*time.Minute)) {
		t.Errorf("marker = %+v, want the start and the extended end", m)
	}
}

// TestStartMarkerBoundToItsRun: with no usable run state, a marker is used
// only by its own run and while not stale; any other is replaced by one of
// a run starting now, and the window starts afresh.
func TestStartMarkerBoundToItsRun(t *testing.T) {
	const window = 10 * time.Minute
	own := func(f func(*marker)) func(*testing.T) []byte {
		return func(t *testing.T) []byte {
			m := ownMarker(t, t0.Add(-4*time.Minute))
			f(&m)
			return mustJSON(t, m)
		}
	}
	tests := []struct {
		name      string
		marker    func(*testing.T) []byte
		details   func(*testing.T) json.RawMessage // nil: the configuration alone
		wantStart time.Time                        // t0 when started afresh
		wantWhy   string                           // why the marker was replaced; "" when used
	}{
		{name: "its own, mid-window", marker: own(func(m *marker) {}), wantStart: t0.Add(-4 * time.Minute)},
		{name: "its own, with a run state of another revision", marker: own(func(m *marker) {}),
			details: func(t *testing.T) json.RawMessage {
				st := boundState(t, issueConfig, t0.Add(-2*time.Minute))
				st.Revision = greenRevision + "1"
				return withState(t, issueConfig, st)
			}, wantStart: t0.Add(-4 * time.Minute)},
		{name: "another target revision", marker: own(func(m *marker) { m.TargetRevisionARN = greenRevision + "1" }),
			wantStart: t0, wantWhy: "it belongs to target revision"},
		{name: "another configuration", marker: own(func(m *marker) {
			m.Config = fingerprint(mustConfig(t, `{"window": "8h", "alarms": {"names": ["orders-p99"]}}`))
		}), wantStart: t0, wantWhy: "the configuration changed since it started"},
		{name: "another deployment", marker: own(func(m *marker) { m.DeploymentARN += "x" }), wantStart: t0, wantWhy: "it belongs to deployment"},
		{name: "another stage", marker: own(func(m *marker) { m.Stage = hook.StagePostTestTrafficShift }), wantStart: t0, wantWhy: "it belongs to stage"},
		{name: "another version", marker: own(func(m *marker) { m.Version = 2 }), wantStart: t0, wantWhy: "it has version 2, want 1"},
		{name: "corrupt", marker: func(*testing.T) []byte { return []byte(`{"v": 1, "start": "yesterday"`) }, wantStart: t0, wantWhy: "it cannot be decoded"},
		{name: "no start", marker: own(func(m *marker) { m.Start = time.Time{} }), wantStart: t0, wantWhy: "it has no start time"},
		{name: "from the future", marker: own(func(m *marker) { m.Start = t0.Add(time.Hour) }), wantStart: t0,
			wantWhy: "it starts 2026-11-25T10:00:00Z, in the future"},
		{name: "25 hours old", marker: own(func(m *marker) { m.Start = t0.Add(-25 * time.Hour) }), wantStart: t0,
			wantWhy: "it started 25h ago, longer than any bake run lasts (24h)"},
		{name: "window over for longer than maxErrorDuration and the grace", marker: own(func(m *marker) { m.Start = t0.Add(-window - 20*time.Minute - time.Second) }),
			wantStart: t0, wantWhy: "its window ended at 2026-11-25T08:39:59Z, more than maxErrorDuration (5m) + 15m before this call"},
		{name: "window over, a late call within the grace", marker: own(func(m *marker) { m.Start = t0.Add(-window - 20*time.Minute) }),
			wantStart: t0.Add(-window - 20*time.Minute)},
		{name: "extended window over, a late call within the grace", marker: own(func(m *marker) {
			m.Start = t0.Add(-2*window - 20*time.Minute)
			end := m.Start.Add(2 * window)
			m.ExtendedEnd = &end
		}), wantStart: t0.Add(-2*window - 20*time.Minute)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := t0
			reports := store.NewMemory()
			putMarker(t, reports, tt.marker(t))
			var logs bytes.Buffer
			c := newChecker(healthySources(), &fakeLocator{}, reports, &now)
			c.Log = slog.New(slog.NewJSONHandler(&logs, nil))
			details := json.RawMessage(issueConfig)
			if tt.details != nil {
				details = tt.details(t)
			}
			d := &deployment{t: t, h: HookHandler(c, DefaultConfig()), details: details, merge: noMerge}
			res := d.call()
			start := tt.wantStart
			if res.HookStatus == hook.StatusInProgress {
				start = answerState(t, res).Start
			} else if rep := reportOf(t, reports); rep.WindowStart != nil {
				start = *rep.WindowStart
			}
			if !start.Equal(tt.wantStart) {
				t.Fatalf("answer %s %q: window from %v, want from %v", res.HookStatus, res.Reason, start, tt.wantStart)
			}
			m := readMarker(t, reports)
			if tt.wantWhy == "" {
				if !strings.Contains(res.Reason, "window continued from its start marker") || !strings.Contains(logs.String(), "bake window continued from the start marker") {
					t.Errorf("reason %q, log %s: want both to say the window was continued from the marker", res.Reason, logs.String())
				}
				wantWrites := 1 // the marker put by the test
				if res.HookStatus != hook.StatusInProgress {
					wantWrites++ // the verdict
				}
				if !m.Start.Equal(tt.wantStart) || reports.Writes() != wantWrites {
					t.Errorf("marker %+v after %d writes, want it used, not rewritten (%d writes)", m, reports.Writes(), wantWrites)
				}
				return
			}
			if res.HookStatus != hook.StatusInProgress || !strings.Contains(res.Reason, "baking 0s of 10m") || strings.Contains(res.Reason, "start marker") {
				t.Errorf("answer = %s %q, want a window started afresh", res.HookStatus, res.Reason)
			}
			if !strings.Contains(logs.String(), "bake start marker replaced by this run's") || !strings.Contains(logs.String(), tt.wantWhy) {
				t.Errorf("log = %s, want a line saying why the marker was replaced: %q", logs.String(), tt.wantWhy)
			}
			if want := ownMarker(t, t0); !m.Start.Equal(t0) || m.binding() != want.binding() || m.Version != MarkerVersion || m.ExtendedEnd != nil {
				t.Errorf("marker = %+v, want this run's, from now", m)
			}
			// The next call without a run state continues the new window.
			now = t0.Add(2 * time.Minute)
			if res := d.call(); res.HookStatus != hook.StatusInProgress || !strings.Contains(res.Reason, "baking 2m of 10m") {
				t.Errorf("next call = %s %q, want the new window continued", res.HookStatus, res.Reason)
			}
		})
	}
}

// TestStartMarkerOfARunState: a usable run state not yet marked (a state
// from before markers, or one whose marker could not be written) records
// its own start once; the state wins over a marker that disagrees. A
// marked state asks the bucket nothing.
func TestStartMarkerOfARunState(t *testing.T) {
	start := t0.Add(-4 * time.Minute)
	tests := []struct {
		name       string
		marker     func(*testing.T) []byte // nil: none
		marked     bool
		wantGets   int
		wantWrites int
	}{
		{name: "no marker", wantGets: 1, wantWrites: 1},
		{name: "its own marker", marker: func(t *testing.T) []byte { return mustJSON(t, ownMarker(t, start)) }, wantGets: 1},
		{name: "a marker of another start", marker: func(t *testing.T) []byte { return mustJSON(t, ownMarker(t, start.Add(-time.Minute))) },
			wantGets: 1, wantWrites: 1},
		{name: "a marker of another configuration", marker: func(t *testing.T) []byte {
			m := ownMarker(t, start)
			m.Config = "other"
			return mustJSON(t, m)
		}, wantGets: 1, wantWrites: 1},
		{name: "already marked", marked: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := t0
			reports := store.NewMemory()
			if tt.marker != nil {
				putMarker(t, reports, tt.marker(t))
			}
			gets, writes := reports.Gets(), reports.Writes()
			st := boundState(t, issueConfig, start)
			st.Marked = tt.marked
			d := &deployment{t: t, h: HookHandler(newChecker(healthySources(), &fakeLocator{}, reports, &now), DefaultConfig()),
				details: withState(t, issueConfig, st), merge: merges["shallow"]}
			res := d.call()
			if res.HookStatus != hook.StatusInProgress || !strings.Contains(res.Reason, "baking 4m of 10m") || strings.Contains(res.Reason, "start marker") {
				t.Fatalf("answer = %s %q, want the state continued", res.HookStatus, res.Reason)
			}
			if got := answerState(t, res); !got.Marked || !got.Start.Equal(start) || len(got.History) != MaxHistory {
				t.Errorf("state = %+v, want it continued and marked", got)
			}
			if g, w := reports.Gets()-gets, reports.Writes()-writes; g != tt.wantGets || w != tt.wantWrites {
				t.Errorf("%d gets and %d writes, want %d and %d", g, w, tt.wantGets, tt.wantWrites)
			}
			if !tt.marked {
				if m := readMarker(t, reports); !m.Start.Equal(start) || m.binding() != ownMarker(t, start).binding() {
					t.Errorf("marker = %+v, want the state's start", m)
				}
			}
		})
	}
}

// raceStore holds the first two reads of the marker until both have
// arrived, so that two first calls both find none and both create it.
type raceStore struct {
	*store.Memory
	key     string
	mu      sync.Mutex
	n       int
	release chan struct{}
}

func (s *raceStore) Get(ctx context.Context, key string) (store.Object, error) {
	if key == s.key {
		s.mu.Lock()
		s.n++
		if s.n == 2 {
			close(s.release)
		}
		wait := s.n <= 2
		s.mu.Unlock()
		if wait {
			select {
			case <-s.release:
			case <-ctx.Done():
				return store.Object{}, ctx.Err()
			}
		}
	}
	return s.Memory.Get(ctx, key)
}

// TestStartMarkerConcurrentFirstCalls: two first calls of a run at once
// create one marker; the one that loses reads it and continues its window.
func TestStartMarkerConcurrentFirstCalls(t *testing.T) {
	for range 20 {
		mem := store.NewMemory()
		s := &raceStore{Memory: mem, key: markerKey(t), release: make(chan struct{})}
		req := hook.Request{LifecycleStage: hook.StagePostProductionTrafficShift, ResourceARN: deploymentARN,
			ExecutionDetails: hook.ExecutionDetails{TargetServiceRevisionARN: greenRevision}, HookDetails: json.RawMessage(issueConfig)}
		var wg sync.WaitGroup
		answers := make([]hook.Response, 2)
		for i := range answers {
			at := t0.Add(time.Duration(i) * time.Second)
			c := newChecker(healthySources(), &fakeLocator{}, s, &at)
			wg.Go(func() { answers[i], _ = c.Check(context.Background(), req, DefaultConfig()) })
		}
		wg.Wait()
		if n := mem.Writes(); n != 1 {
			t.Fatalf("%d writes, want one marker", n)
		}
		m := readMarker(t, mem)
		resumed := 0
		for i, res := range answers {
			if res.HookStatus != hook.StatusInProgress {
				t.Fatalf("call %d = %s %q", i, res.HookStatus, res.Reason)
			}
			if st := answerState(t, res); !st.Start.Equal(m.Start) || !st.Marked {
				t.Errorf("call %d: state from %v (marked %v), want the marker's start %v", i, st.Start, st.Marked, m.Start)
			}
			if strings.Contains(res.Reason, "window continued from its start marker") {
				resumed++
			}
		}
		if resumed != 1 {
			t.Errorf("%d calls continued from the marker, want the one that lost", resumed)
		}
	}
}

var (
	slowDown     = &smithy.GenericAPIError{Code: "SlowDown", Message: "Please reduce your request rate."}
	accessDenied = &smithy.GenericAPIError{Code: "AccessDenied", Message: "Access Denied"}
)

// failMarker makes op on the marker fail with err while on is true.
func failMarker(t *testing.T, s *store.Memory, ops string, err error, on *bool) {
	key := markerKey(t)
	s.Fail = func(op, k string) error {
		if *on && k == key && strings.Contains(ops, op) {
			return err
		}
		return nil
	}
}

// TestStartMarkerTransientErrors: a transient error reading or writing the
// marker is a failing check: IN_PROGRESS, the first error's time kept in
// the state, FAILED once errors have lasted maxErrorDuration; once it
// clears, the marker records the state's start and the bake ends on time.
func TestStartMarkerTransientErrors(t *testing.T) {
	if !hook.IsTransient(slowDown) {
		t.Fatal("SlowDown is not transient")
	}
	tests := []struct {
		name   string
		ops    string
		clears bool
	}{
		{name: "read", ops: "get"},
		{name: "create", ops: "create"},
		{name: "read, then clears", ops: "get", clears: true},
		{name: "create, then clears", ops: "create", clears: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := t0
			reports := store.NewMemory()
			failing := true
			failMarker(t, reports, tt.ops, slowDown, &failing)
			d := &deployment{t: t, h: HookHandler(newChecker(healthySources(), &fakeLocator{}, reports, &now), DefaultConfig()),
				details: json.RawMessage(issueConfig), merge: merges["deep"]}
			for i := range 5 {
				now = t0.Add(time.Duration(i) * time.Minute)
				if tt.clears && i == 2 {
					failing = false
				}
				res := d.call()
				if res.HookStatus != hook.StatusInProgress {
					t.Fatalf("call at +%dm = %s %q, want IN_PROGRESS", i, res.HookStatus, res.Reason)
				}
				st := answerState(t, res)
				if !st.Start.Equal(t0) {
					t.Errorf("call at +%dm: window from %v, want from the first call", i, st.Start)
				}
				if failing {
					if !strings.Contains(res.Reason, "transient error, will retry (failing closed after 5m): start marker: ") || !strings.Contains(res.Reason, "SlowDown") ||
						st.Marked || st.FirstErrorAt == nil || !st.FirstErrorAt.Equal(t0) || res.CallBackDelay != retryDelay {
						t.Errorf("call at +%dm = %q (delay %d), state marked %v, first error at %v: want a transient error since t0",
							i, res.Reason, res.CallBackDelay, st.Marked, st.FirstErrorAt)
					}
				} else if !st.Marked || st.FirstErrorAt != nil || !strings.Contains(res.Reason, "every check within limits") {
					t.Errorf("call at +%dm = %q, state marked %v, first error at %v: want the error cleared and the start marked", i, res.Reason, st.Marked, st.FirstErrorAt)
				}
			}
			now = t0.Add(10 * time.Minute)
			res := d.call()
			if tt.clears {
				if res.HookStatus != hook.StatusSucceeded {
					t.Fatalf("at the window's end = %s %q, want SUCCEEDED", res.HookStatus, res.Reason)
				}
				if m := readMarker(t, reports); !m.Start.Equal(t0) {
					t.Errorf("marker from %v, want the state's start %v", m.Start, t0)
				}
				return
			}
			if res.HookStatus != hook.StatusFailed || !strings.Contains(res.Reason, "checks failing for 10m (since 2026-11-25T09:00:00Z), failing closed: start marker: ") {
				t.Fatalf("answer = %s %q, want FAILED after maxErrorDuration", res.HookStatus, res.Reason)
			}
			if rep := reportOf(t, reports); rep.HookStatus != hook.StatusFailed {
				t.Errorf("report %s, want the verdict stored", rep.HookStatus)
			}
			if _, err := reports.Get(context.Background(), markerKey(t)); tt.ops == "create" && !errors.Is(err, store.ErrNotFound) {
				t.Errorf("marker: %v, want none", err)
			}
		})
	}
}

// TestStartMarkerFailsClosedAfterMaxErrorDuration: the first transient
// marker error is at t0 and the answer is FAILED as soon as errors have
// lasted maxErrorDuration.
func TestStartMarkerFailsClosedAfterMaxErrorDuration(t *testing.T) {
	now := t0
	reports := store.NewMemory()
	failing := true
	failMarker(t, reports, "get", slowDown, &failing)
	d := &deployment{t: t, h: HookHandler(newChecker(healthySources(), &fakeLocator{}, reports, &now), DefaultConfig()),
		details: json.RawMessage(issueConfig), merge: merges["shallow"]}
	for _, s := range []struct {
		at   time.Duration
		want hook.Status
	}{
		{0, hook.StatusInProgress},
		{4*time.Minute + 59*time.Second, hook.StatusInProgress},
		{5 * time.Minute, hook.StatusFailed},
	} {
		now = t0.Add(s.at)
		if res := d.call(); res.HookStatus != s.want {
			t.Fatalf("call at +%s = %s %q, want %s", s.at, res.HookStatus, res.Reason, s.want)
		}
	}
}

// TestStartMarkerRefused: a bucket that refuses the marker for good (a
// missing permission) is logged once, and the bake goes on as without a
// bucket, on the run state in hookDetails alone.
func TestStartMarkerRefused(t *testing.T) {
	if hook.IsTransient(accessDenied) {
		t.Fatal("AccessDenied is transient")
	}
	for _, ops := range []string{"get", "create"} {
		t.Run(ops, func(t *testing.T) {
			now := t0
			reports := store.NewMemory()
			on := true
			failMarker(t, reports, ops, accessDenied, &on)
			var logs bytes.Buffer
			c := newChecker(healthySources(), &fakeLocator{}, reports, &now)
			c.Log = slog.New(slog.NewJSONHandler(&logs, nil))
			d := &deployment{t: t, h: HookHandler(c, DefaultConfig()), details: json.RawMessage(issueConfig), merge: merges["merge-patch"]}
			for _, s := range []struct {
				at   time.Duration
				want hook.Status
				why  string
			}{
				{0, hook.StatusInProgress, "baking 0s of 10m, every check within limits"},
				{4 * time.Minute, hook.StatusInProgress, "baking 4m of 10m, every check within limits"},
				{10 * time.Minute, hook.StatusSucceeded, "bake passed: 10m"},
			} {
				now = t0.Add(s.at)
				res := d.call()
				if res.HookStatus != s.want || !strings.Contains(res.Reason, s.why) || strings.Contains(res.Reason, "marker") {
					t.Fatalf("call at +%s = %s %q, want %s with %q", s.at, res.HookStatus, res.Reason, s.want, s.why)
				}
				if res.HookStatus == hook.StatusInProgress {
					if st := answerState(t, res); !st.Marked || st.FirstErrorAt != nil {
						t.Errorf("state marked %v, first error %v: want it marked as not to ask again, no error", st.Marked, st.FirstErrorAt)
					}
				}
			}
			if n := strings.Count(logs.String(), "bake start marker not kept: the state bucket refused it"); n != 1 || !strings.Contains(logs.String(), "AccessDenied") {
				t.Errorf("log = %s, want one line naming the refusal", logs.String())
			}
			if n := reports.Gets(); n != 1 {
				t.Errorf("%d reads, want the one refused: later calls do not ask again", n)
			}
			if rep := reportOf(t, reports); rep.HookStatus != hook.StatusSucceeded {
				t.Errorf("report %s", rep.HookStatus)
			}
		})
	}
}
