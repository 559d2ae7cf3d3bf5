package approval

// Approvals on ECS PAUSE hooks: ECS waits; the deciding vote continues the
// deployment (ECS-HOOKS.md, section 7).

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/hook"
	"github.com/gatehouse-dev/gatehouse/internal/layout"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// PauseHookType is the hookType of a PAUSE hook's events.
const PauseHookType = "PAUSE"

// Paused is a PAUSE hook awaiting action, as ECS describes it.
type Paused struct {
	// HookID names the hook's run; Stage is where the deployment waits.
	HookID string
	Stage  hook.Stage
	// ServiceARN and TargetRevisionARN name the service and green.
	ServiceARN, TargetRevisionARN string
	// ExpiresAt is the hook's timeout, when ECS says; TimeoutAction what
	// ECS does then (ROLLBACK or CONTINUE), when it says.
	ExpiresAt     *time.Time
	TimeoutAction string
}

// PauseHooks reads and ends PAUSE hooks' waits: ECS in AWS.
type PauseHooks interface {
	// Awaiting returns the PAUSE hook hookID of the deployment while it
	// awaits action (every one awaiting, for an empty hookID); none when
	// the deployment or the hook is unknown, or finished.
	Awaiting(ctx context.Context, deploymentARN, hookID string) ([]Paused, error)
	// Continue ends the hook's wait with action, CONTINUE or ROLLBACK. An
	// error wrapping ErrHookNotWaiting means ECS says it waits no more.
	Continue(ctx context.Context, deploymentARN, hookID, action string) error
	// State returns what ECS says of the hook hookID and its deployment
	// (HookState); an error means ECS could not be asked.
	State(ctx context.Context, deploymentARN, hookID string) (HookState, error)
}

// ErrHookNotWaiting: ECS says the PAUSE hook waits no more (it timed out,
// was continued, or the deployment rolls back).
var ErrHookNotWaiting = errors.New("the hook no longer awaits action")

// PauseRun is a request's PAUSE hook, and what was done to end its wait.
type PauseRun struct {
	HookID string `json:"hookId"`
	// Action is CONTINUE or ROLLBACK, fixed once, when the request closes,
	// before ECS is told: it is never sent twice with different actions.
	Action string `json:"action,omitempty"`
	// Done is when ECS took it, or said the hook waits no more (Result).
	Done   *time.Time `json:"done,omitempty"`
	Result string     `json:"result,omitempty"`
	// Claimed is when a caller claimed the call to ECS (ContinueLease);
	// nil once what ECS said is recorded.
	Claimed *time.Time `json:"claimed,omitempty"`
	// RetryAt is when a call ECS failed is due again.
	RetryAt *time.Time `json:"retryAt,omitempty"`
	// Attempts counts the calls.
	Attempts int `json:"attempts,omitempty"`
}

// PauseGate is the gate name under which the request of a PAUSE hook's
// run is kept: one request per deployment and hookId.
func PauseGate(hookID string) string {
	sum := sha256.Sum256([]byte(hookID))
	return "pause-" + hex.EncodeToString(sum[:8])
}

// OpenPause answers an "ECS Hook State Change" event: for a PAUSE hook
// that ECS confirms awaits action, it opens the approval request (notifying
// the approvers) or, when it exists, moves it on, exactly as a hook call
// does. Other events, and events for what ECS does not confirm (unknown,
// finished, forged), change nothing and send nothing.
func (g *Gate) OpenPause(ctx context.Context, ev hook.PauseEvent, s Settings) ([]Verdict, error) {
	if ev.EventName != hook.HookAwaitingAction || ev.HookType != "" && ev.HookType != PauseHookType || g.Pauses == nil {
		return nil, nil
	}
	d, err := hook.ParseDeploymentARN(ev.DeploymentARN)
	if err != nil {
		g.Log.WarnContext(ctx, "pause event ignored: no service deployment", "err", err)
		return nil, nil
	}
	waiting, err := g.Pauses.Awaiting(ctx, d.String(), ev.HookID)
	if err != nil {
		if ev.HookID != "" && ev.Stage.Valid() {
			// ECS cannot be asked now, and Lambda retries an event only
			// twice: marked from what the event says, for the sweep, which
			// asks ECS again before it opens anything.
			if merr := g.mark(ctx, GateKey(d, ev.Stage, PauseGate(ev.HookID)), d, ev.HookID, ev.Stage); merr != nil {
				err = errors.Join(err, merr)
			}
		}
		return nil, fmt.Errorf("describe the paused deployment: %w", err)
	}
	if len(waiting) == 0 {
		if ev.HookID != "" && ev.Stage.Valid() {
			// ECS may not list the hook yet: marked, and the sweep asks
			// again for UnconfirmedFor.
			return nil, g.mark(ctx, GateKey(d, ev.Stage, PauseGate(ev.HookID)), d, ev.HookID, ev.Stage)
		}
		g.Log.InfoContext(ctx, "pause event ignored: ECS lists no such hook awaiting action", "deployment_arn", d.String())
		return nil, nil
	}
	var out []Verdict
	for _, w := range waiting {
		if !w.Stage.Valid() {
			w.Stage = ev.Stage
		}
		if !w.Stage.Valid() {
			g.Log.WarnContext(ctx, "pause event ignored: no lifecycle stage", "deployment_arn", d.String(), "hook_id", w.HookID)
			continue
		}
		v, err := g.openPaused(ctx, d, w, s)
		if err != nil {
			return out, err
		}
		out = append(out, v)
	}
	return out, nil
}

