package local

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"html/template"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/approval"
	"github.com/gatehouse-dev/gatehouse/internal/bake"
	"github.com/gatehouse-dev/gatehouse/internal/hook"
	"github.com/gatehouse-dev/gatehouse/internal/rollout"
	"github.com/gatehouse-dev/gatehouse/internal/simulator"
)

// dashboard is the local mode's home page: the service, its deployments
// with every hook answer, and the outbox.
type dashboard struct{ l *Local }

type dashView struct {
	Now         string
	Speed       float64
	Production  listenerView
	Test        listenerView
	Deployments []deploymentView
	// Outbox is every message, newest deployment first.
	Outbox     []mailGroup
	Missing    []string
	InProgress bool
	Modes      []Mode
	// Selected is the mode the form offers first: the newest deployment's,
	// else the configured one.
	Selected Mode
	Message  string
	// Summary says what the newest deployment waits for, and until when,
	// or how it ended.
	Summary string
	// Nonce allows the page's one script, which refreshes the data and
	// leaves the form alone.
	Nonce string
	// Strategy names how production traffic moves; Steps are its steps,
	// for the newest deployment.
	Strategy string
	Steps    []stepView
}

type listenerView struct {
	URL    string
	Target simulator.Side
	// Serving is the version it serves.
	Serving string
	// Green and Blue are the shares of the listener's traffic, in percent.
	Green, Blue float64
}

type stepView struct {
	Percent float64
	// State is done, current or next.
	State string
}

func newListenerView(l *Listener) listenerView {
	g := l.GreenShare()
	v := listenerView{URL: l.URL, Target: l.Target(), Serving: l.Serving(), Green: g, Blue: 100 - g}
	if v.Target == "" {
		v.Blue = 0
	}
	return v
}

// mailGroup is the outbox's messages about one deployment.
type mailGroup struct {
	// Deployment is the deployment's ID, or "" for messages about none.
	Deployment string
	Newest     bool
	Mails      []Mail
	// Slack are the Slack messages about the deployment, newest first.
	Slack []slackView
}

type deploymentView struct {
	ID, Status, Stage, Reason, Green string
	// Why is the approval gate's verdict on a PAUSE hook it continued,
	// which ECS does not record.
	Why                            string
	Started, Ended                 string
	Terminal, Success, CanRollBack bool
	// Events are the deployment's events, repeated identical answers
	// (a long wait's polls) collapsed into one row with a count;
	// EventCount counts them all.
	Events     []eventRow
	EventCount int
	// Paused are the PAUSE hooks awaiting action, and when ECS acts alone.
	Paused []pauseView
	// Judged are the step check's verdicts on a linear or canary
	// deployment's steps, from its reports in the state bucket.
	Judged []judgedStep
}

// judgedStep is the step check's verdict on one step.
type judgedStep struct {
	Status, Summary, Reason string
}

// judged reads the step check's reports of the deployment arn.
func (d *dashboard) judged(ctx context.Context, arn string) []judgedStep {
	dep, err := hook.ParseDeploymentARN(arn)
	if err != nil || len(d.l.Sim.Strategy.Steps()) < 2 {
		return nil
	}
	reps, err := bake.Steps(ctx, d.l.Store, dep)
	if err != nil {
		return []judgedStep{{Status: "ERROR", Summary: "the step check's reports cannot be read", Reason: err.Error()}}
	}
	out := make([]judgedStep, 0, len(reps))
	for _, r := range reps {
		out = append(out, judgedStep{Status: string(r.HookStatus), Summary: r.Summary(), Reason: r.Reason})
	}
	return out
}

// eventRow is one event, or a run of identical ones: Count of them, the
// last at Last.
type eventRow struct {
	simulator.Event
	Count int
	Last  time.Time
}

// collapse folds each run of consecutive events that say the same thing
// (the same stage, hook, answer and reason: a wait's polls) into one row.
func collapse(events []simulator.Event) []eventRow {
	var out []eventRow
	for _, e := range events {
		if n := len(out); n > 0 {
			last := &out[n-1]
			if last.Stage == e.Stage && last.Hook == e.Hook && last.Status == e.Status && last.Reason == e.Reason && e.Hook != "" && e.Green == nil {
				last.Count++
				last.Last = e.At
				continue
			}
		}
		out = append(out, eventRow{Event: e, Count: 1, Last: e.At})
	}
	return out
}

