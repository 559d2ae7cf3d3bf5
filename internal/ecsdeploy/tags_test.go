package ecsdeploy

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/internal/awstest"
)

func TestServiceTags(t *testing.T) {
	const svc = "arn:aws:ecs:us-west-2:123456789012:service/prod-cluster/orders"
	var asked string
	deny := false
	c := ecs.New(ecs.Options{Region: "us-west-2", Credentials: aws.AnonymousCredentials{},
		APIOptions: []func(*middleware.Stack) error{awstest.Answer(func(p any) (any, error) {
			in, ok := p.(*ecs.ListTagsForResourceInput)
			if !ok {
				return nil, errors.New("unexpected call")
			}
			asked = aws.ToString(in.ResourceArn)
			if deny {
				return nil, &smithy.GenericAPIError{Code: "AccessDeniedException", Message: "not authorized"}
			}
			return &ecs.ListTagsForResourceOutput{Tags: []ecstypes.Tag{
				{Key: aws.String("gatehouse:approvers"), Value: aws.String("alice@example.com bob@example.com")},
				{Key: aws.String("team"), Value: aws.String("orders")},
			}}, nil
		})}})
	got, err := ServiceTags{API: c}.Tags(context.Background(), svc)
	if err != nil || asked != svc {
		t.Fatalf("Tags = %v, %v (asked for %q)", got, err, asked)
	}
	if diff := cmp.Diff(map[string]string{"gatehouse:approvers": "alice@example.com bob@example.com", "team": "orders"}, got); diff != "" {
		t.Errorf("tags (-want +got):\n%s", diff)
	}
	deny = true
	if _, err := (ServiceTags{API: c}).Tags(context.Background(), svc); err == nil {
		t.Error("a denied ListTagsForResource read as no tags: the service's settings would be lost silently")
	}
	if _, err := (ServiceTags{API: c}).Tags(context.Background(), ""); err == nil {
		t.Error("no service ARN read as no tags")
	}
}
