package config

import (
	"errors"
	"fmt"
	"strings"

	"github.com/gatehouse-dev/gatehouse/internal/smoke"
)

// EnvSmokeConfig holds the smoke hook's default configuration: the JSON
// object hookDetails use, whose top-level keys hookDetails override.
const EnvSmokeConfig = "GATEHOUSE_SMOKE_CONFIG"

// SmokeHook is the smoke hook's configuration.
type SmokeHook struct {
	// Bucket is the state bucket the reports go to; empty means no report.
	Bucket string
	// Defaults is the smoke configuration hookDetails override. It may lack
	// checks and baseUrl, which hookDetails then give.
	Defaults smoke.Config
}

// LoadSmokeHook reads the smoke hook's environment. Both variables are
// optional; a bad value of either is reported, all at once.
func LoadSmokeHook(getenv func(string) string) (SmokeHook, error) {
	l := &loader{getenv: getenv}
	c := SmokeHook{Defaults: smoke.DefaultConfig()}
	if b := strings.TrimSpace(getenv(EnvStateBucket)); b != "" {
		if strings.ContainsAny(b, "/: ") {
			l.bad(EnvStateBucket, "%q: want a bucket name, not a URL or ARN", b)
		}
		c.Bucket = b
	}
	if raw := strings.TrimSpace(getenv(EnvSmokeConfig)); raw != "" {
		d, err := smoke.DefaultConfig().Apply([]byte(raw), EnvSmokeConfig)
		if err != nil {
			l.errs = append(l.errs, err)
		} else if err := smokePartial(d).Validate(); err != nil {
			l.errs = append(l.errs, errors.Join(smokePrefixed(EnvSmokeConfig, err)...))
		}
		c.Defaults = d
	}
	section, err := PolicySection(getenv, "smoke")
	if err == nil && section != nil {
		c.Defaults.Policy, err = smoke.ParsePolicy(EnvPolicy+".smoke", section)
	}
	if err != nil {
		l.errs = append(l.errs, err)
	}
	return c, errors.Join(l.errs...)
}

// smokePartial returns d with a placeholder check if it has none, so that
// Validate judges the rest: the defaults need not name checks.
func smokePartial(d smoke.Config) smoke.Config {
	if len(d.Checks) == 0 {
		d.Checks = []smoke.Check{{Name: "placeholder", Method: "GET", Path: "/", ExpectStatus: []int{200}, Critical: true}}
	}
	return d
}

// smokePrefixed names the variable in each of the joined errors of err.
func smokePrefixed(name string, err error) []error {
	errs := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	}
	out := make([]error, len(errs))
	for i, e := range errs {
		out[i] = fmt.Errorf("%s.%w", name, e)
	}
	return out
}
