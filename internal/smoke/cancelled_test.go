package smoke

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/internal/hook"
)

// TestCarriedCancelledCriticalCheckNeverSucceeds: a critical check is
// cancelled only when another critical check failed, so a carried state
// with a cancelled critical check and no failed one is inconsistent, and
// fails closed (conclude). It must never pass as "0 of 1 passed": the
// cancelled check proved nothing about green. A call whose own context is
// cancelled records nothing and answers IN_PROGRESS, keeping the check
// running for the next call.
func TestCarriedCancelledCriticalCheckNeverSucceeds(t *testing.T) {
	srv := httptest.NewServer(&app{})
	defer srv.Close()
	type answer struct {
		Status  hook.Status
		Verdict Verdict
	}
	tests := []struct {
		name       string
		checks     string
		carried    []checkState // outcomes and counters carried, by check
		cancelCall bool         // the call's context is cancelled before it starts
		want       answer
	}{
		{name: "the only critical check cancelled",
			checks:  `[{"name":"api","path":"/health"}]`,
			carried: []checkState{{Outcome: OutcomeCancelled}},
			want:    answer{hook.StatusFailed, VerdictFailed}},
		{name: "a critical check cancelled mid-retry",
			checks:  `[{"name":"api","path":"/health"}]`,
			carried: []checkState{{Outcome: OutcomeCancelled, Attempts: 2, Failures: 2, Status: 503, Problem: "status 503, want 200"}},
			want:    answer{hook.StatusFailed, VerdictFailed}},
		{name: "a critical check cancelled beside a passed one",
			checks:  `[{"name":"api","path":"/health"},{"name":"home","path":"/health"}]`,
			carried: []checkState{{Outcome: OutcomeCancelled}, {Outcome: OutcomePassed, Attempts: 1, Streak: 1, Status: 200}},
			want:    answer{hook.StatusFailed, VerdictFailed}},
		{name: "a critical check cancelled beside a non-critical one still running",
			checks:  `[{"name":"api","path":"/health"},{"name":"extra","path":"/health","critical":false}]`,
			carried: []checkState{{Outcome: OutcomeCancelled}, {Outcome: OutcomeRunning}},
			want:    answer{hook.StatusFailed, VerdictFailed}},
		{name: "the call's context cancelled leaves the critical check running",
			checks:     `[{"name":"api","path":"/health"}]`,
			carried:    []checkState{{Outcome: OutcomeRunning}},
			cancelCall: true,
			want:       answer{hook.StatusInProgress, VerdictRunning}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := mustConfig(t, fmt.Sprintf(`{"baseUrl":%q,"retries":3,"checks":%s}`, srv.URL, tt.checks))
			clk := newClock()
			p := Poll{Deployment: deployment(t), Stage: hook.StagePostTestTrafficShift, TargetRevisionARN: greenARN, Config: cfg}
			st := carry(t, cfg, p, clk, tt.carried)
			p.State = st.encode()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tt.cancelCall {
				cancel()
			}
			r := &Runner{Client: srv.Client(), Now: clk.Now, Sleep: clk.Sleep, Log: slog.New(slog.DiscardHandler)}
			res, err := r.Poll(ctx, p)
			if err != nil {
				t.Fatalf("Poll = %v", err)
			}
			got := answer{res.Status, res.Report.Verdict}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Poll with carried %+v (-want +got):\n%s\nreason: %s", tt.carried, diff, res.Reason)
			}
			if strings.Contains(res.Reason, "passed:") {
				t.Errorf("Poll reason = %q, want no pass", res.Reason)
			}
		})
	}
}

// TestHookCarriedCancelledCriticalCheckFails is the same through the
// hook: the state comes back from ECS in hookDetails under StateKey.
func TestHookCarriedCancelledCriticalCheckFails(t *testing.T) {
	a := &app{}
	srv := httptest.NewServer(a)
	defer srv.Close()
	details := fmt.Sprintf(`{"baseUrl":%q,"retries":3,"checks":[{"name":"api","path":"/health"}]}`, srv.URL)
	cfg, err := DefaultConfig().ApplyService(json.RawMessage(details))
	if err != nil {
		t.Fatal(err)
	}
	clk := newClock()
	p := Poll{Deployment: deployment(t), Stage: hook.StagePostTestTrafficShift, TargetRevisionARN: greenARN, Config: cfg}
	st := carry(t, cfg, p, clk, []checkState{{Outcome: OutcomeCancelled}})
	req := request(strings.TrimSuffix(details, "}") + `,"` + StateKey + `":` + string(st.encode()) + `}`)
	h := HookHandler(&Runner{Client: srv.Client(), Now: clk.Now, Sleep: clk.Sleep, Reports: newReports(), Log: slog.New(slog.DiscardHandler)}, DefaultConfig())
	res, err := h(context.Background(), req)
	if err != nil || res.HookStatus != hook.StatusFailed {
		t.Errorf("hook with a carried cancelled critical check = %s %q (%v), want FAILED", res.HookStatus, res.Reason, err)
	}
	// The state was used, not dropped for a fresh run (which would pass).
	if n := a.count("/health"); n != 0 {
		t.Errorf("/health requested %d times, want 0: the carried state was not resumed", n)
	}
}

// carry returns the state of p's run after an earlier call, with each
// check's progress as given.
func carry(t *testing.T, cfg Config, p Poll, clk *clock, checks []checkState) runState {
	t.Helper()
	if len(checks) != len(cfg.Checks) {
		t.Fatalf("carry: %d check states for %d checks", len(checks), len(cfg.Checks))
	}
	st := newState(cfg, clk.Now())
	st.Run = runKey(p)
	st.Calls = 1
	for i, c := range checks {
		c.Name, c.Next = cfg.Checks[i].Name, st.Checks[i].Next
		st.Checks[i] = c
	}
	if _, err := resume(st.encode(), cfg, clk.Now()); err != nil {
		t.Fatalf("carry: the state would not be resumed: %v", err)
	}
	return st
}
