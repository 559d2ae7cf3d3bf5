package bake

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/hook"
)

// Status is the outcome of one check on one call.
type Status string

// Check statuses, from best to worst.
const (
	// StatusOK: within limits.
	StatusOK Status = "ok"
	// StatusSkipped: cannot apply and never will in this bake (for example
	// a relative limit when blue had no traffic); reported, not blocking.
	StatusSkipped Status = "skipped"
	// StatusPending: not enough evidence yet.
	StatusPending Status = "pending"
	// StatusError: the source failed transiently; asked again next call.
	StatusError Status = "error"
	// StatusInvalid: the check cannot be made: bad configuration, a source
	// that cannot answer it, or a request the source refused.
	StatusInvalid Status = "invalid"
	// StatusBreach: a limit is exceeded or an alarm fires.
	StatusBreach Status = "breach"
)

var severity = []Status{StatusOK, StatusSkipped, StatusPending, StatusError, StatusInvalid, StatusBreach}

func worse(a, b Status) Status {
	if slices.Index(severity, b) > slices.Index(severity, a) {
		return b
	}
	return a
}

// Result is the outcome of one check.
type Result struct {
	// Check names what was checked: "traffic", "alarms", "alarm NAME", or
	// a metric check's name.
	Check string `json:"check"`
	// Status is the outcome.
	Status Status `json:"status"`
	// Value is the measured value, when there is one: requests for
	// traffic, a fraction for a 5xx rate, milliseconds for a latency.
	Value *float64 `json:"value,omitempty"`
	// Detail explains the outcome in words.
	Detail string `json:"detail,omitempty"`

	// lowTraffic marks a check pending only for want of green traffic, which
	// the traffic result already says.
	lowTraffic bool
	// noData marks a check pending because a value is missing although
	// there was traffic: after the extension it fails the bake, whatever
	// OnNoTraffic says.
	noData bool
}

// Observation is what the sources said on one call. An error field set
// means that source could not be read; an error wrapping ErrUnsupported
// means it never can be.
type Observation struct {
	// Alarms are the alarms read, when alarms are configured.
	Alarms    []Alarm
	AlarmsErr error
	// Green is green's traffic since the window's start.
	Green    Stats
	GreenErr error
	// Baseline is blue's traffic over the window's length before its start;
	// nil when not read.
	Baseline    *Stats
	BaselineErr error
	// Expressions holds, by index in Config.Metrics, each expression's
	// value.
	Expressions map[int]ExpressionValue
	// MarkerErr is a transient error reading or writing the run's start
	// marker in the state bucket, judged as a failing check; nil otherwise.
	MarkerErr error
	// SmokeErr is an error reading the smoke reports a step's window must
	// start after, judged as a failing check; nil otherwise.
	SmokeErr error
}

// ExpressionValue is the values of one expression (one per series), or why
// there are none.
type ExpressionValue struct {
	Values []float64
	Err    error
}

// Verdict is the decision of one call.
type Verdict struct {
	// Status is the hook's answer.
	Status hook.Status
	// Reason explains it.
	Reason string
	// Results are the checks' outcomes.
	Results []Result
	// Extend says to extend the window (once) for lack of evidence.
	Extend bool
	// ErrorSince is the new State.FirstErrorAt: when the current run of
	// transient errors began, or nil.
	ErrorSince *time.Time
}