type pauseView struct {
	Hook, Stage, HookID, Expires, TimeoutAction string
}

func (d *dashboard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	// The outbox lists signed review links: answer only requests for the
	// dashboard's own address, so a page on another name that resolves to
	// loopback (DNS rebinding) cannot read it.
	if !d.ownHost(r.Host) {
		http.Error(w, "unexpected Host", http.StatusForbidden)
		return
	}
	switch {
	case r.URL.Path == "/" && (r.Method == http.MethodGet || r.Method == http.MethodHead):
		d.show(w, r, r.URL.Query().Get("msg"))
	case r.URL.Path == "/deploy" && r.Method == http.MethodPost:
		d.deploy(w, r)
	case r.URL.Path == "/rollback" && r.Method == http.MethodPost:
		d.rollback(w, r)
	case r.URL.Path == "/slack/confirm" && r.Method == http.MethodGet:
		d.slackConfirm(w, r)
	case r.URL.Path == "/slack/click" && r.Method == http.MethodPost:
		d.slackClick(w, r)
	default:
		http.NotFound(w, r)
	}
}

// ownHost reports whether host names the dashboard: its address, or
// localhost on its port.
func (d *dashboard) ownHost(host string) bool {
	own := strings.TrimPrefix(d.l.UIURL, "http://")
	_, port, _ := net.SplitHostPort(own)
	return host == own || host == "localhost:"+port
}

// sameSite refuses a cross-site form post, answering 403, and reports
// whether the request may go on.
func (d *dashboard) sameSite(w http.ResponseWriter, r *http.Request) bool {
	// The dashboard only listens on loopback, but a web page elsewhere could
	// still post to it: refuse cross-site form posts.
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
		http.Error(w, "cross-site request refused", http.StatusForbidden)
		return false
	}
	// Browsers that send no Sec-Fetch-Site still send Origin; and the Host
	// must be the dashboard's own, against DNS rebinding.
	if o := r.Header.Get("Origin"); o != "" && !d.ownHost(strings.TrimPrefix(o, "http://")) {
		http.Error(w, "cross-site request refused", http.StatusForbidden)
		return false
	}
	r.Body = http.MaxBytesReader(w, r.Body, 4096)
	return true
}

// rollback is the Roll back button: production back to blue at once.
func (d *dashboard) rollback(w http.ResponseWriter, r *http.Request) {
	if !d.sameSite(w, r) {
		return
	}
	msg := "Rollback requested: production goes back to blue, which still runs."
	if err := d.l.Rollback(r.FormValue("deployment"), "the dashboard"); err != nil {
		msg = err.Error()
	}
	http.Redirect(w, r, "/?msg="+url.QueryEscape(msg), http.StatusSeeOther)
}

func (d *dashboard) deploy(w http.ResponseWriter, r *http.Request) {
	if !d.sameSite(w, r) {
		return
	}
	mode, err := ParseMode(r.FormValue("green"))
	msg := ""
	if err != nil {
		msg = err.Error()
	} else if _, err := d.l.Deploy(mode); err != nil {
		msg = err.Error()
	} else {
		msg = "Deployment started."
	}
	http.Redirect(w, r, "/?msg="+url.QueryEscape(msg), http.StatusSeeOther)
}

