package bake

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func f64(v float64) *float64 { return &v }

func TestParseConfig(t *testing.T) {
	got, err := ParseConfig([]byte(issueConfig))
	if err != nil {
		t.Fatalf("ParseConfig(issue example) = %v", err)
	}
	want := Config{
		Window: 10 * time.Minute,
		Alarms: AlarmConfig{Names: []string{"orders-p99"}, Prefixes: []string{"orders-"}, InsufficientData: Ignore},
		Metrics: []MetricCheck{
			{Name: "5xx rate", Kind: Kind5xxRate, Max: f64(0.01)},
			{Name: "p99 latency", Kind: KindLatencyP99, MaxMs: f64(800), MaxRelativeToBlue: f64(1.5)},
			{Name: "orders errors", Expression: "m1/m2", Metrics: map[string]Metric{
				"m1": {Namespace: "Orders", Name: "Errors"},
				"m2": {Namespace: "Orders", Name: "Requests"},
			}, Max: f64(0.02)},
		},
		MinRequests:      100,
		OnNoTraffic:      Fail,
		CallbackDelay:    DefaultCallbackDelay,
		MaxErrorDuration: DefaultMaxErrorDuration,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ParseConfig(issue example) (-want +got):\n%s", diff)
	}
}

func TestParseConfigEmpty(t *testing.T) {
	for _, in := range []string{"", "  ", "{}", `{"bakeState": {"v": 1}}`} {
		got, err := ParseConfig([]byte(in))
		if err != nil {
			t.Errorf("ParseConfig(%q) = %v, want the defaults", in, err)
			continue
		}
		if diff := cmp.Diff(DefaultConfig(), got); diff != "" {
			t.Errorf("ParseConfig(%q) (-want +got):\n%s", in, diff)
		}
	}
}

