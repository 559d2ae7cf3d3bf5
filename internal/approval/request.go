// Package approval is the approval gate's domain: the approval request kept in
// the state bucket, the rules that decide it (quorum of distinct approvers, a
// reject is a veto, expiry with a stated default), the settings that shape it,
// and the Gate that the ECS hook polls. It knows nothing of Lambda or HTTP.
//
// Every change to a request is a conditional write on the ETag that was read;
// a writer that loses re-reads and decides again. Nothing here turns silence,
// an error or a restart into an approval.
package approval

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/gatehouse-dev/gatehouse/internal/hook"
	"github.com/gatehouse-dev/gatehouse/internal/layout"
	"github.com/gatehouse-dev/gatehouse/internal/taskdiff"
)

// SchemaVersion is the version of the stored request document: 1, or 2
// for a document that older code would misread. Version 2 adds freezes and
// watched alarms; code that knows only version 1 would ignore them, and
// pass a plain approval of a frozen request or never look at the alarms,
// so such documents are written as version 2, which it refuses. Version 3
// adds what the governance checks rely on (the terms recorded at creation,
// who started the deployment, whether every approver was reachable, a
// policy refusal, an ECS timeout that continues): code that knows only
// versions 1 and 2 would ignore them, and let a deployer approve or expiry
// approve silence, so such documents are written as version 3.
const (
	SchemaVersion  = 1
	SchemaVersion2 = 2
	SchemaVersion3 = 3
)

// KeyPrefix is where approval requests live in the state bucket
// (package layout).
const KeyPrefix = layout.Approvals

// Key returns the state-bucket key of the approval request for one deployment
// and stage: readable, and listable by account, region, cluster and service.
func Key(d hook.DeploymentARN, stage hook.Stage) string {
	return GateKey(d, stage, "")
}

// GateKey is Key for a named gate: two approval hooks at one stage (say,
// security and product) keep separate requests when each has a gate name.
func GateKey(d hook.DeploymentARN, stage hook.Stage, gate string) string {
	return layout.Request(d, stage, gate)
}

// Outcome is the state of an approval request.
type Outcome string

// The outcomes. A request starts Pending and is closed by the first of:
// a reject (Rejected), enough distinct approvals (Approved), or its expiry
// (Expired).
const (
	Pending  Outcome = ""
	Approved Outcome = "approved"
	Rejected Outcome = "rejected"
	Expired  Outcome = "expired"
	// SmokeFailed closes a request whose green failed its smoke checks
	// before anyone was asked to approve.
	SmokeFailed Outcome = "smoke-failed"
	// Aborted closes a request when a watched alarm (abortOnAlarms) went
	// into ALARM, or could not be watched, while it was open.
	Aborted Outcome = "aborted"
	// Refused closes a request whose service configuration the suite's
	// policy refused: nobody is asked, and the deployment rolls back.
	Refused Outcome = "refused"
	// Skipped closes the request of a PAUSE hook at a service's first
	// deployment under firstDeployment: skip. Nobody is asked; it is
	// recorded so that ECS is told CONTINUE once, with an audit.
	Skipped Outcome = "skipped"
)

// Decision is an approver's vote, or what expiry defaults to.
type Decision string

// The two decisions.
const (
	Approve Decision = "approve"
	Reject  Decision = "reject"
)

// ParseDecision parses "approve" or "reject".
func ParseDecision(s string) (Decision, error) {
	switch d := Decision(strings.ToLower(strings.TrimSpace(s))); d {
	case Approve, Reject:
		return d, nil
	}
	return "", fmt.Errorf("decision %q: want approve or reject", s)
}

// Vote is one approver's recorded decision.
type Vote struct {
	// Approver is who decided: an email address from the request's list, the
	// name typed on a shared link, or an IAM identity from the CLI.
	Approver string `json:"approver"`
	// Decision is approve or reject.
	Decision Decision `json:"decision"`
	// Comment is the approver's optional note.
	Comment string `json:"comment,omitempty"`
	// At is when the vote was recorded.
	At time.Time `json:"at"`
	// Via names the channel: "link", "shared-link" or "cli".
	Via string `json:"via"`
	// SourceIP is the address the vote came from, when known.
	SourceIP string `json:"sourceIp,omitempty"`
	// UserAgent is the client that sent the vote, when known.
	UserAgent string `json:"userAgent,omitempty"`
	// Identity is the caller's IAM identity for a vote from the CLI.
	Identity string `json:"identity,omitempty"`
	// Override marks an approval given as an emergency override of a freeze
	// or change window; its comment says why.
	Override bool `json:"override,omitempty"`
}

