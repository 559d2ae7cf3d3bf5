package local

import (
	"context"
	"encoding/json"
	"html"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/hook"
	"github.com/gatehouse-dev/gatehouse/internal/simulator"
	"github.com/gatehouse-dev/gatehouse/internal/smoke"
)

// startLocal starts local mode on a fresh state directory, on loopback
// ports of its own.
func startLocal(t *testing.T, cfg Config) *Local {
	t.Helper()
	return startIn(t, t.TempDir(), cfg)
}

func startIn(t *testing.T, dir string, cfg Config) *Local {
	t.Helper()
	return startAt(t, dir, "127.0.0.1:0", cfg)
}

func startAt(t *testing.T, dir, listen string, cfg Config) *Local {
	t.Helper()
	l, err := Start(Options{StateDir: dir, Listen: listen, Config: cfg, Out: testWriter{t}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.Close)
	return l
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func wait(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestRestartResumes: stop local mode while the approval gate waits, start
// it again on the same state directory: the deployment resumes at its stage,
// nobody is notified twice, and approving completes it.
func TestRestartResumes(t *testing.T) {
	dir := t.TempDir()
	cfg := DefaultConfig()
	cfg.Hooks = onlyApproval(cfg.Hooks)
	// The review links carry the dashboard's address: keep it across the
	// restart, as the default --listen address does.
	listen := freeAddr(t)
	l := startAt(t, dir, listen, cfg)
	tr, err := l.Deploy(Healthy)
	if err != nil {
		t.Fatal(err)
	}
	id := tr.D.ID
	wait(t, "two review messages", func() bool { return countReviews(l, id) == 2 })
	l.Close()

	l2 := startAt(t, dir, listen, cfg)
	deps := l2.Deployments()
	if len(deps) != 1 || deps[0].D.ID != id {
		t.Fatalf("after restart: %d deployments, want the one in progress", len(deps))
	}
	// Three of the gate's answers after the restart: it has polled the
	// request it found, and sent nothing again.
	wait(t, "the resumed gate to answer three times", func() bool {
		resumed, answers := false, 0
		for _, e := range deps[0].D.Snapshot().Events {
			resumed = resumed || e.Status == "RESUMED"
			if resumed && e.Hook != "" && e.Status == string(hook.StatusInProgress) {
				answers++
			}
		}
		return answers >= 3
	})
	if n := countReviews(l2, id); n != 2 {
		t.Fatalf("after restart the outbox has %d review messages, want still 2 (no double notification)", n)
	}
	m := reviewMail(t, l2, id)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := reviewAs(ctx, l2, deps[0], "approve", io.Discard); err != nil {
		t.Fatalf("approve %s: %v", m.Link, err)
	}
	select {
	case <-deps[0].Done():
	case <-ctx.Done():
		t.Fatal("the resumed deployment did not finish")
	}
	if s := deps[0].D.Snapshot().Status; s != simulator.StatusSuccessful {
		t.Fatalf("resumed deployment ended %s, want SUCCESSFUL", s)
	}
	l2.Close()

	// A further restart carries on from there: blue is the version just
	// deployed, and the next deployment gets a later revision.
	l3 := startAt(t, dir, listen, cfg)
	if blue, green := l3.App.Versions(); blue != "2.4.1" || green != "2.4.2" {
		t.Errorf("after the deployment and a restart: blue %s, next green %s, want 2.4.1 and 2.4.2", blue, green)
	}
	next, err := l3.Deploy(Healthy)
	if err != nil {
		t.Fatal(err)
	}
	if a, b := revisionNumber(t, deps[0].D.TargetRevision), revisionNumber(t, next.D.TargetRevision); b <= a {
		t.Errorf("next deployment's revision %s, want one after %s", next.D.TargetRevision, deps[0].D.TargetRevision)
	}
}

func revisionNumber(t *testing.T, arn string) int {
	t.Helper()
	n, err := strconv.Atoi(arn[strings.LastIndexByte(arn, '/')+1:])
	if err != nil {
		t.Fatalf("revision ARN %q: %v", arn, err)
	}
	return n
}

func TestOneDeploymentAtATime(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Hooks = onlyApproval(cfg.Hooks)
	l := startLocal(t, cfg)
	if _, err := l.Deploy(Healthy); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Deploy(Healthy); err == nil || !strings.Contains(err.Error(), "in progress") {
		t.Errorf("second Deploy = %v, want 'still in progress'", err)
	}
}

func TestDashboard(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Hooks = onlyApproval(cfg.Hooks)
	l := startLocal(t, cfg)
	res, err := http.PostForm(l.UIURL+"/deploy", map[string][]string{"green": {"slow"}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	deps := l.Deployments()
	if len(deps) != 1 || deps[0].Green != Slow {
		t.Fatalf("POST /deploy started %d deployments", len(deps))
	}
	// The messages go out during the hook's first call; the dashboard
	// shows the hook once that call has answered.
	answered := func() bool {
		for _, e := range deps[0].D.Snapshot().Events {
			if e.Hook != "" && e.Status == string(hook.StatusInProgress) {
				return true
			}
		}
		return false
	}
	wait(t, "review messages and the hook's first answer", func() bool { return countReviews(l, deps[0].D.ID) == 2 && answered() })
	res, err = http.Get(l.UIURL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	for _, want := range []string{deps[0].D.ID, "POST_TEST_TRAFFIC_SHIFT", "approval-hook", "IN_PROGRESS", `class="review-link"`, "alice@example.com", `id="deploy" disabled`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("dashboard lacks %q", want)
		}
	}
	// A form post from another origin is refused, and so is one for
	// another host name (DNS rebinding).
	for _, h := range []map[string]string{{"Origin": "http://evil.example"}, {"Host": "evil.example"}} {
		req, _ := http.NewRequest(http.MethodPost, l.UIURL+"/deploy", strings.NewReader("green=healthy"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for k, v := range h {
			if k == "Host" {
				req.Host = v
			} else {
				req.Header.Set(k, v)
			}
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusForbidden {
			t.Errorf("POST /deploy with %v = %d, want 403", h, res.StatusCode)
		}
	}
	// Nor does the Slack stand-in answer another host name.
	rebound, _ := http.NewRequest(http.MethodPost, l.UIURL+"/slack-api/users.lookupByEmail", strings.NewReader("email=alice@example.com"))
	rebound.Host = "evil.example"
	if res, err := http.DefaultClient.Do(rebound); err != nil || res.StatusCode != http.StatusForbidden {
		t.Errorf("the Slack stand-in for another host name: %v %v, want 403", res, err)
	} else {
		res.Body.Close()
	}
	// A cross-site form post is refused.
	req, _ := http.NewRequest(http.MethodPost, l.UIURL+"/deploy", strings.NewReader("green=healthy"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site POST /deploy = %d, want 403", res.StatusCode)
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func onlyApproval(hooks []HookConfig) []HookConfig {
	var out []HookConfig
	for _, h := range hooks {
		if h.Function == FnApproval {
			out = append(out, h)
		}
	}
	return out
}

func countReviews(l *Local, id string) int {
	n := 0
	for _, m := range l.Outbox.Mails() {
		if IsReview(m, id) {
			n++
		}
	}
	return n
}

func reviewMail(t *testing.T, l *Local, id string) Mail {
	t.Helper()
	for _, m := range l.Outbox.Mails() {
		if IsReview(m, id) {
			return m
		}
	}
	t.Fatal("no review message")
	return Mail{}
}

func TestListenLoopbackOnly(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Hooks = onlyApproval(cfg.Hooks)
	for _, addr := range []string{":0", "0.0.0.0:0", "192.0.2.1:8090"} {
		if l, err := Start(Options{StateDir: t.TempDir(), Listen: addr, Config: cfg}); err == nil {
			l.Close()
			t.Errorf("Start(--listen %s) = nil error, want loopback only", addr)
		}
	}
}

// TestDashboardShowsTheSteps: during a linear deployment the dashboard
// draws production traffic split between blue and green as it moves, and
// marks the step under way.
func TestDashboardShowsTheSteps(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Speed = 20
	cfg.Strategy = "linear"
	cfg.Hooks = nil
	l := startLocal(t, cfg)
	if _, err := l.Deploy(Healthy); err != nil {
		t.Fatal(err)
	}
	want := `aria-label="production traffic: blue 75%, green 25%"`
	deadline := time.Now().Add(20 * time.Second)
	for tries := 0; ; tries++ {
		res, err := http.Get(l.UIURL)
		if err != nil {
			t.Fatal(err)
		}
		page, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if strings.Contains(string(page), want) {
			if !strings.Contains(string(page), `<li class="current">25%</li>`) || !strings.Contains(string(page), `<li class="next">100%</li>`) {
				t.Errorf("the steps are not marked:\n%s", page)
			}
			return
		}
		if tries > 2000 || time.Now().After(deadline) {
			t.Fatalf("the dashboard never showed the 25%% step:\n%s", page)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestDeploymentAlarmRollsBackDuringBakeTime: with no bake hook, a green
// that degrades once it takes production traffic trips the service's
// deployment alarm during BAKE_TIME, and ECS rolls back while blue runs.
func TestDeploymentAlarmRollsBackDuringBakeTime(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Speed = MaxSpeed
	cfg.BakeTime = "5m"
	cfg.Hooks = nil
	l := startLocal(t, cfg)
	snap := deployAndWait(t, l, Degrading)
	if snap.Status != simulator.StatusRollbackSuccessful || !strings.Contains(snap.Reason, "deployment alarm "+DeploymentAlarm+" is in ALARM during BAKE_TIME") {
		t.Errorf("ended %s (%s), want ROLLBACK_SUCCESSFUL by the deployment alarm", snap.Status, snap.Reason)
	}
	if l.App.Production.Target() != simulator.Blue {
		t.Errorf("production on %s after the rollback", l.App.Production.Target())
	}
}

// TestBakeWatchesTheDeploymentAlarm: locally, the bake hook reads the
// service's deployment alarm as it reads CloudWatch alarms in AWS, so a bake
// that watches it fails a degrading green, naming the alarm, before
// BAKE_TIME begins.
func TestBakeWatchesTheDeploymentAlarm(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Speed = MaxSpeed
	cfg.Hooks = []HookConfig{{Function: FnBake, Stages: []hook.Stage{hook.StagePostProductionTrafficShift},
		HookDetails: json.RawMessage(`{"window": "10m", "alarms": {"names": ["` + DeploymentAlarm + `"]}}`)}}
	l := startLocal(t, cfg)
	snap := deployAndWait(t, l, Degrading)
	var bakeFailed bool
	for _, e := range snap.Events {
		if e.Hook != "" && e.Stage == hook.StagePostProductionTrafficShift && e.Status == string(hook.StatusFailed) && strings.Contains(e.Reason, DeploymentAlarm) {
			bakeFailed = true
		}
	}
	if snap.Status != simulator.StatusRollbackSuccessful || !bakeFailed {
		t.Errorf("ended %s (%s), want a rollback by the bake hook naming %s; events:\n%+v", snap.Status, snap.Reason, DeploymentAlarm, snap.Events)
	}
}

// TestApprovalReadsTheDeploymentAlarm: locally, the approval hook's
// abortOnAlarms reads the deployment alarm instead of refusing the request
// for want of an alarm source.
func TestApprovalReadsTheDeploymentAlarm(t *testing.T) {
	l := &Local{}
	l.Clock = simulator.NewFastClockFrom(time.Now(), 1)
	app, err := NewAppAt(l.Clock.Now, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(app.Close)
	l.App = app
	got, err := alarms{l}.Alarms(context.Background(), nil, []string{"demo-"})
	if err != nil || len(got) != 1 || got[0].Name != DeploymentAlarm || got[0].State != "OK" {
		t.Errorf("Alarms(prefix demo-) = %+v, %v; want %s in OK", got, err, DeploymentAlarm)
	}
	if got, err := (alarms{l}).Alarms(context.Background(), []string{"other"}, nil); err != nil || len(got) != 0 {
		t.Errorf("Alarms(other) = %+v, %v; want none", got, err)
	}
}

// deployAndWait deploys a green that behaves as mode and waits, at most a
// minute, for the deployment's final status.
func deployAndWait(t *testing.T, l *Local, mode Mode) simulator.Snapshot {
	t.Helper()
	tr, err := l.Deploy(mode)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-tr.Done():
	case <-time.After(60 * time.Second):
		t.Fatal("the deployment did not end within 60s")
	}
	return tr.D.Snapshot()
}

// syncBuffer is a terminal the test reads while local mode writes it.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestTerminal: the terminal labels simulated time, prints review links cut
// short (a whole link signs its reviewer in; the dashboard's outbox has it),
// and ends each deployment as a scenario does: why, then
// "deployment <id>: <STATUS>". The dashboard keeps the earlier deployment's
// events, folded, and groups the outbox by deployment.
func TestTerminal(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Speed = MaxSpeed
	for i, h := range cfg.Hooks {
		if h.Function == FnApproval {
			cfg.Hooks[i].HookDetails = withKey(h.HookDetails, "timeout", "10m")
		}
	}
	var out syncBuffer
	l, err := Start(Options{StateDir: t.TempDir(), Listen: "127.0.0.1:0", Config: cfg, Out: &out})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.Close)
	first, err := l.Deploy(Healthy)
	if err != nil {
		t.Fatal(err)
	}
	wait(t, "the review messages", func() bool { return countReviews(l, first.D.ID) == 2 })
	m := reviewMail(t, l, first.D.ID)
	text := out.String()
	if strings.Contains(text, m.Link) || !strings.Contains(text, shortLink(m.Link)+" (open it from the dashboard's outbox)") {
		t.Errorf("the terminal shows the whole review link, or not its short form %q:\n%s", shortLink(m.Link), text)
	}
	if len(shortLink(m.Link)) >= len(m.Link)-20 {
		t.Errorf("short link %q is hardly shorter than %q", shortLink(m.Link), m.Link)
	}
	if !strings.Contains(text, "times are simulated, 300× real time") {
		t.Errorf("the terminal does not say its times are simulated:\n%s", text)
	}
	// Nobody decides: the request expires (after 10 simulated minutes) and
	// ECS rolls back; the run ends as a scenario does.
	select {
	case <-first.Done():
	case <-time.After(60 * time.Second):
		t.Fatal("the first deployment did not end within 60s")
	}
	want := "  why: hook approval-hook failed at POST_TEST_TRAFFIC_SHIFT: no decision within 10m, rejected by default\ndeployment " + first.D.ID + ": ROLLBACK_SUCCESSFUL\n"
	wait(t, "the final line", func() bool { return strings.HasSuffix(out.String(), want) })

	second, err := l.Deploy(Broken)
	if err != nil {
		t.Fatal(err)
	}
	<-second.Done()
	res, err := http.Get(l.UIURL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	page := string(body)
	for _, want := range []string{
		`<details id="events-` + second.D.ID + `" open>`,
		`<details id="events-` + first.D.ID + `">`,
		`<details class="mail-group" id="mails-` + first.D.ID + `">`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("dashboard lacks %q", want)
		}
	}
	// The first deployment's messages are in its group, not elsewhere.
	group := page[strings.Index(page, `id="mails-`+first.D.ID+`"`):]
	group = group[:strings.Index(group, "</details>")]
	links := 0
	for _, m := range l.Outbox.Mails() {
		if strings.Contains(m.Body, "/"+first.D.ID+"\n") && m.Link != "" {
			links++
		}
	}
	if got := strings.Count(group, `class="review-link"`); got != links || links < 2 {
		t.Errorf("the first deployment's group holds %d review links, want its %d", got, links)
	}
}

// TestSmokeFindsTheTestListener: the smoke hook finds green's test listener
// as in AWS, through its own ELBv2 adapter (the revision's load balancer,
// the test listener rule, the listener, the DNS name), which local mode
// answers at the SDK's seam; no baseUrl is configured.
func TestSmokeFindsTheTestListener(t *testing.T) {
	cfg := DefaultConfig()
	var hooks []HookConfig
	for _, h := range cfg.Hooks {
		if h.Function == FnSmoke {
			if strings.Contains(string(h.HookDetails), "baseUrl") {
				t.Fatalf("the smoke hook's configuration names a baseUrl: %s", h.HookDetails)
			}
			hooks = append(hooks, h)
		}
	}
	cfg.Hooks = hooks
	l := startLocal(t, cfg)
	tr, err := l.Deploy(Healthy)
	if err != nil {
		t.Fatal(err)
	}
	d, _ := hook.ParseDeploymentARN(tr.D.Snapshot().ARN)
	var rep smoke.Report
	wait(t, "the smoke report", func() bool {
		rep, err = smoke.LoadReport(context.Background(), l.Store, d, hook.StagePostTestTrafficShift)
		return err == nil
	})
	if rep.BaseURL != l.App.Test.URL || !strings.Contains(rep.Source, "test listener rule arn:aws:elasticloadbalancing:") {
		t.Errorf("smoke checks went to %s (%s), want the test listener %s found by its rule", rep.BaseURL, rep.Source, l.App.Test.URL)
	}
	calls := l.AWSCalls()
	for _, op := range []string{"DescribeServiceRevisions", "DescribeRules", "DescribeListeners", "DescribeLoadBalancers"} {
		if calls[op] == 0 {
			t.Errorf("no %s call: %v", op, calls)
		}
	}
}

// TestSlackApproves: each approver gets a Slack message beside the email,
// from the approval hook's own Slack client, which local mode's Slack
// answers; clicking Approve in it, as Slack posts a click (signed), votes
// through the review API as the approver, and the message then shows the
// outcome with no buttons.
func TestSlackApproves(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Hooks = onlyApproval(cfg.Hooks)
	l := startLocal(t, cfg)
	tr, err := l.Deploy(Healthy)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	m, err := l.WaitSlack(ctx, func(m SlackMessage) bool { return m.To == "alice@example.com" })
	if err != nil {
		t.Fatalf("no Slack message to alice: %v", err)
	}
	if !strings.Contains(string(m.Blocks), tr.D.ID) || !strings.Contains(string(m.Blocks), "gatehouse_approve") {
		t.Fatalf("alice's Slack message:\n%s", m.Blocks)
	}
	// Slack signs with the wall clock's time, and the review API checks it
	// against the wall clock, whatever the simulated time says.
	if err := l.Clock.Sleep(ctx, 6*time.Minute); err != nil {
		t.Fatal(err)
	}
	said, err := l.SlackClick(ctx, m.TS, "gatehouse_approve")
	if err != nil || !strings.Contains(said, "Your approval is recorded") {
		t.Fatalf("click: told %q, %v", said, err)
	}
	select {
	case <-tr.Done():
	case <-ctx.Done():
		t.Fatal("the deployment did not finish")
	}
	if s := tr.D.Snapshot(); s.Status != simulator.StatusSuccessful {
		t.Fatalf("deployment %s: %s", s.Status, s.Reason)
	}
	for _, m := range l.SlackMessages() {
		if strings.Contains(string(m.Blocks), tr.D.ID) && (strings.Contains(string(m.Blocks), "gatehouse_approve") || !strings.Contains(string(m.Blocks), "approved")) {
			t.Errorf("Slack message to %s after the decision:\n%s", m.To, m.Blocks)
		}
	}
}

// TestReviewersSeeWhatChanges: the simulator's revisions are task
// definitions that differ as a release does; the email and the review page
// say what changes and where to try green (the test listener, found as in
// AWS), and never the secret-looking variable's value.
func TestReviewersSeeWhatChanges(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Hooks = onlyApproval(cfg.Hooks)
	l := startLocal(t, cfg)
	tr, err := l.Deploy(Healthy)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	m, err := l.Outbox.Wait(ctx, func(m Mail) bool { return IsReview(m, tr.D.ID) })
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Changes:     4 changes: memory 512 → 1024, web image 2.4.0 → 2.4.1, API_TOKEN changed, LOG_LEVEL info → debug",
		"Source:      web https://github.com/gatehouse-dev/gatehouse/compare/", "Try it:      " + l.App.Test.URL} {
		if !strings.Contains(m.Body, want) {
			t.Errorf("the email lacks %q:\n%s", want, m.Body)
		}
	}
	res, err := http.Get(m.Link)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	for _, want := range []string{`<a id="try" href="` + l.App.Test.URL + `">`, `<code>env LOG_LEVEL</code>`, "changed; the values are not shown"} {
		if !strings.Contains(string(page), want) {
			t.Errorf("the review page lacks %q", want)
		}
	}
	if strings.Contains(m.Body+string(page), "local-token") {
		t.Error("the secret-looking variable's value is in the email or on the page")
	}
	if l.AWSCalls()["DescribeTaskDefinition"] != 2 {
		t.Errorf("AWS calls %v, want blue's and green's task definitions read once each", l.AWSCalls())
	}
}

// TestCollapseRepeatedPolls: a wait's identical answers are one row with
// a count and the time of the last; anything that differs starts a row.
func TestCollapseRepeatedPolls(t *testing.T) {
	at := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	wait := func(i int, reason string) simulator.Event {
		return simulator.Event{At: at.Add(time.Duration(i) * 30 * time.Second), Stage: hook.StagePostTestTrafficShift, Hook: "approval-hook", Status: "IN_PROGRESS", Reason: reason, Delay: 30}
	}
	events := []simulator.Event{{At: at, Stage: hook.StagePostTestTrafficShift}}
	for i := range 60 {
		events = append(events, wait(i, "waiting for approval: 0 of 1"))
	}
	events = append(events, wait(60, "waiting for approval: 1 of 2"), wait(61, "waiting for approval: 1 of 2"))
	rows := collapse(events)
	if len(rows) != 3 || rows[1].Count != 60 || !rows[1].Last.Equal(at.Add(59*30*time.Second)) || rows[2].Count != 2 || rows[0].Count != 1 {
		t.Errorf("rows: %d; counts %d, %d, %d", len(rows), rows[0].Count, rows[1].Count, rows[len(rows)-1].Count)
	}
}

// TestDashboardShowsEachStepsVerdict: under a canary deployment the bake
// hook also runs as the step check; a degrading green is rolled back at
// its canary share, and the dashboard shows each step's verdict from the
// reports in the state bucket.
func TestDashboardShowsEachStepsVerdict(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Speed = MaxSpeed
	cfg.Strategy = "canary"
	cfg.Hooks = slices.DeleteFunc(cfg.Hooks, func(h HookConfig) bool { return h.Function != FnBake })
	l := startLocal(t, cfg)
	tr, err := l.Deploy(Degrading)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-tr.Done():
	case <-time.After(2 * time.Minute):
		t.Fatal("the deployment did not end within 2 minutes")
	}
	snap := tr.D.Snapshot()
	if snap.Status != simulator.StatusRollbackSuccessful || !strings.Contains(snap.Reason, "PRE_PRODUCTION_TRAFFIC_SHIFT: step with 10% of production on green") {
		t.Fatalf("deployment ended %s: %s; want rolled back by the step check", snap.Status, snap.Reason)
	}
	if most := Exposure(snap); most != 10 {
		t.Errorf("green had up to %g%% of production, want the canary's 10%%", most)
	}
	res, err := http.Get(l.UIURL)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	text := html.UnescapeString(string(page))
	first := strings.Index(text, "0% on green: SUCCEEDED")
	second := strings.Index(text, "10% on green: FAILED over 2m; green")
	if first < 0 || second < first || !strings.Contains(text, "nothing to judge") {
		t.Errorf("the dashboard does not show each step's verdict:\n%s", page)
	}
}
