// Command approval-api is the review API behind every review link: a Lambda
// Function URL handler serving review pages (GET, HEAD) and recording
// decisions (POST).
package main

import (
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/gatehouse-dev/gatehouse/internal/awsenv"
	"github.com/gatehouse-dev/gatehouse/internal/config"
	"github.com/gatehouse-dev/gatehouse/internal/ecsdeploy"
	"github.com/gatehouse-dev/gatehouse/internal/funcurl"
	"github.com/gatehouse-dev/gatehouse/internal/review"
	"github.com/gatehouse-dev/gatehouse/internal/secrets"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

func main() {
	var cfg config.ApprovalAPI
	log, aws := awsenv.Boot(os.Getenv, func(getenv func(string) string) (err error) {
		cfg, err = config.LoadApprovalAPI(getenv)
		return err
	})
	keys := secrets.Source(aws, os.Getenv, cfg.Signing.SecretARN, cfg.Signing.Key)
	lambda.Start(funcurl.Handler(&review.Handler{
		Store: store.New(awsenv.NewS3(aws, os.Getenv), cfg.Bucket),
		Keys:  keys,
		Now:   time.Now,
		Log:   log,
		// A request whose deployment ECS stopped or rolled back takes no votes.
		Deployments: ecsdeploy.New(ecs.NewFromConfig(aws, func(o *ecs.Options) { o.BaseEndpoint = awsenv.BaseEndpoint(os.Getenv, awsenv.ECS) })),
		BasePath:    review.BasePath(cfg.ReviewURL),
	}))
}