// Judge decides one call from the configuration, the run state (with its
// Start set), the time and what the sources said. It does no I/O.
//
// In order: any breach fails at once; a check that cannot be made fails
// (fail closed); transient errors answer IN_PROGRESS until they have lasted
// MaxErrorDuration, then fail; before the window's end the answer is
// IN_PROGRESS; at its end, a bake with every check decided passes, and one
// still waiting for evidence is extended once, then fails if a check still
// has no data although green served requests, else is decided by
// OnNoTraffic.
func Judge(cfg Config, st State, now time.Time, obs Observation) Verdict {
	v := Verdict{Results: evaluate(cfg, st, now, obs)}
	elapsed := max(now.Sub(st.Start), 0)
	by := func(s Status) []Result {
		var out []Result
		for _, r := range v.Results {
			if r.Status == s {
				out = append(out, r)
			}
		}
		return out
	}
	if b := by(StatusBreach); len(b) > 0 {
		v.Status = hook.StatusFailed
		v.Reason = fmt.Sprintf("bake failed after %s: %s", hook.FormatDuration(elapsed), describe(b))
		return v
	}
	if b := by(StatusInvalid); len(b) > 0 {
		v.Status = hook.StatusFailed
		v.Reason = "cannot check: " + describe(b)
		return v
	}
	if errs := by(StatusError); len(errs) > 0 {
		since := now
		if st.FirstErrorAt != nil && !st.FirstErrorAt.After(now) {
			since = *st.FirstErrorAt
		}
		v.ErrorSince = &since
		if lasted := now.Sub(since); lasted >= cfg.MaxErrorDuration {
			v.Status = hook.StatusFailed
			v.Reason = fmt.Sprintf("checks failing for %s (since %s), failing closed: %s",
				hook.FormatDuration(lasted), since.UTC().Format(time.RFC3339), describe(errs))
			return v
		}
		v.Status = hook.StatusInProgress
		v.Reason = fmt.Sprintf("transient error, will retry (failing closed after %s): %s", hook.FormatDuration(cfg.MaxErrorDuration), describe(errs))
		return v
	}
	end := st.end(cfg.Window)
	pending := by(StatusPending)
	if slices.ContainsFunc(pending, func(r Result) bool { return r.Check == "traffic" }) {
		pending = slices.DeleteFunc(pending, func(r Result) bool { return r.lowTraffic })
	}
	progress := fmt.Sprintf("%s of %s", hook.FormatDuration(elapsed), hook.FormatDuration(end.Sub(st.Start)))
	if now.Before(end) {
		v.Status = hook.StatusInProgress
		if len(pending) > 0 {
			v.Reason = fmt.Sprintf("baking %s, no breach; waiting for %s", progress, describe(pending))
		} else {
			v.Reason = fmt.Sprintf("baking %s, every check within limits%s", progress, traffic(obs, cfg))
		}
		return v
	}
	noData := slices.DeleteFunc(slices.Clone(pending), func(r Result) bool { return !r.noData })
	if len(pending) > 0 {
		switch {
		case !st.extended():
			v.Status = hook.StatusInProgress
			v.Extend = true
			v.Reason = fmt.Sprintf("window of %s ended without enough evidence (%s); extended once by %s (until %s)",
				hook.FormatDuration(cfg.Window), describe(pending), hook.FormatDuration(cfg.Window), extendedEnd(st, now, cfg.Window).Format(time.RFC3339))
		case len(noData) > 0:
			v.Status = hook.StatusFailed
			v.Reason = fmt.Sprintf("no data after %s (extended once) although green served requests, failing closed: %s", progress, describe(noData))
		case cfg.OnNoTraffic == Pass:
			v.Status = hook.StatusSucceeded
			v.Reason = fmt.Sprintf("bake passed without enough evidence after %s, as configured (onNoTraffic: pass): %s", progress, describe(pending))
		default:
			v.Status = hook.StatusFailed
			v.Reason = fmt.Sprintf("no evidence after %s (extended once): %s (onNoTraffic: fail)", progress, describe(pending))
		}
		return v
	}
	v.Status = hook.StatusSucceeded
	v.Reason = fmt.Sprintf("bake passed: %s, every check within limits%s", hook.FormatDuration(elapsed), traffic(obs, cfg))
	if s := by(StatusSkipped); len(s) > 0 {
		v.Reason += "; skipped: " + describe(s)
	}
	return v
}

func traffic(obs Observation, cfg Config) string {
	if !cfg.needsTargets() {
		return ""
	}
	return fmt.Sprintf(", green served %s requests", num(obs.Green.Requests))
}

// describe joins results as "check: detail; ...", naming checks that share
// a detail (one failing source behind several checks) together.
func describe(rs []Result) string {
	var details []string
	checks := map[string][]string{}
	for _, r := range rs {
		if _, ok := checks[r.Detail]; !ok {
			details = append(details, r.Detail)
		}
		checks[r.Detail] = append(checks[r.Detail], r.Check)
	}
	parts := make([]string, 0, len(details))
	for _, d := range details {
		parts = append(parts, strings.Join(checks[d], ", ")+": "+d)
	}
	return strings.Join(parts, "; ")
}

