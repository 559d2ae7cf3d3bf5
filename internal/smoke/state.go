package smoke

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/hook"
)

// Outcome is where one check stands.
type Outcome string

// The outcomes of a check.
const (
	// OutcomeRunning: not decided yet; the check will be attempted again.
	OutcomeRunning Outcome = "running"
	// OutcomePassed: consecutiveSuccesses passes in a row.
	OutcomePassed Outcome = "passed"
	// OutcomeFailed: more failed attempts than retries allow.
	OutcomeFailed Outcome = "failed"
	// OutcomeCancelled: not decided when a critical check failed and ended
	// the run.
	OutcomeCancelled Outcome = "cancelled"
)

// stateVersion is the version of the run state format.
const stateVersion = 1

// runStates is how the run state is kept in hookDetails (hook.RunState).
var runStates = hook.RunState{Key: StateKey, Version: stateVersion}

// runState is a run's progress, kept between calls in hookDetails under
// StateKey. ECS merges returned hookDetails into the next call's, and whether
// it merges nested objects (deeply) or replaces them (shallowly) is not
// documented. The state is written whole every time, with every field present
// and no nulls (a merge patch would delete those), and its lists keep their
// length within a run, so either kind of merge gives back exactly what was
// returned.
type runState struct {
	// V is stateVersion.
	V int `json:"v"`
	// Run names the deployment, stage and revision the state belongs to.
	Run string `json:"run"`
	// Config is the fingerprint of the configuration the run was started
	// with; a different configuration starts a new run.
	Config string `json:"config"`
	// Started is when the run started, in Unix milliseconds.
	Started int64 `json:"started"`
	// Calls counts the hook calls of this run.
	Calls int `json:"calls"`
	// BaseURL, Source, Headers and Notes describe the target, once resolved.
	// Headers are only those the test listener rule requires, never the
	// configured ones (they may carry credentials).
	BaseURL string   `json:"baseUrl"`
	Source  string   `json:"source"`
	Headers []header `json:"headers"`
	Notes   []string `json:"notes"`
	// ReportTries counts failed attempts to write the final report.
	ReportTries int `json:"reportTries"`
	// Checks holds one entry per configured check, in order.
	Checks []checkState `json:"checks"`
}

type header struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// checkState is one check's progress under the flake policy.
type checkState struct {
	Name    string  `json:"name"`
	Outcome Outcome `json:"outcome"`
	// Attempts counts requests made; Failures the failed ones; Streak the
	// passes in a row since the last failure.
	Attempts int `json:"attempts"`
	Failures int `json:"failures"`
	Streak   int `json:"streak"`
	// Next is when the next attempt is due, in Unix milliseconds.
	Next int64 `json:"next"`
	// Status, LatencyMs and Problem describe the last attempt.
	Status    int    `json:"status"`
	LatencyMs int64  `json:"latencyMs"`
	Problem   string `json:"problem"`
}

func (c *checkState) finished() bool { return c.Outcome != OutcomeRunning }

// fingerprint identifies a configuration. It leaves out header values,
// which may be credentials: the state lives in hookDetails.
func fingerprint(c Config) string {
	c = c.clone()
	blank := func(h map[string]string) {
		for k := range h {
			h[k] = ""
		}
	}
	blank(c.Headers)
	for _, ch := range c.Checks {
		blank(ch.Headers)
	}
	return hook.Fingerprint(c)
}

// newState starts a run of cfg at now: every check due at once.
func newState(cfg Config, now time.Time) runState {
	s := runState{
		V:       stateVersion,
		Config:  fingerprint(cfg),
		Started: now.UnixMilli(),
		Headers: []header{},
		Notes:   []string{},
		Checks:  make([]checkState, len(cfg.Checks)),
	}
	for i, ch := range cfg.Checks {
		s.Checks[i] = checkState{Name: ch.Name, Outcome: OutcomeRunning, Next: now.UnixMilli()}
	}
	return s
}

// stateFrom returns the run state in hookDetails, if any.
func stateFrom(hookDetails json.RawMessage) json.RawMessage {
	return runStates.Raw(hookDetails)
}

