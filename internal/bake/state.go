package bake

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"
)

// StateKey is the one hookDetails key under which the hook keeps its run
// state between calls. ECS merges the hookDetails of an IN_PROGRESS answer
// into the next call's, which also carry the configuration: the state lives
// under this single key, which the configuration parser ignores, and is
// always written whole.
const StateKey = "bakeState"

// StateVersion is the version of the state document.
const StateVersion = 1

// MaxHistory bounds the evaluations kept in the state, and so its size.
const MaxHistory = 8

// State is a bake's run state, carried between calls in hookDetails.
//
// ECS documents that it merges returned hookDetails, not how. The state is
// written so that any merge gives back what was written: every field is
// always present (a cleared value is written as null, never omitted, so an
// old value cannot survive a deep merge), objects have a fixed shape, and
// History never shrinks once full, so an index-wise array merge overwrites
// every entry. Decoding sorts, de-duplicates and trims History in case a
// merge concatenated it.
type State struct {
	// Version is StateVersion.
	Version int `json:"v"`
	// Start is when the window started: the first call's time.
	Start time.Time `json:"start"`
	// Extended is set once the window has been extended for lack of
	// evidence. It is extended at most once.
	Extended bool `json:"extended"`
	// FirstErrorAt is when the current run of transient errors began; nil
	// when the last call had none.
	FirstErrorAt *time.Time `json:"firstErrorAt"`
	// Traffic is where production goes, located once on the first call
	// that could; nil when not located (yet, or not by this source).
	Traffic *Traffic `json:"traffic"`
	// Baseline is blue's traffic over the window's length before Start,
	// kept once CloudWatch has settled; nil until then.
	Baseline *Stats `json:"baseline"`
	// History holds the latest evaluations, oldest first.
	History []Sample `json:"history"`
}

// Sample is one evaluation, kept in the state's bounded history.
type Sample struct {
	// At is the evaluation's time.
	At time.Time `json:"at"`
	// Status sums up the evaluation: the worst status of its checks.
	Status Status `json:"status"`
	// Requests green served since Start; nil when unknown.
	Requests *float64 `json:"requests"`
	// Values has one entry per configured metric check, in order: its value
	// (a fraction, milliseconds or an expression's result), or nil when it
	// was not evaluated.
	Values []*float64 `json:"values"`
}

// errCorruptState marks a state that cannot be decoded.
var errCorruptState = errors.New("corrupt run state")

// decodeState returns the run state in hookDetails; ok is false when there
// is none (the first call).
func decodeState(hookDetails json.RawMessage) (st State, ok bool, err error) {
	if len(bytes.TrimSpace(hookDetails)) == 0 {
		return State{}, false, nil
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(hookDetails, &fields); err != nil {
		return State{}, false, nil // the configuration parser reports it
	}
	raw, found := fields[StateKey]
	if !found || isNull(raw) {
		return State{}, false, nil
	}
	if err := json.Unmarshal(raw, &st); err != nil {
		return State{}, false, fmt.Errorf("hookDetails.%s: %w: %v", StateKey, errCorruptState, err)
	}
	if st.Version != StateVersion {
		return State{}, false, fmt.Errorf("hookDetails.%s: %w: version %d, want %d", StateKey, errCorruptState, st.Version, StateVersion)
	}
	if st.Start.IsZero() {
		return State{}, false, fmt.Errorf("hookDetails.%s: %w: no start time", StateKey, errCorruptState)
	}
	slices.SortStableFunc(st.History, func(a, b Sample) int { return a.At.Compare(b.At) })
	st.History = slices.CompactFunc(st.History, func(a, b Sample) bool { return a.At.Equal(b.At) })
	if n := len(st.History); n > MaxHistory {
		st.History = st.History[n-MaxHistory:]
	}
	return st, true, nil
}

// details returns the hookDetails of an IN_PROGRESS answer: the state, whole,
// under StateKey.
func (st State) details() (json.RawMessage, error) {
	if st.History == nil {
		st.History = []Sample{}
	}
	for i := range st.History {
		if st.History[i].Values == nil {
			st.History[i].Values = []*float64{}
		}
	}
	return json.Marshal(map[string]State{StateKey: st})
}

// record appends s to the history, dropping the oldest beyond MaxHistory.
func (st *State) record(s Sample) {
	st.History = append(st.History, s)
	if n := len(st.History); n > MaxHistory {
		st.History = slices.Clone(st.History[n-MaxHistory:])
	}
}

// end returns when the window ends, given its length.
func (st State) end(window time.Duration) time.Time {
	if st.Extended {
		return st.Start.Add(2 * window)
	}
	return st.Start.Add(window)
}
