package smoke

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/hook"
)

// Target is where a run's checks go.
type Target struct {
	// BaseURL is the URL the checks' paths are appended to.
	BaseURL string
	// Headers are sent with every check so that the load balancer routes it
	// to green: those the test listener rule's conditions require ("Host"
	// sets the request's host). Configured headers win over them.
	Headers map[string]string
	// Source says where BaseURL came from, for the report: SourceConfig, or
	// the test listener it was discovered from.
	Source string
	// Notes are caveats for the report, such as rule conditions that could
	// not be satisfied.
	Notes []string
	// PathPatterns and Methods, from a discovered test listener rule,
	// restrict what it routes to green; empty means any. Unsatisfiable are
	// its conditions the checks cannot be sure to meet. A check the rule
	// would not route falls through to the listener's default action,
	// often blue: such a run is refused, never passed.
	PathPatterns  []string
	Methods       []string
	Unsatisfiable []string
}

// SourceConfig is the Target.Source of a base URL from the configuration.
const SourceConfig = "config"

// Discoverer finds the test listener of a service revision.
type Discoverer interface {
	// Discover returns the target for the revision's test listener.
	// Transient errors (see hook.IsTransient) make the hook ask again; any
	// other error fails the run, naming baseUrl.
	Discover(ctx context.Context, serviceRevisionARN string) (Target, error)
}

// DiscoverFunc adapts a function to Discoverer.
type DiscoverFunc func(ctx context.Context, serviceRevisionARN string) (Target, error)

// Discover calls f.
func (f DiscoverFunc) Discover(ctx context.Context, serviceRevisionARN string) (Target, error) {
	return f(ctx, serviceRevisionARN)
}

// Runner runs smoke checks for the smoke hook. Client is the only field
// worth setting in most uses; the others have working zero values. The
// function fields must be safe for concurrent use: checks run concurrently.
type Runner struct {
	// Client makes the checks' requests. Its redirect policy is replaced
	// (redirects are followed only by checks with followRedirects). Nil
	// means a client on http.DefaultTransport. Give no Timeout: every
	// request gets its own from the configuration and the call's deadline.
	Client *http.Client
	// Discoverer finds the test listener when the configuration has no
	// baseUrl. Nil means a baseUrl is required.
	Discoverer Discoverer
	// Reports receives the reports. Nil means no report is written.
	Reports ReportWriter
	// Now returns the time; nil means time.Now. The run's schedule (when the
	// next attempt is due, when this call must stop) follows it.
	Now func() time.Time
	// Sleep waits for d or until ctx is done; nil means a timer.
	Sleep func(ctx context.Context, d time.Duration) error
	// Rand returns a number in [0, 1) for jitter; nil means math/rand/v2.
	Rand func() float64
	// Log receives a line per finished check; nil means slog.Default().
	Log *slog.Logger
}

// Poll is one call of the smoke hook.
type Poll struct {
	// Deployment is the parsed service-deployment ARN.
	Deployment hook.DeploymentARN
	// Stage is the stage the hook was called at.
	Stage hook.Stage
	// TargetRevisionARN is the revision under test (green); discovery
	// starts from it.
	TargetRevisionARN string
	// Config is the resolved configuration.
	Config Config
	// State is what the previous call returned under StateKey in
	// hookDetails; nil on the first call.
	State json.RawMessage
}

// Result is the answer to a Poll.
type Result struct {
	// Status is the hook status to answer.
	Status hook.Status
	// Reason says why, in one line.
	Reason string
	// CallBackDelay is the number of seconds after which to call again,
	// while Status is IN_PROGRESS.
	CallBackDelay int
	// State is the run state to return in hookDetails under StateKey while
	// Status is IN_PROGRESS.
	State json.RawMessage
	// Report is the report as written (or as it would have been written
	// without a ReportWriter).
	Report Report
}

// Timing of a call.
const (
	// reportReserve is kept back from the call's deadline to write the
	// report after the checks.
	reportReserve = time.Second
	// maxCallTime bounds a call whose context has no deadline: the longest
	// a Lambda function runs.
	maxCallTime = 15 * time.Minute
	// maxReportTries bounds how often a call answers IN_PROGRESS only to try
	// writing the final report again after a transient error.
	maxReportTries = 3
	// reportRetryDelay is the callback delay for that retry, in seconds.
	reportRetryDelay = 5
	// maxDiscoveryWait and maxDiscoveryCalls bound how long transient errors
	// discovering the test listener are answered IN_PROGRESS: whichever is
	// reached first fails the run.
	maxDiscoveryWait  = 5 * time.Minute
	maxDiscoveryCalls = 20
)

