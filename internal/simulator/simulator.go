// Package simulator runs an Amazon ECS blue/green service deployment through
// its documented lifecycle (../shared/docs/ECS-HOOKS.md) on one machine: the
// stages in order, every hook registered at a stage invoked in parallel with
// the payload ECS sends, IN_PROGRESS answers called again after their
// callBackDelay with the returned hookDetails merged in, hook timeouts with
// ROLLBACK or CONTINUE, the rollback path that re-invokes the traffic-shift
// hooks with reversed weights, bake time, and a final status.
//
// It drives an Environment (the traffic switches and the green and blue
// tasks) and a Clock, which may run faster than real time.
package simulator

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"

	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/hook"
	"github.com/gatehouse-dev/gatehouse/internal/rollout"
)

// Status is a deployment's status, as ECS names them.
type Status string

// The statuses a simulated deployment goes through.
const (
	StatusInProgress         Status = "IN_PROGRESS"
	StatusSuccessful         Status = "SUCCESSFUL"
	StatusRollbackRequested  Status = "ROLLBACK_REQUESTED"
	StatusRollbackInProgress Status = "ROLLBACK_IN_PROGRESS"
	StatusRollbackSuccessful Status = "ROLLBACK_SUCCESSFUL"
	StatusRollbackFailed     Status = "ROLLBACK_FAILED"
)

// Terminal reports whether s is final.
func (s Status) Terminal() bool {
	return s == StatusSuccessful || s == StatusRollbackSuccessful || s == StatusRollbackFailed
}

// Stage names beyond the hookable ones.
const (
	StageScaleUp  hook.Stage = "SCALE_UP"
	StageBakeTime hook.Stage = "BAKE_TIME"
	StageCleanUp  hook.Stage = "CLEAN_UP"
)

// Lifecycle is the order of stages in a blue/green deployment.
// RECONCILE_SERVICE comes before them only when more than one revision is
// active at the start (Simulator.ActiveRevisions).
var Lifecycle = []hook.Stage{
	hook.StagePreScaleUp,
	StageScaleUp,
	hook.StagePostScaleUp,
	hook.StageTestTrafficShift,
	hook.StagePostTestTrafficShift,
	hook.StagePreProductionTrafficShift,
	hook.StageProductionTrafficShift,
	hook.StagePostProductionTrafficShift,
	StageBakeTime,
	StageCleanUp,
}

// Invoker calls one hook function with an ECS payload, as Lambda would.
type Invoker func(ctx context.Context, payload json.RawMessage) (hook.Response, error)

// Timeout actions.
const (
	TimeoutRollback = "ROLLBACK"
	TimeoutContinue = "CONTINUE"
)

// Hook is a lifecycle hook registered on the service.
type Hook struct {
	// Name identifies the hook in events.
	Name string
	// Function is the hook's function, as a Lambda name.
	Function string
	// Stages are where it runs.
	Stages []hook.Stage
	// Details is the configured hookDetails (a JSON object), or nil.
	Details json.RawMessage
	// Timeout ends a hook that never answers SUCCEEDED or FAILED; zero means
	// ECS's default, 1440 minutes.
	Timeout time.Duration
	// OnTimeout is ROLLBACK (default) or CONTINUE.
	OnTimeout string
	// Pause makes it a PAUSE hook (targetType PAUSE): no function is
	// called; ECS waits, with the hook AWAITING_ACTION, until
	// ContinueServiceDeployment or the hook's timeout. See pause.go.
	Pause bool
	// FunctionTimeout, when set, is the Lambda function's own timeout: an
	// invocation that takes longer (simulated time) is a function error,
	// which ECS answers with a rollback.
	FunctionTimeout time.Duration
	// Invoke calls the hook.
	Invoke Invoker
}

// Side is one of the two revisions.
type Side string

// The two sides.
const (
	Blue  Side = "blue"
	Green Side = "green"
)

// Environment is what the deployment acts on.
type Environment interface {
	// StartGreen starts the green revision's tasks (SCALE_UP).
	StartGreen(ctx context.Context) error
	// RouteTest points the test listener at side.
	RouteTest(side Side)
	// RouteProduction points the production listener at side.
	RouteProduction(side Side)
	// WeighProduction sends green percent of production traffic to green
	// and the rest to blue (a linear or canary step).
	WeighProduction(green float64)
	// StopGreen stops green's tasks after a rollback.
	StopGreen()
	// StopBlue stops blue's tasks (CLEAN_UP); green is the new blue.
	StopBlue()
}

