package approval

// Separation of duties: who started a deployment does not approve it.

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/hook"
)

// Deployers tells who started a deployment: in AWS, CloudTrail.
type Deployers interface {
	// StartedBy returns the IAM identities (ARNs) of the calls that started
	// the deployment of serviceARN created at createdAt, looking back as far
	// as within; none while they are not known yet (CloudTrail delivers
	// events minutes late).
	StartedBy(ctx context.Context, d hook.DeploymentARN, serviceARN string, createdAt time.Time, within time.Duration) ([]string, error)
}

// DeployerWait bounds how long, from the request's creation, the deployer
// is looked up: CloudTrail delivers most events within 15 minutes. Calls
// found later than the first are added until then, so that an event
// delivered late still counts.
const DeployerWait = 15 * time.Minute

// How far before the deployment's creation its starting call is looked
// for: when ECS said when the deployment was created, and when it did not
// (the request's own creation, after scale-up, is then the only clock).
const (
	deployerWindow      = 10 * time.Minute
	deployerWindowWider = time.Hour
)

// deployerRetry is the first pause between lookups; it doubles, up to
// deployerRetryMax (LookupEvents allows two calls a second per account).
const (
	deployerRetry    = 30 * time.Second
	deployerRetryMax = 4 * time.Minute
	deployerTimeout  = 5 * time.Second
)

// StartedBy is who started the request's deployment.
type StartedBy struct {
	// Identities are the IAM identities of the calls that started it.
	Identities []string `json:"identities,omitempty"`
	// Approvers are the request's approvers those identities are.
	Approvers []string `json:"approvers,omitempty"`
	// Unknown says why the deployer is not known, once the lookup gave up.
	Unknown string `json:"unknown,omitempty"`
	// Settled is set once DeployerWait has passed: no more lookups.
	Settled bool `json:"settled,omitempty"`
	// Attempts counts the lookups; NextAt is when the next is due.
	Attempts int        `json:"attempts,omitempty"`
	NextAt   *time.Time `json:"nextAt,omitempty"`
}

// pending reports whether the deployer is still being looked up.
func (s *StartedBy) pending() bool { return s != nil && len(s.Identities) == 0 && s.Unknown == "" }

// Describe says who started the deployment, for people.
func (s *StartedBy) Describe() string {
	switch {
	case s == nil:
		return ""
	case s.pending():
		return "not known yet (CloudTrail delivers events minutes late)"
	case s.Unknown != "":
		return "unknown: " + s.Unknown
	}
	who := strings.Join(s.Identities, ", ")
	if len(s.Approvers) > 0 {
		who += " (" + strings.Join(s.Approvers, ", ") + ")"
	}
	return who
}

// Errors a vote can be refused with, for separation of duties.
var (
	// ErrSelfApproval: the approver started the deployment. The refusal is
	// recorded in the audit trail.
	ErrSelfApproval = errors.New("you started this deployment: someone else must approve it")
	// ErrDeployerPending: approvals wait until the deployer is known.
	ErrDeployerPending = errors.New("who started this deployment is not known yet (CloudTrail delivers events minutes late): approvals count once it is; try again in a few minutes")
	// ErrDeployerUnknown: the deployer could not be told, and approvals
	// count only when it is: the request can be rejected, or expire.
	ErrDeployerUnknown = errors.New("who started this deployment could not be told, and the suite's policy lets approvals count only when it is: this request can only be rejected, or expire")
)

// isDeployer reports whether v comes from who started the deployment.
func (r *Request) isDeployer(v Vote) bool {
	s := r.StartedBy
	if s == nil {
		return false
	}
	return slices.ContainsFunc(s.Approvers, func(a string) bool { return strings.EqualFold(a, v.Approver) }) ||
		v.Identity != "" && slices.Contains(s.Identities, v.Identity)
}

// selfApprovalCheck refuses an approval the deployer gives, or one given
// while the deployer is not known yet where approvals wait for it.
func (r *Request) selfApprovalCheck(v Vote, now time.Time) error {
	if v.Decision != Approve || !r.ForbidSelfApproval {
		return nil
	}
	if !r.CountWithoutDeployer {
		// Fail closed: an approval counts only when the deployer is known.
		switch {
		case r.StartedBy.pending():
			return ErrDeployerPending
		case r.StartedBy != nil && r.StartedBy.Unknown != "":
			return fmt.Errorf("%w (%s)", ErrDeployerUnknown, r.StartedBy.Unknown)
		}
	}
	if r.isDeployer(v) {
		r.record(now, "vote", v.Approver, "approval refused: "+v.Approver+" started this deployment ("+r.StartedBy.Describe()+")")
		return ErrSelfApproval
	}
	return nil
}

// lookupDeployer asks who started r's deployment and records what it
// finds, and when to ask again, until DeployerWait has passed; then a
// deployer still not found is unknown, saying why.
func (g *Gate) lookupDeployer(ctx context.Context, r *Request, now time.Time) {
	s := r.StartedBy
	d, err := hook.ParseDeploymentARN(r.DeploymentARN)
	var ids []string
	if err == nil {
		createdAt, within := r.CreatedAt, deployerWindowWider
		if r.Change.StartedAt != nil {
			createdAt, within = *r.Change.StartedAt, deployerWindow
		}
		lctx, cancel := context.WithTimeout(ctx, deployerTimeout)
		ids, err = g.Deployers.StartedBy(lctx, d, r.ServiceARN, createdAt, within)
		cancel()
	}
	s.Attempts++
	s.NextAt = nil
	var added []string
	for _, id := range ids {
		if !slices.Contains(s.Identities, id) {
			s.Identities = append(s.Identities, id)
			added = append(added, id)
			if a := ApproverOfIdentity(id, r.Approvers); a != "" && !slices.Contains(s.Approvers, a) {
				s.Approvers = append(s.Approvers, a)
			}
		}
	}
	if len(added) > 0 {
		r.record(now, "deployer", "gatehouse", "started by "+s.Describe())
	}
	if now.Sub(r.CreatedAt) >= DeployerWait {
		s.Settled = true
		if len(s.Identities) == 0 {
			why := fmt.Sprintf("CloudTrail named no caller within %s", hook.FormatDuration(DeployerWait))
			if err != nil {
				why += ": " + oneLine(err.Error())
			}
			s.Unknown = why
			r.record(now, "deployer", "gatehouse", "deployer unknown: "+why)
		}
		return
	}
	if s.Attempts == 1 && len(s.Identities) == 0 {
		r.record(now, "deployer", "gatehouse", "who started the deployment is not known yet; asking CloudTrail again")
	}
	next := now.Add(min(deployerRetry<<(s.Attempts-1), deployerRetryMax))
	s.NextAt = &next
}

// deployerDue reports whether the deployer lookup of an open request is
// due at now.
func (r *Request) deployerDue(now time.Time) bool {
	s := r.StartedBy
	return r.Outcome == Pending && s != nil && !s.Settled && s.Unknown == "" && (s.NextAt == nil || !now.Before(*s.NextAt))
}
