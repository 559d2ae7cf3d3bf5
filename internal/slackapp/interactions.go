package slackapp

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/slack-go/slack"

	"github.com/gatehouse-dev/gatehouse/internal/approval"
	"github.com/gatehouse-dev/gatehouse/internal/hook"
	"github.com/gatehouse-dev/gatehouse/internal/layout"
	"github.com/gatehouse-dev/gatehouse/internal/slackapi"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// maxBody bounds an interaction's body.
const maxBody = 64 << 10

// Slack wants an answer within 3 seconds of its request: all of it fits in
// clickBudget from the request's arrival, of which answerReserve is kept
// for the answer to the voter. What a deciding vote leaves undone (ECS's
// continue, a message's rewrite) the suite's next call or sweep does.
const (
	clickBudget   = 2500 * time.Millisecond
	answerReserve = 600 * time.Millisecond
)

// Voter is what a click asks of the approval service.
// *approval.Service satisfies it.
type Voter interface {
	Vote(ctx context.Context, b approval.Ballot) (approval.Voted, error)
}

// Interactions is the endpoint Slack posts button clicks to. A click is
// taken only with Slack's valid signature; the voter is the Slack user who
// clicked, by the email address Slack gives for them, never anything the
// message carries; the vote goes through the approval service, so every
// rule of the review page holds; the voter is answered in Slack, visibly
// to them alone.
type Interactions struct {
	// Secrets returns the app's secrets: its signing secret. Refresh, when
	// set, reads them anew (rate-limited), for a signature the cached
	// secret does not verify: the secret may have been rotated.
	Secrets func(ctx context.Context) (slackapi.Secrets, error)
	Refresh func(ctx context.Context) (slackapi.Secrets, error)
	// API is Slack's Web API, with the bot token.
	API   API
	Votes Voter
	Now   func() time.Time
	Log   *slog.Logger
}

// ServeHTTP answers one interaction: 401 for anything Slack did not sign,
// 400 for a payload that is not a button click, 200 otherwise (Slack shows
// an error for anything else); what happened is told to the voter.
func (h *Interactions) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), clickBudget)
	defer cancel()
	r = r.WithContext(ctx)
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		http.Error(w, "the request is too large", http.StatusRequestEntityTooLarge)
		return
	}
	sec, err := h.Secrets(ctx)
	if err != nil {
		h.Log.ErrorContext(r.Context(), "Slack signing secret unavailable", "err", err)
		http.Error(w, "the Slack app is not available", http.StatusServiceUnavailable)
		return
	}
	err = sec.Verify(r.Header, body, h.Now())
	if errors.Is(err, slackapi.ErrBadSignature) && h.Refresh != nil {
		// The signing secret may have been rotated since it was read.
		if fresh, ferr := h.Refresh(ctx); ferr == nil {
			err = fresh.Verify(r.Header, body, h.Now())
		}
	}
	if err != nil {
		h.Log.WarnContext(r.Context(), "Slack interaction refused", "err", err)
		http.Error(w, "not signed by Slack: "+err.Error(), http.StatusUnauthorized)
		return
	}
	cb, err := parse(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	h.click(ctx, cb)
	w.WriteHeader(http.StatusOK)
}

// parse reads a block_actions payload with one action.
func parse(body []byte) (slack.InteractionCallback, error) {
	var cb slack.InteractionCallback
	vals, err := parseForm(body)
	if err != nil {
		return cb, err
	}
	if err := json.Unmarshal([]byte(vals), &cb); err != nil {
		return cb, errors.New("the payload is not Slack's JSON")
	}
	if cb.Type != slack.InteractionTypeBlockActions || len(cb.ActionCallback.BlockActions) == 0 {
		return cb, errors.New("unknown payload type " + string(cb.Type) + ": gatehouse takes button clicks (block_actions)")
	}
	return cb, nil
}

