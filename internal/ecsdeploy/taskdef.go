package ecsdeploy

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go"
)

// TaskDefinitionsAPI is the ECS call that reads a task definition.
type TaskDefinitionsAPI interface {
	DescribeTaskDefinition(ctx context.Context, params *ecs.DescribeTaskDefinitionInput, optFns ...func(*ecs.Options)) (*ecs.DescribeTaskDefinitionOutput, error)
}

// TaskDefinition is what a task definition says that a reviewer compares:
// the task's size, roles and launch types, and each container.
type TaskDefinition struct {
	ARN                     string
	CPU, Memory             string
	TaskRole, ExecutionRole string
	Compatibilities         []string
	NetworkMode             string
	Containers              []Container
	// Other is a fingerprint of the task's settings not read above
	// (volumes, placement constraints, runtime platform, ...): two that
	// differ changed something else.
	Other string
}

// Container is one container definition. Secrets are references (the
// parameter or secret each names), never values.
type Container struct {
	Name, Image                  string
	CPU                          int32
	Memory, MemoryReservation    int32
	Environment, Secrets, Labels map[string]string
	Ports                        []string
	Command, EntryPoint          []string
	HealthCheck                  string
	Essential                    bool
	// Resolved is the image as ECS resolved it for a revision (with its
	// digest), when the caller knows it; Image is as the definition says.
	Resolved string
	// Other is a fingerprint of the container's settings not read above
	// (user, privileged, mounts, logging, dependencies, ...).
	Other string
}

// DescribeTaskDefinition reads the task definition arn (a family:revision
// or an ARN). One ECS does not know wraps ErrNotFound.
func DescribeTaskDefinition(ctx context.Context, api TaskDefinitionsAPI, arn string) (TaskDefinition, error) {
	out, err := api.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(arn)})
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) && apiErr.ErrorCode() == "ClientException" && strings.Contains(strings.ToLower(apiErr.ErrorMessage()), "unable to describe task definition") {
		return TaskDefinition{}, fmt.Errorf("describe task definition %s: %w", arn, ErrNotFound)
	}
	if err != nil {
		return TaskDefinition{}, fmt.Errorf("describe task definition %s: %w", arn, err)
	}
	td := out.TaskDefinition
	if td == nil {
		return TaskDefinition{}, fmt.Errorf("describe task definition %s: %w", arn, ErrNotFound)
	}
	t := TaskDefinition{ARN: aws.ToString(td.TaskDefinitionArn), CPU: aws.ToString(td.Cpu), Memory: aws.ToString(td.Memory),
		TaskRole: aws.ToString(td.TaskRoleArn), ExecutionRole: aws.ToString(td.ExecutionRoleArn), NetworkMode: string(td.NetworkMode)}
	for _, c := range td.RequiresCompatibilities {
		t.Compatibilities = append(t.Compatibilities, string(c))
	}
	for _, cd := range td.ContainerDefinitions {
		t.Containers = append(t.Containers, container(cd))
	}
	rest := *td
	rest.TaskDefinitionArn, rest.Cpu, rest.Memory, rest.TaskRoleArn, rest.ExecutionRoleArn = nil, nil, nil, nil, nil
	rest.RequiresCompatibilities, rest.NetworkMode, rest.ContainerDefinitions = nil, "", nil
	// Bookkeeping, not settings.
	rest.Revision, rest.RegisteredAt, rest.RegisteredBy, rest.DeregisteredAt, rest.Status = 0, nil, nil, nil, ""
	rest.RequiresAttributes, rest.Compatibilities, rest.Family = nil, nil, nil
	t.Other = fingerprint(rest)
	return t, nil
}

// fingerprint is a short digest of v's JSON form.
func fingerprint(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

func container(cd ecstypes.ContainerDefinition) Container {
	c := Container{Name: aws.ToString(cd.Name), Image: aws.ToString(cd.Image), CPU: cd.Cpu, Memory: aws.ToInt32(cd.Memory),
		MemoryReservation: aws.ToInt32(cd.MemoryReservation), Command: cd.Command, EntryPoint: cd.EntryPoint,
		Essential: aws.ToBool(cd.Essential), Environment: map[string]string{}, Secrets: map[string]string{}, Labels: maps.Clone(cd.DockerLabels)}
	for _, kv := range cd.Environment {
		c.Environment[aws.ToString(kv.Name)] = aws.ToString(kv.Value)
	}
	for _, s := range cd.Secrets {
		c.Secrets[aws.ToString(s.Name)] = aws.ToString(s.ValueFrom)
	}
	for _, p := range cd.PortMappings {
		port := strconv.Itoa(int(aws.ToInt32(p.ContainerPort)))
		if hp := aws.ToInt32(p.HostPort); hp != 0 && hp != aws.ToInt32(p.ContainerPort) {
			port = strconv.Itoa(int(hp)) + ":" + port
		}
		c.Ports = append(c.Ports, port+"/"+strings.ToLower(cmp.Or(string(p.Protocol), "tcp")))
	}
	slices.Sort(c.Ports)
	rest := cd
	rest.Name, rest.Image, rest.Cpu, rest.Memory, rest.MemoryReservation = nil, nil, 0, nil, nil
	rest.Command, rest.EntryPoint, rest.Environment, rest.Secrets = nil, nil, nil, nil
	rest.DockerLabels, rest.PortMappings, rest.HealthCheck = nil, nil, nil
	c.Other = fingerprint(rest)
	if hc := cd.HealthCheck; hc != nil {
		c.HealthCheck = strings.Join(hc.Command, " ")
		if i := aws.ToInt32(hc.Interval); i != 0 {
			c.HealthCheck += fmt.Sprintf(" (every %ds", i)
			c.HealthCheck += fmt.Sprintf(", %d retries)", aws.ToInt32(hc.Retries))
		}
	}
	return c
}
