package local

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/rollout"
	"github.com/gatehouse-dev/gatehouse/internal/simulator"
	"github.com/gatehouse-dev/gatehouse/internal/slackapp"
)

// Scenario is a deployment run without a human: the reviewer, if any, is
// simulated over HTTP as a browser would act.
type Scenario struct {
	Name        string
	Description string
	// Green is how the new revision behaves.
	Green Mode
	// Decision is what the simulated reviewer posts: approve, reject, or
	// "" for nobody deciding.
	Decision string
	// Needs are the hook functions the scenario depends on.
	Needs []string
	// Want is the final status expected.
	Want simulator.Status
	// WantReason, each of them, must appear in the deployment's reason: the
	// scenario must end for the reason it is about, not another.
	WantReason []string
	// ApprovalTimeout overrides the approval hook's timeout.
	ApprovalTimeout string
	// NoReview asserts that nobody was asked to review.
	NoReview bool
	// Frozen puts the deployment in a deployment freeze.
	Frozen bool
	// Rollback has an operator press the dashboard's Roll back button once
	// production traffic is on green and blue still runs.
	Rollback bool
	// SelfApproval has alice start the deployment and then try to approve
	// it, which is refused; bob approves.
	SelfApproval bool
	// Slack has the reviewer decide in Slack: a click on their Slack
	// message's button, confirmed.
	Slack bool
	// PauseReason replaces WantReason in pause mode, where the approval
	// gate rolls back by ContinueServiceDeployment, which carries no reason
	// to ECS; PauseWhy must then each appear in the gate's own verdict,
	// which local mode tells beside ECS's reason.
	PauseReason []string
	PauseWhy    []string
	// MaxSpeed caps the speed: a slow revision's answers take 1.5 s of real
	// time, which must fit in the bake's window of simulated time.
	MaxSpeed float64
	// StepReason replaces WantReason under a linear or canary strategy,
	// where the step check rolls back at the first step judged; the most
	// production green may then have had is the first step's share.
	StepReason []string
}

// pauseRollback is why ECS rolls back when the gate continues a PAUSE hook
// with ROLLBACK.
const pauseRollback = "approval-hook at POST_TEST_TRAFFIC_SHIFT: continued with ROLLBACK"

// scenarioDeployer is who starts the self-approval scenario's deployment:
// alice, signed in through IAM Identity Center.
const scenarioDeployer = "arn:aws:sts::000000000000:assumed-role/AWSReservedSSO_Deployers_0123/alice@example.com"

// Scenarios are the runs `gatehouse local --scenario` knows.
var Scenarios = []Scenario{
	{Name: "approve", Description: "a reviewer approves: the deployment completes", Green: Healthy, Decision: "approve",
		Needs: []string{FnApproval}, Want: simulator.StatusSuccessful},
	{Name: "reject", Description: "a reviewer rejects: ECS rolls back", Green: Healthy, Decision: "reject",
		Needs: []string{FnApproval}, Want: simulator.StatusRollbackSuccessful, WantReason: []string{"approval-hook failed at POST_TEST_TRAFFIC_SHIFT: rejected by"}, PauseReason: []string{pauseRollback}, PauseWhy: []string{"rejected by alice@example.com"}},
	{Name: "timeout", Description: "nobody decides: the request expires and ECS rolls back", Green: Healthy,
		Needs: []string{FnApproval}, Want: simulator.StatusRollbackSuccessful, ApprovalTimeout: "10m",
		WantReason: []string{"approval-hook failed at POST_TEST_TRAFFIC_SHIFT: no decision within 10m"}, PauseReason: []string{pauseRollback}, PauseWhy: []string{"no decision within 10m"}},
	{Name: "smoke-fail", Description: "green is broken: smoke checks fail, ECS rolls back, nobody is asked to approve", Green: Broken,
		Needs: []string{FnSmoke, FnApproval}, Want: simulator.StatusRollbackSuccessful, NoReview: true,
		WantReason: []string{"smoke-hook failed at POST_TEST_TRAFFIC_SHIFT: smoke checks failed"}},
	{Name: "bake-fail", Description: "green degrades after the production shift: the bake check rolls back", Green: Degrading, Decision: "approve",
		Needs: []string{FnBake, FnApproval}, Want: simulator.StatusRollbackSuccessful,
		WantReason: []string{"bake-hook failed at POST_PRODUCTION_TRAFFIC_SHIFT: bake failed after", "5xx rate"},
		StepReason: []string{"bake-hook failed at PRE_PRODUCTION_TRAFFIC_SHIFT: step with", "of production on green: bake failed after", "5xx rate"}},
	{Name: "bake-slow", Description: "green answers correctly but slowly: the bake's p99 latency check rolls back", Green: Slow, Decision: "approve",
		Needs: []string{FnBake, FnApproval}, Want: simulator.StatusRollbackSuccessful, MaxSpeed: 60,
		WantReason: []string{"bake-hook failed at POST_PRODUCTION_TRAFFIC_SHIFT: bake failed after", "p99 latency"},
		StepReason: []string{"bake-hook failed at PRE_PRODUCTION_TRAFFIC_SHIFT: step with", "p99 latency"}},
	{Name: "freeze", Description: "a deployment during a freeze: a reviewer approves as an emergency override, giving the reason", Green: Healthy,
		Decision: "override", Frozen: true, Needs: []string{FnApproval}, Want: simulator.StatusSuccessful},
	{Name: "self-approval", Description: "alice starts the deployment and tries to approve it: refused, as CloudTrail names her; bob approves", Green: Healthy,
		Decision: "approve", SelfApproval: true, Needs: []string{FnApproval}, Want: simulator.StatusSuccessful},
	{Name: "slack-approve", Description: "a reviewer approves in Slack: the Approve button of their Slack message, confirmed; every copy then shows the outcome", Green: Healthy,
		Decision: "approve", Slack: true, Needs: []string{FnApproval}, Want: simulator.StatusSuccessful},
	{Name: "rollback", Description: "an operator rolls back during the bake, while blue still runs: production goes back to blue at once", Green: Healthy,
		Decision: "approve", Rollback: true, Needs: []string{FnApproval}, Want: simulator.StatusRollbackSuccessful,
		WantReason: []string{"rolled back by the dashboard during"}},
}

