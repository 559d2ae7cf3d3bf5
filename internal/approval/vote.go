package approval

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/ecsdeploy"
)

// Ballot is one vote from any channel: the review page, the CLI, and the
// channels to come. The channel has told who votes (Vote.Approver, and
// Vote.Identity for an IAM identity); Service.Vote does the rest.
type Ballot struct {
	// Key is the request's key in the state bucket.
	Key string
	// RequestID, when set, is the request the voter was shown (a review
	// link names it): a newer request at Key refuses the ballot with
	// ErrSuperseded.
	RequestID string
	// Vote is the vote to record; its At is set when it is recorded.
	Vote Vote
	// Read is the request as the channel read it, with its ETag, to save a
	// read; nil reads it.
	Read *Stored
}

// Stored is a request as read from the store, with its ETag.
type Stored struct {
	Request *Request
	ETag    string
}

// Voted is what a recorded ballot did.
type Voted struct {
	// Request is the request as it then stands: for a vote that decided a
	// PAUSE request, as settled (what ECS was told), or being settled.
	Request *Request
	// Told is what the settle answered when this vote decided a PAUSE
	// request; SettleErr why it could not (the vote stands, and the
	// suite's sweep tells ECS within a minute).
	Told      *Verdict
	SettleErr error
}

// PauseDoor is what a vote asks of a request that holds an ECS PAUSE hook.
// *Gate satisfies it with the suite's own clients; the CLI with a read of
// ECS and an invocation of the suite's approval hook.
type PauseDoor interface {
	// CheckPause returns an error wrapping ErrHookEnded when ECS reports
	// the PAUSE hook of the request at key ended without gatehouse (the
	// suite then closes it), and the request as it stands.
	CheckPause(ctx context.Context, key string) (*Request, error)
	// Settle moves a decided request on at once: it tells ECS.
	Settle(ctx context.Context, key string) (Verdict, error)
}

// DeploymentStatus reads a deployment's ECS status. *ecsdeploy.Reader
// satisfies it.
type DeploymentStatus interface {
	Status(ctx context.Context, deploymentARN string) (string, error)
}

// ErrSuperseded: the ballot is for an earlier request at its key.
var ErrSuperseded = errors.New("this vote is for an earlier approval request of this deployment, which a newer one replaced")

// ErrDeploymentOver: ECS reports that the deployment no longer waits for
// the request (stopped, rolled back, done). DeploymentOver says its
// status.
var ErrDeploymentOver = errors.New("the deployment no longer waits for this approval")

// DeploymentOver is ErrDeploymentOver with the status ECS reported.
type DeploymentOver struct{ Status string }

func (e *DeploymentOver) Error() string {
	return "ECS reports this deployment " + e.Status + ": it no longer waits for this approval"
}

func (e *DeploymentOver) Unwrap() error { return ErrDeploymentOver }

// ballotBox is the one door every channel votes through: it reads the
// request, checks with ECS that the deployment (and its PAUSE hook) still
// waits, records the vote conditionally on what it read, and settles a
// vote that decided a PAUSE request. Store and Now are required.
type ballotBox struct {
	Store Store
	Now   func() time.Time
	// Deployments, when set, tells whether the deployment still waits: a
	// vote on one ECS stopped, rolled back or finished is refused
	// (DeploymentOver). Best effort: without an answer the vote goes on.
	Deployments DeploymentStatus
	// Pause, when set, checks a PAUSE request's hook before the vote and
	// settles the vote that decides it; nil leaves both to the suite's
	// sweep.
	Pause PauseDoor
	Log   *slog.Logger
}

// statusTimeout bounds asking ECS about one deployment before a vote.
const statusTimeout = 5 * time.Second