// Event is one entry of a request's audit history.
type Event struct {
	// At is when it happened.
	At time.Time `json:"at"`
	// Kind is created, smoke, notified, reminded, vote, watch, decided or
	// announced.
	Kind string `json:"kind"`
	// Actor is who caused it: an approver, or "gatehouse".
	Actor string `json:"actor"`
	// Detail says what happened, in words.
	Detail string `json:"detail"`
}

// Notice records one message published for a request.
type Notice struct {
	// Kind is review, reminder or decision; chat or chat-skipped for a
	// chat message (Chat).
	Kind string `json:"kind"`
	// Approver is whom it was for; empty for a shared-link message.
	Approver string `json:"approver,omitempty"`
	// MessageID is the SNS message id.
	MessageID string `json:"messageId,omitempty"`
	// Chat is where a chat message is (kind chat), and Shown the state it
	// shows (ChatState).
	Chat  *ChatRef `json:"chat,omitempty"`
	Shown string   `json:"shown,omitempty"`
	// Detail says why a chat message was not sent (kind chat-skipped).
	Detail string `json:"detail,omitempty"`
	// At is when it was published.
	At time.Time `json:"at"`
}

// Image is one container's image in a revision.
type Image struct {
	Container string `json:"container"`
	Image     string `json:"image"`
}

// Change describes what a deployment changes, as far as ECS told us.
type Change struct {
	// SourceTaskDefinitions are the task definitions of the running (blue)
	// revisions; empty for a first deployment or when ECS was not reachable.
	SourceTaskDefinitions []string `json:"sourceTaskDefinitions,omitempty"`
	// SourceImages are the images the blue revisions run.
	SourceImages []Image `json:"sourceImages,omitempty"`
	// TargetTaskDefinition is the green revision's task definition.
	TargetTaskDefinition string `json:"targetTaskDefinition,omitempty"`
	// TargetImages are the images the green revision runs.
	TargetImages []Image `json:"targetImages,omitempty"`
	// StartedAt is when ECS started the deployment.
	StartedAt *time.Time `json:"startedAt,omitempty"`
	// Known reports whether ECS could be asked at all.
	Known bool `json:"known"`
	// FirstDeployment reports whether no revision ran before this one.
	FirstDeployment bool `json:"firstDeployment,omitempty"`
	// Hooks are the Lambda functions ECS runs at the gate's stage.
	Hooks []string `json:"hooks,omitempty"`
	// GreenShare is the target revision's share of production as ECS last
	// requested it, in percent; nil when ECS does not say.
	GreenShare *float64 `json:"greenShare,omitempty"`
	// ContinueOnTimeout are those of Hooks whose ECS timeout action is
	// CONTINUE: when they time out, the deployment goes on.
	ContinueOnTimeout []string `json:"continueOnTimeout,omitempty"`
	// Diff is what changes from blue's task definition to green's, read
	// once when the request opens; DiffUnknown says why it could not be
	// (a later poll tries again).
	Diff        *taskdiff.Diff `json:"diff,omitempty"`
	DiffUnknown string         `json:"diffUnknown,omitempty"`
	// DiffAgain: ECS may say later (it failed transiently); a refusal, such
	// as a missing permission, is not asked again.
	DiffAgain bool `json:"diffAgain,omitempty"`
	// Try is where green can be tried now; TryUnknown says why that is
	// not known.
	Try        *TryIt `json:"try,omitempty"`
	TryUnknown string `json:"tryUnknown,omitempty"`
}

// TryIt is where reviewers try green before they approve: the test
// listener's URL, with the header and value its rule routes by.
type TryIt struct {
	URL string `json:"url"`
	// Headers are what a request must carry to reach green (the test
	// listener rule's conditions).
	Headers map[string]string `json:"headers,omitempty"`
	// Paths are the path patterns the rule routes to green (others reach
	// blue); Notes what else reviewers should know of the rule.
	Paths []string `json:"paths,omitempty"`
	Notes []string `json:"notes,omitempty"`
	// Internal: the load balancer is internal, reachable only from its
	// network.
	Internal bool `json:"internal,omitempty"`
	// Source says where URL came from: testUrl, or the test listener rule.
	Source string `json:"source,omitempty"`
}

// Configured says, for people, that the URL is the configured testUrl (a
// service's setting, which reviewers should know was not read from the
// load balancer); "" otherwise.
func (t TryIt) Configured() string {
	if t.Source != "testUrl" {
		return ""
	}
	return "as configured (testUrl), not read from the load balancer"
}

