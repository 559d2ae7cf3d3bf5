package approval

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/hook"
	"github.com/gatehouse-dev/gatehouse/internal/layout"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// Store keeps approval requests. *store.S3 satisfies it.
type Store interface {
	// Get returns the document at key, or an error wrapping store.ErrNotFound.
	Get(ctx context.Context, key string) (store.Object, error)
	// Create writes a new document; it returns an error wrapping
	// store.ErrPrecondition if one exists.
	Create(ctx context.Context, key string, body []byte) (etag string, err error)
	// Update replaces the document if it still has etag; it returns an error
	// wrapping store.ErrPrecondition if not.
	Update(ctx context.Context, key string, body []byte, etag string) (string, error)
}

// Message is one notification to publish.
type Message struct {
	// Approver is the addressee's email; empty for a message to everyone
	// subscribed without a filter policy (a shared link).
	Approver string
	// Subject is the email subject.
	Subject string
	// Body is the plain-text body.
	Body string
}

// Notifier publishes messages.
type Notifier interface {
	// Publish sends m and returns the message id.
	Publish(ctx context.Context, m Message) (id string, err error)
}

// Describer tells what a deployment changes. It is consulted best effort: the
// gate works without it.
type Describer interface {
	// Describe returns what the deployment changes, as ECS reports it.
	Describe(ctx context.Context, deploymentARN string) (Change, error)
}

// StepSource reads the bake's step check verdicts.
type StepSource interface {
	// StepVerdict returns the step check's verdict, in one line, on the
	// step of the deployment named share (Step.Report), and whether the
	// step passed. It returns an error wrapping store.ErrNotFound while
	// there is none.
	StepVerdict(ctx context.Context, deploymentARN, share string) (verdict string, passed bool, err error)
}

// SmokeSource reads the smoke verdict of a deployment at a stage.
type SmokeSource interface {
	// SmokeVerdict returns whether every critical smoke check passed, with a
	// one-line summary. It returns an error wrapping store.ErrNotFound while
	// there is no verdict yet.
	SmokeVerdict(ctx context.Context, deploymentARN string, stage hook.Stage) (passed bool, summary string, err error)
}

// Alarm is the state of one CloudWatch alarm.
type Alarm struct {
	Name string
	// State is OK, ALARM or INSUFFICIENT_DATA.
	State string
	// Reason is CloudWatch's reason for the state.
	Reason string
}

// AlarmSource reads CloudWatch alarms, for abortOnAlarms.
type AlarmSource interface {
	// Alarms returns the alarms named in names or whose name starts with one
	// of prefixes. Names that match no alarm are absent. An error that
	// asking again may mend (throttling, a 5xx, a timeout) must satisfy
	// hook.IsTransient; any other means the alarms cannot be watched.
	Alarms(ctx context.Context, names, prefixes []string) ([]Alarm, error)
}

// Linker makes the review link for one approver of r (empty for a shared link).
type Linker interface {
	Link(ctx context.Context, r *Request, approver string) (string, error)
}

// Poll is one call of the approval hook.
type Poll struct {
	// Deployment is the parsed service-deployment ARN.
	Deployment hook.DeploymentARN
	// Stage is the stage the hook was called at.
	Stage hook.Stage
	// ServiceARN and TargetRevisionARN come from the event.
	ServiceARN        string
	TargetRevisionARN string
	// Settings are the resolved settings for this service.
	Settings Settings
	// PauseHookID names the ECS PAUSE hook the request holds, for a request
	// opened by its event (OpenPause); empty for a Lambda hook's call.
	PauseHookID string
	// Step is, under steps: each at a stage ECS runs at every step, green's
	// share of production before the step (the event's weights); nil
	// otherwise.
	Step *float64
	// Lambda marks a call of ECS's Lambda hook, whose stage ECS ends after
	// 24 hours: a request it would open must expire before
	// (Settings.CheckLambda). One opened already keeps its terms.
	Lambda bool
}

// Verdict is the gate's answer to a poll.
type Verdict struct {
	// Outcome is Pending while the gate holds.
	Outcome Outcome
	// Pass reports whether the deployment may go on. It is false while
	// Pending.
	Pass bool
	// Reason says why, in one line.
	Reason string
}

