package bake

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/hook"
)

// issueConfig is the example configuration of the bake-check issue.
const issueConfig = `{
  "window": "10m",
  "alarms": {"names": ["orders-p99"], "prefixes": ["orders-"], "insufficientData": "ignore"},
  "metrics": [
    {"name": "5xx rate", "kind": "targetGroup5xxRate", "max": 0.01},
    {"name": "p99 latency", "kind": "targetGroupLatencyP99", "maxMs": 800, "maxRelativeToBlue": 1.5},
    {"name": "orders errors", "expression": "m1/m2", "metrics": {"m1": {"namespace": "Orders", "metric": "Errors"}, "m2": {"namespace": "Orders", "metric": "Requests"}}, "max": 0.02}
  ],
  "minRequests": 100
}`

var t0 = time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)

func mustConfig(t *testing.T, js string) Config {
	t.Helper()
	c, err := ParseConfig([]byte(js))
	if err != nil {
		t.Fatalf("ParseConfig: %v", err)
	}
	return c
}

// healthy is an observation of the issue's configuration with everything
// well within limits.
func healthy() Observation {
	return Observation{
		Alarms: []Alarm{
			{Name: "orders-5xx", State: StateOK},
			{Name: "orders-p99", State: StateOK},
		},
		Green:       Stats{Requests: 1200, Errors5xx: 3, Latency: &Percentiles{P50: 40, P90: 120, P99: 350}},
		Baseline:    &Stats{Requests: 1500, Errors5xx: 2, Latency: &Percentiles{P50: 38, P90: 110, P99: 400}},
		Expressions: map[int]ExpressionValue{2: {Values: []float64{0.004}}},
	}
}

// extended marks a state, started at t0 with the issue's 10m window, as
// extended at its end.
func extended(s *State) { s.extend(t0.Add(10*time.Minute), 10*time.Minute) }

