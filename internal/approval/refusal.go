package approval

import (
	"cmp"
	"errors"
	"strings"
	"time"
)

// Refusal is a vote refused: a code, which each channel maps to its own
// answer (an HTTP status and page, an exit code, a hint), and a message for
// the voter, the same on every channel. It wraps the error of VoteErrors
// it stands for, so errors.Is keeps working.
type Refusal struct {
	Code    string
	Message string
	Err     error
}

func (r *Refusal) Error() string { return r.Message }

func (r *Refusal) Unwrap() error { return r.Err }

// Refusal codes: one a reason a vote can be refused.
const (
	RefusedClosed          = "closed"
	RefusedAlreadyVoted    = "already-voted" // the same decision again: nothing to do
	RefusedVoteChanged     = "vote-changed"
	RefusedNotApprover     = "not-approver"
	RefusedAwaitingSmoke   = "awaiting-smoke"
	RefusedAwaitingStep    = "awaiting-step"
	RefusedFrozen          = "frozen"
	RefusedOverrideReason  = "override-reason"
	RefusedSelfApproval    = "self-approval"
	RefusedDeployerPending = "deployer-pending"
	RefusedDeployerUnknown = "deployer-unknown"
	RefusedSuperseded      = "superseded"
	RefusedDeploymentOver  = "deployment-over"
	RefusedHookEnded       = "hook-ended"
	RefusedInconsistent    = "inconsistent"
)

// RefusalCodes lists every refusal code. Each channel maps each of them,
// and a test checks that none is missing.
var RefusalCodes = []string{RefusedClosed, RefusedAlreadyVoted, RefusedVoteChanged, RefusedNotApprover, RefusedAwaitingSmoke, RefusedAwaitingStep,
	RefusedFrozen, RefusedOverrideReason, RefusedSelfApproval, RefusedDeployerPending, RefusedDeployerUnknown,
	RefusedSuperseded, RefusedDeploymentOver, RefusedHookEnded, RefusedInconsistent}

// RefusalOf returns the Refusal err is, or nil.
func RefusalOf(err error) *Refusal {
	var r *Refusal
	if errors.As(err, &r) {
		return r
	}
	return nil
}

// nothing ends a refusal's message.
const nothing = " Nothing was recorded."

// refuse words err, a refusal (VoteErrors) of vote v on r, as a Refusal;
// any other error is returned as it is.
func refuse(err error, r *Request, v Vote, now time.Time) error {
	code, msg := "", ""
	switch VoteError(err) {
	case ErrClosed:
		code, msg = RefusedClosed, "This approval request is closed ("+r.Summary(r.Evaluate(now))+")."+nothing
	case ErrAlreadyVoted:
		prev, _ := r.VoteOf(v.Approver)
		at := prev.At.UTC().Format("2006-01-02 15:04 MST")
		code, msg = RefusedAlreadyVoted, "Your "+string(prev.Decision)+" was already recorded at "+at+". Nothing changed."
		if prev.Decision != v.Decision {
			code, msg = RefusedVoteChanged, "You already voted "+string(prev.Decision)+" at "+at+"; a vote cannot be changed. Nothing changed."
		}
	case ErrNotApprover:
		code, msg = RefusedNotApprover, cmp.Or(v.Identity, v.Approver)+" is not one of this request's approvers ("+strings.Join(r.Approvers, ", ")+"): only they can approve; anyone asked may reject."+nothing
	case ErrAwaitingSmoke:
		code, msg = RefusedAwaitingSmoke, "This request waits for the smoke checks of the new revision: it takes votes only once they have passed."+nothing+" Try again later."
	case ErrAwaitingStep:
		code, msg = RefusedAwaitingStep, "This request waits for the step check's verdict on the step just baked: it takes votes only once the step has passed."+nothing+" Try again later."
	case ErrFrozen:
		code, msg = RefusedFrozen, "This deployment needs an emergency override ("+r.Freeze+"): approve it as an emergency override, giving the reason."+nothing
	case ErrOverrideReason:
		code, msg = RefusedOverrideReason, "An emergency override needs the reason in the comment."+nothing
	case ErrSelfApproval:
		code, msg = RefusedSelfApproval, "You started this deployment ("+r.StartedBy.Describe()+"): someone else must approve it. Your approval was refused, and the refusal is recorded in the audit trail."
	case ErrDeployerPending:
		code, msg = RefusedDeployerPending, "Who started this deployment is not known yet (CloudTrail delivers events minutes late), and the suite lets approvals count only once it is."+nothing+" Try again in a few minutes."
	case ErrDeployerUnknown:
		code, msg = RefusedDeployerUnknown, "Who started this deployment could not be told ("+r.StartedBy.Unknown+"), and the suite lets approvals count only when it is: this request can only be rejected, or expire."+nothing
	case ErrSuperseded:
		code, msg = RefusedSuperseded, "This vote is for an earlier approval request of this deployment, which a newer one replaced: use the most recent review link."+nothing
	case ErrDeploymentOver:
		status := "over"
		var over *DeploymentOver
		if errors.As(err, &over) {
			status = over.Status
		}
		code, msg = RefusedDeploymentOver, "ECS reports this deployment "+status+": it no longer waits for this approval, and there is nothing to decide."+nothing
	case ErrHookEnded:
		code, msg = RefusedHookEnded, "This approval request is closed: "+r.Summary(r.Outcome)+"."+nothing
		if r.Outcome == Pending {
			// Read, not yet closed: the suite closes it.
			code, msg = RefusedHookEnded, strings.TrimPrefix(err.Error(), ErrHookEnded.Error()+": ")+"; the suite closes the request within a minute."+nothing
		}
	case ErrInconsistent:
		code, msg = RefusedInconsistent, "This approval request's stored record is inconsistent, so nothing can be decided, and the deployment will not go on."+nothing+" Ask the platform team to inspect it."
	default:
		return err
	}
	return &Refusal{Code: code, Message: msg, Err: err}
}
