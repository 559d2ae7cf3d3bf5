// Command approval-hook is the approval gate: an ECS deployment lifecycle hook
// (POST_TEST_TRAFFIC_SHIFT by default) that holds a deployment until its
// approvers decide through their review links.
package main

import (
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/gatehouse-dev/gatehouse/internal/approval"
	"github.com/gatehouse-dev/gatehouse/internal/awsenv"
	"github.com/gatehouse-dev/gatehouse/internal/config"
	"github.com/gatehouse-dev/gatehouse/internal/ecsdeploy"
	"github.com/gatehouse-dev/gatehouse/internal/hook"
	"github.com/gatehouse-dev/gatehouse/internal/notify"
	"github.com/gatehouse-dev/gatehouse/internal/review"
	"github.com/gatehouse-dev/gatehouse/internal/secrets"
	"github.com/gatehouse-dev/gatehouse/internal/smoke"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

func main() {
	log := lambdacontext.NewLogger()
	slog.SetDefault(log)
	cfg, err := config.LoadApprovalHook(os.Getenv)
	if err != nil {
		log.Error("bad configuration", "err", config.Describe(err))
		os.Exit(1)
	}
	aws, err := awsenv.FromEnv(os.Getenv)
	if err != nil {
		log.Error("bad configuration", "err", err)
		os.Exit(1)
	}
	var keys review.Keys
	if cfg.Signing.SecretARN != "" {
		keys = secrets.New(secretsmanager.NewFromConfig(aws, func(o *secretsmanager.Options) {
			o.BaseEndpoint = awsenv.BaseEndpoint(os.Getenv, awsenv.SecretsManager)
		}), cfg.Signing.SecretARN, time.Now)
	} else {
		keys = *cfg.Signing.Key
	}
	st := store.New(awsenv.NewS3(aws, os.Getenv), cfg.Bucket)
	gate := &approval.Gate{
		Store:     st,
		Notifier:  notify.New(sns.NewFromConfig(aws, func(o *sns.Options) { o.BaseEndpoint = awsenv.BaseEndpoint(os.Getenv, awsenv.SNS) }), cfg.TopicARN),
		Describer: ecsdeploy.New(ecs.NewFromConfig(aws, func(o *ecs.Options) { o.BaseEndpoint = awsenv.BaseEndpoint(os.Getenv, awsenv.ECS) })),
		Linker:    review.Links{Base: cfg.ReviewURL, Keys: keys},
		Now:       time.Now,
		Log:       log,
		// Smoke reports live in the same bucket.
		Smoke:         smoke.Verdicts{Reader: st},
		SmokeFunction: cfg.SmokeFunction,
	}
	lambda.Start(hook.Wrap(approval.HookHandler(gate, cfg.Defaults), hook.Options{
		CallBackDelay: cfg.Defaults.CallbackDelay,
		Logger:        log,
	}))
}
