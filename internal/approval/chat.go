package approval

// Chat: a channel that writes to each approver directly (Slack), one
// message per approver per request, kept up to date in place. Each message
// is recorded in the request (a notice with the message's address) as soon
// as it is out, so that none is sent twice, and what it shows is recorded
// too, so that every copy is rewritten when the request changes, and again
// by a later call when a rewrite failed.

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/hook"
)

// Chat is a channel that messages each approver directly. A message it
// posted reaches its approver (Request.reachedAll).
type Chat interface {
	// Post sends approver a the review message of r, with their personal
	// review link, and returns where it is. An error wrapping ErrNotInChat
	// says the chat does not know a: they are asked by email alone.
	Post(ctx context.Context, r *Request, a, link string) (ChatRef, error)
	// Show rewrites a's message at ref with r as it stands: the tally
	// while it is open, with a's review link; once decided, the outcome,
	// with nothing to click (link is then "").
	Show(ctx context.Context, r *Request, a, link string, ref ChatRef) error
}

// ErrNotInChat: the chat does not know the approver.
var ErrNotInChat = errors.New("the chat does not know this approver")

// ChatRef is where a chat message is: its conversation and its id.
type ChatRef struct {
	Channel string `json:"channel"`
	TS      string `json:"ts"`
}

// The notices of a chat: a message posted (its address in Chat), or one
// that will not be (Detail says why).
const (
	noticeChat        = "chat"
	noticeChatSkipped = "chat-skipped"
)

// chatTimeout bounds the rewrites of one request's chat messages in one
// call: a vote from Slack is answered within Slack's 3 seconds.
const chatTimeout = 2 * time.Second

// chatUnsent returns the approvers of the open request r whom the chat has
// not been asked to message yet. A shared link is for no one in
// particular: the chat messages nobody.
func (r *Request) chatUnsent() []string {
	if r.Outcome != Pending || r.Shared() {
		return nil
	}
	var out []string
	for _, a := range r.Approvers {
		if !r.noticeSent(noticeChat, a) && !r.noticeSent(noticeChatSkipped, a) {
			out = append(out, a)
		}
	}
	return out
}

// ChatState is what a chat message of r shows, in one line: its outcome
// and each vote. A message recorded as showing another is rewritten.
func (r *Request) ChatState() string {
	parts := []string{string(r.Outcome)}
	for _, v := range r.Votes {
		parts = append(parts, v.Approver+"="+string(v.Decision))
	}
	return strings.Join(parts, " ")
}

// staleChats returns the chat messages of r that show another state.
func (r *Request) staleChats() []Notice {
	var out []Notice
	state := r.ChatState()
	for _, n := range r.Notices {
		if n.Kind == noticeChat && n.Chat != nil && n.Shown != state {
			out = append(out, n)
		}
	}
	return out
}

// A chat that keeps failing is asked again after chatBackoff, doubling up
// to chatBackoffMax, at most maxChatFailures times in a row: while Slack is
// down, a pending poll costs its one read and no write.
const (
	chatBackoff     = time.Minute
	chatBackoffMax  = 15 * time.Minute
	maxChatFailures = 10
)

// chatDue reports whether the gate's chat has messages of r to post or to
// rewrite at now.
func (g *Gate) chatDue(r *Request, now time.Time) bool {
	if g.Chat == nil || r.ChatFailures >= maxChatFailures || r.ChatRetryAt != nil && now.Before(*r.ChatRetryAt) {
		return false
	}
	return len(r.chatUnsent()) > 0 || len(r.staleChats()) > 0
}

// chatTried records in n how the chat's last attempt went: a failure puts
// the next one off (chatBackoff, doubling), a success clears that.
func chatTried(n *Request, failed bool, now time.Time) {
	if !failed {
		n.ChatFailures, n.ChatRetryAt = 0, nil
		return
	}
	n.ChatFailures++
	wait := min(chatBackoff<<min(n.ChatFailures-1, 10), chatBackoffMax)
	at := now.Add(wait)
	n.ChatRetryAt = &at
	if n.ChatFailures == maxChatFailures {
		n.record(now, "notified", "gatehouse", fmt.Sprintf("the chat failed %d times in a row: its messages are no longer sent or updated for this request", maxChatFailures))
	}
}

