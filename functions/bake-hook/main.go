// Command bake-hook is the bake check: an ECS deployment lifecycle hook
// (POST_PRODUCTION_TRAFFIC_SHIFT) that holds a deployment while production
// runs on green, watching alarms and comparing green's metrics with blue's,
// and rolls it back on a breach.
package main

import (
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/gatehouse-dev/gatehouse/internal/awsenv"
	"github.com/gatehouse-dev/gatehouse/internal/bake"
	"github.com/gatehouse-dev/gatehouse/internal/wiring/bakehook"
)

func main() {
	var env bake.HookEnv
	log, aws := awsenv.Boot(os.Getenv, func(getenv func(string) string) (err error) {
		env, err = bake.LoadHookEnv(getenv)
		return err
	})
	lambda.Start(bakehook.New(env, bakehook.AWS(aws, os.Getenv, log)))
}
