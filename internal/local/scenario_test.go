package local

import (
	"bytes"
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/hook"
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