// Request is an approval request: the document stored in the state bucket.
type Request struct {
	SchemaVersion int `json:"schemaVersion"`
	// ID is random, made when the request is created. Review tokens carry it,
	// so links for an earlier request at the same key are refused.
	ID string `json:"id"`
	// DeploymentARN is the ECS service-deployment ARN.
	DeploymentARN string `json:"deploymentArn"`
	// Stage is the lifecycle stage the gate holds.
	Stage hook.Stage `json:"stage"`
	// Gate names the gate when several hold the same stage; usually empty.
	Gate string `json:"gate,omitempty"`
	// ServiceARN is the service being deployed.
	ServiceARN string `json:"serviceArn"`
	// Cluster and Service name the service.
	Cluster string `json:"cluster"`
	Service string `json:"service"`
	// Region and Account locate it.
	Region  string `json:"region"`
	Account string `json:"account"`
	// TargetRevisionARN is the green service revision.
	TargetRevisionARN string `json:"targetRevisionArn"`
	// Change is what the deployment changes.
	Change Change `json:"change"`

	// Approvers are the email addresses allowed to decide; empty means one
	// shared link, on which the reviewer types a name.
	Approvers []string `json:"approvers,omitempty"`
	// RequiredApprovals is the number of distinct approvals that pass.
	RequiredApprovals int `json:"requiredApprovals"`
	// OnExpiry is what expiry decides: reject unless explicitly configured.
	OnExpiry Decision `json:"onExpiry"`

	CreatedAt time.Time `json:"createdAt"`
	ExpiresAt time.Time `json:"expiresAt"`
	// RemindAt is when a reminder goes to those who have not voted; zero for none.
	RemindAt time.Time `json:"remindAt,omitzero"`

	// ChatFailures counts the chat's failed attempts in a row, and
	// ChatRetryAt is when it is tried again (chatTried).
	ChatFailures int        `json:"chatFailures,omitempty"`
	ChatRetryAt  *time.Time `json:"chatRetryAt,omitempty"`
	// ReviewBase is the base of the request's review links, as the hook
	// that opened it made them: whoever rewrites a chat message later
	// (the review API, which may not know its own URL) makes the same.
	ReviewBase string `json:"reviewBase,omitempty"`
	// SendingSince is set while a caller publishes the review messages: a
	// lease, so that concurrent callers do not publish twice, and a caller that
	// crashed mid-way is taken over once it lapses.
	SendingSince *time.Time `json:"sendingSince,omitempty"`
	// RemindedAt is set, before publishing, by the caller that sends the
	// reminder: a reminder is sent at most once.
	RemindedAt *time.Time `json:"remindedAt,omitempty"`
	// AnnouncedAt is set, before publishing, by the caller that announces the
	// outcome: at most once.
	AnnouncedAt *time.Time `json:"announcedAt,omitempty"`
	// Notices are the messages published so far.
	Notices []Notice `json:"notices,omitempty"`
	// Announcements counts the announcements made again to recipients an
	// earlier one did not reach (reannounce).
	Announcements int `json:"announcements,omitempty"`

	// AwaitSmoke holds the review messages until the smoke checks of the
	// same deployment and stage pass: nobody is asked to approve a green that
	// fails them.
	AwaitSmoke bool `json:"awaitSmoke,omitempty"`
	// Smoke is the smoke verdict, once known.
	Smoke *Smoke `json:"smoke,omitempty"`

	// AbortOnAlarms are the CloudWatch alarms watched while the request is
	// open; AbortReason says why it was aborted.
	AbortOnAlarms Alarms `json:"abortOnAlarms,omitzero"`
	AbortReason   string `json:"abortReason,omitempty"`
	// Refusal says why the suite's policy refused the service's
	// configuration (Outcome Refused).
	Refusal string `json:"refusal,omitempty"`
	// Outside says how the PAUSE hook ended without gatehouse (Outcome
	// ContinuedOutside).
	Outside string `json:"outside,omitempty"`
	// Carried is, for a PAUSE request closed Skipped at a later step of a
	// linear or canary deployment, the earlier step's decision it carries.
	Carried string `json:"carried,omitempty"`
	// Steps is StepsEach when this gate asks again at every step of a
	// linear or canary deployment; empty when the first step's decision
	// covers the later ones.
	Steps string `json:"steps,omitempty"`
	// Step is, for the request of one step (steps: each), the step it
	// holds.
	Step *Step `json:"step,omitempty"`
	// AwaitStep holds the review messages until the bake's step check has
	// judged the step just baked (Step.Evidence): approvers decide on the
	// evidence, and nobody is asked about a step it fails.
	AwaitStep bool `json:"awaitStep,omitempty"`
	// Policy says, for people, what the suite's policy does not let this
	// service loosen.
	Policy []string `json:"policy,omitempty"`
	// AlarmTroubleSince is when the watched alarms became unreadable, while
	// they are.
	AlarmTroubleSince *time.Time `json:"alarmTroubleSince,omitempty"`
	// Freeze says why the deployment needed an emergency override when the
	// request was created (a freeze, or outside the change windows); empty
	// when it did not. While set, only override approvals count and expiry
	// never approves.
	Freeze string `json:"freeze,omitempty"`

	// Votes are the decisions recorded, one per approver.
	Votes []Vote `json:"votes,omitempty"`
	// Outcome is set once, when the request closes.
	Outcome Outcome `json:"outcome,omitempty"`
	// DecidedAt is when the request closed.
	DecidedAt *time.Time `json:"decidedAt,omitempty"`
	// History is the audit trail, oldest first.
	History []Event `json:"history"`
	// Terms are what the request was created with (see Check); absent in
	// documents written before they were recorded.
	Terms *Terms `json:"terms,omitempty"`
	// Reach says whether every approver could be reached, checked when a
	// request whose expiry approves opened: expiry approves only then.
	Reach *Reach `json:"reach,omitempty"`
	// StartedBy is who started the deployment, when looked up; with
	// ForbidSelfApproval their approvals are refused and never counted, and
	// unless CountWithoutDeployer approvals wait until it is known.
	StartedBy            *StartedBy `json:"startedBy,omitempty"`
	ForbidSelfApproval   bool       `json:"forbidSelfApproval,omitempty"`
	CountWithoutDeployer bool       `json:"countWithoutDeployer,omitempty"`
	// TimeoutContinues is set when ECS reported this approval hook's
	// timeout action as CONTINUE (and the suite's policy allows it): if
	// nobody decides before the hook's ECS timeout, the deployment goes on.
	TimeoutContinues bool `json:"timeoutContinues,omitempty"`
	// Pause is the ECS PAUSE hook the request holds, for a request opened
	// by its event: the deciding vote ends its wait.
	Pause *PauseRun `json:"pause,omitempty"`
	// AllowTimeoutContinue records that the suite's policy allows that
	// (approval.loosen.timeoutAction), for when ECS tells it only later.
	AllowTimeoutContinue bool `json:"allowTimeoutContinue,omitempty"`
}

