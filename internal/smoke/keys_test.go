package smoke_test

import (
	"encoding/json"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/internal/smoke"
)

// detailValues gives every top-level key a value other than its default,
// all valid together; checkValues does the same for the keys of a check.
// The tests below check that they name exactly DetailKeys and CheckKeys.
var (
	detailValues = map[string]string{
		"baseUrl":              `"http://my-alb-123.us-east-1.elb.amazonaws.com:8080"`,
		"headers":              `{"x-amzn-ecs-bluegreen-test": "true"}`,
		"checks":               `[{"name": "health", "path": "/health"}]`,
		"retries":              `5`,
		"retryDelayMs":         `250`,
		"maxRetryDelayMs":      `10000`,
		"consecutiveSuccesses": `2`,
		"timeoutMs":            `3000`,
		"concurrency":          `2`,
		smoke.StateKey:         `{}`,
	}
	checkValues = map[string]string{
		"name":            `"api version"`,
		"method":          `"POST"`,
		"path":            `"/api/version?full=1"`,
		"headers":         `{"Host": "orders.example.com"}`,
		"body":            `"{}"`,
		"expectStatus":    `[200, 302]`,
		"bodyContains":    `"version"`,
		"bodyRegex":       `"[0-9]+"`,
		"jsonPath":        `"$.version"`,
		"equals":          `"2.4.1"`,
		"maxLatencyMs":    `500`,
		"critical":        `false`,
		"followRedirects": `true`,
	}
)

func TestKeysCoverTheTestValues(t *testing.T) {
	for _, tt := range []struct {
		name   string
		list   []string
		values map[string]string
	}{
		{"DetailKeys", smoke.DetailKeys(), detailValues},
		{"CheckKeys", smoke.CheckKeys(), checkValues},
	} {
		want := slices.Sorted(slices.Values(tt.list))
		if diff := cmp.Diff(want, slices.Sorted(maps.Keys(tt.values))); diff != "" {
			t.Errorf("the test's values do not name exactly %s() (-%s +values):\n%s", tt.name, tt.name, diff)
		}
		if len(slices.Compact(slices.Clone(want))) != len(want) {
			t.Errorf("%s() lists a key twice: %q", tt.name, tt.list)
		}
	}
}

func apply(doc string) (smoke.Config, error) {
	return smoke.DefaultConfig().Apply(json.RawMessage(doc), "hookDetails")
}

// TestKeysAreKnown: the parser takes every listed key, whatever its value,
// as a key it knows; a key it does not know is refused with "unknown key",
// the text the first checks look for.
func TestKeysAreKnown(t *testing.T) {
	values := []string{`0`, `"x"`, `null`, `{}`, `[]`}
	for _, k := range smoke.DetailKeys() {
		for _, v := range append([]string{detailValues[k]}, values...) {
			doc := `{"` + k + `": ` + v + `}`
			if _, err := apply(doc); err != nil && strings.Contains(err.Error(), "unknown key") {
				t.Errorf("Apply(%s) = %q: DetailKeys() lists %q, which the parser does not know", doc, err, k)
			}
		}
	}
	for _, k := range smoke.CheckKeys() {
		for _, v := range append([]string{checkValues[k]}, values...) {
			doc := `{"checks": [{"name": "a", "path": "/a", "` + k + `": ` + v + `}]}`
			if _, err := apply(doc); err != nil && strings.Contains(err.Error(), "unknown key") {
				t.Errorf("Apply(%s) = %q: CheckKeys() lists %q, which the parser does not know", doc, err, k)
			}
		}
	}
	for _, tt := range []struct{ doc, want string }{
		{`{"baseURL": "http://example.com"}`, "hookDetails.baseURL: unknown key"},
		{`{"checks": [{"name": "a", "path": "/a", "status": 200}]}`, "hookDetails.checks[0].status: unknown key"},
	} {
		if _, err := apply(tt.doc); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Apply(%s) = %v, want an error containing %q", tt.doc, err, tt.want)
		}
	}
}

// TestKeysReachEverySetting: the listed keys together set every field of
// Config and of Check, so a setting whose key is missing from the lists
// shows here as a field left at its default.
func TestKeysReachEverySetting(t *testing.T) {
	var check []string
	for _, k := range smoke.CheckKeys() {
		check = append(check, `"`+k+`": `+checkValues[k])
	}
	var top []string
	for _, k := range smoke.DetailKeys() {
		v := detailValues[k]
		if k == "checks" {
			v = `[{` + strings.Join(check, ", ") + `}, {"name": "health", "path": "/health"}]`
		}
		top = append(top, `"`+k+`": `+v)
	}
	doc := `{` + strings.Join(top, ", ") + `}`
	got, err := smoke.ParseConfig([]byte(doc))
	if err != nil {
		t.Fatalf("ParseConfig(every key) = %v\n%s", err, doc)
	}
	def := smoke.DefaultConfig()
	g, d := reflect.ValueOf(got), reflect.ValueOf(def)
	for i := range g.NumField() {
		if g.Type().Field(i).Name == "Policy" {
			continue // the suite's alone, from GATEHOUSE_POLICY
		}
		if reflect.DeepEqual(g.Field(i).Interface(), d.Field(i).Interface()) {
			t.Errorf("Config.%s is not set by any key of DetailKeys() (document %s)", g.Type().Field(i).Name, doc)
		}
	}
	// The second check has only name and path: every field of the first
	// must differ from it.
	full, plain := reflect.ValueOf(got.Checks[0]), reflect.ValueOf(got.Checks[1])
	for i := range full.NumField() {
		if reflect.DeepEqual(full.Field(i).Interface(), plain.Field(i).Interface()) {
			t.Errorf("Check.%s is not set by any key of CheckKeys() (document %s)", full.Type().Field(i).Name, doc)
		}
	}
}