// Clock tells time and waits, possibly faster than real time.
type Clock interface {
	Now() time.Time
	Sleep(ctx context.Context, d time.Duration) error
}

// Service identifies the simulated service.
type Service struct {
	Partition, Region, Account, Cluster, Name string
}

// ARN returns the service's ARN.
func (s Service) ARN() string {
	return fmt.Sprintf("arn:%s:ecs:%s:%s:service/%s/%s", s.Partition, s.Region, s.Account, s.Cluster, s.Name)
}

// Event is one thing that happened in a deployment: a stage starting, a
// hook answering, a rollback.
type Event struct {
	At     time.Time  `json:"at"`
	Stage  hook.Stage `json:"stage"`
	Hook   string     `json:"hook,omitempty"`
	Status string     `json:"status"`
	Reason string     `json:"reason,omitempty"`
	Delay  int        `json:"callBackDelay,omitempty"`
	// Green is production traffic's share on green, in percent, after a
	// production traffic shift (set on a stage's STARTED event).
	Green *float64 `json:"green,omitempty"`
}

// Deployment is one run of the lifecycle.
type Deployment struct {
	mu sync.Mutex

	// ID is the deployment id; ARN the service-deployment ARN built from it.
	ID  string
	ARN string
	// SourceRevision and TargetRevision are blue's and green's revision ARNs.
	SourceRevision string
	TargetRevision string
	// StartedBy is the IAM identity that started it.
	StartedBy string
	// pauses are its PAUSE hooks' runs.
	pauses []*Pause

	status    Status
	stage     hook.Stage
	startedAt time.Time
	endedAt   time.Time
	reason    string
	events    []Event
	// step is the production traffic shift under way (0-based), and green
	// production traffic's share on green, in percent.
	step  int
	green float64
	// rollbackRequested is closed by RequestRollback (an operator's
	// StopServiceDeployment with stopType ROLLBACK); requestedAt and
	// requestReason say when and why.
	rollbackRequested chan struct{}
	requestOnce       sync.Once
	requestedAt       time.Time
	requestReason     string
	blueAgainAt       time.Time
}

// ErrNotInProgress is returned by RequestRollback for a deployment that has
// ended.
var ErrNotInProgress = errors.New("the deployment is not in progress")

// errRollbackRequested stops the stage under way when an operator asked
// for a rollback; Run then rolls back.
var errRollbackRequested = errors.New("rollback requested")

// operatorRollback is the cause of a run stopped by RequestRollback.
type operatorRollback struct{ reason string }

func (o operatorRollback) Error() string { return o.reason }

func (d *Deployment) requested() chan struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.rollbackRequested == nil {
		d.rollbackRequested = make(chan struct{})
	}
	return d.rollbackRequested
}

// Snapshot is a deployment's state at one moment.
type Snapshot struct {
	ID, ARN        string
	Status         Status
	Stage          hook.Stage
	StartedAt      time.Time
	EndedAt        time.Time
	Reason         string
	Events         []Event
	SourceRevision string
	TargetRevision string
	// Step is the production traffic shift under way or last made
	// (0-based), of the strategy's steps; ProductionGreen the share of
	// production traffic on green, in percent.
	Step            int
	ProductionGreen float64
	// RollbackRequestedAt is when an operator asked for a rollback
	// (RequestRollback); BlueAgainAt when a rollback sent production
	// traffic back to blue.
	RollbackRequestedAt time.Time `json:",omitzero"`
	BlueAgainAt         time.Time `json:",omitzero"`
	// StartedBy is the IAM identity that started the deployment, as
	// CloudTrail would name the caller of UpdateService.
	StartedBy string `json:",omitempty"`
}

// Snapshot returns a copy of d's state.
func (d *Deployment) Snapshot() Snapshot {
	d.mu.Lock()
	defer d.mu.Unlock()
	return Snapshot{ID: d.ID, ARN: d.ARN, Status: d.status, Stage: d.stage, StartedAt: d.startedAt, EndedAt: d.endedAt,
		Reason: d.reason, Events: append([]Event(nil), d.events...), SourceRevision: d.SourceRevision, TargetRevision: d.TargetRevision,
		Step: d.step, ProductionGreen: d.green, RollbackRequestedAt: d.requestedAt, BlueAgainAt: d.blueAgainAt, StartedBy: d.StartedBy}
}

