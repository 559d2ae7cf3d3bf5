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

// Keyring fetches and caches the signing keys of one secret.
type Keyring struct {
	api API
	arn string
	now func() time.Time

	mu      sync.Mutex
	keys    token.Keyring
	fetched time.Time
}

// New returns a keyring reading the secret secretARN.
func New(api API, secretARN string, now func() time.Time) *Keyring {
	return &Keyring{api: api, arn: secretARN, now: now}
}

// Keys returns the current and previous keys. When a refresh fails and keys
// were fetched before, the old keys are used rather than failing.
func (k *Keyring) Keys(ctx context.Context) (token.Keyring, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if !k.fetched.IsZero() && k.now().Sub(k.fetched) < CacheTTL {
		return k.keys, nil
	}
	keys, err := k.fetch(ctx)
	if err != nil {
		if !k.fetched.IsZero() {
			return k.keys, nil
		}
		return token.Keyring{}, err
	}
	k.keys, k.fetched = keys, k.now()
	return keys, nil
}

func (k *Keyring) fetch(ctx context.Context) (token.Keyring, error) {
	cur, err := k.version(ctx, "AWSCURRENT")
	if err != nil {
		return token.Keyring{}, err
	}
	ring := token.Keyring{Current: cur}
	prev, err := k.version(ctx, "AWSPREVIOUS")
	var nf *smtypes.ResourceNotFoundException
	switch {
	case err == nil:
		if prev.ID != cur.ID {
			ring.Previous = []token.Key{prev}
		}
	case errors.As(err, &nf):
		// No previous version: the secret was never rotated.
	default:
		return token.Keyring{}, err
	}
	return ring, nil
}

func (k *Keyring) version(ctx context.Context, stage string) (token.Key, error) {
	out, err := k.api.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{
		SecretId:     &k.arn,
		VersionStage: aws.String(stage),
	})
	if err != nil {
		return token.Key{}, fmt.Errorf("get signing secret (%s): %w", stage, err)
	}
	key, err := token.ParseSecret(aws.ToString(out.SecretString))
	if err != nil {
		return token.Key{}, fmt.Errorf("signing secret (%s): %w", stage, err)
	}
	return key, nil
}

// KeySource supplies the signing keys.
type KeySource interface {
	Keys(ctx context.Context) (token.Keyring, error)
}

// Source returns where a function gets its signing keys: the Secrets
// Manager secret secretARN when set, else the key given in the environment
// (local runs).
func Source(cfg aws.Config, getenv func(string) string, secretARN string, local *token.Keyring) KeySource {
	if secretARN == "" && local != nil {
		return *local
	}
	api := secretsmanager.NewFromConfig(cfg, func(o *secretsmanager.Options) {
		o.BaseEndpoint = awsenv.BaseEndpoint(getenv, awsenv.SecretsManager)
	})
	return New(api, secretARN, time.Now)
}
