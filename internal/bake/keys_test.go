package bake_test

import (
	"encoding/json"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/internal/bake"
)

// The test's values: every key with a value other than its default, valid
// together. Metric checks come in three shapes (a 5xx rate, a latency, an
// expression), since no one check takes every key. The tests below check
// that the values name exactly the lists.
var (
	detailValues = map[string]string{
		"window":           `"20m"`,
		"alarms":           `{"names": ["orders-p99"]}`,
		"metrics":          `[{"kind": "targetGroup5xxRate", "max": 0.01}]`,
		"minRequests":      `5`,
		"stepMinRequests":  `3`,
		"onNoTraffic":      `"pass"`,
		"callbackDelay":    `30`,
		"maxErrorDuration": `"10m"`,
		bake.StateKey:      `{}`,
	}
	alarmValues = map[string]string{
		"names":            `["orders-p99"]`,
		"prefixes":         `["orders-"]`,
		"insufficientData": `"fail"`,
	}
	metricShapes = []map[string]string{
		{"name": `"5xx rate"`, "kind": `"targetGroup5xxRate"`, "max": `0.01`},
		{"name": `"p99 latency"`, "kind": `"targetGroupLatencyP99"`, "maxMs": `800`, "maxRelativeToBlue": `1.5`},
		{"name": `"orders errors"`, "expression": `"m1/m2"`, "metrics": `(below)`, "max": `0.02`, "min": `0.001`},
	}
	expressionMetricValues = map[string]string{
		"namespace":  `"Orders"`,
		"metric":     `"Errors"`,
		"dimensions": `{"Service": "orders"}`,
		"stat":       `"Average"`,
	}
)

// object writes a JSON object of the given keys, in order, with values from m.
func object(keys []string, m map[string]string) string {
	var parts []string
	for _, k := range keys {
		parts = append(parts, `"`+k+`": `+m[k])
	}
	return `{` + strings.Join(parts, ", ") + `}`
}

// keysOf returns the keys of ms, all together, in order.
func keysOf(ms ...map[string]string) []string {
	all := map[string]string{}
	for _, m := range ms {
		maps.Copy(all, m)
	}
	return slices.Sorted(maps.Keys(all))
}

func TestKeysCoverTheTestValues(t *testing.T) {
	for _, tt := range []struct {
		name string
		list []string
		have []string
	}{
		{"DetailKeys", bake.DetailKeys(), keysOf(detailValues)},
		{"AlarmKeys", bake.AlarmKeys(), keysOf(alarmValues)},
		{"MetricKeys", bake.MetricKeys(), keysOf(metricShapes...)},
		{"ExpressionMetricKeys", bake.ExpressionMetricKeys(), keysOf(expressionMetricValues)},
	} {
		want := slices.Sorted(slices.Values(tt.list))
		if diff := cmp.Diff(want, tt.have); diff != "" {
			t.Errorf("the test's values do not name exactly %s() (-%s +values):\n%s", tt.name, tt.name, diff)
		}
		if len(slices.Compact(slices.Clone(want))) != len(want) {
			t.Errorf("%s() lists a key twice: %q", tt.name, tt.list)
		}
	}
}

func apply(doc string) error {
	_, err := bake.Apply(bake.DefaultConfig(), json.RawMessage(doc))
	return err
}

