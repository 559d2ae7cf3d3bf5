package ecsdeploy

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

type revisions struct {
	out *ecs.DescribeServiceRevisionsOutput
	err error
}

func (r revisions) DescribeServiceRevisions(context.Context, *ecs.DescribeServiceRevisionsInput, ...func(*ecs.Options)) (*ecs.DescribeServiceRevisionsOutput, error) {
	return r.out, r.err
}

func TestDescribeRevision(t *testing.T) {
	ctx := context.Background()
	const arn = "arn:aws:ecs:us-west-2:1:service-revision/c/s/1"
	found := revisions{out: &ecs.DescribeServiceRevisionsOutput{ServiceRevisions: []ecstypes.ServiceRevision{
		{ServiceRevisionArn: aws.String(arn), TaskDefinition: aws.String("td:1")},
	}}}
	if r, err := DescribeRevision(ctx, found, arn); err != nil || aws.ToString(r.TaskDefinition) != "td:1" {
		t.Errorf("DescribeRevision = %+v, %v", r, err)
	}
	missing := revisions{out: &ecs.DescribeServiceRevisionsOutput{Failures: []ecstypes.Failure{{Arn: aws.String(arn), Reason: aws.String("MISSING")}}}}
	if _, err := DescribeRevision(ctx, missing, arn); !errors.Is(err, ErrRevisionNotFound) || !strings.Contains(err.Error(), "MISSING") {
		t.Errorf("DescribeRevision of a missing revision = %v, want ErrRevisionNotFound with ECS's reason", err)
	}
	denied := errors.New("AccessDenied")
	if _, err := DescribeRevision(ctx, revisions{err: denied}, arn); !errors.Is(err, denied) {
		t.Errorf("DescribeRevision when denied = %v, want the API's error", err)
	}
}
