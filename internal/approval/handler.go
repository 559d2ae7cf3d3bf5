package approval

import (
	"context"
	"errors"
	"fmt"

	"github.com/gatehouse-dev/gatehouse/internal/hook"
)

// HookHandler returns the approval hook: it resolves the settings for the
// service from defaults and the hook's hookDetails, polls the gate, and maps
// the verdict to a hook status. Errors go to hook.Wrap to classify.
func HookHandler(g *Gate, defaults Settings) hook.Handler {
	return func(ctx context.Context, req hook.Request) (hook.Response, error) {
		d, err := req.Deployment()
		if err != nil {
			return hook.Response{}, hook.Permanent(err)
		}
		s, err := Apply(defaults, req.HookDetails)
		var refused *PolicyError
		if errors.As(err, &refused) {
			// Recorded, so that the refusal is in the audit trail too, at
			// the request of the gate the hookDetails name.
			at := defaults
			if gateName.MatchString(s.Gate) {
				at.Gate = s.Gate
			}
			if rerr := g.Refuse(ctx, Poll{Deployment: d, Stage: req.LifecycleStage, ServiceARN: req.ExecutionDetails.ServiceARN,
				TargetRevisionARN: req.ExecutionDetails.TargetServiceRevisionARN, Settings: at}, hook.OneLine(err.Error())); rerr != nil {
				g.Log.WarnContext(ctx, "policy refusal not recorded", "deployment_arn", d.String(), "err", rerr)
			}
		}
		if err != nil {
			return hook.Response{}, hook.Permanent(fmt.Errorf("invalid approval configuration: %w", err))
		}
		p := Poll{
			Deployment:        d,
			Stage:             req.LifecycleStage,
			ServiceARN:        req.ExecutionDetails.ServiceARN,
			TargetRevisionARN: req.ExecutionDetails.TargetServiceRevisionARN,
			Settings:          s,
			Lambda:            true,
		}
		if s.Steps == StepsEach && PerStep(req.LifecycleStage) {
			// Each step its own request, named by green's share before it.
			share, ok := req.ExecutionDetails.ProductionTrafficWeights[req.ExecutionDetails.TargetServiceRevisionARN]
			if !ok {
				return hook.Response{}, hook.Permanent(fmt.Errorf("steps: each: ECS sent no production weight for the target revision at %s, so this step cannot be told from the others", req.LifecycleStage))
			}
			p.Settings.Gate, p.Step = StepGate(s.Gate, share), &share
		}
		v, err := g.Poll(ctx, p)
		if err != nil {
			return hook.Response{}, err
		}
		switch {
		case v.Outcome == Pending:
			return hook.Response{HookStatus: hook.StatusInProgress, CallBackDelay: s.CallbackDelay, Reason: v.Reason}, nil
		case v.Pass:
			return hook.Response{HookStatus: hook.StatusSucceeded, Reason: v.Reason}, nil
		default:
			return hook.Response{HookStatus: hook.StatusFailed, Reason: v.Reason}, nil
		}
	}
}