// Poll runs the checks that are due, as far as the call's deadline allows,
// writes the report and returns the verdict: SUCCEEDED when every critical
// check passed, FAILED as soon as one failed, IN_PROGRESS with the run state
// while checks wait for a retry that does not fit into this call. Errors are
// returned for the caller to classify (hook.Wrap): transient ones mean "ask
// again".
func (r *Runner) Poll(ctx context.Context, p Poll) (Result, error) {
	if err := p.Config.Validate(); err != nil {
		return r.refuse(ctx, p, "invalid smoke configuration: "+hook.OneLine(err.Error())), nil
	}
	now := r.now()
	stopAt := r.stopTime(ctx, now)
	if left := stopAt.Sub(now); left < MinTimeout {
		return Result{}, fmt.Errorf("the call's deadline leaves %s for smoke checks: raise the function's timeout above timeoutMs plus a few seconds", roundMillis(left))
	}
	log := r.log().With("deployment_arn", p.Deployment.String(), "stage", string(p.Stage))

	st := newState(p.Config, now)
	st.Run = runKey(p)
	if p.State != nil {
		if old, err := resume(p.State, p.Config, now); err != nil {
			log.WarnContext(ctx, "smoke state not usable, starting the checks afresh", "err", err)
		} else if old.Run != st.Run {
			// A state left by another deployment, stage or revision (ECS
			// keeps merged hookDetails): its outcomes say nothing here.
			log.WarnContext(ctx, "smoke state belongs to another run, starting the checks afresh")
		} else {
			st = old
		}
	}
	st.Calls++

	t, fromConfig, err := r.target(ctx, p, st)
	if err != nil {
		if hook.IsTransient(err) {
			return r.discoveryTrouble(ctx, log, p, st, now, err), nil
		}
		return r.refuse(ctx, p, "baseUrl: "+hook.OneLine(err.Error())), nil
	}
	st.setTarget(t, fromConfig)

	if !st.criticalFailed(p.Config) {
		checks, err := prepare(p.Config, t)
		if err != nil {
			return r.refuse(ctx, p, "invalid smoke configuration: "+hook.OneLine(err.Error())), nil
		}
		r.runChecks(ctx, log, p.Config, checks, &st, stopAt)
	}
	return r.conclude(ctx, log, p, st, t), nil
}

// target resolves where the checks go: the configured baseUrl, else the one
// discovered on an earlier call of this run, else discovery.
func (r *Runner) target(ctx context.Context, p Poll, st runState) (Target, bool, error) {
	if p.Config.BaseURL != "" {
		return Target{BaseURL: p.Config.BaseURL, Source: SourceConfig}, true, nil
	}
	if st.BaseURL != "" {
		return st.target(), false, nil
	}
	if r.Discoverer == nil {
		return Target{}, false, errors.New("not configured, and test listener discovery is not available: set baseUrl")
	}
	t, err := r.Discoverer.Discover(ctx, p.TargetRevisionARN)
	if err != nil {
		return Target{}, false, fmt.Errorf("not configured, and the test listener could not be discovered: %w", err)
	}
	if err := checkBaseURL(t.BaseURL); err != nil {
		return Target{}, false, fmt.Errorf("discovered %w", err)
	}
	if err := checkHeaders(t.Headers); err != nil {
		return Target{}, false, fmt.Errorf("discovered headers: %w", err)
	}
	if err := routable(p.Config, t); err != nil {
		return Target{}, false, err
	}
	return t, false, nil
}

// discoveryTrouble answers a transient error discovering the test listener
// (throttling, a 5xx from ECS or ELBv2): IN_PROGRESS with the run state, so
// the run keeps its start, until the trouble has lasted maxDiscoveryWait or
// maxDiscoveryCalls calls; then FAILED, naming the error. A smoke gate that
// cannot find green does not wait out the stage's timeout.
func (r *Runner) discoveryTrouble(ctx context.Context, log *slog.Logger, p Poll, st runState, now time.Time, err error) Result {
	waited := now.Sub(time.UnixMilli(st.Started))
	if st.Calls >= maxDiscoveryCalls || waited >= maxDiscoveryWait {
		return r.refuseRun(ctx, p, fmt.Sprintf("baseUrl: gave up after %d calls over %s: %s", st.Calls, waited.Round(time.Second), hook.OneLine(err.Error())), time.UnixMilli(st.Started).UTC(), st.Calls)
	}
	log.WarnContext(ctx, "test listener discovery failed, will try again", "err", err, "calls", st.Calls)
	return Result{
		Status:        hook.StatusInProgress,
		Reason:        "baseUrl: transient error, trying again: " + hook.OneLine(err.Error()),
		CallBackDelay: TransientCallBackDelay,
		State:         st.encode(),
	}
}