// evaluate turns an observation into one result per check.
func evaluate(cfg Config, st State, now time.Time, obs Observation) []Result {
	final := !now.Before(st.end(cfg.Window))
	// After the extension, with onNoTraffic: pass, what evidence there is
	// is judged: a breach on few requests still fails.
	lenient := final && st.extended() && cfg.OnNoTraffic == Pass
	var rs []Result
	if obs.MarkerErr != nil {
		rs = append(rs, failed("start marker", obs.MarkerErr))
	}
	if obs.SmokeErr != nil {
		rs = append(rs, failed("smoke runs", obs.SmokeErr))
	}
	if len(cfg.Alarms.Names) > 0 || len(cfg.Alarms.Prefixes) > 0 {
		rs = append(rs, alarmResults(cfg.Alarms, obs.Alarms, obs.AlarmsErr)...)
	}
	if cfg.needsTargets() {
		rs = append(rs, trafficResult(cfg, obs))
	}
	for i, m := range cfg.Metrics {
		if m.Kind != "" {
			rs = append(rs, targetResult(cfg, m, obs, lenient))
		} else {
			rs = append(rs, expressionResult(m, obs.Expressions[i], lenient))
		}
	}
	return rs
}

// failed returns the result for a check whose source failed.
func failed(check string, err error) Result {
	s := StatusInvalid
	if hook.IsTransient(err) && !errors.Is(err, ErrUnsupported) {
		s = StatusError
	}
	return Result{Check: check, Status: s, Detail: hook.OneLine(err.Error())}
}

func alarmResults(cfg AlarmConfig, alarms []Alarm, err error) []Result {
	if err != nil {
		return []Result{failed("alarms", err)}
	}
	var rs []Result
	byName := map[string]Alarm{}
	for _, a := range alarms {
		byName[a.Name] = a
	}
	for _, n := range cfg.Names {
		if _, ok := byName[n]; !ok {
			rs = append(rs, Result{Check: "alarms.names", Status: StatusInvalid, Detail: fmt.Sprintf("alarm %q does not exist", n)})
		}
	}
	for _, p := range cfg.Prefixes {
		if !slices.ContainsFunc(alarms, func(a Alarm) bool { return strings.HasPrefix(a.Name, p) }) {
			rs = append(rs, Result{Check: "alarms.prefixes", Status: StatusInvalid, Detail: fmt.Sprintf("prefix %q matches no alarm", p)})
		}
	}
	ok, insufficient := 0, 0
	for _, a := range alarms {
		switch a.State {
		case StateOK:
			ok++
		case StateAlarm:
			rs = append(rs, Result{Check: "alarm " + a.Name, Status: StatusBreach, Detail: "in ALARM" + because(a.Reason)})
		case StateInsufficientData:
			if cfg.InsufficientData == Fail {
				rs = append(rs, Result{Check: "alarm " + a.Name, Status: StatusBreach, Detail: "in INSUFFICIENT_DATA (alarms.insufficientData: fail)" + because(a.Reason)})
			} else {
				insufficient++
			}
		case "":
			rs = append(rs, Result{Check: "alarm " + a.Name, Status: StatusInvalid, Detail: "no state given"})
		default:
			rs = append(rs, Result{Check: "alarm " + a.Name, Status: StatusInvalid, Detail: fmt.Sprintf("unknown state %q", a.State)})
		}
	}
	detail := fmt.Sprintf("%d of %d alarms OK", ok, len(alarms))
	if insufficient > 0 {
		detail += fmt.Sprintf(", %d in INSUFFICIENT_DATA (ignored)", insufficient)
	}
	return append(rs, Result{Check: "alarms", Status: StatusOK, Detail: detail})
}

func because(reason string) string {
	if reason == "" {
		return ""
	}
	const maxLen = 120
	if len(reason) > maxLen {
		reason = reason[:maxLen-3] + "..."
	}
	return " (" + hook.OneLine(reason) + ")"
}

