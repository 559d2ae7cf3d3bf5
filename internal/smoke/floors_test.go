package smoke

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/hook"
)

// suiteSmoke is a suite's smoke configuration: a health check, two passes
// in a row, a fixed base URL.
func suiteSmoke(t *testing.T) Config {
	t.Helper()
	c, err := DefaultConfig().Apply(json.RawMessage(`{"baseUrl": "http://test.internal:8080", "consecutiveSuccesses": 2,
		"checks": [{"name": "health", "path": "/health"}]}`), "GATEHOUSE_SMOKE_CONFIG")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestSmokeFloors: a service's checks run besides the suite's, which it
// cannot change or drop; it cannot lower consecutiveSuccesses or move the
// base URL, unless the policy lets it.
func TestSmokeFloors(t *testing.T) {
	got, err := suiteSmoke(t).ApplyService(json.RawMessage(`{"checks": [{"name": "version", "path": "/version"}], "consecutiveSuccesses": 3}`))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range got.Checks {
		names = append(names, c.Name)
	}
	if strings.Join(names, ",") != "health,version" || got.ConsecutiveSuccesses != 3 {
		t.Errorf("checks %v, %d passes; want the suite's health and the service's version, 3 passes", names, got.ConsecutiveSuccesses)
	}
	if got, err := suiteSmoke(t).ApplyService(json.RawMessage(`{"checks": null}`)); err != nil || len(got.Checks) != 1 || got.Checks[0].Name != "health" {
		t.Errorf("checks: null = %v, %v; want the suite's check kept", got.Checks, err)
	}
	for details, want := range map[string]string{
		`{"headers": {"Host": "blue.internal"}}`:        "hookDetails.headers: run-wide headers apply to the suite's checks too",
		`{"retries": 20}`:                               "hookDetails.retries: 20 is above the suite's 3 (GATEHOUSE_POLICY smoke.loosen.retries)",
		`{"timeoutMs": 60000}`:                          "hookDetails.timeoutMs: 60000 is above the suite's 5000",
		`{"checks": [{"name": "health", "path": "/"}]}`: `hookDetails.checks[0]: "health" is one of the suite's checks, which always run as the suite gives them (GATEHOUSE_POLICY smoke.loosen.checks)`,
		`{"consecutiveSuccesses": 1}`:                   "hookDetails.consecutiveSuccesses: 1 is below the suite's 2 (GATEHOUSE_POLICY smoke.loosen.consecutiveSuccesses)",
		`{"baseUrl": "http://always-ok.example"}`:       "hookDetails.baseUrl: the suite's checks go to http://test.internal:8080 (GATEHOUSE_POLICY smoke.loosen.baseUrl)",
	} {
		if _, err := suiteSmoke(t).ApplyService(json.RawMessage(details)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ApplyService(%s) = %v, want %q", details, err, want)
		}
	}
	loose := suiteSmoke(t)
	loose.Policy = hook.Loosen{"checks": true, "consecutiveSuccesses": true, "baseUrl": true, "headers": true, "retries": true, "timeoutMs": true}
	got, err = loose.ApplyService(json.RawMessage(`{"checks": [{"name": "health", "path": "/"}], "consecutiveSuccesses": 1, "baseUrl": "http://other.internal"}`))
	if err != nil || len(got.Checks) != 1 || got.Checks[0].Path != "/" || got.ConsecutiveSuccesses != 1 || got.BaseURL != "http://other.internal" {
		t.Errorf("with a policy that loosens all: %+v, %v", got, err)
	}
}

// TestSmokeDiscoveryIsAFloor: where the suite gives checks and discovers
// the test listener, a service cannot point them elsewhere; where the suite
// gives no checks, a service's own checks go where it says.
func TestSmokeDiscoveryIsAFloor(t *testing.T) {
	suite, err := DefaultConfig().Apply(json.RawMessage(`{"checks": [{"name": "health", "path": "/health"}]}`), "GATEHOUSE_SMOKE_CONFIG")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := suite.ApplyService(json.RawMessage(`{"baseUrl": "http://always-ok.example"}`)); err == nil || !strings.Contains(err.Error(), "the suite's checks go to the discovered test listener") {
		t.Errorf("baseUrl over discovery = %v, want refused", err)
	}
	if _, err := DefaultConfig().ApplyService(json.RawMessage(`{"baseUrl": "http://orders.internal", "headers": {"Host": "orders"}, "retries": 20,
		"checks": [{"name": "h", "path": "/"}]}`)); err != nil {
		t.Errorf("a service's own checks over a suite without checks = %v", err)
	}
}
