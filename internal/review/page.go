package review

import (
	"cmp"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"html"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/approval"
	"github.com/gatehouse-dev/gatehouse/internal/hook"
)

// style is the page's only styling. The Content-Security-Policy allows exactly
// this block by its hash, and nothing else: no script, no images, no frames.
const style = `
body{font:16px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;background:#f4f5f7;color:#1d2330}
main{max-width:44rem;margin:2rem auto;background:#fff;border:1px solid #d9dde3;border-radius:8px;padding:1.5rem 2rem}
h1{font-size:1.4rem;margin:0 0 1rem}
table{border-collapse:collapse;width:100%;margin:0 0 1rem}
th{text-align:left;vertical-align:top;padding:.3rem 1rem .3rem 0;white-space:nowrap;color:#4a5365;font-weight:600}
td{padding:.3rem 0;overflow-wrap:anywhere}
code{font:14px/1.4 ui-monospace,Menlo,Consolas,monospace}
.notice{padding:.75rem 1rem;border-radius:6px;margin:0 0 1rem;background:#e8f0fe;border:1px solid #b3c9f5}
.error{background:#fdecea;border-color:#f5b7b1}
.closed{background:#eef7ee;border-color:#b7dfb9}
ul{margin:.2rem 0;padding-left:1.2rem}
label{display:block;font-weight:600;margin:.75rem 0 .25rem}
pre{white-space:pre-wrap;background:#f7f8fa;border:1px solid #e3e6eb;border-radius:4px;padding:.75rem;font:13px/1.4 ui-monospace,Menlo,Consolas,monospace}
textarea,input[type=text]{width:100%;box-sizing:border-box;font:inherit;padding:.4rem;border:1px solid #b8bfca;border-radius:4px}
.buttons{margin-top:1rem;display:flex;gap:1rem}
button{font:inherit;font-weight:600;padding:.6rem 1.4rem;border-radius:6px;border:1px solid transparent;cursor:pointer}
.approve{background:#1f7a33;color:#fff}
.reject{background:#fff;color:#a11d1d;border-color:#a11d1d}
footer{margin-top:1.5rem;font-size:.85rem;color:#5d6678}
`

var csp = "default-src 'none'; style-src '" + styleHash() + "'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

func styleHash() string {
	sum := sha256.Sum256([]byte(style))
	return "sha256-" + base64.StdEncoding.EncodeToString(sum[:])
}

// pageData is everything a page can show.
type pageData struct {
	Title   string
	Message string
	Error   bool
	Req     *requestView
	// Report is a plain-text report to show, with a link Back.
	Report string
	Back   string
}

type requestView struct {
	Service, Cluster, Region, Account string
	Deployment, Stage, Revision       string
	Change                            approval.Change
	Smoke                             *approval.Smoke
	Step                              *approval.Step
	StepText                          string
	Watching                          string
	Freeze                            string
	Policy                            []string
	TimeoutContinues                  bool
	// Pause says where ECS's PAUSE hook stands, for a request that holds one.
	Pause                        string
	StartedBy                    string
	ForbidSelfApproval           bool
	Approvals, Required          int
	Approvers                    []approverView
	Votes                        []approval.Vote
	Expires, Remaining, OnExpiry string
	Closed                       bool
	Summary                      string
	Outcome                      string
	// Form fields: shown only while the request is open and this reviewer
	// has not voted.
	ShowForm bool
	Token    string
	Shared   bool
	You      string
	YourVote *approval.Vote
}

type approverView struct {
	Email  string
	Status string
}

