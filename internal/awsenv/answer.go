package awsenv

import (
	"context"

	"github.com/aws/smithy-go/middleware"
)

// Answer is an SDK API option that answers every call of a client with
// answer, at the SDK's Initialize step, given the operation's input: the
// seam where a simulation (local mode's ECS) or a test stands in for a
// service. The client sends nothing; its own input handling and error
// plumbing still run, and so does every adapter that calls it.
//
//	ecs.New(ecs.Options{Region: "us-west-2", Credentials: aws.AnonymousCredentials{},
//		APIOptions: []func(*middleware.Stack) error{awsenv.Answer(answer)}})
func Answer(answer func(params any) (any, error)) func(*middleware.Stack) error {
	return func(s *middleware.Stack) error {
		return s.Initialize.Add(middleware.InitializeMiddlewareFunc("awsenv.Answer",
			func(ctx context.Context, in middleware.InitializeInput, _ middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				out, err := answer(in.Parameters)
				return middleware.InitializeOutput{Result: out}, middleware.Metadata{}, err
			}), middleware.Before)
	}
}