func (d *dashboard) show(w http.ResponseWriter, r *http.Request, msg string) {
	l := d.l
	nonce := make([]byte, 16)
	_, _ = rand.Read(nonce)
	v := dashView{
		Now:        l.Clock.Now().Format("15:04:05"),
		Speed:      l.Clock.Speed(),
		Production: newListenerView(l.App.Production),
		Test:       newListenerView(l.App.Test),
		Strategy:   string(l.Sim.Strategy.WithDefaults().Kind),
		Missing:    l.Missing,
		Modes:      []Mode{Healthy, Broken, Slow, Degrading},
		Selected:   Mode(l.opts.Config.Green),
		Message:    msg,
		Nonce:      base64.RawURLEncoding.EncodeToString(nonce),
	}
	tracked := l.Deployments()
	for _, t := range tracked {
		s := t.D.Snapshot()
		dv := deploymentView{ID: s.ID, Status: string(s.Status), Stage: string(s.Stage), Reason: s.Reason, Why: t.Why(), Green: string(t.Green),
			Started: clock(s.StartedAt), Ended: clock(s.EndedAt), Terminal: s.Status.Terminal(), Success: s.Status == simulator.StatusSuccessful,
			Events: collapse(s.Events), EventCount: len(s.Events), CanRollBack: CanRollBack(s), Judged: d.judged(r.Context(), s.ARN)}
		for _, p := range t.D.Pauses() {
			if p.Status == "AWAITING_ACTION" {
				dv.Paused = append(dv.Paused, pauseView{Hook: p.Hook, Stage: string(p.Stage), HookID: p.HookID, Expires: p.ExpiresAt.Format("2006-01-02 15:04"), TimeoutAction: p.TimeoutAction})
			}
		}
		if !dv.Terminal {
			v.InProgress = true
		}
		v.Deployments = append(v.Deployments, dv)
	}
	if len(tracked) > 0 {
		newest := tracked[len(tracked)-1]
		v.Steps = steps(l.Sim.Strategy, newest.D.Snapshot())
		v.Selected = newest.Green
		v.Summary = d.summary(r.Context(), newest)
	}
	slices.Reverse(v.Deployments)
	v.Outbox = groupMails(l.Outbox.Mails(), l.SlackMessages(), tracked)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; script-src 'nonce-"+v.Nonce+"'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'")
	if r.Method == http.MethodHead {
		return
	}
	_ = dashTmpl.Execute(w, v)
}

// groupMails groups the outbox by deployment, newest first, each group's
// messages newest first; messages about no deployment come last.
func groupMails(mails []Mail, slack []SlackMessage, tracked []*Tracked) []mailGroup {
	var groups []mailGroup
	used := make([]bool, len(mails))
	for i := len(tracked) - 1; i >= 0; i-- {
		id := tracked[i].D.ID
		g := mailGroup{Deployment: id, Newest: i == len(tracked)-1}
		for j := len(mails) - 1; j >= 0; j-- {
			if !used[j] && strings.Contains(mails[j].Body, "/"+id+"\n") {
				g.Mails, used[j] = append(g.Mails, mails[j]), true
			}
		}
		for j := len(slack) - 1; j >= 0; j-- {
			if slack[j].About(id) {
				g.Slack = append(g.Slack, newSlackView(slack[j]))
			}
		}
		if len(g.Mails) > 0 {
			groups = append(groups, g)
		}
	}
	rest := mailGroup{Newest: len(groups) == 0}
	for j := len(mails) - 1; j >= 0; j-- {
		if !used[j] {
			rest.Mails = append(rest.Mails, mails[j])
		}
	}
	if len(rest.Mails) > 0 {
		groups = append(groups, rest)
	}
	return groups
}

