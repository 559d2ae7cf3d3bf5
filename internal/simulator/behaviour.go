package simulator

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// HookDetailsMode is what ECS does with the hookDetails an IN_PROGRESS
// answer returns, which its documentation leaves open ("passes this data
// back" on the next call).
type HookDetailsMode string

// The readings of "passes this data back".
const (
	// HookDetailsReplace: the next call carries only what the answer
	// returned (nothing, if it returned none). AWS's sample re-sends its
	// whole configuration with every answer, which fits this reading.
	HookDetailsReplace HookDetailsMode = "replace"
	// HookDetailsMerge: the returned object's top-level keys replace the
	// same keys of the configured hookDetails.
	HookDetailsMerge HookDetailsMode = "merge"
	// HookDetailsDeepMerge: objects merge key by key at every depth (JSON
	// merge patch, RFC 7386: null deletes), other values replace.
	HookDetailsDeepMerge HookDetailsMode = "deep-merge"
)

// RollbackWeights is what traffic weights ECS sends when it re-runs the
// TEST_TRAFFIC_SHIFT and PRODUCTION_TRAFFIC_SHIFT hooks during a rollback:
// not documented.
type RollbackWeights string

// The readings of the rollback weights.
const (
	// RollbackReversed: green 0, blue 100, as AWS's sample reads them.
	RollbackReversed RollbackWeights = "reversed"
	// RollbackEmpty: empty weight maps ({}).
	RollbackEmpty RollbackWeights = "empty"
	// RollbackAbsent: no weight maps at all.
	RollbackAbsent RollbackWeights = "absent"
)

// PauseSteps is which hookId ECS gives a PAUSE hook at a stage that runs
// again at each step of a linear or canary deployment
// (PRE_PRODUCTION_TRAFFIC_SHIFT): not documented.
type PauseSteps string

// The readings of a PAUSE hook's later steps.
const (
	// PauseStepsNewHook: each step's pause is a new run, with its own
	// hookId.
	PauseStepsNewHook PauseSteps = "new-hook"
	// PauseStepsSameHook: every step's pause has the first one's hookId.
	PauseStepsSameHook PauseSteps = "same-hook"
)

// Behaviour is how the simulated ECS plays what the documentation leaves
// open. The zero value is DefaultBehaviour.
type Behaviour struct {
	HookDetails     HookDetailsMode
	RollbackWeights RollbackWeights
	// PauseSteps matters only to PAUSE hooks at a stage a linear or canary
	// deployment runs at every step; Behaviours leaves it at its default.
	PauseSteps PauseSteps
}

// DefaultBehaviour is what the documentation and AWS's sample suggest most
// strongly: hookDetails replaced by what the hook returned (the sample
// re-sends its configuration with every answer, which only replacement
// needs), and the weights reversed during a rollback (the sample reads them
// so).
// (PauseSteps left empty reads as PauseStepsNewHook: each pause is a run.)
var DefaultBehaviour = Behaviour{HookDetails: HookDetailsReplace, RollbackWeights: RollbackReversed}

// HookDetailsModes and RollbackWeightsModes list the values, default first.
var (
	HookDetailsModes     = []HookDetailsMode{HookDetailsReplace, HookDetailsMerge, HookDetailsDeepMerge}
	RollbackWeightsModes = []RollbackWeights{RollbackReversed, RollbackEmpty, RollbackAbsent}
	PauseStepsModes      = []PauseSteps{PauseStepsNewHook, PauseStepsSameHook}
)

// Behaviours returns every combination, DefaultBehaviour first.
func Behaviours() []Behaviour {
	var out []Behaviour
	for _, h := range HookDetailsModes {
		for _, w := range RollbackWeightsModes {
			out = append(out, Behaviour{HookDetails: h, RollbackWeights: w})
		}
	}
	return out
}

func (b Behaviour) withDefaults() Behaviour {
	if b.HookDetails == "" {
		b.HookDetails = DefaultBehaviour.HookDetails
	}
	if b.RollbackWeights == "" {
		b.RollbackWeights = DefaultBehaviour.RollbackWeights
	}
	if b.PauseSteps == "" {
		b.PauseSteps = PauseStepsNewHook
	}
	return b
}