func (d *Deployment) set(f func(d *Deployment)) {
	d.mu.Lock()
	defer d.mu.Unlock()
	f(d)
}

// Simulator runs deployments of one service.
type Simulator struct {
	Service  Service
	Hooks    []Hook
	Env      Environment
	Clock    Clock
	BakeTime time.Duration
	// Behaviour is how ECS plays what its documentation leaves open; the
	// zero value is DefaultBehaviour.
	Behaviour Behaviour
	// Strategy is how production traffic moves: all at once (blue/green,
	// the zero value), in linear steps, or canary first.
	Strategy rollout.Strategy
	// DeploymentAlarms, when set, are the service's deployment alarms
	// (deploymentConfiguration.alarms, rollback on): ECS looks at them
	// during BAKE_TIME, once a minute, and rolls back when one is in ALARM
	// while blue still runs. It returns the name of an alarm in ALARM.
	DeploymentAlarms func(now time.Time) (alarm string, firing bool)
	// ActiveRevisions, when set, tells how many service revisions are
	// active as a deployment starts: with more than one, ECS runs the
	// RECONCILE_SERVICE hooks first.
	ActiveRevisions func() int
	// OnEvent, when set, sees every event as it happens.
	OnEvent func(d *Deployment, e Event)
	// OnPause, when set, is EventBridge: it receives the "ECS Hook State
	// Change" events of PAUSE hooks, as JSON: HOOK_AWAITING_ACTION when one
	// starts waiting, HOOK_SUCCEEDED, HOOK_FAILED or HOOK_TIMED_OUT when it
	// ends (each twice when DeliverTwice is set, as EventBridge may).
	OnPause      func(d *Deployment, event []byte)
	DeliverTwice bool

	mu       sync.Mutex
	revision int
}

// NewDeployment makes a deployment of a new revision.
func (s *Simulator) NewDeployment(startedBy string) *Deployment {
	s.mu.Lock()
	s.revision++
	n := s.revision
	s.mu.Unlock()
	id := randomID()
	rev := func(i int) string {
		return fmt.Sprintf("arn:%s:ecs:%s:%s:service-revision/%s/%s/%d", s.Service.Partition, s.Service.Region, s.Service.Account, s.Service.Cluster, s.Service.Name, 1000+i)
	}
	return &Deployment{
		ID:             id,
		ARN:            fmt.Sprintf("arn:%s:ecs:%s:%s:service-deployment/%s/%s/%s", s.Service.Partition, s.Service.Region, s.Service.Account, s.Service.Cluster, s.Service.Name, id),
		SourceRevision: rev(2*n - 1),
		TargetRevision: rev(2 * n),
		StartedBy:      startedBy,
		status:         StatusInProgress,
	}
}

// Restore returns a deployment as snap describes it, to be resumed by Run
// from the stage it was in.
func (s *Simulator) Restore(snap Snapshot) *Deployment {
	// Later deployments get later revisions, after a restart too.
	var rev int
	if _, err := fmt.Sscanf(snap.TargetRevision[strings.LastIndexByte(snap.TargetRevision, '/')+1:], "%d", &rev); err == nil {
		s.mu.Lock()
		s.revision = max(s.revision, (rev-1000)/2)
		s.mu.Unlock()
	}
	return &Deployment{
		ID: snap.ID, ARN: snap.ARN, SourceRevision: snap.SourceRevision, TargetRevision: snap.TargetRevision,
		status: snap.Status, stage: snap.Stage, startedAt: snap.StartedAt, endedAt: snap.EndedAt,
		reason: snap.Reason, events: snap.Events, step: snap.Step, green: snap.ProductionGreen,
		requestedAt: snap.RollbackRequestedAt, blueAgainAt: snap.BlueAgainAt, StartedBy: snap.StartedBy,
	}
}

// Run takes d through the lifecycle and returns its final status. A
// deployment restored in the middle of the lifecycle resumes at its stage:
// the environment is brought back to that point and the stage's hooks run
// again, which idempotent hooks answer as if nothing happened. Cancelling ctx
// stops it where it is, without a final status.
func (s *Simulator) Run(ctx context.Context, d *Deployment) Status {
	// An operator's rollback request stops the stage under way, wherever
	// it is (a hook's wait, the bake time), and rolls back.
	runCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	go func() {
		select {
		case <-d.requested():
			snap := d.Snapshot()
			cancel(operatorRollback{reason: snap.Reason})
		case <-runCtx.Done():
		}
	}()
	status := s.run(runCtx, d)
	if snap := d.Snapshot(); ctx.Err() == nil && snap.Status == StatusRollbackRequested {
		return s.rollback(ctx, d, snap.Stage, errors.New(snap.Reason))
	}
	return status
}

