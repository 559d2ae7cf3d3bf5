package smoke

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/internal/golden"
	"github.com/gatehouse-dev/gatehouse/internal/hook"
)

func sampleReport(v Verdict) Report {
	started := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	r := Report{
		Version:           ReportVersion,
		DeploymentARN:     deploymentARN,
		Stage:             hook.StagePostTestTrafficShift,
		TargetRevisionARN: greenARN,
		BaseURL:           "http://my-alb-123.us-west-2.elb.amazonaws.com:8080",
		Source:            "test listener rule arn:aws:elasticloadbalancing:us-west-2:123456789012:listener-rule/app/my-alb/50dc6c495c0c9188/f2f7dc8efc522ab2/9683b2d02a6cabee",
		Verdict:           v,
		Started:           started,
		Updated:           started.Add(95 * time.Second),
		Calls:             3,
		Checks: []CheckResult{
			{Name: "health", Method: "GET", Path: "/health", Critical: true, Outcome: OutcomePassed, Passed: true, Attempts: 2, LastStatus: 200, LastLatencyMs: 12},
			{Name: "login page", Method: "GET", Path: "/login", Critical: true, Outcome: OutcomeFailed, Attempts: 4, LastStatus: 500, LastLatencyMs: 31,
				LastError: "status 500, want one of 200, 302"},
			{Name: "api version", Method: "GET", Path: "/api/version", Outcome: OutcomeFailed, Attempts: 4, LastStatus: 200, LastLatencyMs: 8,
				LastError: `$.version does not equal the string "2.4.1"`},
		},
		Notes: []string{"the test listener rule only routes paths matching /api/* or /health"},
	}
	switch v {
	case VerdictRunning:
		r.Checks[1].Outcome, r.Checks[2].Outcome = OutcomeRunning, OutcomeRunning
		r.Checks[2].Critical = true
		r.Summary = summarize(r, 12*time.Second)
	default:
		r.Finished = r.Updated
		r.Summary = summarize(r, 0)
	}
	return r
}

func TestReportGolden(t *testing.T) {
	failed := sampleReport(VerdictFailed)
	golden.Check(t, "report-failed.txt", failed.Text())
	golden.Check(t, "report-failed.json", string(failed.EncodeJSON()))
	golden.Check(t, "report-running.txt", sampleReport(VerdictRunning).Text())
}

func TestSummary(t *testing.T) {
	tests := []struct {
		v    Verdict
		want string
	}{
		{VerdictFailed, "smoke checks failed: login page [4 attempts]: status 500, want one of 200, 302; " +
			`non-critical failed: api version [4 attempts]: $.version does not equal the string "2.4.1"`},
		{VerdictRunning, "smoke checks running: 1 of 3 passed; retrying login page [4 attempts]: status 500, want one of 200, 302; " +
			`api version [4 attempts]: $.version does not equal the string "2.4.1"; next attempt in 12s`},
	}
	for _, tt := range tests {
		if got := sampleReport(tt.v).Summary; got != tt.want {
			t.Errorf("summary(%s) =\n%q, want\n%q", tt.v, got, tt.want)
		}
	}
	var many Report
	many.Verdict = VerdictFailed
	for i := range 8 {
		many.Checks = append(many.Checks, CheckResult{Name: string(rune('a' + i)), Critical: true, Outcome: OutcomeFailed, Attempts: 1})
	}
	if got, want := summarize(many, 0), "smoke checks failed: a [1 attempt]; b [1 attempt]; c [1 attempt]; d [1 attempt]; e [1 attempt]; and 3 more"; got != want {
		t.Errorf("summary of many = %q, want %q", got, want)
	}
}

func TestReportJSONRoundTrip(t *testing.T) {
	r := sampleReport(VerdictFailed)
	var got Report
	if err := json.Unmarshal(r.EncodeJSON(), &got); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(r, got); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	if strings.Contains(string(sampleReport(VerdictRunning).EncodeJSON()), `"finished"`) {
		t.Error("a running report has a finished time")
	}
	if f := r.Failed(true); len(f) != 1 || f[0].Name != "login page" {
		t.Errorf("Failed(critical) = %+v, want login page", f)
	}
}
