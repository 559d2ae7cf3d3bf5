package cloudtrail

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	ct "github.com/aws/aws-sdk-go-v2/service/cloudtrail"

	"github.com/gatehouse-dev/gatehouse/internal/awsenv"
)

// NewClient is the one place the suite's CloudTrail client is made: from cfg,
// at the endpoint the environment names for CloudTrail, if any (awsenv).
func NewClient(cfg aws.Config, getenv func(string) string) *ct.Client {
	return ct.NewFromConfig(cfg, func(o *ct.Options) { o.BaseEndpoint = awsenv.BaseEndpoint(getenv, awsenv.CloudTrail) })
}