// Smoke summarises the smoke checks of the deployment.
type Smoke struct {
	// Passed reports whether every critical check passed.
	Passed bool `json:"passed"`
	// Summary says so in one line.
	Summary string `json:"summary"`
}

// SmokePending reports whether the request still waits for the smoke verdict.
func (r *Request) SmokePending() bool { return r.AwaitSmoke && r.Smoke == nil }

// StepPending reports whether the request still waits for the step
// check's verdict (after the smoke verdict, when it waits for both).
func (r *Request) StepPending() bool {
	return r.AwaitStep && r.Step != nil && r.Step.Evidence == "" && !r.SmokePending()
}

// Decode parses a stored request. It refuses documents it does not understand:
// a gate that guesses could pass what it should hold.
func Decode(body []byte) (*Request, error) {
	var r Request
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("decode approval request: %w", err)
	}
	if r.SchemaVersion < SchemaVersion || r.SchemaVersion > SchemaVersion3 {
		return nil, fmt.Errorf("decode approval request: schema version %d, want %d to %d", r.SchemaVersion, SchemaVersion, SchemaVersion3)
	}
	if r.ID == "" || r.DeploymentARN == "" || r.RequiredApprovals < 1 || r.ExpiresAt.IsZero() {
		return nil, errors.New("decode approval request: incomplete document")
	}
	switch r.Outcome {
	case Pending, Approved, Rejected, Expired, SmokeFailed, Aborted, Refused, Skipped, ContinuedOutside:
	default:
		return nil, fmt.Errorf("decode approval request: unknown outcome %q", r.Outcome)
	}
	if r.OnExpiry != Approve && r.OnExpiry != Reject {
		return nil, fmt.Errorf("decode approval request: unknown onExpiry %q", r.OnExpiry)
	}
	for _, v := range r.Votes {
		if v.Decision != Approve && v.Decision != Reject {
			return nil, fmt.Errorf("decode approval request: unknown decision %q", v.Decision)
		}
	}
	return &r, nil
}

