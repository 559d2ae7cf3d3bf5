package approval

// A PAUSE hook at a stage a linear or canary deployment runs at every step
// (PRE_PRODUCTION_TRAFFIC_SHIFT) pauses again at each step. Whether ECS
// gives the later pauses the first one's hookId or new ones is not
// documented: both readings are handled, and the approvers are asked once
// per deployment and stage, as in Lambda mode.

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// rearmAfter is how long after ECS took a request's call the same hook
// awaiting action again is taken for a later step, not for ECS catching up.
const rearmAfter = 30 * time.Second

// laterStep handles a PAUSE hook awaiting action at a stage this
// deployment already decided at an earlier step: the same hookId again
// (the decision is re-sent), or a new one (a request carrying the earlier
// decision is recorded, and ECS told). ok reports that it did.
func (g *Gate) laterStep(ctx context.Context, key string, p Poll) (Verdict, bool, error) {
	obj, err := g.Store.Get(ctx, key)
	switch {
	case err == nil:
		return g.rearm(ctx, key, obj)
	case !errors.Is(err, store.ErrNotFound):
		return Verdict{}, false, fmt.Errorf("load approval %s: %w", key, err)
	case g.Index == nil:
		return Verdict{}, false, nil
	}
	earlier, err := g.earlierStep(ctx, key, p)
	if err != nil || earlier == nil {
		return Verdict{}, false, err
	}
	now := g.Now()
	r, err := newRequest(p, earlier.Change, now)
	if err != nil {
		return Verdict{}, false, err
	}
	r.SendingSince, r.History = nil, nil
	r.Carried = earlier.Summary(earlier.Outcome)
	r.record(now, "created", "gatehouse", "a later step of the deployment: the decision of the earlier one (request "+earlier.ID+") stands")
	r.close(Skipped, now)
	r.AnnouncedAt = &now
	body, err := r.Encode()
	if err != nil {
		return Verdict{}, false, err
	}
	if _, err := g.Store.Create(ctx, key, body); err != nil && !errors.Is(err, store.ErrPrecondition) {
		return Verdict{}, false, fmt.Errorf("create approval %s: %w", key, err)
	}
	v, err := g.Settle(ctx, key)
	return v, true, err
}

// rearm re-sends the decision of the request in obj when ECS holds its
// hook again after it took the call: a later step, under the same hookId.
func (g *Gate) rearm(ctx context.Context, key string, obj store.Object) (Verdict, bool, error) {
	r, err := g.decode(key, obj.Body)
	if err != nil {
		return Verdict{}, false, err
	}
	now := g.Now()
	if r.Pause == nil || r.Pause.Done == nil || r.Pause.Action == "" || now.Sub(*r.Pause.Done) < rearmAfter {
		return Verdict{}, false, nil
	}
	if _, _, err := Update(ctx, g.Store, key, obj.ETag, r, func(n *Request) error {
		if n.Pause == nil || n.Pause.Done == nil {
			return nil
		}
		n.Pause.Done, n.Pause.Result, n.Pause.Claimed, n.Pause.RetryAt = nil, "", nil, nil
		n.record(now, "continue", "gatehouse", "ECS holds the deployment at this PAUSE hook again (a later step): the decision stands, "+n.Pause.Action)
		return nil
	}); err != nil {
		return Verdict{}, false, err
	}
	v, err := g.Settle(ctx, key)
	return v, true, err
}

// earlierStep returns the request of an earlier PAUSE run at p's deployment
// and stage whose decision lets the deployment go on, or nil.
func (g *Gate) earlierStep(ctx context.Context, key string, p Poll) (*Request, error) {
	prefix := strings.TrimSuffix(GateKey(p.Deployment, p.Stage, "pause-"), ".json")
	keys, err := g.Index.List(ctx, prefix, 0)
	if err != nil {
		return nil, fmt.Errorf("list the earlier steps' requests: %w", err)
	}
	for _, k := range keys {
		if k == key {
			continue
		}
		obj, err := g.Store.Get(ctx, k)
		if err != nil {
			return nil, fmt.Errorf("load approval %s: %w", k, err)
		}
		r, err := g.decode(k, obj.Body)
		if err != nil {
			return nil, err
		}
		if r.Pause != nil && r.Pause.Action == "CONTINUE" && r.Passes(r.Outcome) {
			return r, nil
		}
	}
	return nil, nil
}