// FindScenario returns the scenario called name.
func FindScenario(name string) (Scenario, bool) {
	i := slices.IndexFunc(Scenarios, func(s Scenario) bool { return s.Name == name })
	if i < 0 {
		return Scenario{}, false
	}
	return Scenarios[i], true
}

// Exit codes of RunScenario.
const (
	ExitAsExpected  = 0
	ExitUnexpected  = 1
	ExitUnavailable = 2
)

// scenarioDeadline bounds a scenario's run in real time.
const scenarioDeadline = 90 * time.Second

// RunScenario runs s on a fresh state directory and reports on out. It
// returns ExitAsExpected when the deployment ends as s expects,
// ExitUnexpected otherwise, and ExitUnavailable when a hook s needs has not
// landed. The last line printed is "deployment <id>: <FINAL_STATUS>".
func RunScenario(ctx context.Context, s Scenario, cfg Config, out io.Writer) int {
	cfg = s.configure(cfg)
	if s.MaxSpeed > 0 && cfg.Speed > s.MaxSpeed {
		fmt.Fprintf(out, "scenario %s runs at most %g× real time (not %g×): its revision's answers take 1.5 s of real time, which must fit in the bake\n", s.Name, s.MaxSpeed, cfg.Speed)
		cfg.Speed = s.MaxSpeed
	}
	dir, err := os.MkdirTemp("", "gatehouse-scenario-")
	if err != nil {
		fmt.Fprintln(out, "scenario:", err)
		return ExitUnexpected
	}
	defer os.RemoveAll(dir)
	l, err := Start(Options{StateDir: dir, Listen: "127.0.0.1:0", Config: cfg, Out: out, Scenario: true})
	if err != nil {
		fmt.Fprintln(out, "scenario:", err)
		return ExitUnexpected
	}
	defer l.Close()
	for _, fn := range s.Needs {
		if slices.Contains(l.Missing, fn) || !cfg.uses(fn) {
			fmt.Fprintf(out, "scenario %s needs the %s, which has not landed yet (or is not configured)\n", s.Name, fn)
			return ExitUnavailable
		}
	}
	fmt.Fprintf(out, "scenario %s: %s\n", s.Name, s.Description)
	fmt.Fprintf(out, "dashboard: %s\n", l.UIURL)
	t, err := l.Deploy(s.Green)
	if err != nil {
		fmt.Fprintln(out, "scenario:", err)
		return ExitUnexpected
	}
	ctx, cancel := context.WithTimeout(ctx, scenarioDeadline)
	defer cancel()
	reviewErr := make(chan error, 1)
	if s.SelfApproval {
		go func() { reviewErr <- selfApproval(ctx, l, t, out) }()
	} else if s.Slack {
		go func() { reviewErr <- slackReview(ctx, l, t, s.Decision, out) }()
	} else if s.Decision != "" {
		go func() { reviewErr <- reviewAs(ctx, l, t, s.Decision, out) }()
	} else {
		reviewErr <- nil
	}
	code := ExitAsExpected
	rollbackErr := make(chan error, 1)
	if s.Rollback {
		go func() { rollbackErr <- pressRollBack(ctx, l, t, out) }()
	} else {
		rollbackErr <- nil
	}
	select {
	case <-t.Done():
	case <-ctx.Done():
		fmt.Fprintf(out, "scenario %s: no final status within %s\n", s.Name, scenarioDeadline)
	}
	snap := t.D.Snapshot()
	if !actorDone(ctx, rollbackErr, s.Name, "operator", out) {
		code = ExitUnexpected
	}
	if !s.judge(snap, t.Why(), l.Outbox.Mails(), cfg.ApprovalMode == ModePause, l.Sim.Strategy, out) {
		code = ExitUnexpected
	}
	// The reviewer must have done their part: a deployment that ended as
	// expected without anyone reviewing proves nothing.
	if !actorDone(ctx, reviewErr, s.Name, "reviewer", out) {
		code = ExitUnexpected
	}
	fmt.Fprint(out, Ending(t, l.App))
	return code
}