// Vote records b (see Service.Vote).
func (bs *ballotBox) Vote(ctx context.Context, b Ballot) (Voted, error) {
	read := b.Read
	if read == nil {
		var err error
		if read, err = load(ctx, bs.Store, b.Key); err != nil {
			return Voted{}, err
		}
	}
	r, now := read.Request, bs.Now()
	if b.RequestID != "" && r.ID != b.RequestID {
		return Voted{Request: r}, refuse(ErrSuperseded, r, b.Vote, now)
	}
	if err := r.Check(); err != nil {
		return Voted{Request: r}, refuse(err, r, b.Vote, now)
	}
	if r.Evaluate(now) == Pending {
		if status := bs.deploymentOver(ctx, r); status != "" {
			return Voted{Request: r}, refuse(&DeploymentOver{Status: status}, r, b.Vote, now)
		}
		if r.Pause != nil && bs.Pause != nil {
			checked, err := bs.Pause.CheckPause(ctx, b.Key)
			if errors.Is(err, ErrHookEnded) {
				checked = cmpRequest(checked, r)
				return Voted{Request: checked}, refuse(err, checked, b.Vote, now)
			}
			if err != nil {
				return Voted{Request: r}, fmt.Errorf("check the paused hook: %w", err)
			}
		}
	}
	cast := func(n *Request) error {
		if b.RequestID != "" && n.ID != b.RequestID {
			return ErrSuperseded
		}
		return n.Cast(b.Vote, now)
	}
	req, _, err := Update(ctx, bs.Store, b.Key, read.ETag, r, cast)
	if errors.Is(err, ErrDeployerPending) && req.Pause != nil && bs.Pause != nil {
		// Nothing polls a PAUSE request: the settle makes the due lookup
		// of who started the deployment, and the vote is cast again.
		req, err = bs.recast(ctx, b.Key, req, cast, err)
	}
	if err != nil {
		return Voted{Request: req}, refuse(err, req, b.Vote, now)
	}
	bs.log().InfoContext(ctx, "vote recorded", "deployment_arn", req.DeploymentARN, "stage", string(req.Stage), "gate", req.Gate,
		"channel", b.Vote.Via, "decision", string(b.Vote.Decision), "outcome", string(req.Outcome))
	if req.Outcome == Pending || req.Pause == nil || bs.Pause == nil {
		return Voted{Request: req}, nil
	}
	return bs.settle(ctx, b.Key, req), nil
}

// cmpRequest returns a unless it is nil, else b.
func cmpRequest(a, b *Request) *Request {
	if a != nil {
		return a
	}
	return b
}

// deploymentOver returns the ECS status of r's deployment when it no
// longer waits, else "" (ECS unreachable included).
func (bs *ballotBox) deploymentOver(ctx context.Context, r *Request) string {
	if bs.Deployments == nil {
		return ""
	}
	sctx, cancel := context.WithTimeout(ctx, statusTimeout)
	defer cancel()
	status, err := bs.Deployments.Status(sctx, r.DeploymentARN)
	if err != nil {
		bs.log().WarnContext(ctx, "deployment status unavailable; going on as if it waits", "deployment_arn", r.DeploymentARN, "err", err)
		return ""
	}
	if ecsdeploy.Over(status) {
		return status
	}
	return ""
}

// recast settles the request at key, reads it again and casts once more;
// when any step fails, the first refusal stands.
func (bs *ballotBox) recast(ctx context.Context, key string, req *Request, cast func(*Request) error, refusal error) (*Request, error) {
	if _, err := bs.Pause.Settle(ctx, key); err != nil {
		return req, refusal
	}
	fresh, err := load(ctx, bs.Store, key)
	if err != nil {
		return req, refusal
	}
	next, _, err := Update(ctx, bs.Store, key, fresh.ETag, fresh.Request, cast)
	return next, err
}

// While another caller tells ECS, a vote re-reads the request up to
// telling times, tellingPoll apart, so the voter reads what ECS was told.
const (
	telling     = 8
	tellingPoll = 250 * time.Millisecond
)

// settle ends the PAUSE hook's wait for the request at key, which req's
// vote decided, and returns the request as it then stands.
func (bs *ballotBox) settle(ctx context.Context, key string, req *Request) Voted {
	v := Voted{Request: req}
	told, err := bs.Pause.Settle(ctx, key)
	if err != nil {
		bs.log().ErrorContext(ctx, "end the paused hook's wait", "deployment_arn", req.DeploymentARN, "err", err)
		v.SettleErr = err
	} else {
		v.Told = &told
	}
	// Another caller (the sweep) may be telling ECS right now: what ECS
	// said is worth a short wait.
	for i := 0; ; i++ {
		fresh, err := load(ctx, bs.Store, key)
		if err != nil {
			return v
		}
		v.Request = fresh.Request
		if p := fresh.Request.Pause; i == telling || p == nil || p.Done != nil || p.Claimed == nil {
			return v
		}
		select {
		case <-ctx.Done():
			return v
		case <-time.After(tellingPoll):
		}
	}
}

func (bs *ballotBox) log() *slog.Logger {
	if bs.Log == nil {
		return slog.Default()
	}
	return bs.Log
}
