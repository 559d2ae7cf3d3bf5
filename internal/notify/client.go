package notify

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/gatehouse-dev/gatehouse/internal/awsenv"
)

// NewClient is the one place the suite's SNS client is made: from cfg,
// at the endpoint the environment names for SNS, if any (awsenv).
func NewClient(cfg aws.Config, getenv func(string) string) *sns.Client {
	return sns.NewFromConfig(cfg, func(o *sns.Options) { o.BaseEndpoint = awsenv.BaseEndpoint(getenv, awsenv.SNS) })
}