func TestJudge(t *testing.T) {
	base := mustConfig(t, issueConfig)
	transient := hook.Transient(errors.New("ThrottlingException: rate exceeded"))
	refused := errors.New("AccessDenied: not authorized to perform cloudwatch:GetMetricData")
	tests := []struct {
		name       string
		cfg        func(*Config)
		state      func(*State)
		at         time.Duration // since the window's start
		obs        func(*Observation)
		wantStatus hook.Status
		wantReason string // substring
		wantExtend bool
		wantSince  time.Duration // -1: ErrorSince nil
	}{
		{name: "clean, mid-window", at: 4 * time.Minute,
			wantStatus: hook.StatusInProgress, wantReason: "baking 4m of 10m, every check within limits, green served 1200 requests", wantSince: -1},
		{name: "clean at the window's end", at: 10 * time.Minute,
			wantStatus: hook.StatusSucceeded, wantReason: "bake passed: 10m, every check within limits", wantSince: -1},
		{name: "alarm in ALARM fails at once", at: time.Minute,
			obs: func(o *Observation) {
				o.Alarms[1] = Alarm{Name: "orders-p99", State: StateAlarm, Reason: "Threshold Crossed"}
			},
			wantStatus: hook.StatusFailed, wantReason: "alarm orders-p99: in ALARM (Threshold Crossed)", wantSince: -1},
		{name: "insufficient data ignored", at: 10 * time.Minute,
			obs:        func(o *Observation) { o.Alarms[0].State = StateInsufficientData },
			wantStatus: hook.StatusSucceeded, wantSince: -1},
		{name: "insufficient data fails when configured", at: time.Minute,
			cfg:        func(c *Config) { c.Alarms.InsufficientData = Fail },
			obs:        func(o *Observation) { o.Alarms[0].State = StateInsufficientData },
			wantStatus: hook.StatusFailed, wantReason: "alarm orders-5xx: in INSUFFICIENT_DATA", wantSince: -1},
		{name: "named alarm missing fails closed", at: time.Minute,
			obs:        func(o *Observation) { o.Alarms = o.Alarms[:1] },
			wantStatus: hook.StatusFailed, wantReason: `alarms.names: alarm "orders-p99" does not exist`, wantSince: -1},
		{name: "prefix matching nothing fails closed", at: time.Minute,
			cfg:        func(c *Config) { c.Alarms.Prefixes = []string{"payments-"} },
			wantStatus: hook.StatusFailed, wantReason: `prefix "payments-" matches no alarm`, wantSince: -1},
		{name: "5xx rate breach", at: 3 * time.Minute,
			obs:        func(o *Observation) { o.Green.Errors5xx = 60 },
			wantStatus: hook.StatusFailed, wantReason: "bake failed after 3m: 5xx rate: 0.05 > max 0.01", wantSince: -1},
		{name: "few requests are not judged mid-window", at: 2 * time.Minute,
			obs:        func(o *Observation) { o.Green = Stats{Requests: 10, Errors5xx: 5, Latency: &Percentiles{P99: 5000}} },
			wantStatus: hook.StatusInProgress, wantReason: "waiting for traffic: 10 requests on green, want at least 100", wantSince: -1},
		{name: "latency over the absolute limit", at: 5 * time.Minute,
			obs:        func(o *Observation) { o.Green.Latency.P99 = 950; o.Baseline.Latency.P99 = 900 },
			wantStatus: hook.StatusFailed, wantReason: "p99 latency: 950ms > max 800ms", wantSince: -1},
		{name: "latency over the limit relative to blue", at: 5 * time.Minute,
			obs:        func(o *Observation) { o.Green.Latency.P99 = 700 },
			wantStatus: hook.StatusFailed, wantReason: "p99 latency: 700ms > 1.5 × blue 400ms = 600ms", wantSince: -1},
		{name: "blue too quiet for a baseline skips only the relative limit", at: 10 * time.Minute,
			obs:        func(o *Observation) { o.Baseline.Requests = 12; o.Green.Latency.P99 = 700 },
			wantStatus: hook.StatusSucceeded, wantReason: "bake passed", wantSince: -1},
		{name: "blue too quiet, relative limit only: reported as skipped", at: 10 * time.Minute,
			cfg:        func(c *Config) { c.Metrics[1].MaxMs = nil },
			obs:        func(o *Observation) { o.Baseline.Requests = 12 },
			wantStatus: hook.StatusSucceeded, wantReason: "skipped: p99 latency: 350ms; relative limit skipped: blue served 12 requests", wantSince: -1},
		{name: "expression breach", at: 2 * time.Minute,
			obs:        func(o *Observation) { o.Expressions[2] = ExpressionValue{Values: []float64{0.05}} },
			wantStatus: hook.StatusFailed, wantReason: "orders errors: 0.05 > max 0.02", wantSince: -1},
		{name: "expression without data waits", at: 2 * time.Minute,
			obs:        func(o *Observation) { o.Expressions[2] = ExpressionValue{Err: fmt.Errorf("m1/m2: %w", ErrNoData)} },
			wantStatus: hook.StatusInProgress, wantReason: "waiting for orders errors: no data yet for m1/m2", wantSince: -1},
		{name: "too little traffic at the end extends once", at: 10 * time.Minute,
			obs:        func(o *Observation) { o.Green = Stats{Requests: 40} },
			wantStatus: hook.StatusInProgress, wantReason: "window of 10m ended without enough evidence (traffic: 40 requests on green, want at least 100", wantExtend: true, wantSince: -1},
		{name: "extended window still running", at: 15 * time.Minute,
			state:      extended,
			obs:        func(o *Observation) { o.Green = Stats{Requests: 40} },
			wantStatus: hook.StatusInProgress, wantReason: "baking 15m of 20m", wantSince: -1},
		{name: "no evidence after the extension fails by default", at: 20 * time.Minute,
			state:      extended,
			obs:        func(o *Observation) { o.Green = Stats{Requests: 40} },
			wantStatus: hook.StatusFailed, wantReason: "no evidence after 20m of 20m (extended once): traffic: 40 requests", wantSince: -1},
		{name: "no evidence after the extension passes when configured", at: 20 * time.Minute,
			cfg:        func(c *Config) { c.OnNoTraffic = Pass },
			state:      extended,
			obs:        func(o *Observation) { o.Green = Stats{Requests: 40, Latency: &Percentiles{P99: 300}} },
			wantStatus: hook.StatusSucceeded, wantReason: "as configured (onNoTraffic: pass)", wantSince: -1},
		{name: "onNoTraffic pass still fails a breach on the little traffic there is", at: 20 * time.Minute,
			cfg:        func(c *Config) { c.OnNoTraffic = Pass },
			state:      extended,
			obs:        func(o *Observation) { o.Green = Stats{Requests: 40, Errors5xx: 20, Latency: &Percentiles{P99: 300}} },
			wantStatus: hook.StatusFailed, wantReason: "5xx rate: 0.5 > max 0.01", wantSince: -1},
		{name: "minRequests 0 with alarms only passes without traffic", at: 10 * time.Minute,
			cfg:        func(c *Config) { c.MinRequests = 0; c.Metrics = nil },
			obs:        func(o *Observation) { o.Green = Stats{} },
			wantStatus: hook.StatusSucceeded, wantReason: "bake passed", wantSince: -1},
		{name: "transient error answers IN_PROGRESS and starts the clock", at: 2 * time.Minute,
			obs:        func(o *Observation) { o.GreenErr = transient },
			wantStatus: hook.StatusInProgress, wantReason: "transient error, will retry (failing closed after 5m): traffic, 5xx rate, p99 latency: ThrottlingException", wantSince: 2 * time.Minute},
		{name: "transient error keeps the first error's time", at: 4 * time.Minute,
			state:      func(s *State) { at := t0.Add(2 * time.Minute); s.FirstErrorAt = &at },
			obs:        func(o *Observation) { o.AlarmsErr = transient },
			wantStatus: hook.StatusInProgress, wantSince: 2 * time.Minute},
		{name: "transient errors past the limit fail closed", at: 8 * time.Minute,
			state:      func(s *State) { at := t0.Add(2 * time.Minute); s.FirstErrorAt = &at },
			obs:        func(o *Observation) { o.GreenErr = transient },
			wantStatus: hook.StatusFailed, wantReason: "checks failing for 6m (since 2026-11-25T09:02:00Z), failing closed: traffic, 5xx rate, p99 latency: ThrottlingException", wantSince: 2 * time.Minute},
		{name: "a breach wins over a transient error", at: 2 * time.Minute,
			obs: func(o *Observation) {
				o.GreenErr = transient
				o.Alarms[0].State = StateAlarm
			},
			wantStatus: hook.StatusFailed, wantReason: "alarm orders-5xx: in ALARM", wantSince: -1},
		{name: "a refused request fails closed at once", at: 2 * time.Minute,
			obs:        func(o *Observation) { o.Expressions[2] = ExpressionValue{Err: refused} },
			wantStatus: hook.StatusFailed, wantReason: "cannot check: orders errors: AccessDenied", wantSince: -1},
		{name: "a source that cannot answer fails naming the check", at: 2 * time.Minute,
			obs:        func(o *Observation) { o.AlarmsErr = fmt.Errorf("no alarms here: %w", ErrUnsupported) },
			wantStatus: hook.StatusFailed, wantReason: "cannot check: alarms: no alarms here", wantSince: -1},
		{name: "a transient baseline error retries", at: 2 * time.Minute,
			obs:        func(o *Observation) { o.Baseline, o.BaselineErr = nil, transient },
			wantStatus: hook.StatusInProgress, wantReason: "p99 latency: blue baseline: ThrottlingException", wantSince: 2 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := base.clone()
			cfg.Metrics = append([]MetricCheck(nil), base.Metrics...)
			if tt.cfg != nil {
				tt.cfg(&cfg)
			}
			st := State{Version: StateVersion, Start: t0}
			if tt.state != nil {
				tt.state(&st)
			}
			obs := healthy()
			if tt.obs != nil {
				tt.obs(&obs)
			}
			got := Judge(cfg, st, t0.Add(tt.at), obs)
			if got.Status != tt.wantStatus || !strings.Contains(got.Reason, tt.wantReason) {
				t.Errorf("Judge() = %s %q, want %s with %q\nresults: %+v", got.Status, got.Reason, tt.wantStatus, tt.wantReason, got.Results)
			}
			if got.Extend != tt.wantExtend {
				t.Errorf("Judge().Extend = %v, want %v", got.Extend, tt.wantExtend)
			}
			switch {
			case tt.wantSince < 0 && got.ErrorSince != nil:
				t.Errorf("Judge().ErrorSince = %v, want nil", got.ErrorSince)
			case tt.wantSince >= 0 && (got.ErrorSince == nil || !got.ErrorSince.Equal(t0.Add(tt.wantSince))):
				t.Errorf("Judge().ErrorSince = %v, want %v", got.ErrorSince, t0.Add(tt.wantSince))
			}
		})
	}
}

