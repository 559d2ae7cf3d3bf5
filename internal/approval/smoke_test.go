package approval

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/hook"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// fakeSmoke is a smoke verdict that a test sets when it likes.
type fakeSmoke struct {
	mu      sync.Mutex
	known   bool
	passed  bool
	summary string
	err     error
}

func (f *fakeSmoke) SmokeVerdict(ctx context.Context, arn string, stage hook.Stage) (bool, string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return false, "", f.err
	}
	if !f.known {
		return false, "", fmt.Errorf("smoke report: %w", store.ErrNotFound)
	}
	return f.passed, f.summary, nil
}

func (f *fakeSmoke) set(passed bool, summary string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.known, f.passed, f.summary = true, passed, summary
}

const smokeARN = "arn:aws:lambda:us-west-2:123456789012:function:gatehouse-smoke-hook"

func smokeFixture(t *testing.T) (*fixture, *fakeSmoke) {
	t.Helper()
	f := newFixture(t, []string{"alice@example.com", "bob@example.com"}, 1)
	sm := &fakeSmoke{}
	f.gate.Smoke = sm
	f.gate.SmokeFunction = "gatehouse-smoke-hook"
	f.gate.Describer = fakeDescriber{d: Change{
		SourceTaskDefinitions: []string{"orders:41"},
		Hooks:                 []string{smokeARN + ":live", "arn:aws:lambda:us-west-2:123456789012:function:gatehouse-approval-hook"},
	}}
	return f, sm
}

func TestWaitForSmokePassing(t *testing.T) {
	f, sm := smokeFixture(t)
	v := f.mustPoll(t, Pending)
	if !strings.Contains(v.Reason, "waiting for the smoke checks") || len(f.n.sent()) != 0 {
		t.Fatalf("first poll: %q and %d messages; want waiting for smoke, no messages", v.Reason, len(f.n.sent()))
	}
	r, _ := f.load(t)
	if !r.AwaitSmoke {
		t.Fatal("request does not wait for smoke")
	}
	// Nobody can vote yet: there is nothing to approve.
	if err := r.Cast(Vote{Approver: "alice@example.com", Decision: Approve, Via: "cli"}, f.clock.Now()); !errors.Is(err, ErrAwaitingSmoke) {
		t.Errorf("Cast while awaiting smoke = %v, want ErrAwaitingSmoke", err)
	}
	f.clock.Add(30 * time.Second)
	f.mustPoll(t, Pending)
	if len(f.n.sent()) != 0 {
		t.Fatal("notified before the smoke verdict")
	}
	sm.set(true, "3 of 3 checks passed")
	f.clock.Add(30 * time.Second)
	f.mustPoll(t, Pending)
	msgs := f.n.sent()
	if len(msgs) != 2 || !strings.Contains(msgs[0].Body, "Smoke:       3 of 3 checks passed") {
		t.Fatalf("after smoke passed: %d messages; want 2 carrying the smoke verdict:\n%v", len(msgs), msgs)
	}
	f.vote(t, "bob@example.com", Approve)
	if v := f.mustPoll(t, Approved); !v.Pass {
		t.Errorf("verdict %+v, want pass", v)
	}
}

func TestWaitForSmokeFailing(t *testing.T) {
	f, sm := smokeFixture(t)
	f.mustPoll(t, Pending)
	sm.set(false, "health: status 500, want 200")
	v := f.mustPoll(t, SmokeFailed)
	if v.Pass || !strings.Contains(v.Reason, "smoke checks failed: health: status 500") || !strings.Contains(v.Reason, "nobody was asked") {
		t.Errorf("verdict = %+v", v)
	}
	if n := len(f.n.sent()); n != 0 {
		t.Errorf("%d messages sent for a green that failed its smoke checks, want 0", n)
	}
	// Asked again (a retry), the answer stays the same and nothing is sent.
	f.mustPoll(t, SmokeFailed)
	if n := len(f.n.sent()); n != 0 {
		t.Errorf("%d messages after a retry, want 0", n)
	}
}

func TestWaitForSmokeExpiresClosed(t *testing.T) {
	f, _ := smokeFixture(t)
	f.poll.Settings.OnExpiry = Approve // even so: no smoke verdict is no pass
	f.mustPoll(t, Pending)
	f.clock.Add(4 * time.Hour)
	v := f.mustPoll(t, Expired)
	if v.Pass || !strings.Contains(v.Reason, "no smoke verdict within 4h") {
		t.Errorf("verdict = %+v, want a failure naming the missing smoke verdict", v)
	}
	if n := len(f.n.sent()); n != 0 {
		t.Errorf("%d messages, want none: nobody was asked", n)
	}
}

