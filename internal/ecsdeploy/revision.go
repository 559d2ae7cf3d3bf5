package ecsdeploy

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// ErrRevisionNotFound marks a service revision ECS does not know.
var ErrRevisionNotFound = errors.New("service revision not found")

// RevisionsAPI is the ECS call DescribeRevision makes.
type RevisionsAPI interface {
	DescribeServiceRevisions(ctx context.Context, params *ecs.DescribeServiceRevisionsInput, optFns ...func(*ecs.Options)) (*ecs.DescribeServiceRevisionsOutput, error)
}

// DescribeRevision returns the service revision arn: the first step of every walk
// from a revision to its load balancers, listeners and rules. An error that
// is not ErrRevisionNotFound (which carries ECS's failure reason, when it
// gave one) is the API's, for the caller to classify.
func DescribeRevision(ctx context.Context, api RevisionsAPI, arn string) (ecstypes.ServiceRevision, error) {
	out, err := api.DescribeServiceRevisions(ctx, &ecs.DescribeServiceRevisionsInput{ServiceRevisionArns: []string{arn}})
	if err != nil {
		return ecstypes.ServiceRevision{}, err
	}
	for _, r := range out.ServiceRevisions {
		if aws.ToString(r.ServiceRevisionArn) == arn || len(out.ServiceRevisions) == 1 && r.ServiceRevisionArn == nil {
			return r, nil
		}
	}
	if len(out.Failures) > 0 {
		return ecstypes.ServiceRevision{}, fmt.Errorf("%w (%s)", ErrRevisionNotFound, aws.ToString(out.Failures[0].Reason))
	}
	return ecstypes.ServiceRevision{}, ErrRevisionNotFound
}
