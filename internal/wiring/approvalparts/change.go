package approvalparts

import (
	"context"
	"strings"

	"github.com/gatehouse-dev/gatehouse/internal/approval"
	"github.com/gatehouse-dev/gatehouse/internal/ecsdeploy"
)

// changes tells the gate what a deployment changes, from what ECS reports.
type changes struct{ ecs ECS }

func (c changes) Describe(ctx context.Context, deploymentARN string) (approval.Change, error) {
	d, err := c.ecs.Describe(ctx, deploymentARN)
	if err != nil {
		return approval.Change{}, err
	}
	return changeOf(d), nil
}

// changeOf summarises what ECS reports about a deployment.
func changeOf(d ecsdeploy.Deployment) approval.Change {
	c := approval.Change{Known: true, StartedAt: d.StartedAt, FirstDeployment: d.First()}
	for _, s := range d.Sources {
		if s.TaskDefinition != "" {
			c.SourceTaskDefinitions = append(c.SourceTaskDefinitions, shortTaskDef(s.TaskDefinition))
		}
		c.SourceImages = append(c.SourceImages, images(s.Images)...)
	}
	c.TargetTaskDefinition = shortTaskDef(d.Target.TaskDefinition)
	c.TargetImages = images(d.Target.Images)
	for _, h := range d.Hooks {
		if h.TargetARN != "" {
			c.Hooks = append(c.Hooks, h.TargetARN)
			if h.TimeoutAction == "CONTINUE" {
				c.ContinueOnTimeout = append(c.ContinueOnTimeout, h.TargetARN)
			}
		}
	}
	return c
}

func images(list []ecsdeploy.Image) []approval.Image {
	var out []approval.Image
	for _, i := range list {
		out = append(out, approval.Image{Container: i.Container, Image: i.Image})
	}
	return out
}

// shortTaskDef turns a task definition ARN into family:revision.
func shortTaskDef(arn string) string {
	if i := strings.LastIndex(arn, "task-definition/"); i >= 0 {
		return arn[i+len("task-definition/"):]
	}
	return arn
}