func TestParseConfigErrorsNameTheField(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{`[]`, []string{"configuration: want a JSON object"}},
		{`{"window": "soon"}`, []string{`window: want a duration like "10m"`}},
		{`{"window": 600}`, []string{"window: want a duration string"}},
		{`{"window": "30s"}`, []string{"window: 30s, want from 1m to 8h"}},
		{`{"window": "1m0.5s"}`, []string{"window: want a whole number of seconds"}},
		{`{"window": "9h"}`, []string{"window: 9h, want from 1m to 8h"}},
		{`{"minRequests": -1}`, []string{"minRequests: want a whole number from 0"}},
		{`{"minRequests": 1.5}`, []string{"minRequests: want a whole number"}},
		{`{"onNoTraffic": "maybe"}`, []string{`onNoTraffic: want "fail" or "pass", got "maybe"`}},
		{`{"callbackDelay": 0}`, []string{"callbackDelay: want a whole number from 1 to 900"}},
		{`{"maxErrorDuration": "2h"}`, []string{"maxErrorDuration: 2h, want from 1m to 1h"}},
		{`{"colour": "green"}`, []string{"colour: unknown key"}},
		{`{"alarms": []}`, []string{"alarms: want a JSON object"}},
		{`{"alarms": null}`, []string{"alarms: want a JSON object, got null"}},
		{`{"alarms": {"names": "orders-p99"}}`, []string{"alarms.names: want a JSON list of strings"}},
		{`{"alarms": {"names": [""]}}`, []string{"alarms.names[0]: want a non-empty printable string"}},
		{`{"alarms": {"prefixes": ["a","b","c","d","e","f","g","h","i","j","k"]}}`, []string{"alarms.prefixes: 11 entries, at most 10"}},
		{`{"alarms": {"insufficientData": "panic"}}`, []string{`alarms.insufficientData: want "ignore" or "fail"`}},
		{`{"alarms": {"name": ["x"]}}`, []string{"alarms.name: unknown key"}},
		{`{"metrics": {}}`, []string{"metrics: want a JSON list of metric checks"}},
		{`{"metrics": [{"name": "x"}]}`, []string{"metrics[0]: set kind"}},
		{`{"metrics": [{"kind": "targetGroup5xxRate", "expression": "m1", "max": 0.1}]}`, []string{"metrics[0]: set kind or expression, not both"}},
		{`{"metrics": [{"kind": "targetGroupErrors", "max": 1}]}`, []string{`metrics[0].kind: unknown kind "targetGroupErrors"`}},
		{`{"metrics": [{"kind": "targetGroup5xxRate"}]}`, []string{"metrics[0]: set a limit: max or maxRelativeToBlue"}},
		{`{"metrics": [{"kind": "targetGroup5xxRate", "max": 5}]}`, []string{"metrics[0].max: 5, want a fraction from 0 to 1"}},
		{`{"metrics": [{"kind": "targetGroup5xxRate", "maxMs": 5}]}`, []string{"metrics[0].maxMs: not for a 5xx rate"}},
		{`{"metrics": [{"name": "p99", "kind": "targetGroupLatencyP99", "max": 800}]}`, []string{"metrics[0].max: not for a latency: use maxMs"}},
		{`{"metrics": [{"kind": "targetGroupLatencyP99", "maxMs": "800"}]}`, []string{`metrics[0].maxMs: want a number, got "800"`}},
		{`{"metrics": [{"kind": "targetGroupLatencyP99", "maxMs": 0}]}`, []string{"metrics[0].maxMs: 0, want more than 0"}},
		{`{"metrics": [{"kind": "targetGroupLatencyP90", "maxRelativeToBlue": 0}]}`, []string{"metrics[0].maxRelativeToBlue: 0, want a ratio above 0"}},
		{`{"metrics": [{"expression": "m1", "metrics": {"m1": {"namespace": "N", "metric": "M"}}}]}`, []string{"metrics[0]: set a limit: max or min"}},
		{`{"metrics": [{"expression": "m1", "max": 1, "maxRelativeToBlue": 2}]}`, []string{"metrics[0].maxRelativeToBlue: only for kinds"}},
		{`{"metrics": [{"expression": "m1", "min": 2, "max": 1}]}`, []string{"metrics[0].min: 2 is above max 1"}},
		{`{"metrics": [{"expression": "m1", "max": 1, "metrics": {"M1": {"namespace": "N", "metric": "M"}}}]}`, []string{`metrics[0].metrics.M1: id "M1"`}},
		{`{"metrics": [{"expression": "m1", "max": 1, "metrics": {"gatehouse_result": {"namespace": "N", "metric": "M"}}}]}`, []string{"metrics[0].metrics.gatehouse_result"}},
		{`{"metrics": [{"expression": "m1", "max": 1, "metrics": {"m1": {"metric": "M"}}}]}`, []string{"metrics[0].metrics.m1.namespace: want a namespace"}},
		{`{"metrics": [{"expression": "m1", "max": 1, "metrics": {"m1": {"namespace": "N", "metric": "M", "dims": {}}}}]}`, []string{"metrics[0].metrics.m1.dims: unknown key"}},
		{`{"metrics": [{"expression": "m1", "max": 1, "metrics": {"m1": {"namespace": "N", "metric": "M", "dimensions": {"a": 1}}}}]}`, []string{"metrics[0].metrics.m1.dimensions: want a JSON object of dimension names to string values"}},
		{`{"metrics": [{"kind": "targetGroup5xxRate", "max": 0.1}, {"kind": "targetGroup5xxRate", "max": 0.2}]}`, []string{`metrics[1].name: "targetGroup5xxRate" is also the name of metrics[0]`}},
		{`{"metrics": [{"kind": "targetGroup5xxRate", "max": 0.1, "treshold": 1}]}`, []string{"metrics[0].treshold: unknown key"}},
		// Every problem at once.
		{`{"window": "x", "minRequests": "many", "metrics": [{"kind": "targetGroupLatencyP50"}, {"expression": ""}]}`,
			[]string{"window:", "minRequests:", "metrics[0]: set a limit", "metrics[1].expression:"}},
	}
	for _, tt := range tests {
		_, err := ParseConfig([]byte(tt.in))
		if err == nil {
			t.Errorf("ParseConfig(%s) = nil, want an error naming %q", tt.in, tt.want)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("ParseConfig(%s) = %q, want it to contain %q", tt.in, err, w)
			}
		}
	}
}

