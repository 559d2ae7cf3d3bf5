package config

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/internal/smoke"
)

func TestLoadSmokeHook(t *testing.T) {
	c, err := LoadSmokeHook(env(map[string]string{
		EnvStateBucket: "gatehouse-state",
		EnvSmokeConfig: `{"headers":{"x-amzn-ecs-bluegreen-test":"true"},"retries":5,"timeoutMs":2000}`,
	}))
	if err != nil {
		t.Fatalf("LoadSmokeHook = %v", err)
	}
	want := smoke.DefaultConfig()
	want.Headers = map[string]string{"x-amzn-ecs-bluegreen-test": "true"}
	want.Retries = 5
	want.Timeout = 2 * time.Second
	if diff := cmp.Diff(want, c.Defaults); diff != "" {
		t.Errorf("Defaults (-want +got):\n%s", diff)
	}
	if c.Bucket != "gatehouse-state" {
		t.Errorf("Bucket = %q", c.Bucket)
	}
}

func TestLoadSmokeHookEmpty(t *testing.T) {
	c, err := LoadSmokeHook(env(nil))
	if err != nil {
		t.Fatalf("LoadSmokeHook(empty) = %v, want both variables optional", err)
	}
	if c.Bucket != "" {
		t.Errorf("Bucket = %q, want none: no reports", c.Bucket)
	}
	if diff := cmp.Diff(smoke.DefaultConfig(), c.Defaults); diff != "" {
		t.Errorf("Defaults (-want +got):\n%s", diff)
	}
}

func TestLoadSmokeHookWithChecks(t *testing.T) {
	c, err := LoadSmokeHook(env(map[string]string{
		EnvSmokeConfig: `{"baseUrl":"http://green.internal:8080","checks":[{"name":"health","path":"/health"}]}`,
	}))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Defaults.Checks) != 1 || c.Defaults.BaseURL != "http://green.internal:8080" || c.Defaults.Validate() != nil {
		t.Errorf("Defaults = %+v, want the configured check and base URL", c.Defaults)
	}
}

func TestLoadSmokeHookReportsEveryBadVariable(t *testing.T) {
	tests := []struct {
		env  map[string]string
		want []string
	}{
		{map[string]string{EnvStateBucket: "s3://bucket", EnvSmokeConfig: `{"retries":"3","colour":"blue","checks":[{"name":"h","path":"h"}]}`},
			[]string{EnvStateBucket, "GATEHOUSE_SMOKE_CONFIG.retries: want a whole number", "GATEHOUSE_SMOKE_CONFIG.colour: unknown key",
				"GATEHOUSE_SMOKE_CONFIG.checks[0].path"}},
		{map[string]string{EnvSmokeConfig: `not json`}, []string{"GATEHOUSE_SMOKE_CONFIG: want a JSON object"}},
		{map[string]string{EnvSmokeConfig: `{"retryDelayMs":5000,"maxRetryDelayMs":1000}`}, []string{"GATEHOUSE_SMOKE_CONFIG.maxRetryDelayMs: 1000 is below"}},
	}
	for _, tt := range tests {
		_, err := LoadSmokeHook(env(tt.env))
		if err == nil {
			t.Errorf("LoadSmokeHook(%v) = nil error", tt.env)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("LoadSmokeHook(%v) = %q, want it to contain %q", tt.env, err, w)
			}
		}
	}
}

func TestEnvSmokeConfigName(t *testing.T) {
	// The CDK app sets this variable by name; it must not drift.
	if EnvSmokeConfig != "GATEHOUSE_SMOKE_CONFIG" {
		t.Errorf("EnvSmokeConfig = %q", EnvSmokeConfig)
	}
}