// Gate holds deployments until approvers decide. Store, Notifier, Linker,
// Now and Log are required.
type Gate struct {
	Store     Store
	Notifier  Notifier
	Describer Describer
	Linker    Linker
	Now       func() time.Time
	Log       *slog.Logger
	// Smoke reads smoke verdicts, for waitForSmoke.
	Smoke SmokeSource
	// Steps reads the step check's verdicts, the evidence a request of
	// one step shows; nil shows none.
	Steps StepSource
	// Subscriptions reads the review topic's subscriptions, so that expiry
	// approves only when every approver is reachable; nil means it cannot
	// be checked, and expiry rejects.
	Subscriptions Subscriptions
	// Chat, when set, messages each approver directly besides the email
	// (Slack), and is one of the channels that reach them.
	Chat Chat
	// Channels are the ways approvers are asked besides email (Channel):
	// expiry approves only when each approver is reached by one of them,
	// or by email.
	Channels []Channel
	// Pauses reads and ends PAUSE hooks' waits, for requests opened by an
	// "ECS Hook State Change" event (OpenPause); nil: none are.
	Pauses PauseHooks
	// Tags reads a service's gatehouse: tags, its settings for a PAUSE
	// hook (ApplyTags); nil: the suite's settings apply as they are.
	Tags ServiceTags
	// Index lists the open PAUSE requests for Sweep; nil: OpenPause marks
	// none, and nothing sweeps them.
	Index Index
	// Deployers tells who started a deployment, for separation of duties;
	// nil: not looked up, and the deployer's approval counts like anyone's.
	Deployers Deployers
	// Function is this approval hook's own function name (or ARN), to find
	// it among the stage's hooks ECS reports; empty: unknown.
	Function string
	// SmokeFunction names the smoke hook's Lambda function (name or ARN).
	// When ECS reports it among the hooks of the stage, the gate waits for
	// its verdict unless waitForSmoke says otherwise.
	SmokeFunction string
	// BakeFunction names the bake hook's Lambda function (name or ARN): a
	// request of one step waits for its step check when ECS runs it at the
	// stage.
	BakeFunction string
	// Alarms reads the alarms of abortOnAlarms; without it a request that
	// watches alarms is aborted at once (fail closed).
	Alarms AlarmSource
}

// Timing of the publishing lease and retries.
const (
	// SendLease is how long a caller that claimed the review messages has to
	// publish them before another caller takes over. It is longer than any
	// hook invocation lasts.
	SendLease = 2 * time.Minute
	// maxAttempts bounds re-reads after lost conditional writes.
	maxAttempts = 8
	// describeTimeout bounds the best-effort call to ECS.
	describeTimeout = 3 * time.Second
	// publishReserve is the time a publish needs left before the deadline.
	publishReserve = time.Second
	// recordTimeout bounds writing down what was published.
	recordTimeout = 5 * time.Second
	// alarmTimeout bounds reading the watched alarms.
	alarmTimeout = 5 * time.Second
	// AlarmTroubleLimit is how long the watched alarms may stay unreadable
	// (throttling, timeouts) before the request is aborted: a watch that
	// cannot see is no watch.
	AlarmTroubleLimit = 10 * time.Minute
	// maxAlarmReason bounds how much of CloudWatch's reason for an alarm's
	// state is quoted.
	maxAlarmReason = 160
)

// Poll answers one hook call. On the first call for a deployment and stage it
// creates the request and notifies the approvers; later calls read the request
// once and write only when something changed. Errors are returned for the
// caller to classify: transient ones mean "ask again".
func (g *Gate) Poll(ctx context.Context, p Poll) (Verdict, error) {
	key := GateKey(p.Deployment, p.Stage, p.Settings.Gate)
	obj, err := g.Store.Get(ctx, key)
	if errors.Is(err, store.ErrNotFound) {
		return g.open(ctx, key, p)
	}
	if err != nil {
		return Verdict{}, fmt.Errorf("load approval %s: %w", key, err)
	}
	r, err := g.decode(key, obj.Body)
	if err != nil {
		return Verdict{}, err
	}
	return g.advance(ctx, key, obj.ETag, r)
}

// refuseTimeoutContinue refuses, and records so, the request of an
// approval hook whose ECS timeout action is CONTINUE.
func (g *Gate) refuseTimeoutContinue(ctx context.Context, p Poll) Verdict {
	if err := g.Refuse(ctx, p, timeoutContinueRefusal); err != nil {
		g.Log.WarnContext(ctx, "policy refusal not recorded", "deployment_arn", p.Deployment.String(), "err", err)
	}
	return Verdict{Outcome: Refused, Reason: "refused by the suite's policy: " + timeoutContinueRefusal}
}

