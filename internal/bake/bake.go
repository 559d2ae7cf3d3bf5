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
// under StateKey, so no store is needed while baking. It is bound to the
// deployment, stage, target revision and configuration it was started for
// and ages out: any other state is left and the window starts afresh. With
// a state bucket, the run's start is also recorded there once, at
// StartKey, so that a call without a usable run state continues the window
// rather than starting it afresh (see marker.go). The final verdict with
// its numbers is written once, as a Report, to the state bucket.
//
// Missing data is never taken for good news: a value a source could not
// tell while green served requests is "no data", which keeps the bake
// waiting, extends it once and then fails it, whatever OnNoTraffic says.
//
// The package reads the world through small interfaces it declares:
// Alarms, TargetStats, Expressions and Locator, in its own types. In AWS,
// package wiring/bakehook adapts cwmetrics (CloudWatch) and elbv2 (ECS
// and Elastic Load Balancing) to them; the local mode supplies its own
// TargetStats. A check whose source is missing, or
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

	"github.com/gatehouse-dev/gatehouse/internal/hook"
	"github.com/gatehouse-dev/gatehouse/internal/layout"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// Alarm is the state of one CloudWatch alarm (metric or composite).
type Alarm struct {
	// Name is the alarm's name.
	Name string `json:"name"`
	// State is StateOK, StateAlarm or StateInsufficientData.
	State string `json:"state"`
	// Reason is CloudWatch's explanation of the state.
	Reason string `json:"reason,omitempty"`
	// Since is when the alarm entered its state, when known.
	Since time.Time `json:"since,omitzero"`
}

// Alarm states, as CloudWatch names them.
const (
	StateOK               = "OK"
	StateAlarm            = "ALARM"
	StateInsufficientData = "INSUFFICIENT_DATA"
)

// The sides, as Target.Name.
const (
	Green = "green"
	Blue  = "blue"
)

// Target names one side of the deployment for TargetStats.
type Target struct {
	// Name is Green or Blue. A source that tells the sides apart by itself
	// (a local listener) needs nothing else.
	Name string `json:"name"`
	// LoadBalancer is Traffic.LoadBalancer, when located.
	LoadBalancer string `json:"loadBalancer,omitempty"`
	// TargetGroup is the side's target group ARN, when located.
	TargetGroup string `json:"targetGroup,omitempty"`
}

// Percentiles are response times in milliseconds.
type Percentiles struct {
	P50 float64 `json:"p50"`
	P90 float64 `json:"p90"`
	P99 float64 `json:"p99"`
}

// Stats are the traffic one side served over an interval.
//
// Every field is always written (none is omitted when empty): Stats travel
// in the run state, which must keep a fixed shape.
type Stats struct {
	// Requests is the number of requests.
	Requests float64 `json:"requests"`
	// Errors5xx is the number of those answered with a 5xx status by the
	// targets.
	Errors5xx float64 `json:"errors5xx"`
	// ConnectionErrors is the number of connections the load balancer
	// could not establish to a target: it answered those requests itself,
	// 502 or 504. Zero from a source that does not measure it.
	ConnectionErrors float64 `json:"connectionErrors"`
	// Errors5xxMissing is set when the source could not tell Errors5xx or
	// ConnectionErrors in full: they are then unknown, not 0, and no 5xx
	// rate can be computed.
	Errors5xxMissing bool `json:"errors5xxMissing"`
	// Latency holds response-time percentiles; nil when there is no data.
	// With Requests above 0, nil means the latency is missing: a source
	// sets it only when it knows every percentile.
	Latency *Percentiles `json:"latencyMs"`
}

// Rate5xx returns the share of requests answered with a 5xx status, by the
// targets or by the load balancer for want of a connection to one; ok is
// false when there is no rate: no requests, or errors unknown.
func (s Stats) Rate5xx() (rate float64, ok bool) {
	if s.Requests <= 0 || s.Errors5xxMissing {
		return 0, false
	}
	return (s.Errors5xx + s.ConnectionErrors) / s.Requests, true
}

// Metric is a CloudWatch metric an expression refers to.
type Metric struct {
	// Namespace is the metric's namespace, such as AWS/ApplicationELB.
	Namespace string `json:"namespace"`
	// Name is the metric's name.
	Name string `json:"metric"`
	// Dimensions select one metric stream.
	Dimensions map[string]string `json:"dimensions,omitempty"`
	// Stat is the statistic over the interval: Sum, Average, Maximum, p99 ...
	// Empty means Sum.
	Stat string `json:"stat,omitempty"`
}

