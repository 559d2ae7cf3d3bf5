package approval

import (
	"context"
	"fmt"

	"github.com/gatehouse-dev/gatehouse/internal/hook"
)

// HookHandler returns the approval hook: it resolves the settings for the
// service from defaults and the hook's hookDetails, polls the gate, and maps
// the verdict to a hook status. Errors go to hook.Wrap to classify.
func HookHandler(g *Gate, defaults Settings) hook.Handler {
	return func(ctx context.Context, req hook.Request) (hook.Response, error) {
		s, err := Apply(defaults, req.HookDetails)
		if err != nil {
			return hook.Response{}, hook.Permanent(fmt.Errorf("invalid approval configuration: %w", err))
		}
		d, err := req.Deployment()
		if err != nil {
			return hook.Response{}, hook.Permanent(err)
		}
		v, err := g.Poll(ctx, Poll{
			Deployment:        d,
			Stage:             req.LifecycleStage,
			ServiceARN:        req.ExecutionDetails.ServiceARN,
			TargetRevisionARN: req.ExecutionDetails.TargetServiceRevisionARN,
			Settings:          s,
		})
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
