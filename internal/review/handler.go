package review

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"

	"github.com/gatehouse-dev/gatehouse/internal/approval"
	"github.com/gatehouse-dev/gatehouse/internal/hook"
	"github.com/gatehouse-dev/gatehouse/internal/smoke"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/internal/token"
)

// MaxBodySize bounds a posted form.
const MaxBodySize = 16 << 10

// MaxNameLen bounds the name typed on a shared link.
const MaxNameLen = 100

// Handler serves review pages. Approvals, Keys and Now are required.
type Handler struct {
	// Approvals is the approval service: the page reads requests, asks
	// what ECS says of them and votes through it alone.
	Approvals Approvals
	// Reports holds the smoke reports a page links to (the state bucket);
	// nil: they are not shown.
	Reports smoke.ReportReader
	Keys    Keys
	Now     func() time.Time
	Log     *slog.Logger
	// BasePath, when set, is the path of the review URL the links are made
	// under (BasePath of GATEHOUSE_REVIEW_URL, such as /gatehouse for a
	// custom domain with a path in front of the Function URL). Pages are
	// served under it and at the root alike, so a proxy that forwards the
	// path and one that strips it both work.
	BasePath string
	// Slack, when set, takes Slack's button clicks at SlackPath
	// (slackapp.Interactions).
	Slack http.Handler
}

// SlackPath is where Slack posts interactions, under the review URL.
const SlackPath = "/slack/interactions"

// Approvals is what the page asks of the approval service.
// *approval.Service satisfies it.
type Approvals interface {
	// Read returns the request at key, with its ETag.
	Read(ctx context.Context, key string) (*approval.Stored, error)
	// Standing says what ECS reports of an open request's deployment: an
	// open request for a deployment ECS stopped or rolled back (a
	// deployment alarm, another hook, an operator), or whose PAUSE hook
	// someone else ended, shows that and takes no votes. Best effort:
	// without an answer the page works as usual.
	Standing(ctx context.Context, r *approval.Request) approval.Standing
	// Vote records a ballot, and settles the vote that decides a PAUSE
	// request.
	Vote(ctx context.Context, b approval.Ballot) (approval.Voted, error)
}

// BasePath returns the path of a review base URL without its trailing
// slash: "" for https://abc.lambda-url.us-east-1.on.aws/, "/gatehouse" for
// https://deploy.example.com/gatehouse/.
func BasePath(reviewURL string) string {
	u, err := url.Parse(reviewURL)
	if err != nil {
		return ""
	}
	return strings.TrimRight(u.Path, "/")
}

// route is the path r asks for below BasePath, or r's own path when it is
// not under BasePath (the root).
func (h *Handler) route(r *http.Request) string {
	p := r.URL.Path
	if h.BasePath == "" {
		return p
	}
	if rest, ok := strings.CutPrefix(p, h.BasePath); ok && (rest == "" || strings.HasPrefix(rest, "/")) {
		if rest == "" {
			return "/"
		}
		return rest
	}
	return p
}

// ServeHTTP routes: GET and HEAD of Path show a page, POST of Path decides.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	secure(w.Header())
	path := h.route(r)
	switch {
	case path == "/" && (r.Method == http.MethodGet || r.Method == http.MethodHead):
		h.page(w, r, http.StatusOK, pageData{Title: "gatehouse", Message: "This is the gatehouse review service. Open the review link from your email to review a deployment."})
	case path == Path && (r.Method == http.MethodGet || r.Method == http.MethodHead):
		h.show(w, r)
	case path == Path && r.Method == http.MethodPost:
		h.decide(w, r)
	case path == SlackPath && h.Slack != nil:
		h.Slack.ServeHTTP(w, r)
	case path == ReportPath && (r.Method == http.MethodGet || r.Method == http.MethodHead):
		h.smokeReport(w, r)
	case path == Path:
		w.Header().Set("Allow", "GET, HEAD, POST")
		h.fail(w, r, http.StatusMethodNotAllowed, "Method not allowed.")
	default:
		h.fail(w, r, http.StatusNotFound, "There is nothing here.")
	}
}

// secure sets the headers every answer carries: nothing is cached, no
// Referer leaks the token, and the page runs no script.
func secure(hd http.Header) {
	hd.Set("Cache-Control", "no-store")
	hd.Set("Pragma", "no-cache")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("X-Robots-Tag", "noindex, nofollow")
	hd.Set("Content-Security-Policy", csp)
}