// Encode serialises r for storage, as the oldest version whose readers
// would ignore nothing it uses.
func (r *Request) Encode() ([]byte, error) {
	r.SchemaVersion = SchemaVersion
	switch {
	case r.Terms != nil || r.StartedBy != nil || r.Reach != nil || r.Outcome == Refused || r.TimeoutContinues || r.Pause != nil:
		r.SchemaVersion = SchemaVersion3
	case r.Freeze != "" || !r.AbortOnAlarms.Empty() || r.OnExpiry == Approve || slices.ContainsFunc(r.Votes, func(v Vote) bool { return v.Override }):
		r.SchemaVersion = SchemaVersion2
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode approval request: %w", err)
	}
	return b, nil
}

// Shared reports whether the request uses one shared link instead of
// per-approver links.
func (r *Request) Shared() bool { return len(r.Approvers) == 0 }

// Evaluate returns the request's outcome at now: the recorded outcome if it is
// closed, else what its votes and expiry decide.
func (r *Request) Evaluate(now time.Time) Outcome {
	if r.Outcome != Pending {
		return r.Outcome
	}
	if o := r.tally(); o != Pending {
		return o
	}
	if !now.Before(r.ExpiresAt) {
		return Expired
	}
	return Pending
}

// tally applies the voting rules: any reject is a veto; otherwise enough
// distinct approvals pass.
func (r *Request) tally() Outcome {
	for _, v := range r.Votes {
		if v.Decision == Reject {
			return Rejected
		}
	}
	if r.approvers() >= r.RequiredApprovals {
		return Approved
	}
	return Pending
}

// approvers counts the distinct approvers whose approval counts: on the
// list (any name on a shared link), and an emergency override while the
// request needs one. Cast refuses the rest; this holds whatever wrote the
// votes.
func (r *Request) approvers() int {
	var seen []string
	for _, v := range r.Votes {
		name := strings.ToLower(v.Approver)
		if v.Decision == Approve && (r.Freeze == "" || v.Override) && (r.Shared() || r.IsApprover(name)) && !slices.Contains(seen, name) &&
			!(r.ForbidSelfApproval && r.isDeployer(v)) {
			seen = append(seen, name)
		}
	}
	return len(seen)
}

// Terms are what a request was created with, kept apart from the fields
// that say the same, so that a document changed since (by hand, or by a
// bug) shows as inconsistent rather than deciding on its new terms.
type Terms struct {
	Approvers         []string  `json:"approvers,omitempty"`
	RequiredApprovals int       `json:"requiredApprovals"`
	OnExpiry          Decision  `json:"onExpiry"`
	ExpiresAt         time.Time `json:"expiresAt"`
}

func (r *Request) terms() Terms {
	return Terms{Approvers: slices.Clone(r.Approvers), RequiredApprovals: r.RequiredApprovals, OnExpiry: r.OnExpiry, ExpiresAt: r.ExpiresAt}
}

// ErrInconsistent marks a stored request whose parts disagree: it decides
// nothing, and is left as it is for inspection.
var ErrInconsistent = errors.New("request document is inconsistent")

// Check reports, wrapping ErrInconsistent, why r cannot be what gatehouse
// wrote: an approved outcome without enough distinct listed approvers'
// approvals, a skipped one gatehouse would not have skipped, an approval from someone not on the list, two votes from one
// approver, or terms (quorum, approvers, expiry) other than those it was
// created with. Documents written before terms were recorded are checked
// for the rest.
func (r *Request) Check() error {
	var why []string
	if r.Outcome == Approved && r.approvers() < r.RequiredApprovals {
		why = append(why, fmt.Sprintf("its outcome is approved, but %d distinct approver(s) on its list approved, of %d required", r.approvers(), r.RequiredApprovals))
	}
	if r.Outcome == Skipped && (r.Pause == nil || len(r.Votes) > 0 || r.asked() || r.Carried == "" && !r.Change.FirstDeployment) {
		// Skipped passes like approved: only what gatehouse skips is.
		why = append(why, "its outcome is skipped, but only a PAUSE request that asked nobody, at a service's first deployment or carrying an earlier step's decision, is skipped")
	}
	var seen []string
	for _, v := range r.Votes {
		name := strings.ToLower(v.Approver)
		if slices.Contains(seen, name) {
			why = append(why, fmt.Sprintf("%s voted twice", v.Approver))
		}
		seen = append(seen, name)
		if v.Decision == Approve && !r.Shared() && !r.IsApprover(name) {
			why = append(why, fmt.Sprintf("%s, who is not on its list, approved", v.Approver))
		}
	}
	if t := r.Terms; t != nil {
		now := r.terms()
		if now.RequiredApprovals != t.RequiredApprovals {
			why = append(why, fmt.Sprintf("requiredApprovals is %d, but it was created with %d", now.RequiredApprovals, t.RequiredApprovals))
		}
		if !slices.Equal(now.Approvers, t.Approvers) {
			why = append(why, "its approvers differ from those it was created with")
		}
		if now.OnExpiry != t.OnExpiry {
			why = append(why, fmt.Sprintf("onExpiry is %s, but it was created with %s", now.OnExpiry, t.OnExpiry))
		}
		if !now.ExpiresAt.Equal(t.ExpiresAt) {
			why = append(why, "its expiry differs from the one it was created with")
		}
	}
	if len(why) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %s", ErrInconsistent, strings.Join(why, "; "))
}