// RequestRollback asks ECS to roll the deployment back, as
// StopServiceDeployment with stopType ROLLBACK does: the deployment is
// ROLLBACK_REQUESTED at once, the stage under way stops, and production
// traffic goes back to blue (which still runs until CLEAN_UP).
func (s *Simulator) RequestRollback(d *Deployment, reason string) error {
	snap := d.Snapshot()
	if snap.Status.Terminal() || snap.Status == StatusRollbackInProgress || snap.Status == StatusRollbackRequested {
		return ErrNotInProgress
	}
	if snap.Stage == StageCleanUp {
		return fmt.Errorf("%w: blue is already being removed (CLEAN_UP)", ErrNotInProgress)
	}
	d.requestOnce.Do(func() {
		d.set(func(d *Deployment) {
			d.status, d.reason, d.requestedAt, d.requestReason = StatusRollbackRequested, reason, s.Clock.Now(), reason
		})
		s.emit(d, Event{Stage: snap.Stage, Status: string(StatusRollbackRequested), Reason: reason})
		close(d.requested())
	})
	return nil
}

func (s *Simulator) run(ctx context.Context, d *Deployment) Status {
	from, status, ended := s.begin(ctx, d)
	if ended {
		return status
	}
	for i, stage := range Lifecycle {
		if ctx.Err() != nil {
			return d.Snapshot().Status
		}
		if i < from {
			if err := s.restore(ctx, stage); err != nil {
				return s.rollback(ctx, d, stage, err)
			}
			continue
		}
		if stage == hook.StageProductionTrafficShift {
			// Run with PRE_PRODUCTION_TRAFFIC_SHIFT, once per step.
			continue
		}
		var err error
		failed := stage
		if stage == hook.StagePreProductionTrafficShift {
			// Both stages run once per step of the strategy.
			resume := 0
			if i == from && from > 0 {
				resume = d.Snapshot().Step
			}
			err = s.shiftProduction(ctx, d, resume)
			failed = d.Snapshot().Stage
		} else {
			err = s.runLifecycleStage(ctx, d, stage)
		}
		if ctx.Err() != nil || errors.Is(err, errRollbackRequested) {
			return d.Snapshot().Status
		}
		if err != nil {
			return s.rollback(ctx, d, failed, err)
		}
	}
	d.set(func(d *Deployment) { d.status = StatusSuccessful; d.endedAt = s.Clock.Now() })
	s.emit(d, Event{Stage: StageCleanUp, Status: string(StatusSuccessful)})
	return StatusSuccessful
}

// begin starts d, or resumes it where it was: it returns the index in
// Lifecycle to run from, or the status d ended with (ended true) when it
// ended before reaching the lifecycle.
func (s *Simulator) begin(ctx context.Context, d *Deployment) (from int, status Status, ended bool) {
	if snap := d.Snapshot(); snap.Stage != "" {
		if snap.Status.Terminal() {
			return 0, snap.Status, true
		}
		from = max(slices.Index(Lifecycle, snap.Stage), 0)
		if snap.Stage == hook.StageProductionTrafficShift {
			// The steps resume together, at the step under way.
			from = slices.Index(Lifecycle, hook.StagePreProductionTrafficShift)
		}
		if snap.Status == StatusRollbackInProgress || snap.Status == StatusRollbackRequested {
			return 0, s.rollback(ctx, d, snap.Stage, errors.New(snap.Reason)), true
		}
		s.emit(d, Event{Stage: snap.Stage, Status: "RESUMED"})
		return from, "", false
	}
	d.set(func(d *Deployment) { d.startedAt = s.Clock.Now(); d.status = StatusInProgress })
	// RECONCILE_SERVICE comes first when more than one revision is active
	// as the deployment starts.
	if s.ActiveRevisions != nil && s.ActiveRevisions() > 1 {
		d.set(func(d *Deployment) { d.stage = hook.StageReconcileService })
		s.emit(d, Event{Stage: hook.StageReconcileService, Status: "STARTED"})
		if err := s.runStage(ctx, d, hook.StageReconcileService, false); err != nil {
			if ctx.Err() != nil || errors.Is(err, errRollbackRequested) {
				return 0, d.Snapshot().Status, true
			}
			return 0, s.rollback(ctx, d, hook.StageReconcileService, err), true
		}
	}
	return 0, "", false
}

