package smoke

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/internal/hook"
)

// issueExample is the configuration from the issue and the package
// documentation.
const issueExample = `{
  "baseUrl": "http://my-alb-123.us-east-1.elb.amazonaws.com:8080",
  "headers": {"x-amzn-ecs-bluegreen-test": "true"},
  "checks": [
    {"name": "health", "path": "/health", "expectStatus": [200], "bodyContains": "ok", "maxLatencyMs": 500},
    {"name": "login page", "method": "GET", "path": "/login", "expectStatus": [200, 302]},
    {"name": "api version", "path": "/api/version", "jsonPath": "$.version", "equals": "2.4.1", "critical": false}
  ],
  "retries": 3,
  "retryDelayMs": 500,
  "consecutiveSuccesses": 1,
  "timeoutMs": 5000
}`

func issueConfig() Config {
	return Config{
		BaseURL: "http://my-alb-123.us-east-1.elb.amazonaws.com:8080",
		Headers: map[string]string{"x-amzn-ecs-bluegreen-test": "true"},
		Checks: []Check{
			{Name: "health", Method: "GET", Path: "/health", ExpectStatus: []int{200}, BodyContains: "ok", MaxLatency: 500 * time.Millisecond, Critical: true},
			{Name: "login page", Method: "GET", Path: "/login", ExpectStatus: []int{200, 302}, Critical: true},
			{Name: "api version", Method: "GET", Path: "/api/version", ExpectStatus: []int{200}, JSONPath: "$.version", Equals: json.RawMessage(`"2.4.1"`)},
		},
		Retries:              3,
		RetryDelay:           500 * time.Millisecond,
		MaxRetryDelay:        30 * time.Second,
		ConsecutiveSuccesses: 1,
		Timeout:              5 * time.Second,
		Concurrency:          4,
	}
}

func TestParseConfigIssueExample(t *testing.T) {
	got, err := ParseConfig([]byte(issueExample))
	if err != nil {
		t.Fatalf("ParseConfig(issue example) = %v", err)
	}
	if diff := cmp.Diff(issueConfig(), got); diff != "" {
		t.Errorf("ParseConfig(issue example) (-want +got):\n%s", diff)
	}
}