// runKey names the run a state belongs to: deployment, stage and revision.
func runKey(p Poll) string {
	return p.Deployment.String() + "|" + string(p.Stage) + "|" + p.TargetRevisionARN
}

// routable reports checks the discovered test listener rule would not route
// to green: they would test whatever the listener's default action serves.
func routable(cfg Config, t Target) error {
	var errs []string
	if len(t.Unsatisfiable) > 0 {
		errs = append(errs, "the discovered test listener rule has conditions the checks cannot be sure to meet ("+strings.Join(t.Unsatisfiable, "; ")+")")
	}
	for i, c := range cfg.Checks {
		path, _, _ := strings.Cut(c.Path, "?")
		if len(t.PathPatterns) > 0 && !slices.ContainsFunc(t.PathPatterns, func(p string) bool { return globMatch(p, path) }) {
			errs = append(errs, fmt.Sprintf("checks[%d].path %s is not routed by the test listener rule (paths %s)", i, path, strings.Join(t.PathPatterns, ", ")))
		}
		method := cmp.Or(c.Method, "GET")
		if len(t.Methods) > 0 && !slices.Contains(t.Methods, method) {
			errs = append(errs, fmt.Sprintf("checks[%d].method %s is not routed by the test listener rule (methods %s)", i, method, strings.Join(t.Methods, ", ")))
		}
	}
	if len(errs) > 0 {
		return errors.New(strings.Join(errs, "; ") + ": set baseUrl and headers that reach green")
	}
	return nil
}

// globMatch matches s against an ALB path pattern: * is any sequence, ? any
// one character.
func globMatch(pattern, s string) bool {
	if pattern == "" {
		return s == ""
	}
	switch pattern[0] {
	case '*':
		for i := 0; i <= len(s); i++ {
			if globMatch(pattern[1:], s[i:]) {
				return true
			}
		}
		return false
	case '?':
		return s != "" && globMatch(pattern[1:], s[1:])
	}
	return s != "" && s[0] == pattern[0] && globMatch(pattern[1:], s[1:])
}

// stopTime is when this call stops starting requests: the context's
// deadline (hook.Wrap has already kept back time to answer) less time to
// write the report. The deadline is read on the wall clock and applied on
// r.Now's, so that a test clock sees the same budget.
func (r *Runner) stopTime(ctx context.Context, now time.Time) time.Time {
	dl, ok := ctx.Deadline()
	if !ok {
		return now.Add(maxCallTime)
	}
	left := time.Until(dl)
	return now.Add(left - min(reportReserve, left/4))
}

// runChecks runs every unfinished check concurrently, at most
// cfg.Concurrency requests at a time, until each has finished or must wait
// beyond stopAt. A critical failure stops the others at once: the verdict is
// known.
func (r *Runner) runChecks(ctx context.Context, log *slog.Logger, cfg Config, checks []prepared, st *runState, stopAt time.Time) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	noFollow, follow := r.clients()
	sem := make(chan struct{}, cfg.Concurrency)
	// With a call long enough for a full attempt, an attempt cut short
	// because others went first proves nothing: it waits for the next call.
	full := !r.now().Add(cfg.Timeout).After(stopAt)
	var wg sync.WaitGroup
	for i := range checks {
		c, cs := &checks[i], &st.Checks[i]
		if cs.finished() {
			continue
		}
		client := noFollow
		if c.FollowRedirects {
			client = follow
		}
		// Each goroutine writes only its own check's state.
		wg.Go(func() {
			// A panic here would kill the function, which ECS takes as a
			// rollback without a reason: fail the check, say why.
			defer func() {
				if p := recover(); p != nil {
					log.ErrorContext(ctx, "smoke check panicked", "check", c.Name, "panic", fmt.Sprint(p))
					cs.Outcome, cs.Problem = OutcomeFailed, fmt.Sprintf("internal error: %v", p)
					if c.Critical {
						cancel()
					}
				}
			}()
			r.runCheck(ctx, cfg, c, cs, client, sem, stopAt, full)
			if cs.finished() {
				log.InfoContext(ctx, "smoke check finished", "check", c.Name, "outcome", string(cs.Outcome),
					"attempts", cs.Attempts, "status", cs.Status, "latency_ms", cs.LatencyMs, "problem", cs.Problem)
			}
			if cs.Outcome == OutcomeFailed && c.Critical {
				cancel()
			}
		})
	}
	wg.Wait()
}