// loaded is a verified token and the request it opens.
type loaded struct {
	claims token.Claims
	key    string
	etag   string
	req    *approval.Request
	// over is the deployment's ECS status when the request is open but the
	// deployment no longer waits for it; ended why its PAUSE hook no longer
	// waits, when it was ended outside gatehouse.
	over  string
	ended string
	// stepVerdict is the step check's verdict on the request's step, read
	// for the page when the request holds none (Standing).
	stepVerdict string
}

// errPage is a refusal with the status and words to show.
type errPage struct {
	status int
	msg    string
}

func (e *errPage) Error() string { return e.msg }

// Words for refusals. A bad token learns nothing about why.
const (
	msgInvalid      = "This review link is not valid. Open the link from your most recent gatehouse email."
	msgExpired      = "This review link has expired."
	msgSuperseded   = "This review link belongs to an earlier approval request for this deployment and no longer works. Use the link from the most recent email."
	msgUnavailable  = "The review service cannot reach its state right now. Nothing was recorded. Please try again in a minute."
	msgInconsistent = "This approval request's stored record is inconsistent, so nothing can be decided here, and the deployment will not go on. Nothing was recorded; ask the platform team to inspect it."
)

// load verifies tok and reads the request it is for. With askECS, for an
// open request, it also asks ECS whether the deployment still waits.
func (h *Handler) load(ctx context.Context, tok string, askECS bool) (*loaded, error) {
	if tok == "" {
		return nil, &errPage{http.StatusBadRequest, "This page needs the review link from your email."}
	}
	keys, err := h.Keys.Keys(ctx)
	if err != nil {
		h.logError(ctx, "signing keys unavailable", err)
		return nil, &errPage{http.StatusServiceUnavailable, msgUnavailable}
	}
	c, err := keys.Verify(tok, h.Now())
	if errors.Is(err, token.ErrExpired) {
		return nil, &errPage{http.StatusGone, msgExpired}
	}
	if err != nil {
		return nil, &errPage{http.StatusForbidden, msgInvalid}
	}
	d, err := hook.ParseDeploymentARN(c.Deployment)
	if err != nil || !hook.Stage(c.Stage).Valid() {
		return nil, &errPage{http.StatusForbidden, msgInvalid}
	}
	key := approval.GateKey(d, hook.Stage(c.Stage), c.Gate)
	read, err := h.Approvals.Read(ctx, key)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, &errPage{http.StatusNotFound, msgInvalid}
	case errors.Is(err, approval.ErrUnreadable):
		h.logError(ctx, "load approval", err)
		return nil, &errPage{http.StatusInternalServerError, "This approval request cannot be read. Nothing was recorded; ask the platform team to check gatehouse's logs."}
	case err != nil:
		h.logError(ctx, "load approval", err)
		return nil, &errPage{http.StatusServiceUnavailable, msgUnavailable}
	}
	req := read.Request
	if req.ID != c.Request {
		return nil, &errPage{http.StatusGone, msgSuperseded}
	}
	if err := req.Check(); err != nil {
		h.logError(ctx, "load approval", err)
		return nil, &errPage{http.StatusConflict, msgInconsistent}
	}
	if c.Approver != "" && !req.IsApprover(c.Approver) || c.Approver == "" && !req.Shared() {
		return nil, &errPage{http.StatusForbidden, msgInvalid}
	}
	l := &loaded{claims: c, key: key, etag: read.ETag, req: req}
	if askECS {
		st := h.Approvals.Standing(ctx, req)
		l.over, l.ended, l.stepVerdict = st.Over, st.Ended, st.StepVerdict
	}
	return l, nil
}

// endedText says that the request's PAUSE hook ended without gatehouse.
func endedText(why string) string {
	return "ECS reports that this deployment no longer waits for this approval: " + why + ". There is nothing to decide here."
}

// overText says that the deployment no longer waits for the request.
func overText(status string) string {
	return "ECS reports this deployment " + status + ": it no longer waits for this approval, and there is nothing to decide."
}

func (h *Handler) show(w http.ResponseWriter, r *http.Request) {
	// HEAD, which link scanners send, gets no body: no need to ask ECS.
	l, err := h.load(r.Context(), r.URL.Query().Get("token"), r.Method == http.MethodGet)
	if err != nil {
		h.refuse(w, r, err)
		return
	}
	msg := ""
	switch {
	case l.over != "":
		msg = overText(l.over)
	case l.ended != "":
		msg = endedText(l.ended)
	}
	h.page(w, r, http.StatusOK, h.requestPage(l, r.URL.Query().Get("token"), msg))
}

