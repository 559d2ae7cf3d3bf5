package slackapp

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"github.com/gatehouse-dev/gatehouse/internal/approval"
	"github.com/gatehouse-dev/gatehouse/internal/slackapi"
)

// The buttons' action ids. A button's value names the request only
// (buttonValue): never who may vote, which is the clicking user.
const (
	ActionApprove = "gatehouse_approve"
	ActionReject  = "gatehouse_reject"
	ActionReview  = "gatehouse_review"
)

// Slack's limits on a block's text.
const (
	maxHeader  = 150
	maxSection = 3000
)

// buttonValue names the request at key, as read (its ID): a click on a
// message of an earlier request at the same key is refused.
func buttonValue(key string, r *approval.Request) string { return key + " " + r.ID }

// parseValue is buttonValue's inverse.
func parseValue(v string) (key, id string, ok bool) {
	key, id, ok = strings.Cut(v, " ")
	return key, id, ok && key != "" && id != ""
}

// Message is the Slack message of r for approver: while r is open, what
// the review email says, the tally, and three buttons (Approve and Reject
// behind Slack's confirm dialog; Review opening link, the approver's own
// review link); once decided, the outcome and the votes, with nothing to
// click.
func Message(key string, r *approval.Request, approver, link string) slackapi.Message {
	if r.Outcome != approval.Pending {
		return decided(r)
	}
	title := fmt.Sprintf("Approve deploy of %s (%s)?", r.Service, r.Cluster)
	intro := "An ECS blue/green deployment is waiting for your approval. The new revision receives test traffic only; production still runs the old one."
	blocks := []slack.Block{
		slack.NewHeaderBlock(plain(title, maxHeader)),
		slack.NewSectionBlock(markdown(intro), nil, nil),
		slack.NewSectionBlock(markdown("```"+clipEscaped(escape(noFence(approval.Facts(r))), maxSection-6)+"```"), nil, nil),
		slack.NewContextBlock("", markdown(clipEscaped(tally(r)+"\nIf nobody decides by "+approval.Stamp(r.ExpiresAt)+": "+escape(approval.ExpiryDefault(r))+".", maxSection))),
	}
	value := buttonValue(key, r)
	approve := slack.NewButtonBlockElement(ActionApprove, value, plain("Approve", 75)).WithStyle(slack.StylePrimary).
		WithConfirm(slack.NewConfirmationBlockObject(plain("Approve this deployment?", 100),
			plain(fmt.Sprintf("You approve %s on %s as %s. Production moves to the new revision once enough approvers have.", r.Service, r.Cluster, approver), 300),
			plain("Approve", 30), plain("Cancel", 30)))
	reject := slack.NewButtonBlockElement(ActionReject, value, plain("Reject", 75)).WithStyle(slack.StyleDanger).
		WithConfirm(slack.NewConfirmationBlockObject(plain("Reject this deployment?", 100),
			plain(fmt.Sprintf("You reject %s on %s as %s: ECS rolls it back.", r.Service, r.Cluster, approver), 300),
			plain("Reject", 30), plain("Cancel", 30)).WithStyle(slack.StyleDanger))
	elements := []slack.BlockElement{approve, reject}
	if link != "" {
		review := slack.NewButtonBlockElement(ActionReview, value, plain("Review", 75))
		review.URL = link
		elements = append(elements, review)
	}
	blocks = append(blocks, slack.NewActionBlock("gatehouse_decide", elements...))
	return slackapi.Message{Text: title, Blocks: blocks}
}

// decided is the message of a closed request.
func decided(r *approval.Request) slackapi.Message {
	title := fmt.Sprintf("Deploy of %s (%s) %s", r.Service, r.Cluster, approval.OutcomeWord(r.Outcome))
	blocks := []slack.Block{
		slack.NewHeaderBlock(plain(title, maxHeader)),
		slack.NewSectionBlock(markdown(clipEscaped(escape("The approval request is closed: "+r.Summary(r.Outcome)+"."), maxSection)), nil, nil),
		slack.NewSectionBlock(markdown("```"+clipEscaped(escape(noFence(approval.Facts(r))), maxSection-6)+"```"), nil, nil),
	}
	if v := votes(r); v != "" {
		blocks = append(blocks, slack.NewContextBlock("", markdown(clipEscaped(v, maxSection))))
	}
	blocks = append(blocks, slack.NewContextBlock("", markdown("Nothing more is needed from you.")))
	return slackapi.Message{Text: title, Blocks: blocks}
}

// tally says the approvals so far and who voted.
func tally(r *approval.Request) string {
	s := fmt.Sprintf("*Approvals:* %d of %d required", r.Approvals(), r.RequiredApprovals)
	if v := votes(r); v != "" {
		s += "\n" + v
	}
	return s
}

func votes(r *approval.Request) string {
	var lines []string
	for _, v := range r.Votes {
		lines = append(lines, fmt.Sprintf("%s: %s at %s via %s", escape(v.Approver), v.Decision, approval.Stamp(v.At), v.Via))
	}
	return strings.Join(lines, "\n")
}

func plain(s string, max int) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.PlainTextType, clip(s, max), false, false)
}

func markdown(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.MarkdownType, s, false, false)
}

// noFence keeps a value from closing the code block the facts are in.
func noFence(s string) string { return strings.ReplaceAll(s, "`", "'") }

// escape keeps text from reading as Slack markup (&, <, >).
func escape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// clipEscaped is clip for escaped text: it never cuts an entity (&amp;)
// in two.
func clipEscaped(s string, max int) string {
	c := clip(s, max)
	if c == s {
		return s
	}
	body := strings.TrimSuffix(c, "…")
	if amp := strings.LastIndex(body, "&"); amp > strings.LastIndex(body, ";") {
		body = body[:amp]
	}
	return body + "…"
}

// clip cuts s to at most max characters.
func clip(s string, max int) string {
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	r := []rune(s)
	return string(r[:max-1]) + "…"
}