// runCheck attempts c until it finishes, the run is cancelled, or its next
// attempt would not fit before stopAt (it is then parked for a later call).
// An attempt starts only if it can use its full timeout before stopAt, except
// the first of this call, which makes progress certain even when the
// function's timeout is shorter than timeoutMs.
func (r *Runner) runCheck(ctx context.Context, cfg Config, c *prepared, cs *checkState, client *http.Client, sem chan struct{}, stopAt time.Time, full bool) {
	tried := false
	for !cs.finished() {
		now := r.now()
		if wait := time.UnixMilli(cs.Next).Sub(now); wait > 0 {
			if now.Add(wait + cfg.Timeout).After(stopAt) {
				return
			}
			// Once the wait is over the attempt is made, without asking
			// the clock again: a clock that lags the sleep cannot make
			// this loop spin.
			if r.sleep(ctx, wait) != nil {
				return
			}
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			return
		}
		limit := cfg.Timeout
		if left := stopAt.Sub(r.now()); left < limit {
			if tried || left < MinTimeout {
				<-sem
				return
			}
			limit = left
		}
		a := probe(ctx, client, c, limit)
		<-sem
		if ctx.Err() != nil {
			// Cancelled by a critical failure or the caller: this attempt
			// says nothing about the check.
			return
		}
		if full && limit < cfg.Timeout && strings.HasPrefix(a.problem, "no response within") {
			// Timed out only because its time was shortened in a call that
			// had room for a full attempt: inconclusive, not a failure.
			return
		}
		tried = true
		cs.record(a, r.now(), cfg, r.rand)
	}
}

// criticalFailed reports whether a critical check has failed.
func (s *runState) criticalFailed(cfg Config) bool {
	for i, c := range s.Checks {
		if c.Outcome == OutcomeFailed && cfg.Checks[i].Critical {
			return true
		}
	}
	return false
}

// conclude turns the state after this call's checks into the verdict, writes
// the report and builds the answer.
func (r *Runner) conclude(ctx context.Context, log *slog.Logger, p Poll, st runState, t Target) Result {
	now := r.now()
	verdict := VerdictPassed
	switch {
	case st.criticalFailed(p.Config):
		verdict = VerdictFailed
		for i := range st.Checks {
			if !st.Checks[i].finished() {
				st.Checks[i].Outcome = OutcomeCancelled
			}
		}
	default:
		for i, c := range st.Checks {
			switch {
			case c.Outcome == OutcomeCancelled && p.Config.Checks[i].Critical:
				// Only a failed critical check cancels others: a cancelled
				// one without it is an inconsistent state. Fail closed.
				verdict = VerdictFailed
			case !c.finished() && verdict != VerdictFailed:
				verdict = VerdictRunning
			}
		}
	}
	rep := r.report(p, st, t, verdict, now)
	var next time.Duration
	if verdict == VerdictRunning {
		due, _ := st.earliest()
		next = max(due.Sub(now), 0)
	}
	rep.Summary = summarize(rep, next)
	res := Result{Reason: rep.Summary, Report: rep}
	werr := r.write(ctx, rep)

	if verdict == VerdictRunning {
		if werr != nil {
			log.WarnContext(ctx, "smoke report not written", "err", werr)
		}
		res.Status = hook.StatusInProgress
		res.CallBackDelay = hook.ClampDelay(int((next + time.Second - 1) / time.Second))
		res.State = st.encode()
		return res
	}
	res.Status = hook.StatusSucceeded
	if verdict == VerdictFailed {
		res.Status = hook.StatusFailed
	}
	if werr != nil {
		// Only a pass waits for its report (the approval hook may be waiting
		// for it); a failure is answered at once, whatever the report.
		if verdict == VerdictPassed && hook.IsTransient(werr) && st.ReportTries < maxReportTries {
			// The approval hook may be waiting for this report: answer the
			// verdict only once it is written, or after a few tries. The
			// state holds every outcome, so the next call just writes again.
			st.ReportTries++
			log.WarnContext(ctx, "smoke report not written, will try again", "err", werr, "decision", string(verdict))
			res.Status = hook.StatusInProgress
			res.CallBackDelay = reportRetryDelay
			res.State = st.encode()
			res.Reason = rep.Summary + "; writing the report failed, trying again"
			return res
		}
		log.ErrorContext(ctx, "smoke report not written", "err", werr, "decision", string(verdict))
		res.Reason = rep.Summary + "; report not written: " + clipError(werr)
	}
	return res
}