// Passes reports whether an outcome lets the deployment go on. Expiry
// approves only by explicit opt-in, and never a request still waiting for
// its smoke checks: an absent verdict is not a pass.
func (r *Request) Passes(o Outcome) bool {
	return o == Approved || o == Skipped || (o == Expired && r.expiryApproves() && !r.SmokePending() && !r.StepPending() && r.allNotified())
}

// expiryApproves reports whether expiry would approve r (its messages
// aside): onExpiry approve, no override needed, and every approver
// reached.
func (r *Request) expiryApproves() bool {
	return r.OnExpiry == Approve && r.Freeze == "" && r.reachedAll()
}

// reachedAll reports whether every approver was reached: by a channel that
// could tell when the request opened (email: a confirmed subscription of
// their own, filtered to them), or by a chat message really posted to them.
// A chat account alone reaches nobody: a message that never went out asked
// no one.
func (r *Request) reachedAll() bool {
	c := r.Reach
	if c == nil || len(r.Approvers) == 0 && !c.ok() {
		return false
	}
	for _, a := range r.Approvers {
		if r.noticeSent(noticeChat, a) {
			continue
		}
		if _, no := c.Unreachable[a]; no || c.Error != "" {
			return false
		}
	}
	return true
}

// allNotified reports whether every recipient's review message went out:
// silence only means consent from people who were asked.
func (r *Request) allNotified() bool {
	return len(r.unsent()) == 0
}

// Approvals returns the number of approve votes recorded.
func (r *Request) Approvals() int {
	n := 0
	for _, v := range r.Votes {
		if v.Decision == Approve {
			n++
		}
	}
	return n
}

// VoteOf returns the vote recorded for approver, if any.
func (r *Request) VoteOf(approver string) (Vote, bool) {
	for _, v := range r.Votes {
		if strings.EqualFold(v.Approver, approver) {
			return v, true
		}
	}
	return Vote{}, false
}

// IsApprover reports whether approver is on the request's list.
func (r *Request) IsApprover(approver string) bool {
	return slices.ContainsFunc(r.Approvers, func(a string) bool { return strings.EqualFold(a, approver) })
}

// Errors a vote can be refused with.
var (
	// ErrClosed: the request is already decided or expired.
	ErrClosed = errors.New("approval request is closed")
	// ErrAlreadyVoted: this approver's vote is already recorded.
	ErrAlreadyVoted = errors.New("vote already recorded")
	// ErrNotApprover: the voter is not on the request's approver list.
	ErrNotApprover = errors.New("not an approver of this request")
	// ErrAwaitingSmoke: the smoke checks have not passed yet.
	ErrAwaitingSmoke = errors.New("the smoke checks have not passed yet")
	// ErrAwaitingStep: the step check has not judged the step just baked.
	ErrAwaitingStep = errors.New("the step check has not judged the step yet")
	// ErrFrozen: a plain approval of a deployment that needs an emergency
	// override.
	ErrFrozen = errors.New("this deployment needs an emergency override to be approved")
	// ErrOverrideReason: an emergency override without a comment saying why.
	ErrOverrideReason = errors.New("an emergency override needs a comment saying why")
)

// MaxCommentLen bounds a vote's comment, in bytes.
const MaxCommentLen = 1000

