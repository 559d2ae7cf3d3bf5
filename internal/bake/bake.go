// Package bake is the bake check's domain: after production traffic has
// shifted to green, it holds the deployment for a window, checks alarms and
// metrics on every call, answers FAILED the moment a check breaches and
// SUCCEEDED when the window ends clean with enough evidence. It compares
// green with blue's traffic before the shift, and refuses to pass on no
// evidence: too few requests extend the window once, then OnNoTraffic
// decides.
//
// The run state (the window's start, the one extension, the start of a run
// of transient errors, the located target groups, blue's baseline and a
// short history) travels in the hookDetails of each IN_PROGRESS answer,
// under StateKey, so no store is needed while baking. The final verdict
// with its numbers is written once, as a Report, to the state bucket.
//
// The package reads the world through small interfaces it declares:
// Alarms, TargetStats, Expressions and Locator. In AWS, cwmetrics (CloudWatch)
// and targetgroups (ECS and Elastic Load Balancing) implement them; the local
// mode supplies its own TargetStats. A check whose source is missing, or
// answers ErrUnsupported, fails the bake with a reason naming the check.
package bake

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/cwmetrics"
	"github.com/gatehouse-dev/gatehouse/internal/hook"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/internal/targetgroups"
)

// Value types shared with the sources.
type (
	// Alarm is one alarm's state.
	Alarm = cwmetrics.Alarm
	// Target names one side of the deployment for TargetStats.
	Target = cwmetrics.Target
	// Stats are one side's traffic over an interval.
	Stats = cwmetrics.Stats
	// Percentiles are response times in milliseconds.
	Percentiles = cwmetrics.Percentiles
	// Metric is a metric an expression refers to.
	Metric = cwmetrics.Metric
	// Traffic says which target group is green and which blue.
	Traffic = targetgroups.Traffic
)

// Alarm states.
const (
	StateOK               = cwmetrics.StateOK
	StateAlarm            = cwmetrics.StateAlarm
	StateInsufficientData = cwmetrics.StateInsufficientData
)

// The sides, as Target.Name.
const (
	Green = "green"
	Blue  = "blue"
)

var (
	// ErrUnsupported is returned by a source for a question it cannot
	// answer. The check fails the bake, named in the reason.
	ErrUnsupported = cwmetrics.ErrUnsupported
	// ErrNoData is returned by Expressions when there is no value yet.
	ErrNoData = cwmetrics.ErrNoData
)

// Alarms reads alarm states. *cwmetrics.Client satisfies it.
type Alarms interface {
	// Alarms returns every alarm named in names or whose name starts with one
	// of prefixes, once each. A name that matches no alarm is absent from
	// the result, not an error.
	Alarms(ctx context.Context, names, prefixes []string) ([]Alarm, error)
}

// TargetStats reads one side's traffic. *cwmetrics.Client satisfies it
// for target groups of Application Load Balancers.
type TargetStats interface {
	// TargetStats returns the requests, 5xx answers and response-time
	// percentiles of side t over [start, end). t.Name is Green or Blue;
	// t.LoadBalancer and t.TargetGroup are set when a Locator is configured.
	// Blue is asked for the interval before the shift, when it served
	// production. It returns an error wrapping ErrUnsupported for a side it
	// cannot measure.
	TargetStats(ctx context.Context, t Target, start, end time.Time) (Stats, error)
}

// Expressions evaluates metric math. *cwmetrics.Client satisfies it.
type Expressions interface {
	// Expression returns the value of expr, with metrics by id, aggregated
	// over [start, end). It returns an error wrapping ErrNoData when there
	// is none.
	Expression(ctx context.Context, expr string, metrics map[string]Metric, start, end time.Time) (float64, error)
}

// Locator finds the deployment's target groups. *targetgroups.Finder
// satisfies it.
type Locator interface {
	// Locate returns where production traffic of the deployment whose
	// target (green) revision is serviceRevisionARN goes.
	Locate(ctx context.Context, serviceRevisionARN string) (Traffic, error)
}