// summary says in one line what deployment t waits for and until when
// ("waiting at POST_TEST_TRAFFIC_SHIFT for alice@example.com or
// bob@example.com, 0 of 1 approvals; expires 13:07, in 1h54m"), or how it
// ended.
func (d *dashboard) summary(ctx context.Context, t *Tracked) string {
	l := d.l
	s := t.D.Snapshot()
	switch {
	case s.Status == simulator.StatusSuccessful:
		return fmt.Sprintf("Deployed at %s: production serves demo %s.", clock(s.EndedAt), l.App.Serving())
	case s.Status.Terminal():
		out := fmt.Sprintf("%s at %s: %s", s.Status, clock(s.EndedAt), s.Reason)
		if why := t.Why(); why != "" {
			out += " (gatehouse: " + why + ")"
		}
		return out
	}
	now := l.Clock.Now()
	// The first gate open at the stage (a second one waits as long).
	if open := l.openRequests(ctx, s.ARN, s.Stage); len(open) > 0 {
		r := open[0]
		what := fmt.Sprintf("Waiting at %s", s.Stage)
		switch o := r.Evaluate(now); {
		case r.SmokePending():
			what += " for the smoke checks, before anyone is asked to approve"
		case o != approval.Pending:
			what += ": " + r.Summary(o) + "; the hook answers on its next call"
			return what
		case r.Shared():
			what += fmt.Sprintf(" for anyone with the shared link, %d of %d approvals", r.Approvals(), r.RequiredApprovals)
		default:
			var waiting []string
			for _, a := range r.Approvers {
				if _, voted := r.VoteOf(a); !voted {
					waiting = append(waiting, a)
				}
			}
			what += fmt.Sprintf(" for %s, %d of %d approvals", strings.Join(waiting, " or "), r.Approvals(), r.RequiredApprovals)
		}
		return what + fmt.Sprintf("; expires %s, in %s (simulated time)", r.ExpiresAt.In(time.Local).Format("15:04"), hook.FormatDuration(r.ExpiresAt.Sub(now).Round(time.Minute)))
	}
	// No approval request open here: the hook answering now.
	for i := len(s.Events) - 1; i >= 0; i-- {
		if e := s.Events[i]; e.Stage == s.Stage && e.Hook != "" && e.Status == string(hook.StatusInProgress) {
			return fmt.Sprintf("At %s: %s: %s", s.Stage, e.Hook, e.Reason)
		}
	}
	return fmt.Sprintf("At %s.", s.Stage)
}

// steps is where a deployment stands in the strategy's production shifts.
func steps(s rollout.Strategy, snap simulator.Snapshot) []stepView {
	shifts := s.Steps()
	out := make([]stepView, len(shifts))
	stage := slices.Index(simulator.Lifecycle, snap.Stage)
	shifting := stage >= slices.Index(simulator.Lifecycle, hook.StagePreProductionTrafficShift)
	past := stage > slices.Index(simulator.Lifecycle, hook.StageProductionTrafficShift) && snap.Status != simulator.StatusRollbackInProgress
	for i, p := range shifts {
		out[i] = stepView{Percent: p, State: "next"}
		switch {
		case past && snap.ProductionGreen >= 100, shifting && i < snap.Step:
			out[i].State = "done"
		case shifting && i == snap.Step && !snap.Status.Terminal():
			out[i].State = "current"
		}
	}
	return out
}

func clock(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format("15:04:05")
}

