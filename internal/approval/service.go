package approval

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/gatehouse-dev/gatehouse/internal/hook"
)

// Service is the approval core's one front door. Every door reaches the
// core through its use cases only: the approval hook's invocations (the
// hook's poll, the PAUSE hooks' events, the sweep, the CLI's settle
// event: Invoke), a vote from any channel (Vote: the review page, the
// CLI, each later channel), and what a channel shows of a request (Read,
// Standing). None of the doors loads, casts or settles by itself, so each
// rule holds for every channel alike.
//
// A Service is made by NewService, once per process, by the composition
// root (package wiring/approvalparts); tests make their own.
type Service struct {
	gate     *Gate
	defaults Settings
	ballots  *ballotBox
	hookCall func(context.Context, json.RawMessage) (hook.Response, error)
}

// Parts are what a Service is made of.
type Parts struct {
	// Gate holds the requests and reaches the ports: its Store, Now and
	// Log are required, every other port is optional (see Gate).
	Gate *Gate
	// Defaults are the suite's approval settings: a hook's hookDetails and
	// a service's tags may tighten them (Apply).
	Defaults Settings
	// Deployments tells whether a deployment still waits (ECS): a vote on
	// one ECS stopped or rolled back is refused, a page says so, and the
	// hook tells a rollback from a forward run. nil: not asked.
	Deployments DeploymentStatus
	// Door checks a PAUSE request's hook before a vote and settles the
	// vote that decides it. nil: the gate itself when it reaches PAUSE
	// hooks (Gate.Pauses), else a vote leaves both to the suite's sweep.
	// The CLI passes its own: it reads ECS with the operator's rights and
	// has the suite settle.
	Door PauseDoor
}

// NewService returns the service made of p.
func NewService(p Parts) *Service {
	door := p.Door
	if door == nil && p.Gate.Pauses != nil {
		door = p.Gate
	}
	s := &Service{gate: p.Gate, defaults: p.Defaults}
	s.ballots = &ballotBox{Store: p.Gate.Store, Now: p.Gate.Now, Deployments: p.Deployments, Pause: door, Log: p.Gate.Log}
	opts := hook.Options{CallBackDelay: p.Defaults.CallbackDelay, Logger: p.Gate.Log, Now: p.Gate.Now}
	if p.Deployments != nil {
		opts.Deployments = p.Deployments
	}
	s.hookCall = hook.Wrap(HookHandler(p.Gate, p.Defaults), opts)
	return s
}

// Invoke is the approval function's entry point: it tells the payloads
// Lambda hands it apart and runs the use case each asks for. An error
// (from every payload but the hook's call, whose errors the hook protocol
// answers) makes Lambda deliver the payload again.
func (s *Service) Invoke(ctx context.Context, payload json.RawMessage) (hook.Response, error) {
	if hook.IsScheduledEvent(payload) {
		// The sweep rule: the clock of PAUSE requests.
		return hook.Response{}, s.Sweep(ctx)
	}
	if key, ok := hook.ParseSettleEvent(payload); ok {
		// The CLI, after a deciding vote: settled with the suite's rights.
		v, err := s.Settle(ctx, key)
		if err != nil {
			s.gate.Log.ErrorContext(ctx, "settle event not handled", "err", err)
			return hook.Response{}, err
		}
		return hook.Response{Reason: v.Reason}, nil
	}
	if ev, ok := hook.ParsePauseEvent(payload); ok {
		// An "ECS Hook State Change" event, from EventBridge: its answer
		// is ignored.
		return hook.Response{}, s.PauseEvent(ctx, ev)
	}
	return s.hookCall(ctx, payload)
}

