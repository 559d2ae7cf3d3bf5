package smoke

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/hook"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

func newReports() *store.Memory { return store.NewMemory() }

func request(details string) hook.Request {
	r := hook.Request{
		ExecutionID:      "f4fcae0f-1111-2222-3333-444455556666",
		LifecycleStage:   hook.StagePostTestTrafficShift,
		ResourceARN:      deploymentARN,
		ExecutionDetails: hook.ExecutionDetails{ServiceARN: "arn:aws:ecs:us-west-2:123456789012:service/prod-cluster/orders", TargetServiceRevisionARN: greenARN},
	}
	if details != "" {
		r.HookDetails = json.RawMessage(details)
	}
	return r
}

func TestHookHandler(t *testing.T) {
	srv := httptest.NewServer(&app{})
	defer srv.Close()
	defaults, err := DefaultConfig().Apply([]byte(`{"retries":0,"checks":[{"name":"health","path":"/health","bodyContains":"ok"}]}`), "GATEHOUSE_SMOKE_CONFIG")
	if err != nil {
		t.Fatal(err)
	}
	// Each service gives the URL: the suite's policy lets it.
	defaults.Policy = hook.Loosen{"baseUrl": true}
	tests := []struct {
		name    string
		details string
		status  hook.Status
		reason  string
	}{
		{"defaults with a baseUrl in hookDetails", fmt.Sprintf(`{"baseUrl":%q}`, srv.URL), hook.StatusSucceeded, "smoke checks passed: 1 of 1"},
		{"hookDetails checks run besides the defaults", fmt.Sprintf(`{"baseUrl":%q,"checks":[{"name":"api","path":"/broken"}]}`, srv.URL),
			hook.StatusFailed, "smoke checks failed: api [1 attempt]: status 500, want 200"},
		{"hookDetails as CloudFormation writes them, a string", fmt.Sprintf(`%q`, fmt.Sprintf(`{"baseUrl":%q}`, srv.URL)), hook.StatusSucceeded, "passed"},
		{"no baseUrl and no discovery", ``, hook.StatusFailed, "baseUrl: not configured"},
		{"bad configuration names the field", `{"baseUrl":"http://x","checks":[{"name":"h","path":"h"}]}`, hook.StatusFailed,
			`invalid smoke configuration: hookDetails.checks[0].path: "h" is not a path`},
		{"unknown key", `{"baseUrl":"http://x","retry":1}`, hook.StatusFailed, "hookDetails.retry: unknown key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reports := newReports()
			h := HookHandler(&Runner{Client: srv.Client(), Reports: reports, Log: slog.New(slog.DiscardHandler)}, defaults)
			req := request("")
			if tt.details != "" {
				// Decode as ECS's payload would be, string form included.
				payload, _ := json.Marshal(map[string]any{"executionId": req.ExecutionID, "lifecycleStage": req.LifecycleStage,
					"resourceArn": req.ResourceARN, "executionDetails": req.ExecutionDetails, "hookDetails": json.RawMessage(tt.details)})
				if err := json.Unmarshal(payload, &req); err != nil {
					t.Fatal(err)
				}
			}
			res, err := h(context.Background(), req)
			if err != nil {
				t.Fatalf("handler = %v", err)
			}
			if res.HookStatus != tt.status || !strings.Contains(res.Reason, tt.reason) {
				t.Errorf("handler = %s %q, want %s with %q", res.HookStatus, res.Reason, tt.status, tt.reason)
			}
			if res.HookStatus != hook.StatusInProgress && res.HookDetails != nil {
				t.Errorf("final answer carries hookDetails %s", res.HookDetails)
			}
			// Every run leaves a report, also one that could not start.
			rep, err := LoadReport(context.Background(), reports, deployment(t), hook.StagePostTestTrafficShift)
			if err != nil {
				t.Fatalf("LoadReport = %v", err)
			}
			if want := map[hook.Status]Verdict{hook.StatusSucceeded: VerdictPassed, hook.StatusFailed: VerdictFailed}[tt.status]; rep.Verdict != want || rep.Summary != res.Reason {
				t.Errorf("report verdict %s %q, want %s %q", rep.Verdict, rep.Summary, want, res.Reason)
			}
		})
	}
}

func TestHookHandlerPassesRollbacks(t *testing.T) {
	h := HookHandler(&Runner{}, DefaultConfig())
	req := request("")
	req.LifecycleStage = hook.StageTestTrafficShift
	req.ExecutionDetails.TestTrafficWeights = map[string]float64{greenARN: 0, "arn:blue": 100}
	res, err := h(context.Background(), req)
	if err != nil || res.HookStatus != hook.StatusSucceeded {
		t.Errorf("rollback = %+v, %v, want SUCCEEDED at once", res, err)
	}
}

