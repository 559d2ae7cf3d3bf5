// Command bake-hook is the bake check: an ECS deployment lifecycle hook
// (POST_PRODUCTION_TRAFFIC_SHIFT) that holds a deployment while production
// runs on green, watching alarms and comparing green's metrics with blue's,
// and rolls it back on a breach.
package main

import (
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"

	"github.com/gatehouse-dev/gatehouse/internal/awsenv"
	"github.com/gatehouse-dev/gatehouse/internal/bake"
	"github.com/gatehouse-dev/gatehouse/internal/config"
	"github.com/gatehouse-dev/gatehouse/internal/cwmetrics"
	"github.com/gatehouse-dev/gatehouse/internal/ecsdeploy"
	"github.com/gatehouse-dev/gatehouse/internal/hook"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/internal/targetgroups"
)

func main() {
	var cfg bake.HookEnv
	log, aws := awsenv.Boot(os.Getenv, func(getenv func(string) string) (err error) {
		cfg, err = bake.LoadHookEnv(getenv)
		return err
	})
	cw := cwmetrics.New(cloudwatch.NewFromConfig(aws, func(o *cloudwatch.Options) {
		o.BaseEndpoint = awsenv.BaseEndpoint(os.Getenv, awsenv.CloudWatch)
	}))
	ecsClient := ecs.NewFromConfig(aws, func(o *ecs.Options) { o.BaseEndpoint = awsenv.BaseEndpoint(os.Getenv, awsenv.ECS) })
	checker := &bake.Checker{
		Alarms:      cw,
		Targets:     cw,
		Expressions: cw,
		Locator: targetgroups.New(
			ecsClient,
			elb.NewFromConfig(aws, func(o *elb.Options) { o.BaseEndpoint = awsenv.BaseEndpoint(os.Getenv, awsenv.ELBv2) }),
		),
		Now: time.Now,
		Log: log,
	}
	if cfg.Bucket != "" {
		checker.Reports = store.New(awsenv.NewS3(aws, os.Getenv), cfg.Bucket)
	} else {
		log.Warn("no state bucket configured: bake verdicts are logged, not stored", "env", config.EnvStateBucket)
	}
	lambda.Start(hook.Wrap(bake.HookHandler(checker, cfg.Defaults), hook.Options{
		CallBackDelay: cfg.Defaults.CallbackDelay,
		Logger:        log,
		// A rollback is told by what ECS says, not by the weights alone.
		Deployments: ecsdeploy.New(ecsClient),
	}))
}
