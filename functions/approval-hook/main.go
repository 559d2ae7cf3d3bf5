// Command approval-hook is the approval gate: an ECS deployment lifecycle hook
// (POST_TEST_TRAFFIC_SHIFT by default) that holds a deployment until its
// approvers decide through their review links.
package main

import (
	"os"
	// Change windows name IANA time zones, and the Lambda runtime has no
	// zone database: the function carries its own (about 450 kB).
	_ "time/tzdata"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/gatehouse-dev/gatehouse/internal/awsenv"
	"github.com/gatehouse-dev/gatehouse/internal/config"
	"github.com/gatehouse-dev/gatehouse/internal/wiring/approvalhook"
)

func main() {
	var env config.ApprovalHook
	log, aws := awsenv.Boot(os.Getenv, func(getenv func(string) string) (err error) {
		env, err = config.LoadApprovalHook(getenv)
		return err
	})
	lambda.Start(approvalhook.New(env, approvalhook.AWS(aws, os.Getenv, env, log)))
}
