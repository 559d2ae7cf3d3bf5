package approval

// A PAUSE hook anyone allowed ecs:ContinueServiceDeployment can end: the
// console's "Take action", the AWS CLI, a CI role with ecs:* (ECS-HOOKS.md,
// section 7). A request whose hook ECS reports ended, without gatehouse's
// own recorded continue, is closed with an outcome of its own, never
// approved; its approvers are told.

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/hook"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// HookState is what ECS says of a PAUSE hook and its deployment.
type HookState struct {
	// Deployment is the deployment's status (IN_PROGRESS,
	// ROLLBACK_IN_PROGRESS, SUCCESSFUL, ...); empty when ECS does not know
	// the deployment.
	Deployment string
	// Status is the hook's (AWAITING_ACTION, SUCCEEDED, FAILED,
	// TIMED_OUT); empty when ECS no longer lists it (the deployment moved
	// on from its stage).
	Status string
}

// Hook statuses, as ECS names them.
const (
	HookAwaiting  = "AWAITING_ACTION"
	HookSucceeded = "SUCCEEDED"
	HookFailed    = "FAILED"
	HookTimedOut  = "TIMED_OUT"
)

// Waiting reports whether ECS still holds the deployment at the hook.
func (s HookState) Waiting() bool {
	return s.Status == HookAwaiting && s.Deployment == "IN_PROGRESS"
}

// ContinuedOutside closes a request whose PAUSE hook ECS ended with a
// ContinueServiceDeployment gatehouse did not make: never an approval.
const ContinuedOutside Outcome = "continued-outside"

// ending is how a pending request whose hook no longer waits is closed.
type ending struct {
	outcome Outcome
	why     string
}

// Ended says, for people, why a request whose PAUSE hook ECS describes as
// st takes no vote; ok is false while the hook waits.
func (s HookState) Ended() (why string, ok bool) {
	e, ok := ended(s)
	return e.why, ok
}

// ended says how a pending request whose PAUSE hook ECS describes as st is
// closed; ok is false while the hook waits.
func ended(st HookState) (e ending, ok bool) {
	switch {
	case st.Waiting():
		return ending{}, false
	case st.Deployment == "":
		return ending{Aborted, "ECS no longer knows the deployment"}, true
	case st.Status == HookSucceeded || st.Status == "" && (st.Deployment == "IN_PROGRESS" || st.Deployment == "SUCCESSFUL"):
		return ending{ContinuedOutside, "ECS reports this PAUSE hook continued, but gatehouse never told ECS to go on and nobody approved here: someone allowed ecs:ContinueServiceDeployment did (the console's Take action, the AWS CLI, a role); the deployment went on unapproved"}, true
	case st.Status == HookFailed:
		return ending{ContinuedOutside, "ECS reports this PAUSE hook ended with ROLLBACK, and gatehouse never told it to: someone allowed ecs:ContinueServiceDeployment rolled the deployment back (deployment " + st.Deployment + ")"}, true
	case st.Status == HookTimedOut:
		return ending{Aborted, "ECS timed this PAUSE hook out before anyone decided (deployment " + st.Deployment + ")"}, true
	}
	return ending{Aborted, "ECS no longer holds the deployment at this PAUSE hook: it reports the deployment " + st.Deployment + " and the hook " + orUnlisted(st.Status)}, true
}

func orUnlisted(s string) string {
	if s == "" {
		return "no longer listed"
	}
	return s
}

// ours reports whether ECS's st is what gatehouse's own fixed action made
// of the hook: SUCCEEDED after CONTINUE, FAILED after ROLLBACK.
func ours(p *PauseRun, st HookState) bool {
	moved := st.Status == "" && st.Deployment != ""
	switch p.Action {
	case "CONTINUE":
		return st.Status == HookSucceeded || moved && (st.Deployment == "IN_PROGRESS" || st.Deployment == "SUCCESSFUL")
	case "ROLLBACK":
		return st.Status == HookFailed || moved && st.Deployment != "IN_PROGRESS" && st.Deployment != "SUCCESSFUL"
	}
	return false
}

// endTimeout bounds asking ECS about one hook.
const endTimeout = 5 * time.Second

// HookStates reads what ECS says of a PAUSE hook. PauseHooks satisfies
// it.
type HookStates interface {
	State(ctx context.Context, deploymentARN, hookID string) (HookState, error)
}

