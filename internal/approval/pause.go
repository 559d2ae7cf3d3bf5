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
)

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
	if ev.EventName != hook.HookAwaitingAction || g.Pauses == nil {
		return nil, nil
	}
	d, err := hook.ParseDeploymentARN(ev.DeploymentARN)
	if err != nil {
		g.Log.WarnContext(ctx, "pause event ignored: no service deployment", "err", err)
		return nil, nil
	}
	waiting, err := g.Pauses.Awaiting(ctx, d.String(), ev.HookID)
	if err != nil {
		return nil, fmt.Errorf("describe the paused deployment: %w", err)
	}
	if len(waiting) == 0 {
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
		settings := s
		settings.Gate = PauseGate(w.HookID)
		// Nothing polls a PAUSE request: it does not hold its messages for
		// a smoke verdict it would never read again. A smoke hook at the
		// stage still gates the deployment: ECS waits for both.
		no := false
		settings.WaitForSmoke = &no
		p := Poll{Deployment: d, Stage: w.Stage, ServiceARN: w.ServiceARN, TargetRevisionARN: w.TargetRevisionARN, Settings: settings, PauseHookID: w.HookID}
		key := GateKey(d, w.Stage, settings.Gate)
		var v Verdict
		if w.TimeoutAction == "CONTINUE" && !s.Policy.TimeoutAction {
			// Silence would deploy: refused, and rolled back below.
			if err := g.Refuse(ctx, p, timeoutContinueRefusal); err != nil {
				return out, err
			}
			v.Outcome = Refused
		} else if v, err = g.Poll(ctx, p); err != nil {
			return out, err
		}
		if v.Outcome != Pending {
			// Closed as it opened (refused, aborted): ECS is told now.
			if v, err = g.Settle(ctx, key); err != nil {
				return out, err
			}
		}
		out = append(out, v)
	}
	return out, nil
}

// continueStep ends a closed pause request's wait: it fixes the action
// first (one write), then tells ECS and records what it said.
func (g *Gate) continueStep(ctx context.Context, key string, r *Request, now time.Time) step {
	next := clone(r)
	if next.Pause.Action == "" {
		next.Pause.Action = "ROLLBACK"
		if r.Passes(r.Outcome) {
			next.Pause.Action = "CONTINUE"
		}
		next.record(now, "continue", "gatehouse", "deciding: ContinueServiceDeployment "+next.Pause.Action)
		return step{next: next}
	}
	err := g.Pauses.Continue(ctx, r.DeploymentARN, r.Pause.HookID, r.Pause.Action)
	next.Pause.Attempts++
	switch {
	case err == nil:
		next.Pause.Done, next.Pause.Result = &now, "accepted"
		next.record(now, "continue", "gatehouse", "ECS took ContinueServiceDeployment "+r.Pause.Action)
	case errors.Is(err, ErrHookNotWaiting):
		next.Pause.Done, next.Pause.Result = &now, oneLine(err.Error())
		next.record(now, "continue", "gatehouse", "ECS says the hook no longer awaits action: "+oneLine(err.Error()))
	default:
		// Recorded, and asked again later: never lost.
		next.record(now, "continue", "gatehouse", "ContinueServiceDeployment "+r.Pause.Action+" failed, to be retried: "+oneLine(err.Error()))
	}
	return step{next: next, then: func(string) (Verdict, error) { return g.verdict(next, next.Outcome), nil }}
}

// pauseDue reports whether r is a closed pause request whose wait ECS has
// not been told to end.
func (r *Request) pauseDue() bool {
	return r.Pause != nil && r.Outcome != Pending && r.AnnouncedAt != nil && r.Pause.Done == nil
}

// Settle moves the request at key on at once after a vote: a closed
// request announces its outcome and, when it holds a PAUSE hook, ends the
// hook's wait with the action its outcome decides. The review API calls it
// after a deciding vote, so the deployment goes on (or rolls
// back) without waiting for a poll. A pending request is moved on as a
// poll would move it. A call ECS fails transiently is recorded, and made
// again by the next Settle or event.
func (g *Gate) Settle(ctx context.Context, key string) (Verdict, error) {
	var v Verdict
	for range 4 {
		obj, err := g.Store.Get(ctx, key)
		if err != nil {
			return v, fmt.Errorf("load approval %s: %w", key, err)
		}
		r, err := g.decode(key, obj.Body)
		if err != nil {
			return v, err
		}
		if r.Evaluate(g.Now()) == Pending {
			// Moved on as a poll would (a due deployer lookup, messages
			// not yet sent): for a PAUSE request, a vote is the only clock.
			return g.advance(ctx, key, obj.ETag, r)
		}
		if r.Pause == nil && r.AnnouncedAt != nil || r.Pause != nil && r.Pause.Done != nil {
			return g.verdict(r, r.Evaluate(g.Now())), nil
		}
		before := attemptsOf(r)
		if v, err = g.advance(ctx, key, obj.ETag, r); err != nil {
			return v, err
		}
		if after, err := g.Store.Get(ctx, key); err == nil {
			if n, err := Decode(after.Body); err == nil && n.Pause != nil && n.Pause.Done == nil && attemptsOf(n) > before {
				// ECS failed transiently: recorded; asked again later.
				return v, nil
			}
		}
	}
	return v, nil
}

func attemptsOf(r *Request) int {
	if r.Pause == nil {
		return 0
	}
	return r.Pause.Attempts
}
