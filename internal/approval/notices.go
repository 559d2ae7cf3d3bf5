package approval

// Notices: the review messages, reminders and decision notices a request
// sends, each recorded in the request so that none is sent twice.

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/hook"
)

// recipients returns whom review messages go to: each approver, or the one
// shared-link audience (the empty approver).
func (r *Request) recipients() []string {
	if r.Shared() {
		return []string{""}
	}
	return r.Approvers
}

// unsent returns the recipients whose review message is not yet published.
func (r *Request) unsent() []string {
	var out []string
	for _, a := range r.recipients() {
		if !r.noticeSent("review", a) {
			out = append(out, a)
		}
	}
	return out
}

func (r *Request) noticeSent(kind, approver string) bool {
	for _, n := range r.Notices {
		if n.Kind == kind && n.Approver == approver {
			return true
		}
	}
	return false
}

// sendReviews publishes the review messages not yet sent, recording each as
// soon as it is out, and releases the lease. A recipient whose message
// failed stays unsent and the next poll tries again: a crash or an error
// never loses a notification, and a message once recorded is never sent
// again. Only a crash between a publish and its record can repeat one.
func (g *Gate) sendReviews(ctx context.Context, key, etag string, r *Request) (*Request, string, error) {
	// Records are written even when the invocation's time is up: a message
	// that went out must be recorded, or it goes out again.
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
	defer cancel()
	var errs []error
	sent := 0
	for _, a := range r.unsent() {
		if r.Outcome != Pending {
			// Closed meanwhile (a reject, an abort): no more links.
			break
		}
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < publishReserve {
			errs = append(errs, hook.Transient(errors.New("out of time: the rest is published on the next call")))
			break
		}
		link, err := g.Linker.Link(ctx, r, a)
		if err != nil {
			errs = append(errs, fmt.Errorf("link for approver: %w", err))
			continue
		}
		id, err := g.Notifier.Publish(ctx, ReviewMessage(r, a, link))
		if err != nil {
			errs = append(errs, fmt.Errorf("publish review message: %w", err))
			continue
		}
		notice := Notice{Kind: "review", Approver: a, MessageID: id, At: g.Now()}
		next, newTag, err := g.update(wctx, key, etag, r, func(n *Request) {
			if !n.noticeSent(notice.Kind, notice.Approver) {
				n.Notices = append(n.Notices, notice)
				n.record(notice.At, "notified", "gatehouse", "review link sent to "+describeRecipients([]Notice{notice}))
			}
		})
		if err != nil {
			// The message went out but its record did not: the lease
			// lapses and a later poll publishes again. Better twice than
			// never.
			return r, etag, fmt.Errorf("record notification: %w", err)
		}
		r, etag = next, newTag
		sent++
		if r.AnnouncedAt != nil {
			// The request closed, and its outcome went out, while this
			// message was being published: the announcement did not know
			// of this recipient, so the notice is ours to send.
			r, etag = g.lateNotice(ctx, wctx, key, etag, r, a)
			break
		}
	}
	chatFailed, attempted := false, g.chatDue(r, g.Now())
	if attempted {
		// The chat's messages go out in the same step, under the same
		// lease; they never hold the email up, nor the email them.
		var postFailed, showFailed bool
		r, etag, postFailed = g.postChats(ctx, wctx, key, etag, r)
		r, etag, showFailed = g.showChats(ctx, key, etag, r)
		chatFailed = postFailed || showFailed
	}
	now := g.Now()
	r, etag, err := g.update(wctx, key, etag, r, func(n *Request) {
		n.SendingSince = nil
		if attempted && (chatFailed || n.ChatFailures > 0) {
			chatTried(n, chatFailed, now)
		}
	})
	if err != nil {
		return r, etag, fmt.Errorf("release the publishing lease: %w", err)
	}
	if len(errs) > 0 {
		err := errors.Join(errs...)
		if transientAll(errs) {
			return r, etag, hook.Transient(err)
		}
		// Permission denied, a missing topic, no signing key: asking again
		// will not help, and waiting would end in expiry. Fail closed, loudly.
		return r, etag, fmt.Errorf("cannot notify the approvers: %w", err)
	}
	g.Log.InfoContext(ctx, "review messages sent", "deployment_arn", r.DeploymentARN, "stage", string(r.Stage), "messages", sent)
	return r, etag, nil
}

// lateNotice sends approver a, whose review message went out as the
// request closed, the decision notice the announcement could not send
// them, and records it. Best effort, as the announcement is.
func (g *Gate) lateNotice(ctx, wctx context.Context, key, etag string, r *Request, a string) (*Request, string) {
	if r.noticeSent("decision", a) {
		return r, etag
	}
	id, err := g.Notifier.Publish(ctx, DecisionMessage(r, a))
	if err != nil {
		g.Log.ErrorContext(ctx, "decision notice not sent", "deployment_arn", r.DeploymentARN, "err", err)
		return r, etag
	}
	notice := Notice{Kind: "decision", Approver: a, MessageID: id, At: g.Now()}
	next, newTag, err := g.update(wctx, key, etag, r, func(n *Request) {
		n.Notices = append(n.Notices, notice)
		n.record(notice.At, "announced", "gatehouse", "outcome sent to "+describeRecipients([]Notice{notice})+", whose review link went out as the request closed")
	})
	if err != nil {
		g.Log.WarnContext(ctx, "notices not recorded", "deployment_arn", r.DeploymentARN, "err", err)
		return r, etag
	}
	return next, newTag
}