// Cast records v at now. It refuses a vote on a closed request (ErrClosed), a
// second vote by the same approver (ErrAlreadyVoted) and a vote by someone not
// on the list (ErrNotApprover). When the vote decides the request, Cast closes
// it.
func (r *Request) Cast(v Vote, now time.Time) error {
	if o := r.Evaluate(now); o != Pending {
		return fmt.Errorf("%w: %s", ErrClosed, o)
	}
	if r.SmokePending() {
		return ErrAwaitingSmoke
	}
	if r.StepPending() {
		return ErrAwaitingStep
	}
	v.Approver = strings.TrimSpace(v.Approver)
	if v.Approver == "" {
		return errors.New("vote without an approver")
	}
	if v.Decision != Approve && v.Decision != Reject {
		return fmt.Errorf("vote with decision %q", v.Decision)
	}
	v.Comment = oneLine(v.Comment)
	v.Approver = oneLine(v.Approver)
	if len(v.Comment) > MaxCommentLen {
		return fmt.Errorf("comment longer than %d bytes", MaxCommentLen)
	}
	switch {
	case v.Override && v.Decision != Approve:
		return errors.New("only an approval can be an emergency override")
	case v.Override && r.Freeze == "":
		// Nothing to override: a plain approval.
		v.Override = false
	case v.Override && v.Comment == "":
		return ErrOverrideReason
	case r.Freeze != "" && v.Decision == Approve && !v.Override:
		return fmt.Errorf("%w: %s", ErrFrozen, r.Freeze)
	}
	// With an approver list only those approvers approve. An operator from
	// the CLI who is not on it may still reject: stopping a deployment is
	// always safe, and a veto needs no quorum.
	if !r.Shared() && !r.IsApprover(v.Approver) && (v.Via != "cli" || v.Decision != Reject) {
		return ErrNotApprover
	}
	if _, ok := r.VoteOf(v.Approver); ok {
		return ErrAlreadyVoted
	}
	if err := r.selfApprovalCheck(v, now); err != nil {
		return err
	}
	v.At = now
	r.Votes = append(r.Votes, v)
	detail := string(v.Decision) + " via " + v.Via
	if v.Override {
		detail = "approve as an emergency override (" + r.Freeze + ") via " + v.Via
	}
	if v.Comment != "" {
		detail += ": " + v.Comment
	}
	r.record(now, "vote", v.Approver, detail)
	if o := r.tally(); o != Pending {
		r.close(o, now)
	}
	return nil
}

// oneLine makes s safe to quote in a line of an email, a log or a
// terminal: control characters (newlines, escapes) become spaces.
func oneLine(s string) string {
	return strings.TrimSpace(strings.Map(func(c rune) rune {
		if unicode.IsControl(c) {
			return ' '
		}
		return c
	}, s))
}

// watching reports whether the alarms r watches are to be read at a call
// that finds it with outcome o: until the gate has answered its decision,
// while it is open or would let the deployment go on.
func (r *Request) watching(o Outcome) bool {
	return !r.AbortOnAlarms.Empty() && r.AnnouncedAt == nil && (o == Pending || r.Passes(o))
}

// abort closes r as Aborted for reason. A decision already recorded but
// not yet answered (an approval between two hook calls) is overturned, and
// the reason says so.
func (r *Request) abort(reason string, now time.Time) {
	r.SendingSince = nil
	r.AlarmTroubleSince = nil
	if r.Outcome == Pending {
		r.AbortReason = reason
		r.close(Aborted, now)
		return
	}
	r.AbortReason = reason + "; " + r.Summary(r.Outcome) + ", but the deployment did not go on"
	r.Outcome = Aborted
	r.DecidedAt = &now
	r.record(now, "decided", "gatehouse", r.Summary(Aborted))
}

// asked reports whether any review message went out.
func (r *Request) asked() bool {
	return slices.ContainsFunc(r.Notices, func(n Notice) bool { return n.Kind == "review" })
}

// close records the outcome o at now.
func (r *Request) close(o Outcome, now time.Time) {
	if r.Outcome != Pending {
		return
	}
	r.Outcome = o
	r.DecidedAt = &now
	r.record(now, "decided", "gatehouse", r.Summary(o))
}

func (r *Request) record(at time.Time, kind, actor, detail string) {
	r.History = append(r.History, Event{At: at, Kind: kind, Actor: actor, Detail: detail})
}

