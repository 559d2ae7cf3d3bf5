// Command approval-api is the review API behind every review link: a Lambda
// Function URL handler serving review pages (GET, HEAD) and recording
// decisions (POST).
package main

import (
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/gatehouse-dev/gatehouse/internal/awsenv"
	"github.com/gatehouse-dev/gatehouse/internal/config"
	"github.com/gatehouse-dev/gatehouse/internal/funcurl"
	"github.com/gatehouse-dev/gatehouse/internal/wiring/approvalapi"
)

func main() {
	var env config.ApprovalAPI
	log, aws := awsenv.Boot(os.Getenv, func(getenv func(string) string) (err error) {
		env, err = config.LoadApprovalAPI(getenv)
		return err
	})
	lambda.Start(funcurl.Handler(approvalapi.New(env, approvalapi.AWS(aws, os.Getenv, env, log))))
}