// PauseEnded reads what ECS says of r's PAUSE hook and says, for the page
// and the CLI, why r can take no vote: its hook no longer waits. It writes
// nothing (a GET shows it; the sweep, the hook's outcome event or a vote
// closes the request). "" while the hook waits, for a request with no
// PAUSE hook or already decided at now, or when ECS cannot be asked.
func PauseEnded(ctx context.Context, states HookStates, r *Request, now time.Time) string {
	if states == nil || r.Pause == nil || r.Pause.Done != nil || r.Evaluate(now) != Pending {
		return ""
	}
	ctx, cancel := context.WithTimeout(ctx, endTimeout)
	defer cancel()
	st, err := states.State(ctx, r.DeploymentARN, r.Pause.HookID)
	if err != nil {
		return ""
	}
	e, ok := ended(st)
	if !ok {
		return ""
	}
	return e.why
}

// ErrHookEnded: a vote on a request whose PAUSE hook ECS reports ended;
// the request is closed for it.
var ErrHookEnded = errors.New("the deployment's PAUSE hook no longer waits")

// CheckPause asks ECS about the PAUSE hook of the request at key and, when
// it no longer waits, closes the request as ECS's state says (Outcome
// ContinuedOutside, or Aborted) and tells its approvers, or records that
// ECS took gatehouse's own continue. It returns the request as it stands,
// and ErrHookEnded when it is closed this way (now or before). Every vote
// calls it first; so do the sweep and the hook's outcome events. ECS
// unreachable is no error: the request stays as it is.
func (g *Gate) CheckPause(ctx context.Context, key string) (*Request, error) {
	obj, err := g.Store.Get(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("load approval %s: %w", key, err)
	}
	r, err := g.decode(key, obj.Body)
	if err != nil {
		return nil, err
	}
	return g.checkPause(ctx, key, obj.ETag, r)
}

// checkPause is CheckPause on the copy r, read with etag.
func (g *Gate) checkPause(ctx context.Context, key, etag string, r *Request) (*Request, error) {
	if r.Outcome == ContinuedOutside {
		return r, ErrHookEnded
	}
	if g.Pauses == nil || r.Pause == nil || r.Pause.Done != nil {
		return r, nil
	}
	sctx, cancel := context.WithTimeout(ctx, endTimeout)
	st, err := g.Pauses.State(sctx, r.DeploymentARN, r.Pause.HookID)
	cancel()
	if err != nil {
		g.Log.WarnContext(ctx, "the PAUSE hook's state is unknown; the request stays as it is", "deployment_arn", r.DeploymentARN, "err", err)
		return r, nil
	}
	if st.Waiting() {
		return r, nil
	}
	var k endKind
	next, newTag, err := Update(ctx, g.Store, key, etag, r, func(n *Request) error {
		k = n.endPause(st, g.Now())
		return nil
	})
	if err != nil {
		return r, fmt.Errorf("close approval %s: %w", key, err)
	}
	g.told(ctx, key, newTag, next, k)
	if next.Outcome == ContinuedOutside || k == endClosed {
		return next, ErrHookEnded
	}
	return next, nil
}

// ended is what endPause did to a request.
type endKind int

const (
	// endNone: nothing to tell (still waiting, or ECS took gatehouse's
	// call, or the hook ended as the decision wanted).
	endNone endKind = iota
	// endClosed: a pending request closed; its announcement is claimed.
	endClosed
	// endOverridden: a decision to roll back, overridden outside
	// gatehouse: the deployment went on; everyone asked is told again.
	endOverridden
)

// wentOn reports whether st says the deployment went on past the hook.
func wentOn(st HookState) bool {
	return st.Status == HookSucceeded || st.Status == "" && (st.Deployment == "IN_PROGRESS" || st.Deployment == "SUCCESSFUL")
}

