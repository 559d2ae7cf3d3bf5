// Command echo is a tiny Lambda function for the awstest package's own
// tests: it echoes its input and, on request, fails, reports environment
// variables, or talks to S3 and SNS through the SDK's default configuration,
// as the real functions do.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sns"
)

type request struct {
	Echo    json.RawMessage `json:"echo,omitempty"`
	Fail    string          `json:"fail,omitempty"`
	Panic   string          `json:"panic,omitempty"`
	Exit    int             `json:"exit,omitempty"`
	SleepMS int             `json:"sleepMs,omitempty"`
	Env     []string        `json:"env,omitempty"`
	Log     string          `json:"log,omitempty"`
	PutS3   *putS3          `json:"putS3,omitempty"`
	Publish *publish        `json:"publish,omitempty"`
}

type putS3 struct {
	Bucket string `json:"bucket"`
	Key    string `json:"key"`
	Body   string `json:"body"`
}

type publish struct {
	TopicARN string `json:"topicArn"`
	Message  string `json:"message"`
}

type response struct {
	Echo         json.RawMessage   `json:"echo,omitempty"`
	FunctionName string            `json:"functionName"`
	Env          map[string]string `json:"env,omitempty"`
	ETag         string            `json:"etag,omitempty"`
	MessageID    string            `json:"messageId,omitempty"`
}

type handler struct {
	s3  *s3.Client
	sns *sns.Client
}

func (h *handler) handle(ctx context.Context, req request) (*response, error) {
	if req.Log != "" {
		log.Print(req.Log)
	}
	switch {
	case req.Fail != "":
		return nil, errors.New(req.Fail)
	case req.Panic != "":
		panic(req.Panic)
	case req.Exit != 0:
		os.Exit(req.Exit)
	case req.SleepMS > 0:
		// Deliberately deaf to the deadline, like a stuck call: a handler
		// that returns ctx.Err() in time is an ordinary handler error.
		time.Sleep(time.Duration(req.SleepMS) * time.Millisecond)
	}
	resp := &response{Echo: req.Echo, FunctionName: lambdacontext.FunctionName}
	if len(req.Env) > 0 {
		resp.Env = map[string]string{}
		for _, k := range req.Env {
			resp.Env[k] = os.Getenv(k)
		}
	}
	if p := req.PutS3; p != nil {
		out, err := h.s3.PutObject(ctx, &s3.PutObjectInput{
			Bucket: &p.Bucket, Key: &p.Key, Body: strings.NewReader(p.Body), IfNoneMatch: aws.String("*"),
		})
		if err != nil {
			return nil, fmt.Errorf("put s3://%s/%s: %w", p.Bucket, p.Key, err)
		}
		resp.ETag = aws.ToString(out.ETag)
	}
	if p := req.Publish; p != nil {
		out, err := h.sns.Publish(ctx, &sns.PublishInput{TopicArn: &p.TopicARN, Message: &p.Message})
		if err != nil {
			return nil, fmt.Errorf("publish to %s: %w", p.TopicARN, err)
		}
		resp.MessageID = aws.ToString(out.MessageId)
	}
	return resp, nil
}

func main() {
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		log.Fatalf("load AWS config: %v", err)
	}
	h := &handler{s3: s3.NewFromConfig(cfg), sns: sns.NewFromConfig(cfg)}
	lambda.Start(h.handle)
}
