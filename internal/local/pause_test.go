package local

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/hook"
	"github.com/gatehouse-dev/gatehouse/internal/simulator"
)

// TestPauseHookApproval runs the approval hook as an ECS PAUSE hook: the
// simulator pauses the deployment and delivers the "ECS Hook State Change"
// event, twice; the approval hook opens the request from it and notifies
// each approver once; the deciding vote, posted on the review page, ends
// the pause at once with the action it decides.
func TestPauseHookApproval(t *testing.T) {
	for decision, want := range map[string]simulator.Status{"approve": simulator.StatusSuccessful, "reject": simulator.StatusRollbackSuccessful} {
		t.Run(decision, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Hooks = onlyApproval(cfg.Hooks)
			cfg.Hooks[0].TargetType = "PAUSE"
			l := startLocal(t, cfg)
			l.Sim.DeliverTwice = true
			tr, err := l.Deploy(Healthy)
			if err != nil {
				t.Fatal(err)
			}
			wait(t, "two review messages", func() bool { return countReviews(l, tr.D.ID) == 2 })
			// The dashboard shows the paused hook and when ECS acts alone.
			paused := tr.D.Pauses()
			if len(paused) != 1 {
				t.Fatalf("pauses %+v", paused)
			}
			_, dash := get(t, l.UIURL)
			if want := "awaits action (the deciding vote continues it) until " + paused[0].ExpiresAt.Format("2006-01-02 15:04") + " (simulated), then ROLLBACK"; !strings.Contains(dash, want) {
				t.Errorf("the dashboard does not show the paused hook's expiry %q:\n%s", want, dash)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			m, err := l.Outbox.Wait(ctx, func(m Mail) bool { return IsReview(m, tr.D.ID) })
			if err != nil {
				t.Fatal(err)
			}
			code, body, err := press(ctx, m, decision)
			if err != nil || code != http.StatusOK {
				t.Fatalf("%s: %d %v\n%s", decision, code, err, body)
			}
			// The page says what ECS was told, at once.
			told := map[string]string{"approve": "ECS was told to go on", "reject": "ECS was told to roll the deployment back"}[decision]
			if !strings.Contains(body, told) || !strings.Contains(body, `id="pause"`) {
				t.Errorf("%s: the page does not say %q:\n%s", decision, told, body)
			}
			select {
			case <-tr.Done():
			case <-time.After(60 * time.Second):
				t.Fatal("the deployment did not end within 60s")
			}
			if s := tr.D.Snapshot(); s.Status != want {
				t.Errorf("%s: deployment %s (%s), want %s", decision, s.Status, s.Reason, want)
			}
			if n := countReviews(l, tr.D.ID); n != 2 {
				t.Errorf("%d review messages for two deliveries of the event, want 2", n)
			}
			p := tr.D.Pauses()
			if len(p) != 1 || p[0].Status == "AWAITING_ACTION" || p[0].Status == "TIMED_OUT" {
				t.Errorf("pauses %+v, want one, ended by the vote", p)
			}
			if decision == "approve" && !strings.Contains(tr.D.Snapshot().Reason+string(p[0].Status), "SUCCEEDED") {
				t.Errorf("pause status %s", p[0].Status)
			}
		})
	}
}

// TestPauseHookWithTheDemo: the whole demo (smoke at the same stage, bake
// after) with the approval hook as a PAUSE hook that watches the
// deployment alarm: reviewers are asked, the approval continues the
// deployment (the settled request still reads the alarm), and it completes.
func TestPauseHookWithTheDemo(t *testing.T) {
	cfg := DefaultConfig()
	for i, h := range cfg.Hooks {
		if h.Function == FnApproval {
			cfg.Hooks[i].TargetType = "PAUSE"
			cfg.Hooks[i].HookDetails = withKey(h.HookDetails, "abortOnAlarms", map[string]any{"names": []string{DeploymentAlarm}})
		}
	}
	l := startLocal(t, cfg)
	tr, err := l.Deploy(Healthy)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	m, err := l.Outbox.Wait(ctx, func(m Mail) bool { return IsReview(m, tr.D.ID) })
	if err != nil {
		t.Fatalf("nobody was asked: %v", err)
	}
	if code, body, err := press(ctx, m, "approve"); err != nil || code != http.StatusOK {
		t.Fatalf("approve: %d %v\n%s", code, err, body)
	}
	select {
	case <-tr.Done():
	case <-time.After(60 * time.Second):
		t.Fatal("the deployment did not end within 60s")
	}
	if s := tr.D.Snapshot(); s.Status != simulator.StatusSuccessful {
		t.Errorf("deployment %s (%s), want SUCCESSFUL", s.Status, s.Reason)
	}
	// The functions reached the simulated ECS through their own ECS
	// adapters, as in AWS: the tags read, the deployment and its
	// revisions described, the hook continued once; and CloudTrail, for
	// who started the deployment.
	calls := l.AWSCalls()
	if calls["ContinueServiceDeployment"] != 1 || calls["DescribeServiceDeployments"] == 0 || calls["DescribeServiceRevisions"] == 0 || calls["ListTagsForResource"] == 0 || calls["LookupEvents"] == 0 {
		t.Errorf("AWS calls through the adapters: %v; want one continue, describes, tags read and the deployer looked up", calls)
	}
}

