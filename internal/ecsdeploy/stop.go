package ecsdeploy

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// StopAPI is the ECS call that stops a service deployment.
type StopAPI interface {
	StopServiceDeployment(ctx context.Context, params *ecs.StopServiceDeploymentInput, optFns ...func(*ecs.Options)) (*ecs.StopServiceDeploymentOutput, error)
}

// ListAPI is the ECS call that lists a service's deployments.
type ListAPI interface {
	ListServiceDeployments(ctx context.Context, params *ecs.ListServiceDeploymentsInput, optFns ...func(*ecs.Options)) (*ecs.ListServiceDeploymentsOutput, error)
}

// Rollback has ECS roll the deployment back (StopServiceDeployment,
// stopType ROLLBACK): production traffic goes back to the source
// revision, which still runs until CLEAN_UP.
func Rollback(ctx context.Context, api StopAPI, deploymentARN string) error {
	if _, err := api.StopServiceDeployment(ctx, &ecs.StopServiceDeploymentInput{
		ServiceDeploymentArn: aws.String(deploymentARN),
		StopType:             ecstypes.StopServiceDeploymentStopTypeRollback,
	}); err != nil {
		return fmt.Errorf("ECS StopServiceDeployment: %w", err)
	}
	return nil
}

// Running returns the ARNs of the service's deployments that are pending
// or in progress, as ECS lists them.
func Running(ctx context.Context, api ListAPI, serviceARN string) ([]string, error) {
	out, err := api.ListServiceDeployments(ctx, &ecs.ListServiceDeploymentsInput{
		Service: aws.String(serviceARN),
		Status:  []ecstypes.ServiceDeploymentStatus{ecstypes.ServiceDeploymentStatusPending, ecstypes.ServiceDeploymentStatusInProgress},
	})
	if err != nil {
		return nil, fmt.Errorf("ECS ListServiceDeployments: %w", err)
	}
	var arns []string
	for _, d := range out.ServiceDeployments {
		arns = append(arns, aws.ToString(d.ServiceDeploymentArn))
	}
	return arns, nil
}
