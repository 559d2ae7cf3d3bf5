package smoke

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/hook"
	"github.com/gatehouse-dev/gatehouse/internal/layout"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// Verdict is the result of a smoke test run.
type Verdict string

// The verdicts.
const (
	// VerdictRunning: checks are still being retried; the hook answered
	// IN_PROGRESS.
	VerdictRunning Verdict = "running"
	// VerdictPassed: every critical check passed; the hook answered SUCCEEDED.
	VerdictPassed Verdict = "passed"
	// VerdictFailed: a critical check failed, or the run could not start
	// (bad configuration, no base URL); the hook answered FAILED.
	VerdictFailed Verdict = "failed"
)

// ReportVersion is the version of the report format.
const ReportVersion = 1

// Report is the record of one smoke test run for a deployment and stage. It
// is written to the state bucket at ReportKey, as JSON (ExtJSON) and as
// short text (ExtText), after every call of the hook: while running, and once
// more with the verdict.
type Report struct {
	// Version is ReportVersion.
	Version int `json:"version"`
	// DeploymentARN is the service-deployment ARN.
	DeploymentARN string `json:"deploymentArn"`
	// Stage is the lifecycle stage the hook ran at.
	Stage hook.Stage `json:"stage"`
	// TargetRevisionARN is the revision under test (green).
	TargetRevisionARN string `json:"targetRevisionArn"`
	// BaseURL is where the checks went; empty if the run could not start.
	BaseURL string `json:"baseUrl"`
	// Source says where BaseURL came from: "config", or the test listener
	// it was discovered from.
	Source string `json:"source"`
	// Verdict is running, passed or failed.
	Verdict Verdict `json:"verdict"`
	// Summary says why, in one line: the reason the hook answered with.
	Summary string `json:"summary"`
	// Started is when the run started; Updated when this report was written;
	// Finished when the verdict was reached (zero while running).
	Started  time.Time `json:"started"`
	Updated  time.Time `json:"updated"`
	Finished time.Time `json:"finished,omitzero"`
	// Calls counts the hook calls the run took.
	Calls int `json:"calls"`
	// Checks has one result per configured check, in order.
	Checks []CheckResult `json:"checks"`
	// Notes are caveats about the target, such as test listener rule
	// conditions discovery could not satisfy.
	Notes []string `json:"notes,omitempty"`
}

// CheckResult is how one check fared. It never holds response bodies or
// header values.
type CheckResult struct {
	// Name is the check's name.
	Name string `json:"name"`
	// Method and Path are the request (the path without its query).
	Method string `json:"method"`
	Path   string `json:"path"`
	// Critical reports whether the check decides the verdict.
	Critical bool `json:"critical"`
	// Outcome is running, passed, failed or cancelled.
	Outcome Outcome `json:"outcome"`
	// Passed is Outcome == passed.
	Passed bool `json:"passed"`
	// Attempts counts the requests made.
	Attempts int `json:"attempts"`
	// LastStatus is the last response's status; 0 if there was none.
	LastStatus int `json:"lastStatus"`
	// LastLatencyMs is the last attempt's latency in milliseconds.
	LastLatencyMs int64 `json:"lastLatencyMs"`
	// LastError says why the last attempt failed; empty if it passed.
	LastError string `json:"lastError,omitempty"`
}

// Failed returns the results of the checks that failed, critical or not.
func (r Report) Failed(critical bool) []CheckResult {
	var out []CheckResult
	for _, c := range r.Checks {
		if c.Outcome == OutcomeFailed && c.Critical == critical {
			out = append(out, c)
		}
	}
	return out
}

// Extensions of the two report objects.
const (
	ExtJSON = "json"
	ExtText = "txt"
)

// ReportPrefix is the key prefix of every report in the state bucket
// (package layout).
const ReportPrefix = layout.Reports

// ReportKey returns the key of the smoke report for a deployment and stage,
// with extension ext (ExtJSON or ExtText):
// reports/<account>/<region>/<cluster>/<service>/<deployment-id>/smoke-<STAGE>.<ext>.
// The segments come from a parsed ARN and are safe in a key.
func ReportKey(d hook.DeploymentARN, stage hook.Stage, ext string) string {
	return layout.SmokeReport(d, stage, ext)
}

// ReportReader reads reports. *store.S3 and *store.Memory satisfy it.
type ReportReader interface {
	// Get returns the object at key, or an error wrapping store.ErrNotFound
	// if there is none.
	Get(ctx context.Context, key string) (store.Object, error)
}

// ReportWriter writes reports.
type ReportWriter interface {
	// Put stores body at key with the given content type, replacing
	// whatever is there: each deployment and stage has its own keys, and a
	// later call of the same run knows more than an earlier one.
	Put(ctx context.Context, key string, body []byte, contentType string) error
}