// ResultID is the id an Expressions source gives the expression itself;
// the ids of an expression's metrics must differ from it.
const ResultID = "gatehouse_result"

// Traffic says where production traffic of the deployment goes.
type Traffic struct {
	// LoadBalancer is the load balancer's CloudWatch dimension: app/NAME/ID
	// for an Application Load Balancer, net/NAME/ID for a Network one.
	LoadBalancer string `json:"loadBalancer"`
	// Green is the ARN of the target revision's target group.
	Green string `json:"green"`
	// Blue is the ARN of the other target group of the pair.
	Blue string `json:"blue"`
	// ProductionRule is the ARN of the production listener rule (or
	// listener).
	ProductionRule string `json:"productionRule"`
	// GreenWeight and BlueWeight are the production rule's weights of the
	// two as read; ByTestListener is set when the test listener told green,
	// false when the larger weight did (see the step check).
	GreenWeight    int32 `json:"greenWeight,omitempty"`
	BlueWeight     int32 `json:"blueWeight,omitempty"`
	ByTestListener bool  `json:"byTestListener,omitempty"`
}

var (
	// ErrUnsupported is returned by a source for a question it cannot
	// answer. The check fails the bake, named in the reason.
	ErrUnsupported = errors.New("not supported")
	// ErrNoData is returned by Expressions when there is no value yet.
	ErrNoData = errors.New("no data")
)

// Alarms reads alarm states.
type Alarms interface {
	// Alarms returns every alarm named in names or whose name starts with one
	// of prefixes, once each. A name that matches no alarm is absent from
	// the result, not an error.
	Alarms(ctx context.Context, names, prefixes []string) ([]Alarm, error)
}

// TargetStats reads one side's traffic. In AWS, CloudWatch answers it
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

// Expressions evaluates metric math.
type Expressions interface {
	// Expression returns the values of expr, with metrics by id, each
	// aggregated over [start, end): one per series the expression returns.
	// It returns an error wrapping ErrNoData when there is none. A maximum
	// is judged against the largest value, a minimum against the smallest.
	Expression(ctx context.Context, expr string, metrics map[string]Metric, start, end time.Time) ([]float64, error)
}

// Locator finds the deployment's target groups.
type Locator interface {
	// Locate returns where production traffic of the deployment whose
	// target (green) revision is serviceRevisionARN goes.
	Locate(ctx context.Context, serviceRevisionARN string) (Traffic, error)
}

// Reports keeps final verdicts and the start markers of runs in the state
// bucket. *store.S3 and *store.Memory satisfy it.
type Reports interface {
	// Get reads the document at key; it returns an error wrapping
	// store.ErrNotFound if there is none.
	Get(ctx context.Context, key string) (store.Object, error)
	// Create writes a new document at key; it returns an error wrapping
	// store.ErrPrecondition if one exists.
	Create(ctx context.Context, key string, body []byte) (etag string, err error)
	// Update replaces the document at key if its ETag is still etag; it
	// returns an error wrapping store.ErrPrecondition if it changed.
	Update(ctx context.Context, key string, body []byte, etag string) (string, error)
	// List returns the keys under prefix, at most limit (the step
	// check's reports, Steps).
	List(ctx context.Context, prefix string, limit int) ([]string, error)
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
	// Rollouts says how a deployment moves production: needed by the step
	// check (at PRE_PRODUCTION_TRAFFIC_SHIFT) alone.
	Rollouts Rollouts
	// Reports stores final verdicts and the runs' start markers (see
	// StartKey); nil logs the verdicts instead and keeps no marker.
	Reports Reports
	// Now is the clock.
	Now func() time.Time
	// Log receives a line per stored or unstored verdict and per run state
	// left; nil means slog.Default().
	Log *slog.Logger
	// CallTimeout bounds each call to a source (and to Reports), so that
	// one hung call cannot use up the invocation; it never extends the
	// invocation's deadline. Zero means DefaultCallTimeout.
	CallTimeout time.Duration
}

// DefaultCallTimeout is the bound on each call to a source when
// Checker.CallTimeout is zero.
const DefaultCallTimeout = 10 * time.Second