// openPaused opens (or moves on) the request of one PAUSE hook awaiting
// action, with the service's settings from its tags.
func (g *Gate) openPaused(ctx context.Context, d hook.DeploymentARN, w Paused, s Settings) (Verdict, error) {
	key := GateKey(d, w.Stage, PauseGate(w.HookID))
	// Marked before anything can fail, with what the sweep needs to open
	// the request itself: none goes unswept, even when every delivery of
	// the event fails.
	if err := g.mark(ctx, key, d, w.HookID, w.Stage); err != nil {
		return Verdict{}, err
	}
	p := Poll{Deployment: d, Stage: w.Stage, ServiceARN: w.ServiceARN, TargetRevisionARN: w.TargetRevisionARN, PauseHookID: w.HookID}
	// A later step of a deployment decided at an earlier one: that
	// decision, with the settings read when it opened, stands for the
	// whole deployment, whatever the service's tags say now.
	if v, ok, err := g.laterStep(ctx, key, p); ok || err != nil {
		return v, err
	}
	settings, refusal, err := g.pauseSettings(ctx, w.ServiceARN, s)
	if errors.Is(err, errNotOurs) {
		if _, gerr := g.Store.Get(ctx, key); !errors.Is(gerr, store.ErrNotFound) {
			// A request opened while the service had the tag goes on
			// being swept, whatever its tags say now.
			return Verdict{}, gerr
		}
		g.Log.InfoContext(ctx, "pause event ignored: the service does not ask gatehouse to decide its PAUSE hooks", "deployment_arn", d.String(), "tag", TagOptIn)
		return Verdict{}, g.unmark(ctx, markerKey(key))
	}
	if err != nil {
		return Verdict{}, err
	}
	settings.Gate = PauseGate(w.HookID)
	if g.Index == nil {
		// Nothing sweeps this request: it does not hold its messages for
		// a smoke verdict nobody would read. A smoke hook at the stage
		// still gates the deployment: ECS waits for both.
		no := false
		settings.WaitForSmoke = &no
	}
	p.Settings = settings
	if refusal == "" && w.TimeoutAction == "CONTINUE" && !settings.Policy.TimeoutAction {
		// Silence would deploy.
		refusal = timeoutContinueRefusal
	}
	var v Verdict
	if refusal != "" {
		// Refused, and rolled back below.
		if err := g.Refuse(ctx, p, refusal); err != nil {
			return v, err
		}
		v.Outcome = Refused
	} else if v, err = g.Poll(ctx, p); err != nil {
		return v, err
	}
	if v.Outcome != Pending {
		// Closed as it opened (refused, aborted): ECS is told now.
		return g.Settle(ctx, key)
	}
	return v, nil
}

// pauseSettings returns the settings of a PAUSE hook's request: s
// overridden by the service's tags. Bad tags are a refusal, naming the
// tag; an error is a failure to read them, to try again.
func (g *Gate) pauseSettings(ctx context.Context, serviceARN string, s Settings) (Settings, string, error) {
	if g.Tags == nil {
		return s, "", nil
	}
	tags, err := g.Tags.Tags(ctx, serviceARN)
	if err != nil {
		return s, "", fmt.Errorf("read the service's tags: %w", err)
	}
	if tags[TagOptIn] != OptInApproval {
		return s, "", errNotOurs
	}
	settings, err := ApplyTags(s, tags)
	if err != nil {
		at := s
		at.Gate = settings.Gate
		return at, "invalid approval settings: " + hook.OneLine(err.Error()), nil
	}
	return settings, "", nil
}

// ContinueLease is how long a caller that claimed the call to
// ContinueServiceDeployment has to make it and record what ECS said
// before another caller may make it again.
const ContinueLease = time.Minute

