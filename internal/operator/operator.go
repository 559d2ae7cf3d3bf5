// Package operator implements gatehouse's operator commands against real
// AWS: list pending approval requests, show one with its votes and audit
// history, and approve or reject as the caller's IAM identity. Decisions go
// through the same conditional-write path as the review page.
package operator

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/arn"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/gatehouse-dev/gatehouse/internal/approval"
	"github.com/gatehouse-dev/gatehouse/internal/bake"
	"github.com/gatehouse-dev/gatehouse/internal/config"
	"github.com/gatehouse-dev/gatehouse/internal/ecsdeploy"
	"github.com/gatehouse-dev/gatehouse/internal/hook"
	"github.com/gatehouse-dev/gatehouse/internal/layout"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// Store is the state bucket. *store.S3 satisfies it.
type Store interface {
	approval.Store
	// List returns keys under prefix, at most limit (0: all).
	List(ctx context.Context, prefix string, limit int) ([]string, error)
}

// Identity tells who the caller is. *sts.Client satisfies it.
type Identity interface {
	GetCallerIdentity(ctx context.Context, params *sts.GetCallerIdentityInput, optFns ...func(*sts.Options)) (*sts.GetCallerIdentityOutput, error)
}

// Operator runs the commands.
type Operator struct {
	Store    Store
	Identity Identity
	Now      func() time.Time
	Out      io.Writer
	// Deployments, when set, tells whether the deployment of an open
	// request still waits for it. Best effort.
	Deployments DeploymentStatus
	// Pauses, when set, tells whether the ECS PAUSE hook of an open request
	// still waits: a vote on one someone else ended is refused (the suite
	// closes the request). Read only.
	Pauses PauseStates
	// Settler, when set, has the suite settle a deciding vote on a PAUSE
	// request at once: announce it and tell ECS, with the suite's
	// permissions (the CLI invokes the approval hook); nil leaves it to
	// the suite's sweep, within a minute.
	Settler Settler
	// SweepNote is what a deciding vote on a PAUSE request says without a
	// Settler; empty names GATEHOUSE_APPROVAL_HOOK, which gives one.
	SweepNote string
	// Accounts are the AWS accounts whose identities may approve besides
	// the deployment's own (GATEHOUSE_OPERATOR_ACCOUNTS). An identity of
	// any other account may only reject.
	Accounts []string
}

// DeploymentStatus reads a deployment's ECS status. *ecsdeploy.Reader
// satisfies it.
type DeploymentStatus interface {
	// Status returns the status ECS reports, or an error (wrapping
	// ecsdeploy.ErrNotFound when ECS does not know the deployment).
	Status(ctx context.Context, deploymentARN string) (string, error)
}

// Settler settles a decided request.
type Settler interface {
	Settle(ctx context.Context, key string) (approval.Verdict, error)
}

// PauseStates reads what ECS says of a PAUSE hook. approvalparts.ECSPauses
// satisfies it.
type PauseStates = approval.HookStates

// ended says why the PAUSE hook of the open request r no longer waits,
// when ECS says so; "" otherwise, or when ECS cannot be asked.
func (o *Operator) ended(ctx context.Context, r *approval.Request) string {
	if o.Pauses == nil {
		return ""
	}
	return approval.PauseEnded(ctx, o.Pauses, r, o.Now())
}

// statusTimeout bounds asking ECS about one deployment.
const statusTimeout = 5 * time.Second

// over returns the ECS status of r's deployment when r is open but the
// deployment no longer waits for it (stopped, rolling back, done), else "".
// ECS unreachable is "": the request is shown as stored.
func (o *Operator) over(ctx context.Context, r *approval.Request, outcome approval.Outcome) string {
	if o.Deployments == nil || outcome != approval.Pending {
		return ""
	}
	ctx, cancel := context.WithTimeout(ctx, statusTimeout)
	defer cancel()
	status, err := o.Deployments.Status(ctx, r.DeploymentARN)
	if err != nil || !ecsdeploy.Over(status) {
		return ""
	}
	return status
}

