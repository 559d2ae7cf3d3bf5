package hook

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// Handler decides one hook invocation. It returns a Response for a verdict,
// or an error that Wrap maps to a status: transient errors (see IsTransient)
// become IN_PROGRESS, all others FAILED.
type Handler func(ctx context.Context, req Request) (Response, error)

// Options configure Wrap.
type Options struct {
	// CallBackDelay is the delay, in seconds, answered with IN_PROGRESS after a
	// transient error. Zero means 30.
	CallBackDelay int
	// Logger receives one line per invocation. Nil means slog.Default().
	Logger *slog.Logger
	// Deployments, when set, is asked at the stages ECS re-runs during a
	// rollback (TEST_TRAFFIC_SHIFT, PRODUCTION_TRAFFIC_SHIFT) whether the
	// deployment is rolling back: the documented reversed weights are one
	// signal, and a rollback that carries none must not pass as a forward
	// step, so the weights alone do not decide. *ecsdeploy.Reader
	// satisfies it.
	Deployments DeploymentStatus
	// MaxUncertain bounds how long a hook that cannot tell (Uncertain)
	// answers IN_PROGRESS before FAILED. Zero means DefaultMaxUncertain.
	MaxUncertain time.Duration
	// Now is the clock for that bound. Nil means time.Now.
	Now func() time.Time
	// Reserved are the hookDetails keys of the hook's own run state. A
	// service's configured hookDetails may not set them (nor UncertainKey):
	// configured keys would stand in for what the hook returned, and a
	// forged state could skip checks.
	Reserved []string
}

// DeploymentStatus reads a deployment's status as ECS reports it
// (DescribeServiceDeployments).
type DeploymentStatus interface {
	// Status returns the status of the service deployment, such as
	// IN_PROGRESS or ROLLBACK_IN_PROGRESS, or an error when ECS cannot say.
	Status(ctx context.Context, deploymentARN string) (string, error)
}

// statusTimeout bounds asking ECS whether a deployment rolls back.
const statusTimeout = 5 * time.Second

// maxReason bounds the length of a reason so that an error carrying a large
// payload cannot bloat the response or the log line.
const maxReason = 512