func TestJudgeResults(t *testing.T) {
	cfg := mustConfig(t, issueConfig)
	got := Judge(cfg, State{Version: StateVersion, Start: t0}, t0.Add(10*time.Minute), healthy())
	want := map[string]Status{"alarms": StatusOK, "traffic": StatusOK, "5xx rate": StatusOK, "p99 latency": StatusOK, "orders errors": StatusOK}
	if len(got.Results) != len(want) {
		t.Fatalf("Judge() gave %d results, want %d: %+v", len(got.Results), len(want), got.Results)
	}
	for _, r := range got.Results {
		if want[r.Check] != r.Status {
			t.Errorf("result %s = %s (%s), want %s", r.Check, r.Status, r.Detail, want[r.Check])
		}
	}
	// The metric checks come last, in order, with their values.
	n := len(got.Results)
	for i, wantV := range []float64{3.0 / 1200, 350, 0.004} {
		r := got.Results[n-3+i]
		if r.Value == nil || *r.Value != wantV {
			t.Errorf("result %s value = %v, want %g", r.Check, r.Value, wantV)
		}
	}
}

// TestJudgeMissingData: a value a source could not tell while green served
// requests is no data, never 0 and never a pass: the bake waits, extends
// once, then fails naming the check, even with onNoTraffic: pass.
func TestJudgeMissingData(t *testing.T) {
	noLatency := func(o *Observation) { o.Green.Latency = nil } // 1200 requests
	no5xx := func(o *Observation) { o.Green.Errors5xxMissing = true }
	tests := []struct {
		name       string
		cfg        func(*Config)
		state      func(*State)
		at         time.Duration
		obs        func(*Observation)
		wantStatus hook.Status
		wantReason string
		wantExtend bool
	}{
		{name: "latency missing mid-window waits", at: 4 * time.Minute, obs: noLatency,
			wantStatus: hook.StatusInProgress, wantReason: "waiting for p99 latency: no data for green: response-time percentiles missing although it served 1200 requests"},
		{name: "latency missing at the end extends once", at: 10 * time.Minute, obs: noLatency,
			wantStatus: hook.StatusInProgress, wantReason: "ended without enough evidence (p99 latency: no data for green", wantExtend: true},
		{name: "latency missing after the extension fails", at: 20 * time.Minute, state: extended, obs: noLatency,
			wantStatus: hook.StatusFailed, wantReason: "no data after 20m of 20m (extended once) although green served requests, failing closed: p99 latency: no data for green"},
		{name: "latency missing after the extension fails even with onNoTraffic pass", at: 20 * time.Minute, state: extended, obs: noLatency,
			cfg:        func(c *Config) { c.OnNoTraffic = Pass },
			wantStatus: hook.StatusFailed, wantReason: "failing closed: p99 latency: no data for green"},
		{name: "latency missing with minRequests 0 is not skipped", at: 20 * time.Minute, state: extended, obs: noLatency,
			cfg:        func(c *Config) { c.MinRequests = 0 },
			wantStatus: hook.StatusFailed, wantReason: "failing closed: p99 latency: no data for green"},
		{name: "5xx count missing mid-window waits", at: 4 * time.Minute, obs: no5xx,
			wantStatus: hook.StatusInProgress, wantReason: "waiting for 5xx rate: no data for green: 5xx count missing although it served 1200 requests"},
		{name: "5xx count missing after the extension fails even with onNoTraffic pass", at: 20 * time.Minute, state: extended, obs: no5xx,
			cfg:        func(c *Config) { c.OnNoTraffic = Pass },
			wantStatus: hook.StatusFailed, wantReason: "failing closed: 5xx rate: no data for green: 5xx count missing"},
		{name: "a breach elsewhere still fails at once", at: 4 * time.Minute,
			obs:        func(o *Observation) { no5xx(o); o.Green.Latency.P99 = 5000 },
			wantStatus: hook.StatusFailed, wantReason: "p99 latency: 5000ms > max 800ms"},
		{name: "blue baseline missing latency waits", at: 4 * time.Minute,
			obs:        func(o *Observation) { o.Baseline.Latency = nil },
			wantStatus: hook.StatusInProgress, wantReason: "waiting for p99 latency: no blue baseline: response-time percentiles missing although blue served 1500 requests"},
		{name: "blue baseline missing latency after the extension fails", at: 20 * time.Minute, state: extended,
			cfg:        func(c *Config) { c.OnNoTraffic = Pass; c.Metrics[1].MaxMs = nil },
			obs:        func(o *Observation) { o.Baseline.Latency = nil },
			wantStatus: hook.StatusFailed, wantReason: "failing closed: p99 latency: no blue baseline"},
		{name: "too few requests with onNoTraffic pass: missing latency is what that allows", at: 20 * time.Minute, state: extended,
			cfg:        func(c *Config) { c.OnNoTraffic = Pass },
			obs:        func(o *Observation) { o.Green = Stats{Requests: 40} },
			wantStatus: hook.StatusSucceeded, wantReason: "as configured (onNoTraffic: pass)"},
		{name: "connection errors count as 5xx", at: 4 * time.Minute,
			obs:        func(o *Observation) { o.Green.ConnectionErrors = 27 },
			wantStatus: hook.StatusFailed, wantReason: "5xx rate: 0.025 > max 0.01"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := mustConfig(t, issueConfig)
			if tt.cfg != nil {
				tt.cfg(&cfg)
			}
			st := State{Version: StateVersion, Start: t0}
			if tt.state != nil {
				tt.state(&st)
			}
			obs := healthy()
			tt.obs(&obs)
			got := Judge(cfg, st, t0.Add(tt.at), obs)
			if got.Status != tt.wantStatus || !strings.Contains(got.Reason, tt.wantReason) || got.Extend != tt.wantExtend {
				t.Errorf("Judge() = %s %q (extend %v), want %s with %q (extend %v)\nresults: %+v", got.Status, got.Reason, got.Extend,
					tt.wantStatus, tt.wantReason, tt.wantExtend, got.Results)
			}
		})
	}
}