// TestPauseHookThatWouldContinue: a PAUSE approval hook whose timeout
// action is CONTINUE would let silence deploy: its request is refused, and
// ECS told ROLLBACK at once.
func TestPauseHookThatWouldContinue(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Hooks = onlyApproval(cfg.Hooks)
	cfg.Hooks[0].TargetType, cfg.Hooks[0].OnTimeout, cfg.Hooks[0].Timeout = "PAUSE", "CONTINUE", "30m"
	cfg.Hooks[0].HookDetails = withKey(cfg.Hooks[0].HookDetails, "timeout", "20m")
	l := startLocal(t, cfg)
	s := deployAndWait(t, l, Healthy)
	if s.Status != simulator.StatusRollbackSuccessful {
		t.Errorf("deployment %s (%s), want ROLLBACK_SUCCESSFUL", s.Status, s.Reason)
	}
	if n := countReviews(l, s.ID); n != 0 {
		t.Errorf("%d review messages for a refused request", n)
	}
	for _, tr := range l.Deployments() {
		if p := tr.D.Pauses(); len(p) != 1 || p[0].Status != "FAILED" {
			t.Errorf("pauses %+v, want one ended by ROLLBACK", p)
		}
	}
}

// TestPauseContinuedOutside: someone allowed ecs:ContinueServiceDeployment
// continues the paused deployment outside gatehouse (the console's "Take
// action"). ECS goes on; its HOOK_SUCCEEDED event closes the request at
// once as continued outside gatehouse, never approved; both approvers are
// told; the review page says so, and a vote posted from the page opened
// before is refused.
func TestPauseContinuedOutside(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Hooks = onlyApproval(cfg.Hooks)
	cfg.Hooks[0].TargetType = "PAUSE"
	l := startLocal(t, cfg)
	tr, err := l.Deploy(Healthy)
	if err != nil {
		t.Fatal(err)
	}
	wait(t, "two review messages", func() bool { return countReviews(l, tr.D.ID) == 2 })
	m := reviewMail(t, l, tr.D.ID)
	_, page := get(t, m.Link)
	form, err := parseForm(page, m.Link)
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.D.ContinueServiceDeployment(tr.D.Pauses()[0].HookID, "CONTINUE"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-tr.Done():
	case <-time.After(60 * time.Second):
		t.Fatal("the deployment did not end within 60s")
	}
	if s := tr.D.Snapshot(); s.Status != simulator.StatusSuccessful {
		t.Errorf("deployment %s, want ECS to go on", s.Status)
	}
	told := func() int {
		n := 0
		for _, m := range l.Outbox.Mails() {
			if strings.Contains(m.Subject, "continued outside gatehouse") && strings.Contains(m.Body, tr.D.ID) {
				n++
			}
		}
		return n
	}
	wait(t, "both approvers told", func() bool { return told() == 2 })
	if code, page := get(t, m.Link); code != http.StatusOK || !strings.Contains(page, "continued outside gatehouse, not approved") || strings.Contains(page, `name="decision"`) {
		t.Errorf("page %d, want the outcome without a form:\n%s", code, page)
	}
	form.values.Set("decision", "approve")
	res, err := http.PostForm(form.action, form.values)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusConflict || told() != 2 {
		t.Errorf("a vote from the page opened before = %d (%d notices), want 409 and nobody told again", res.StatusCode, told())
	}
}

// TestApprovalBeforeScaleUp: with approvalStage PRE_SCALE_UP the approval
// holds the deployment before any green task starts, as a PAUSE hook or a
// Lambda hook; nobody waits for smoke checks that run later; approved, the
// deployment goes on through the smoke checks to the end.
func TestApprovalBeforeScaleUp(t *testing.T) {
	for _, mode := range []string{ModePause, ModeLambda} {
		t.Run(mode, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Hooks = cfg.Hooks[:2] // smoke and approval
			cfg.ApprovalMode, cfg.ApprovalStage = mode, hook.StagePreScaleUp
			if err := cfg.Validate(); err != nil {
				t.Fatal(err)
			}
			l := startLocal(t, cfg)
			tr, err := l.Deploy(Healthy)
			if err != nil {
				t.Fatal(err)
			}
			wait(t, "two review messages", func() bool { return countReviews(l, tr.D.ID) == 2 })
			snap := tr.D.Snapshot()
			for _, e := range snap.Events {
				if e.Stage == simulator.StageScaleUp {
					t.Fatalf("green scaled up before anyone approved: %+v", snap.Events)
				}
			}
			if snap.Stage != hook.StagePreScaleUp || (mode == ModePause) != (len(tr.D.Pauses()) == 1) {
				t.Errorf("stage %s, pauses %+v; want held at PRE_SCALE_UP", snap.Stage, tr.D.Pauses())
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if code, body, err := press(ctx, reviewMail(t, l, tr.D.ID), "approve"); err != nil || code != http.StatusOK {
				t.Fatalf("approve: %d %v\n%s", code, err, body)
			}
			select {
			case <-tr.Done():
			case <-time.After(60 * time.Second):
				t.Fatal("the deployment did not end within 60s")
			}
			if s := tr.D.Snapshot(); s.Status != simulator.StatusSuccessful {
				t.Errorf("deployment %s (%s), want successful", s.Status, s.Reason)
			}
		})
	}
	for stage, want := range map[hook.Stage]string{
		hook.StageTestTrafficShift: "approvalStage: TEST_TRAFFIC_SHIFT: ECS allows a PAUSE hook (approvalMode: pause) only at",
		"SCALE_UP":                 `approvalStage: "SCALE_UP" is not a stage a hook can run at`,
	} {
		cfg := DefaultConfig()
		cfg.ApprovalMode, cfg.ApprovalStage = ModePause, stage
		if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("approvalStage %s = %v, want %q", stage, err, want)
		}
	}
}