// retryDelay is how long after its attempt-th failure the call is made
// again: a minute, doubling, at most MaxContinueDelay.
func retryDelay(attempt int) time.Duration {
	d := time.Minute
	for i := 1; i < attempt && d < MaxContinueDelay; i++ {
		d *= 2
	}
	return min(d, MaxContinueDelay)
}

// MaxContinueDelay bounds the wait between two calls ECS failed.
const MaxContinueDelay = 15 * time.Minute

// continueTimeout bounds one ContinueServiceDeployment call.
const continueTimeout = 10 * time.Second

// continueStep ends a closed pause request's wait. The action is fixed, and
// the call claimed, in one write before ECS is told; only the claimer calls,
// then records what ECS said. So the action is never sent with two values,
// and twice only when a claimer died mid-call (ECS then refuses the second).
func (g *Gate) continueStep(ctx context.Context, key string, r *Request, now time.Time) step {
	if r.Pause.Claimed != nil && now.Sub(*r.Pause.Claimed) < ContinueLease || r.Pause.RetryAt != nil && now.Before(*r.Pause.RetryAt) {
		// Another caller is telling ECS right now, or ECS failed and the
		// next try is not due.
		return step{answer: g.verdict(r, r.Evaluate(now))}
	}
	next := clone(r)
	if next.Pause.Action == "" {
		next.Pause.Action = "ROLLBACK"
		if r.Passes(r.Outcome) {
			next.Pause.Action = "CONTINUE"
		}
		next.record(now, "continue", "gatehouse", "deciding: ContinueServiceDeployment "+next.Pause.Action)
	}
	next.Pause.Claimed = &now
	next.Pause.Attempts++
	return step{next: next, then: func(newTag string) (Verdict, error) {
		cctx, cancel := context.WithTimeout(ctx, continueTimeout)
		err := g.Pauses.Continue(cctx, next.DeploymentARN, next.Pause.HookID, next.Pause.Action)
		cancel()
		done, err := g.recordContinue(ctx, key, newTag, next, err)
		if err != nil {
			return Verdict{}, err
		}
		return g.verdict(done, done.Outcome), nil
	}}
}

// recordContinue writes down what ECS said to the claimed call, on the
// freshest copy of the request. A hook that no longer waits is described
// again: someone else may have ended it first, overriding the decision.
func (g *Gate) recordContinue(ctx context.Context, key, etag string, r *Request, called error) (*Request, error) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
	defer cancel()
	var st *HookState
	if errors.Is(called, ErrHookNotWaiting) {
		if s, err := g.Pauses.State(rctx, r.DeploymentARN, r.Pause.HookID); err == nil && !s.Waiting() {
			st = &s
		}
	}
	var k endKind
	done, newTag, err := Update(rctx, g.Store, key, etag, r, func(n *Request) error {
		k = endNone
		if n.Pause == nil || n.Pause.Done != nil {
			return nil
		}
		at := g.Now()
		n.Pause.Claimed, n.Pause.RetryAt = nil, nil
		action := n.Pause.Action
		switch {
		case called == nil:
			n.Pause.Done, n.Pause.Result = &at, "accepted"
			n.record(at, "continue", "gatehouse", "ECS took ContinueServiceDeployment "+action)
		case errors.Is(called, ErrHookNotWaiting) && st != nil:
			k = n.endPause(*st, at)
		case errors.Is(called, ErrHookNotWaiting):
			n.Pause.Done, n.Pause.Result = &at, oneLine(called.Error())
			n.record(at, "continue", "gatehouse", "ECS says the hook no longer awaits action: "+oneLine(called.Error()))
		default:
			// Made again by a later sweep, backing off: never lost. The
			// audit keeps the first failures and then every doubling.
			retry := at.Add(retryDelay(n.Pause.Attempts))
			n.Pause.RetryAt = &retry
			if a := n.Pause.Attempts; a&(a-1) == 0 {
				n.record(at, "continue", "gatehouse", fmt.Sprintf("ContinueServiceDeployment %s failed (attempt %d), to be retried: %s", action, a, oneLine(called.Error())))
			}
		}
		return nil
	})
	if err != nil {
		g.Log.ErrorContext(ctx, "what ECS said to ContinueServiceDeployment was not recorded", "key", key, "err", err)
		return r, err
	}
	g.told(ctx, key, newTag, done, k)
	if called != nil && !errors.Is(called, ErrHookNotWaiting) && !hook.IsTransient(called) {
		// Denied, or refused for good: retried, and reported, so that
		// the function's Errors alarm says ECS is not being told.
		return done, fmt.Errorf("ECS refused ContinueServiceDeployment %s (to be retried at %s; gatehouse may continue only services tagged %s=%s: was the tag removed?): %w",
			done.Pause.Action, done.Pause.RetryAt.UTC().Format(time.RFC3339), TagOptIn, OptInApproval, called)
	}
	return done, nil
}