// Reports keeps final verdicts. *store.S3 satisfies it.
type Reports interface {
	// Create writes a new document at key; it returns an error wrapping
	// store.ErrPrecondition if one exists.
	Create(ctx context.Context, key string, body []byte) (etag string, err error)
}

// Checker runs bakes. Only Now is required: a nil source makes every check
// that needs it fail the bake, naming the check.
type Checker struct {
	// Alarms reads CloudWatch alarms.
	Alarms Alarms
	// Targets reads green's traffic and blue's baseline.
	Targets TargetStats
	// Expressions evaluates metric-math checks.
	Expressions Expressions
	// Locator finds the target groups; nil when Targets tells the sides
	// apart by Target.Name alone (local mode).
	Locator Locator
	// Reports stores final verdicts; nil logs them instead.
	Reports Reports
	// Now is the clock.
	Now func() time.Time
	// Log receives a line per stored or unstored verdict; nil means
	// slog.Default().
	Log *slog.Logger
}

// HookHandler returns the bake hook: it resolves the configuration from
// defaults and the hook's hookDetails, runs one check, and answers. It
// maps every outcome to a hook status itself, transient errors included,
// so that their first occurrence is recorded in the state it returns; it
// never returns an error.
func HookHandler(c *Checker, defaults Config) hook.Handler {
	return func(ctx context.Context, req hook.Request) (hook.Response, error) {
		return c.Check(ctx, req, defaults), nil
	}
}

// Limits of the run.
const (
	// baselineSettle is how long after the window's start blue's baseline
	// is read again before it is kept: load balancer metrics reach
	// CloudWatch a few minutes late, so an early read may miss blue's last
	// minutes.
	baselineSettle = 3 * time.Minute
	// retryDelay bounds the callback delay after a transient error.
	retryDelay = 30
	// maxClockSkew is how far in the future a state's start may lie before
	// the state is refused as corrupt.
	maxClockSkew = 5 * time.Minute
)

// Check runs one call of the bake for req with the configuration defaults
// overridden by req's hookDetails.
func (c *Checker) Check(ctx context.Context, req hook.Request, defaults Config) hook.Response {
	now := c.Now().UTC()
	d, err := hook.ParseDeploymentARN(req.ResourceARN)
	if err != nil {
		return hook.Response{HookStatus: hook.StatusFailed, Reason: "resourceArn: " + err.Error()}
	}
	rep := Report{
		SchemaVersion:     ReportVersion,
		DeploymentARN:     req.ResourceARN,
		ServiceARN:        req.ExecutionDetails.ServiceARN,
		TargetRevisionARN: req.ExecutionDetails.TargetServiceRevisionARN,
		Stage:             req.LifecycleStage,
		DecidedAt:         now,
	}
	final := func(reason string) hook.Response {
		rep.HookStatus, rep.Reason = hook.StatusFailed, reason
		c.store(ctx, d, rep)
		return hook.Response{HookStatus: hook.StatusFailed, Reason: reason}
	}
	if req.LifecycleStage != hook.StagePostProductionTrafficShift {
		return final(fmt.Sprintf("the bake hook checks production traffic on green: register it at %s, not %s",
			hook.StagePostProductionTrafficShift, req.LifecycleStage))
	}
	cfg, err := Apply(defaults, req.HookDetails)
	if err != nil {
		return final("invalid bake configuration: " + oneLine(err.Error()))
	}
	rep.Config = &cfg
	st, ok, err := decodeState(req.HookDetails)
	if err != nil {
		return final(oneLine(err.Error()))
	}
	if !ok {
		st = State{Version: StateVersion, Start: now}
	}
	if st.Start.After(now.Add(maxClockSkew)) {
		return final(fmt.Sprintf("hookDetails.%s: %v: starts %s, in the future", StateKey, errCorruptState, st.Start.Format(time.RFC3339)))
	}

	obs := c.observe(ctx, cfg, &st, req, now)
	v := Judge(cfg, st, now, obs)
	st.FirstErrorAt = v.ErrorSince
	if v.Extend {
		st.Extended = true
	}
	st.record(sampleOf(cfg, now, v, obs))

	if v.Status == hook.StatusInProgress {
		details, err := st.details()
		if err != nil {
			return final(fmt.Sprintf("internal error: encode run state: %v", err))
		}
		return hook.Response{HookStatus: hook.StatusInProgress, CallBackDelay: callbackDelay(cfg, st, now, v), HookDetails: details, Reason: v.Reason}
	}

	start, end := st.Start, st.end(cfg.Window)
	rep.HookStatus, rep.Reason = v.Status, v.Reason
	rep.WindowStart, rep.WindowEnd, rep.Extended = &start, &end, st.Extended
	rep.Traffic, rep.BlueBaseline, rep.Checks, rep.History = st.Traffic, obs.Baseline, v.Results, st.History
	if obs.GreenErr == nil && cfg.needsTargets() {
		rep.Green = &obs.Green
	}
	for _, a := range obs.Alarms {
		rep.Alarms = append(rep.Alarms, a.Name)
	}
	c.store(ctx, d, rep)
	return hook.Response{HookStatus: v.Status, Reason: v.Reason}
}