func trafficResult(cfg Config, obs Observation) Result {
	if obs.GreenErr != nil {
		return failed("traffic", obs.GreenErr)
	}
	n := obs.Green.Requests
	r := Result{Check: "traffic", Value: ptr(n)}
	if n >= float64(cfg.MinRequests) {
		r.Status = StatusOK
		r.Detail = fmt.Sprintf("%s requests on green, at least %d", num(n), cfg.MinRequests)
	} else {
		r.Status = StatusPending
		r.Detail = fmt.Sprintf("%s requests on green, want at least %d", num(n), cfg.MinRequests)
	}
	return r
}

// availability says whether a side has a value for a kind.
type availability int

const (
	// available: the value is known.
	available availability = iota
	// noTraffic: no requests, so nothing to measure.
	noTraffic
	// missing: there were requests, but the source could not tell the
	// value. Never taken as 0.
	missing
)

// sideValue returns the value of kind k for one side's stats, and whether
// there is one. The 5xx rate counts target 5xx answers and target
// connection errors (answered 502 or 504 by the load balancer).
func sideValue(k Kind, s Stats) (float64, availability) {
	switch k {
	case Kind5xxRate:
		if s.Requests <= 0 {
			return 0, noTraffic
		}
		if r, ok := s.Rate5xx(); ok {
			return r, available
		}
		return 0, missing
	case KindLatencyP50, KindLatencyP90, KindLatencyP99:
		if s.Latency == nil {
			if s.Requests > 0 {
				return 0, missing
			}
			return 0, noTraffic
		}
		switch k {
		case KindLatencyP50:
			return s.Latency.P50, available
		case KindLatencyP90:
			return s.Latency.P90, available
		}
		return s.Latency.P99, available
	}
	return 0, missing
}

// what names what a source could not tell for kind k.
func what(k Kind) string {
	if k.latency() {
		return "response-time percentiles"
	}
	return "5xx count"
}

func format(k Kind, v float64) string {
	if k.latency() {
		return strconv.FormatFloat(math.Round(v), 'f', -1, 64) + "ms"
	}
	return strconv.FormatFloat(v, 'g', 4, 64)
}

func targetResult(cfg Config, m MetricCheck, obs Observation, lenient bool) Result {
	r := Result{Check: m.Name}
	if obs.GreenErr != nil {
		return failed(m.Name, obs.GreenErr)
	}
	need := float64(max(cfg.MinRequests, 1))
	n := obs.Green.Requests
	if n < need && !lenient {
		if n == 0 && cfg.MinRequests == 0 {
			r.Status, r.Detail = StatusSkipped, "no requests on green"
			return r
		}
		r.Status, r.Detail, r.lowTraffic = StatusPending, fmt.Sprintf("waiting for %s green requests, have %s", num(need), num(n)), true
		return r
	}
	v, av := sideValue(m.Kind, obs.Green)
	switch {
	case av == missing && n >= need:
		// Green served requests but the value is unknown: no data, never
		// a pass.
		r.Status, r.Detail, r.noData = StatusPending, fmt.Sprintf("no data for green: %s missing although it served %s requests", what(m.Kind), num(n)), true
		return r
	case av != available:
		// Fewer requests than minRequests, judged only after the extension
		// with onNoTraffic: pass.
		r.Status, r.Detail = StatusSkipped, "no data for green"
		return r
	}
	r.Value = ptr(v)
	limit := m.Max
	if m.Kind.latency() {
		limit = m.MaxMs
	}
	var breaches []string
	if limit != nil && v > *limit {
		breaches = append(breaches, fmt.Sprintf("%s > max %s", format(m.Kind, v), format(m.Kind, *limit)))
	}
	relStatus, relNoData, relBreach, notes := relativeToBlue(m, obs, v, need)
	if relBreach != "" {
		breaches = append(breaches, relBreach)
	}
	switch {
	case len(breaches) > 0:
		r.Status, r.Detail = StatusBreach, strings.Join(breaches, ", ")
	case relStatus == StatusSkipped && limit == nil:
		r.Status, r.Detail = StatusSkipped, format(m.Kind, v)+"; "+strings.Join(notes, ", ")
	case relStatus == StatusSkipped:
		r.Status, r.Detail = StatusOK, format(m.Kind, v)+" within max "+format(m.Kind, *limit)+"; "+strings.Join(notes, ", ")
	case relStatus != StatusOK:
		r.Status, r.Detail, r.noData = relStatus, strings.Join(notes, ", "), relNoData
	default:
		r.Status, r.Detail = StatusOK, format(m.Kind, v)+" within limits"
		if len(notes) > 0 {
			r.Detail += " (" + strings.Join(notes, ", ") + ")"
		}
	}
	if n < need && r.Status != StatusBreach {
		r.Detail += fmt.Sprintf(" (on only %s requests)", num(n))
	}
	return r
}

