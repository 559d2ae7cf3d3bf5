package ecsdeploy

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/gatehouse-dev/gatehouse/internal/awsenv"
)

// NewClient is the one place the suite's ECS client is made: from cfg,
// at the endpoint the environment names for ECS, if any (awsenv).
func NewClient(cfg aws.Config, getenv func(string) string) *ecs.Client {
	return ecs.NewFromConfig(cfg, func(o *ecs.Options) { o.BaseEndpoint = awsenv.BaseEndpoint(getenv, awsenv.ECS) })
}
