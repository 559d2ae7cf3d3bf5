// Command smoke-hook is the smoke-test gate: an ECS deployment lifecycle hook
// (POST_TEST_TRAFFIC_SHIFT by default) that runs declarative HTTP checks
// against the green revision through the test listener and fails the
// deployment, so that ECS rolls back, when a critical check fails.
package main

import (
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/gatehouse-dev/gatehouse/internal/awsenv"
	"github.com/gatehouse-dev/gatehouse/internal/config"
	"github.com/gatehouse-dev/gatehouse/internal/wiring/smokehook"
)

func main() {
	var env config.SmokeHook
	log, aws := awsenv.Boot(os.Getenv, func(getenv func(string) string) (err error) {
		env, err = config.LoadSmokeHook(getenv)
		return err
	})
	lambda.Start(smokehook.New(env, smokehook.AWS(aws, os.Getenv, log)))
}