// smokeReport shows the smoke report of the request the token opens.
func (h *Handler) smokeReport(w http.ResponseWriter, r *http.Request) {
	tok := r.URL.Query().Get("token")
	l, err := h.load(r.Context(), tok, false)
	if err != nil {
		h.refuse(w, r, err)
		return
	}
	d, err := hook.ParseDeploymentARN(l.req.DeploymentARN)
	if err != nil {
		h.refuse(w, r, err)
		return
	}
	rep, err := smoke.LoadReport(r.Context(), h.Reports, d, l.req.Stage)
	if errors.Is(err, store.ErrNotFound) {
		h.fail(w, r, http.StatusNotFound, "There is no smoke report for this deployment.")
		return
	}
	if err != nil {
		h.logError(r.Context(), "load smoke report", err)
		h.fail(w, r, http.StatusServiceUnavailable, msgUnavailable)
		return
	}
	h.page(w, r, http.StatusOK, pageData{Title: "Smoke report: " + l.req.Service, Report: rep.Text(), Back: "../review?token=" + url.QueryEscape(tok)})
}

func (h *Handler) decide(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	r.Body = http.MaxBytesReader(w, r.Body, MaxBodySize)
	if err := r.ParseForm(); err != nil {
		h.fail(w, r, http.StatusBadRequest, "The form could not be read. Nothing was recorded.")
		return
	}
	tok := r.PostForm.Get("token")
	// ECS is asked by the vote itself.
	l, err := h.load(ctx, tok, false)
	if err != nil {
		h.refuse(w, r, err)
		return
	}
	// "override" is an approval given as an emergency override of a freeze.
	raw := r.PostForm.Get("decision")
	override := strings.EqualFold(strings.TrimSpace(raw), "override")
	if override {
		raw = string(approval.Approve)
	}
	decision, err := approval.ParseDecision(raw)
	if err != nil {
		h.page(w, r, http.StatusBadRequest, h.requestPage(l, tok, "Choose Approve or Reject. Nothing was recorded."))
		return
	}
	vote := approval.Vote{
		Approver:  l.claims.Approver,
		Decision:  decision,
		Comment:   clean(r.PostForm.Get("comment"), approval.MaxCommentLen),
		Via:       "link",
		SourceIP:  sourceIP(r),
		UserAgent: clean(r.UserAgent(), 256),
		Override:  override,
	}
	if l.req.Shared() {
		name := clean(r.PostForm.Get("name"), MaxNameLen)
		if name == "" {
			h.page(w, r, http.StatusBadRequest, h.requestPage(l, tok, "Type your name: a shared link records who decided. Nothing was recorded."))
			return
		}
		vote.Approver = name
		vote.Via = "shared-link"
	}
	voted, err := h.Approvals.Vote(ctx, approval.Ballot{Key: l.key, RequestID: l.claims.Request, Vote: vote, Read: &approval.Stored{Request: l.req, ETag: l.etag}})
	if voted.Request != nil {
		l.req = voted.Request
	}
	switch {
	case err == nil:
		h.page(w, r, http.StatusOK, h.requestPage(l, tok, recordedText(l.req, decision)))
	case approval.RefusalOf(err) != nil:
		ref := approval.RefusalOf(err)
		var over *approval.DeploymentOver
		if errors.As(err, &over) {
			l.over = over.Status
		}
		status, msg := refusalStatus[ref.Code], ref.Message
		if status == http.StatusForbidden || status == http.StatusGone {
			// Nothing of the request is shown to someone not asked, or
			// for a request the link is not for.
			if ref.Code == approval.RefusedNotApprover {
				msg = msgInvalid
			}
			h.fail(w, r, status, msg)
			return
		}
		h.page(w, r, status, h.requestPage(l, tok, msg))
	case hook.IsTransient(err) || errors.Is(err, store.ErrPrecondition):
		h.logError(ctx, "record vote", err)
		h.fail(w, r, http.StatusServiceUnavailable, "The review service could not confirm that your vote was recorded. Open the link again to see whether it was, and if not, try again in a minute.")
	default:
		h.logError(ctx, "record vote", err)
		h.fail(w, r, http.StatusInternalServerError, "Your vote could not be recorded. Open the link again to see the request's state; if this persists, ask the platform team to check gatehouse's logs.")
	}
}