func (h *Handler) requestPage(l *loaded, tok, msg string) pageData {
	now := h.Now()
	r := l.req
	o := r.Evaluate(now)
	v := &requestView{
		Service:            r.Service,
		Cluster:            r.Cluster,
		Region:             r.Region,
		Account:            r.Account,
		Deployment:         r.DeploymentARN,
		Stage:              string(r.Stage),
		Revision:           r.TargetRevisionARN,
		Change:             r.Change,
		Smoke:              r.Smoke,
		Step:               stepOf(r.Step, l.stepVerdict),
		StepText:           stepText(r),
		Watching:           r.AbortOnAlarms.String(),
		Policy:             r.Policy,
		TimeoutContinues:   r.TimeoutContinues,
		Pause:              r.PauseState(),
		StartedBy:          r.StartedBy.Describe(),
		ForbidSelfApproval: r.ForbidSelfApproval,
		Freeze:             r.Freeze,
		Approvals:          r.Approvals(),
		Required:           r.RequiredApprovals,
		Votes:              r.Votes,
		Expires:            r.ExpiresAt.UTC().Format("2006-01-02 15:04 MST"),
		OnExpiry:           "rejected and rolled back",
		Closed:             o != approval.Pending,
		Summary:            r.Summary(o),
		Outcome:            string(o),
		Token:              tok,
		Shared:             r.Shared(),
		You:                l.claims.Approver,
	}
	if r.OnExpiry == approval.Approve {
		v.OnExpiry = approval.ExpiryDefault(r)
	}
	if !v.Closed {
		v.Remaining = hook.FormatDuration(r.ExpiresAt.Sub(now).Round(time.Minute))
	}
	for _, a := range r.Approvers {
		st := "waiting"
		if vote, ok := r.VoteOf(a); ok {
			st = string(vote.Decision) + "d " + vote.At.UTC().Format("2006-01-02 15:04 MST")
		}
		v.Approvers = append(v.Approvers, approverView{Email: a, Status: st})
	}
	if !r.Shared() {
		if vote, ok := r.VoteOf(l.claims.Approver); ok {
			v.YourVote = &vote
		}
	}
	// No form while the smoke checks run: the request takes no votes yet.
	v.ShowForm = !v.Closed && v.YourVote == nil && l.over == "" && l.ended == "" && !l.req.SmokePending() && !l.req.StepPending()
	title := "Approve deployment of " + r.Service + "?"
	if v.Closed {
		title = "Deployment of " + r.Service + ": " + string(o)
	}
	return pageData{Title: title, Message: msg, Req: v}
}

func (h *Handler) page(w http.ResponseWriter, r *http.Request, status int, d pageData) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write([]byte(renderPage(d)))
	}
}