// transientAll reports whether every error is worth retrying.
func transientAll(errs []error) bool {
	for _, err := range errs {
		if !hook.IsTransient(err) {
			return false
		}
	}
	return true
}

func describeRecipients(sent []Notice) string {
	if len(sent) == 1 && sent[0].Approver == "" {
		return "the shared topic"
	}
	s := ""
	for i, n := range sent {
		if i > 0 {
			s += ", "
		}
		s += n.Approver
	}
	return s
}

// remind publishes the reminder to those who have not voted. The claim was
// written first, so a reminder goes out at most once; failures are logged,
// not retried.
func (g *Gate) remind(ctx context.Context, key, etag string, r *Request) {
	var sent []Notice
	for _, a := range r.recipients() {
		if _, voted := r.VoteOf(a); voted && a != "" {
			continue
		}
		link, err := g.Linker.Link(ctx, r, a)
		if err != nil {
			g.Log.ErrorContext(ctx, "reminder not sent", "deployment_arn", r.DeploymentARN, "err", err)
			continue
		}
		id, err := g.Notifier.Publish(ctx, ReminderMessage(r, a, link, g.Now()))
		if err != nil {
			g.Log.ErrorContext(ctx, "reminder not sent", "deployment_arn", r.DeploymentARN, "err", err)
			continue
		}
		sent = append(sent, Notice{Kind: "reminder", Approver: a, MessageID: id, At: g.Now()})
	}
	g.recordNotices(ctx, key, etag, r, "reminded", "reminder sent to", sent)
}

// announce tells every recipient the outcome. At most once (the claim was
// written first); best effort. Nobody is told about a request nobody was
// asked to review.
func (g *Gate) announce(ctx context.Context, key, etag string, r *Request) {
	if !r.asked() {
		return
	}
	g.tell(ctx, key, etag, r, "decision", r.unannounced(), "outcome sent to")
	// Every chat message shows the outcome, and nothing to click.
	g.showChatsOf(ctx, key, r)
}

// tell sends recipients r's outcome as notices of kind, and records those
// sent ("announced": what, then whom). Best effort.
func (g *Gate) tell(ctx context.Context, key, etag string, r *Request, kind string, recipients []string, what string) {
	var sent []Notice
	for _, a := range recipients {
		id, err := g.Notifier.Publish(ctx, DecisionMessage(r, a))
		if err != nil {
			g.Log.ErrorContext(ctx, kind+" notice not sent", "deployment_arn", r.DeploymentARN, "err", err)
			continue
		}
		sent = append(sent, Notice{Kind: kind, Approver: a, MessageID: id, At: g.Now()})
	}
	g.recordNotices(ctx, key, etag, r, "announced", what, sent)
}

// unannounced returns the recipients asked to review r (never those whose
// message failed: nothing to close for them) who have not been told its
// outcome.
func (r *Request) unannounced() []string {
	var out []string
	for _, a := range r.recipients() {
		if r.noticeSent("review", a) && !r.noticeSent("decision", a) {
			out = append(out, a)
		}
	}
	return out
}

// errClaimed: another caller claimed what this one meant to do.
var errClaimed = errors.New("claimed by another caller")

// MaxAnnouncements bounds how many times a PAUSE request's outcome is
// announced to recipients a failed publish left untold, a SendLease
// apart: a notice is recorded only once sent, and sent again until it is.
const MaxAnnouncements = 5

// reannounce tells the recipients of the closed PAUSE request r whom its
// announcement did not reach, when the last attempt is SendLease old: the
// attempt is claimed first, so at most one caller makes it. ok reports
// that recipients are still to be told (the sweep keeps the request).
func (g *Gate) reannounce(ctx context.Context, key, etag string, r *Request) (ok bool, err error) {
	now := g.Now()
	untold := len(r.unannounced()) > 0 || g.Chat != nil && len(r.staleChats()) > 0
	if r.AnnouncedAt == nil || r.Outcome == Pending || !untold || r.Announcements >= MaxAnnouncements-1 {
		return false, nil
	}
	if now.Sub(*r.AnnouncedAt) < SendLease {
		return true, nil
	}
	next, newTag, err := Update(ctx, g.Store, key, etag, r, func(n *Request) error {
		if n.AnnouncedAt == nil || now.Sub(*n.AnnouncedAt) < SendLease || n.Announcements != r.Announcements {
			// Another caller claimed it since: theirs to send.
			return errClaimed
		}
		n.AnnouncedAt = &now
		n.Announcements++
		return nil
	})
	if errors.Is(err, errClaimed) {
		return true, nil
	}
	if err != nil {
		return true, fmt.Errorf("claim the announcement: %w", err)
	}
	g.announce(ctx, key, newTag, next)
	return true, nil
}

func (g *Gate) recordNotices(ctx context.Context, key, etag string, r *Request, kind, what string, sent []Notice) {
	if len(sent) == 0 {
		return
	}
	_, _, err := g.update(ctx, key, etag, r, func(n *Request) {
		n.Notices = append(n.Notices, sent...)
		n.record(g.Now(), kind, "gatehouse", what+" "+describeRecipients(sent))
	})
	if err != nil {
		g.Log.WarnContext(ctx, "notices not recorded", "deployment_arn", r.DeploymentARN, "err", err)
	}
}
