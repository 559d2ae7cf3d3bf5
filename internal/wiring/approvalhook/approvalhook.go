// Package approvalhook composes the approval hook: configuration, clients,
// handler (see package wiring).
package approvalhook

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/gatehouse-dev/gatehouse/internal/approval"
	"github.com/gatehouse-dev/gatehouse/internal/awsenv"
	gtrail "github.com/gatehouse-dev/gatehouse/internal/cloudtrail"
	"github.com/gatehouse-dev/gatehouse/internal/config"
	"github.com/gatehouse-dev/gatehouse/internal/cwmetrics"
	"github.com/gatehouse-dev/gatehouse/internal/ecsdeploy"
	"github.com/gatehouse-dev/gatehouse/internal/elbv2"
	"github.com/gatehouse-dev/gatehouse/internal/hook"
	"github.com/gatehouse-dev/gatehouse/internal/notify"
	"github.com/gatehouse-dev/gatehouse/internal/secrets"
	"github.com/gatehouse-dev/gatehouse/internal/wiring/approvalparts"
)

// AWS returns the AWS clients for cfg, honouring the endpoint variables of
// getenv (awsenv).
func AWS(aws aws.Config, getenv func(string) string, env config.ApprovalHook, log *slog.Logger) approvalparts.Clients {
	snsClient := notify.NewClient(aws, getenv)
	ecsClient := ecsdeploy.NewClient(aws, getenv)
	smClient := secrets.NewClient(aws, getenv)
	var deployers approval.Deployers
	if env.DeployerLookup {
		deployers = Trail{gtrail.New(gtrail.NewClient(aws, getenv))}
	}
	return approvalparts.Clients{
		Deployers:       deployers,
		S3:              awsenv.NewS3(aws, getenv),
		Notifier:        notify.New(snsClient, env.TopicARN),
		Subscriptions:   &TopicSubscriptions{API: snsClient, Topic: env.TopicARN, Now: time.Now},
		ECS:             ecsdeploy.New(ecsClient),
		TaskDefinitions: ecsClient,
		TestListeners:   elbv2.NewFinder(ecsClient, elbv2.NewClient(aws, getenv)),
		Pauses:          approvalparts.ECSPauses{API: ecsClient},
		Tags:            ecsdeploy.ServiceTags{API: ecsClient},
		Alarms:          cwmetrics.New(cwmetrics.NewClient(aws, getenv)),
		Keys:            secrets.Source(smClient, env.Signing.SecretARN, env.Signing.Key),
		Slack:           approvalparts.SlackOf(env.Slack, smClient),
		Now:             time.Now,
		Log:             log,
	}
}

// New returns the approval hook's handler for lambda.Start: the approval
// service's Invoke.
func New(env config.ApprovalHook, c approvalparts.Clients) func(context.Context, json.RawMessage) (hook.Response, error) {
	return approvalparts.NewService(Suite(env), c).Invoke
}

// Suite is what the approval service is told of the suite, from the
// approval hook's configuration.
func Suite(env config.ApprovalHook) approvalparts.Suite {
	return approvalparts.Suite{Bucket: env.Bucket, ReviewURL: env.ReviewURL, Defaults: env.Defaults, SmokeFunction: env.SmokeFunction, BakeFunction: env.BakeFunction, Function: env.Function}
}
