// Command approval-hook is the approval gate: an ECS deployment lifecycle hook
// (POST_TEST_TRAFFIC_SHIFT by default) that holds a deployment until its
// approvers decide through their review links.
package main

import (
	"context"
	"os"
	"time"
	// Change windows name IANA time zones, and the Lambda runtime has no
	// zone database: the function carries its own (about 450 kB).
	_ "time/tzdata"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/gatehouse-dev/gatehouse/internal/approval"
	"github.com/gatehouse-dev/gatehouse/internal/awsenv"
	"github.com/gatehouse-dev/gatehouse/internal/config"
	"github.com/gatehouse-dev/gatehouse/internal/cwmetrics"
	"github.com/gatehouse-dev/gatehouse/internal/ecsdeploy"
	"github.com/gatehouse-dev/gatehouse/internal/hook"
	"github.com/gatehouse-dev/gatehouse/internal/notify"
	"github.com/gatehouse-dev/gatehouse/internal/review"
	"github.com/gatehouse-dev/gatehouse/internal/secrets"
	"github.com/gatehouse-dev/gatehouse/internal/smoke"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

func main() {
	var cfg config.ApprovalHook
	log, aws := awsenv.Boot(os.Getenv, func(getenv func(string) string) (err error) {
		cfg, err = config.LoadApprovalHook(getenv)
		return err
	})
	keys := secrets.Source(aws, os.Getenv, cfg.Signing.SecretARN, cfg.Signing.Key)
	st := store.New(awsenv.NewS3(aws, os.Getenv), cfg.Bucket)
	deployments := ecsdeploy.New(ecs.NewFromConfig(aws, func(o *ecs.Options) { o.BaseEndpoint = awsenv.BaseEndpoint(os.Getenv, awsenv.ECS) }))
	gate := &approval.Gate{
		Store:     st,
		Notifier:  notify.New(sns.NewFromConfig(aws, func(o *sns.Options) { o.BaseEndpoint = awsenv.BaseEndpoint(os.Getenv, awsenv.SNS) }), cfg.TopicARN),
		Describer: deployments,
		Linker:    review.Links{Base: cfg.ReviewURL, Keys: keys},
		Now:       time.Now,
		Log:       log,
		// Smoke reports live in the same bucket.
		Smoke:         smoke.Verdicts{Reader: st},
		SmokeFunction: cfg.SmokeFunction,
		Alarms: cloudWatchAlarms{cwmetrics.New(cloudwatch.NewFromConfig(aws, func(o *cloudwatch.Options) {
			o.BaseEndpoint = awsenv.BaseEndpoint(os.Getenv, awsenv.CloudWatch)
		}))},
	}
	lambda.Start(hook.Wrap(approval.HookHandler(gate, cfg.Defaults), hook.Options{
		CallBackDelay: cfg.Defaults.CallbackDelay,
		Logger:        log,
		Deployments:   deployments,
	}))
}

// cloudWatchAlarms reads the alarms of abortOnAlarms.
type cloudWatchAlarms struct{ c *cwmetrics.Client }

func (a cloudWatchAlarms) Alarms(ctx context.Context, names, prefixes []string) ([]approval.Alarm, error) {
	list, err := a.c.Alarms(ctx, names, prefixes)
	out := make([]approval.Alarm, 0, len(list))
	for _, x := range list {
		out = append(out, approval.Alarm{Name: x.Name, State: x.State, Reason: x.Reason})
	}
	return out, err
}
