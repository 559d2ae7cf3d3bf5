// Command approval-api is the review API behind every review link: a Lambda
// Function URL handler serving review pages (GET, HEAD) and recording
// decisions (POST).
package main

import (
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/gatehouse-dev/gatehouse/internal/awsenv"
	"github.com/gatehouse-dev/gatehouse/internal/config"
	"github.com/gatehouse-dev/gatehouse/internal/funcurl"
	"github.com/gatehouse-dev/gatehouse/internal/review"
	"github.com/gatehouse-dev/gatehouse/internal/secrets"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

func main() {
	log := lambdacontext.NewLogger()
	slog.SetDefault(log)
	cfg, err := config.LoadApprovalAPI(os.Getenv)
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
	lambda.Start(funcurl.Handler(&review.Handler{
		Store: store.New(awsenv.NewS3(aws, os.Getenv), cfg.Bucket),
		Keys:  keys,
		Now:   time.Now,
		Log:   log,
	}))
}
