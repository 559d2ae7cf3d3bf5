// Package secrets loads the link-signing keys from AWS Secrets Manager. The
// secret's AWSCURRENT version signs; its AWSPREVIOUS version, while it exists,
// still verifies, so Secrets Manager's own rotation rotates the keys with no
// broken links. Keys are cached for a while so that a rotation is picked up
// without a cold start.
package secrets

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/gatehouse-dev/gatehouse/internal/awsenv"
	"github.com/gatehouse-dev/gatehouse/internal/token"
)

// API is the part of *secretsmanager.Client the keyring uses.
type API interface {
	GetSecretValue(ctx context.Context, params *secretsmanager.GetSecretValueInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

// CacheTTL is how long fetched keys are used before they are fetched again.
const CacheTTL = 5 * time.Minute

// MaxStale is how long keys fetched earlier are still used while every
// refresh fails. After that the keyring neither signs nor verifies: keys
// that may have been rotated away (or revoked) are not trusted for ever.
const MaxStale = time.Hour

// Keyring fetches and caches the signing keys of one secret.
type Keyring struct{ c *cache[token.Keyring] }

// New returns a keyring reading the secret secretARN: its current key
// signs, and its previous one, while it exists, still verifies.
func New(api API, secretARN string, now func() time.Time) *Keyring {
	return &Keyring{c: &cache[token.Keyring]{what: "signing keys", now: now, fetch: func(ctx context.Context) (token.Keyring, error) {
		cur, prev, err := versions(ctx, api, secretARN, "signing secret", token.ParseSecret)
		if err != nil {
			return token.Keyring{}, err
		}
		ring := token.Keyring{Current: cur}
		if prev != nil && prev.ID != cur.ID {
			ring.Previous = []token.Key{*prev}
		}
		return ring, nil
	}}}
}

// Keys returns the current and previous keys. When a refresh fails and keys
// were fetched before, the old keys are used rather than failing, for at
// most MaxStale from the first failure; after that every call fails, naming
// the refresh's error, until a refresh succeeds.
func (k *Keyring) Keys(ctx context.Context) (token.Keyring, error) {
	return k.c.get(ctx)
}

// cache holds what was fetched from a secret for CacheTTL, and keeps using
// it while refreshes fail, for at most MaxStale.
type cache[T any] struct {
	what  string
	fetch func(ctx context.Context) (T, error)
	now   func() time.Time

	mu      sync.Mutex
	val     T
	fetched time.Time
	// failing is when refreshes started failing; zero while they succeed.
	failing time.Time
}

func (c *cache[T]) get(ctx context.Context) (T, error) {
	return c.within(ctx, CacheTTL)
}

// within is get with values fetched less than ttl ago taken as fresh.
func (c *cache[T]) within(ctx context.Context, ttl time.Duration) (T, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if !c.fetched.IsZero() && now.Sub(c.fetched) < ttl {
		return c.val, nil
	}
	val, err := c.fetch(ctx)
	if err != nil {
		var zero T
		if c.fetched.IsZero() {
			return zero, err
		}
		if c.failing.IsZero() {
			c.failing = now
		}
		if d := now.Sub(c.failing); d >= MaxStale {
			return zero, fmt.Errorf("%s could not be refreshed for %s (at most %s is allowed), so they are no longer used: %w",
				c.what, d.Round(time.Second), MaxStale, err)
		}
		return c.val, nil
	}
	c.val, c.fetched, c.failing = val, now, time.Time{}
	return val, nil
}

// errUnparsable: a secret's version is not what it must hold.
var errUnparsable = errors.New("unreadable")

// versions reads the secret arn's AWSCURRENT version and, while there is
// one (the secret was rotated), its AWSPREVIOUS one, each read by parse.
func versions[T any](ctx context.Context, api API, arn, what string, parse func(string) (T, error)) (cur T, prev *T, err error) {
	if cur, err = version(ctx, api, arn, what, "AWSCURRENT", parse); err != nil {
		return cur, nil, err
	}
	p, err := version(ctx, api, arn, what, "AWSPREVIOUS", parse)
	var nf *smtypes.ResourceNotFoundException
	switch {
	case err == nil:
		return cur, &p, nil
	case errors.As(err, &nf), errors.Is(err, errUnparsable):
		// No previous version (the secret was never rotated), or one that
		// never worked: the current one alone.
		return cur, nil, nil
	}
	return cur, nil, err
}

// version reads the secret arn's version at stage, read by parse.
func version[T any](ctx context.Context, api API, arn, what, stage string, parse func(string) (T, error)) (T, error) {
	var zero T
	out, err := api.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: &arn, VersionStage: aws.String(stage)})
	if err != nil {
		return zero, fmt.Errorf("get %s (%s): %w", what, stage, err)
	}
	v, err := parse(aws.ToString(out.SecretString))
	if err != nil {
		return zero, fmt.Errorf("%s (%s): %w: %w", what, stage, errUnparsable, err)
	}
	return v, nil
}

// KeySource supplies the signing keys.
type KeySource interface {
	Keys(ctx context.Context) (token.Keyring, error)
}

// NewClient returns the Secrets Manager client for cfg, honouring the
// endpoint variables of getenv (awsenv): the one construction of it.
func NewClient(cfg aws.Config, getenv func(string) string) *secretsmanager.Client {
	return secretsmanager.NewFromConfig(cfg, func(o *secretsmanager.Options) {
		o.BaseEndpoint = awsenv.BaseEndpoint(getenv, awsenv.SecretsManager)
	})
}

// Source returns where a function gets its signing keys: the Secrets
// Manager secret secretARN when set, else the key given in the environment
// (local runs).
func Source(api API, secretARN string, local *token.Keyring) KeySource {
	if secretARN == "" && local != nil {
		return *local
	}
	return New(api, secretARN, time.Now)
}
