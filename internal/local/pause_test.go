package local

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

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
