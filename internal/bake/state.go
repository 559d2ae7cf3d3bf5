package bake

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/hook"
)

// StateKey is the one hookDetails key under which the hook keeps its run
// state between calls. ECS merges the hookDetails of an IN_PROGRESS answer
// into the next call's, which also carry the configuration: the state lives
// under this single key, which the configuration parser ignores, and is
// always written whole.
const StateKey = "bakeState"

// StateVersion is the version of the state document. A state of another
// version is not continued: the window starts afresh.
const StateVersion = 2

// runStates is how the run state is kept in hookDetails (hook.RunState).
var runStates = hook.RunState{Key: StateKey, Version: StateVersion}

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
// merge concatenated it, and drops entries older than Start (left by an
// index-wise merge over the history of a run that was started afresh).
//
// A state is continued only by the deployment, stage, target revision and
// configuration it was started for, and only while it is young enough to
// belong to the current run (see resume); otherwise the window starts
// afresh.
type State struct {
	// Version is StateVersion.
	Version int `json:"v"`
	// Start is when the window started: the first call's time.
	Start time.Time `json:"start"`
	// Deployment is the service deployment (the request's resourceArn) the
	// run belongs to.
	Deployment string `json:"deployment"`
	// Stage is the lifecycle stage the run belongs to.
	Stage hook.Stage `json:"stage"`
	// Revision is the target (green) service revision the run belongs to.
	Revision string `json:"revision"`
	// Config is the fingerprint of the configuration the run started with
	// (see fingerprint).
	Config string `json:"config"`
	// Step is, for the step check, the step the run judges: green's share
	// of production, as 10 or 2.5; empty for the bake.
	Step string `json:"step,omitempty"`
	// ExtendedEnd is set once the window has been extended for lack of
	// evidence: the extended window's end, at least Start plus twice the
	// window and at least a whole window after the call that extended it.
	// It is extended at most once; nil until then.
	ExtendedEnd *time.Time `json:"extendedEnd"`
	// FirstErrorAt is when the current run of transient errors began; nil
	// when the last call had none.
	FirstErrorAt *time.Time `json:"firstErrorAt"`
	// Traffic is where production goes, located once on the first call
	// that could; nil when not located (yet, or not by this source).
	Traffic *Traffic `json:"traffic"`
	// Baseline is blue's traffic over the window's length before Start,
	// kept once CloudWatch has settled; nil until then.
	Baseline *Stats `json:"baseline"`
	// Marked is set once the run's start is recorded in the state bucket
	// (see StartKey and Checker.Reports), or cannot be for good (the bucket
	// refused it): later calls of the run do not ask the bucket again. It
	// stays false without a state bucket, and after a transient error,
	// which the next call retries. A state written before the field existed
	// reads as false: its start is recorded on the next call.
	Marked bool `json:"marked"`
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
// is none (the first call). It refuses only a state it cannot decode;
// whether a decoded state may be continued is for resume to say.
func decodeState(hookDetails json.RawMessage) (st State, ok bool, err error) {
	raw := runStates.Raw(hookDetails)
	if raw == nil {
		return State{}, false, nil
	}
	if err := json.Unmarshal(raw, &st); err != nil {
		return State{}, false, fmt.Errorf("hookDetails.%s: %w: %v", StateKey, errCorruptState, err)
	}
	st.History = slices.DeleteFunc(st.History, func(s Sample) bool { return s.At.Before(st.Start) })
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
	return runStates.Details(st)
}

// record appends s to the history, dropping the oldest beyond MaxHistory.
func (st *State) record(s Sample) {
	st.History = append(st.History, s)
	if n := len(st.History); n > MaxHistory {
		st.History = slices.Clone(st.History[n-MaxHistory:])
	}
}

// end returns when the window ends, given its length: Start plus the
// window, or, once extended, ExtendedEnd (never before Start plus twice
// the window).
func (st State) end(window time.Duration) time.Time {
	if st.ExtendedEnd != nil {
		return later(*st.ExtendedEnd, st.Start.Add(2*window))
	}
	return st.Start.Add(window)
}

// extended reports whether the window has been extended.
func (st State) extended() bool { return st.ExtendedEnd != nil }

// extend extends the window, once, at now: to twice its length, or a whole
// window from now if the call came so late that less would be left.
func (st *State) extend(now time.Time, window time.Duration) {
	e := extendedEnd(*st, now, window)
	st.ExtendedEnd = &e
}

func extendedEnd(st State, now time.Time, window time.Duration) time.Time {
	return later(st.Start.Add(2*window), now.Add(window)).UTC()
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// Limits on continuing a run state.
const (
	// maxStateAge is the oldest start a state may have. A bake run lasts
	// its window (at most MaxWindow, 8h), any extension for traffic and at
	// most MaxMaxErrorDuration of errors: well under a day. (A hook's ECS
	// timeout may be longer, up to 14 days, so it is no bound here.)
	maxStateAge = 24 * time.Hour
	// stateGrace is how long after its window's end plus MaxErrorDuration a
	// state may still be continued: room for a late call from ECS (at most
	// MaxCallbackDelay late).
	stateGrace = MaxCallbackDelay * time.Second
)

// binding is what a run state belongs to. Step is the step check's step
// (green's share), empty for the bake.
type binding struct {
	Deployment string
	Stage      hook.Stage
	Revision   string
	Config     string
	Step       string
}

func bindingOf(req hook.Request, cfg Config, step string) binding {
	return binding{
		Deployment: req.ResourceARN,
		Stage:      req.LifecycleStage,
		Revision:   req.ExecutionDetails.TargetServiceRevisionARN,
		Config:     fingerprint(cfg),
		Step:       step,
	}
}

// fingerprint identifies what a configuration judges: a hash of every
// setting but the callback delay, which only paces the calls.
func fingerprint(cfg Config) string {
	cfg.CallbackDelay = 0
	return hook.Fingerprint(cfg)
}

// mismatch says why a run bound to got is not b's, or "" if it is.
func (b binding) mismatch(got binding) string {
	switch {
	case got.Deployment != b.Deployment:
		return fmt.Sprintf("it belongs to deployment %q", got.Deployment)
	case got.Stage != b.Stage:
		return fmt.Sprintf("it belongs to stage %q", got.Stage)
	case got.Revision != b.Revision:
		return fmt.Sprintf("it belongs to target revision %q", got.Revision)
	case got.Step != b.Step:
		return fmt.Sprintf("it belongs to the step with %q%% of production on green", got.Step)
	case got.Config != b.Config:
		return "the configuration changed since it started"
	}
	return ""
}

// stale says why a run that started at start, with its window (as
// extended) ending at end, cannot belong to the current run at now, or ""
// if it can: it started more than maxStateAge ago, or its window ended
// more than MaxErrorDuration plus stateGrace ago, so that no legitimate
// call of the run can come this late.
func stale(cfg Config, start, end, now time.Time) string {
	if age := now.Sub(start); age > maxStateAge {
		return fmt.Sprintf("it started %s ago, longer than any bake run lasts (%s)", hook.FormatDuration(age), hook.FormatDuration(maxStateAge))
	}
	if last := end.Add(cfg.MaxErrorDuration + stateGrace); now.After(last) {
		return fmt.Sprintf("its window ended at %s, more than maxErrorDuration (%s) + %s before this call: left from an earlier run",
			end.UTC().Format(time.RFC3339), hook.FormatDuration(cfg.MaxErrorDuration), hook.FormatDuration(stateGrace))
	}
	return ""
}

// resume returns the run state to continue from hookDetails (ok), or a
// fresh one starting at now for b. A state is continued only when it is of
// this version, of b's deployment, stage, target revision and
// configuration, and not stale: started less than maxStateAge ago, its
// window (as extended) ended no more than MaxErrorDuration plus stateGrace
// ago. Otherwise it is left, and restarted says why ("" when there was no
// state). A state that cannot be decoded, has no start, or starts in the
// future is refused with an error.
func resume(hookDetails json.RawMessage, b binding, cfg Config, now, start time.Time) (st State, ok bool, restarted string, err error) {
	fresh := State{Version: StateVersion, Start: start, Deployment: b.Deployment, Stage: b.Stage, Revision: b.Revision, Config: b.Config, Step: b.Step}
	st, found, err := decodeState(hookDetails)
	if err != nil {
		return State{}, false, "", err
	}
	if !found {
		return fresh, false, "", nil
	}
	if err := runStates.CheckVersion(st.Version); err != nil {
		return fresh, false, "it has " + err.Error(), nil
	}
	if why := b.mismatch(binding{Deployment: st.Deployment, Stage: st.Stage, Revision: st.Revision, Config: st.Config, Step: st.Step}); why != "" {
		return fresh, false, why, nil
	}
	if st.Start.IsZero() {
		return State{}, false, "", fmt.Errorf("hookDetails.%s: %w: no start time", StateKey, errCorruptState)
	}
	if st.Start.After(now.Add(maxClockSkew)) {
		return State{}, false, "", fmt.Errorf("hookDetails.%s: %w: starts %s, in the future", StateKey, errCorruptState, st.Start.Format(time.RFC3339))
	}
	if why := stale(cfg, st.Start, st.end(cfg.Window), now); why != "" {
		return fresh, false, why, nil
	}
	// An index-wise merge over a longer list of an earlier run may have
	// left values beyond this configuration's checks.
	for i := range st.History {
		if v := st.History[i].Values; len(v) > len(cfg.Metrics) {
			st.History[i].Values = v[:len(cfg.Metrics)]
		}
	}
	return st, true, "", nil
}