// govern records on a new request what the governance checks need: who
// started the deployment, an ECS timeout that continues, and whether
// every approver is reachable.
func (g *Gate) govern(ctx context.Context, r *Request, policy Policy, change Change, now time.Time) {
	if g.Deployers != nil {
		// Separation of duties: who started the deployment.
		r.ForbidSelfApproval = !policy.SelfApproval
		r.CountWithoutDeployer = policy.DeployerUnknown
		r.StartedBy = &StartedBy{}
		g.lookupDeployer(ctx, r, now)
	}
	r.AllowTimeoutContinue = policy.TimeoutAction
	if g.continuesOnTimeout(change) {
		r.TimeoutContinues = true
		r.record(now, "ecs", "gatehouse", "ECS's timeout action for this approval hook is CONTINUE, as the suite's policy allows: if nobody decides before the hook's ECS timeout, the deployment goes on unapproved")
	}
	if r.OnExpiry == Approve && r.Freeze == "" {
		// Silence counts as consent only from people who were asked.
		r.Reach = g.reach(ctx, r)
		r.record(now, "reach", "gatehouse", r.Reach.summary())
	}
}

// timeoutContinueRefusal is why an approval hook whose ECS timeout action
// is CONTINUE is refused.
const timeoutContinueRefusal = "timeoutAction: ECS reports this approval hook's timeout action as CONTINUE, which lets the deployment go on unapproved when nobody decides in time (GATEHOUSE_POLICY approval.loosen.timeoutAction)"

// redescribe asks ECS again, for a request opened while it could not say,
// what the deployment changes, and applies what it says of this hook's
// timeout action: a CONTINUE the policy does not allow closes the request
// as refused. ok is false while ECS still cannot say.
func (g *Gate) redescribe(ctx context.Context, key string, r *Request, now time.Time) (step, bool) {
	change, err := g.describe(ctx, r.DeploymentARN)
	if err != nil {
		return step{}, false
	}
	next := clone(r)
	if t := r.Change.Try; t != nil && t.Source == "testUrl" {
		// Where to try green, as configured, stays.
		change.Try, change.TryUnknown = t, ""
	}
	next.Change = change
	if !g.continuesOnTimeout(change) {
		return step{next: next}, true
	}
	if r.AllowTimeoutContinue {
		next.TimeoutContinues = true
		next.record(now, "ecs", "gatehouse", "ECS's timeout action for this approval hook is CONTINUE, as the suite's policy allows: if nobody decides before the hook's ECS timeout, the deployment goes on unapproved")
		return step{next: next}, true
	}
	next.Refusal = timeoutContinueRefusal
	next.close(Refused, now)
	next.AnnouncedAt = &now
	return step{next: next, then: func(newTag string) (Verdict, error) {
		g.announce(ctx, key, newTag, next)
		return g.verdict(next, Refused), nil
	}}, true
}

// continuesOnTimeout reports whether ECS lists this approval hook among the
// stage's hooks with the timeout action CONTINUE.
func (g *Gate) continuesOnTimeout(change Change) bool {
	if g.Function == "" {
		return false
	}
	return slices.ContainsFunc(change.ContinueOnTimeout, func(h string) bool { return functionName(h) == functionName(g.Function) })
}

// decode reads the stored request at key, and refuses for good one whose
// parts disagree (Check), leaving it as it is.
func (g *Gate) decode(key string, body []byte) (*Request, error) {
	r, err := Decode(body)
	if err != nil {
		return nil, fmt.Errorf("load approval %s: %w", key, err)
	}
	if err := r.Check(); err != nil {
		return nil, hook.Permanent(fmt.Errorf("approval %s: %w; it is left as it is for inspection", key, err))
	}
	return r, nil
}

// firstDeploymentSkipped is why a first deployment passes ungated.
const firstDeploymentSkipped = "first deployment of the service: not gated (firstDeployment: skip)"

// recordSkip records a PAUSE request closed Skipped, so that Settle tells
// ECS CONTINUE, once, with the call in the audit.
func (g *Gate) recordSkip(ctx context.Context, key string, p Poll, change Change, now time.Time) (Verdict, error) {
	r, err := g.newRequest(p, change, now)
	if err != nil {
		return Verdict{}, err
	}
	r.SendingSince, r.History = nil, nil
	r.record(now, "created", "gatehouse", firstDeploymentSkipped)
	r.close(Skipped, now)
	r.AnnouncedAt = &now
	body, err := r.Encode()
	if err != nil {
		return Verdict{}, err
	}
	if _, err := g.Store.Create(ctx, key, body); err != nil && !errors.Is(err, store.ErrPrecondition) {
		return Verdict{}, fmt.Errorf("create approval %s: %w", key, err)
	}
	return g.verdict(r, Skipped), nil
}

