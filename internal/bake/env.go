package bake

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/gatehouse-dev/gatehouse/internal/config"
	"github.com/gatehouse-dev/gatehouse/internal/hook"
)

// HookEnv is the bake hook's configuration from its environment.
type HookEnv struct {
	// Bucket is the state bucket final verdicts are written to; empty means
	// they are logged, not stored.
	Bucket string
	// Defaults are the bake settings hookDetails can override.
	Defaults Config
}

// LoadHookEnv reads the bake hook's environment: GATEHOUSE_STATE_BUCKET
// (optional) and GATEHOUSE_BAKE_CONFIG (optional, defaults without checks
// when unset). Every problem is reported at once.
//
// It lives here rather than in package config so that config, which every
// function imports, does not pull the CloudWatch and ELBv2 clients into the
// functions that do not use them.
func LoadHookEnv(getenv func(string) string) (HookEnv, error) {
	var errs []error
	c := HookEnv{Bucket: strings.TrimSpace(getenv(config.EnvStateBucket)), Defaults: DefaultConfig()}
	if strings.ContainsAny(c.Bucket, "/: ") {
		errs = append(errs, fmt.Errorf("%s: %q is not a bucket name (give the name, not an ARN or URL)", config.EnvStateBucket, c.Bucket))
	}
	if v := strings.TrimSpace(getenv(config.EnvBakeConfig)); v != "" {
		d, err := ParseConfig([]byte(v))
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %s", config.EnvBakeConfig, hook.OneLine(err.Error())))
		} else {
			c.Defaults = d
			keys, _, _ := hook.Document(config.EnvBakeConfig, []byte(v))
			c.Defaults.SuiteKeys = slices.DeleteFunc(keys, func(k string) bool { return k == StateKey })
		}
	}
	section, err := config.PolicySection(getenv, "bake")
	if err == nil && section != nil {
		c.Defaults.Policy, err = ParsePolicy(config.EnvPolicy+".bake", section)
	}
	if err != nil {
		errs = append(errs, err)
	}
	return c, errors.Join(errs...)
}