// TestKeysAreKnown: the parser takes every listed key, at every level and
// whatever its value, as a key it knows; a key it does not know is refused
// with "unknown key", the text the first checks look for.
func TestKeysAreKnown(t *testing.T) {
	values := []string{`0`, `"x"`, `null`, `{}`, `[]`}
	docs := map[string][]string{} // key list: documents naming each key
	for _, v := range values {
		for _, k := range bake.DetailKeys() {
			docs["DetailKeys"] = append(docs["DetailKeys"], `{"`+k+`": `+v+`}`)
		}
		for _, k := range bake.AlarmKeys() {
			docs["AlarmKeys"] = append(docs["AlarmKeys"], `{"alarms": {"`+k+`": `+v+`}}`)
		}
		for _, k := range bake.MetricKeys() {
			docs["MetricKeys"] = append(docs["MetricKeys"], `{"metrics": [{"`+k+`": `+v+`}]}`)
		}
		for _, k := range bake.ExpressionMetricKeys() {
			docs["ExpressionMetricKeys"] = append(docs["ExpressionMetricKeys"],
				`{"metrics": [{"expression": "m1", "max": 1, "metrics": {"m1": {"`+k+`": `+v+`}}}]}`)
		}
	}
	for list, ds := range docs {
		for _, doc := range ds {
			if err := apply(doc); err != nil && strings.Contains(err.Error(), "unknown key") {
				t.Errorf("Apply(%s) = %q: %s() lists a key the parser does not know", doc, err, list)
			}
		}
	}
	for _, tt := range []struct{ doc, want string }{
		{`{"bakeWindow": "10m"}`, "hookDetails.bakeWindow: unknown key"},
		{`{"alarms": {"name": ["a"]}}`, "hookDetails.alarms.name: unknown key"},
		{`{"metrics": [{"kind": "targetGroup5xxRate", "max": 0.01, "limit": 1}]}`, "hookDetails.metrics[0].limit: unknown key"},
		{`{"metrics": [{"expression": "m1", "max": 1, "metrics": {"m1": {"namespace": "A", "metric": "B", "unit": "Count"}}}]}`,
			"hookDetails.metrics[0].metrics.m1.unit: unknown key"},
	} {
		if err := apply(tt.doc); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Apply(%s) = %v, want an error containing %q", tt.doc, err, tt.want)
		}
	}
}

// TestKeysReachEverySetting: the listed keys together set every field of
// Config, of its alarms, of a metric check and of an expression's metric, so
// a setting whose key is missing from the lists shows here as a field left
// at its zero value or default.
func TestKeysReachEverySetting(t *testing.T) {
	shapes := make([]string, len(metricShapes))
	for i, m := range metricShapes {
		m = maps.Clone(m)
		if _, ok := m["metrics"]; ok {
			m["metrics"] = `{"m1": ` + object(bake.ExpressionMetricKeys(), expressionMetricValues) + `, "m2": {"namespace": "Orders", "metric": "Requests"}}`
		}
		shapes[i] = object(keysOf(m), m)
	}
	top := maps.Clone(detailValues)
	top["alarms"] = object(bake.AlarmKeys(), alarmValues)
	top["metrics"] = `[` + strings.Join(shapes, ", ") + `]`
	doc := object(bake.DetailKeys(), top)
	got, err := bake.Apply(bake.DefaultConfig(), json.RawMessage(doc))
	if err != nil {
		t.Fatalf("Apply(every key) = %v\n%s", err, doc)
	}
	unset := func(what string, v, def reflect.Value) {
		for i := range v.NumField() {
			if name := v.Type().Field(i).Name; what == "Config" && (name == "Policy" || name == "SuiteKeys") {
				continue // the suite's alone, from the environment
			}
			if reflect.DeepEqual(v.Field(i).Interface(), def.Field(i).Interface()) {
				t.Errorf("%s.%s is not set by any listed key (document %s)", what, v.Type().Field(i).Name, doc)
			}
		}
	}
	def := bake.DefaultConfig()
	unset("Config", reflect.ValueOf(got), reflect.ValueOf(def))
	unset("AlarmConfig", reflect.ValueOf(got.Alarms), reflect.ValueOf(def.Alarms))
	if len(got.Metrics) != len(metricShapes) {
		t.Fatalf("Apply(every key) gave %d metric checks, want %d", len(got.Metrics), len(metricShapes))
	}
	// A field of a metric check counts as set when one of the shapes sets it.
	mt := reflect.TypeOf(bake.MetricCheck{})
	for i := range mt.NumField() {
		set := false
		for _, m := range got.Metrics {
			set = set || !reflect.ValueOf(m).Field(i).IsZero()
		}
		if !set {
			t.Errorf("MetricCheck.%s is not set by any key of MetricKeys() (document %s)", mt.Field(i).Name, doc)
		}
	}
	m1 := got.Metrics[2].Metrics["m1"]
	unset("Metric", reflect.ValueOf(m1), reflect.ValueOf(bake.Metric{}))
}