// Summary says in one line why the request closed with o.
func (r *Request) Summary(o Outcome) string {
	switch o {
	case Approved:
		var who []string
		for _, v := range r.Votes {
			if v.Decision == Approve {
				if v.Override {
					who = append(who, v.Approver+" (emergency override)")
				} else {
					who = append(who, v.Approver)
				}
			}
		}
		return fmt.Sprintf("approved by %s (%d of %d required)", strings.Join(who, ", "), len(who), r.RequiredApprovals)
	case Rejected:
		for _, v := range r.Votes {
			if v.Decision == Reject {
				s := "rejected by " + v.Approver
				if v.Comment != "" {
					s += ": " + v.Comment
				}
				return s
			}
		}
		return "rejected"
	case SmokeFailed:
		s := "smoke checks failed"
		if r.Smoke != nil && r.Smoke.Summary != "" {
			s += ": " + r.Smoke.Summary
		}
		return s + "; nobody was asked to approve"
	case Refused:
		return "refused by the suite's policy: " + r.Refusal + "; nobody was asked to approve"
	case ContinuedOutside:
		return "continued outside gatehouse, not approved: " + r.Outside
	case Skipped:
		if r.Carried != "" {
			return "decided at an earlier step of this deployment: " + r.Carried
		}
		return firstDeploymentSkipped
	case Aborted:
		s := "aborted: " + r.AbortReason
		if !r.asked() {
			s += "; nobody was asked to approve"
		}
		return s
	case Expired:
		d := hook.FormatDuration(r.ExpiresAt.Sub(r.CreatedAt))
		if r.SmokePending() {
			return fmt.Sprintf("no smoke verdict within %s, rejected by default", d)
		}
		if r.StepPending() {
			return fmt.Sprintf("no step check verdict on the step just baked within %s, rejected by default", d)
		}
		if r.OnExpiry == Approve && r.Freeze != "" {
			return fmt.Sprintf("no decision within %s, and expiry does not approve a deployment that needs an emergency override (%s): rejected", d, r.Freeze)
		}
		if r.OnExpiry == Approve && !r.reachedAll() {
			return fmt.Sprintf("no decision within %s, and expiry approves only when every approver is reachable: %s; rejected, not approved by default", d, r.Reach.why())
		}
		if r.OnExpiry == Approve && !r.allNotified() {
			return fmt.Sprintf("no decision within %s, and not every approver could be notified: rejected, not approved by default", d)
		}
		if r.OnExpiry == Approve {
			return fmt.Sprintf("no decision within %s, approved by default (onExpiry: approve)", d)
		}
		return fmt.Sprintf("no decision within %s, rejected by default", d)
	}
	if r.SmokePending() {
		return "waiting for the smoke checks before asking for approval"
	}
	if r.StepPending() {
		return "waiting for the step check's verdict on the step just baked before asking for approval"
	}
	if r.Freeze != "" {
		return fmt.Sprintf("waiting for approval: %d of %d; %s: approvals must be emergency overrides", r.Approvals(), r.RequiredApprovals, r.Freeze)
	}
	return fmt.Sprintf("waiting for approval: %d of %d", r.Approvals(), r.RequiredApprovals)
}

// VoteErrors lists every error a vote can be refused with (Service.Vote).
// Each surface that takes votes (the review API, the CLI) maps each of
// them to its own answer, and a test checks that none is missing.
var VoteErrors = []error{ErrClosed, ErrAlreadyVoted, ErrNotApprover, ErrAwaitingSmoke, ErrAwaitingStep, ErrFrozen, ErrOverrideReason, ErrSelfApproval, ErrDeployerPending, ErrDeployerUnknown,
	ErrSuperseded, ErrDeploymentOver, ErrHookEnded, ErrInconsistent}

// VoteError returns the error of VoteErrors that err wraps, or nil.
func VoteError(err error) error {
	for _, e := range VoteErrors {
		if errors.Is(err, e) {
			return e
		}
	}
	return nil
}

// Step is the step of a linear or canary deployment a request holds.
type Step struct {
	// GreenShare is green's share of production before the step, in
	// percent.
	GreenShare float64 `json:"greenShare"`
	// Report names the step check's report on the step: the share ECS's
	// record gives, else the event's weight (as the step check names it).
	Report string `json:"report,omitempty"`
	// Evidence is the bake's step check's verdict on the step just baked,
	// when it was in as the request opened; empty otherwise.
	Evidence string `json:"evidence,omitempty"`
}

// PerStep reports whether ECS runs hooks at stage at every step of a
// linear or canary deployment.
func PerStep(stage hook.Stage) bool {
	return stage == hook.StagePreProductionTrafficShift || stage == hook.StageProductionTrafficShift
}

// StepGate names the request of one step under steps: each: the gate's
// own name (none: step) and green's share before the step.
func StepGate(gate string, greenShare float64) string {
	label := "step-" + strings.ReplaceAll(layout.Share(greenShare), ".", "p")
	if gate == "" {
		return label
	}
	return gate + "-" + label
}

var stepGate = regexp.MustCompile(`^(?:(.+)-)?step-[0-9]+(?:p[0-9]+)?$`)

// StepGateOf returns the gate a step's request was named for (StepGate),
// and whether gate names one.
func StepGateOf(gate string) (string, bool) {
	m := stepGate.FindStringSubmatch(gate)
	if m == nil {
		return "", false
	}
	return m[1], true
}

// report names the step check's report on s (Report; GreenShare for a
// request written before it was kept).
func (s *Step) report() string {
	if s.Report != "" {
		return s.Report
	}
	return layout.Share(s.GreenShare)
}