// restore brings the environment to where a resumed deployment was, for a
// stage it had passed.
func (s *Simulator) restore(ctx context.Context, stage hook.Stage) error {
	switch stage {
	case StageScaleUp:
		return s.Env.StartGreen(ctx)
	case hook.StageTestTrafficShift:
		s.Env.RouteTest(Green)
	case hook.StageProductionTrafficShift:
		s.Env.RouteProduction(Green)
	}
	return nil
}

// runLifecycleStage runs one stage other than the production shift: what
// ECS does at it, then its hooks.
func (s *Simulator) runLifecycleStage(ctx context.Context, d *Deployment, stage hook.Stage) error {
	d.set(func(d *Deployment) { d.stage = stage })
	s.emit(d, Event{Stage: stage, Status: "STARTED"})
	var err error
	switch stage {
	case StageScaleUp:
		err = s.Env.StartGreen(ctx)
	case hook.StageTestTrafficShift:
		s.Env.RouteTest(Green)
	case StageBakeTime:
		err = s.bake(ctx)
	case StageCleanUp:
		s.Env.StopBlue()
	}
	if err == nil && stage.Valid() {
		err = s.runStage(ctx, d, stage, false)
	}
	return err
}

// shiftProduction moves production traffic to green step by step, from
// step from on: at each step ECS calls the PRE_PRODUCTION_TRAFFIC_SHIFT
// hooks, shifts the step's share, calls the PRODUCTION_TRAFFIC_SHIFT hooks
// with the step's weights, and waits the step (or canary) bake before the
// next. Blue/green is one step of 100%.
func (s *Simulator) shiftProduction(ctx context.Context, d *Deployment, from int) error {
	steps := s.Strategy.Steps()
	if from > 0 && from < len(steps) {
		// A restart: production is where the step before left it.
		s.weigh(steps[from-1])
	}
	for i := max(from, 0); i < len(steps); i++ {
		w := steps[i]
		d.set(func(d *Deployment) { d.step = i; d.stage = hook.StagePreProductionTrafficShift })
		s.emit(d, Event{Stage: hook.StagePreProductionTrafficShift, Status: "STARTED", Reason: s.stepLabel(i, steps)})
		if err := s.runStage(ctx, d, hook.StagePreProductionTrafficShift, false); err != nil {
			return err
		}
		d.set(func(d *Deployment) { d.stage = hook.StageProductionTrafficShift; d.green = w })
		s.weigh(w)
		s.emit(d, Event{Stage: hook.StageProductionTrafficShift, Status: "STARTED", Reason: s.stepLabel(i, steps), Green: &w})
		if err := s.runStage(ctx, d, hook.StageProductionTrafficShift, false); err != nil {
			return err
		}
		if bake := s.Strategy.BakeAfter(i); bake > 0 {
			s.emit(d, Event{Stage: hook.StageProductionTrafficShift, Status: "STEP_BAKE", Reason: fmt.Sprintf("%s with %g%% of production on green before the next step", hook.FormatDuration(bake), w)})
			if err := s.Clock.Sleep(ctx, bake); err != nil {
				return err
			}
		}
	}
	return nil
}

// AlarmPeriod is how often the simulated ECS looks at the deployment
// alarms during BAKE_TIME.
const AlarmPeriod = time.Minute

// bake waits BakeTime while blue still runs, looking at the deployment
// alarms every AlarmPeriod: one in ALARM rolls back.
func (s *Simulator) bake(ctx context.Context) error {
	for left := s.BakeTime; left > 0; {
		step := min(left, AlarmPeriod)
		if err := s.Clock.Sleep(ctx, step); err != nil {
			return err
		}
		left -= step
		if s.DeploymentAlarms != nil {
			if name, firing := s.DeploymentAlarms(s.Clock.Now()); firing {
				return fmt.Errorf("deployment alarm %s is in ALARM during %s", name, StageBakeTime)
			}
		}
	}
	return nil
}