// watchAtOpen reads the watched alarms of a new request: nobody is asked
// to approve a green whose alarms already fire.
func (g *Gate) watchAtOpen(ctx context.Context, r *Request, now time.Time) {
	reason, trouble := g.watch(ctx, r)
	switch {
	case reason != "":
		r.abort(reason, now)
		r.AnnouncedAt = &now
	case trouble != nil:
		// Ask anyway; the trouble is recorded, and it aborts the request
		// if it lasts.
		r.AlarmTroubleSince = &now
		r.record(now, "watch", "gatehouse", "the watched alarms cannot be read: "+oneLine(trouble.Error()))
	}
}

// open handles the first call: the conditional create decides which caller
// notifies, so duplicates and retries never publish twice.
func (g *Gate) open(ctx context.Context, key string, p Poll) (Verdict, error) {
	now := g.Now()
	change, unknown := g.describe(ctx, p.Deployment.String())
	if p.Settings.FirstDeployment == FirstDeploymentSkip && change.Known && change.FirstDeployment && p.Settings.FrozenAt(now) == "" {
		if p.PauseHookID != "" {
			// ECS must be told: recorded, then settled.
			return g.recordSkip(ctx, key, p, change, now)
		}
		return Verdict{Outcome: Approved, Pass: true, Reason: firstDeploymentSkipped}, nil
	}
	if g.continuesOnTimeout(change) && !p.Settings.Policy.TimeoutAction {
		return g.refuseTimeoutContinue(ctx, p), nil
	}
	if p.Lambda {
		if err := p.Settings.CheckLambda("hookDetails.timeout (or the suite's GATEHOUSE_APPROVAL_TIMEOUT)"); err != nil {
			return Verdict{}, hook.Permanent(fmt.Errorf("invalid approval configuration: %w", err))
		}
	}
	r, err := g.newRequest(p, change, now)
	if err != nil {
		return Verdict{}, err
	}
	g.govern(ctx, r, p.Settings.Policy, change, now)
	if err := g.stepAtOpen(ctx, r, change, unknown, now); err != nil {
		return Verdict{}, err
	}
	wait, err := g.waitForSmoke(ctx, p, change, unknown)
	if err != nil {
		return Verdict{}, err
	}
	if wait {
		if g.Smoke == nil {
			return Verdict{}, errors.New("waitForSmoke: this approval hook cannot read smoke reports")
		}
		// Create the request now, so that its timeout and audit trail cover
		// the wait, but hold the messages until the smoke checks pass.
		r.AwaitSmoke, r.SendingSince = true, nil
		r.record(now, "smoke", "gatehouse", "waiting for the smoke checks before asking for approval")
	}
	if !r.AbortOnAlarms.Empty() && !wait {
		// (Waiting for the smoke verdict, advance reads them at once.)
		g.watchAtOpen(ctx, r, now)
	}
	body, err := r.Encode()
	if err != nil {
		return Verdict{}, err
	}
	etag, err := g.Store.Create(ctx, key, body)
	if errors.Is(err, store.ErrPrecondition) {
		// Another caller created it first: it notifies, not us.
		obj, err := g.Store.Get(ctx, key)
		if errors.Is(err, store.ErrNotFound) {
			// A conflict with a write that did not stick: ask again.
			return Verdict{}, hook.Transient(fmt.Errorf("create approval %s: lost a race with a write that vanished", key))
		}
		if err != nil {
			return Verdict{}, fmt.Errorf("load approval %s: %w", key, err)
		}
		r, err := g.decode(key, obj.Body)
		if err != nil {
			return Verdict{}, err
		}
		return g.advance(ctx, key, obj.ETag, r)
	}
	if err != nil {
		return Verdict{}, fmt.Errorf("create approval %s: %w", key, err)
	}
	if r.Outcome == Aborted {
		g.Log.InfoContext(ctx, "approval aborted before anyone was asked", "deployment_arn", r.DeploymentARN, "stage", string(r.Stage), "reason", r.AbortReason)
		return g.verdict(r, Aborted), nil
	}
	g.Log.InfoContext(ctx, "approval requested", "deployment_arn", r.DeploymentARN, "stage", string(r.Stage),
		"approvers", len(r.Approvers), "required", r.RequiredApprovals, "expires_at", r.ExpiresAt, "await_smoke", r.AwaitSmoke)
	if r.AwaitSmoke || r.AwaitStep {
		return g.advance(ctx, key, etag, r)
	}
	return g.send(ctx, key, etag, r)
}

// linkBase is the base of the review links the gate makes, when its
// Linker says (review.Links does).
func (g *Gate) linkBase() string {
	if b, ok := g.Linker.(interface{ BaseURL() string }); ok {
		return b.BaseURL()
	}
	return ""
}