// TestJudgeExpressionValues: an expression with several values is within
// limits only if every value is: max against the largest, min against the
// smallest.
func TestJudgeExpressionValues(t *testing.T) {
	tests := []struct {
		name       string
		limits     string
		values     []float64
		wantStatus Status
		wantDetail string
		wantValue  float64
	}{
		{name: "min against the smallest", limits: `"min": 1`, values: []float64{3, 0.5, 2},
			wantStatus: StatusBreach, wantDetail: "0.5 < min 1 (3 values, from 0.5 to 3)", wantValue: 0.5},
		{name: "max against the largest", limits: `"max": 2`, values: []float64{0.5, 3},
			wantStatus: StatusBreach, wantDetail: "3 > max 2 (2 values, from 0.5 to 3)", wantValue: 3},
		{name: "both limits, every value within", limits: `"min": 1, "max": 2`, values: []float64{1.5, 1.8},
			wantStatus: StatusOK, wantDetail: "1.8 within limits (2 values, from 1.5 to 1.8)", wantValue: 1.8},
		{name: "min only, within: the smallest is reported", limits: `"min": 1`, values: []float64{1.5, 9},
			wantStatus: StatusOK, wantDetail: "1.5 within limits (2 values, from 1.5 to 9)", wantValue: 1.5},
		{name: "a NaN series is no evidence, the others are judged", limits: `"min": 1`, values: []float64{math.NaN(), 0.2},
			wantStatus: StatusBreach, wantDetail: "0.2 < min 1", wantValue: 0.2},
		{name: "one value", limits: `"max": 2`, values: []float64{1},
			wantStatus: StatusOK, wantDetail: "1 within limits", wantValue: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := mustConfig(t, `{"minRequests": 0, "metrics": [{"name": "e", "expression": "m1", "metrics": {"m1": {"namespace": "N", "metric": "M"}}, `+tt.limits+`}]}`)
			got := Judge(cfg, State{Version: StateVersion, Start: t0}, t0.Add(time.Minute), Observation{Expressions: map[int]ExpressionValue{0: {Values: tt.values}}})
			r := got.Results[0]
			if r.Status != tt.wantStatus || r.Detail != tt.wantDetail || r.Value == nil || *r.Value != tt.wantValue {
				t.Errorf("result = %s %q %v, want %s %q %g", r.Status, r.Detail, r.Value, tt.wantStatus, tt.wantDetail, tt.wantValue)
			}
		})
	}
	// No value at all (or only NaN) is no data, as ErrNoData.
	cfg := mustConfig(t, `{"minRequests": 0, "metrics": [{"name": "e", "expression": "m1", "metrics": {"m1": {"namespace": "N", "metric": "M"}}, "max": 1}]}`)
	for _, values := range [][]float64{nil, {math.NaN()}} {
		got := Judge(cfg, State{Version: StateVersion, Start: t0}, t0.Add(time.Minute), Observation{Expressions: map[int]ExpressionValue{0: {Values: values}}})
		if r := got.Results[0]; r.Status != StatusPending {
			t.Errorf("values %v: result %s %q, want pending", values, r.Status, r.Detail)
		}
	}
}

