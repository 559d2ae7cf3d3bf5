package local

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/approval"
	"github.com/gatehouse-dev/gatehouse/internal/hook"
	"github.com/gatehouse-dev/gatehouse/internal/layout"
	"github.com/gatehouse-dev/gatehouse/internal/simulator"
)

// TestRollbackPassesAGateThatNeverDecided: a second approval gate at
// PRODUCTION_TRAFFIC_SHIFT (a per-step gate) that never decided is called
// again when ECS rolls back, with reversed, empty or absent weights. It
// must pass at once, by the weights or by what ECS reports, and never hold
// the rollback; nobody is asked to approve a rollback. Each hookDetails
// reading is played too.
func TestRollbackPassesAGateThatNeverDecided(t *testing.T) {
	for _, scenarioName := range []string{"reject", "smoke-fail"} {
		s, ok := FindScenario(scenarioName)
		if !ok {
			t.Fatalf("no scenario %s", scenarioName)
		}
		for _, b := range simulator.Behaviours() {
			t.Run(scenarioName+"/"+b.String(), func(t *testing.T) {
				t.Parallel()
				cfg := DefaultConfig()
				cfg.Speed = MaxSpeed
				cfg.ECS = b.String()
				cfg.Hooks = append(cfg.Hooks, HookConfig{Function: FnApproval, Name: "traffic-gate",
					Stages:      []hook.Stage{hook.StageProductionTrafficShift},
					HookDetails: json.RawMessage(`{"gate":"traffic","approvers":["carol@example.com"],"timeout":"2h"}`)})
				var out bytes.Buffer
				ctx, cancel := context.WithTimeout(context.Background(), scenarioDeadline)
				defer cancel()
				if code := RunScenario(ctx, s, cfg, &out); code != ExitAsExpected {
					t.Fatalf("scenario %s under %s: exit %d\n%s", s.Name, b, code, out.String())
				}
				if !regexp.MustCompile(`traffic-gate\s+SUCCEEDED`).MatchString(out.String()) {
					t.Errorf("the traffic gate did not pass the rollback:\n%s", out.String())
				}
				if strings.Contains(out.String(), "carol@example.com") {
					t.Errorf("carol was asked to approve a rollback:\n%s", out.String())
				}
			})
		}
	}
}

// TestStepGateAsksOnce: an approval gate at PRE_PRODUCTION_TRAFFIC_SHIFT of
// a linear or canary deployment is called at every step; it asks once,
// and its one decision covers every step. The bake after the last step
// still runs.
func TestStepGateAsksOnce(t *testing.T) {
	s, _ := FindScenario("approve")
	for _, strategy := range []string{"linear", "canary"} {
		t.Run(strategy, func(t *testing.T) {
			t.Parallel()
			cfg := stepGateConfig(strategy)
			var out bytes.Buffer
			if code := RunScenario(context.Background(), s, cfg, &out); code != ExitAsExpected {
				t.Fatalf("exit %d\n%s", code, out.String())
			}
			text := out.String()
			steps := strings.Count(text, "PRE_PRODUCTION_TRAFFIC_SHIFT ("+strategy+" step")
			if want := map[string]int{"linear": 4, "canary": 2}[strategy]; steps != want {
				t.Errorf("%d steps, want %d:\n%s", steps, want, text)
			}
			for _, who := range []string{"alice@example.com", "bob@example.com"} {
				if n := strings.Count(text, "to "+who+": [gatehouse] Approve"); n != 1 {
					t.Errorf("%s was asked %d times, want once:\n%s", who, n, text)
				}
			}
			if n := regexp.MustCompile(`approval-hook\s+SUCCEEDED`).FindAllStringIndex(text, -1); len(n) != steps {
				t.Errorf("the gate passed %d steps, want %d", len(n), steps)
			}
			if !regexp.MustCompile(`bake-hook\s+SUCCEEDED`).MatchString(text) {
				t.Errorf("no bake after the last step:\n%s", text)
			}
		})
	}
}

// TestStepPauseGateAsksOnce: a PAUSE approval hook at the stage a linear or
// canary deployment runs at every step pauses at each step, each time with
// a new hookId (documented): the approvers are asked once, and every
// step's pause is continued.
func TestStepPauseGateAsksOnce(t *testing.T) {
	s, _ := FindScenario("approve")
	for _, strategy := range []string{"linear", "canary"} {
		t.Run(strategy, func(t *testing.T) {
			t.Parallel()
			cfg := stepGateConfig(strategy)
			cfg.ApprovalMode = ModePause
			var out bytes.Buffer
			if code := RunScenario(context.Background(), s, cfg, &out); code != ExitAsExpected {
				t.Fatalf("exit %d\n%s", code, out.String())
			}
			text := out.String()
			want := map[string]int{"linear": 4, "canary": 2}[strategy]
			// Someone is asked, nobody twice (a vote may close the request
			// before every link is out: then no more are sent).
			asked := 0
			for _, who := range []string{"alice@example.com", "bob@example.com"} {
				n := strings.Count(text, "to "+who+": [gatehouse] Approve")
				if n > 1 {
					t.Errorf("%s was asked %d times, want at most once:\n%s", who, n, text)
				}
				asked += n
			}
			if asked == 0 {
				t.Errorf("nobody was asked:\n%s", text)
			}
			if n := len(regexp.MustCompile(`approval-hook\s+SUCCEEDED`).FindAllStringIndex(text, -1)); n != want {
				t.Errorf("%d pauses continued, want one a step (%d):\n%s", n, want, text)
			}
			if ids := regexp.MustCompile(`AWAITING_ACTION\s+hook (ecs-pause-[A-Za-z0-9_-]{43})\b`).FindAllStringSubmatch(text, -1); len(ids) != want || ids[0][1] == ids[len(ids)-1][1] {
				t.Errorf("pauses %v, want %d with hookIds of their own, shaped as ECS's", ids, want)
			}
		})
	}
}

