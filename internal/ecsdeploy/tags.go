package ecsdeploy

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
)

// TagsAPI is the ECS call ServiceTags makes. *ecs.Client satisfies it.
type TagsAPI interface {
	ListTagsForResource(ctx context.Context, params *ecs.ListTagsForResourceInput, optFns ...func(*ecs.Options)) (*ecs.ListTagsForResourceOutput, error)
}

// ServiceTags reads an ECS service's tags, its settings for a PAUSE hook
// (approval.ApplyTags).
type ServiceTags struct{ API TagsAPI }

// Tags implements approval.ServiceTags.
func (s ServiceTags) Tags(ctx context.Context, serviceARN string) (map[string]string, error) {
	if serviceARN == "" {
		return nil, fmt.Errorf("ECS named no service for the deployment")
	}
	out, err := s.API.ListTagsForResource(ctx, &ecs.ListTagsForResourceInput{ResourceArn: &serviceARN})
	if err != nil {
		return nil, fmt.Errorf("ecs:ListTagsForResource %s: %w", serviceARN, err)
	}
	tags := make(map[string]string, len(out.Tags))
	for _, t := range out.Tags {
		tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return tags, nil
}