// weigh sends green percent of production traffic to green.
func (s *Simulator) weigh(green float64) {
	if green >= 100 {
		s.Env.RouteProduction(Green)
		return
	}
	s.Env.WeighProduction(green)
}

// stepLabel names step i of steps for events: "" for blue/green.
func (s *Simulator) stepLabel(i int, steps []float64) string {
	if len(steps) == 1 {
		return ""
	}
	return fmt.Sprintf("%s step %d of %d: %g%% to green", s.Strategy.WithDefaults().Kind, i+1, len(steps), steps[i])
}

// rollback moves traffic back to blue, re-invoking the traffic-shift hooks
// with reversed weights as ECS does, and stops green.
func (s *Simulator) rollback(ctx context.Context, d *Deployment, at hook.Stage, cause error) Status {
	d.set(func(d *Deployment) { d.status = StatusRollbackInProgress; d.reason = cause.Error() })
	s.emit(d, Event{Stage: at, Status: string(StatusRollbackInProgress), Reason: cause.Error()})
	failed := false
	for _, stage := range []hook.Stage{hook.StageProductionTrafficShift, hook.StageTestTrafficShift} {
		if stage == hook.StageProductionTrafficShift {
			s.Env.RouteProduction(Blue)
			d.set(func(d *Deployment) { d.green = 0; d.blueAgainAt = s.Clock.Now() })
			s.emit(d, Event{Stage: stage, Status: "PRODUCTION_ON_BLUE", Reason: "all production traffic is back on blue"})
		} else {
			s.Env.RouteTest(Blue)
		}
		if err := s.runStage(ctx, d, stage, true); err != nil {
			if ctx.Err() != nil {
				// Stopped, not failed: the deployment stays
				// ROLLBACK_IN_PROGRESS, and a restart resumes the rollback.
				return d.Snapshot().Status
			}
			failed = true
		}
	}
	s.Env.StopGreen()
	final := StatusRollbackSuccessful
	if failed {
		final = StatusRollbackFailed
	}
	d.set(func(d *Deployment) { d.status = final; d.endedAt = s.Clock.Now() })
	s.emit(d, Event{Stage: at, Status: string(final), Reason: cause.Error()})
	return final
}