// String writes b as ParseBehaviour reads it.
func (b Behaviour) String() string {
	b = b.withDefaults()
	s := fmt.Sprintf("hookdetails=%s,rollback-weights=%s", b.HookDetails, b.RollbackWeights)
	if b.PauseSteps != PauseStepsNewHook {
		s += ",pause-steps=" + string(b.PauseSteps)
	}
	return s
}

// ParseBehaviour reads "hookdetails=merge,rollback-weights=empty"; keys left
// out keep their defaults. Unknown keys and values are refused, listing the
// allowed ones.
func ParseBehaviour(s string) (Behaviour, error) {
	b := DefaultBehaviour
	if strings.TrimSpace(s) == "" {
		return b, nil
	}
	for _, part := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		switch {
		case !ok:
			return b, fmt.Errorf("%q: want key=value, keys hookdetails, rollback-weights and pause-steps", part)
		case k == "hookdetails":
			if !slices.Contains(HookDetailsModes, HookDetailsMode(v)) {
				return b, fmt.Errorf("hookdetails=%s: want one of %s", v, join(HookDetailsModes))
			}
			b.HookDetails = HookDetailsMode(v)
		case k == "rollback-weights":
			if !slices.Contains(RollbackWeightsModes, RollbackWeights(v)) {
				return b, fmt.Errorf("rollback-weights=%s: want one of %s", v, join(RollbackWeightsModes))
			}
			b.RollbackWeights = RollbackWeights(v)
		case k == "pause-steps":
			if !slices.Contains(PauseStepsModes, PauseSteps(v)) {
				return b, fmt.Errorf("pause-steps=%s: want one of %s", v, join(PauseStepsModes))
			}
			b.PauseSteps = PauseSteps(v)
			if b.PauseSteps == PauseStepsNewHook {
				b.PauseSteps = ""
			}
		default:
			return b, fmt.Errorf("%q: unknown key, want hookdetails, rollback-weights or pause-steps", k)
		}
	}
	return b, nil
}

func join[T ~string](values []T) string {
	s := make([]string, len(values))
	for i, v := range values {
		s[i] = string(v)
	}
	return strings.Join(s, ", ")
}

// next is the hookDetails of a hook's next call: configured is what the
// service was configured with, last what the last call carried, returned
// what its answer returned.
func (b Behaviour) next(configured, last, returned json.RawMessage) (json.RawMessage, error) {
	if len(returned) > 0 && string(returned) != "null" {
		var probe map[string]json.RawMessage
		if err := json.Unmarshal(returned, &probe); err != nil {
			return nil, fmt.Errorf("returned hookDetails are not a JSON object: %w", err)
		}
	}
	switch b.withDefaults().HookDetails {
	case HookDetailsReplace:
		if len(returned) == 0 || string(returned) == "null" {
			return nil, nil
		}
		return returned, nil
	case HookDetailsDeepMerge:
		return mergePatch(last, returned)
	default:
		return merge(last, returned)
	}
}

// mergePatch applies returned to base as a JSON merge patch (RFC 7386).
func mergePatch(base, returned json.RawMessage) (json.RawMessage, error) {
	if len(returned) == 0 || string(returned) == "null" {
		return base, nil
	}
	var b, p any
	if len(base) > 0 {
		if err := json.Unmarshal(base, &b); err != nil {
			return nil, fmt.Errorf("hookDetails: %w", err)
		}
	}
	if err := json.Unmarshal(returned, &p); err != nil {
		return nil, err
	}
	return json.Marshal(patch(b, p))
}

func patch(target, p any) any {
	pm, ok := p.(map[string]any)
	if !ok {
		return p
	}
	tm, ok := target.(map[string]any)
	if !ok {
		tm = map[string]any{}
	} else {
		tm = maps.Clone(tm)
	}
	for k, v := range pm {
		if v == nil {
			delete(tm, k)
			continue
		}
		tm[k] = patch(tm[k], v)
	}
	return tm
}