func (g *Gate) newRequest(p Poll, change Change, now time.Time) (*Request, error) {
	id, err := randomID()
	if err != nil {
		return nil, err
	}
	s := p.Settings
	r := &Request{
		SchemaVersion:     SchemaVersion,
		ID:                id,
		DeploymentARN:     p.Deployment.String(),
		Stage:             p.Stage,
		Gate:              s.Gate,
		ServiceARN:        p.ServiceARN,
		Cluster:           p.Deployment.Cluster,
		Service:           p.Deployment.Service,
		Region:            p.Deployment.Region,
		Account:           p.Deployment.Account,
		TargetRevisionARN: p.TargetRevisionARN,
		Change:            change,
		Approvers:         s.Approvers,
		RequiredApprovals: s.RequiredApprovals,
		OnExpiry:          s.OnExpiry,
		AbortOnAlarms:     s.AbortOnAlarms,
		Policy:            s.Floors,
		Freeze:            s.FrozenAt(now),
		CreatedAt:         now,
		ExpiresAt:         now.Add(s.Timeout),
		SendingSince:      &now,
		ReviewBase:        g.linkBase(),
	}
	if s.Steps == StepsEach {
		r.Steps = StepsEach
		if share := cmp.Or(p.Step, change.GreenShare); share != nil && PerStep(p.Stage) {
			// The step check's report is named by ECS's record, else the
			// event's weight; the share shown is the lower, as the step
			// check counts it: the event's weights may be the step about
			// to be made.
			named := layout.StepName(change.GreenShare, p.Step)
			if change.GreenShare != nil {
				share = ptrMin(share, change.GreenShare)
			}
			r.Step = &Step{GreenShare: *share, Report: named}
		}
	}
	if s.TestURL != "" {
		// Where to try green, as configured: it wins over discovery.
		r.Change.Try, r.Change.TryUnknown = &TryIt{URL: s.TestURL, Source: "testUrl"}, ""
	}
	if s.ReminderAt > 0 {
		r.RemindAt = now.Add(time.Duration(float64(s.Timeout) * s.ReminderAt))
	}
	t := r.terms()
	r.Terms = &t
	if p.PauseHookID != "" {
		r.Pause = &PauseRun{HookID: p.PauseHookID}
	}
	detail := fmt.Sprintf("waiting for %d approval(s) from %s; expires %s, then %s by default",
		r.RequiredApprovals, approverList(r), r.ExpiresAt.UTC().Format(time.RFC3339), r.OnExpiry)
	if r.OnExpiry == Approve {
		detail += " (explicit opt-in: onExpiry approve)"
	}
	if r.Freeze != "" {
		detail += "; " + r.Freeze + ": approvals must be emergency overrides, and expiry rejects"
	}
	r.record(now, "created", "gatehouse", detail)
	return r, nil
}

func approverList(r *Request) string {
	if r.Shared() {
		return "anyone with the shared link"
	}
	return fmt.Sprintf("%d approver(s)", len(r.Approvers))
}

// advance moves a stored request on and answers. It writes only when
// something changed, and on a lost write re-reads and decides again.
func (g *Gate) advance(ctx context.Context, key, etag string, r *Request) (Verdict, error) {
	w := &alarmWatch{}
	for range maxAttempts {
		s, err := g.step(ctx, key, r, w)
		if err != nil {
			return Verdict{}, err
		}
		if s.next == nil {
			return s.answer, nil
		}
		newTag, err := g.write(ctx, key, etag, s.next)
		if errors.Is(err, store.ErrPrecondition) {
			// Lost to another writer: decide again on the fresh copy.
			if r, etag, err = g.reload(ctx, key); err != nil {
				return Verdict{}, err
			}
			continue
		}
		if err != nil {
			return Verdict{}, err
		}
		if s.then == nil {
			r, etag = s.next, newTag
			continue
		}
		return s.then(newTag)
	}
	return Verdict{}, hook.Transient(fmt.Errorf("approval %s: still changing after %d attempts", key, maxAttempts))
}

// step is what advance does with the request as read: answer at once (next
// nil), or write next and, once the write stands, finish with then (nil:
// decide again on the written copy).
type step struct {
	answer Verdict
	next   *Request
	then   func(newTag string) (Verdict, error)
}

// alarmWatch is what one call learnt from the watched alarms: they are read
// once per call, and a firing alarm stands across re-reads.
type alarmWatch struct {
	read    bool
	abort   string
	trouble error
}