// TestJudgeAlarmStates: only OK counts as OK; a state that is none of OK,
// ALARM or INSUFFICIENT_DATA fails the bake naming the alarm.
func TestJudgeAlarmStates(t *testing.T) {
	cfg := mustConfig(t, `{"minRequests": 0, "alarms": {"prefixes": ["orders-"]}}`)
	for state, want := range map[string]string{
		"":        "cannot check: alarm orders-p99: no state given",
		"UNKNOWN": `cannot check: alarm orders-p99: unknown state "UNKNOWN"`,
		"ok":      `cannot check: alarm orders-p99: unknown state "ok"`,
	} {
		obs := Observation{Alarms: []Alarm{{Name: "orders-5xx", State: StateOK}, {Name: "orders-p99", State: state}}}
		got := Judge(cfg, State{Version: StateVersion, Start: t0}, t0.Add(10*time.Minute), obs)
		if got.Status != hook.StatusFailed || got.Reason != want {
			t.Errorf("state %q: Judge() = %s %q, want FAILED %q", state, got.Status, got.Reason, want)
		}
	}
	obs := Observation{Alarms: []Alarm{{Name: "orders-5xx", State: StateOK}, {Name: "orders-p99", State: StateOK}}}
	if got := Judge(cfg, State{Version: StateVersion, Start: t0}, t0.Add(10*time.Minute), obs); got.Status != hook.StatusSucceeded {
		t.Errorf("all OK: Judge() = %s %q, want SUCCEEDED", got.Status, got.Reason)
	}
}
