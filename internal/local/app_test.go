package local

import (
	"context"
	"io"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/rollout"
	"github.com/gatehouse-dev/gatehouse/internal/simulator"
)

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func TestAppRouting(t *testing.T) {
	app, err := NewApp(time.Now)
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	app.Prepare(Broken)
	if _, body := get(t, app.Production.URL+"/api/version"); !strings.Contains(body, `"2.4.0"`) {
		t.Errorf("production before the deployment: %s", body)
	}
	if err := app.StartGreen(context.Background()); err != nil {
		t.Fatal(err)
	}
	app.RouteTest(simulator.Green)
	if code, _ := get(t, app.Test.URL+"/health"); code != http.StatusInternalServerError {
		t.Errorf("broken green's health through the test listener = %d, want 500", code)
	}
	if code, _ := get(t, app.Production.URL+"/health"); code != http.StatusOK {
		t.Errorf("production (still blue) health = %d, want 200", code)
	}
	if app.Test.Target() != simulator.Green || app.Production.Target() != simulator.Blue {
		t.Errorf("targets: test %s production %s", app.Test.Target(), app.Production.Target())
	}
	app.RouteTest(simulator.Blue)
	app.StopGreen()
	if code, _ := get(t, app.Test.URL+"/health"); code != http.StatusOK {
		t.Errorf("test listener after rollback = %d, want blue's 200", code)
	}
}

// appWithGreen starts the sample app with a green revision that behaves
// as mode.
func appWithGreen(t *testing.T, mode Mode) *App {
	t.Helper()
	app, err := NewApp(time.Now)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(app.Close)
	app.Prepare(mode)
	if err := app.StartGreen(context.Background()); err != nil {
		t.Fatal(err)
	}
	return app
}

func TestAppDegradingAndStats(t *testing.T) {
	app := appWithGreen(t, Degrading)
	app.RouteTest(simulator.Green)
	for range 6 {
		if code, _ := get(t, app.Test.URL+"/"); code != http.StatusOK {
			t.Fatalf("degrading green before the production shift = %d, want 200", code)
		}
	}
	start := time.Now()
	app.RouteProduction(simulator.Green)
	for range 30 {
		get(t, app.Production.URL+"/")
	}
	st := app.Production.Stats(simulator.Green, start, time.Now().Add(time.Second))
	if st.Requests < 30 || st.Errors5xx == 0 || st.Errors5xx > st.Requests/2 {
		t.Errorf("green stats after the production shift = %+v, want about a third failing", st)
	}
	if st.P99 < st.P50 || st.P50 <= 0 {
		t.Errorf("latency percentiles = %+v", st)
	}
	app.StopBlue()
	if app.Production.Target() != simulator.Blue {
		t.Errorf("after CLEAN_UP production forwards to %q, want the new blue", app.Production.Target())
	}
	if blue, green := app.Versions(); blue != "2.4.1" || green != "2.4.2" {
		t.Errorf("versions after CLEAN_UP = %s, %s", blue, green)
	}
}