// step decides what to do with r: the one place where the request's states
// lead on to each other.
func (g *Gate) step(ctx context.Context, key string, r *Request, w *alarmWatch) (step, error) {
	now := g.Now()
	outcome := r.Evaluate(now)
	if r.watching(outcome) {
		if s, ok, err := g.watchStep(ctx, key, r, outcome, now, w); ok || err != nil {
			return s, err
		}
	}
	if outcome == Pending && !r.Change.Known && g.Describer != nil && g.Function != "" {
		if s, ok := g.redescribe(ctx, key, r, now); ok {
			return s, nil
		}
	}
	if outcome == Pending && r.Change.Known && r.Change.DiffAgain && g.Describer != nil && g.Linker != nil {
		// ECS could not say what changes when the request opened: asked
		// again, and written once it says.
		if change, err := g.describe(ctx, r.DeploymentARN); err == nil && change.DiffUnknown == "" {
			next := clone(r)
			next.Change.Diff, next.Change.DiffUnknown, next.Change.DiffAgain = change.Diff, "", false
			return step{next: next}, nil
		}
	}
	if outcome == Pending && g.Deployers != nil && r.deployerDue(now) {
		// Written, then the request decided again with what was found.
		next := clone(r)
		g.lookupDeployer(ctx, next, now)
		return step{next: next}, nil
	}
	if r.pauseDue() && g.Pauses != nil {
		return g.continueStep(ctx, key, r, now), nil
	}
	switch {
	case outcome != Pending && r.Outcome != Pending && r.AnnouncedAt != nil:
		return step{answer: g.verdict(r, outcome)}, nil
	case outcome != Pending:
		// Close (when expiry decided it) and claim the announcement in one
		// write, then announce: at most once, whoever wins.
		next := clone(r)
		if next.Outcome == Pending {
			next.close(outcome, now)
		}
		next.AnnouncedAt = &now
		return step{next: next, then: func(newTag string) (Verdict, error) {
			g.Log.InfoContext(ctx, "approval decided", "deployment_arn", next.DeploymentARN, "stage", string(next.Stage),
				"decision", string(next.Outcome))
			g.announce(ctx, key, newTag, next)
			return g.verdict(next, next.Outcome), nil
		}}, nil
	case r.SmokePending():
		return g.smokeStep(ctx, key, r, now)
	case r.StepPending():
		return g.stepCheckStep(ctx, key, r, now)
	case len(r.unsent()) > 0 || outcome == Pending && g.chatDue(r, now):
		if g.Linker == nil || r.SendingSince != nil && now.Sub(*r.SendingSince) < SendLease {
			// Another caller is publishing right now, or this one cannot
			// sign links (the review API): the hook's call or sweep will.
			return step{answer: g.pending(r)}, nil
		}
		next := clone(r)
		next.SendingSince = &now
		return g.sendStep(ctx, key, next), nil
	case !r.RemindAt.IsZero() && !now.Before(r.RemindAt) && r.RemindedAt == nil && g.Linker != nil:
		next := clone(r)
		next.RemindedAt = &now
		return step{next: next, then: func(newTag string) (Verdict, error) {
			g.remind(ctx, key, newTag, next)
			return g.pending(next), nil
		}}, nil
	}
	return step{answer: g.pending(r)}, nil
}

// smokeStep records the smoke verdict once it is known: a pass sends the
// review messages, a failure closes the request (nobody was asked, so there
// is nobody to tell).
func (g *Gate) smokeStep(ctx context.Context, key string, r *Request, now time.Time) (step, error) {
	if g.Smoke == nil {
		return step{}, errors.New("waitForSmoke: this approval hook cannot read smoke reports")
	}
	passed, summary, err := g.Smoke.SmokeVerdict(ctx, r.DeploymentARN, r.Stage)
	if errors.Is(err, store.ErrNotFound) {
		return step{answer: g.pending(r)}, nil
	}
	if err != nil {
		return step{}, fmt.Errorf("read smoke verdict: %w", err)
	}
	next := clone(r)
	next.Smoke = &Smoke{Passed: passed, Summary: summary}
	if !passed {
		next.close(SmokeFailed, now)
		return g.closeUnasked(ctx, next, "smoke checks failed", now), nil
	}
	next.record(now, "smoke", "gatehouse", "smoke checks passed: "+summary)
	if next.StepPending() {
		// Written, then the step check's verdict is waited for.
		return step{next: next}, nil
	}
	next.SendingSince = &now
	return g.sendStep(ctx, key, next), nil
}

// closeUnasked writes next, closed before anyone was asked (so there is
// nobody to tell: its announcement is claimed as made), and answers its
// outcome.
func (g *Gate) closeUnasked(ctx context.Context, next *Request, why string, now time.Time) step {
	next.AnnouncedAt = &now
	return step{next: next, then: func(string) (Verdict, error) {
		g.Log.InfoContext(ctx, "approval closed: "+why, "deployment_arn", next.DeploymentARN, "stage", string(next.Stage))
		return g.verdict(next, next.Outcome), nil
	}}
}

