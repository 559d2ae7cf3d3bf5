package awstest

import (
	"context"

	"github.com/aws/smithy-go/middleware"
)

// Answer is an SDK API option for services with no local stand-in (ECS,
// ELBv2, CloudWatch, STS): every call of the client is answered by answer
// at the SDK's Initialize step, with the operation's input as params. The
// client sends nothing; its own input handling and error plumbing still run.
//
//	ecs.New(ecs.Options{Region: "us-west-2", Credentials: aws.AnonymousCredentials{},
//		APIOptions: []func(*middleware.Stack) error{awstest.Answer(answer)}})
func Answer(answer func(params any) (any, error)) func(*middleware.Stack) error {
	return func(s *middleware.Stack) error {
		return s.Initialize.Add(middleware.InitializeMiddlewareFunc("awstest.Answer",
			func(ctx context.Context, in middleware.InitializeInput, _ middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				out, err := answer(in.Parameters)
				return middleware.InitializeOutput{Result: out}, middleware.Metadata{}, err
			}), middleware.Before)
	}
}