// runStage invokes every hook registered at stage in parallel and waits for
// all. The first failure cancels the others.
func (s *Simulator) runStage(ctx context.Context, d *Deployment, stage hook.Stage, rollback bool) error {
	var hooks []Hook
	for _, h := range s.Hooks {
		for _, st := range h.Stages {
			if st == stage {
				hooks = append(hooks, h)
			}
		}
	}
	if len(hooks) == 0 {
		return nil
	}
	lim := s.stageLimit(d, stage, hooks, rollback)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make(chan error, len(hooks))
	for _, h := range hooks {
		go func() {
			err := s.runHook(ctx, d, stage, h, rollback, lim)
			// The error goes out before the others are cancelled, so theirs
			// ("context canceled") can only come after it.
			errs <- err
			if err != nil {
				cancel()
			}
		}()
	}
	var first error
	for range hooks {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	return first
}

// limit is when ECS ends a stage whatever its hooks do, and why; zero: no
// such limit.
type limit struct {
	at  time.Time
	why string
}

// stageLimit is the limit of stage, whose hooks are hooks, starting now:
// 24 hours for a stage with Lambda hooks (with a PAUSE hook too, unless
// the behaviour reads that a PAUSE hook's timeout bounds its stage), and
// the 30 days a whole deployment may last. A rollback has none: it is
// never cut short.
func (s *Simulator) stageLimit(d *Deployment, stage hook.Stage, hooks []Hook, rollback bool) limit {
	if rollback {
		return limit{}
	}
	var lambda, pause bool
	for _, h := range hooks {
		lambda = lambda || !h.Pause
		pause = pause || h.Pause
	}
	now := s.Clock.Now()
	lim := limit{at: d.Snapshot().startedAtOr(now).Add(hook.MaxDeployment), why: fmt.Sprintf("the deployment reached %s, the longest ECS lets a service deployment last", hook.FormatDuration(hook.MaxDeployment))}
	if lambda && !(pause && s.Behaviour.withDefaults().MixedStage == MixedStagePause) {
		if at := now.Add(hook.MaxLambdaStage); at.Before(lim.at) {
			lim = limit{at: at, why: fmt.Sprintf("%s lasted %s, the longest ECS lets a stage with Lambda hooks last", stage, hook.FormatDuration(hook.MaxLambdaStage))}
		}
	}
	return lim
}

// startedAtOr is when the deployment started, or now before it has.
func (s Snapshot) startedAtOr(now time.Time) time.Time {
	if s.StartedAt.IsZero() {
		return now
	}
	return s.StartedAt
}

// bounded returns the earlier of deadline and lim, and whether lim is it.
func bounded(deadline time.Time, lim limit) (time.Time, bool) {
	if !lim.at.IsZero() && lim.at.Before(deadline) {
		return lim.at, true
	}
	return deadline, false
}

// runHook calls one hook until it answers SUCCEEDED or FAILED, or times
// out, or the stage reaches its limit.
func (s *Simulator) runHook(ctx context.Context, d *Deployment, stage hook.Stage, h Hook, rollback bool, lim limit) error {
	if h.Pause {
		return s.runPause(ctx, d, stage, h, rollback, lim)
	}
	timeout := h.Timeout
	if timeout == 0 {
		timeout = hook.DefaultTimeout
	}
	deadline, limited := bounded(s.Clock.Now().Add(timeout), lim)
	details := h.Details
	execution := randomUUID()
	for {
		// An operator's rollback request ends a forward stage before the
		// next call, whatever the clock does.
		if !rollback {
			select {
			case <-d.requested():
				return errRollbackRequested
			default:
			}
		}
		payload, err := s.Payload(d, stage, execution, details, rollback)
		if err != nil {
			return err
		}
		res, done, err := s.call(ctx, d, stage, h, payload)
		if done || err != nil {
			return err
		}
		details, err = s.Behaviour.next(h.Details, details, res.HookDetails)
		if err != nil {
			return fmt.Errorf("hook %s at %s: %w", h.Name, stage, err)
		}
		delay := res.CallBackDelay
		if delay == 0 {
			delay = 30
		}
		wait := time.Duration(hook.ClampDelay(delay)) * time.Second
		if !s.Clock.Now().Add(wait).Before(deadline) {
			if err := s.Clock.Sleep(ctx, deadline.Sub(s.Clock.Now())); err != nil {
				return err
			}
			if limited {
				s.emit(d, Event{Stage: stage, Hook: h.Name, Status: "TIMED_OUT", Reason: lim.why})
				return fmt.Errorf("hook %s at %s: %s", h.Name, stage, lim.why)
			}
			if h.OnTimeout == TimeoutContinue {
				s.emit(d, Event{Stage: stage, Hook: h.Name, Status: "TIMED_OUT", Reason: "timeout action CONTINUE"})
				return nil
			}
			s.emit(d, Event{Stage: stage, Hook: h.Name, Status: "TIMED_OUT", Reason: "timeout action ROLLBACK"})
			return fmt.Errorf("hook %s timed out at %s after %s", h.Name, stage, timeout)
		}
		if err := s.Clock.Sleep(ctx, wait); err != nil {
			return err
		}
	}
}

// call invokes the Lambda hook h once with payload, as ECS does, and tells
// what it answered: done with a nil error for SUCCEEDED, an error for
// FAILED, a function error (a timeout included) or an invalid answer, and
// neither for IN_PROGRESS.
func (s *Simulator) call(ctx context.Context, d *Deployment, stage hook.Stage, h Hook, payload []byte) (hook.Response, bool, error) {
	called := s.Clock.Now()
	res, err := h.Invoke(ctx, payload)
	if ctx.Err() != nil {
		return res, true, ctx.Err()
	}
	if took := s.Clock.Now().Sub(called); err == nil && h.FunctionTimeout > 0 && took > h.FunctionTimeout {
		// Lambda ends the invocation at the function's timeout: to ECS
		// that is a function error, whatever the function would have
		// answered.
		err = fmt.Errorf("the function timed out after %s (its timeout is %s)", hook.FormatDuration(took), hook.FormatDuration(h.FunctionTimeout))
	}
	if err != nil {
		// A function error is a rollback in ECS.
		s.emit(d, Event{Stage: stage, Hook: h.Name, Status: "ERROR", Reason: err.Error()})
		return res, true, fmt.Errorf("hook %s at %s: %w", h.Name, stage, err)
	}
	s.emit(d, Event{Stage: stage, Hook: h.Name, Status: string(res.HookStatus), Reason: res.Reason, Delay: res.CallBackDelay})
	switch res.HookStatus {
	case hook.StatusSucceeded:
		return res, true, nil
	case hook.StatusFailed:
		reason := res.Reason
		if reason == "" {
			reason = "no reason given"
		}
		return res, true, fmt.Errorf("hook %s failed at %s: %s", h.Name, stage, reason)
	case hook.StatusInProgress:
		return res, false, nil
	}
	return res, true, fmt.Errorf("hook %s at %s answered an invalid status %q", h.Name, stage, res.HookStatus)
}

// Payload builds the request ECS sends to a hook at stage, with the weights
// ECS documents for it: test weights at TEST_TRAFFIC_SHIFT, production
// weights at PRE_PRODUCTION_TRAFFIC_SHIFT (before the step's shift) and
// PRODUCTION_TRAFFIC_SHIFT (after it), reversed during a rollback, else
// empty maps.
func (s *Simulator) Payload(d *Deployment, stage hook.Stage, execution string, details json.RawMessage, rollback bool) (json.RawMessage, error) {
	test, prod := map[string]float64{}, map[string]float64{}
	green, blue := 100.0, 0.0
	if rollback {
		green, blue = 0, 100
	}
	switch stage {
	case hook.StageTestTrafficShift:
		test = map[string]float64{d.TargetRevision: green, d.SourceRevision: blue}
	case hook.StagePreProductionTrafficShift:
		// Production as it stands before the step (green 0, blue 100
		// before the first, as documented), test weights empty.
		now := d.Snapshot().ProductionGreen
		prod = map[string]float64{d.TargetRevision: now, d.SourceRevision: 100 - now}
	case hook.StageProductionTrafficShift:
		if !rollback {
			// The step's weights (100/0 for blue/green).
			green = d.Snapshot().ProductionGreen
			if green == 0 {
				green = 100
			}
			blue = 100 - green
		}
		prod = map[string]float64{d.TargetRevision: green, d.SourceRevision: blue}
	}
	if rollback {
		// Reversed weights are documented; the other readings stress the
		// hooks.
		switch s.Behaviour.withDefaults().RollbackWeights {
		case RollbackEmpty:
			test, prod = map[string]float64{}, map[string]float64{}
		case RollbackAbsent:
			test, prod = nil, nil
		}
	}
	req := hook.Request{
		ExecutionID:    execution,
		LifecycleStage: stage,
		ResourceARN:    d.ARN,
		ExecutionDetails: hook.ExecutionDetails{
			ServiceARN:               s.Service.ARN(),
			TargetServiceRevisionARN: d.TargetRevision,
			TestTrafficWeights:       test,
			ProductionTrafficWeights: prod,
		},
		HookDetails: details,
	}
	out, err := json.Marshal(req)
	if err != nil || test != nil {
		return out, err
	}
	// Absent weights: no keys at all, not null.
	var wire map[string]any
	if err := json.Unmarshal(out, &wire); err != nil {
		return nil, err
	}
	if ed, ok := wire["executionDetails"].(map[string]any); ok {
		delete(ed, "testTrafficWeights")
		delete(ed, "productionTrafficWeights")
	}
	return json.Marshal(wire)
}

// merge merges returned hookDetails into the configured ones, top-level keys
// of the returned object replacing the same keys.
func merge(base, returned json.RawMessage) (json.RawMessage, error) {
	if len(returned) == 0 || string(returned) == "null" {
		return base, nil
	}
	var b, r map[string]json.RawMessage
	if len(base) > 0 {
		if err := json.Unmarshal(base, &b); err != nil {
			return nil, fmt.Errorf("hookDetails: %w", err)
		}
	}
	if err := json.Unmarshal(returned, &r); err != nil {
		return nil, fmt.Errorf("returned hookDetails are not a JSON object: %w", err)
	}
	if b == nil {
		b = map[string]json.RawMessage{}
	}
	maps.Copy(b, r)
	return json.Marshal(b)
}

func (s *Simulator) emit(d *Deployment, e Event) {
	e.At = s.Clock.Now()
	d.set(func(d *Deployment) { d.events = append(d.events, e) })
	if s.OnEvent != nil {
		s.OnEvent(d, e)
	}
}

func randomID() string {
	b := make([]byte, 11)
	_, _ = rand.Read(b)
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	var sb strings.Builder
	for _, c := range b {
		sb.WriteByte(alphabet[int(c)%len(alphabet)])
	}
	return "local" + sb.String()
}

func randomUUID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
