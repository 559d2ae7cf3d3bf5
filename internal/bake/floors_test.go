package bake

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/internal/config"
	"github.com/gatehouse-dev/gatehouse/internal/hook"
)

// suiteBake is the suite's bake configuration, as GATEHOUSE_BAKE_CONFIG
// sets it: a required alarm that fails on missing data, a 5xx check, a
// 30-minute window, 500 requests, and no pass without evidence.
func suiteBake(t *testing.T, policy string) Config {
	t.Helper()
	env := map[string]string{config.EnvBakeConfig: `{"window": "30m", "minRequests": 500, "onNoTraffic": "fail",
		"alarms": {"names": ["platform-5xx"], "insufficientData": "fail"},
		"metrics": [{"name": "5xx", "kind": "targetGroup5xxRate", "max": 0.01}]}`, config.EnvPolicy: policy}
	c, err := LoadHookEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	return c.Defaults
}

// TestBakeFloors: the suite's alarms and metric checks always run, besides
// the service's; the window and minRequests only grow; a lenient
// onNoTraffic or insufficientData is refused, unless the policy allows it.
func TestBakeFloors(t *testing.T) {
	got, err := Apply(suiteBake(t, ""), json.RawMessage(`{"alarms": {"names": ["orders-p99"], "insufficientData": "fail"},
		"metrics": [{"name": "latency", "kind": "targetGroupLatencyP99", "maxMs": 800}], "window": "45m", "minRequests": 1000}`))
	if err != nil {
		t.Fatal(err)
	}
	var metrics []string
	for _, m := range got.Metrics {
		metrics = append(metrics, m.Name)
	}
	if diff := cmp.Diff([]string{"orders-p99", "platform-5xx"}, got.Alarms.Names); diff != "" {
		t.Errorf("alarms (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"5xx", "latency"}, metrics); diff != "" {
		t.Errorf("metrics (-want +got):\n%s", diff)
	}
	if got, err := Apply(suiteBake(t, ""), json.RawMessage(`{"alarms": {"insufficientData": "fail"}, "metrics": []}`)); err != nil ||
		len(got.Alarms.Names) != 1 || len(got.Metrics) != 1 {
		t.Errorf("empty alarms and metrics = %+v, %v; want the suite's kept", got, err)
	}
	for details, want := range map[string]string{
		`{"window": "5m"}`:                      "hookDetails.window: 5m is shorter than the suite's 30m (GATEHOUSE_POLICY bake.loosen.window)",
		`{"minRequests": 10}`:                   "hookDetails.minRequests: 10 is below the suite's 500",
		`{"onNoTraffic": "pass"}`:               "hookDetails.onNoTraffic: pass where the suite fails",
		`{"alarms": {"names": ["orders-p99"]}}`: "hookDetails.alarms.insufficientData: ignore where the suite fails on missing alarm data",
		`{"metrics": [{"name": "5xx", "kind": "targetGroup5xxRate", "max": 0.5}]}`: `hookDetails.metrics[0]: "5xx" is one of the suite's metric checks`,
	} {
		if _, err := Apply(suiteBake(t, ""), json.RawMessage(details)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Apply(%s) = %v, want %q", details, err, want)
		}
	}
	loose := suiteBake(t, `{"bake": {"loosen": {"window": true, "minRequests": true, "onNoTraffic": true, "alarms": true, "metrics": true}}}`)
	if !cmp.Equal(hook.Loosen{"window": true, "minRequests": true, "onNoTraffic": true, "alarms": true, "metrics": true}, loose.Policy) {
		t.Fatalf("policy = %v", loose.Policy)
	}
	got, err = Apply(loose, json.RawMessage(`{"window": "5m", "minRequests": 10, "onNoTraffic": "pass", "alarms": {"names": ["orders-p99"]},
		"metrics": [{"name": "5xx", "kind": "targetGroup5xxRate", "max": 0.5}]}`))
	if err != nil || got.Window.Minutes() != 5 || len(got.Alarms.Names) != 1 || *got.Metrics[0].Max != 0.5 {
		t.Errorf("with a policy that loosens all: %+v, %v", got, err)
	}
	// Built-in defaults are no floor: without GATEHOUSE_BAKE_CONFIG a
	// service sets what it likes.
	if _, err := Apply(DefaultConfig(), json.RawMessage(`{"window": "1m", "minRequests": 0, "onNoTraffic": "pass", "alarms": {"names": ["a"]}}`)); err != nil {
		t.Errorf("over the built-in defaults: %v", err)
	}
}