// observe asks the sources what a call needs, recording in st what is
// worth keeping: the located target groups and a settled baseline.
func (c *Checker) observe(ctx context.Context, cfg Config, st *State, req hook.Request, now time.Time) Observation {
	var obs Observation
	if len(cfg.Alarms.Names) > 0 || len(cfg.Alarms.Prefixes) > 0 {
		if c.Alarms == nil {
			obs.AlarmsErr = fmt.Errorf("no source of CloudWatch alarms here: %w", ErrUnsupported)
		} else {
			obs.Alarms, obs.AlarmsErr = c.Alarms.Alarms(ctx, cfg.Alarms.Names, cfg.Alarms.Prefixes)
		}
	}
	if cfg.needsTargets() {
		green, blue, err := c.sides(ctx, st, req)
		if err == nil {
			obs.Green, err = c.Targets.TargetStats(ctx, green, st.Start, now)
			obs.Green = finite(obs.Green)
		}
		obs.GreenErr = err
		obs.Baseline = st.Baseline
		if err == nil && cfg.needsBaseline() && st.Baseline == nil && obs.Green.Requests > 0 {
			b, err := c.Targets.TargetStats(ctx, blue, st.Start.Add(-cfg.Window), st.Start)
			if err != nil {
				obs.BaselineErr = err
			} else {
				b = finite(b)
				obs.Baseline = &b
				if now.Sub(st.Start) >= baselineSettle {
					st.Baseline = &b
				}
			}
		}
	}
	for i, m := range cfg.Metrics {
		if m.Expression == "" {
			continue
		}
		if obs.Expressions == nil {
			obs.Expressions = map[int]ExpressionValue{}
		}
		if c.Expressions == nil {
			obs.Expressions[i] = ExpressionValue{Err: fmt.Errorf("no source of metric math here: %w", ErrUnsupported)}
			continue
		}
		v, err := c.Expressions.Expression(ctx, m.Expression, m.Metrics, st.Start, now)
		obs.Expressions[i] = ExpressionValue{Value: v, Err: err}
	}
	return obs
}