// renderPage writes the page by hand, escaping every value with
// html.EscapeString. html/template would be the usual choice, but its
// reflective method calls stop the linker from dropping unused methods and
// add megabytes to the function.
func renderPage(d pageData) string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<meta name="robots" content="noindex, nofollow">
<title>%s · gatehouse</title>
<style>%s</style>
</head>
<body>
<main>
<h1>%s</h1>
`, esc(d.Title), style, esc(d.Title))
	if d.Message != "" {
		class := "notice"
		if d.Error {
			class += " error"
		}
		p("<p class=\"%s\" role=\"status\" id=\"message\">%s</p>\n", class, esc(d.Message))
	}
	if v := d.Req; v != nil {
		writeRequest(&b, v)
	}
	if d.Report != "" {
		p("<pre id=\"report\">%s</pre>\n<p><a href=\"%s\">Back to the review page</a></p>\n", esc(d.Report), esc(d.Back))
	}
	b.WriteString("<footer>gatehouse · opening this page never decides anything; only the buttons do.</footer>\n</main>\n</body>\n</html>\n")
	return b.String()
}

// writeRequest writes the request and, when the reader may decide, the
// form.
func writeRequest(b *strings.Builder, v *requestView) {
	p := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	if v.Closed {
		p("<p class=\"notice closed\" id=\"outcome\">This approval request is closed: %s.</p>\n", esc(v.Summary))
	}
	writeTable(b, v)
	if v.YourVote != nil {
		p("<p class=\"notice\" id=\"your-vote\">You voted <strong>%s</strong> at %s.</p>\n", esc(string(v.YourVote.Decision)), esc(stamp(v.YourVote.At)))
	}
	if v.ShowForm {
		writeForm(b, v)
	}
}

// writeTable writes what the request is about and where it stands.
func writeTable(b *strings.Builder, v *requestView) {
	p := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	row := func(th, tdHTML string) { p("<tr><th>%s</th><td>%s</td></tr>\n", th, tdHTML) }
	b.WriteString("<table>\n")
	row("Service", esc(v.Service))
	row("Cluster", fmt.Sprintf("%s <small>(%s, account %s)</small>", esc(v.Cluster), esc(v.Region), esc(v.Account)))
	row("Deployment", "<code>"+esc(v.Deployment)+"</code>")
	row("Stage", esc(v.Stage))
	writeChangeRows(row, v)
	if v.Pause != "" {
		row("ECS", "<span id=\"pause\">"+esc(v.Pause)+"</span>")
	}
	if v.StartedBy != "" {
		note := ""
		if v.ForbidSelfApproval {
			note = "<br><small>Whoever started the deployment cannot approve it.</small>"
		}
		row("Started by", "<span id=\"started-by\">"+esc(v.StartedBy)+"</span>"+note)
	}
	if st := v.Step; st != nil {
		check := ""
		if v.Stage == string(hook.StagePreProductionTrafficShift) {
			check = "<br><small id=\"step-check\">Step check: " + esc(cmp.Or(st.Evidence, approval.NoStepVerdict)) + "</small>"
		}
		row("Step", "<span id=\"step\">"+esc(v.StepText)+"</span>"+check)
	}
	if v.Smoke != nil {
		row("Smoke checks", "<span id=\"smoke\">"+esc(v.Smoke.Summary)+"</span> · <a href=\"review/report?token="+esc(url.QueryEscape(v.Token))+"\">report</a>")
	}
	if v.Watching != "" {
		note := ""
		if !v.Closed {
			note = "<br><small>Read at every hook call until the deployment goes on: one in ALARM rolls it back, even after approval.</small>"
		}
		row("Watching", "<code id=\"watching\">"+esc(v.Watching)+"</code>"+note)
	}
	if v.Freeze != "" {
		row("Frozen", "<span id=\"freeze\">"+esc(v.Freeze)+"</span><br><small>Only an emergency override, with its reason, approves this deployment.</small>")
	}
	p("<tr><th>Approvals</th><td id=\"approvals\">%d of %d required</td></tr>\n", v.Approvals, v.Required)
	if len(v.Policy) > 0 {
		var li strings.Builder
		for _, line := range v.Policy {
			fmt.Fprintf(&li, "<li>%s</li>", esc(line))
		}
		row("Suite policy", "<ul id=\"policy\">"+li.String()+"</ul>")
	}
	if len(v.Approvers) > 0 {
		var li strings.Builder
		for _, a := range v.Approvers {
			fmt.Fprintf(&li, "<li>%s: %s</li>", esc(a.Email), esc(a.Status))
		}
		row("Approvers", "<ul>"+li.String()+"</ul>")
	}
	if v.Shared && len(v.Votes) > 0 {
		var li strings.Builder
		for _, vote := range v.Votes {
			fmt.Fprintf(&li, "<li>%s: %s %s</li>", esc(vote.Approver), esc(string(vote.Decision)), esc(stamp(vote.At)))
		}
		row("Votes", "<ul>"+li.String()+"</ul>")
	}
	if !v.Closed {
		row("Expires", fmt.Sprintf("%s (in about %s); without a decision the deployment is %s", esc(v.Expires), esc(v.Remaining), esc(v.OnExpiry)))
	}
	if v.TimeoutContinues && !v.Closed {
		row("ECS timeout", "<span id=\"timeout-continue\">CONTINUE: if nobody decides before this hook's ECS timeout, ECS lets the deployment go on unapproved.</span>")
	}
	b.WriteString("</table>\n")
}

// writeForm writes the form that decides.
func writeForm(b *strings.Builder, v *requestView) {
	p := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	p("<form method=\"post\" action=\"review\">\n<input type=\"hidden\" name=\"token\" value=\"%s\">\n", esc(v.Token))
	if v.Shared {
		p("<label for=\"name\">Your name</label>\n<input type=\"text\" id=\"name\" name=\"name\" maxlength=\"%d\" required autocomplete=\"name\">\n", MaxNameLen)
	} else {
		p("<p>Deciding as <strong>%s</strong>.</p>\n", esc(v.You))
	}
	if v.Freeze != "" {
		// The comment cannot be required in HTML: a reject needs none.
		p(`<label for="comment">Comment (the reason, required for an emergency override)</label>
<textarea id="comment" name="comment" rows="3" maxlength="%d"></textarea>
<div class="buttons">
<button type="submit" name="decision" value="override" class="approve" id="approve">Approve as emergency override</button>
<button type="submit" name="decision" value="reject" class="reject" id="reject">Reject</button>
</div>
</form>
`, approval.MaxCommentLen)
		return
	}
	p(`<label for="comment">Comment (optional)</label>