// configure returns cfg with the scenario's green and its approval
// settings.
func (s Scenario) configure(cfg Config) Config {
	cfg.Green = string(s.Green)
	if s.SelfApproval {
		cfg.Deployer = scenarioDeployer
	}
	if s.ApprovalTimeout != "" {
		for i, h := range cfg.Hooks {
			if h.Function == FnApproval {
				cfg.Hooks[i].HookDetails = withKey(h.HookDetails, "timeout", s.ApprovalTimeout)
			}
		}
	}
	if s.Frozen {
		// A freeze around now, long enough for any run.
		now := time.Now().UTC()
		freeze := []any{map[string]any{"start": now.Add(-time.Hour).Format(time.RFC3339), "end": now.Add(30 * 24 * time.Hour).Format(time.RFC3339), "reason": "scenario freeze"}}
		for i, h := range cfg.Hooks {
			if h.Function == FnApproval {
				cfg.Hooks[i].HookDetails = withKey(h.HookDetails, "freezes", freeze)
			}
		}
	}
	return cfg
}

// judge reports whether the deployment ended as the scenario expects,
// printing each way it did not.
func (s Scenario) judge(snap simulator.Snapshot, why string, mails []Mail, pause bool, strategy rollout.Strategy, out io.Writer) bool {
	ok := true
	if s.Rollback && !snap.BlueAgainAt.IsZero() {
		fmt.Fprintf(out, "production back on blue %s (simulated) after the Roll back click\n", snap.BlueAgainAt.Sub(snap.RollbackRequestedAt).Round(time.Millisecond))
	}
	if snap.Status != s.Want {
		fmt.Fprintf(out, "scenario %s: ended %s, want %s\n", s.Name, snap.Status, s.Want)
		ok = false
	}
	reasons := s.WantReason
	if pause && s.PauseReason != nil {
		reasons = s.PauseReason
	}
	if steps := strategy.Steps(); s.StepReason != nil && len(steps) > 1 {
		reasons = s.StepReason
		if most := Exposure(snap); most > steps[0] {
			fmt.Fprintf(out, "scenario %s: green had %g%% of production before the rollback, want at most the first step's %g%%\n", s.Name, most, steps[0])
			ok = false
		}
	}
	for _, want := range reasons {
		if !strings.Contains(snap.Reason, want) {
			fmt.Fprintf(out, "scenario %s: ended for another reason (%q), want %q\n", s.Name, snap.Reason, want)
			ok = false
		}
	}
	for _, want := range s.PauseWhy {
		if pause && !strings.Contains(why, want) {
			fmt.Fprintf(out, "scenario %s: the approval gate's verdict is %q, want %q\n", s.Name, why, want)
			ok = false
		}
	}
	if s.NoReview {
		for _, m := range mails {
			if IsReview(m, snap.ID) {
				fmt.Fprintf(out, "scenario %s: %s was asked to review a green that failed its checks\n", s.Name, m.To)
				ok = false
			}
		}
	}
	return ok
}

// actorDone waits for a simulated person's part of scenario name to end
// and reports whether it went as it should, saying why not on out.
func actorDone(ctx context.Context, done <-chan error, name, who string, out io.Writer) bool {
	select {
	case err := <-done:
		if err != nil {
			fmt.Fprintf(out, "scenario %s: %s: %v\n", name, who, err)
			return false
		}
		return true
	case <-ctx.Done():
		fmt.Fprintf(out, "scenario %s: the %s did not finish\n", name, who)
		return false
	}
}

