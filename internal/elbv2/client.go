package elbv2

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"

	"github.com/gatehouse-dev/gatehouse/internal/awsenv"
)

// NewClient is the one place the suite's ELBv2 client is made: from cfg,
// at the endpoint the environment names for ELBv2, if any (awsenv).
func NewClient(cfg aws.Config, getenv func(string) string) *elb.Client {
	return elb.NewFromConfig(cfg, func(o *elb.Options) { o.BaseEndpoint = awsenv.BaseEndpoint(getenv, awsenv.ELBv2) })
}