func TestDiscovery(t *testing.T) {
	srv := httptest.NewServer(&app{})
	defer srv.Close()
	cfg := `{"checks":[{"name":"green","path":"/needs-header"}]}`
	tests := []struct {
		name     string
		discover func() (Target, error)
		status   hook.Status
		reason   string
	}{
		{"found, with the rule's headers", func() (Target, error) {
			return Target{BaseURL: srv.URL, Headers: map[string]string{"x-amzn-ecs-bluegreen-test": "true", "Host": "green.internal"}, Source: "test listener rule x"}, nil
		}, hook.StatusSucceeded, "passed"},
		{"no test listener", func() (Target, error) { return Target{}, errors.New("no test listener") }, hook.StatusFailed,
			"baseUrl: not configured, and the test listener could not be discovered: no test listener"},
		{"throttled", func() (Target, error) { return Target{}, hook.Transient(errors.New("throttled")) }, hook.StatusInProgress,
			"baseUrl: transient error, trying again: not configured, and the test listener could not be discovered: throttled"},
		{"discovered nonsense", func() (Target, error) { return Target{BaseURL: "tcp://x"}, nil }, hook.StatusFailed, "baseUrl: discovered"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &Runner{Client: srv.Client(), Log: slog.New(slog.DiscardHandler),
				Discoverer: DiscoverFunc(func(context.Context, string) (Target, error) { return tt.discover() })}
			res, err := HookHandler(r, DefaultConfig())(context.Background(), request(cfg))
			if err != nil || res.HookStatus != tt.status || !strings.Contains(res.Reason, tt.reason) {
				t.Errorf("handler = %+v, %v, want %s with %q", res, err, tt.status, tt.reason)
			}
		})
	}
}

// TestReportWriteRetried: the final report may be what the approval hook
// waits for, so a transient failure to write it is retried on the next call
// (without running the checks again); a permanent one is logged and the
// verdict stands.
func TestReportWriteRetried(t *testing.T) {
	a := &app{}
	srv := httptest.NewServer(a)
	defer srv.Close()
	reports := newReports()
	var fails atomic.Int32
	fails.Store(1)
	reports.Fail = func(_, key string) error {
		if fails.Add(-1) >= 0 {
			return hook.Transient(errors.New("503 slow down"))
		}
		return nil
	}
	h := HookHandler(&Runner{Client: srv.Client(), Reports: reports, Log: slog.New(slog.DiscardHandler)}, DefaultConfig())
	details := fmt.Sprintf(`{"baseUrl":%q,"checks":[{"name":"health","path":"/health"}]}`, srv.URL)
	res, err := h(context.Background(), request(details))
	if err != nil || res.HookStatus != hook.StatusInProgress || !strings.Contains(res.Reason, "writing the report failed") || res.CallBackDelay != reportRetryDelay {
		t.Fatalf("first call = %+v, %v, want IN_PROGRESS to write the report again", res, err)
	}
	merged := mergeJSON(t, json.RawMessage(details), res.HookDetails, false, false)
	res, err = h(context.Background(), request(string(merged)))
	if err != nil || res.HookStatus != hook.StatusSucceeded {
		t.Fatalf("second call = %+v, %v, want SUCCEEDED", res, err)
	}
	if n := a.count("/health"); n != 1 {
		t.Errorf("/health requested %d times, want once: the second call only writes the report", n)
	}
	if _, err := LoadReport(context.Background(), reports, deployment(t), hook.StagePostTestTrafficShift); err != nil {
		t.Errorf("LoadReport = %v", err)
	}

	reports.Fail = func(_, _ string) error { return errors.New("AccessDenied") }
	res, err = h(context.Background(), request(details))
	if err != nil || res.HookStatus != hook.StatusSucceeded || !strings.Contains(res.Reason, "report not written: AccessDenied") {
		t.Errorf("with a permanent write error = %+v, %v, want SUCCEEDED saying the report was not written", res, err)
	}
}

func TestReportKeys(t *testing.T) {
	srv := httptest.NewServer(&app{})
	defer srv.Close()
	reports := newReports()
	h := HookHandler(&Runner{Client: srv.Client(), Reports: reports, Log: slog.New(slog.DiscardHandler)}, DefaultConfig())
	if _, err := h(context.Background(), request(fmt.Sprintf(`{"baseUrl":%q,"checks":[{"name":"health","path":"/health"}]}`, srv.URL))); err != nil {
		t.Fatal(err)
	}
	const prefix = "reports/123456789012/us-west-2/prod-cluster/orders/EZe5RNVLH6PPzHXINuP28/smoke-POST_TEST_TRAFFIC_SHIFT."
	keys := reports.Keys()
	if len(keys) != 2 || keys[0] != prefix+"json" || keys[1] != prefix+"txt" {
		t.Errorf("keys = %q, want %sjson and %stxt", keys, prefix, prefix)
	}
	if got := ReportKey(deployment(t), hook.StagePostTestTrafficShift, ExtText); got != prefix+"txt" {
		t.Errorf("ReportKey = %q", got)
	}
	if ct := reports.ContentType(prefix + "json"); ct != "application/json" {
		t.Errorf("JSON report content type %q", ct)
	}
	if ct := reports.ContentType(prefix + "txt"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("text report content type %q", ct)
	}
}

func TestLoadReportErrors(t *testing.T) {
	reports := newReports()
	d := deployment(t)
	if _, err := LoadReport(context.Background(), reports, d, hook.StagePostTestTrafficShift); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("LoadReport(none) = %v, want store.ErrNotFound", err)
	}
	key := ReportKey(d, hook.StagePostTestTrafficShift, ExtJSON)
	for body, want := range map[string]string{
		`not json`:                         "invalid character",
		`{"version":2,"verdict":"passed"}`: "version 2",
		`{"version":1,"verdict":"maybe"}`:  `verdict "maybe"`,
	} {
		_ = reports.Put(context.Background(), key, []byte(body), "application/json")
		if _, err := LoadReport(context.Background(), reports, d, hook.StagePostTestTrafficShift); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("LoadReport(%s) = %v, want %q", body, err, want)
		}
	}
}