// pressRollBack plays an operator: wait until the dashboard offers Roll
// back for the deployment, then press it, as a browser posts the form.
func pressRollBack(ctx context.Context, l *Local, t *Tracked, out io.Writer) error {
	for !CanRollBack(t.D.Snapshot()) {
		if t.D.Snapshot().Status.Terminal() {
			return fmt.Errorf("the deployment ended %s before a rollback was offered", t.D.Snapshot().Status)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("no Roll back button: %w", ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
	client := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	var page string
	if err := fetch(ctx, client, http.MethodGet, l.UIURL, &page); err != nil {
		return fmt.Errorf("dashboard: %w", err)
	}
	if !strings.Contains(page, `id="rollback"`) {
		return errors.New("the dashboard shows no Roll back button")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, l.UIURL+"/rollback", strings.NewReader(url.Values{"deployment": {t.D.ID}}.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", l.UIURL)
	res, err := client.Do(req)
	if err != nil {
		return err
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther {
		return fmt.Errorf("the Roll back button answered %s", res.Status)
	}
	fmt.Fprintf(out, "  ⟲  the operator pressed Roll back at %s\n", t.D.Snapshot().Stage)
	return nil
}

// reviewAs plays a reviewer: wait for the review email, open the link as a
// mail scanner would (HEAD), open it as a browser (GET), read the form and
// post the decision.
func reviewAs(ctx context.Context, l *Local, t *Tracked, decision string, out io.Writer) error {
	m, err := l.Outbox.Wait(ctx, func(m Mail) bool { return IsReview(m, t.D.ID) })
	if err != nil {
		return fmt.Errorf("no review message: %w", err)
	}
	code, body, err := press(ctx, m, decision)
	if err != nil {
		return err
	}
	if code != http.StatusOK {
		return fmt.Errorf("post decision: %d: %s", code, body)
	}
	who := m.To
	if who == "" {
		who = "a reviewer"
	}
	button := strings.ToUpper(decision[:1]) + decision[1:]
	if decision == "override" {
		button = "Approve as emergency override"
	}
	fmt.Fprintf(out, "  ✔  %s opened the link and pressed %s\n", who, button)
	return nil
}

// slackReview is a reviewer who decides in Slack: they click the button of
// their Slack message about t, and the app answers them.
func slackReview(ctx context.Context, l *Local, t *Tracked, decision string, out io.Writer) error {
	m, err := l.WaitSlack(ctx, func(m SlackMessage) bool { return m.About(t.D.ID) })
	if err != nil {
		return fmt.Errorf("no Slack message: %w", err)
	}
	action := map[string]string{"approve": slackapp.ActionApprove, "reject": slackapp.ActionReject}[decision]
	said, err := l.SlackClick(ctx, m.TS, action)
	if err != nil {
		return err
	}
	if !strings.Contains(said, "is recorded") {
		return fmt.Errorf("%s's click in Slack was not recorded: %s", m.To, said)
	}
	if strings.Contains(said, "The deployment is") {
		// Decided: every approver's copy shows the outcome, with nothing
		// left to click (a copy posted as the vote landed is redrawn by
		// the call that posted it, within moments).
		if err := copiesDecided(ctx, l, t); err != nil {
			return err
		}
	}
	fmt.Fprintf(out, "  ✔  %s pressed %s in Slack: %s\n", m.To, strings.ToUpper(decision[:1])+decision[1:], said)
	return nil
}

// copiesDecided waits, at most 30 seconds, until no Slack message about t
// offers its buttons.
func copiesDecided(ctx context.Context, l *Local, t *Tracked) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		var live []string
		for _, c := range l.SlackMessages() {
			if c.About(t.D.ID) && c.Live() {
				live = append(live, c.To)
			}
		}
		if len(live) == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the Slack messages to %s still offer their buttons after the decision", strings.Join(live, ", "))
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// selfApproval is the self-approval scenario's reviewers: alice, who
// started the deployment, presses Approve and must be refused; then bob
// approves.
func selfApproval(ctx context.Context, l *Local, t *Tracked, out io.Writer) error {
	mailTo := func(who string) (Mail, error) {
		return l.Outbox.Wait(ctx, func(m Mail) bool { return IsReview(m, t.D.ID) && m.To == who })
	}
	alice, err := mailTo("alice@example.com")
	if err != nil {
		return fmt.Errorf("no review message for alice: %w", err)
	}
	code, body, err := press(ctx, alice, "approve")
	if err != nil {
		return err
	}
	if code != http.StatusForbidden || !strings.Contains(body, "You started this deployment") {
		return fmt.Errorf("alice, who started the deployment, approved it: %d: %s", code, body)
	}
	fmt.Fprintf(out, "  ✘  alice@example.com pressed Approve: refused, she started this deployment\n")
	bob, err := mailTo("bob@example.com")
	if err != nil {
		return fmt.Errorf("no review message for bob: %w", err)
	}
	if code, body, err = press(ctx, bob, "approve"); err != nil {
		return err
	}
	if code != http.StatusOK {
		return fmt.Errorf("bob's approval: %d: %s", code, body)
	}
	fmt.Fprintf(out, "  ✔  bob@example.com opened the link and pressed Approve\n")
	return nil
}

// press opens the review link in m, as a mail scanner and then a person
// would, and presses the page's decision button; it returns the answer's
// status and body.
func press(ctx context.Context, m Mail, decision string) (int, string, error) {
	client := &http.Client{Timeout: 10 * time.Second}
	if err := fetch(ctx, client, http.MethodHead, m.Link, nil); err != nil {
		return 0, "", err
	}
	var page string
	if err := fetch(ctx, client, http.MethodGet, m.Link, &page); err != nil {
		return 0, "", err
	}
	form, err := parseForm(page, m.Link)
	if err != nil {
		return 0, "", err
	}
	// Press a button the page has, as a person would.
	if !strings.Contains(page, `name="decision" value="`+decision+`"`) {
		return 0, "", fmt.Errorf("the review page offers no %s button", decision)
	}
	form.values.Set("decision", decision)
	form.values.Set("comment", "decided by the "+decision+" scenario")
	if form.values.Has("name") {
		form.values.Set("name", "scenario reviewer")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, form.action, strings.NewReader(form.values.Encode()))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := client.Do(req)
	if err != nil {
		return 0, "", fmt.Errorf("post decision: %w", err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(res.Body, 64<<10))
	return res.StatusCode, string(b), nil
}

func fetch(ctx context.Context, c *http.Client, method, link string, body *string) error {
	req, err := http.NewRequestWithContext(ctx, method, link, nil)
	if err != nil {
		return err
	}
	res, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("%s review link: %w", method, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("%s review link: %s", method, res.Status)
	}
	if body != nil {
		*body = string(b)
	}
	return nil
}

type form struct {
	action string
	values url.Values
}

var (
	formRE  = regexp.MustCompile(`<form method="post" action="([^"]*)">`)
	inputRE = regexp.MustCompile(`<input type="(hidden|text)" (?:id="[^"]*" )?name="([^"]+)"(?: value="([^"]*)")?`)
)

// parseForm reads the review form from page, resolving its action against
// the page's URL.
func parseForm(page, pageURL string) (form, error) {
	m := formRE.FindStringSubmatch(page)
	if m == nil {
		return form{}, errors.New("the review page has no form")
	}
	base, err := url.Parse(pageURL)
	if err != nil {
		return form{}, err
	}
	action, err := base.Parse(html.UnescapeString(m[1]))
	if err != nil {
		return form{}, err
	}
	f := form{action: action.String(), values: url.Values{}}
	for _, in := range inputRE.FindAllStringSubmatch(page, -1) {
		f.values.Set(in[2], html.UnescapeString(in[3]))
	}
	if f.values.Get("token") == "" {
		return form{}, errors.New("the review form carries no token")
	}
	return f, nil
}

// withDefault returns the JSON object details with key set to value unless
// it is set already.
func withDefault(details json.RawMessage, key string, value any) json.RawMessage {
	m := map[string]any{}
	if len(details) > 0 {
		_ = json.Unmarshal(details, &m)
	}
	if _, ok := m[key]; ok {
		return details
	}
	m[key] = value
	b, _ := json.Marshal(m)
	return b
}

// withKey returns the JSON object details with key set to value.
func withKey(details json.RawMessage, key string, value any) json.RawMessage {
	m := map[string]any{}
	if len(details) > 0 {
		_ = json.Unmarshal(details, &m)
	}
	m[key] = value
	b, _ := json.Marshal(m)
	return b
}

// Exposure is the largest share of production, in percent, that green had
// during the deployment snap, as its events tell.
func Exposure(snap simulator.Snapshot) float64 {
	most := 0.0
	for _, e := range snap.Events {
		if e.Green != nil && *e.Green > most {
			most = *e.Green
		}
	}
	return most
}