// HookHandler returns the bake hook: it resolves the configuration from
// defaults and the hook's hookDetails, runs one check, and answers. A run
// that cannot go on (a bad configuration or stage, a corrupt run state) is
// an error, which hook.Wrap answers FAILED like every hook's. The sources'
// transient errors during a run are the bake's own to judge: their first
// occurrence is kept in the run state, and they are answered IN_PROGRESS
// until maxErrorDuration.
func HookHandler(c *Checker, defaults Config) hook.Handler {
	return func(ctx context.Context, req hook.Request) (hook.Response, error) {
		return c.Check(ctx, req, defaults)
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
func (c *Checker) Check(ctx context.Context, req hook.Request, defaults Config) (hook.Response, error) {
	now := c.Now().UTC()
	d, err := req.Deployment()
	if err != nil {
		return hook.Response{}, hook.Permanent(err)
	}
	rep := Report{
		SchemaVersion:     ReportVersion,
		DeploymentARN:     req.ResourceARN,
		ServiceARN:        req.ExecutionDetails.ServiceARN,
		TargetRevisionARN: req.ExecutionDetails.TargetServiceRevisionARN,
		Stage:             req.LifecycleStage,
		DecidedAt:         now,
	}
	// A run that cannot go on is recorded, then refused with an error
	// for hook.Wrap to answer FAILED, as every hook's refusals are.
	final := func(reason string) (hook.Response, error) { return c.refuse(ctx, d, &rep, reason) }
	stepped := req.LifecycleStage == hook.StagePreProductionTrafficShift
	if !stepped && req.LifecycleStage != hook.StagePostProductionTrafficShift {
		return final(fmt.Sprintf("the bake hook checks production traffic on green: register it at %s (the bake) or, for a linear or canary deployment, at %s (the step check), not %s",
			hook.StagePostProductionTrafficShift, hook.StagePreProductionTrafficShift, req.LifecycleStage))
	}
	cfg, err := Apply(defaults, req.HookDetails)
	if err != nil {
		return final("invalid bake configuration: " + hook.OneLine(err.Error()))
	}
	rep.Config = &cfg
	b, start, markerKey := bindingOf(req, cfg, ""), now, StartKey(d, req.LifecycleStage)
	var prefix string
	var located *Traffic
	if stepped {
		s, answered, res, err := c.planStep(ctx, req, d, &rep, cfg.forStep(0).needsTargets())
		if answered {
			return res, err
		}
		located = s.traffic
		cfg = cfg.forStep(s.window)
		rep.Config = &cfg
		b, start, markerKey = bindingOf(req, cfg, s.key), now.Add(-s.baked), layout.BakeStepStart(d, s.key)
		prefix = fmt.Sprintf("step with %s%% of production on green: ", layout.Share(s.share))
	}
	st, continued, restarted, err := resume(req.HookDetails, b, cfg, now, start)
	if err != nil {
		return final(hook.OneLine(err.Error()))
	}
	mu := c.mark(ctx, markerKey, b, cfg, now, &st, continued)
	var smokeErr error
	if stepped {
		// After the marker, which may give the window's start.
		smokeErr = c.stepState(ctx, d, &st, located, now)
	}
	lost := c.logResumed(ctx, req, mu.resumed, restarted, st.Start, markerKey)

	obs := c.observe(ctx, cfg, &st, req, now)
	obs.MarkerErr, obs.SmokeErr = mu.err, smokeErr
	v := Judge(cfg, st, now, obs)
	v.Reason = prefix + v.Reason
	if mu.resumed {
		v.Reason += fmt.Sprintf(" (window continued from its start marker in the state bucket, started %s: %s; the earlier history is lost)",
			st.Start.UTC().Format(time.RFC3339), lost)
	}
	st.FirstErrorAt = v.ErrorSince
	if v.Extend && !st.extended() {
		st.extend(now, cfg.Window)
		c.recordExtension(ctx, markerKey, mu, st)
	}
	st.record(sampleOf(cfg, now, v, obs))

	if v.Status == hook.StatusInProgress {
		details, err := st.details()
		if err != nil {
			return final(fmt.Sprintf("internal error: encode run state: %v", err))
		}
		return hook.Response{HookStatus: hook.StatusInProgress, CallBackDelay: callbackDelay(cfg, st, now, v), HookDetails: details, Reason: v.Reason}, nil
	}

	rep.complete(cfg, st, obs, v)
	c.store(ctx, d, rep)
	return hook.Response{HookStatus: v.Status, Reason: v.Reason}, nil
}

// refuse records a run that cannot go on, and refuses it with an error
// for hook.Wrap to answer FAILED, as every hook's refusals are.
func (c *Checker) refuse(ctx context.Context, d hook.DeploymentARN, rep *Report, reason string) (hook.Response, error) {
	rep.HookStatus, rep.Reason = hook.StatusFailed, reason
	c.store(ctx, d, *rep)
	return hook.Response{}, hook.Permanent(errors.New(reason))
}

// planStep finds the step a step check's call is about (locate: the
// step's own evidence, stepMinRequests included, needs target groups). answered is set
// when the call is answered already, with res and err: a step with
// nothing to judge (passed, and recorded), a refusal, or a transient error
// for hook.Wrap to answer IN_PROGRESS.
func (c *Checker) planStep(ctx context.Context, req hook.Request, d hook.DeploymentARN, rep *Report, locate bool) (s step, answered bool, res hook.Response, err error) {
	s, err = c.stepOf(ctx, req, locate)
	if err != nil && hook.IsTransient(err) {
		return s, true, hook.Response{}, err
	}
	if err != nil {
		res, err = c.refuse(ctx, d, rep, "step check: "+hook.OneLine(err.Error()))
		return s, true, res, err
	}
	rep.GreenShare, rep.Step = &s.share, s.key
	if s.skip != "" {
		rep.Traffic = s.traffic
		rep.HookStatus, rep.Reason = hook.StatusSucceeded, "step check passes without a verdict: "+s.skip
		c.store(ctx, d, *rep)
		return s, true, hook.Response{HookStatus: hook.StatusSucceeded, Reason: rep.Reason}, nil
	}
	return s, false, hook.Response{}, nil
}

// complete fills in the final verdict v and its evidence.
func (rep *Report) complete(cfg Config, st State, obs Observation, v Verdict) {
	start, end := st.Start, st.end(cfg.Window)
	rep.HookStatus, rep.Reason = v.Status, v.Reason
	rep.WindowStart, rep.WindowEnd, rep.Extended = &start, &end, st.extended()
	rep.Traffic, rep.BlueBaseline, rep.Checks, rep.History = st.Traffic, obs.Baseline, v.Results, st.History
	if obs.GreenErr == nil && cfg.needsTargets() {
		rep.Green = &obs.Green
	}
	for _, a := range obs.Alarms {
		rep.Alarms = append(rep.Alarms, a.Name)
	}
}

// logResumed logs how a run without its run state goes on, and returns
// why the run state was lost.
func (c *Checker) logResumed(ctx context.Context, req hook.Request, resumed bool, restarted string, start time.Time, markerKey string) (lost string) {
	lost = "there is no run state in hookDetails"
	if restarted != "" {
		lost = "the run state in hookDetails is not continued: " + restarted
	}
	switch {
	case resumed:
		c.logger().WarnContext(ctx, "bake window continued from the start marker in the state bucket, without the run state's history",
			"deployment_arn", req.ResourceARN, "stage", string(req.LifecycleStage), "why", lost, "start", start, "key", markerKey)
	case restarted != "":
		c.logger().WarnContext(ctx, "bake run state in hookDetails not continued: the window starts afresh",
			"deployment_arn", req.ResourceARN, "stage", string(req.LifecycleStage), "why", restarted)
	}
	return lost
}

// observe asks the sources what a call needs, recording in st what is
// worth keeping: the located target groups and a settled baseline.
func (c *Checker) observe(ctx context.Context, cfg Config, st *State, req hook.Request, now time.Time) Observation {
	var obs Observation
	if len(cfg.Alarms.Names) > 0 || len(cfg.Alarms.Prefixes) > 0 {
		if c.Alarms == nil {
			obs.AlarmsErr = fmt.Errorf("no source of CloudWatch alarms here: %w", ErrUnsupported)
		} else {
			obs.Alarms, obs.AlarmsErr = call(ctx, c, func(ctx context.Context) ([]Alarm, error) {
				return c.Alarms.Alarms(ctx, cfg.Alarms.Names, cfg.Alarms.Prefixes)
			})
		}
	}
	if cfg.needsTargets() {
		green, blue, err := c.sides(ctx, st, req)
		if err == nil {
			obs.Green, err = call(ctx, c, func(ctx context.Context) (Stats, error) {
				return c.Targets.TargetStats(ctx, green, st.Start, now)
			})
		}
		if err == nil {
			obs.Green, err = finite(Green, obs.Green)
		}
		obs.GreenErr = err
		obs.Baseline = st.Baseline
		// Blue before the shift, when it served all production; for a
		// step, beside green over the same window (never kept: the window
		// grows).
		from, to, keep := st.Start.Add(-cfg.Window), st.Start, now.Sub(st.Start) >= baselineSettle
		if st.Step != "" {
			from, to, keep = st.Start, now, false
		}
		// A step's report shows blue beside green whatever the checks.
		if err == nil && (cfg.needsBaseline() || st.Step != "") && st.Baseline == nil && obs.Green.Requests > 0 {
			b, err := call(ctx, c, func(ctx context.Context) (Stats, error) {
				return c.Targets.TargetStats(ctx, blue, from, to)
			})
			if err == nil {
				b, err = finite(Blue, b)
			}
			if err != nil {
				obs.BaselineErr = err
			} else {
				obs.Baseline = &b
				// Kept once settled, and only whole: a baseline missing a
				// value is read again on the next call.
				if keep && baselineComplete(cfg, b) {
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
		v, err := call(ctx, c, func(ctx context.Context) ([]float64, error) {
			return c.Expressions.Expression(ctx, m.Expression, m.Metrics, st.Start, now)
		})
		obs.Expressions[i] = ExpressionValue{Values: v, Err: err}
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
		t, err := call(ctx, c, func(ctx context.Context) (Traffic, error) {
			return c.Locator.Locate(ctx, req.ExecutionDetails.TargetServiceRevisionARN)
		})
		if err != nil {
			return green, blue, fmt.Errorf("locate target groups: %w", err)
		}
		if !t.ByTestListener && t.GreenWeight == t.BlueWeight {
			// After the shift production is all green's: an even split
			// tells neither side.
			return green, blue, fmt.Errorf("locate target groups: the production listener rule %s forwards to both target groups with weight %d: green cannot be told", t.ProductionRule, t.GreenWeight)
		}
		st.Traffic = &t
	}
	t := st.Traffic
	return Target{Name: Green, LoadBalancer: t.LoadBalancer, TargetGroup: t.Green},
		Target{Name: Blue, LoadBalancer: t.LoadBalancer, TargetGroup: t.Blue}, nil
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

// finite checks a source's stats for side, and replaces what JSON cannot
// carry (NaN, infinities) or what makes no sense (negative counts) by
// missing: error counts become unknown (Errors5xxMissing), percentiles are
// dropped. A request count that is not a finite number of at least 0 is an
// error: without it nothing can be judged.
func finite(side string, s Stats) (Stats, error) {
	ok := func(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) && f >= 0 }
	if !ok(s.Requests) {
		return Stats{}, fmt.Errorf("%s: the source gave %v requests", side, s.Requests)
	}
	if !ok(s.Errors5xx) || !ok(s.ConnectionErrors) {
		s.Errors5xx, s.ConnectionErrors, s.Errors5xxMissing = 0, 0, true
	}
	if s.Errors5xxMissing {
		s.Errors5xx, s.ConnectionErrors = 0, 0
	}
	if l := s.Latency; l != nil && (!ok(l.P50) || !ok(l.P90) || !ok(l.P99)) {
		s.Latency = nil
	}
	return s, nil
}

// baselineComplete reports whether blue's baseline b has a value for every
// check with a limit relative to blue, or too few requests to need one.
func baselineComplete(cfg Config, b Stats) bool {
	for _, m := range cfg.Metrics {
		if m.Kind != "" && m.MaxRelativeToBlue != nil {
			if _, av := sideValue(m.Kind, b); av == missing {
				return false
			}
		}
	}
	return true
}

// call runs one call to a source under its own timeout, c.CallTimeout,
// within ctx's deadline. A call that runs out of its own time is a
// transient error.
func call[T any](ctx context.Context, c *Checker, f func(context.Context) (T, error)) (T, error) {
	d := c.CallTimeout
	if d <= 0 {
		d = DefaultCallTimeout
	}
	cctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	v, err := f(cctx)
	if err != nil && ctx.Err() == nil && errors.Is(cctx.Err(), context.DeadlineExceeded) {
		err = hook.Transient(fmt.Errorf("no answer within %s: %w", d, err))
	}
	return v, err
}

func (c *Checker) logger() *slog.Logger {
	if c.Log == nil {
		return slog.Default()
	}
	return c.Log
}

// store writes the final verdict, once: a verdict already stored for the
// deployment and stage (a duplicate call) is kept. A verdict that cannot
// be stored is logged whole; it does not change the answer, which ECS
// needs now.
func (c *Checker) store(ctx context.Context, d hook.DeploymentARN, rep Report) {
	log := c.logger()
	key := Key(d, rep.Stage)
	if rep.GreenShare != nil {
		key = StepKey(d, *rep.GreenShare)
		if rep.Step != "" {
			key = layout.BakeStepReport(d, rep.Step)
		}
	}
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
	_, err = call(ctx, c, func(ctx context.Context) (string, error) { return c.Reports.Create(ctx, key, body) })
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
