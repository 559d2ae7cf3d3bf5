package smoke

import (
	"context"

	"github.com/gatehouse-dev/gatehouse/internal/hook"
)

// TransientCallBackDelay is the callback delay, in seconds, the smoke hook
// asks for after a transient error (hook.Options.CallBackDelay): short,
// because a smoke run is usually a matter of seconds.
const TransientCallBackDelay = 10

// HookHandler returns the smoke hook: it resolves the configuration from
// defaults and the hook's hookDetails, runs the checks with r and maps the
// verdict to a hook status, returning the run state in hookDetails while it
// answers IN_PROGRESS. Errors go to hook.Wrap to classify.
//
// The local simulator calls it in-process with a Runner of its own (its own
// *http.Client, no Discoverer) and a baseUrl in the configuration.
func HookHandler(r *Runner, defaults Config) hook.Handler {
	return func(ctx context.Context, req hook.Request) (hook.Response, error) {
		if req.IsRollback() {
			// hook.Wrap answers these before calling; in-process callers
			// may not use it.
			return hook.Response{HookStatus: hook.StatusSucceeded, Reason: "rollback in progress: smoke checks never block a rollback"}, nil
		}
		d, err := req.Deployment()
		if err != nil {
			return hook.Response{}, err
		}
		p := Poll{
			Deployment:        d,
			Stage:             req.LifecycleStage,
			TargetRevisionARN: req.ExecutionDetails.TargetServiceRevisionARN,
			State:             stateFrom(req.HookDetails),
		}
		p.Config, err = defaults.ApplyService(req.HookDetails)
		var res Result
		if err != nil {
			res = r.refuse(ctx, p, "invalid smoke configuration: "+hook.OneLine(err.Error()))
		} else if res, err = r.Poll(ctx, p); err != nil {
			return hook.Response{}, err
		}
		out := hook.Response{HookStatus: res.Status, Reason: res.Reason}
		if res.Status == hook.StatusInProgress {
			out.CallBackDelay = res.CallBackDelay
			if out.HookDetails, err = runStates.Details(res.State); err != nil {
				return hook.Response{}, err
			}
		}
		return out, nil
	}
}