var dashTmpl = template.Must(template.New("dashboard").Funcs(template.FuncMap{"clock": clock}).Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<noscript><meta http-equiv="refresh" content="2"></noscript>
<title>gatehouse local</title>
<style>
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;background:#f4f5f7;color:#1d2330}
header{background:#1d2330;color:#fff;padding:.8rem 1.5rem}
header h1{margin:0;font-size:1.2rem}
header small{color:#b8c0cc}
main{display:grid;grid-template-columns:minmax(0,2fr) minmax(0,1fr);gap:1rem;padding:1rem 1.5rem}
section{background:#fff;border:1px solid #d9dde3;border-radius:8px;padding:1rem 1.2rem;margin-bottom:1rem}
h2{font-size:1.05rem;margin:0 0 .6rem}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:.25rem .5rem .25rem 0;vertical-align:top;font-size:.92rem}
td.reason,td.why,td.gate-why,td.paused{overflow-wrap:anywhere}
table.events{table-layout:fixed}
table.events td{font-size:.85rem}table.events td.stage{font-size:.78rem;overflow-wrap:anywhere}
table.events col.t{width:4.8rem}table.events col.s{width:14.5rem}table.events col.h{width:7rem}table.events col.a{width:8.5rem}
.summary{font-weight:600;background:#fff;border:1px solid #d9dde3;border-left:4px solid #8a5a00;border-radius:6px;padding:.5rem .8rem;margin:0 0 1rem}
.summary.SUCCESSFUL{border-left-color:#1f7a33}.summary.ROLLBACK_SUCCESSFUL,.summary.ROLLBACK_FAILED,.summary.STOPPED{border-left-color:#a11d1d}
details>summary{cursor:pointer;font-weight:600;margin:.3rem 0}
th{color:#4a5365}
code,pre{font:13px/1.4 ui-monospace,Menlo,Consolas,monospace}
pre{white-space:pre-wrap;background:#f7f8fa;border:1px solid #e3e6eb;border-radius:4px;padding:.5rem;max-height:18rem;overflow:auto}
.status{font-weight:600}
.SUCCESSFUL{color:#1f7a33}.ROLLBACK_SUCCESSFUL,.ROLLBACK_FAILED,.FAILED,.ERROR,.TIMED_OUT{color:#a11d1d}.IN_PROGRESS,.ROLLBACK_IN_PROGRESS{color:#8a5a00}.SUCCEEDED{color:#1f7a33}
.mail{border-top:1px solid #e3e6eb;padding:.6rem 0}
.slack{border:1px solid #dddddd;border-left:4px solid #4a154b;border-radius:6px;padding:.6rem .8rem;margin:.6rem 0;font:15px/1.46 -apple-system,"Segoe UI",system-ui,sans-serif;color:#1d1c1d}
.slack-from{font-size:.85rem;color:#616061}.slack-from .app{font-weight:700;color:#1d1c1d}.slack-from .tag{font-size:.65rem;background:#e8e8e8;border-radius:2px;padding:0 .2rem}
.kit-header{font-weight:900;font-size:1.1rem;margin:.3rem 0}.kit-section{margin:.3rem 0}.kit-context{font-size:.8rem;color:#616061;white-space:pre-line;margin:.3rem 0}
pre.kit-pre{background:#f8f8f8;border:1px solid #e8e8e8;max-height:none}
.kit-actions{display:flex;gap:.5rem;margin:.5rem 0 .2rem}
.kit-button{font-size:.85rem;font-weight:700;padding:.2rem .8rem;border-radius:4px;border:1px solid #bbbbbb;background:#fff;color:#1d1c1d;text-decoration:none}
.kit-button.primary{background:#007a5a;border-color:#007a5a;color:#fff}.kit-button.danger{color:#e01e5a;border-color:#e01e5a}
.mail a{font-weight:600}
.note{background:#fff6e0;border:1px solid #f0d48a;border-radius:6px;padding:.5rem .8rem}
.blue{color:#1f5fbf;font-weight:600}.green{color:#1f7a33;font-weight:600}
.bar{display:flex;height:1.4rem;border-radius:4px;overflow:hidden;border:1px solid #d9dde3;min-width:14rem;margin:.2rem 0}
.bar span{display:flex;align-items:center;justify-content:center;color:#fff;font-size:.8rem;font-weight:600;white-space:nowrap;overflow:hidden}
.bar .b{background:#1f5fbf}.bar .g{background:#1f7a33}
.steps{display:flex;gap:.3rem;list-style:none;padding:0;margin:.3rem 0}
.steps li{border:1px solid #d9dde3;border-radius:4px;padding:.05rem .45rem;font-size:.85rem}
.steps .done{background:#e6f4ea;border-color:#1f7a33}.steps .current{background:#fff6e0;border-color:#8a5a00;font-weight:600}
button{font:inherit;font-weight:600;padding:.35rem 1rem;border-radius:6px;border:1px solid #1d2330;background:#1d2330;color:#fff;cursor:pointer}
button[disabled]{opacity:.4;cursor:default}
button.danger{background:#a11d1d;border-color:#a11d1d}
</style>
</head>
<body>
<header><h1>gatehouse local</h1><small>simulated time <span id="now">{{.Now}}</span> · {{.Speed}}× real time · no AWS account involved</small></header>
<main>
<div>
{{- with .Message}}<p class="note" id="message">{{.}}</p>{{end}}
{{- with .Missing}}<p class="note">Not available yet, so not registered: {{range .}}<code>{{.}}</code> {{end}}</p>{{end}}
<div id="summary-box">{{with .Summary}}<p class="summary {{with index $.Deployments 0}}{{.Status}}{{end}}" id="summary">{{.}}</p>{{end}}</div>
<section id="service">
<div id="service-live">
<h2>Service <code>demo</code> on cluster <code>local</code></h2>
<table>
<tr><th>Production listener</th><td><a href="{{.Production.URL}}">{{.Production.URL}}</a> → <span class="{{.Production.Target}}" id="prod-target">{{.Production.Target}}</span>{{with .Production.Serving}} <span id="prod-version">serving demo {{.}}</span>{{end}}
<div class="bar" id="prod-traffic" role="img" aria-label="production traffic: blue {{.Production.Blue}}%, green {{.Production.Green}}%">{{if .Production.Blue}}<span class="b" style="width:{{.Production.Blue}}%">blue {{.Production.Blue}}%</span>{{end}}{{if .Production.Green}}<span class="g" style="width:{{.Production.Green}}%">green {{.Production.Green}}%</span>{{end}}</div></td></tr>
<tr><th>Test listener</th><td><a href="{{.Test.URL}}">{{.Test.URL}}</a> → <span class="{{.Test.Target}}" id="test-target">{{.Test.Target}}</span>{{with .Test.Serving}} serving demo {{.}}{{end}}
<div class="bar" id="test-traffic" role="img" aria-label="test traffic: blue {{.Test.Blue}}%, green {{.Test.Green}}%">{{if .Test.Blue}}<span class="b" style="width:{{.Test.Blue}}%">blue</span>{{end}}{{if .Test.Green}}<span class="g" style="width:{{.Test.Green}}%">green</span>{{end}}</div></td></tr>
<tr><th>Strategy</th><td id="strategy">{{.Strategy}}{{if gt (len .Steps) 1}}<ol class="steps" id="steps">{{range .Steps}}<li class="{{.State}}">{{.Percent}}%</li>{{end}}</ol>{{end}}</td></tr>
</table>
</div>
<form method="post" action="/deploy">
<label>New revision behaves <select name="green" id="green">{{range .Modes}}<option{{if eq . $.Selected}} selected{{end}}>{{.}}</option>{{end}}</select></label>
<button type="submit" id="deploy"{{if .InProgress}} disabled{{end}}>Deploy</button>
</form>
</section>
<div id="deployments">
{{- range $i, $d := .Deployments}}
<section class="deployment" id="deployment-{{$d.ID}}">
<h2>Deployment <code>{{$d.ID}}</code>: <span class="status {{$d.Status}}" data-status="{{$d.Status}}">{{$d.Status}}</span></h2>
<table>
<tr><th>Stage</th><td>{{$d.Stage}}</td></tr>
<tr><th>New revision</th><td>{{$d.Green}}</td></tr>
<tr><th>Started</th><td>{{$d.Started}}{{with $d.Ended}} · ended {{.}}{{end}}</td></tr>
{{- with $d.Reason}}<tr><th>Why</th><td class="why">{{.}}</td></tr>{{end}}
{{- with $d.Why}}<tr><th>gatehouse</th><td class="gate-why">{{.}}</td></tr>{{end}}
{{- range $d.Judged}}<tr><th>Step</th><td class="judged"><span class="status {{.Status}}">{{.Summary}}</span><br><small>{{.Reason}}</small></td></tr>{{end}}
{{- range $d.Paused}}<tr><th>Paused</th><td class="paused">ECS PAUSE hook {{.Hook}} at {{.Stage}} awaits action (the deciding vote continues it) until {{.Expires}} (simulated), then {{.TimeoutAction}} <small>hook {{.HookID}}</small></td></tr>{{end}}
</table>
{{- if $d.CanRollBack}}
<form method="post" action="/rollback"><input type="hidden" name="deployment" value="{{$d.ID}}">
<button type="submit" id="rollback" class="danger">Roll back</button> <small>Production goes back to blue at once: blue still runs until CLEAN_UP.</small>
</form>
{{- end}}
<details id="events-{{$d.ID}}"{{if eq $i 0}} open{{end}}><summary>{{$d.EventCount}} events</summary>
<table class="events">
<colgroup><col class="t"><col class="s"><col class="h"><col class="a"><col></colgroup>
<tr><th>time</th><th>stage</th><th>hook</th><th>answer</th><th>reason</th></tr>
{{- range $d.Events}}
<tr><td>{{clock .At}}{{if gt .Count 1}}<br><small>to {{clock .Last}}</small>{{end}}</td><td class="stage">{{.Stage}}</td><td>{{.Hook}}</td><td class="status {{.Status}}">{{.Status}}{{if gt .Count 1}} <small class="count">×{{.Count}}</small>{{end}}</td><td class="reason">{{.Reason}}{{with .Delay}} <small>(again in {{.}}s)</small>{{end}}</td></tr>
{{- end}}
</table>
</details>
</section>
{{- else}}
<section><p>No deployment yet.</p></section>
{{- end}}
</div>
</div>
<div>
<section id="outbox">
<h2>Outbox</h2>
<p><small>Every notification, as its addressee would receive it in Slack and by email, by deployment. Slack's buttons post the click to the review API as Slack would, signed.</small></p>
<div id="outbox-live">
{{- range .Outbox}}
<details class="mail-group" id="mails-{{or .Deployment "other"}}"{{if .Newest}} open{{end}}><summary>{{if .Deployment}}Deployment <code>{{.Deployment}}</code>{{else}}Other messages{{end}}: {{len .Mails}} emails{{with .Slack}}, {{len .}} Slack messages{{end}}</summary>
{{- range .Slack}}
<div class="slack" id="slack-{{.TS}}">
<div class="slack-from"><span class="app">gatehouse</span> <span class="tag">APP</span> · direct message to {{.To}} · {{.At}}{{if .Updates}} · <small>edited</small>{{end}}</div>
{{- range .Blocks}}
{{- if eq .Kind "header"}}<div class="kit-header">{{range .Text}}{{.Text}}{{end}}</div>
{{- else if eq .Kind "actions"}}<div class="kit-actions">{{range .Buttons}}{{if .URL}}<a class="kit-button" href="{{.URL}}">{{.Text}}</a>{{else}}<a class="kit-button {{.Style}}" data-action="{{.Action}}" href="/slack/confirm?ts={{.TS}}&amp;action={{.Action}}">{{.Text}}</a>{{end}}{{end}}</div>
{{- else if .Pre}}<pre class="kit-pre">{{.Pre}}</pre>
{{- else}}<div class="kit-{{.Kind}}">{{range .Text}}{{if .Bold}}<b>{{.Text}}</b>{{else}}{{.Text}}{{end}}{{end}}</div>{{end}}
{{- end}}
</div>
{{- end}}
{{- range .Mails}}
<div class="mail">
<div><strong>To:</strong> {{if .To}}{{.To}}{{else}}everyone subscribed (shared link){{end}} · {{clock .At}}</div>
<div><strong>Subject:</strong> {{.Subject}}</div>
{{- with .Link}}<div><a class="review-link" href="{{.}}">Open the review page</a></div>{{end}}
<pre>{{.Body}}</pre>
</div>
{{- end}}
</details>
{{- else}}
<p>No messages yet.</p>
{{- end}}
</div>
</section>
</div>
</main>
<script nonce="{{.Nonce}}">
// Refresh the data every 2 seconds, never the form: a choice made in it
// stays until Deploy is pressed. Open or closed sections stay as left.
(function () {
  var parts = ["now", "summary-box", "service-live", "deployments", "outbox-live"];
  function refresh() {
    fetch("/", {cache: "no-store", credentials: "same-origin"}).then(function (r) {
      return r.ok ? r.text() : Promise.reject(r.status);
    }).then(function (html) {
      var next = new DOMParser().parseFromString(html, "text/html");
      var open = {};
      document.querySelectorAll("details[id]").forEach(function (d) { open[d.id] = d.open; });
      parts.forEach(function (id) {
        var here = document.getElementById(id), there = next.getElementById(id);
        if (here && there && here.innerHTML !== there.innerHTML) { here.innerHTML = there.innerHTML; }
      });
      document.querySelectorAll("details[id]").forEach(function (d) { if (d.id in open) { d.open = open[d.id]; } });
      var button = document.getElementById("deploy"), nextButton = next.getElementById("deploy");
      if (button && nextButton) { button.disabled = nextButton.disabled; }
    }).catch(function () {});
  }
  setInterval(refresh, 2000);
})();
</script>
</body>
</html>
`))