// sendStep writes next, which claims the publishing lease, and then
// publishes the review messages not yet sent. Approvers who cannot be
// notified for good (no permission, no topic) fail a Lambda hook's call,
// and ECS rolls back; a PAUSE request, which nothing fails, is closed and
// rolled back at once, saying why, rather than held until it expires.
func (g *Gate) sendStep(ctx context.Context, key string, next *Request) step {
	return step{next: next, then: func(newTag string) (Verdict, error) {
		return g.send(ctx, key, newTag, next)
	}}
}

// send publishes r's review messages not yet sent (sendReviews), closing
// a PAUSE request whose approvers cannot be notified for good.
func (g *Gate) send(ctx context.Context, key, etag string, r *Request) (Verdict, error) {
	sent, etag, err := g.sendReviews(ctx, key, etag, r)
	if err != nil && sent.Pause != nil && g.Pauses != nil && !hook.IsTransient(err) {
		return g.unreachable(ctx, key, etag, sent, err)
	}
	if err != nil {
		return Verdict{}, err
	}
	return g.pending(sent), nil
}

// unreachable closes the PAUSE request r, whose approvers cannot be
// notified (err), as aborted, tells those who were, and ECS ROLLBACK.
func (g *Gate) unreachable(ctx context.Context, key, etag string, r *Request, notifyErr error) (Verdict, error) {
	var closed bool
	next, newTag, err := Update(ctx, g.Store, key, etag, r, func(n *Request) error {
		if closed = n.Outcome == Pending; closed {
			now := g.Now()
			n.abort("cannot notify the approvers: "+oneLine(notifyErr.Error()), now)
			n.AnnouncedAt = &now
		}
		return nil
	})
	if err != nil {
		return Verdict{}, errors.Join(notifyErr, err)
	}
	if closed {
		g.Log.ErrorContext(ctx, "approval aborted: the approvers cannot be notified", "deployment_arn", next.DeploymentARN, "err", notifyErr)
		g.announce(ctx, key, newTag, next)
	}
	return g.Settle(ctx, key)
}

// watchStep is the part of step the watched alarms decide, for a request
// that watches them and has not answered its decision. ok reports that it
// decided the step; otherwise step goes on as without alarms.
func (g *Gate) watchStep(ctx context.Context, key string, r *Request, outcome Outcome, now time.Time, w *alarmWatch) (step, bool, error) {
	if !w.read {
		w.read = true
		w.abort, w.trouble = g.watch(ctx, r)
	}
	// How long the trouble has lasted is judged on the copy at hand.
	abort := w.abort
	if abort == "" && w.trouble != nil && r.AlarmTroubleSince != nil && now.Sub(*r.AlarmTroubleSince) >= AlarmTroubleLimit {
		abort = fmt.Sprintf("abortOnAlarms: the alarms could not be read for %s: %s", hook.FormatDuration(now.Sub(*r.AlarmTroubleSince)), oneLine(w.trouble.Error()))
	}
	switch {
	case abort != "" && r.Outcome == Pending && r.SendingSince != nil && now.Sub(*r.SendingSince) < SendLease:
		// Another caller is publishing review links right now: abort on
		// the next call, once it is done, so that no link goes out for a
		// closed request.
		return step{answer: g.pending(r)}, true, nil
	case abort != "":
		next := clone(r)
		next.abort(abort, now)
		next.AnnouncedAt = &now
		return step{next: next, then: func(newTag string) (Verdict, error) {
			g.Log.InfoContext(ctx, "approval aborted", "deployment_arn", next.DeploymentARN, "stage", string(next.Stage), "reason", abort)
			g.announce(ctx, key, newTag, next)
			return g.verdict(next, Aborted), nil
		}}, true, nil
	case (w.trouble != nil) != (r.AlarmTroubleSince != nil):
		// Trouble reading the alarms is recorded when it starts and cleared
		// when it ends: writes only on a change.
		next := clone(r)
		if w.trouble != nil {
			next.AlarmTroubleSince = &now
			next.record(now, "watch", "gatehouse", "the watched alarms cannot be read: "+oneLine(w.trouble.Error()))
		} else {
			next.AlarmTroubleSince = nil
			next.record(now, "watch", "gatehouse", "the watched alarms can be read again")
		}
		return step{next: next}, true, nil
	case w.trouble != nil && r.Passes(outcome):
		// No pass without a look at the alarms.
		return step{}, true, hook.Transient(fmt.Errorf("abortOnAlarms: %s, but the watched alarms could not be read; asking again: %w", r.Summary(outcome), w.trouble))
	}
	return step{}, false, nil
}