// Errors the commands report.
var (
	// ErrNoRequest: no approval request exists for the deployment.
	ErrNoRequest = errors.New("no approval request for this deployment")
	// ErrAmbiguous: the deployment has requests at several stages.
	ErrAmbiguous = errors.New("several approval requests match: choose one with --stage (and --gate)")
)

// List prints the pending requests, or all with all.
func (o *Operator) List(ctx context.Context, all bool) error {
	keys, err := o.Store.List(ctx, approval.KeyPrefix, 0)
	if err != nil {
		return fmt.Errorf("list approval requests: %w", err)
	}
	now := o.Now()
	w := tabwriter.NewWriter(o.Out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "SERVICE\tCLUSTER\tSTAGE\tSTATE\tAPPROVALS\tEXPIRES\tDEPLOYMENT")
	n := 0
	for _, k := range keys {
		obj, err := o.Store.Get(ctx, k)
		if err != nil {
			return fmt.Errorf("read %s: %w", k, err)
		}
		r, err := approval.Decode(obj.Body)
		if err != nil {
			fmt.Fprintf(w, "?\t?\t?\tunreadable\t\t\t%s\n", k)
			continue
		}
		oc := r.Evaluate(now)
		if oc != approval.Pending && !all {
			continue
		}
		state := string(oc)
		expires := r.ExpiresAt.UTC().Format("2006-01-02 15:04")
		if oc == approval.Pending {
			state = "pending"
			if s := o.over(ctx, r, oc); s != "" {
				state = "pending, but ECS: " + s
			} else if o.ended(ctx, r) != "" {
				state = "pending, but ECS: the PAUSE hook ended outside gatehouse"
			}
			expires += " (in " + hook.FormatDuration(r.ExpiresAt.Sub(now).Round(time.Minute)) + ")"
		}
		if r.Check() != nil {
			state = "inconsistent"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%d of %d\t%s\t%s\n", r.Service, r.Cluster, r.Stage, state, r.Approvals(), r.RequiredApprovals, expires, r.DeploymentARN)
		n++
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if n == 0 {
		if all {
			fmt.Fprintln(o.Out, "no approval requests")
		} else {
			fmt.Fprintln(o.Out, "no pending approval requests")
		}
	}
	return nil
}

// Selector picks one approval request of a deployment: by stage, and by
// gate name when several approval hooks hold the same stage. Empty fields
// match any.
type Selector struct {
	Stage string
	Gate  string
}

// find returns the key of the one request of deployment that sel matches.
func (o *Operator) find(ctx context.Context, deployment string, sel Selector) (string, error) {
	d, err := hook.ParseDeploymentARN(deployment)
	if err != nil {
		return "", err
	}
	stage := hook.Stage(strings.ToUpper(sel.Stage))
	if sel.Stage != "" && !stage.Valid() {
		return "", fmt.Errorf("--stage %q is not a hookable stage", sel.Stage)
	}
	keys, err := o.Store.List(ctx, layout.Requests(d), 0)
	if err != nil {
		return "", fmt.Errorf("find approval request: %w", err)
	}
	var match []string
	for _, k := range keys {
		st, gate, ok := layout.RequestName(d, k)
		if ok && (sel.Stage == "" || st == stage) && (sel.Gate == "" || gate == sel.Gate) {
			match = append(match, k)
		}
	}
	switch len(match) {
	case 0:
		return "", ErrNoRequest
	case 1:
		return match[0], nil
	}
	if k := o.openStep(ctx, d, match); k != "" {
		return k, nil
	}
	return "", ErrAmbiguous
}

// openStep returns, of keys that are all the requests of one gate's steps
// (approval steps: each), the one still open, or "" when they are not, or
// not exactly one is open.
func (o *Operator) openStep(ctx context.Context, d hook.DeploymentARN, keys []string) string {
	var base, open string
	var first hook.Stage
	for i, k := range keys {
		stage, gate, _ := layout.RequestName(d, k)
		b, ok := approval.StepGateOf(gate)
		if !ok || i > 0 && (b != base || stage != first) {
			return ""
		}
		base, first = b, stage
		r, _, err := o.load(ctx, k)
		if err != nil {
			return ""
		}
		if r.Outcome == approval.Pending {
			if open != "" {
				return ""
			}
			open = k
		}
	}
	return open
}

func (o *Operator) load(ctx context.Context, key string) (*approval.Request, string, error) {
	obj, err := o.Store.Get(ctx, key)
	if errors.Is(err, store.ErrNotFound) {
		return nil, "", ErrNoRequest
	}
	if err != nil {
		return nil, "", fmt.Errorf("read approval request: %w", err)
	}
	r, err := approval.Decode(obj.Body)
	if err != nil {
		return nil, "", err
	}
	return r, obj.ETag, nil
}

// Status prints one request: what it is, who decided, and its history.
func (o *Operator) Status(ctx context.Context, deployment string, sel Selector) error {
	key, err := o.find(ctx, deployment, sel)
	if errors.Is(err, ErrNoRequest) && sel == (Selector{}) && o.onlySteps(ctx, deployment) {
		return nil
	}
	if err != nil {
		return err
	}
	r, _, err := o.load(ctx, key)
	if err != nil {
		return err
	}
	now := o.Now()
	out := o.Out
	state := r.Evaluate(now)
	fmt.Fprintf(out, "Deployment:  %s\n", r.DeploymentARN)
	fmt.Fprintf(out, "Service:     %s (cluster %s, %s, account %s)\n", r.Service, r.Cluster, r.Region, r.Account)
	fmt.Fprintf(out, "Stage:       %s\n", r.Stage)
	if r.Gate != "" {
		fmt.Fprintf(out, "Gate:        %s\n", r.Gate)
	}
	fmt.Fprintf(out, "State:       %s\n", r.Summary(state))
	if err := r.Check(); err != nil {
		fmt.Fprintf(out, "INCONSISTENT: %s: the hook answers FAILED, and nothing can be decided\n", strings.TrimPrefix(err.Error(), approval.ErrInconsistent.Error()+": "))
	}
	if s := o.over(ctx, r, state); s != "" {
		fmt.Fprintf(out, "ECS:         the deployment is %s: it no longer waits for this approval, and there is nothing to decide\n", s)
	} else if why := o.ended(ctx, r); why != "" {
		fmt.Fprintf(out, "ECS:         %s; there is nothing to decide (the suite closes the request within a minute)\n", why)
	}
	if p := r.PauseState(); p != "" {
		fmt.Fprintf(out, "Paused:      %s\n", p)
	}
	if c := r.Change; c.Known {
		fmt.Fprintf(out, "Change:      %s -> %s\n", strings.Join(c.SourceTaskDefinitions, ", "), c.TargetTaskDefinition)
	}
	fmt.Fprintf(out, "Approvals:   %d of %d required\n", r.Approvals(), r.RequiredApprovals)
	then := string(r.OnExpiry)
	if r.Freeze != "" {
		then = string(approval.Reject)
		fmt.Fprintf(out, "Frozen:      %s (approvals must be emergency overrides: gatehouse approve --override --comment REASON)\n", r.Freeze)
	}
	if !r.AbortOnAlarms.Empty() {
		fmt.Fprintf(out, "Watching:    %s\n", r.AbortOnAlarms)
	}
	fmt.Fprintf(out, "Expires:     %s (then %s)\n", r.ExpiresAt.UTC().Format(time.RFC3339), then)
	if len(r.Approvers) > 0 {
		fmt.Fprintln(out, "Approvers:")
		for _, a := range r.Approvers {
			v, ok := r.VoteOf(a)
			st := "waiting"
			if ok {
				st = string(v.Decision) + " at " + v.At.UTC().Format(time.RFC3339)
				if v.Override {
					st += " (emergency override: " + v.Comment + ")"
				}
			}
			fmt.Fprintf(out, "  %s: %s\n", a, st)
		}
	}
	if len(r.Votes) > 0 {
		fmt.Fprintln(out, "Votes:")
		for _, v := range r.Votes {
			fmt.Fprintf(out, "  %s  %-7s  %s via %s", v.At.UTC().Format(time.RFC3339), v.Decision, v.Approver, v.Via)
			if v.SourceIP != "" {
				fmt.Fprintf(out, " from %s", v.SourceIP)
			}
			if v.Comment != "" {
				fmt.Fprintf(out, ": %q", v.Comment)
			}
			fmt.Fprintln(out)
		}
	}
	fmt.Fprintln(out, "History:")
	for _, e := range r.History {
		fmt.Fprintf(out, "  %s  %-9s  %s: %s\n", e.At.UTC().Format(time.RFC3339), e.Kind, e.Actor, e.Detail)
	}
	o.steps(ctx, r.DeploymentARN, out)
	return nil
}

// onlySteps prints the status of a linear or canary deployment judged step
// by step without an approval request: its steps. It reports whether it
// printed anything.
func (o *Operator) onlySteps(ctx context.Context, deployment string) bool {
	var steps bytes.Buffer
	if !o.steps(ctx, deployment, &steps) {
		return false
	}
	fmt.Fprintf(o.Out, "Deployment:  %s\nApproval:    none requested\n%s", deployment, steps.String())
	return true
}

// steps prints to out the step check's verdicts on the deployment's linear
// or canary steps, and reports whether it printed anything.
func (o *Operator) steps(ctx context.Context, deploymentARN string, out io.Writer) bool {
	d, err := hook.ParseDeploymentARN(deploymentARN)
	if err != nil {
		return false
	}
	reps, err := bake.Steps(ctx, o.Store, d)
	if err != nil {
		fmt.Fprintf(out, "Steps:       cannot read the step check's reports: %v\n", err)
		return true
	}
	if len(reps) == 0 {
		return false
	}
	fmt.Fprintln(out, "Steps (the bake's step check, before each production step):")
	for _, rep := range reps {
		fmt.Fprintf(out, "  %s  %s\n    %s\n", rep.DecidedAt.UTC().Format(time.RFC3339), rep.Summary(), rep.Reason)
	}
	return true
}

// Decide records the caller's decision. With an approver list, the caller
// approves as the approver their AWS identity names (a role session name or
// user name that is their approver address, as IAM Identity Center sessions
// are); any caller may reject, which is always safe. On a shared-link request
// the caller votes as their IAM identity. override approves as an emergency
// override of a freeze or change window; the comment says why.
func (o *Operator) Decide(ctx context.Context, deployment string, sel Selector, d approval.Decision, comment string, override bool) error {
	id, err := o.Identity.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return fmt.Errorf("who are you? sts:GetCallerIdentity: %w", err)
	}
	arn := aws.ToString(id.Arn)
	if arn == "" {
		return errors.New("sts:GetCallerIdentity returned no ARN")
	}
	key, err := o.find(ctx, deployment, sel)
	if err != nil {
		return err
	}
	r, etag, err := o.load(ctx, key)
	if err != nil {
		return err
	}
	who := voter(arn)
	account := identityAccount(arn)
	trusted := account != "" && (account == r.Account || slices.Contains(o.Accounts, account))
	if trusted {
		if a := approval.ApproverOfIdentity(arn, r.Approvers); a != "" {
			who = a
		}
	} else if d == approval.Approve {
		// The name of a user or session in another account is no one's:
		// anyone with an account can name a user alice@example.com.
		return fmt.Errorf("%s is an identity of account %s, not of the deployment's account %s or of %s: it approves nothing (it may reject); nothing was recorded",
			arn, cmp.Or(account, "unknown"), r.Account, config.EnvOperatorAccounts)
	}
	now := o.Now()
	votes := approval.NewService(approval.Parts{Gate: &approval.Gate{Store: o.Store, Now: func() time.Time { return now }, Log: slog.New(slog.DiscardHandler)},
		Deployments: o.Deployments, Door: cliPause{o}})
	voted, err := votes.Vote(ctx, approval.Ballot{Key: key, Read: &approval.Stored{Request: r, ETag: etag},
		Vote: approval.Vote{Approver: who, Identity: arn, Decision: d, Comment: comment, Via: "cli", Override: override}})
	if voted.Request != nil {
		r = voted.Request
	}
	if ref := approval.RefusalOf(err); ref != nil {
		if ref.Code == approval.RefusedAlreadyVoted {
			// The same decision again: nothing to do, and nothing wrong.
			fmt.Fprintln(o.Out, ref.Message)
			return nil
		}
		return fmt.Errorf("%w%s", ref, refusalHints[ref.Code])
	}
	if err != nil {
		return err
	}
	what := string(d)
	if v, ok := r.VoteOf(who); ok && v.Override {
		what = "approve (emergency override)"
	}
	fmt.Fprintf(o.Out, "recorded: %s %s as %s\n", what, r.DeploymentARN, who)
	fmt.Fprintf(o.Out, "state: %s\n", r.Summary(r.Evaluate(now)))
	switch {
	case r.Outcome == approval.Pending:
	case r.Pause == nil:
		fmt.Fprintln(o.Out, "the hook answers on its next call")
	case errors.Is(voted.SettleErr, errNoSettler):
		fmt.Fprintln(o.Out, cmp.Or(o.SweepNote, fmt.Sprintf("the suite's sweep tells ECS within a minute (set %s to have the suite tell it at once)", config.EnvApprovalHook)))
	case voted.SettleErr != nil:
		// The vote stands whatever this caller may do.
		fmt.Fprintf(o.Out, "ECS: not told by this command (%s); the suite's sweep tells it within a minute\n", hook.OneLine(voted.SettleErr.Error()))
	case voted.Told != nil:
		fmt.Fprintf(o.Out, "ECS: %s\n", voted.Told.Reason)
	}
	return nil
}

// errNoSettler: the CLI was given no way to have the suite settle a
// request (GATEHOUSE_APPROVAL_HOOK unset).
var errNoSettler = errors.New("no settler")

// cliPause is the CLI's view of a PAUSE request's hook: ECS read with the
// caller's rights (the suite closes a request whose hook ended), and the
// settle left to the suite's approval hook, never the caller's rights.
type cliPause struct{ o *Operator }

func (p cliPause) CheckPause(ctx context.Context, key string) (*approval.Request, error) {
	r, _, err := p.o.load(ctx, key)
	if err != nil {
		return nil, err
	}
	if why := p.o.ended(ctx, r); why != "" {
		return r, fmt.Errorf("%w: %s", approval.ErrHookEnded, why)
	}
	return r, nil
}

func (p cliPause) Settle(ctx context.Context, key string) (approval.Verdict, error) {
	if p.o.Settler == nil {
		return approval.Verdict{}, errNoSettler
	}
	return p.o.Settler.Settle(ctx, key)
}

// refusalHints add to a refusal's message what to do about it from the
// CLI, for each refusal code (approval.RefusalCodes): the command then
// exits 1, with nothing recorded (a repeated vote, already recorded, exits
// 0).
var refusalHints = map[string]string{
	approval.RefusedClosed:       "",
	approval.RefusedAlreadyVoted: "",
	approval.RefusedVoteChanged:  "",
	approval.RefusedNotApprover: " To approve from the CLI, sign in as an IAM user or through IAM Identity Center with your approver address as user name" +
		" (gatehouse status shows the approvers).",
	approval.RefusedAwaitingSmoke:   "",
	approval.RefusedAwaitingStep:    "",
	approval.RefusedFrozen:          " Approve with --override --comment REASON.",
	approval.RefusedOverrideReason:  " Pass --comment REASON.",
	approval.RefusedSelfApproval:    "",
	approval.RefusedDeployerPending: "",
	approval.RefusedDeployerUnknown: "",
	approval.RefusedSuperseded:      "",
	approval.RefusedDeploymentOver:  "",
	approval.RefusedHookEnded:       "",
	approval.RefusedInconsistent:    " gatehouse status shows it.",
}

// identityAccount returns the account of an IAM or STS ARN, or "".
func identityAccount(s string) string {
	a, err := arn.Parse(s)
	if err != nil {
		return ""
	}
	return a.AccountID
}

// voter returns whom a CLI vote on a shared-link request counts for: the
// IAM user, or the role without its session name, so that one person with
// two sessions counts once.
func voter(arn string) string {
	if before, rest, ok := strings.Cut(arn, ":assumed-role/"); ok {
		role, _, _ := strings.Cut(rest, "/")
		return before + ":assumed-role/" + role
	}
	return arn
}