// refuse answers FAILED for a run that cannot start, and records why.
func (r *Runner) refuse(ctx context.Context, p Poll, reason string) Result {
	return r.refuseRun(ctx, p, reason, r.now(), 1)
}

// refuseRun is refuse for a run that started at started and made calls
// calls.
func (r *Runner) refuseRun(ctx context.Context, p Poll, reason string, started time.Time, calls int) Result {
	now := r.now()
	rep := Report{
		Version:           ReportVersion,
		DeploymentARN:     p.Deployment.String(),
		Stage:             p.Stage,
		TargetRevisionARN: p.TargetRevisionARN,
		Verdict:           VerdictFailed,
		Summary:           reason,
		Started:           started,
		Updated:           now,
		Finished:          now,
		Calls:             calls,
		Checks:            []CheckResult{},
	}
	if err := r.write(ctx, rep); err != nil {
		r.log().WarnContext(ctx, "smoke report not written", "deployment_arn", rep.DeploymentARN, "stage", string(p.Stage), "err", err)
	}
	return Result{Status: hook.StatusFailed, Reason: reason, Report: rep}
}

// report builds the report of st at now.
func (r *Runner) report(p Poll, st runState, t Target, v Verdict, now time.Time) Report {
	rep := Report{
		Version:           ReportVersion,
		DeploymentARN:     p.Deployment.String(),
		Stage:             p.Stage,
		TargetRevisionARN: p.TargetRevisionARN,
		BaseURL:           t.BaseURL,
		Source:            t.Source,
		Verdict:           v,
		Started:           time.UnixMilli(st.Started).UTC(),
		Updated:           now.UTC(),
		Calls:             st.Calls,
		Checks:            make([]CheckResult, len(st.Checks)),
		Notes:             t.Notes,
	}
	if v != VerdictRunning {
		rep.Finished = now.UTC()
	}
	for i, cs := range st.Checks {
		ch := p.Config.Checks[i]
		path, _, _ := strings.Cut(ch.Path, "?")
		rep.Checks[i] = CheckResult{
			Name:          ch.Name,
			Method:        ch.Method,
			Path:          path,
			Critical:      ch.Critical,
			Outcome:       cs.Outcome,
			Passed:        cs.Outcome == OutcomePassed,
			Attempts:      cs.Attempts,
			LastStatus:    cs.Status,
			LastLatencyMs: cs.LatencyMs,
			LastError:     cs.Problem,
		}
	}
	return rep
}

// write stores rep as text, then as JSON: a reader that finds the JSON
// finds the text too.
func (r *Runner) write(ctx context.Context, rep Report) error {
	if r.Reports == nil {
		return nil
	}
	d, err := hook.ParseDeploymentARN(rep.DeploymentARN)
	if err != nil {
		return err
	}
	if err := r.Reports.Put(ctx, ReportKey(d, rep.Stage, ExtText), []byte(rep.Text()), "text/plain; charset=utf-8"); err != nil {
		return err
	}
	return r.Reports.Put(ctx, ReportKey(d, rep.Stage, ExtJSON), rep.EncodeJSON(), "application/json")
}

// clients returns r.Client twice: once never following redirects, once
// following up to 10.
func (r *Runner) clients() (noFollow, follow *http.Client) {
	base := r.Client
	if base == nil {
		base = &http.Client{}
	}
	nf, f := *base, *base
	nf.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	f.CheckRedirect = nil
	return &nf, &f
}

func (r *Runner) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

func (r *Runner) sleep(ctx context.Context, d time.Duration) error {
	if r.Sleep != nil {
		return r.Sleep(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (r *Runner) rand() float64 {
	if r.Rand != nil {
		return r.Rand()
	}
	return rand.Float64()
}

func (r *Runner) log() *slog.Logger {
	if r.Log != nil {
		return r.Log
	}
	return slog.Default()
}