// Wrap returns a function for lambda.Start that decodes the ECS payload,
// answers malformed events and rollback re-invocations itself, calls h, and
// maps its outcome to a hookStatus. Every IN_PROGRESS answer carries the
// configuration the run started with under ConfigKey, beside the handler's
// own keys (Carry); the next call's handler sees that configuration with
// the state in place, whether ECS merged or replaced the answer. It never
// returns an error to the Lambda runtime (ECS would roll back): a panic is answered FAILED with a reason, a
// transient error IN_PROGRESS, any other error FAILED. It logs the outcome
// once, with the fixed keys deployment_arn, stage, hook_status.
func Wrap(h Handler, opt Options) func(context.Context, json.RawMessage) (Response, error) {
	w := wrapped{h: h, opt: opt, log: cmp.Or(opt.Logger, slog.Default()), delay: ClampDelay(cmp.Or(opt.CallBackDelay, 30)), now: time.Now}
	if opt.Now != nil {
		w.now = opt.Now
	}
	return func(ctx context.Context, payload json.RawMessage) (resp Response, _ error) {
		var req Request
		defer func() {
			if p := recover(); p != nil {
				w.log.ErrorContext(ctx, "hook panicked", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
				resp = Response{HookStatus: StatusFailed, Reason: Clip(fmt.Sprintf("internal error: %v", p), maxReason)}
			}
			attrs := []any{
				"deployment_arn", req.ResourceARN,
				"stage", string(req.LifecycleStage),
				"hook_status", string(resp.HookStatus),
			}
			if resp.Reason != "" {
				attrs = append(attrs, "reason", resp.Reason)
			}
			w.log.InfoContext(ctx, "hook answered", attrs...)
		}()
		return w.serve(ctx, payload, &req), nil
	}
}

// wrapped is a Handler as Wrap serves it.
type wrapped struct {
	h     Handler
	opt   Options
	log   *slog.Logger
	delay int
	now   func() time.Time
}

// serve answers one call: the steps below, each of which may answer
// itself, then the handler.
func (w wrapped) serve(ctx context.Context, payload json.RawMessage, req *Request) Response {
	if err := json.Unmarshal(payload, req); err != nil {
		return malformed(err)
	}
	// A rollback is passed before anything else is checked: whatever is
	// wrong with the rest of the event, a gate never blocks a rollback.
	if req.IsRollback() {
		return Response{HookStatus: StatusSucceeded, Reason: "rollback in progress: a gate never blocks a rollback"}
	}
	if key := configuredReserved(req.HookDetails, w.opt.Reserved); key != "" {
		return Response{HookStatus: StatusFailed, Reason: fmt.Sprintf("invalid configuration: hookDetails.%s is reserved for the hook's own state; remove it from the service's hookDetails", key)}
	}
	r, failed := w.restore(req)
	if failed != nil {
		return *failed
	}
	if res, decided := rollbackByECS(ctx, *req, w.opt.Deployments, w.delay, r.unchanged); decided {
		return res
	}
	if err := req.Validate(); err != nil {
		return malformed(errors.New(OneLine(err.Error())))
	}
	hctx, cancel := withAnswerTime(ctx)
	defer cancel()
	out, err := w.h(hctx, *req)
	return answer(ctx, w.log, *req, out, err, r, w.delay)
}

// malformed is the answer to an event that cannot be read.
func malformed(err error) Response {
	return Response{HookStatus: StatusFailed, Reason: Clip("malformed event: "+err.Error(), maxReason)}
}

// run is what a call carries of its run of calls: the configuration the
// run started with, since when the hook could not tell (Uncertain), and
// what an IN_PROGRESS answer returns when the handler returned nothing new.
type run struct {
	config    map[string]json.RawMessage
	unchanged json.RawMessage
	bound     bound
}

// restore reads the run req's hookDetails carry, whatever ECS did with the
// last answer's hookDetails (Carry), and leaves in req.HookDetails the
// hook's own state alone: the handler never sees the carried keys. It
// returns the answer instead when they cannot be read.
func (w wrapped) restore(req *Request) (run, *Response) {
	config, details, err := restore(req.HookDetails)
	if err != nil {
		res := malformed(err)
		return run{}, &res
	}
	since, details, err := takeUncertain(details)
	if err != nil {
		res := malformed(err)
		return run{}, &res
	}
	req.HookDetails = details
	unchanged, err := Carry(config, state(config, details))
	if err == nil {
		unchanged, err = withUncertain(unchanged, since, false)
	}
	if err != nil {
		res := Response{HookStatus: StatusFailed, Reason: Clip("internal error: "+err.Error(), maxReason)}
		return run{}, &res
	}
	return run{config: config, unchanged: unchanged, bound: bound{since: since, now: w.now(), max: cmp.Or(w.opt.MaxUncertain, DefaultMaxUncertain)}}, nil
}

// answer maps a handler's outcome to the hook's answer: its response,
// checked and with the configuration carried on IN_PROGRESS, or for an
// error IN_PROGRESS when it is transient (the call's hookDetails go back as
// they came) and FAILED with the error otherwise.
func answer(ctx context.Context, log *slog.Logger, req Request, out Response, err error, r run, delay int) Response {
	config, unchanged, b := r.config, r.unchanged, r.bound
	switch {
	case IsUncertain(err):
		log.WarnContext(ctx, "cannot tell yet", "deployment_arn", req.ResourceARN, "err", err)
		return uncertainAnswer(err, b.since, b.now, b.max, delay, unchanged)
	case err == nil:
		if out.HookStatus == StatusInProgress {
			out.CallBackDelay = ClampDelay(cmp.Or(out.CallBackDelay, delay))
		}
		if out.HookStatus != StatusSucceeded && out.HookStatus != StatusFailed && out.HookStatus != StatusInProgress {
			return Response{HookStatus: StatusFailed, Reason: fmt.Sprintf("internal error: invalid hook status %q", out.HookStatus)}
		}
		if len(out.HookDetails) > 0 && !json.Valid(out.HookDetails) {
			// It would not marshal: the runtime would report an error,
			// which ECS takes as a rollback without a reason.
			return Response{HookStatus: StatusFailed, Reason: "internal error: invalid hookDetails in the answer"}
		}
		if out.HookStatus == StatusInProgress {
			// Whatever ECS does with returned hookDetails (merge or
			// replace), the next call gets the configuration too.
			carried, err := Carry(config, out.HookDetails)
			if err == nil {
				// Told at last: the bound is cleared (under a merge, an
				// absent key would keep the old time).
				carried, err = withUncertain(carried, time.Time{}, !b.since.IsZero())
			}
			if err != nil {
				return Response{HookStatus: StatusFailed, Reason: Clip("internal error: "+err.Error(), maxReason)}
			}
			out.HookDetails = carried
		}
		out.Reason = Clip(out.Reason, maxReason)
		return out
	case IsTransient(err):
		log.WarnContext(ctx, "transient error, will be called again", "deployment_arn", req.ResourceARN, "err", err)
		// The call's hookDetails go back as they came: under
		// replacement the next call keeps its configuration and state.
		return Response{HookStatus: StatusInProgress, CallBackDelay: delay, HookDetails: unchanged, Reason: Clip("transient error: "+err.Error(), maxReason)}
	default:
		log.ErrorContext(ctx, "hook failed", "deployment_arn", req.ResourceARN, "err", err)
		return Response{HookStatus: StatusFailed, Reason: Clip(OneLine(err.Error()), maxReason)}
	}
}

// rollbackByECS answers a call at a stage ECS re-runs during a rollback
// when ECS reports the deployment rolling back (SUCCEEDED: a gate never
// blocks a rollback), or when nothing tells a rollback from a forward step:
// ECS cannot be asked and the call carries no traffic weights for the
// stage. Then the answer is IN_PROGRESS, so that a forward step never passes
// on missing information, and ECS calls again; a rollback waits at most
// until ECS answers again. When ECS cannot be asked but the weights are
// there, they decide (they showed no rollback), and the handler runs.
func rollbackByECS(ctx context.Context, req Request, d DeploymentStatus, delay int, unchanged json.RawMessage) (Response, bool) {
	if d == nil || !req.LifecycleStage.ReinvokedOnRollback() {
		return Response{}, false
	}
	if _, err := req.Deployment(); err != nil {
		// Nothing to ask ECS about: Validate answers the malformed event.
		return Response{}, false
	}
	sctx, cancel := context.WithTimeout(ctx, statusTimeout)
	defer cancel()
	status, err := d.Status(sctx, req.ResourceARN)
	switch {
	case err == nil && (status == "ROLLBACK_REQUESTED" || status == "ROLLBACK_IN_PROGRESS"):
		return Response{HookStatus: StatusSucceeded, Reason: "ECS reports the deployment " + status + ": a gate never blocks a rollback"}, true
	case err == nil || req.hasWeights():
		return Response{}, false
	}
	// Held, never bounded: once the call may be a rollback, an answer of
	// FAILED could block it, which a gate never does. ECS's own hook
	// timeout ends the hold.
	return Response{HookStatus: StatusInProgress, CallBackDelay: delay, HookDetails: unchanged,
		Reason: Clip(fmt.Sprintf("cannot tell a rollback from a forward step: the call carries no traffic weights and ECS cannot say whether the deployment rolls back (%s); asking again", OneLine(err.Error())), maxReason)}, true
}

// configuredReserved returns a reserved key that the service's configured
// hookDetails set, or "": on the first call (nothing carried yet, ConfigKey
// absent) the hookDetails are exactly what the service configured.
func configuredReserved(details json.RawMessage, reserved []string) string {
	m, err := object(details)
	if err != nil || m == nil {
		return ""
	}
	if _, carried := m[ConfigKey]; carried {
		return ""
	}
	for _, k := range append([]string{UncertainKey}, reserved...) {
		if _, ok := m[k]; ok {
			return k
		}
	}
	return ""
}

// bound is what Wrap knows of a run of calls that could not tell.
type bound struct {
	since, now time.Time
	max        time.Duration
}

// AnswerMargin is the time kept back from the invocation's deadline so that
// the hook can still answer IN_PROGRESS when a call it makes hangs.
const AnswerMargin = 2 * time.Second

// withAnswerTime derives the handler's context: it ends AnswerMargin before
// the invocation's deadline (or halfway there, for very short deadlines).
func withAnswerTime(ctx context.Context) (context.Context, context.CancelFunc) {
	dl, ok := ctx.Deadline()
	if !ok {
		return context.WithCancel(ctx)
	}
	margin := min(AnswerMargin, time.Until(dl)/2)
	return context.WithDeadline(ctx, dl.Add(-margin))
}

// transienter is implemented by errors that know whether retrying may help.
type transienter interface{ Transient() bool }

type transientError struct{ err error }

func (e transientError) Error() string   { return e.err.Error() }
func (e transientError) Unwrap() error   { return e.err }
func (e transientError) Transient() bool { return true }

// Transient marks err as transient: Wrap answers IN_PROGRESS for it.
func Transient(err error) error {
	if err == nil {
		return nil
	}
	return transientError{err}
}

type permanentError struct{ err error }

func (e permanentError) Error() string   { return e.err.Error() }
func (e permanentError) Unwrap() error   { return e.err }
func (e permanentError) Transient() bool { return false }

// Permanent marks err as final: Wrap answers FAILED for it, whatever its
// text. A refusal that quotes the configuration must use it: the SDK's
// retry rules judge some errors by their text ("connection reset"), and a
// quoted value must not turn a refusal into a retry.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanentError{err}
}

var (
	retryables = retry.IsErrorRetryables(retry.DefaultRetryables)
	throttles  = retry.IsErrorThrottles(retry.DefaultThrottles)
)

// IsTransient reports whether err is worth answering IN_PROGRESS for rather
// than FAILED: throttling, server errors, timeouts, refused or reset
// connections, and errors marked with Transient. An error that carries its
// own Transient method decides for itself.
func IsTransient(err error) bool {
	if err == nil {
		return false
	}
	var t transienter
	if errors.As(err, &t) {
		return t.Transient()
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return true
	}
	if throttles.IsErrorThrottle(err) == aws.TrueTernary || retryables.IsErrorRetryable(err) == aws.TrueTernary {
		return true
	}
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) {
		code := re.HTTPStatusCode()
		if code >= 500 || code == 429 {
			return true
		}
	}
	if errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	var oe *net.OpError
	return errors.As(err, &oe)
}
