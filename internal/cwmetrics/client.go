package cwmetrics

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"

	"github.com/gatehouse-dev/gatehouse/internal/awsenv"
)

// NewClient is the one place the suite's CloudWatch client is made: from cfg,
// at the endpoint the environment names for CloudWatch, if any (awsenv).
func NewClient(cfg aws.Config, getenv func(string) string) *cloudwatch.Client {
	return cloudwatch.NewFromConfig(cfg, func(o *cloudwatch.Options) { o.BaseEndpoint = awsenv.BaseEndpoint(getenv, awsenv.CloudWatch) })
}