func TestWaitForSmokeSettings(t *testing.T) {
	yes, no := true, false
	tests := []struct {
		name     string
		setting  *bool
		hooks    []string
		wantWait bool
	}{
		{"auto: smoke hook at the stage", nil, []string{smokeARN}, true},
		{"auto: no smoke hook", nil, []string{"arn:aws:lambda:us-west-2:1:function:other"}, false},
		{"off although a smoke hook runs", &no, []string{smokeARN}, false},
		{"on without ECS telling", &yes, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, _ := smokeFixture(t)
			f.gate.Describer = fakeDescriber{d: Change{SourceTaskDefinitions: []string{"orders:41"}, Hooks: tt.hooks}}
			f.poll.Settings.WaitForSmoke = tt.setting
			f.mustPoll(t, Pending)
			r, _ := f.load(t)
			if r.AwaitSmoke != tt.wantWait || (len(f.n.sent()) == 0) != tt.wantWait {
				t.Errorf("AwaitSmoke = %v with %d messages, want wait %v", r.AwaitSmoke, len(f.n.sent()), tt.wantWait)
			}
		})
	}
}

func TestWaitForSmokeTransientRead(t *testing.T) {
	f, sm := smokeFixture(t)
	f.mustPoll(t, Pending)
	sm.err = hook.Transient(errors.New("s3: slow down"))
	if _, err := f.gate.Poll(context.Background(), f.poll); !hook.IsTransient(err) {
		t.Errorf("Poll with the smoke report unreadable = %v, want a transient error", err)
	}
}

func TestFunctionName(t *testing.T) {
	for in, want := range map[string]string{
		"arn:aws:lambda:us-west-2:1:function:smoke":      "smoke",
		"arn:aws:lambda:us-west-2:1:function:smoke:live": "smoke",
		"smoke": "smoke",
	} {
		if got := functionName(in); got != want {
			t.Errorf("functionName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestWaitForSmokeWhenECSCannotSay(t *testing.T) {
	f, sm := smokeFixture(t)
	f.gate.Describer = fakeDescriber{err: errors.New("ecs: connection refused")}
	if _, err := f.gate.Poll(context.Background(), f.poll); !hook.IsTransient(err) {
		t.Fatalf("Poll with ECS down and no smoke report = %v, want a transient error (ask again, notify nobody)", err)
	}
	if keys, _ := f.st.List(context.Background(), KeyPrefix, 0); len(keys) != 0 || len(f.n.sent()) != 0 {
		t.Fatalf("created %v and sent %d messages without knowing whether to wait for smoke", keys, len(f.n.sent()))
	}
	sm.set(false, "health: status 500")
	if v := f.mustPoll(t, SmokeFailed); v.Pass {
		t.Errorf("verdict = %+v", v)
	}
}

// TestDeniedDescribeIsABoundedWait: with a smoke function configured and
// DescribeServiceDeployments denied for good, the hook asks again only for
// a bounded time, then answers FAILED naming the error: without a request
// no timeout runs, and ECS's hook timeout (which may CONTINUE) must not be
// what ends the hold.
func TestDeniedDescribeIsABoundedWait(t *testing.T) {
	f, _ := smokeFixture(t)
	f.gate.Describer = fakeDescriber{err: errors.New("AccessDeniedException: not authorized to perform ecs:DescribeServiceDeployments")}
	h := hook.Wrap(HookHandler(f.gate, f.poll.Settings), hook.Options{Now: f.clock.Now, MaxUncertain: 15 * time.Minute})
	payload, _ := json.Marshal(map[string]any{
		"executionId": "e", "lifecycleStage": hook.StagePostTestTrafficShift, "resourceArn": deploymentARN,
		"executionDetails": map[string]any{"serviceArn": f.poll.ServiceARN, "targetServiceRevisionArn": "rev-green"},
	})
	var res hook.Response
	for call := range 4 {
		var err error
		if res, err = h(context.Background(), payload); err != nil {
			t.Fatal(err)
		}
		if call < 3 && res.HookStatus != hook.StatusInProgress {
			t.Fatalf("call %d: %s %q, want IN_PROGRESS", call, res.HookStatus, res.Reason)
		}
		var req map[string]json.RawMessage
		_ = json.Unmarshal(payload, &req)
		req["hookDetails"] = res.HookDetails
		payload, _ = json.Marshal(req)
		f.clock.Add(5 * time.Minute)
	}
	if res.HookStatus != hook.StatusFailed || !strings.Contains(res.Reason, "could not tell for 15m") || !strings.Contains(res.Reason, "AccessDeniedException") {
		t.Errorf("after 15m: %s %q, want FAILED naming the denied describe", res.HookStatus, res.Reason)
	}
	if n := len(f.n.sent()); n != 0 {
		t.Errorf("%d messages sent without knowing whether to wait for smoke", n)
	}
}