// postChats sends the chat messages of r not yet sent, recording each as
// soon as it is out (wctx bounds the records). A failure never stops the
// email: one worth retrying is left for the next call; one that is not
// (the chat refuses the app) is recorded, so that the chat is not asked
// again for that approver, and logged.
func (g *Gate) postChats(ctx, wctx context.Context, key, etag string, r *Request) (_ *Request, _ string, failed bool) {
	for _, a := range r.chatUnsent() {
		if r.Outcome != Pending {
			// Decided meanwhile: no more buttons; a message just posted
			// is stale, and showChats draws the outcome in it.
			break
		}
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < publishReserve {
			break
		}
		link, err := g.Linker.Link(ctx, r, a)
		if err != nil {
			g.Log.ErrorContext(ctx, "chat message not sent: no review link", "deployment_arn", r.DeploymentARN, "err", err)
			failed = true
			continue
		}
		ref, err := g.Chat.Post(ctx, r, a, link)
		notice := Notice{Kind: noticeChat, Approver: a, Chat: &ref, Shown: r.ChatState(), At: g.Now()}
		switch {
		case errors.Is(err, ErrNotInChat):
			notice = Notice{Kind: noticeChatSkipped, Approver: a, Detail: "not in the chat", At: g.Now()}
		case hook.IsTransient(err):
			g.Log.WarnContext(ctx, "chat message not sent; a later call tries again", "deployment_arn", r.DeploymentARN, "err", err)
			failed = true
			continue
		case err != nil:
			g.Log.ErrorContext(ctx, "chat message not sent", "deployment_arn", r.DeploymentARN, "err", err)
			notice = Notice{Kind: noticeChatSkipped, Approver: a, Detail: oneLine(err.Error()), At: g.Now()}
		}
		next, newTag, err := g.update(wctx, key, etag, r, func(n *Request) {
			if n.noticeSent(noticeChat, a) || n.noticeSent(noticeChatSkipped, a) {
				return
			}
			n.Notices = append(n.Notices, notice)
			if notice.Kind == noticeChat {
				n.record(notice.At, "notified", "gatehouse", "chat message sent to "+a)
			} else {
				n.record(notice.At, "notified", "gatehouse", "no chat message for "+a+": "+notice.Detail)
			}
		})
		if err != nil {
			g.Log.WarnContext(ctx, "chat notice not recorded", "deployment_arn", r.DeploymentARN, "err", err)
			return r, etag, true
		}
		r, etag = next, newTag
	}
	return r, etag, failed
}

// showChats rewrites every chat message of r that shows another state,
// within chatTimeout, and records what each now shows (the state it was
// drawn from, even if another vote changed the request meanwhile: then it
// is stale, and drawn again); it returns the request as it then stands,
// and whether a rewrite failed, to be made again by a later call.
func (g *Gate) showChats(ctx context.Context, key, etag string, r *Request) (_ *Request, _ string, failed bool) {
	stale := r.staleChats()
	if g.Chat == nil || len(stale) == 0 {
		return r, etag, false
	}
	cctx, cancel := context.WithTimeout(ctx, chatTimeout)
	defer cancel()
	state := r.ChatState()
	var shown []ChatRef
	for _, n := range stale {
		link := ""
		if r.Outcome == Pending && g.Linker != nil {
			var err error
			if link, err = g.Linker.Link(cctx, r, n.Approver); err != nil {
				g.Log.WarnContext(ctx, "chat message not updated: no review link", "deployment_arn", r.DeploymentARN, "err", err)
				failed = true
				continue
			}
		}
		if err := g.Chat.Show(cctx, r, n.Approver, link, *n.Chat); err != nil {
			g.Log.WarnContext(ctx, "chat message not updated; a later call tries again", "deployment_arn", r.DeploymentARN, "err", err)
			failed = true
			continue
		}
		shown = append(shown, *n.Chat)
	}
	if len(shown) == 0 {
		return r, etag, failed
	}
	wctx, wcancel := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
	defer wcancel()
	next, newTag, err := g.update(wctx, key, etag, r, func(n *Request) {
		for i := range n.Notices {
			if c := n.Notices[i].Chat; c != nil && slices.Contains(shown, *c) {
				n.Notices[i].Shown = state
			}
		}
	})
	if err != nil {
		g.Log.WarnContext(ctx, "chat updates not recorded", "deployment_arn", r.DeploymentARN, "err", fmt.Errorf("record: %w", err))
		return r, etag, true
	}
	return next, newTag, failed
}

// showChatsOf rewrites the stale chat messages of the request at key, as
// it now stands: after a vote, or an announcement, which did not return
// what they wrote. No read when r (as last known) has no chat message.
func (g *Gate) showChatsOf(ctx context.Context, key string, r *Request) {
	if g.Chat == nil || !slices.ContainsFunc(r.Notices, func(n Notice) bool { return n.Kind == noticeChat }) {
		return
	}
	read, err := load(ctx, g.Store, key)
	if err != nil {
		g.Log.WarnContext(ctx, "chat messages not updated", "deployment_arn", r.DeploymentARN, "err", err)
		return
	}
	g.showChats(ctx, key, read.ETag, read.Request)
}
