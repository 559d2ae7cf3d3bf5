package bake

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/internal/hook"
)

// TestRelativeToErrorFreeBlue: a limit relative to blue multiplies blue's
// value, so against an error-free blue (5xx rate 0) the limit is 0 and any
// green 5xx breaches it (docs/bake.md: "a relative limit then fails on any
// green error"). A blue of 0 is a baseline, not a missing one: it must not
// skip the limit, nor divide by zero into a comparison that is always false.
func TestRelativeToErrorFreeBlue(t *testing.T) {
	type outcome struct {
		Status hook.Status // Judge's answer
		Check  Status      // the relative check's result
		Detail string      // its detail
		Extend bool
	}
	tests := []struct {
		name     string
		maxRel   float64
		max      float64 // an absolute limit too, when not 0
		green    Stats
		baseline Stats
		at       time.Duration // since the window's start
		want     outcome
	}{
		{name: "green 5% against an error-free blue breaches at once",
			maxRel: 2, green: Stats{Requests: 1200, Errors5xx: 60}, baseline: Stats{Requests: 1500}, at: 3 * time.Minute,
			want: outcome{Status: hook.StatusFailed, Check: StatusBreach, Detail: "0.05 > 2 × blue 0 = 0"}},
		{name: "green 5% in connection errors against an error-free blue breaches",
			maxRel: 2, green: Stats{Requests: 1200, ConnectionErrors: 60}, baseline: Stats{Requests: 1500}, at: 3 * time.Minute,
			want: outcome{Status: hook.StatusFailed, Check: StatusBreach, Detail: "0.05 > 2 × blue 0 = 0"}},
		{name: "a single green 5xx against an error-free blue breaches",
			maxRel: 100, green: Stats{Requests: 1200, Errors5xx: 1}, baseline: Stats{Requests: 1500}, at: 10 * time.Minute,
			want: outcome{Status: hook.StatusFailed, Check: StatusBreach, Detail: "0.0008333 > 100 × blue 0 = 0"}},
		{name: "error-free green against an error-free blue passes",
			maxRel: 2, green: Stats{Requests: 1200}, baseline: Stats{Requests: 1500}, at: 10 * time.Minute,
			want: outcome{Status: hook.StatusSucceeded, Check: StatusOK, Detail: "0 within limits (blue 0)"}},
		{name: "green equal to blue passes",
			maxRel: 1, green: Stats{Requests: 1200, Errors5xx: 12}, baseline: Stats{Requests: 1500, Errors5xx: 15}, at: 10 * time.Minute,
			want: outcome{Status: hook.StatusSucceeded, Check: StatusOK, Detail: "0.01 within limits (blue 0.01)"}},
		{name: "green exactly at the ratio passes",
			maxRel: 2, green: Stats{Requests: 1200, Errors5xx: 24}, baseline: Stats{Requests: 1500, Errors5xx: 15}, at: 10 * time.Minute,
			want: outcome{Status: hook.StatusSucceeded, Check: StatusOK, Detail: "0.02 within limits (blue 0.01)"}},
		{name: "green one error above blue breaches",
			maxRel: 1, green: Stats{Requests: 1200, Errors5xx: 13}, baseline: Stats{Requests: 1500, Errors5xx: 15}, at: 3 * time.Minute,
			want: outcome{Status: hook.StatusFailed, Check: StatusBreach, Detail: "0.01083 > 1 × blue 0.01 = 0.01"}},
		// Zero traffic, as documented: blue without traffic before the
		// shift is too quiet for a baseline, so the relative limit is
		// skipped and said so, and only an absolute limit applies.
		{name: "blue without traffic skips the relative limit",
			maxRel: 2, green: Stats{Requests: 1200, Errors5xx: 60}, baseline: Stats{}, at: 10 * time.Minute,
			want: outcome{Status: hook.StatusSucceeded, Check: StatusSkipped,
				Detail: "0.05; relative limit skipped: blue served 0 requests before the shift, too few for a baseline (want 100)"}},
		{name: "blue without traffic: the absolute limit still applies",
			maxRel: 2, max: 0.01, green: Stats{Requests: 1200, Errors5xx: 60}, baseline: Stats{}, at: 3 * time.Minute,
			want: outcome{Status: hook.StatusFailed, Check: StatusBreach, Detail: "0.05 > max 0.01"}},
		// Green without traffic is no evidence, never a pass: the window
		// is extended once.
		{name: "green without traffic against an error-free blue waits",
			maxRel: 2, green: Stats{}, baseline: Stats{Requests: 1500}, at: 10 * time.Minute,
			want: outcome{Status: hook.StatusInProgress, Check: StatusPending, Detail: "waiting for 100 green requests, have 0", Extend: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := MetricCheck{Name: "5xx vs blue", Kind: Kind5xxRate, MaxRelativeToBlue: ptr(tt.maxRel)}
			if tt.max != 0 {
				m.Max = ptr(tt.max)
			}
			cfg := DefaultConfig()
			cfg.Metrics = []MetricCheck{m}
			baseline := tt.baseline
			v := Judge(cfg, State{Version: StateVersion, Start: t0}, t0.Add(tt.at), Observation{Green: tt.green, Baseline: &baseline})
			got := outcome{Status: v.Status, Extend: v.Extend}
			for _, r := range v.Results {
				if r.Check == m.Name {
					got.Check, got.Detail = r.Status, r.Detail
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Judge(green %+v, blue %+v) (-want +got):\n%s\nreason: %s", tt.green, tt.baseline, diff, v.Reason)
			}
		})
	}
}
