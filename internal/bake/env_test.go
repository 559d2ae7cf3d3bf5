package bake_test

import (
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/bake"
	"github.com/gatehouse-dev/gatehouse/internal/config"
)

func TestLoadHookEnv(t *testing.T) {
	c, err := bake.LoadHookEnv(env(map[string]string{
		config.EnvStateBucket: "gatehouse-state",
		config.EnvBakeConfig:  `{"window": "15m", "alarms": {"prefixes": ["orders-"]}, "minRequests": 50}`,
	}))
	if err != nil {
		t.Fatalf("LoadHookEnv = %v", err)
	}
	if c.Bucket != "gatehouse-state" {
		t.Errorf("Bucket = %q, want gatehouse-state", c.Bucket)
	}
	d := c.Defaults
	if d.Window != 15*time.Minute || d.MinRequests != 50 || strings.Join(d.Alarms.Prefixes, ",") != "orders-" ||
		d.OnNoTraffic != bake.Fail || d.CallbackDelay != bake.DefaultCallbackDelay {
		t.Errorf("Defaults = %+v, want the configured values over the built-in defaults", d)
	}
}

func TestLoadHookEnvDefaults(t *testing.T) {
	c, err := bake.LoadHookEnv(env(nil))
	if err != nil {
		t.Fatalf("bake.LoadHookEnv(empty) = %v, want nil: both variables are optional", err)
	}
	if c.Bucket != "" || c.Defaults.Window != bake.DefaultWindow || c.Defaults.HasChecks() {
		t.Errorf("bake.LoadHookEnv(empty) = %+v, want no bucket and the built-in defaults", c)
	}
}

func TestLoadHookEnvReportsEveryBadVariable(t *testing.T) {
	_, err := bake.LoadHookEnv(env(map[string]string{
		config.EnvStateBucket: "arn:aws:s3:::gatehouse-state",
		config.EnvBakeConfig:  `{"window": "forever", "minRequests": -1, "colour": "green"}`,
	}))
	if err == nil {
		t.Fatal("LoadHookEnv = nil, want errors")
	}
	for _, want := range []string{config.EnvStateBucket, config.EnvBakeConfig, "window", "minRequests", "colour: unknown key"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("LoadHookEnv = %q, want it to name %s", err, want)
		}
	}
}

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}