// Sweep moves every open PAUSE request on (the clock nothing else runs
// for them). An error, for the function's Errors alarm, says the sweep is
// incomplete; the next one tries again.
func (s *Service) Sweep(ctx context.Context) error {
	swept, err := s.gate.Sweep(ctx, s.defaults)
	if err != nil {
		s.gate.Log.ErrorContext(ctx, "sweep incomplete", "open", swept.Open, "ended", swept.Ended, "failed", swept.Failed, "err", err)
		return err
	}
	s.gate.Log.InfoContext(ctx, "swept the open PAUSE requests", "open", swept.Open, "ended", swept.Ended)
	return nil
}

// PauseEvent handles a PAUSE hook's state change: a hook that starts
// waiting opens its request and sends its messages; one that ended is
// checked with ECS at once.
func (s *Service) PauseEvent(ctx context.Context, ev hook.PauseEvent) error {
	var err error
	if ev.Ended() {
		err = s.gate.EndPause(ctx, ev)
	} else {
		_, err = s.gate.OpenPause(ctx, ev, s.defaults)
	}
	if err != nil {
		s.gate.Log.ErrorContext(ctx, "pause event not handled", "deployment_arn", ev.DeploymentARN, "event", ev.EventName, "err", err)
	}
	return err
}

// Settle moves the decided PAUSE request at key on at once: it announces
// the outcome and tells ECS, with the suite's rights. Anything but a PAUSE
// request's key is refused.
func (s *Service) Settle(ctx context.Context, key string) (Verdict, error) {
	return s.gate.SettlePause(ctx, key)
}

// Vote records a ballot from any channel, and settles the PAUSE request
// it decides. A refused vote records nothing (a self-approval's refusal
// is recorded in the audit trail) and returns a *Refusal (its code and
// its words, wrapping the error of VoteErrors), with the request as read.
// Other errors are the store's: whether the vote was recorded is then not
// known, and reading the request tells.
func (s *Service) Vote(ctx context.Context, b Ballot) (Voted, error) {
	v, err := s.ballots.Vote(ctx, b)
	if err == nil && v.Request != nil {
		// Every approver's chat message shows the new tally (or the
		// outcome) at once; a rewrite that fails is made by a later call.
		s.gate.showChatsOf(ctx, b.Key, v.Request)
	}
	return v, err
}

// Read returns the request at key as stored, with its ETag (a Ballot may
// carry it to save a read). A missing request wraps the store's
// ErrNotFound; one that cannot be decoded wraps ErrUnreadable.
func (s *Service) Read(ctx context.Context, key string) (*Stored, error) {
	return load(ctx, s.gate.Store, key)
}

func load(ctx context.Context, st Store, key string) (*Stored, error) {
	obj, err := st.Get(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("load approval %s: %w", key, err)
	}
	r, err := Decode(obj.Body)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrUnreadable, key, err)
	}
	return &Stored{Request: r, ETag: obj.ETag}, nil
}

// ErrUnreadable: a stored request that cannot be decoded.
var ErrUnreadable = errors.New("unreadable approval request")

// Standing is what ECS says of an open request's deployment, for a
// channel to show; both are empty while it waits or when ECS cannot say.
type Standing struct {
	// Over is the deployment's status when ECS stopped, rolled back or
	// finished it.
	Over string
	// Ended says why the request's PAUSE hook no longer waits.
	Ended string
	// StepVerdict is, for the request of one step (steps: each) opened
	// before the step check judged the step, its verdict once in: shown,
	// never stored.
	StepVerdict string
}

// Standing asks ECS whether r's deployment, and its PAUSE hook, still wait
// for it, writing nothing. A decided request is not asked about.
func (s *Service) Standing(ctx context.Context, r *Request) Standing {
	var st Standing
	if r.Evaluate(s.gate.Now()) != Pending {
		return st
	}
	if r.Step != nil && r.Step.Evidence == "" {
		st.StepVerdict = s.gate.stepVerdict(ctx, r)
	}
	if st.Over = s.ballots.deploymentOver(ctx, r); st.Over != "" {
		return st
	}
	if s.gate.Pauses != nil {
		st.Ended = PauseEnded(ctx, s.gate.Pauses, r, s.gate.Now())
	}
	return st
}