<textarea id="comment" name="comment" rows="3" maxlength="%d"></textarea>
<div class="buttons">
<button type="submit" name="decision" value="approve" class="approve" id="approve">Approve</button>
<button type="submit" name="decision" value="reject" class="reject" id="reject">Reject</button>
</div>
</form>
`, approval.MaxCommentLen)
}

func imagesHTML(list []approval.Image) string {
	var b strings.Builder
	for _, i := range list {
		fmt.Fprintf(&b, "<br><code>%s = %s</code>", esc(i.Container), esc(i.Image))
	}
	return b.String()
}

func esc(s string) string { return html.EscapeString(s) }

// writeChangeRows writes what the deployment changes, and where to try
// green, as table rows.
func writeChangeRows(row func(th, tdHTML string), v *requestView) {
	c := v.Change
	if !c.Known {
		row("Deploying", "<code>"+esc(v.Revision)+"</code><br><small>ECS did not describe this deployment; check it in the console.</small>")
		return
	}
	if c.FirstDeployment {
		row("Running now", "nothing: first deployment of this service")
	} else {
		row("Running now", "<code>"+esc(strings.Join(c.SourceTaskDefinitions, ", "))+"</code>"+imagesHTML(c.SourceImages))
	}
	row("Deploying", "<code>"+esc(c.TargetTaskDefinition)+"</code>"+imagesHTML(c.TargetImages))
	if c.StartedAt != nil {
		row("Started", esc(stamp(*c.StartedAt)))
	}
	if h := tryHTML(c); h != "" {
		row("Try it", h)
	}
	if h := changesHTML(c); h != "" {
		row("Changes", h)
	}
}

// tryHTML says where green can be tried now: a link, the header to send,
// whether the load balancer is internal; or why that is not known.
func tryHTML(c approval.Change) string {
	t := c.Try
	if t == nil {
		if c.TryUnknown == "" {
			return ""
		}
		return "<span id=\"try\">not known: " + esc(c.TryUnknown) + "</span>"
	}
	h := "<a id=\"try\" href=\"" + esc(t.URL) + "\">" + esc(t.URL) + "</a>"
	if c := t.Configured(); c != "" {
		h += "<br><small>" + esc(c) + "</small>"
	}
	for _, k := range slices.Sorted(maps.Keys(t.Headers)) {
		h += "<br><small>with the header <code>" + esc(k) + ": " + esc(approval.HeaderValue(k, t.Headers[k])) + "</code></small>"
	}
	if len(t.Paths) > 0 {
		h += "<br><small>on the paths <code>" + esc(strings.Join(t.Paths, ", ")) + "</code> (others reach blue)</small>"
	}
	for _, n := range t.Notes {
		h += "<br><small>" + esc(n) + "</small>"
	}
	if t.Internal {
		h += "<br><small>An internal load balancer: reachable from its network only.</small>"
	}
	return h
}

// changesHTML is what changes from blue's task definition to green's, as
// a table: only what differs; a secret-looking value is never shown.
func changesHTML(c approval.Change) string {
	d := c.Diff
	switch {
	case c.DiffUnknown != "":
		return "<span id=\"changes\">Could not be read yet (" + esc(c.DiffUnknown) + "); this page shows them once ECS says.</span>"
	case d == nil:
		return ""
	case len(d.Changes) == 0 && d.Cut == 0:
		return "<span id=\"changes\">No change.</span>"
	}
	var b strings.Builder
	summary := d.Summary(5)
	if d.OnlyImage() {
		summary = "No change but the image: " + summary
	}
	b.WriteString("<div id=\"changes\">" + esc(summary) + "</div>\n<table class=\"diff\"><tr><th>container</th><th>what</th><th>blue</th><th>green</th></tr>\n")
	for _, ch := range d.Changes {
		from, to := esc(ch.From), esc(ch.To)
		if ch.Hidden {
			from, to = "<em>not shown</em>", "<em>changed; the values are not shown</em>"
			if ch.From != "" {
				from, to = esc(ch.From), "<em>removed</em>"
			} else if ch.To != "" {
				from, to = "", esc(ch.To)+" <em>(value not shown)</em>"
			}
		}
		fmt.Fprintf(&b, "<tr><td>%s</td><td><code>%s</code></td><td><code>%s</code></td><td><code>%s</code></td></tr>\n", esc(ch.Container), esc(ch.What), from, to)
	}
	b.WriteString("</table>")
	if d.Cut > 0 {
		fmt.Fprintf(&b, "<small>%d more changes not kept.</small>", d.Cut)
	}
	for _, src := range d.Sources {
		b.WriteString("<br><small>Source of <code>" + esc(src.Container) + "</code>: <a href=\"" + esc(src.Link) + "\">" + esc(src.Link) + "</a></small>")
	}
	return b.String()
}

func stamp(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 MST") }

// stepOf is the step to show: as the request holds it, with the step
// check's verdict read since when it holds none.
func stepOf(s *approval.Step, verdict string) *approval.Step {
	if s == nil || s.Evidence != "" || verdict == "" {
		return s
	}
	shown := *s
	shown.Evidence = verdict
	return &shown
}

func stepText(r *approval.Request) string {
	if r.Step == nil {
		return ""
	}
	return r.StepText()
}
