package bake

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/hook"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// boundState returns a state of the test deployment's run with the
// configuration js (over DefaultConfig), started at start, with a full
// history.
func boundState(t *testing.T, js string, start time.Time) State {
	t.Helper()
	cfg, err := Apply(DefaultConfig(), json.RawMessage(js))
	if err != nil {
		t.Fatal(err)
	}
	st := State{Version: StateVersion, Start: start, Deployment: deploymentARN, Stage: hook.StagePostProductionTrafficShift,
		Revision: greenRevision, Config: fingerprint(cfg)}
	for i := range MaxHistory {
		v := float64(i)
		st.record(Sample{At: start.Add(time.Duration(i) * 10 * time.Second), Status: StatusOK, Requests: &v, Values: []*float64{&v, &v, &v}})
	}
	return st
}

// withState returns the configuration js with st under StateKey, as ECS
// sends it back.
func withState(t *testing.T, js string, st State) json.RawMessage {
	t.Helper()
	var doc map[string]json.RawMessage
	if err := json.Unmarshal([]byte(js), &doc); err != nil {
		t.Fatal(err)
	}
	details, err := st.details()
	if err != nil {
		t.Fatal(err)
	}
	var s map[string]json.RawMessage
	if err := json.Unmarshal(details, &s); err != nil {
		t.Fatal(err)
	}
	doc[StateKey] = s[StateKey]
	out, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestRunStateBoundToItsRun: a state in hookDetails is continued only by
// its own deployment, stage, target revision and configuration, and only
// while it can still belong to the current run; any other starts the
// window afresh, with a log line saying why, under every merge.
func TestRunStateBoundToItsRun(t *testing.T) {
	const window = 10 * time.Minute
	tests := []struct {
		name    string
		state   func(*State)
		wantWhy string // "" for a state continued
	}{
		{name: "its own, mid-window", state: func(s *State) {}},
		{name: "another deployment", state: func(s *State) {
			s.Deployment = strings.Replace(deploymentARN, "EZe5RNVLH6PPzHXINuP28", "other", 1)
		}, wantWhy: "it belongs to deployment"},
		{name: "another target revision", state: func(s *State) { s.Revision = greenRevision + "1" }, wantWhy: "it belongs to target revision"},
		{name: "another stage", state: func(s *State) { s.Stage = hook.StagePostTestTrafficShift }, wantWhy: "it belongs to stage"},
		{name: "another configuration", state: func(s *State) {
			s.Config = fingerprint(mustConfig(t, `{"window": "8h", "alarms": {"names": ["orders-p99"]}}`))
		}, wantWhy: "the configuration changed since it started"},
		{name: "an earlier version", state: func(s *State) { s.Version = 1 }, wantWhy: "it has version 1, want 2"},
		{name: "no binding at all", state: func(s *State) { *s = State{Version: StateVersion, Start: s.Start} }, wantWhy: "it belongs to deployment"},
		{name: "five days old", state: func(s *State) { s.Start = t0.Add(-5 * 24 * time.Hour) },
			wantWhy: "it started 120h ago, longer than any bake run lasts (24h)"},
		{name: "five days old and extended", state: func(s *State) {
			s.Start = t0.Add(-5 * 24 * time.Hour)
			end := t0.Add(time.Hour)
			s.ExtendedEnd = &end
		}, wantWhy: "longer than any bake run lasts"},
		{name: "window over for longer than maxErrorDuration and the grace", state: func(s *State) { s.Start = t0.Add(-window - 20*time.Minute - time.Second) },
			wantWhy: "its window ended at 2026-11-25T08:39:59Z, more than maxErrorDuration (5m) + 15m before this call"},
		{name: "window over, a late call within the grace", state: func(s *State) { s.Start = t0.Add(-window - 20*time.Minute) }},
		{name: "extended window over, a late call within the grace", state: func(s *State) {
			s.Start = t0.Add(-2*window - 20*time.Minute)
			s.extend(s.Start.Add(window), window)
		}},
		{name: "extended window over for too long", state: func(s *State) {
			s.Start = t0.Add(-2*window - 21*time.Minute)
			s.extend(s.Start.Add(window), window)
		}, wantWhy: "its window ended at 2026-11-25T08:39:00Z"},
	}
	for _, tt := range tests {
		for name, merge := range merges {
			t.Run(tt.name+"/"+name, func(t *testing.T) {
				now := t0
				var logs bytes.Buffer
				c := newChecker(healthySources(), &fakeLocator{}, store.NewMemory(), &now)
				c.Log = slog.New(slog.NewJSONHandler(&logs, nil))
				st := boundState(t, issueConfig, t0.Add(-4*time.Minute))
				tt.state(&st)
				d := &deployment{t: t, h: HookHandler(c, DefaultConfig()), details: withState(t, issueConfig, st), merge: merge}
				res := d.call()
				if tt.wantWhy == "" {
					if strings.Contains(logs.String(), "not continued") {
						t.Errorf("log = %s, want the state continued", logs.String())
					}
					if res.HookStatus == hook.StatusInProgress {
						got, _, err := decodeState(d.details)
						if err != nil || !got.Start.Equal(st.Start) {
							t.Errorf("state start = %v (%v), want the state's %v continued", got.Start, err, st.Start)
						}
					}
					return
				}
				// Started afresh: a new window from this call, never a verdict
				// on the old state's evidence.
				if res.HookStatus != hook.StatusInProgress || !strings.Contains(res.Reason, "baking 0s of 10m") {
					t.Fatalf("answer = %s %q, want IN_PROGRESS: a new window", res.HookStatus, res.Reason)
				}
				if !strings.Contains(logs.String(), "bake run state in hookDetails not continued") || !strings.Contains(logs.String(), tt.wantWhy) {
					t.Errorf("log = %s, want a line saying why: %q", logs.String(), tt.wantWhy)
				}
				got, ok, err := decodeState(d.details)
				if err != nil || !ok {
					t.Fatalf("state in %s: %v %v", d.details, ok, err)
				}
				if !got.Start.Equal(t0) || got.ExtendedEnd != nil || got.Deployment != deploymentARN || got.Revision != greenRevision ||
					got.Stage != hook.StagePostProductionTrafficShift || got.Config != fingerprint(mustConfig(t, issueConfig)) {
					t.Errorf("state = %+v, want a fresh state of this run, started now", got)
				}
				// An index-wise merge over the old, full history leaves old
				// entries behind; they are not part of this run.
				if len(got.History) != 1 || !got.History[0].At.Equal(t0) {
					t.Errorf("history = %+v, want only this call's", got.History)
				}
			})
		}
	}
}

func TestRunStateRefusedWhenCorrupt(t *testing.T) {
	tests := []struct {
		name  string
		state func(*State)
		want  string
	}{
		{name: "its own, from the future", state: func(s *State) { s.Start = t0.Add(24 * time.Hour) },
			want: "hookDetails.bakeState: corrupt run state: starts 2026-11-26T09:00:00Z, in the future"},
		{name: "its own, without a start", state: func(s *State) { s.Start = time.Time{} },
			want: "hookDetails.bakeState: corrupt run state: no start time"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := t0
			reports := store.NewMemory()
			st := boundState(t, issueConfig, t0)
			tt.state(&st)
			d := &deployment{t: t, h: HookHandler(newChecker(healthySources(), &fakeLocator{}, reports, &now), DefaultConfig()),
				details: withState(t, issueConfig, st), merge: merges["shallow"]}
			if res := d.call(); res.HookStatus != hook.StatusFailed || !strings.Contains(res.Reason, tt.want) {
				t.Errorf("answer = %s %q, want FAILED with %q", res.HookStatus, res.Reason, tt.want)
			}
			if _, err := reports.Get(context.Background(), Key(mustARN(t), hook.StagePostProductionTrafficShift)); err != nil {
				t.Errorf("verdict not stored: %v", err)
			}
		})
	}
}

// TestConfigChangeStartsAfresh is the reviewer's reproduction: a bake
// started with an 8h window and called again two minutes later with a 1m
// window must not pass on the old start. It also changes the checks, so
// that an index-wise merge leaves values of the old checks behind.
func TestConfigChangeStartsAfresh(t *testing.T) {
	const short = `{"window": "1m", "minRequests": 100, "metrics": [{"name": "5xx rate", "kind": "targetGroup5xxRate", "max": 0.01}]}`
	long := strings.Replace(issueConfig, `"window": "10m"`, `"window": "8h"`, 1)
	for name, merge := range merges {
		t.Run(name, func(t *testing.T) {
			now := t0
			reports := store.NewMemory()
			d := &deployment{t: t, h: HookHandler(newChecker(healthySources(), &fakeLocator{}, reports, &now), DefaultConfig()),
				details: json.RawMessage(long), merge: merge}
			for i := range MaxHistory + 1 {
				now = t0.Add(time.Duration(i) * 10 * time.Second)
				if res := d.call(); res.HookStatus != hook.StatusInProgress {
					t.Fatalf("call %d = %s %q", i, res.HookStatus, res.Reason)
				}
			}
			// The hook's configuration changes: the configured keys are
			// replaced, the returned state kept.
			var doc map[string]json.RawMessage
			if err := json.Unmarshal(d.details, &doc); err != nil {
				t.Fatal(err)
			}
			doc = map[string]json.RawMessage{StateKey: doc[StateKey]}
			if err := json.Unmarshal([]byte(short), &doc); err != nil {
				t.Fatal(err)
			}
			d.details, _ = json.Marshal(doc)

			restart := t0.Add(2 * time.Minute)
			now = restart
			res := d.call()
			if res.HookStatus != hook.StatusInProgress || !strings.Contains(res.Reason, "baking 0s of 1m") {
				t.Fatalf("call after the change = %s %q, want IN_PROGRESS on a new 1m window", res.HookStatus, res.Reason)
			}
			now = restart.Add(time.Minute)
			res = d.call()
			if res.HookStatus != hook.StatusSucceeded || !strings.Contains(res.Reason, "bake passed: 1m") {
				t.Fatalf("at the new window's end = %s %q, want SUCCEEDED after 1m", res.HookStatus, res.Reason)
			}
			obj, err := reports.Get(context.Background(), Key(mustARN(t), hook.StagePostProductionTrafficShift))
			if err != nil {
				t.Fatal(err)
			}
			var rep Report
			if err := json.Unmarshal(obj.Body, &rep); err != nil {
				t.Fatal(err)
			}
			if !rep.WindowStart.Equal(restart) || len(rep.History) != 2 {
				t.Errorf("report window from %v with %d history entries, want from %v with 2", rep.WindowStart, len(rep.History), restart)
			}
			for _, s := range rep.History {
				if s.At.Before(restart) || len(s.Values) != 1 {
					t.Errorf("history entry %+v: want only entries of the new run, with one value each", s)
				}
			}
		})
	}
}

func TestFingerprint(t *testing.T) {
	base := mustConfig(t, issueConfig)
	same := base.clone()
	same.CallbackDelay = 5 // paces the calls, judges nothing
	if fingerprint(base) != fingerprint(same) {
		t.Errorf("fingerprint changed with the callback delay")
	}
	for name, change := range map[string]func(*Config){
		"window":           func(c *Config) { c.Window = time.Minute },
		"limit":            func(c *Config) { c.Metrics[0].Max = f64(0.5) },
		"minRequests":      func(c *Config) { c.MinRequests = 1 },
		"onNoTraffic":      func(c *Config) { c.OnNoTraffic = Pass },
		"alarms":           func(c *Config) { c.Alarms.Names = []string{"other"} },
		"maxErrorDuration": func(c *Config) { c.MaxErrorDuration = time.Hour },
	} {
		c := base.clone()
		c.Metrics = append([]MetricCheck(nil), base.Metrics...)
		change(&c)
		if fingerprint(c) == fingerprint(base) {
			t.Errorf("fingerprint unchanged by a change of %s", name)
		}
	}
}

// TestLateExtensionLastsAWindow: a call that comes long after the window's
// end, with too little evidence, extends the window by a whole window from
// now, not to an end already past.
func TestLateExtensionLastsAWindow(t *testing.T) {
	for name, merge := range merges {
		t.Run(name, func(t *testing.T) {
			now := t0
			src := healthySources()
			src.green = Stats{Requests: 30, Latency: &Percentiles{P99: 100}}
			d := &deployment{t: t, h: HookHandler(newChecker(src, &fakeLocator{}, nil, &now), DefaultConfig()), details: json.RawMessage(issueConfig), merge: merge}
			for _, s := range []struct {
				at        time.Duration
				want      hook.Status
				why       string
				wantDelay int
			}{
				{0, hook.StatusInProgress, "waiting for traffic", 60},
				// ECS comes back 25 minutes later, past start + 2 windows.
				{25 * time.Minute, hook.StatusInProgress, "extended once by 10m (until 2026-11-25T09:35:00Z)", 60},
				{30 * time.Minute, hook.StatusInProgress, "baking 30m of 35m", 60},
				{35 * time.Minute, hook.StatusFailed, "no evidence after 35m of 35m (extended once)", 0},
			} {
				now = t0.Add(s.at)
				res := d.call()
				if res.HookStatus != s.want || !strings.Contains(res.Reason, s.why) || res.CallBackDelay != s.wantDelay {
					t.Fatalf("call at +%s = %s (delay %d) %q, want %s (delay %d) with %q", s.at, res.HookStatus, res.CallBackDelay, res.Reason, s.want, s.wantDelay, s.why)
				}
				if s.at == 25*time.Minute {
					st, _, _ := decodeState(d.details)
					if st.ExtendedEnd == nil || !st.ExtendedEnd.Equal(t0.Add(35*time.Minute)) {
						t.Errorf("extendedEnd = %v, want now + window", st.ExtendedEnd)
					}
				}
			}
		})
	}
}

func TestStateEnd(t *testing.T) {
	const w = 10 * time.Minute
	st := State{Start: t0}
	if got := st.end(w); !got.Equal(t0.Add(w)) {
		t.Errorf("end = %v, want start + window", got)
	}
	st.extend(t0.Add(w), w)
	if got := st.end(w); !got.Equal(t0.Add(2 * w)) {
		t.Errorf("end extended on time = %v, want start + 2 windows", got)
	}
	// An extension extends once: a second one is not made by Check, and an
	// extended end before start + 2 windows (a hand-made state) counts as
	// start + 2 windows.
	early := t0.Add(time.Minute)
	st.ExtendedEnd = &early
	if got := st.end(w); !got.Equal(t0.Add(2 * w)) {
		t.Errorf("end with an early extendedEnd = %v, want start + 2 windows", got)
	}
}