// resume decodes raw as the state of a run of cfg at now. It returns an error when
// raw is not such a state: corrupt, of another version, or of another
// configuration. The caller then starts afresh, which is always safe: checks
// only read.
func resume(raw json.RawMessage, cfg Config, now time.Time) (runState, error) {
	var s runState
	if err := runStates.Decode(raw, &s, true); err != nil {
		return runState{}, fmt.Errorf("decode: %w", err)
	}
	if err := runStates.CheckVersion(s.V); err != nil {
		return runState{}, err
	}
	switch {
	case s.Config != fingerprint(cfg):
		return runState{}, errors.New("the configuration changed")
	case len(s.Checks) != len(cfg.Checks):
		return runState{}, fmt.Errorf("%d checks, want %d", len(s.Checks), len(cfg.Checks))
	case s.Started <= 0 || s.Calls < 0 || s.ReportTries < 0:
		return runState{}, errors.New("bad counters")
	case s.BaseURL != "" && checkBaseURL(s.BaseURL) != nil:
		return runState{}, errors.New("bad base URL")
	}
	for i, c := range s.Checks {
		switch {
		case c.Name != cfg.Checks[i].Name:
			return runState{}, fmt.Errorf("check %d is %q, want %q", i, c.Name, cfg.Checks[i].Name)
		case c.Outcome != OutcomeRunning && c.Outcome != OutcomePassed && c.Outcome != OutcomeFailed && c.Outcome != OutcomeCancelled:
			return runState{}, fmt.Errorf("check %q: outcome %q", c.Name, c.Outcome)
		case c.Attempts < 0 || c.Failures < 0 || c.Streak < 0 || c.Failures > c.Attempts || c.Streak > c.Attempts:
			return runState{}, fmt.Errorf("check %q: bad counters", c.Name)
		case c.Attempts > maxAttempts(cfg):
			return runState{}, fmt.Errorf("check %q: %d attempts, more than the policy allows", c.Name, c.Attempts)
		case c.Next > now.Add(MaxMaxRetryDelay+time.Minute).UnixMilli():
			// A check due that far ahead would park the run until ECS
			// times the hook out.
			return runState{}, fmt.Errorf("check %q: next attempt too far ahead", c.Name)
		}
	}
	for _, h := range s.Headers {
		if !token(h.Name) {
			return runState{}, errors.New("bad header")
		}
	}
	if s.Headers == nil {
		s.Headers = []header{}
	}
	if s.Notes == nil {
		s.Notes = []string{}
	}
	return s, nil
}

// maxAttempts is the most attempts the flake policy can make of one check:
// every pass streak but the last can be broken by a failure.
func maxAttempts(cfg Config) int {
	return (cfg.Retries + 1) * cfg.ConsecutiveSuccesses
}

func (s runState) encode() json.RawMessage {
	b, err := json.Marshal(s)
	if err != nil {
		// Only plain strings and numbers: cannot happen.
		panic(fmt.Sprintf("encode smoke state: %v", err))
	}
	return b
}

// target returns the resolved target kept in s.
func (s runState) target() Target {
	t := Target{BaseURL: s.BaseURL, Source: s.Source}
	if len(s.Headers) > 0 {
		t.Headers = map[string]string{}
		for _, h := range s.Headers {
			t.Headers[h.Name] = h.Value
		}
	}
	t.Notes = append(t.Notes, s.Notes...)
	return t
}

// setTarget keeps t in s.
func (s *runState) setTarget(t Target, fromConfig bool) {
	s.BaseURL, s.Source = t.BaseURL, t.Source
	s.Headers, s.Notes = []header{}, []string{}
	if fromConfig {
		// The configuration is read again on every call; keep nothing of it.
		s.BaseURL = ""
		return
	}
	for _, k := range slices.Sorted(maps.Keys(t.Headers)) {
		s.Headers = append(s.Headers, header{Name: k, Value: t.Headers[k]})
	}
	s.Notes = append(s.Notes, t.Notes...)
}

// earliest returns the time the first running check is due, and false if
// none is running.
func (s runState) earliest() (time.Time, bool) {
	next := int64(math.MaxInt64)
	for _, c := range s.Checks {
		if !c.finished() && c.Next < next {
			next = c.Next
		}
	}
	if next == math.MaxInt64 {
		return time.Time{}, false
	}
	return time.UnixMilli(next), true
}