// sides returns green and blue as the TargetStats source knows them,
// locating the target groups on the first call that can.
func (c *Checker) sides(ctx context.Context, st *State, req hook.Request) (green, blue Target, err error) {
	if c.Targets == nil {
		return green, blue, fmt.Errorf("no source of target-group statistics here (needed by minRequests and target-group kinds): %w", ErrUnsupported)
	}
	if c.Locator == nil {
		return Target{Name: Green}, Target{Name: Blue}, nil
	}
	if st.Traffic == nil {
		t, err := c.Locator.Locate(ctx, req.ExecutionDetails.TargetServiceRevisionARN)
		if err != nil {
			return green, blue, fmt.Errorf("locate target groups: %w", err)
		}
		st.Traffic = &t
	}
	t := st.Traffic
	return Target{Name: Green, LoadBalancer: t.LoadBalancer, TargetGroup: targetgroups.TargetGroupDimension(t.Green)},
		Target{Name: Blue, LoadBalancer: t.LoadBalancer, TargetGroup: targetgroups.TargetGroupDimension(t.Blue)}, nil
}

// callbackDelay is the configured delay, shorter after a transient error,
// and never much past the window's end, so the verdict comes on time.
func callbackDelay(cfg Config, st State, now time.Time, v Verdict) int {
	d := cfg.CallbackDelay
	if v.ErrorSince != nil {
		d = min(d, retryDelay)
	}
	if rem := st.end(cfg.Window).Sub(now); rem > 0 {
		d = min(d, int(math.Ceil(rem.Seconds())))
	}
	return hook.ClampDelay(d)
}

// sampleOf sums up a call for the history.
func sampleOf(cfg Config, now time.Time, v Verdict, obs Observation) Sample {
	s := Sample{At: now, Status: StatusOK, Values: make([]*float64, len(cfg.Metrics))}
	for _, r := range v.Results {
		s.Status = worse(s.Status, r.Status)
	}
	if obs.GreenErr == nil && cfg.needsTargets() {
		s.Requests = ptr(obs.Green.Requests)
	}
	// evaluate puts the metric checks last, in order.
	if off := len(v.Results) - len(cfg.Metrics); off >= 0 {
		for i := range cfg.Metrics {
			s.Values[i] = v.Results[off+i].Value
		}
	}
	return s
}

// finite replaces what JSON cannot carry (NaN, infinities) from a source's
// stats: a count becomes 0, percentiles are dropped.
func finite(s Stats) Stats {
	ok := func(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }
	if !ok(s.Requests) {
		s.Requests = 0
	}
	if !ok(s.Errors5xx) {
		s.Errors5xx = 0
	}
	if l := s.Latency; l != nil && (!ok(l.P50) || !ok(l.P90) || !ok(l.P99)) {
		s.Latency = nil
	}
	return s
}

// store writes the final verdict, once: a verdict already stored for the
// deployment and stage (a duplicate call) is kept. A verdict that cannot
// be stored is logged whole; it does not change the answer, which ECS
// needs now.
func (c *Checker) store(ctx context.Context, d hook.DeploymentARN, rep Report) {
	log := c.Log
	if log == nil {
		log = slog.Default()
	}
	key := Key(d, rep.Stage)
	body, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		log.ErrorContext(ctx, "bake verdict not stored", "deployment_arn", rep.DeploymentARN, "stage", string(rep.Stage), "decision", string(rep.HookStatus), "err", err)
		return
	}
	if c.Reports == nil {
		log.InfoContext(ctx, "bake verdict not stored: no state bucket configured", "deployment_arn", rep.DeploymentARN,
			"stage", string(rep.Stage), "decision", string(rep.HookStatus), "report", json.RawMessage(body))
		return
	}
	_, err = c.Reports.Create(ctx, key, body)
	switch {
	case err == nil:
		log.InfoContext(ctx, "bake verdict stored", "deployment_arn", rep.DeploymentARN, "stage", string(rep.Stage), "decision", string(rep.HookStatus), "key", key)
	case errors.Is(err, store.ErrPrecondition):
		log.InfoContext(ctx, "bake verdict already stored, kept", "deployment_arn", rep.DeploymentARN, "stage", string(rep.Stage), "key", key)
	default:
		log.ErrorContext(ctx, "bake verdict not stored", "deployment_arn", rep.DeploymentARN, "stage", string(rep.Stage),
			"decision", string(rep.HookStatus), "key", key, "err", err, "report", json.RawMessage(body))
	}
}
