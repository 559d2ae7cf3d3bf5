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
// the documentation now gives them reversed (target 0, the old revision
// 100) as the rollback signal; empty and absent maps stay as stress
// readings.
type RollbackWeights string

// The readings of the rollback weights.
const (
	// RollbackReversed: green 0, blue 100, as documented.
	RollbackReversed RollbackWeights = "reversed"
	// RollbackEmpty: empty weight maps ({}).
	RollbackEmpty RollbackWeights = "empty"
	// RollbackAbsent: no weight maps at all.
	RollbackAbsent RollbackWeights = "absent"
)

// MixedStage is how long ECS lets a stage run that holds a PAUSE hook and
// Lambda hooks: not documented (ECS-HOOKS.md, section 7). A stage with
// Lambda hooks lasts at most 24 hours; a PAUSE hook waits up to 14 days.
type MixedStage string

// The readings of a stage with both kinds of hook.
const (
	// MixedStage24h: the 24-hour limit of a stage with Lambda hooks holds,
	// even while a PAUSE hook still waits: the stricter reading.
	MixedStage24h MixedStage = "24h"
	// MixedStagePause: a stage that holds a PAUSE hook is bounded by the
	// PAUSE hook's own timeout.
	MixedStagePause MixedStage = "pause-timeout"
)

// Behaviour is how the simulated ECS plays what the documentation leaves
// open. The zero value is DefaultBehaviour.
type Behaviour struct {
	HookDetails     HookDetailsMode
	RollbackWeights RollbackWeights
	// MixedStage matters only to a stage with a PAUSE hook and Lambda
	// hooks that waits more than a day; Behaviours leaves it at its
	// default.
	MixedStage MixedStage
}

// DefaultBehaviour is what the documentation says, or suggests most
// strongly: hookDetails merged (the Lambda-hooks page: "Amazon ECS merges
// this data and passes it back"; how deep is not said, so the top level),
// the weights reversed during a rollback (the documented rollback signal),
// and the 24-hour limit of a stage with Lambda hooks kept while a PAUSE
// hook waits there (the stricter reading; MixedStage left empty).
var DefaultBehaviour = Behaviour{HookDetails: HookDetailsMerge, RollbackWeights: RollbackReversed}

// HookDetailsModes, RollbackWeightsModes and MixedStageModes list the
// values, default first.
var (
	HookDetailsModes     = []HookDetailsMode{HookDetailsMerge, HookDetailsReplace, HookDetailsDeepMerge}
	RollbackWeightsModes = []RollbackWeights{RollbackReversed, RollbackEmpty, RollbackAbsent}
	MixedStageModes      = []MixedStage{MixedStage24h, MixedStagePause}
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
	if b.MixedStage == "" {
		b.MixedStage = MixedStage24h
	}
	return b
}

// String writes b as ParseBehaviour reads it.
func (b Behaviour) String() string {
	b = b.withDefaults()
	s := fmt.Sprintf("hookdetails=%s,rollback-weights=%s", b.HookDetails, b.RollbackWeights)
	if b.MixedStage != MixedStage24h {
		s += ",mixed-stage=" + string(b.MixedStage)
	}
	return s
}

// ParseBehaviour reads "hookdetails=replace,rollback-weights=empty"; keys left
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
			return b, fmt.Errorf("%q: want key=value, keys hookdetails, rollback-weights and mixed-stage", part)
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
		case k == "mixed-stage":
			if !slices.Contains(MixedStageModes, MixedStage(v)) {
				return b, fmt.Errorf("mixed-stage=%s: want one of %s", v, join(MixedStageModes))
			}
			b.MixedStage = MixedStage(v)
			if b.MixedStage == MixedStage24h {
				b.MixedStage = ""
			}
		default:
			return b, fmt.Errorf("%q: unknown key, want hookdetails, rollback-weights or mixed-stage", k)
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