func TestConfig(t *testing.T) {
	c, err := ParseConfig([]byte(`
speed: 120
bakeTime: 2m
green: slow
hooks:
  - function: approval-hook
    stages: [POST_TEST_TRAFFIC_SHIFT]
    hookDetails: {approvers: [ops@example.com], timeout: 30m}
    timeout: 1h
    onTimeout: ROLLBACK
`))
	if err != nil {
		t.Fatal(err)
	}
	if c.Speed != 120 || c.BakeTime != "2m" || c.Green != "slow" || len(c.Hooks) != 1 || !strings.Contains(string(c.Hooks[0].HookDetails), "ops@example.com") {
		t.Errorf("config = %+v", c)
	}
	c, err = ParseConfig([]byte("strategy: canary\ncanaryPercent: 20\ncanaryBake: 3m\necs: hookdetails=merge,rollback-weights=absent\n"))
	if err != nil {
		t.Fatal(err)
	}
	if s, err := c.Rollout(); err != nil || s != (rollout.Strategy{Kind: rollout.Canary, CanaryPercent: 20, CanaryBake: 3 * time.Minute}) || c.ECS != "hookdetails=merge,rollback-weights=absent" {
		t.Errorf("strategy and ECS from the file: %+v, %v (config %+v)", s, err, c)
	}
	// No bake between steps stays none (ECS allows 0).
	c, err = ParseConfig([]byte("strategy: linear\nstepBake: 0s\n"))
	if s, rerr := c.Rollout(); err != nil || rerr != nil || s.BakeAfter(0) != 0 {
		t.Errorf("stepBake 0s: %v, %v, bake %v; want none", err, rerr, s.BakeAfter(0))
	}
	for text, want := range map[string]string{
		"strategy: rolling":                  "strategy: \"rolling\" is not a strategy",
		"strategy: linear\nstepPercent: 1":   "stepPercent: 1, want a multiple of 0.1 from 3 to 100",
		"strategy: canary\ncanaryBake: soon": "canaryBake: \"soon\" is not a duration",
		"ecs: hookdetails=patch":             "ecs: hookdetails=patch: want one of",
		// ECS allows a Lambda hook 24 hours, a PAUSE hook 14 days.
		"hooks: [{function: smoke-hook, stages: [POST_TEST_TRAFFIC_SHIFT], timeout: 25h}]":                                 "hooks[0].timeout: \"25h\", want whole minutes from 1m to 24h, the most ECS allows a Lambda hook",
		"hooks: [{function: approval-hook, stages: [POST_TEST_TRAFFIC_SHIFT], targetType: PAUSE, timeout: 337h}]":          "hooks[0].timeout: \"337h\", want whole minutes from 1m to 336h, the most ECS allows a PAUSE hook",
		"hooks: [{function: approval-hook, stages: [POST_TEST_TRAFFIC_SHIFT], hookDetails: {timeout: 47h}, timeout: 24h}]": "hooks[0].hookDetails.timeout: 47h cannot expire before ECS's 24-hour limit",
		"hooks: [{function: approval-hook, stages: [POST_TEST_TRAFFIC_SHIFT], hookDetails: {timeout: 24h}}]":               "use approval mode pause, where an ECS PAUSE hook waits up to 14 days",
		// hookDetails are read up front by the function's own decoder.
		"approvers: [ops@example.com]\nhooks: [{function: approval-hook, stages: [POST_TEST_TRAFFIC_SHIFT], hookDetails: {requiredApprovals: 3}}]": "hooks[0].hookDetails: requiredApprovals: 3 is more than the 1 approvers (the approval-hook would answer FAILED",
		"hooks: [{function: approval-hook, stages: [POST_TEST_TRAFFIC_SHIFT], hookDetails: {approver: [ops@example.com]}}]":                        "hooks[0].hookDetails.approver: unknown key",
		"approvalMode: pause\nhooks: [{function: approval-hook, stages: [POST_TEST_TRAFFIC_SHIFT], hookDetails: {onExpiry: maybe}}]":               "hooks[0].hookDetails: onExpiry: \"maybe\", want reject or approve",
		"hooks: [{function: bake-hook, stages: [POST_PRODUCTION_TRAFFIC_SHIFT], hookDetails: {window: 3q}}]":                                       "hooks[0].hookDetails.window: want a duration",
		// An approval must be able to expire before ECS times its hook out.
		"approvalMode: pause\nhooks: [{function: approval-hook, stages: [POST_TEST_TRAFFIC_SHIFT], hookDetails: {timeout: 47h}}]": "hooks[0].hookDetails.timeout: 47h is not below the hook's timeout 24h",
		"hooks: [{function: approval-hook, stages: [POST_TEST_TRAFFIC_SHIFT], hookDetails: {timeout: 90m}, timeout: 1h}]":         "hooks[0].hookDetails.timeout: 1h30m is not below the hook's timeout 1h",
		"hooks: [{function: smoke-hook, stages: [POST_TEST_TRAFFIC_SHIFT], hookDetails: {checks: [{path: /x}]}}]":                 "hooks[0].hookDetails.checks[0].name: missing",
	} {
		if _, err := ParseConfig([]byte(text)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseConfig(%q) = %v, want %q", text, err, want)
		}
	}
	if c, err := ParseConfig([]byte(`{"speed": 10}`)); err != nil || c.Speed != 10 || len(c.Hooks) != 3 {
		t.Errorf("JSON config = %+v, %v; want speed 10 and the default hooks", c, err)
	}
	c, err = ParseConfig([]byte("approvers: [ops@example.com]"))
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range c.Hooks {
		if h.Function == FnApproval && (!strings.Contains(string(h.HookDetails), "ops@example.com") || strings.Contains(string(h.HookDetails), "alice")) {
			t.Errorf("approvers from the file: approval hookDetails = %s", h.HookDetails)
		}
	}
	if _, err := ParseConfig([]byte("approvers: [not-an-address]")); err == nil {
		t.Error("a bad approver address = nil error, want one")
	}
	// In pause mode the approval hook is a PAUSE hook: it may wait 14 days.
	if _, err := ParseConfig([]byte("approvalMode: pause\nhooks: [{function: approval-hook, stages: [POST_TEST_TRAFFIC_SHIFT], hookDetails: {timeout: 47h}, timeout: 48h}]")); err != nil {
		t.Errorf("a 47h approval on a 48h PAUSE hook = %v, want accepted", err)
	}
	if c, err := ParseConfig(nil); err != nil || c.Speed != 60 {
		t.Errorf("empty config = %+v, %v", c, err)
	}
	for _, bad := range []string{
		`speeed: 2`,
		`approvers: [x]`,
		`speed: -1`,
		`bakeTime: soon`,
		`green: purple`,
		`hooks: [{function: deploy-hook, stages: [POST_TEST_TRAFFIC_SHIFT]}]`,
		`hooks: [{function: approval-hook, stages: [SCALE_UP]}]`,
		`hooks: [{function: approval-hook, stages: []}]`,
		`hooks: [{function: approval-hook, stages: [PRE_SCALE_UP], onTimeout: WAIT}]`,
		`hooks: [{function: approval-hook, stages: [PRE_SCALE_UP], timeout: 2d}]`,
	} {
		if _, err := ParseConfig([]byte(bad)); err == nil {
			t.Errorf("ParseConfig(%q) = nil error, want one", bad)
		}
	}
}

