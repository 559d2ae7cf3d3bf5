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
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/gatehouse-dev/gatehouse/internal/awstest"
)

func TestDescribeTaskDefinition(t *testing.T) {
	client := ecs.New(ecs.Options{Region: "us-west-2", Credentials: aws.AnonymousCredentials{},
		APIOptions: []func(*middleware.Stack) error{awstest.Answer(func(p any) (any, error) {
			in := p.(*ecs.DescribeTaskDefinitionInput)
			if aws.ToString(in.TaskDefinition) != "orders:42" {
				return nil, &smithy.GenericAPIError{Code: "ClientException", Message: "Unable to describe task definition."}
			}
			return &ecs.DescribeTaskDefinitionOutput{TaskDefinition: &ecstypes.TaskDefinition{
				TaskDefinitionArn: aws.String("arn:aws:ecs:us-west-2:123456789012:task-definition/orders:42"), Cpu: aws.String("256"), Memory: aws.String("512"),
				TaskRoleArn: aws.String("arn:aws:iam::123456789012:role/orders"), RequiresCompatibilities: []ecstypes.Compatibility{ecstypes.CompatibilityFargate},
				ContainerDefinitions: []ecstypes.ContainerDefinition{{Name: aws.String("web"), Image: aws.String("orders:1.5.0"), Memory: aws.Int32(512),
					Environment:  []ecstypes.KeyValuePair{{Name: aws.String("LOG_LEVEL"), Value: aws.String("debug")}},
					Secrets:      []ecstypes.Secret{{Name: aws.String("DB_PASSWORD"), ValueFrom: aws.String("arn:aws:ssm:us-west-2:123456789012:parameter/db")}},
					PortMappings: []ecstypes.PortMapping{{ContainerPort: aws.Int32(8080), Protocol: ecstypes.TransportProtocolTcp}},
					HealthCheck:  &ecstypes.HealthCheck{Command: []string{"CMD-SHELL", "curl -f localhost:8080/health"}, Interval: aws.Int32(30), Retries: aws.Int32(3)},
					DockerLabels: map[string]string{"org.opencontainers.image.revision": "abc"}}},
			}}, nil
		})}})
	got, err := DescribeTaskDefinition(context.Background(), client, "orders:42")
	if err != nil {
		t.Fatal(err)
	}
	want := TaskDefinition{ARN: "arn:aws:ecs:us-west-2:123456789012:task-definition/orders:42", CPU: "256", Memory: "512",
		TaskRole: "arn:aws:iam::123456789012:role/orders", Compatibilities: []string{"FARGATE"},
		Containers: []Container{{Name: "web", Image: "orders:1.5.0", Memory: 512, Environment: map[string]string{"LOG_LEVEL": "debug"},
			Secrets: map[string]string{"DB_PASSWORD": "arn:aws:ssm:us-west-2:123456789012:parameter/db"}, Labels: map[string]string{"org.opencontainers.image.revision": "abc"},
			Ports: []string{"8080/tcp"}, HealthCheck: "CMD-SHELL curl -f localhost:8080/health (every 30s, 3 retries)"}}}
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(TaskDefinition{}, "Other"), cmpopts.IgnoreFields(Container{}, "Other")); diff != "" {
		t.Errorf("task definition (-want +got):\n%s", diff)
	}
	if got.Other == "" || got.Containers[0].Other == "" {
		t.Error("no fingerprint of the settings not read one by one")
	}
	if _, err := DescribeTaskDefinition(context.Background(), client, "orders:1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("an unknown task definition: %v, want ErrNotFound", err)
	}
}

func TestPlacement(t *testing.T) {
	if got := placement(ecstypes.ServiceRevision{LaunchType: ecstypes.LaunchTypeFargate}); got != "FARGATE" {
		t.Errorf("launch type: %q", got)
	}
	got := placement(ecstypes.ServiceRevision{CapacityProviderStrategy: []ecstypes.CapacityProviderStrategyItem{
		{CapacityProvider: aws.String("FARGATE"), Weight: 1}, {CapacityProvider: aws.String("FARGATE_SPOT"), Weight: 3}}})
	if got != "FARGATE:1, FARGATE_SPOT:3" {
		t.Errorf("capacity providers: %q", got)
	}
}
