package config

import (
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/bake"
)

func TestLoadBakeHook(t *testing.T) {
	c, err := LoadBakeHook(env(map[string]string{
		EnvStateBucket: "gatehouse-state",
		EnvBakeConfig:  `{"window": "15m", "alarms": {"prefixes": ["orders-"]}, "minRequests": 50}`,
	}))
	if err != nil {
		t.Fatalf("LoadBakeHook = %v", err)
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

func TestLoadBakeHookDefaults(t *testing.T) {
	c, err := LoadBakeHook(env(nil))
	if err != nil {
		t.Fatalf("LoadBakeHook(empty) = %v, want nil: both variables are optional", err)
	}
	if c.Bucket != "" || c.Defaults.Window != bake.DefaultWindow || c.Defaults.HasChecks() {
		t.Errorf("LoadBakeHook(empty) = %+v, want no bucket and the built-in defaults", c)
	}
}

func TestLoadBakeHookReportsEveryBadVariable(t *testing.T) {
	_, err := LoadBakeHook(env(map[string]string{
		EnvStateBucket: "arn:aws:s3:::gatehouse-state",
		EnvBakeConfig:  `{"window": "forever", "minRequests": -1, "colour": "green"}`,
	}))
	if err == nil {
		t.Fatal("LoadBakeHook = nil, want errors")
	}
	for _, want := range []string{EnvStateBucket, EnvBakeConfig, "window", "minRequests", "colour: unknown key"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("LoadBakeHook = %q, want it to name %s", err, want)
		}
	}
}