// pauseDue reports whether r is a closed pause request whose wait ECS has
// not been told to end.
func (r *Request) pauseDue() bool {
	return r.Pause != nil && r.Outcome != Pending && r.AnnouncedAt != nil && r.Pause.Done == nil
}

// Settle moves the request at key on at once after a vote: a closed
// request announces its outcome and, when it holds a PAUSE hook, ends the
// hook's wait with the action its outcome decides. The review API calls it
// after a deciding vote, so the deployment goes on (or rolls back) without
// waiting for the sweep. A pending request is moved on as a poll would
// move it. A call ECS fails transiently is recorded, and made again by the
// next sweep.
func (g *Gate) Settle(ctx context.Context, key string) (Verdict, error) {
	obj, err := g.Store.Get(ctx, key)
	if err != nil {
		return Verdict{}, fmt.Errorf("load approval %s: %w", key, err)
	}
	return g.settle(ctx, key, obj)
}

// settle is Settle on the copy obj: a pending request, or one ECS has been
// told about, costs no more than that one read.
func (g *Gate) settle(ctx context.Context, key string, obj store.Object) (Verdict, error) {
	var v Verdict
	// Announce, then tell ECS: two steps at most.
	for i := range 2 {
		if i > 0 {
			var err error
			if obj, err = g.Store.Get(ctx, key); err != nil {
				return v, fmt.Errorf("load approval %s: %w", key, err)
			}
		}
		r, err := g.decode(key, obj.Body)
		if err != nil {
			return v, err
		}
		now := g.Now()
		o := r.Evaluate(now)
		if o == Pending {
			// Moved on as a poll would (a due deployer lookup, messages
			// not yet sent, expiry, reminders, the watched alarms).
			return g.advance(ctx, key, obj.ETag, r)
		}
		if r.Pause == nil && r.AnnouncedAt != nil || r.Pause != nil && (r.Pause.Done != nil || r.Pause.Claimed != nil && now.Sub(*r.Pause.Claimed) < ContinueLease || r.Pause.RetryAt != nil && now.Before(*r.Pause.RetryAt)) {
			return g.verdict(r, o), nil
		}
		calling := r.pauseDue()
		if v, err = g.advance(ctx, key, obj.ETag, r); err != nil || calling {
			// ECS is asked once a call: a failure waits for the sweep.
			return v, err
		}
	}
	return v, nil
}

// SettlePause is Settle for the CLI's settle event: only for the request
// of a PAUSE hook, at a key under KeyPrefix; anything else is refused.
func (g *Gate) SettlePause(ctx context.Context, key string) (Verdict, error) {
	if !layout.IsRequest(key) {
		return Verdict{}, fmt.Errorf("settle %q: not an approval request's key", key)
	}
	obj, err := g.Store.Get(ctx, key)
	if err != nil {
		return Verdict{}, fmt.Errorf("load approval %s: %w", key, err)
	}
	r, err := g.decode(key, obj.Body)
	if err != nil {
		return Verdict{}, err
	}
	if r.Pause == nil {
		return Verdict{}, fmt.Errorf("settle %s: not the request of a PAUSE hook (a Lambda hook's call settles it)", key)
	}
	return g.settle(ctx, key, obj)
}

// PauseState says where the ECS PAUSE hook of r stands, for the page and
// the CLI; "" for a request without one.
func (r *Request) PauseState() string {
	p := r.Pause
	switch {
	case p == nil:
		return ""
	case p.Action == "" && r.Outcome == Pending:
		return "ECS holds the deployment at this stage (PAUSE hook " + p.HookID + ") until the decision: the deciding vote continues it at once."
	case p.Action == "":
		return "decided; ECS is yet to be told (the suite's sweep tells it within a minute)."
	case p.Done != nil && p.Result == "accepted":
		return "ECS was told " + p.Action + " at " + p.Done.UTC().Format("2006-01-02 15:04:05 MST") + "."
	case p.Done != nil && r.Outcome == ContinuedOutside:
		return "continued outside gatehouse: the deployment went on without gatehouse's approval (" + p.Result + ")."
	case p.Done != nil:
		return "ECS says the paused deployment no longer waits: " + p.Result
	}
	return fmt.Sprintf("ECS is being told %s (%d attempt(s) so far; told again until it takes it).", p.Action, p.Attempts)
}