// endPause records on n, the freshest copy, that ECS describes its hook as
// st, which no longer waits: a pending request is closed and its
// announcement claimed; a decided one records that ECS took gatehouse's
// call, or, when someone else was quicker, what they did: a decision to
// roll back that they overrode (the deployment went on) closes it as
// continued outside gatehouse.
func (n *Request) endPause(st HookState, now time.Time) endKind {
	p := n.Pause
	if p == nil || p.Done != nil {
		return endNone
	}
	if n.Outcome != Pending {
		p.Claimed, p.RetryAt = nil, nil
		p.Done = &now
		switch {
		case ours(p, st):
			p.Result = "accepted"
			n.record(now, "continue", "gatehouse", fmt.Sprintf("ECS reports the hook %s, as gatehouse told it (%s)", orUnlisted(st.Status), p.Action))
			return endNone
		case !n.Passes(n.Outcome) && wentOn(st):
			was := n.Summary(n.Outcome)
			n.Outside = "the request was closed (" + was + ") and ECS was to roll the deployment back, but ECS reports this PAUSE hook continued before gatehouse told it ROLLBACK: someone allowed ecs:ContinueServiceDeployment overrode the decision, and the deployment went on"
			p.Result = "continued outside gatehouse, overriding the decision"
			n.Outcome = ContinuedOutside
			n.DecidedAt = &now
			n.record(now, "decided", "gatehouse", n.Summary(ContinuedOutside))
			return endOverridden
		}
		p.Result = fmt.Sprintf("ECS reports the hook %s and the deployment %s before gatehouse told it %s: ended outside gatehouse", orUnlisted(st.Status), st.Deployment, orNone(p.Action))
		n.record(now, "continue", "gatehouse", p.Result)
		return endNone
	}
	e, _ := ended(st)
	n.SendingSince = nil
	p.Done, p.Result = &now, "ended outside gatehouse: hook "+orUnlisted(st.Status)+", deployment "+orNone(st.Deployment)
	if e.outcome == ContinuedOutside {
		n.Outside = e.why
	} else {
		n.AbortReason = e.why
	}
	n.close(e.outcome, now)
	n.AnnouncedAt = &now
	return endClosed
}

// told tells the recipients of r what endPause did (k): the outcome of a
// request it closed, or, to everyone asked, that the decision was
// overridden. Best effort, as every announcement.
func (g *Gate) told(ctx context.Context, key, etag string, r *Request, k endKind) {
	switch k {
	case endClosed:
		g.Log.InfoContext(ctx, "approval closed: the PAUSE hook ended outside gatehouse", "deployment_arn", r.DeploymentARN, "stage", string(r.Stage), "decision", string(r.Outcome))
		g.announce(ctx, key, etag, r)
	case endOverridden:
		g.Log.WarnContext(ctx, "decision overridden outside gatehouse: the deployment went on", "deployment_arn", r.DeploymentARN, "stage", string(r.Stage))
		var asked []string
		for _, a := range r.recipients() {
			if r.noticeSent("review", a) {
				asked = append(asked, a)
			}
		}
		g.tell(ctx, key, etag, r, "override", asked, "the override sent to")
	}
}

func orNone(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

// EndPause answers an "ECS Hook State Change" event that says a PAUSE hook
// ended (HOOK_SUCCEEDED, HOOK_FAILED, HOOK_TIMED_OUT): the request of that
// hook is checked with ECS (CheckPause) at once, rather than at the next
// sweep. The event only says where to look: ECS is asked, so a late,
// repeated or forged event changes nothing ECS does not confirm.
func (g *Gate) EndPause(ctx context.Context, ev hook.PauseEvent) error {
	if !ev.Ended() || ev.HookID == "" || g.Pauses == nil {
		return nil
	}
	d, err := hook.ParseDeploymentARN(ev.DeploymentARN)
	if err != nil {
		g.Log.WarnContext(ctx, "hook event ignored: no service deployment", "err", err)
		return nil
	}
	key, err := g.pauseKey(ctx, d, ev)
	if err != nil || key == "" {
		return err
	}
	_, err = g.CheckPause(ctx, key)
	if errors.Is(err, ErrHookEnded) || errors.Is(err, store.ErrNotFound) {
		return nil
	}
	return err
}

// pauseKey returns the key of the request of the PAUSE hook the event
// names: from its stage, or, for an event without one, from the open
// markers; "" when there is none.
func (g *Gate) pauseKey(ctx context.Context, d hook.DeploymentARN, ev hook.PauseEvent) (string, error) {
	gate := PauseGate(ev.HookID)
	if ev.Stage.Valid() {
		return GateKey(d, ev.Stage, gate), nil
	}
	if g.Index == nil {
		return "", nil
	}
	for _, s := range hook.Stages {
		key := GateKey(d, s, gate)
		if _, err := g.Index.Get(ctx, markerKey(key)); err == nil {
			return key, nil
		} else if !errors.Is(err, store.ErrNotFound) {
			return "", fmt.Errorf("find the request of hook %s: %w", ev.HookID, err)
		}
	}
	return "", nil
}
