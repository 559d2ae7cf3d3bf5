package secrets

import (
	"context"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/slackapi"
)

// Slack reads the Slack app's secret, a JSON document
// {"signingSecret": ..., "botToken": ...}, with the signing keys' caching
// rules: cached for CacheTTL, the old value used for at most MaxStale
// while refreshes fail. Only the AWSCURRENT version counts: Slack stops
// signing with a signing secret the moment it is regenerated, and one
// rotated away (perhaps because it leaked) must not go on verifying
// clicks.
type Slack struct{ c *cache[slackapi.Secrets] }

// NewSlack returns the reader of the secret secretARN.
func NewSlack(api API, secretARN string, now func() time.Time) *Slack {
	return &Slack{c: &cache[slackapi.Secrets]{what: "the Slack app's secrets", now: now, fetch: func(ctx context.Context) (slackapi.Secrets, error) {
		return version(ctx, api, secretARN, "the Slack secret", "AWSCURRENT", slackapi.ParseSecrets)
	}}}
}

// Secrets returns the Slack app's secrets, as Keyring.Keys returns keys.
func (s *Slack) Secrets(ctx context.Context) (slackapi.Secrets, error) {
	return s.c.get(ctx)
}

// RefreshAfter is how old the Slack app's secrets must be for Refresh to
// read them anew: a flood of forged requests costs one read in that time.
const RefreshAfter = 30 * time.Second

// Refresh returns the Slack app's secrets read anew, unless they were read
// less than RefreshAfter ago: after a signature the cached signing secret
// does not verify (Slack's was regenerated, and the secret updated).
func (s *Slack) Refresh(ctx context.Context) (slackapi.Secrets, error) {
	return s.c.within(ctx, RefreshAfter)
}

// SlackSource returns where a function gets the Slack app's secrets, and
// how it reads them anew: the secret secretARN when set, else those given
// in the environment (local runs; nothing to read anew).
func SlackSource(api API, secretARN string, local slackapi.Secrets) (get, refresh func(context.Context) (slackapi.Secrets, error)) {
	if secretARN == "" {
		return func(context.Context) (slackapi.Secrets, error) { return local, nil }, nil
	}
	s := NewSlack(api, secretARN, time.Now)
	return s.Secrets, s.Refresh
}