// LoadReport reads the smoke report for a deployment and stage. It returns
// an error wrapping store.ErrNotFound if no smoke run has written one.
func LoadReport(ctx context.Context, g ReportReader, d hook.DeploymentARN, stage hook.Stage) (Report, error) {
	key := ReportKey(d, stage, ExtJSON)
	obj, err := g.Get(ctx, key)
	if err != nil {
		return Report{}, fmt.Errorf("load smoke report %s: %w", key, err)
	}
	var r Report
	if err := json.Unmarshal(obj.Body, &r); err != nil {
		return Report{}, fmt.Errorf("load smoke report %s: %w", key, err)
	}
	if r.Version != ReportVersion {
		return Report{}, fmt.Errorf("load smoke report %s: version %d, want %d", key, r.Version, ReportVersion)
	}
	switch r.Verdict {
	case VerdictRunning, VerdictPassed, VerdictFailed:
	default:
		return Report{}, fmt.Errorf("load smoke report %s: verdict %q", key, r.Verdict)
	}
	return r, nil
}

// EncodeJSON returns the report as indented JSON.
func (r Report) EncodeJSON() []byte {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		panic(fmt.Sprintf("encode smoke report: %v", err))
	}
	return append(b, '\n')
}

// Text renders the report as short plain text for people: the verdict,
// where the checks went, and one line per check.
func (r Report) Text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "gatehouse smoke test: %s\n", strings.ToUpper(string(r.Verdict)))
	fmt.Fprintf(&b, "%s\n\n", r.Summary)
	row := func(k, v string) {
		if v != "" {
			fmt.Fprintf(&b, "%-11s %s\n", k, v)
		}
	}
	row("deployment", r.DeploymentARN)
	row("stage", string(r.Stage))
	row("revision", r.TargetRevisionARN)
	target := r.BaseURL
	if target != "" && r.Source != "" && r.Source != SourceConfig {
		target += " (" + r.Source + ")"
	}
	row("target", target)
	row("started", formatTime(r.Started))
	row("finished", formatTime(r.Finished))
	if r.Finished.IsZero() {
		row("updated", formatTime(r.Updated))
	}
	row("calls", strconv.Itoa(r.Calls))
	for _, n := range r.Notes {
		row("note", n)
	}
	if len(r.Checks) == 0 {
		return b.String()
	}
	nameW := len("check")
	for _, c := range r.Checks {
		nameW = max(nameW, len(c.Name))
	}
	b.WriteString("\n")
	fmt.Fprintf(&b, "%-*s  %-8s  %-9s  %-8s  %-6s  %-7s  %s\n", nameW, "check", "critical", "outcome", "attempts", "status", "latency", "detail")
	for _, c := range r.Checks {
		crit, status, latency := "no", "-", "-"
		if c.Critical {
			crit = "yes"
		}
		if c.LastStatus != 0 {
			status = strconv.Itoa(c.LastStatus)
		}
		if c.Attempts > 0 {
			latency = strconv.FormatInt(c.LastLatencyMs, 10) + "ms"
		}
		detail := c.Method + " " + c.Path
		if c.LastError != "" {
			detail += ": " + c.LastError
		}
		fmt.Fprintf(&b, "%-*s  %-8s  %-9s  %-8d  %-6s  %-7s  %s\n", nameW, c.Name, crit, c.Outcome, c.Attempts, status, latency, detail)
	}
	return b.String()
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// maxListed bounds how many checks a summary names.
const maxListed = 5

// summarize builds the one-line summary of r from its checks.
func summarize(r Report, next time.Duration) string {
	var critical, passed int
	var failed, failedOptional, running []CheckResult
	for _, c := range r.Checks {
		if c.Critical {
			critical++
		}
		switch c.Outcome {
		case OutcomePassed:
			passed++
		case OutcomeFailed:
			if c.Critical {
				failed = append(failed, c)
			} else {
				failedOptional = append(failedOptional, c)
			}
		case OutcomeRunning:
			running = append(running, c)
		}
	}
	var s string
	switch r.Verdict {
	case VerdictFailed:
		s = "smoke checks failed: " + list(failed)
	case VerdictPassed:
		s = fmt.Sprintf("smoke checks passed: %d of %d (%d critical)", passed, len(r.Checks), critical)
	default:
		s = fmt.Sprintf("smoke checks running: %d of %d passed; retrying %s", passed, len(r.Checks), list(running))
		if next > 0 {
			s += "; next attempt in " + next.Round(time.Second).String()
		}
	}
	if len(failedOptional) > 0 {
		s += "; non-critical failed: " + list(failedOptional)
	}
	return s
}

// list names checks, each with its attempts and why it last failed:
// "login page [4 attempts]: status 500, want 200".
func list(cs []CheckResult) string {
	var parts []string
	for i, c := range cs {
		if i == maxListed {
			parts = append(parts, fmt.Sprintf("and %d more", len(cs)-maxListed))
			break
		}
		p := c.Name
		if c.Attempts > 0 {
			p += " [" + plural(c.Attempts, "attempt") + "]"
		}
		if c.LastError != "" {
			p += ": " + c.LastError
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, "; ")
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}
