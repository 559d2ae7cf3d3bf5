package hook

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"time"
)

// UncertainKey is the hookDetails key under which a hook that cannot tell
// yet (see Uncertain) carries when it started to be unable to, as an RFC
// 3339 time; "" clears it, under every reading of what ECS does with
// returned hookDetails.
const UncertainKey = "gatehouseUncertain"

// DefaultMaxUncertain is how long Wrap answers IN_PROGRESS for a hook that
// cannot tell (Uncertain) before it answers FAILED, when Options says
// nothing.
const DefaultMaxUncertain = 15 * time.Minute

type uncertainError struct{ err error }

func (e uncertainError) Error() string   { return e.err.Error() }
func (e uncertainError) Unwrap() error   { return e.err }
func (e uncertainError) Transient() bool { return true }

// Uncertain marks err as "cannot tell yet": what the hook must know to
// decide (whether a smoke hook runs, whether the deployment rolls back) is
// not to be had. Wrap answers IN_PROGRESS for it, and FAILED naming err
// once the hook has been unable to tell for Options.MaxUncertain in a row:
// a wait on something that never comes is no wait but a hold, and ECS's
// hook timeout (which may CONTINUE) must not be what ends it.
func Uncertain(err error) error {
	if err == nil {
		return nil
	}
	return uncertainError{err}
}

// IsUncertain reports whether err is marked with Uncertain.
func IsUncertain(err error) bool {
	var u uncertainError
	return errors.As(err, &u)
}

// takeUncertain removes UncertainKey from details and returns its time,
// zero when absent, empty or unreadable (then the bound starts afresh).
func takeUncertain(details json.RawMessage) (since time.Time, rest json.RawMessage, err error) {
	m, err := object(details)
	if err != nil || m == nil {
		return since, details, err
	}
	raw, ok := m[UncertainKey]
	if !ok {
		return since, details, nil
	}
	var text string
	if json.Unmarshal(raw, &text) == nil {
		since, _ = time.Parse(time.RFC3339, text)
	}
	m = maps.Clone(m)
	delete(m, UncertainKey)
	rest, err = json.Marshal(m)
	return since, rest, err
}

// withUncertain returns the hookDetails of an answer with UncertainKey set
// to since, or cleared ("") when since is zero and clear is set.
func withUncertain(details json.RawMessage, since time.Time, clear bool) (json.RawMessage, error) {
	if since.IsZero() && !clear {
		return details, nil
	}
	m, err := object(details)
	if err != nil {
		return nil, err
	}
	if m == nil {
		m = map[string]json.RawMessage{}
	}
	m = maps.Clone(m)
	text := ""
	if !since.IsZero() {
		text = since.UTC().Format(time.RFC3339)
	}
	m[UncertainKey], _ = json.Marshal(text)
	if _, ok := m[ConfigKey]; !ok {
		// What a hook returns always carries its configuration, even an
		// empty one: the next call must not read as a first call, whose
		// hookDetails are the service's own.
		m[ConfigKey], _ = json.Marshal("{}")
	}
	return json.Marshal(m)
}

// uncertainAnswer answers a call that cannot tell: IN_PROGRESS carrying
// since (now, on the first such call), or FAILED once that is max ago.
func uncertainAnswer(err error, since, now time.Time, max time.Duration, delay int, details json.RawMessage) Response {
	if since.IsZero() || since.After(now) {
		since = now
	}
	if waited := now.Sub(since); waited >= max {
		return Response{HookStatus: StatusFailed, Reason: Clip(fmt.Sprintf("could not tell for %s (at most %s): %s", FormatDuration(waited.Round(time.Second)), FormatDuration(max), OneLine(err.Error())), maxReason)}
	}
	out, werr := withUncertain(details, since, false)
	if werr != nil {
		return Response{HookStatus: StatusFailed, Reason: Clip("internal error: "+werr.Error(), maxReason)}
	}
	return Response{HookStatus: StatusInProgress, CallBackDelay: delay, HookDetails: out, Reason: Clip("cannot tell yet: "+OneLine(err.Error()), maxReason)}
}