// stepGateConfig is the built-in configuration under strategy, at the
// highest speed, with the approval gate at the stage every step runs.
func stepGateConfig(strategy string) Config {
	cfg := DefaultConfig()
	cfg.Speed = MaxSpeed
	cfg.Strategy = strategy
	for i, h := range cfg.Hooks {
		if h.Function == FnApproval {
			cfg.Hooks[i].Stages = []hook.Stage{hook.StagePreProductionTrafficShift}
		}
	}
	return cfg
}

// TestStepGateAsksEachStep: with steps: each, the approval gate at the
// stage a canary deployment runs at every step asks again at each step, in
// Lambda mode (a request per step, named by green's share) and in pause
// mode (each step's pause its own request); each request says its step and
// shows the step check's verdict on the step just baked (the messages wait
// for it), and the deployment goes on only as each step is approved.
func TestStepGateAsksEachStep(t *testing.T) {
	for _, mode := range []string{ModeLambda, ModePause} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			cfg := stepGateConfig("canary")
			cfg.ApprovalMode = mode
			for i, h := range cfg.Hooks {
				if h.Function == FnApproval {
					cfg.Hooks[i].HookDetails = json.RawMessage(`{"approvers":["alice@example.com"],"requiredApprovals":1,"timeout":"2h","steps":"each"}`)
				}
			}
			l := startLocal(t, cfg)
			tr, err := l.Deploy(Healthy)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			approved := map[string]bool{}
			for step := 0; step < 2; step++ {
				m, err := l.Outbox.Wait(ctx, func(m Mail) bool { return IsReview(m, tr.D.ID) && !approved[m.Link] })
				if err != nil {
					t.Fatalf("step %d: no review message: %v\n%s", step+1, err, events(tr))
				}
				want := []string{"Step:        0% of production on green so far", "Step:        10% of production on green so far"}[step]
				if !strings.Contains(m.Body, want) {
					t.Errorf("step %d's message lacks %q:\n%s", step+1, want, m.Body)
				}
				// The message waits for the step check's verdict on the
				// step just baked: green against blue over the step.
				if step == 1 && !regexp.MustCompile(`Step check:  10% on green: SUCCEEDED over \S+; green \d+ requests, [0-9.]+% 5xx, p99 \d+ ms; blue \d+ requests`).MatchString(m.Body) {
					t.Errorf("step 2's message does not say what the step check found:\n%s", m.Body)
				}
				if snap := tr.D.Snapshot(); snap.Status.Terminal() || snap.Step != step {
					t.Fatalf("step %d asked while the deployment is at step %d, %s", step+1, snap.Step+1, snap.Status)
				}
				if code, body, err := press(ctx, m, "approve"); err != nil || code != http.StatusOK {
					t.Fatalf("step %d: approve: %d %v\n%s", step+1, code, err, body)
				}
				approved[m.Link] = true
			}
			select {
			case <-tr.Done():
			case <-ctx.Done():
				t.Fatalf("the deployment did not end:\n%s", events(tr))
			}
			if snap := tr.D.Snapshot(); snap.Status != simulator.StatusSuccessful {
				t.Fatalf("deployment ended %s: %s", snap.Status, snap.Reason)
			}
			// One request a step in the state bucket, each approved.
			d, err := hook.ParseDeploymentARN(tr.D.Snapshot().ARN)
			if err != nil {
				t.Fatal(err)
			}
			keys, err := l.Store.List(ctx, layout.Requests(d), 0)
			if err != nil {
				t.Fatal(err)
			}
			approvedSteps := 0
			for _, k := range keys {
				obj, err := l.Store.Get(ctx, k)
				if err != nil {
					t.Fatal(err)
				}
				r, err := approval.Decode(obj.Body)
				if err != nil {
					t.Fatal(err)
				}
				if r.Stage == hook.StagePreProductionTrafficShift && r.Outcome == approval.Approved && r.Steps == approval.StepsEach {
					approvedSteps++
				}
			}
			if approvedSteps != 2 {
				t.Errorf("%d step requests approved in the state bucket (%v), want one a step (2)", approvedSteps, keys)
			}
		})
	}
}

// events lists a deployment's events, for a failure's message.
func events(tr *Tracked) string {
	var b strings.Builder
	for _, e := range tr.D.Snapshot().Events {
		fmt.Fprintf(&b, "%s %s %s %s\n", e.Stage, e.Hook, e.Status, e.Reason)
	}
	return b.String()
}
