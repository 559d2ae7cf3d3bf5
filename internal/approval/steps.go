package approval

// A PAUSE hook at a stage a linear or canary deployment runs at every step
// (PRE_PRODUCTION_TRAFFIC_SHIFT) pauses again at each step, each time with
// a new hookId (ECS-HOOKS.md, section 7). With steps: first (the default)
// the approvers are asked once per deployment and stage, as in Lambda
// mode: a later step's pause carries the first one's decision. With steps:
// each, as the first step's request recorded it, every pause is a request
// of its own.

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// laterStep handles a PAUSE hook awaiting action at a stage this
// deployment already decided at an earlier step: a request carrying the
// earlier decision is recorded, and ECS told. ok reports that it did.
func (g *Gate) laterStep(ctx context.Context, key string, p Poll) (Verdict, bool, error) {
	_, err := g.Store.Get(ctx, key)
	switch {
	case err == nil:
		// This hook's own request: moved on as it stands.
		return Verdict{}, false, nil
	case !errors.Is(err, store.ErrNotFound):
		return Verdict{}, false, fmt.Errorf("load approval %s: %w", key, err)
	case g.Index == nil:
		return Verdict{}, false, nil
	}
	earlier, err := g.earlierStep(ctx, key, p)
	if err != nil || earlier == nil || earlier.Steps == StepsEach {
		return Verdict{}, false, err
	}
	now := g.Now()
	p.Settings = earlier.settings(PauseGate(p.PauseHookID))
	r, err := g.newRequest(p, earlier.Change, now)
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

// settings are the settings r was opened with, for the request of a later
// step, named gate.
func (r *Request) settings(gate string) Settings {
	return Settings{Approvers: r.Approvers, RequiredApprovals: r.RequiredApprovals, OnExpiry: r.OnExpiry, Timeout: r.ExpiresAt.Sub(r.CreatedAt),
		Gate: gate, AbortOnAlarms: r.AbortOnAlarms, Floors: r.Policy, FirstDeployment: FirstDeploymentGate, Steps: cmp.Or(r.Steps, StepsFirst)}
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