func TestParseConfigDefaults(t *testing.T) {
	got, err := ParseConfig([]byte(`{"checks":[{"name":"h","path":"/h"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	want := DefaultConfig()
	want.Checks = []Check{{Name: "h", Method: "GET", Path: "/h", ExpectStatus: []int{200}, Critical: true}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ParseConfig with defaults (-want +got):\n%s", diff)
	}
}

// TestParseConfigErrors checks that bad configuration is refused with an
// error naming the field at fault.
func TestParseConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"not an object", `[1]`, []string{"hookDetails: want a JSON object"}},
		{"no checks", `{"baseUrl":"http://x"}`, []string{"checks: none configured"}},
		{"empty checks", `{"checks":[]}`, []string{"checks: none configured"}},
		{"checks not a list", `{"checks":{"name":"h"}}`, []string{"hookDetails.checks: want a JSON list"}},
		{"unknown key", `{"checks":[{"name":"h","path":"/h"}],"retry":3}`, []string{"hookDetails.retry: unknown key"}},
		{"unknown check key", `{"checks":[{"name":"h","path":"/h","status":200}]}`, []string{"hookDetails.checks[0].status: unknown key"}},
		{"wrong type retries", `{"checks":[{"name":"h","path":"/h"}],"retries":"3"}`, []string{"hookDetails.retries: want a whole number"}},
		{"fractional retries", `{"checks":[{"name":"h","path":"/h"}],"retries":1.5}`, []string{"hookDetails.retries: want a whole number"}},
		{"retries out of range", `{"checks":[{"name":"h","path":"/h"}],"retries":99}`, []string{"hookDetails.retries: want a whole number from 0 to 20, got 99"}},
		{"timeout too small", `{"checks":[{"name":"h","path":"/h"}],"timeoutMs":5}`, []string{"hookDetails.timeoutMs: want a whole number of milliseconds from 100 to 60000, got 5"}},
		{"path not a path", `{"checks":[{"name":"h","path":"health"}]}`, []string{`hookDetails.checks[0].path: "health" is not a path`}},
		{"path is a URL", `{"checks":[{"name":"h","path":"http://evil.example/"}]}`, []string{"checks[0].path", "not a path"}},
		{"network path", `{"checks":[{"name":"h","path":"//evil.example/x"}]}`, []string{"checks[0].path", "starts with //"}},
		{"path with space", `{"checks":[{"name":"h","path":"/a b"}]}`, []string{"checks[0].path"}},
		{"path wrong type", `{"checks":[{"name":"h","path":42}]}`, []string{"hookDetails.checks[0].path: want a path"}},
		{"missing path and name", `{"checks":[{"method":"GET"}]}`, []string{"checks[0].name: missing", "checks[0].path: missing"}},
		{"check not an object", `{"checks":["/health"]}`, []string{"hookDetails.checks[0]: want a check object"}},
		{"duplicate names", `{"checks":[{"name":"h","path":"/a"},{"name":"h","path":"/b"}]}`, []string{`checks[1].name: "h" is already the name of checks[0]`}},
		{"bad method", `{"checks":[{"name":"h","path":"/h","method":"get"}]}`, []string{"checks[0].method"}},
		{"expectStatus not a list", `{"checks":[{"name":"h","path":"/h","expectStatus":200}]}`, []string{"checks[0].expectStatus: want a list"}},
		{"expectStatus out of range", `{"checks":[{"name":"h","path":"/h","expectStatus":[700]}]}`, []string{"checks[0].expectStatus: 700 is not an HTTP status code"}},
		{"expectStatus empty", `{"checks":[{"name":"h","path":"/h","expectStatus":[]}]}`, []string{"checks[0].expectStatus: empty"}},
		{"bad regex", `{"checks":[{"name":"h","path":"/h","bodyRegex":"("}]}`, []string{"checks[0].bodyRegex: not a regular expression"}},
		{"bad jsonPath", `{"checks":[{"name":"h","path":"/h","jsonPath":"version"}]}`, []string{"checks[0].jsonPath"}},
		{"jsonPath wildcard", `{"checks":[{"name":"h","path":"/h","jsonPath":"$.items[*]"}]}`, []string{"checks[0].jsonPath", "not supported"}},
		{"equals without jsonPath", `{"checks":[{"name":"h","path":"/h","equals":"x"}]}`, []string{"checks[0].equals: needs jsonPath"}},
		{"equals object", `{"checks":[{"name":"h","path":"/h","jsonPath":"$","equals":{"a":1}}]}`, []string{"checks[0].equals: want a JSON string, number, boolean or null"}},
		{"critical wrong type", `{"checks":[{"name":"h","path":"/h","critical":"no"}]}`, []string{"checks[0].critical: want true or false"}},
		{"HEAD with body match", `{"checks":[{"name":"h","path":"/h","method":"HEAD","bodyContains":"ok"}]}`, []string{"checks[0].method: HEAD responses have no body"}},
		{"maxLatency above timeout", `{"checks":[{"name":"h","path":"/h","maxLatencyMs":9000}],"timeoutMs":1000}`, []string{"checks[0].maxLatencyMs: 9000 is above timeoutMs 1000"}},
		{"maxRetryDelay below retryDelay", `{"checks":[{"name":"h","path":"/h"}],"retryDelayMs":2000,"maxRetryDelayMs":1000}`, []string{"maxRetryDelayMs: 1000 is below retryDelayMs 2000"}},
		{"baseUrl not http", `{"checks":[{"name":"h","path":"/h"}],"baseUrl":"ftp://x"}`, []string{"hookDetails.baseUrl: \"ftp://x\": want an http:// or https:// URL"}},
		{"baseUrl with credentials", `{"checks":[{"name":"h","path":"/h"}],"baseUrl":"http://u:secret@x"}`, []string{"hookDetails.baseUrl", "carries credentials"}},
		{"baseUrl with query", `{"checks":[{"name":"h","path":"/h"}],"baseUrl":"http://x/?a=1"}`, []string{"hookDetails.baseUrl", "no query"}},
		{"baseUrl wrong type", `{"checks":[{"name":"h","path":"/h"}],"baseUrl":8080}`, []string{"hookDetails.baseUrl: want a URL"}},
		{"bad header name", `{"checks":[{"name":"h","path":"/h"}],"headers":{"bad header":"x"}}`, []string{`hookDetails.headers: "bad header" is not a header name`}},
		{"header value not a string", `{"checks":[{"name":"h","path":"/h"}],"headers":{"x":1}}`, []string{"hookDetails.headers: want an object"}},
		{"header value with newline", `{"checks":[{"name":"h","path":"/h","headers":{"x":"a\nb"}}]}`, []string{"checks[0].headers: x: value contains a control character"}},
		{"several problems at once", `{"checks":[{"name":"h","path":"h"}],"retries":-1,"colour":"blue"}`,
			[]string{"checks[0].path", "hookDetails.retries", "hookDetails.colour: unknown key"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseConfig([]byte(tt.in))
			if err == nil {
				t.Fatalf("ParseConfig(%s) = nil error, want one naming %q", tt.in, tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("ParseConfig(%s) = %q, want it to contain %q", tt.in, err, w)
				}
			}
		})
	}
}

func TestApplyOverlaysDefaults(t *testing.T) {
	defaults, err := DefaultConfig().Apply([]byte(`{"baseUrl":"http://default.example","retries":5,"headers":{"x-a":"1"},
		"checks":[{"name":"default","path":"/d"}]}`), "GATEHOUSE_SMOKE_CONFIG")
	if err != nil {
		t.Fatal(err)
	}
	got, err := defaults.Apply([]byte(`{"checks":[{"name":"mine","path":"/m"}],"headers":{"x-b":"2"},"baseUrl":null,
		"smokeState":{"anything":"goes"}}`), "hookDetails")
	if err != nil {
		t.Fatal(err)
	}
	want := DefaultConfig()
	want.Retries = 5
	want.Headers = map[string]string{"x-b": "2"}
	want.Checks = []Check{{Name: "mine", Method: "GET", Path: "/m", ExpectStatus: []int{200}, Critical: true}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Apply over defaults (-want +got):\n%s", diff)
	}
	// The defaults are not changed by applying over them.
	if defaults.BaseURL != "http://default.example" || defaults.Checks[0].Name != "default" || defaults.Headers["x-a"] != "1" {
		t.Errorf("Apply changed its receiver: %+v", defaults)
	}
	// Only state in hookDetails: the defaults apply unchanged.
	got, err = defaults.Apply([]byte(`{"smokeState":{"v":1}}`), "hookDetails")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(defaults, got); diff != "" {
		t.Errorf("Apply of state only (-want +got):\n%s", diff)
	}
}

func TestApplyNamesSource(t *testing.T) {
	_, err := DefaultConfig().Apply([]byte(`{"retries":"x"}`), "GATEHOUSE_SMOKE_CONFIG")
	if err == nil || !strings.Contains(err.Error(), "GATEHOUSE_SMOKE_CONFIG.retries") {
		t.Errorf("Apply = %v, want it to name GATEHOUSE_SMOKE_CONFIG.retries", err)
	}
}

func TestConfigRoundTrip(t *testing.T) {
	c := issueConfig()
	c.Checks[1].Headers = map[string]string{"Accept": "text/html"}
	c.Checks[1].Body = "x=1"
	c.Checks[1].Method = "POST"
	c.Checks[1].FollowRedirects = true
	c.Checks[0].BodyRegex = `^ok\b`
	data, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseConfig(data)
	if err != nil {
		t.Fatalf("ParseConfig(%s) = %v", data, err)
	}
	if diff := cmp.Diff(c, got); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
}

// TestSmokeEvent decodes the sample payload with smoke hookDetails and
// parses its configuration, so that the sample cannot rot.
func TestSmokeEvent(t *testing.T) {
	data, err := os.ReadFile("../../events/post-test-traffic-shift-smoke.json")
	if err != nil {
		t.Fatal(err)
	}
	var req hook.Request
	if err := json.Unmarshal(data, &req); err != nil {
		t.Fatal(err)
	}
	if err := req.Validate(); err != nil {
		t.Fatal(err)
	}
	c, err := ParseConfig(req.HookDetails)
	if err != nil {
		t.Fatalf("sample hookDetails: %v", err)
	}
	if len(c.Checks) != 3 || c.BaseURL == "" {
		t.Errorf("sample config = %+v, want three checks and a baseUrl", c)
	}
}

func FuzzParseConfig(f *testing.F) {
	f.Add([]byte(issueExample))
	f.Add([]byte(`{"checks":[{"name":"h","path":"/h?x=1","jsonPath":"$[\"a b\"][0].c","equals":1.50}],"baseUrl":null}`))
	f.Add([]byte(`{"checks":[{"name":"h","path":"/h","headers":{"Host":"x"},"method":"HEAD"}],"smokeState":{}}`))
	f.Add([]byte(`{"checks":[{"name":"\u0000","path":"//x"}],"retries":1e3}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseConfig(data)
		if err != nil {
			return
		}
		// Whatever parses is valid, re-encodes, parses back to itself, and
		// can be prepared for a run.
		if err := c.Validate(); err != nil {
			t.Fatalf("ParseConfig accepted an invalid config: %v", err)
		}
		out, err := json.Marshal(c)
		if err != nil {
			t.Fatalf("encode: %v", err)
		}
		again, err := ParseConfig(out)
		if err != nil {
			t.Fatalf("ParseConfig(encoded %s) = %v", out, err)
		}
		if diff := cmp.Diff(c, again); diff != "" {
			t.Fatalf("round trip (-first +second):\n%s", diff)
		}
		if _, err := prepare(c, Target{BaseURL: "http://127.0.0.1:1"}); err != nil {
			t.Fatalf("prepare: %v", err)
		}
	})
}