func TestApply(t *testing.T) {
	defaults := mustConfig(t, `{"window": "15m", "alarms": {"prefixes": ["shared-"]}, "minRequests": 20}`)

	got, err := Apply(defaults, json.RawMessage(`{"window": "5m", "metrics": [{"kind": "targetGroup5xxRate", "max": 0.02}],
		"bakeState": {"v": 1, "start": "2026-11-25T09:00:00Z"}}`))
	if err != nil {
		t.Fatalf("Apply = %v", err)
	}
	if got.Window != 5*time.Minute || got.MinRequests != 20 || len(got.Alarms.Prefixes) != 1 || len(got.Metrics) != 1 {
		t.Errorf("Apply = %+v, want hookDetails' window and metrics over the defaults' alarms and minRequests", got)
	}
	if defaults.Window != 15*time.Minute || len(defaults.Metrics) != 0 {
		t.Errorf("Apply changed its defaults: %+v", defaults)
	}

	// A key given replaces the default's whole value.
	got, err = Apply(defaults, json.RawMessage(`{"alarms": {"names": ["orders-p99"]}}`))
	if err != nil {
		t.Fatalf("Apply = %v", err)
	}
	if diff := cmp.Diff(AlarmConfig{Names: []string{"orders-p99"}, InsufficientData: Ignore}, got.Alarms); diff != "" {
		t.Errorf("Apply alarms (-want +got):\n%s", diff)
	}

	// No hookDetails: the defaults, which must have checks.
	if _, err := Apply(defaults, nil); err != nil {
		t.Errorf("Apply(defaults with alarms, no hookDetails) = %v, want nil", err)
	}
	_, err = Apply(DefaultConfig(), json.RawMessage(`{"window": "5m"}`))
	if err == nil || !strings.Contains(err.Error(), "no checks configured") {
		t.Errorf("Apply(no checks) = %v, want an error saying no checks are configured", err)
	}
	_, err = Apply(defaults, json.RawMessage(`{"window": "forever"}`))
	if err == nil || !strings.Contains(err.Error(), "hookDetails.window:") {
		t.Errorf("Apply(bad window) = %v, want an error naming hookDetails.window", err)
	}
	_, err = Apply(defaults, json.RawMessage(`{"metrics": [{"kind": "targetGroupLatencyP99", "maxMs": -1}]}`))
	if err == nil || !strings.Contains(err.Error(), "hookDetails.metrics[0].maxMs:") {
		t.Errorf("Apply(bad maxMs) = %v, want an error naming hookDetails.metrics[0].maxMs", err)
	}
}

func TestConfigJSONRoundTrip(t *testing.T) {
	c := mustConfig(t, issueConfig)
	c.OnNoTraffic, c.MaxErrorDuration, c.Window = Pass, 90*time.Second, 90*time.Minute
	data, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var again Config
	if err := json.Unmarshal(data, &again); err != nil {
		t.Fatalf("decode %s: %v", data, err)
	}
	if diff := cmp.Diff(c, again); diff != "" {
		t.Errorf("round trip through %s (-want +got):\n%s", data, diff)
	}
	if !strings.Contains(string(data), `"window":"1h30m"`) {
		t.Errorf("encoded %s, want the window as 1h30m", data)
	}
}

// FuzzParseBakeConfig: parsing never panics, and a configuration it accepts
// survives the report's encoding unchanged.
func FuzzParseBakeConfig(f *testing.F) {
	for _, s := range []string{
		issueConfig, `{}`, ``, `null`, `[]`, `{"window":"1h","onNoTraffic":"pass","minRequests":0}`,
		`{"metrics":[{"expression":"SEARCH('{AWS/EC2} CPU', 'Average')","min":-1e300,"max":1e300}]}`,
		`{"metrics":[{"kind":"targetGroupLatencyP50","maxRelativeToBlue":1e-9}]}`,
		`{"alarms":{"names":["a","a"],"prefixes":["p"],"insufficientData":"fail"},"bakeState":{"v":1}}`,
		`{"metrics":[{"expression":"m1","max":1,"metrics":{"m1":{"namespace":"N","metric":"M","dimensions":{"K":"V"},"stat":"p99"}}}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseConfig(data)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			return
		}
		enc, err := json.Marshal(c)
		if err != nil {
			t.Fatalf("encode accepted config %+v: %v", c, err)
		}
		again, err := ParseConfig(enc)
		if err != nil {
			t.Fatalf("ParseConfig(%s), the encoding of accepted %q = %v", enc, data, err)
		}
		if diff := cmp.Diff(c, again); diff != "" {
			t.Fatalf("round trip of %q through %s (-first +second):\n%s", data, enc, diff)
		}
	})
}