// click votes as the user who clicked, and tells them what came of it.
func (h *Interactions) click(ctx context.Context, cb slack.InteractionCallback) {
	a := cb.ActionCallback.BlockActions[0]
	var d approval.Decision
	switch a.ActionID {
	case ActionApprove:
		d = approval.Approve
	case ActionReject:
		d = approval.Reject
	default:
		// The Review button opens the page in the browser; Slack tells
		// the app, and there is nothing to do.
		return
	}
	key, id, ok := parseValue(a.Value)
	if !ok || !layout.IsRequest(key) {
		h.answer(ctx, cb, "This button is not for a gatehouse approval request. Nothing was recorded.")
		return
	}
	vctx, cancel := context.WithCancel(ctx)
	if dl, ok := ctx.Deadline(); ok {
		vctx, cancel = context.WithDeadline(ctx, dl.Add(-answerReserve))
	}
	defer cancel()
	email, err := h.API.Email(vctx, cb.User.ID)
	if err != nil {
		h.Log.WarnContext(ctx, "Slack user not named", "err", err)
		h.answer(ctx, cb, "Slack did not vouch for your email address (a confirmed address of a person of this workspace), so your vote cannot be recorded as yours. Nothing was recorded; use the review link from your email.")
		return
	}
	voted, err := h.Votes.Vote(vctx, approval.Ballot{Key: key, RequestID: id,
		Vote: approval.Vote{Approver: email, Decision: d, Via: "slack"}})
	h.answer(ctx, cb, answerText(voted, d, err))
	if err != nil && approval.RefusalOf(err) == nil {
		h.Log.ErrorContext(ctx, "Slack vote not recorded", "err", err)
	}
}

// answer tells the voter text, in the conversation they clicked in,
// visibly to them alone, in what is left of the budget.
func (h *Interactions) answer(ctx context.Context, cb slack.InteractionCallback, text string) {
	if err := h.API.Ephemeral(ctx, cb.Channel.ID, cb.User.ID, text); err != nil {
		h.Log.WarnContext(ctx, "Slack answer not shown", "err", err)
	}
}

// answerText says what came of a vote: the refusal's own words (the same
// as the review page's), or what was recorded.
func answerText(v approval.Voted, d approval.Decision, err error) string {
	if ref := approval.RefusalOf(err); ref != nil {
		if ref.Code == approval.RefusedNotApprover {
			// As the page: a non-approver learns nothing of who approves.
			return "You are not one of this request's approvers. Nothing was recorded." + refusalHints[ref.Code]
		}
		return ref.Message + refusalHints[ref.Code]
	}
	switch {
	case errors.Is(err, store.ErrNotFound):
		return "This approval request no longer exists. Nothing was recorded."
	case hook.IsTransient(err) || errors.Is(err, store.ErrPrecondition) || errors.Is(err, context.DeadlineExceeded):
		return "gatehouse could not confirm that your vote was recorded. Look at the message in a minute: it shows every vote recorded."
	case err != nil:
		return "Your vote could not be recorded. If this persists, ask the platform team to check gatehouse's logs."
	}
	return recorded(v.Request, d)
}

// recorded says what a recorded vote did.
func recorded(r *approval.Request, d approval.Decision) string {
	vote := "Your rejection is recorded."
	if d == approval.Approve {
		vote = "Your approval is recorded."
	}
	switch r.Outcome {
	case approval.Pending:
		return vote + " " + r.Summary(approval.Pending) + "."
	case approval.Approved:
		return vote + " The deployment is approved and goes on."
	case approval.Rejected:
		return vote + " The deployment is rejected: ECS rolls it back."
	}
	return vote + " " + r.Summary(r.Outcome) + "."
}

// refusalHints are Slack's column of the refusal table
// (approval.RefusalCodes): what to do about a refusal from Slack, added to
// its message (the same words as on the page and in the CLI).
var refusalHints = map[string]string{
	approval.RefusedClosed:       "",
	approval.RefusedAlreadyVoted: "",
	approval.RefusedVoteChanged:  "",
	approval.RefusedNotApprover: " gatehouse knows you by the email address Slack has for you; if you are an approver under another," +
		" use the review link from your email.",
	approval.RefusedAwaitingSmoke:   "",
	approval.RefusedAwaitingStep:    "",
	approval.RefusedFrozen:          " Open the review page (the Review button) to approve as an emergency override.",
	approval.RefusedOverrideReason:  "",
	approval.RefusedSelfApproval:    "",
	approval.RefusedDeployerPending: "",
	approval.RefusedDeployerUnknown: "",
	approval.RefusedSuperseded:      "",
	approval.RefusedDeploymentOver:  "",
	approval.RefusedHookEnded:       "",
	approval.RefusedInconsistent:    "",
}

// parseForm returns the payload field of a form-encoded body.
func parseForm(body []byte) (string, error) {
	vals, err := url.ParseQuery(string(body))
	if err != nil || vals.Get("payload") == "" {
		return "", errors.New("no payload: Slack posts interactions as a form with a payload field")
	}
	return vals.Get("payload"), nil
}