// refusalStatus is the page's status for each refusal code
// (approval.RefusalCodes); the page says the refusal's message, except to
// someone who is not an approver, who learns nothing of the request.
var refusalStatus = map[string]int{
	approval.RefusedClosed:          http.StatusConflict,
	approval.RefusedAlreadyVoted:    http.StatusOK,
	approval.RefusedVoteChanged:     http.StatusConflict,
	approval.RefusedNotApprover:     http.StatusForbidden,
	approval.RefusedAwaitingSmoke:   http.StatusConflict,
	approval.RefusedAwaitingStep:    http.StatusConflict,
	approval.RefusedFrozen:          http.StatusConflict,
	approval.RefusedOverrideReason:  http.StatusBadRequest,
	approval.RefusedSelfApproval:    http.StatusForbidden,
	approval.RefusedDeployerPending: http.StatusConflict,
	approval.RefusedDeployerUnknown: http.StatusConflict,
	approval.RefusedSuperseded:      http.StatusGone,
	approval.RefusedDeploymentOver:  http.StatusConflict,
	approval.RefusedHookEnded:       http.StatusConflict,
	approval.RefusedInconsistent:    http.StatusConflict,
}

func recordedText(r *approval.Request, d approval.Decision) string {
	if r.Pause != nil && r.Outcome != approval.Pending {
		return pauseRecordedText(r, d)
	}
	switch r.Outcome {
	case approval.Approved:
		if !r.AbortOnAlarms.Empty() {
			return "Your approval is recorded. The deployment is approved and goes on at the hook's next call, unless a watched alarm is in ALARM by then."
		}
		return "Your approval is recorded. The deployment is approved and goes on at the hook's next call."
	case approval.Rejected:
		return "Your rejection is recorded. The deployment is rejected and ECS will roll it back shortly."
	}
	if d == approval.Approve {
		return "Your approval is recorded. Still waiting for more approvals."
	}
	return "Your vote is recorded."
}

// pauseRecordedText is recordedText for a decided request that holds an
// ECS PAUSE hook: what ECS was told.
func pauseRecordedText(r *approval.Request, d approval.Decision) string {
	vote := "Your vote is recorded."
	switch d {
	case approval.Approve:
		vote = "Your approval is recorded."
	case approval.Reject:
		vote = "Your rejection is recorded."
	}
	p := r.Pause
	switch {
	case p.Done != nil && p.Result == "accepted" && p.Action == "CONTINUE":
		return vote + " The deployment is approved, and ECS was told to go on."
	case p.Done != nil && p.Result == "accepted":
		return vote + " ECS was told to roll the deployment back."
	case p.Done != nil && r.Outcome == approval.ContinuedOutside:
		return vote + " But someone continued the deployment outside gatehouse before ECS was told: it went on."
	case p.Done != nil:
		return vote + " ECS says the paused deployment no longer waits: " + p.Result
	}
	return vote + " ECS is being told; should that fail, it is told again within minutes."
}

func (h *Handler) refuse(w http.ResponseWriter, r *http.Request, err error) {
	var ep *errPage
	if errors.As(err, &ep) {
		h.fail(w, r, ep.status, ep.msg)
		return
	}
	h.logError(r.Context(), "review", err)
	h.fail(w, r, http.StatusInternalServerError, msgUnavailable)
}

func (h *Handler) fail(w http.ResponseWriter, r *http.Request, status int, msg string) {
	h.page(w, r, status, pageData{Title: http.StatusText(status), Message: msg, Error: true})
}

func (h *Handler) logError(ctx context.Context, what string, err error) {
	h.log().ErrorContext(ctx, what, "err", err)
}

func (h *Handler) log() *slog.Logger {
	if h.Log == nil {
		return slog.Default()
	}
	return h.Log
}

// sourceIP returns the client address: the Function URL's sourceIp, which
// funcurl puts in RemoteAddr.
func sourceIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// clean trims s, drops control characters (keeping newlines in comments) and
// bounds its length in bytes on a rune boundary.
func clean(s string, max int) string {
	s = strings.Map(func(c rune) rune {
		if c == '\n' {
			return c
		}
		if c == '\r' || c == '\t' {
			return ' '
		}
		if unicode.IsControl(c) {
			return -1
		}
		return c
	}, strings.TrimSpace(s))
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }
