package approval

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/gatehouse-dev/gatehouse/internal/hook"
	"github.com/gatehouse-dev/gatehouse/internal/layout"
	"github.com/gatehouse-dev/gatehouse/internal/taskdiff"
)

// MaxSubjectLen is SNS's limit on an email subject.
const MaxSubjectLen = 100

// ReviewMessage is the message that asks approver (empty for a shared link)
// to review r through link.
func ReviewMessage(r *Request, approver, link string) Message {
	return Message{
		Approver: approver,
		Subject:  subject(fmt.Sprintf("[gatehouse] Approve deploy of %s (%s)?", r.Service, r.Cluster)),
		Body:     reviewBody(r, approver, link),
	}
}

// ReminderMessage reminds approver that r waits for a decision.
func ReminderMessage(r *Request, approver, link string, now time.Time) Message {
	return Message{
		Approver: approver,
		Subject:  subject(fmt.Sprintf("[gatehouse] Reminder: %s (%s) waits for approval", r.Service, r.Cluster)),
		Body:     reminderBody(r, link, now),
	}
}

// DecisionMessage tells approver how r was decided.
func DecisionMessage(r *Request, approver string) Message {
	word := OutcomeWord(r.Outcome)
	return Message{
		Approver: approver,
		Subject:  subject(fmt.Sprintf("[gatehouse] Deploy of %s (%s) %s", r.Service, r.Cluster, word)),
		Body:     decisionBody(r),
	}
}

// subject makes s a valid SNS email subject: printable ASCII on one line, at
// most MaxSubjectLen characters.
func subject(s string) string {
	s = strings.Map(func(c rune) rune {
		if c > unicode.MaxASCII || !unicode.IsPrint(c) {
			return '?'
		}
		return c
	}, s)
	if len(s) > MaxSubjectLen {
		s = s[:MaxSubjectLen-3] + "..."
	}
	return s
}

// The messages are plain text (SNS email) written with a strings.Builder, not
// text/template: template's reflective method calls would stop the linker
// from dropping unused methods and add megabytes to every function.

func reviewBody(r *Request, approver, link string) string {
	var b strings.Builder
	if approver != "" {
		fmt.Fprintf(&b, "Hello %s,\n\nAn ECS blue/green deployment is waiting for your approval.\n", approver)
	} else {
		b.WriteString("An ECS blue/green deployment is waiting for approval.\n")
	}
	b.WriteString("The new revision receives test traffic only; production still runs the old one.\n\n")
	writeChange(&b, r)
	fmt.Fprintf(&b, "\nReview and decide here:\n%s\n\n", link)
	if r.Smoke != nil {
		fmt.Fprintf(&b, "Smoke report:\n%s\n\n", SmokeReportLink(link))
	}
	b.WriteString("Opening the link only shows the deployment; nothing is decided until you\npress Approve or Reject on the page.")
	if approver != "" {
		b.WriteString(" This link is yours alone: do not forward it.\n")
	} else {
		b.WriteString(" This link is shared: the page asks for your name.\n")
	}
	fmt.Fprintf(&b, "\nIt expires at %s (%s after the request). Without a\ndecision by then, the deployment is %s.\n",
		stamp(r.ExpiresAt), hook.FormatDuration(r.ExpiresAt.Sub(r.CreatedAt)), expiryDefault(r))
	return b.String()
}

func reminderBody(r *Request, link string, now time.Time) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Reminder: this deployment still waits for a decision.\nIt expires in about %s, at %s. Without a decision by then,\nthe deployment is %s.\n\n",
		hook.FormatDuration(r.ExpiresAt.Sub(now).Round(time.Minute)), stamp(r.ExpiresAt), expiryDefault(r))
	writeChange(&b, r)
	fmt.Fprintf(&b, "\nReview and decide here:\n%s\n", link)
	return b.String()
}

func decisionBody(r *Request) string {
	var b strings.Builder
	fmt.Fprintf(&b, "The approval request for this deployment is closed: %s.\n\n", r.Summary(r.Outcome))
	writeChange(&b, r)
	if len(r.Votes) > 0 {
		b.WriteString("\nVotes:\n")
		for _, v := range r.Votes {
			fmt.Fprintf(&b, "  %s: %s at %s via %s", v.Approver, v.Decision, stamp(v.At), v.Via)
			if v.Comment != "" {
				fmt.Fprintf(&b, ": %q", v.Comment)
			}
			b.WriteString("\n")
		}
	}
	b.WriteString("\nNothing more is needed from you.\n")
	return b.String()
}

// writeChange writes the facts block every message carries.
func writeChange(b *strings.Builder, r *Request) {
	fmt.Fprintf(b, "Service:     %s\n", r.Service)
	fmt.Fprintf(b, "Cluster:     %s (%s, account %s)\n", r.Cluster, r.Region, r.Account)
	fmt.Fprintf(b, "Deployment:  %s\n", r.DeploymentARN)
	fmt.Fprintf(b, "Stage:       %s\n", r.Stage)
	c := r.Change
	switch {
	case !c.Known:
		fmt.Fprintf(b, "Deploying:   revision %s\n", r.TargetRevisionARN)
		b.WriteString("             (ECS did not describe the deployment; check it in the console)\n")
	default:
		if c.FirstDeployment {
			b.WriteString("Running now: nothing (first deployment of this service)\n")
		} else {
			fmt.Fprintf(b, "Running now: %s\n", strings.Join(c.SourceTaskDefinitions, ", "))
			for _, i := range c.SourceImages {
				fmt.Fprintf(b, "             %s=%s\n", i.Container, i.Image)
			}
		}
		fmt.Fprintf(b, "Deploying:   %s\n", c.TargetTaskDefinition)
		for _, i := range c.TargetImages {
			fmt.Fprintf(b, "             %s=%s\n", i.Container, i.Image)
		}
		if c.StartedAt != nil {
			fmt.Fprintf(b, "Started:     %s by ECS\n", stamp(*c.StartedAt))
		}
	}
	writeChanges(b, c)
	if st := r.Step; st != nil {
		fmt.Fprintf(b, "Step:        %s\n", r.StepText())
		if r.Stage == hook.StagePreProductionTrafficShift {
			fmt.Fprintf(b, "Step check:  %s\n", cmp.Or(st.Evidence, NoStepVerdict))
		}
	}
	if r.Smoke != nil {
		fmt.Fprintf(b, "Smoke:       %s\n", r.Smoke.Summary)
	}
	if r.Freeze != "" && r.Outcome == Pending {
		fmt.Fprintf(b, "FROZEN:      %s. Only an emergency override approves:\n             on the page, give the reason and press \"Approve as emergency override\".\n", r.Freeze)
	} else if r.Freeze != "" {
		fmt.Fprintf(b, "Frozen:      %s\n", r.Freeze)
	}
	if !r.AbortOnAlarms.Empty() {
		fmt.Fprintf(b, "Watching:    %s (in ALARM before the deployment goes on: rolled back)\n", r.AbortOnAlarms)
	}
	if r.TimeoutContinues {
		fmt.Fprintf(b, "ECS TIMEOUT: CONTINUE: if nobody decides before the hook's ECS timeout, the deployment goes on unapproved\n")
	}
	if r.StartedBy != nil {
		fmt.Fprintf(b, "Started by:  %s\n", r.StartedBy.Describe())
		if r.ForbidSelfApproval {
			fmt.Fprintf(b, "             Whoever started the deployment cannot approve it.\n")
		}
	}
	fmt.Fprintf(b, "Requested:   %s by the gatehouse approval hook\n", stamp(r.CreatedAt))
	fmt.Fprintf(b, "Approvals:   %d of %d required\n", r.Approvals(), r.RequiredApprovals)
}

// HeaderValue is a test listener rule's header value as the messages and
// the page show it: a header whose name looks secret (a shared token) is
// named, its value left to the rule.
func HeaderValue(name, value string) string {
	if taskdiff.LooksSecret(name) {
		return "(the value in the test listener rule)"
	}
	return value
}

// writeChanges writes what changes from blue to green, in one line, and
// where green can be tried now.
func writeChanges(b *strings.Builder, c Change) {
	switch {
	case c.DiffUnknown != "":
		b.WriteString("Changes:     could not be read (ECS did not say); the review page shows them once it does\n")
	case c.Diff != nil && len(c.Diff.Changes) == 0 && c.Diff.Cut == 0:
		b.WriteString("Changes:     no change\n")
	case c.Diff != nil && c.Diff.OnlyImage():
		fmt.Fprintf(b, "Changes:     no change but the image (%s)\n", c.Diff.Summary(5))
	case c.Diff != nil:
		fmt.Fprintf(b, "Changes:     %s\n", c.Diff.Summary(5))
	}
	if c.Diff != nil {
		for _, s := range c.Diff.Sources {
			fmt.Fprintf(b, "Source:      %s %s\n", s.Container, s.Link)
		}
	}
	switch t := c.Try; {
	case t != nil:
		fmt.Fprintf(b, "Try it:      %s\n", t.URL)
		if c := t.Configured(); c != "" {
			fmt.Fprintf(b, "             (%s)\n", c)
		}
		for _, k := range slices.Sorted(maps.Keys(t.Headers)) {
			fmt.Fprintf(b, "             with the header %s: %s\n", k, HeaderValue(k, t.Headers[k]))
		}
		if len(t.Paths) > 0 {
			fmt.Fprintf(b, "             on the paths %s (others reach blue)\n", strings.Join(t.Paths, ", "))
		}
		for _, n := range t.Notes {
			fmt.Fprintf(b, "             %s\n", n)
		}
		if t.Internal {
			b.WriteString("             (an internal load balancer: reachable from its network only)\n")
		}
	case c.TryUnknown != "":
		fmt.Fprintf(b, "Try it:      not known: %s\n", c.TryUnknown)
	}
}

func expiryDefault(r *Request) string {
	if r.expiryApproves() {
		return "approved (onExpiry: approve)"
	}
	if r.OnExpiry == Approve && r.Freeze == "" {
		return "rejected and rolled back: expiry approves only when every approver is reachable, and " + r.Reach.why()
	}
	return "rejected and rolled back"
}

// ExpiryDefault says what expiry decides for r, for people.
func ExpiryDefault(r *Request) string { return expiryDefault(r) }

// Facts are the facts every message about r carries, one per line: what
// is deployed where, the smoke result, who started it, the quorum. Chat
// channels show them as the email does.
func Facts(r *Request) string {
	var b strings.Builder
	writeChange(&b, r)
	return b.String()
}

// Stamp formats a time for people, as the messages do: UTC, to the minute.
func Stamp(t time.Time) string { return stamp(t) }

// OutcomeWord says the outcome o in a subject line's words: "approved",
// "continued outside gatehouse", ...
func OutcomeWord(o Outcome) string {
	return map[Outcome]string{Approved: "approved", Rejected: "rejected", Expired: "expired", Aborted: "aborted", Refused: "refused",
		SmokeFailed: "stopped: smoke checks failed", ContinuedOutside: "continued outside gatehouse"}[o]
}

// SmokeReportLink turns a review link into the link of the same request's
// smoke report page.
func SmokeReportLink(reviewLink string) string {
	return strings.Replace(reviewLink, "/review?", "/review/report?", 1)
}

// stamp formats a time for people: UTC, to the minute.
func stamp(t time.Time) string {
	return t.UTC().Format("2006-01-02 15:04 MST")
}

// NoStepVerdict is what a step's request says before the step check has
// judged the step just baked.
const NoStepVerdict = "no verdict on the step just baked when this request opened (a failing step check rolls back whatever is decided here)"

// StepText says which step of a linear or canary deployment r holds
// (steps: each).
func (r *Request) StepText() string {
	share := layout.Share(r.Step.GreenShare)
	if r.Stage == hook.StageProductionTrafficShift {
		return share + "% of production on green, just shifted; approve to go on (steps: each)"
	}
	return share + "% of production on green so far; approve to move on to the next step (steps: each)"
}
