package rollout

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestSteps(t *testing.T) {
	tests := []struct {
		s     Strategy
		steps []float64
		bakes []time.Duration
	}{
		{Strategy{}, []float64{100}, []time.Duration{0}},
		{Strategy{Kind: Linear, StepPercent: 25, StepBake: time.Minute}, []float64{25, 50, 75, 100}, []time.Duration{time.Minute, time.Minute, time.Minute, 0}},
		{Strategy{Kind: Linear, StepPercent: 30, StepBake: 2 * time.Minute}, []float64{30, 60, 90, 100}, []time.Duration{2 * time.Minute, 2 * time.Minute, 2 * time.Minute, 0}},
		{Strategy{Kind: Linear}, []float64{10, 20, 30, 40, 50, 60, 70, 80, 90, 100}, nil},
		{Strategy{Kind: Linear, StepPercent: 100}, []float64{100}, []time.Duration{0}},
		{Strategy{Kind: Canary, CanaryPercent: 5, CanaryBake: 10 * time.Minute}, []float64{5, 100}, []time.Duration{10 * time.Minute, 0}},
		{Strategy{Kind: Canary, CanaryPercent: 0.1}, []float64{0.1, 100}, []time.Duration{DefaultCanaryBake, 0}},
		{Strategy{Kind: Canary, CanaryPercent: 100}, []float64{100}, []time.Duration{0}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.steps, tt.s.Steps()); diff != "" {
			t.Errorf("%+v Steps (-want +got):\n%s", tt.s, diff)
		}
		for i, want := range tt.bakes {
			if got := tt.s.BakeAfter(i); got != want {
				t.Errorf("%+v BakeAfter(%d) = %v, want %v", tt.s, i, got, want)
			}
		}
	}
}

func TestValidate(t *testing.T) {
	for _, ok := range []Strategy{{}, {Kind: Linear, StepPercent: 3}, {Kind: Linear, StepPercent: 33.3, StepBake: 1440 * time.Minute}, {Kind: Canary, CanaryPercent: 0.1}} {
		if err := ok.WithDefaults().Validate(); err != nil {
			t.Errorf("Validate(%+v) = %v", ok, err)
		}
	}
	for s, want := range map[Strategy]string{
		{Kind: Linear, StepPercent: 2.9}:                               "stepPercent: 2.9",
		{Kind: Linear, StepPercent: 10.05}:                             "multiple of 0.1",
		{Kind: Linear, StepPercent: 10, StepBake: 1441 * time.Minute}:  "stepBakeTimeInMinutes",
		{Kind: Canary, CanaryPercent: 0}:                               "canaryPercent: 0",
		{Kind: Canary, CanaryPercent: 101}:                             "canaryPercent: 101",
		{Kind: Canary, CanaryPercent: 5, CanaryBake: 30 * time.Second}: "canaryBakeTimeInMinutes",
		{Kind: "rolling"}:                                              "want one of blue-green, linear, canary",
	} {
		if err := s.Validate(); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate(%+v) = %v, want %q", s, err, want)
		}
	}
	if _, err := ParseKind("rolling"); err == nil || !strings.Contains(err.Error(), "blue-green, linear, canary") {
		t.Errorf("ParseKind(rolling) = %v", err)
	}
}

// TestNoBake: a zero step or canary bake, which ECS allows, stays zero; a
// zero value is ECS's default.
func TestNoBake(t *testing.T) {
	for _, tt := range []struct {
		in   Strategy
		want time.Duration
	}{
		{Strategy{Kind: Linear, StepPercent: 50, StepBake: NoBake}, 0},
		{Strategy{Kind: Linear, StepPercent: 50}, DefaultStepBake},
		{Strategy{Kind: Canary, CanaryBake: NoBake}, 0},
		{Strategy{Kind: Canary, CanaryBake: Bake(0)}, 0},
		{Strategy{Kind: Canary}, DefaultCanaryBake},
	} {
		if err := tt.in.WithDefaults().Validate(); err != nil {
			t.Errorf("Validate(%+v) = %v", tt.in, err)
		}
		if got := tt.in.BakeAfter(0); got != tt.want {
			t.Errorf("BakeAfter(0) of %+v = %v, want %v", tt.in, got, tt.want)
		}
	}
	if err := (Strategy{Kind: Linear, StepPercent: 50, StepBake: -2 * time.Minute}).Validate(); err == nil {
		t.Error("a negative bake was accepted")
	}
}
