package secrets

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/gatehouse-dev/gatehouse/internal/slackapi"
)

// Slack reads the Slack app's secret, a JSON document
// {"signingSecret": ..., "botToken": ...}, with the signing keys' rules:
// cached for CacheTTL, the old value used for at most MaxStale while
// refreshes fail, and the AWSPREVIOUS version's signing secret still
// accepted after a rotation.
type Slack struct {
	api API
	arn string
	c   cache[slackapi.Secrets]
}

// NewSlack returns the reader of the secret secretARN.
func NewSlack(api API, secretARN string, now func() time.Time) *Slack {
	s := &Slack{api: api, arn: secretARN}
	s.c = cache[slackapi.Secrets]{what: "the Slack app's secrets", fetch: s.fetch, now: now}
	return s
}

// Secrets returns the Slack app's secrets.
func (s *Slack) Secrets(ctx context.Context) (slackapi.Secrets, error) {
	return s.c.get(ctx)
}

func (s *Slack) fetch(ctx context.Context) (slackapi.Secrets, error) {
	cur, err := s.version(ctx, "AWSCURRENT")
	if err != nil {
		return slackapi.Secrets{}, err
	}
	prev, err := s.version(ctx, "AWSPREVIOUS")
	var nf *smtypes.ResourceNotFoundException
	switch {
	case err == nil:
		if prev.SigningSecret != cur.SigningSecret {
			cur.PreviousSigningSecret = prev.SigningSecret
		}
	case errors.As(err, &nf):
	default:
		return slackapi.Secrets{}, err
	}
	return cur, nil
}

func (s *Slack) version(ctx context.Context, stage string) (slackapi.Secrets, error) {
	out, err := s.api.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: &s.arn, VersionStage: aws.String(stage)})
	if err != nil {
		return slackapi.Secrets{}, fmt.Errorf("get the Slack secret (%s): %w", stage, err)
	}
	sec, err := slackapi.ParseSecrets(aws.ToString(out.SecretString))
	if err != nil {
		return slackapi.Secrets{}, fmt.Errorf("the Slack secret (%s): %w", stage, err)
	}
	return sec, nil
}

// SlackSource returns where a function gets the Slack app's secrets: the
// secret secretARN when set, else those given in the environment (local
// runs).
func SlackSource(api API, secretARN string, local slackapi.Secrets) func(context.Context) (slackapi.Secrets, error) {
	if secretARN == "" {
		return func(context.Context) (slackapi.Secrets, error) { return local, nil }
	}
	return NewSlack(api, secretARN, time.Now).Secrets
}
