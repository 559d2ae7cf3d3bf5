package config

import (
	"errors"
	"strings"

	"github.com/gatehouse-dev/gatehouse/internal/bake"
)

// EnvBakeConfig holds the bake hook's default configuration: the same JSON
// object as its hookDetails, whose keys override it per service.
const EnvBakeConfig = "GATEHOUSE_BAKE_CONFIG"

// BakeHook is the bake hook's configuration.
type BakeHook struct {
	// Bucket is the state bucket final verdicts are written to; empty means
	// they are logged, not stored.
	Bucket string
	// Defaults are the bake settings hookDetails can override.
	Defaults bake.Config
}

// LoadBakeHook reads the bake hook's environment: GATEHOUSE_STATE_BUCKET
// (optional) and GATEHOUSE_BAKE_CONFIG (optional, defaults without checks
// when unset). Every problem is reported at once.
func LoadBakeHook(getenv func(string) string) (BakeHook, error) {
	l := &loader{getenv: getenv}
	c := BakeHook{Bucket: strings.TrimSpace(getenv(EnvStateBucket)), Defaults: bake.DefaultConfig()}
	if strings.ContainsAny(c.Bucket, "/: ") {
		l.bad(EnvStateBucket, "%q is not a bucket name (give the name, not an ARN or URL)", c.Bucket)
	}
	if v := strings.TrimSpace(getenv(EnvBakeConfig)); v != "" {
		d, err := bake.ParseConfig([]byte(v))
		if err != nil {
			l.bad(EnvBakeConfig, "%s", Describe(err))
		} else {
			c.Defaults = d
		}
	}
	return c, errors.Join(l.errs...)
}
