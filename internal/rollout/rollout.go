// Package rollout describes how ECS moves production traffic to the new
// revision under each deployment strategy that runs lifecycle hooks:
// blue/green (all at once), linear (equal steps with a bake between them)
// and canary (a share first, a bake, then the rest), with the limits of
// the ECS API. The simulator and the CDK app both use it, so the two
// cannot disagree about what a step is.
package rollout

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
)

// Kind is a deployment strategy.
type Kind string

// The strategies with lifecycle hooks, as gatehouse names them on its
// command line and in its settings; ECS's names are in ECSName.
const (
	BlueGreen Kind = "blue-green"
	Linear    Kind = "linear"
	Canary    Kind = "canary"
)

// Kinds lists them, the default first.
var Kinds = []Kind{BlueGreen, Linear, Canary}

// ECSName is the strategy's name in the ECS API and CloudFormation.
func (k Kind) ECSName() string {
	return map[Kind]string{BlueGreen: "BLUE_GREEN", Linear: "LINEAR", Canary: "CANARY"}[k]
}

// Limits and defaults of the ECS API (LinearConfiguration,
// CanaryConfiguration).
const (
	MinStepPercent       = 3.0
	MaxStepPercent       = 100.0
	DefaultStepPercent   = 10.0
	MinCanaryPercent     = 0.1
	MaxCanaryPercent     = 100.0
	DefaultCanaryPercent = 5.0
	MaxStepBake          = 1440 * time.Minute
	DefaultStepBake      = 6 * time.Minute
	DefaultCanaryBake    = 10 * time.Minute
	// NoBake is a StepBake or CanaryBake of zero minutes, which ECS allows:
	// a zero value means ECS's default.
	NoBake time.Duration = -1
)

// Bake returns a StepBake or CanaryBake of d: NoBake for zero.
func Bake(d time.Duration) time.Duration {
	if d == 0 {
		return NoBake
	}
	return d
}

// Strategy is a deployment strategy with its settings. Zero settings take
// ECS's defaults (With defaults).
type Strategy struct {
	Kind Kind
	// StepPercent and StepBake are a linear deployment's: the share of
	// production traffic each step moves, and the wait after each step but
	// the last (NoBake for none: zero is ECS's default).
	StepPercent float64
	StepBake    time.Duration
	// CanaryPercent and CanaryBake are a canary deployment's: the share
	// the first step moves, and the wait before the rest (NoBake for none).
	CanaryPercent float64
	CanaryBake    time.Duration
}

// ParseKind reads a strategy name; empty is blue-green.
func ParseKind(s string) (Kind, error) {
	switch k := Kind(strings.TrimSpace(s)); k {
	case "":
		return BlueGreen, nil
	case BlueGreen, Linear, Canary:
		return k, nil
	}
	names := make([]string, len(Kinds))
	for i, k := range Kinds {
		names[i] = string(k)
	}
	return "", fmt.Errorf("%q is not a strategy: want one of %s", s, strings.Join(names, ", "))
}

// WithDefaults fills in ECS's defaults for settings left zero.
func (s Strategy) WithDefaults() Strategy {
	if s.Kind == "" {
		s.Kind = BlueGreen
	}
	switch s.Kind {
	case Linear:
		if s.StepPercent == 0 {
			s.StepPercent = DefaultStepPercent
		}
		switch s.StepBake {
		case 0:
			s.StepBake = DefaultStepBake
		case NoBake:
			s.StepBake = 0
		}
	case Canary:
		if s.CanaryPercent == 0 {
			s.CanaryPercent = DefaultCanaryPercent
		}
		switch s.CanaryBake {
		case 0:
			s.CanaryBake = DefaultCanaryBake
		case NoBake:
			s.CanaryBake = 0
		}
	}
	return s
}

// Validate reports every setting ECS would refuse, naming the key as the
// ECS API does (stepPercent, stepBakeTimeInMinutes, canaryPercent,
// canaryBakeTimeInMinutes).
func (s Strategy) Validate() error {
	var errs []error
	tenths := func(v float64) bool { return math.Abs(v*10-math.Round(v*10)) < 1e-9 }
	bake := func(name string, d time.Duration) {
		if d < 0 && d != NoBake || d > MaxStepBake || d%time.Minute != 0 && d != NoBake {
			errs = append(errs, fmt.Errorf("%s: %v, want whole minutes from 0 to 1440", name, d))
		}
	}
	switch s.Kind {
	case BlueGreen, "":
	case Linear:
		if s.StepPercent < MinStepPercent || s.StepPercent > MaxStepPercent || !tenths(s.StepPercent) {
			errs = append(errs, fmt.Errorf("stepPercent: %v, want a multiple of 0.1 from 3 to 100", s.StepPercent))
		}
		bake("stepBakeTimeInMinutes", s.StepBake)
	case Canary:
		if s.CanaryPercent < MinCanaryPercent || s.CanaryPercent > MaxCanaryPercent || !tenths(s.CanaryPercent) {
			errs = append(errs, fmt.Errorf("canaryPercent: %v, want a multiple of 0.1 from 0.1 to 100", s.CanaryPercent))
		}
		bake("canaryBakeTimeInMinutes", s.CanaryBake)
	default:
		_, err := ParseKind(string(s.Kind))
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Steps returns the share of production traffic on the new revision after
// each production traffic shift, in percent, the last always 100: one step
// for blue/green; StepPercent, twice that, ... for linear; CanaryPercent
// then 100 for canary. ECS calls the PRE_PRODUCTION_TRAFFIC_SHIFT and
// PRODUCTION_TRAFFIC_SHIFT hooks once per step.
func (s Strategy) Steps() []float64 {
	s = s.WithDefaults()
	switch s.Kind {
	case Linear:
		var out []float64
		for i := 1; ; i++ {
			w := math.Round(float64(i)*s.StepPercent*10) / 10
			if w >= 100-1e-9 {
				return append(out, 100)
			}
			out = append(out, w)
		}
	case Canary:
		if s.CanaryPercent >= 100 {
			return []float64{100}
		}
		return []float64{s.CanaryPercent, 100}
	}
	return []float64{100}
}

// BakeAfter is the wait after step i (0-based) of Steps: the step or
// canary bake after every step but the last, none after it.
func (s Strategy) BakeAfter(i int) time.Duration {
	s = s.WithDefaults()
	if i >= len(s.Steps())-1 {
		return 0
	}
	if s.Kind == Canary {
		return s.CanaryBake
	}
	return s.StepBake
}