func (g *Gate) verdict(r *Request, o Outcome) Verdict {
	return Verdict{Outcome: o, Pass: r.Passes(o), Reason: r.Summary(o)}
}

func (g *Gate) pending(r *Request) Verdict {
	return Verdict{Outcome: Pending, Reason: r.Summary(Pending)}
}

// stepEvidence puts on r, the request of one step, the step check's
// verdict on the step just baked, when it is in. Evidence missing, or
// unreadable, leaves the request to say so.
func (g *Gate) stepEvidence(ctx context.Context, r *Request) {
	if r.Step != nil {
		r.Step.Evidence = g.stepVerdict(ctx, r)
	}
}

// stepVerdict reads the step check's verdict on the step r holds, "" when
// there is none (yet), or r is at a stage after the shift (the step check
// judges before it).
func (g *Gate) stepVerdict(ctx context.Context, r *Request) string {
	if r.Step == nil || g.Steps == nil || r.Stage != hook.StagePreProductionTrafficShift {
		return ""
	}
	v, _, err := g.Steps.StepVerdict(ctx, r.DeploymentARN, r.Step.report())
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		g.Log.WarnContext(ctx, "step check's verdict not read", "deployment_arn", r.DeploymentARN, "err", err)
	}
	return v
}

// stepAtOpen readies the request of one step as it opens: it waits for
// the step check's verdict (awaitStep), or shows it if in.
func (g *Gate) stepAtOpen(ctx context.Context, r *Request, change Change, unknown error, now time.Time) error {
	if err := g.awaitStep(ctx, r, change, unknown, now); err != nil || r.AwaitStep {
		return err
	}
	g.stepEvidence(ctx, r)
	return nil
}

// awaitStep holds r's messages for the step check's verdict on the step
// just baked, when r holds one step (steps: each) at
// PRE_PRODUCTION_TRAFFIC_SHIFT and ECS runs the bake hook at the stage:
// approvers decide on the evidence, and nobody is asked about a step the
// step check fails (a verdict already in is taken at once, by advance).
// When ECS could not say which hooks run (unknown), a verdict already in
// answers; with none, the gate asks again later rather than guess, within
// hook.Wrap's bound on what it cannot tell.
func (g *Gate) awaitStep(ctx context.Context, r *Request, change Change, unknown error, now time.Time) error {
	if r.Step == nil || r.Stage != hook.StagePreProductionTrafficShift || g.Steps == nil || g.BakeFunction == "" {
		return nil
	}
	if !change.Known {
		_, _, err := g.Steps.StepVerdict(ctx, r.DeploymentARN, r.Step.report())
		switch {
		case errors.Is(err, store.ErrNotFound):
			return hook.Uncertain(fmt.Errorf("ECS did not say whether the bake hook judges this step at this stage (%s); asking again before notifying anyone", oneLine(fmt.Sprint(unknown))))
		case err != nil:
			return fmt.Errorf("read the step check's verdict: %w", err)
		}
	} else if !slices.ContainsFunc(change.Hooks, func(h string) bool { return functionName(h) == functionName(g.BakeFunction) }) {
		return nil
	}
	r.AwaitStep, r.SendingSince = true, nil
	r.record(now, "step", "gatehouse", "waiting for the step check's verdict on the step just baked before asking for approval")
	return nil
}

// stepCheckStep records the step check's verdict once it is in: a pass
// sends the review messages, a failure closes the request (nobody was
// asked, and ECS rolls back).
func (g *Gate) stepCheckStep(ctx context.Context, key string, r *Request, now time.Time) (step, error) {
	v, passed, err := g.Steps.StepVerdict(ctx, r.DeploymentARN, r.Step.report())
	if errors.Is(err, store.ErrNotFound) {
		return step{answer: g.pending(r)}, nil
	}
	if err != nil {
		return step{}, fmt.Errorf("read the step check's verdict: %w", err)
	}
	next := clone(r)
	judged := *next.Step
	judged.Evidence = v
	next.Step = &judged
	if !passed {
		next.abort("the step check failed the step just baked: "+v, now)
		if next.asked() {
			// Written, then announced to those asked.
			return step{next: next}, nil
		}
		return g.closeUnasked(ctx, next, "the step check failed the step", now), nil
	}
	next.record(now, "step", "gatehouse", "step check: "+v)
	next.SendingSince = &now
	return g.sendStep(ctx, key, next), nil
}

func ptrMin(a, b *float64) *float64 {
	if *b < *a {
		return b
	}
	return a
}