// relativeToBlue judges green's value v against maxRelativeToBlue, when
// set: the status of that half of the check, whether it waits for want of
// data, its breach if any, and notes for the detail.
func relativeToBlue(m MetricCheck, obs Observation, v, need float64) (status Status, noData bool, breach string, notes []string) {
	if m.MaxRelativeToBlue == nil {
		return StatusOK, false, "", nil
	}
	switch {
	case obs.BaselineErr != nil:
		f := failed(m.Name, fmt.Errorf("blue baseline: %w", obs.BaselineErr))
		return f.Status, false, "", []string{f.Detail}
	case obs.Baseline == nil:
		return StatusPending, false, "", []string{"blue baseline not read yet"}
	case obs.Baseline.Requests < need:
		return StatusSkipped, false, "", []string{fmt.Sprintf("relative limit skipped: blue served %s requests before the shift, too few for a baseline (want %s)",
			num(obs.Baseline.Requests), num(need))}
	}
	b, av := sideValue(m.Kind, *obs.Baseline)
	if av != available {
		// Blue served enough requests: the value is missing.
		return StatusPending, true, "", []string{fmt.Sprintf("no blue baseline: %s missing although blue served %s requests", what(m.Kind), num(obs.Baseline.Requests))}
	}
	if rel := *m.MaxRelativeToBlue * b; v > rel {
		return StatusOK, false, fmt.Sprintf("%s > %g × blue %s = %s", format(m.Kind, v), *m.MaxRelativeToBlue, format(m.Kind, b), format(m.Kind, rel)), nil
	}
	return StatusOK, false, "", []string{fmt.Sprintf("blue %s", format(m.Kind, b))}
}

func expressionResult(m MetricCheck, ev ExpressionValue, lenient bool) Result {
	r := Result{Check: m.Name}
	switch {
	case errors.Is(ev.Err, ErrNoData) && lenient:
		r.Status, r.Detail = StatusSkipped, "no data"
		return r
	case errors.Is(ev.Err, ErrNoData):
		r.Status, r.Detail = StatusPending, "no data yet for "+m.Expression
		return r
	case ev.Err != nil:
		return failed(m.Name, ev.Err)
	}
	// NaN is 0/0 in metric math: no evidence either way.
	values := slices.DeleteFunc(slices.Clone(ev.Values), math.IsNaN)
	if len(values) == 0 {
		return expressionResult(m, ExpressionValue{Err: fmt.Errorf("%s is not a number: %w", m.Expression, ErrNoData)}, lenient)
	}
	// Every value must be within limits: max against the largest, min
	// against the smallest.
	lo, hi := slices.Min(values), slices.Max(values)
	f := func(x float64) string { return strconv.FormatFloat(x, 'g', 4, 64) }
	var v float64
	switch {
	case m.Max != nil && hi > *m.Max:
		v = hi
		r.Status, r.Detail = StatusBreach, fmt.Sprintf("%s > max %s", f(hi), f(*m.Max))
	case m.Min != nil && lo < *m.Min:
		v = lo
		r.Status, r.Detail = StatusBreach, fmt.Sprintf("%s < min %s", f(lo), f(*m.Min))
	default:
		v = hi
		if m.Max == nil {
			v = lo
		}
		r.Status, r.Detail = StatusOK, f(v)+" within limits"
	}
	if len(values) > 1 {
		r.Detail += fmt.Sprintf(" (%d values, from %s to %s)", len(values), f(lo), f(hi))
	}
	if !math.IsInf(v, 0) {
		r.Value = ptr(v) // JSON has no infinities
	}
	return r
}

func ptr(v float64) *float64 { return &v }

func num(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