// TestAppWeighedProduction: during a linear or canary step the production
// listener sends exactly the step's share of the requests to green, and a
// rollback sends them all back to blue.
func TestAppWeighedProduction(t *testing.T) {
	app := appWithGreen(t, Healthy)
	for _, share := range []float64{25, 10, 0.5} {
		start := time.Now()
		app.WeighProduction(share)
		if got := app.Production.GreenShare(); got != share {
			t.Errorf("GreenShare = %v, want %v", got, share)
		}
		for range 400 {
			get(t, app.Production.URL+"/")
		}
		end := time.Now().Add(time.Millisecond)
		green, blue := app.Production.Stats(simulator.Green, start, end).Requests, app.Production.Stats(simulator.Blue, start, end).Requests
		// The background load shares the listener; the split holds to
		// one request over all of them.
		if want := float64(green+blue) * share / 100; math.Abs(float64(green)-want) > 1 {
			t.Errorf("at %v%%: green got %d of %d, want %.1f", share, green, green+blue, want)
		}
	}
	app.RouteProduction(simulator.Blue)
	start := time.Now()
	for range 20 {
		get(t, app.Production.URL+"/")
	}
	if g := app.Production.Stats(simulator.Green, start, time.Now().Add(time.Millisecond)).Requests; g != 0 || app.Production.GreenShare() != 0 {
		t.Errorf("after the rollback green got %d requests, share %v", g, app.Production.GreenShare())
	}
}
