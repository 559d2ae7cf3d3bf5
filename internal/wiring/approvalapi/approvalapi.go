// Package approvalapi composes the review API: configuration, clients,
// handler (see package wiring).
package approvalapi

import (
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/gatehouse-dev/gatehouse/internal/awsenv"
	"github.com/gatehouse-dev/gatehouse/internal/config"
	"github.com/gatehouse-dev/gatehouse/internal/cwmetrics"
	"github.com/gatehouse-dev/gatehouse/internal/ecsdeploy"
	"github.com/gatehouse-dev/gatehouse/internal/notify"
	"github.com/gatehouse-dev/gatehouse/internal/review"
	"github.com/gatehouse-dev/gatehouse/internal/secrets"
	"github.com/gatehouse-dev/gatehouse/internal/slackapp"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/internal/wiring/approvalparts"
)

// AWS returns the AWS clients for env, honouring the endpoint variables of
// getenv (awsenv).
func AWS(aws aws.Config, getenv func(string) string, env config.ApprovalAPI, log *slog.Logger) approvalparts.Clients {
	ecsClient := ecsdeploy.NewClient(aws, getenv)
	smClient := secrets.NewClient(aws, getenv)
	c := approvalparts.Clients{
		S3:    awsenv.NewS3(aws, getenv),
		ECS:   ecsdeploy.New(ecsClient),
		Keys:  secrets.Source(smClient, env.Signing.SecretARN, env.Signing.Key),
		Slack: approvalparts.SlackOf(env.Slack, smClient),
		Now:   time.Now,
		Log:   log,
	}
	if env.TopicARN != "" {
		// Pause mode: the deciding vote continues the deployment at once.
		c.Pauses = approvalparts.ECSPauses{API: ecsClient}
		c.Notifier = notify.New(notify.NewClient(aws, getenv), env.TopicARN)
		c.Alarms = cwmetrics.New(cwmetrics.NewClient(aws, getenv))
	}
	return c
}

// New returns the review API's HTTP handler; funcurl.Handler adapts it to
// the Function URL. Its votes go through the approval service, which
// settles a deciding vote on a PAUSE request at once when c reaches PAUSE
// hooks and the topic (pause mode); otherwise the suite's sweep does.
func New(env config.ApprovalAPI, c approvalparts.Clients) *review.Handler {
	if c.Pauses == nil || c.Notifier == nil {
		// A settle needs both: without them, the suite's sweep settles.
		c.Pauses, c.Notifier = nil, nil
	}
	svc := approvalparts.NewService(approvalparts.Suite{Bucket: env.Bucket, ReviewURL: env.ReviewURL}, c)
	h := &review.Handler{
		Approvals: svc,
		Reports:   store.New(c.S3, env.Bucket),
		Keys:      c.Keys,
		Now:       c.Now,
		Log:       c.Log,
		BasePath:  review.BasePath(env.ReviewURL),
	}
	if c.Slack != nil {
		// Slack posts its button clicks here.
		// Slack's timestamps are the wall clock's, whatever the suite's
		// clock (local mode's runs fast).
		h.Slack = &slackapp.Interactions{Secrets: c.Slack.Secrets, Refresh: c.Slack.Refresh, API: c.Slack.API, Votes: svc, Now: time.Now, Log: c.Log}
	}
	return h
}
