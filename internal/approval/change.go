package approval

// What a deployment changes, as the messages and the page show it.

import (
	"context"
	"strings"

	"github.com/gatehouse-dev/gatehouse/internal/ecsdeploy"
)

func (g *Gate) describe(ctx context.Context, deploymentARN string) Change {
	if g.Describer == nil {
		return Change{}
	}
	ctx, cancel := context.WithTimeout(ctx, describeTimeout)
	defer cancel()
	d, err := g.Describer.Describe(ctx, deploymentARN)
	if err != nil {
		g.Log.WarnContext(ctx, "deployment details unavailable; gating without them", "deployment_arn", deploymentARN, "err", err)
		return Change{}
	}
	return ChangeOf(d)
}

// ChangeOf summarises what ECS reports about a deployment.
func ChangeOf(d ecsdeploy.Deployment) Change {
	c := Change{Known: true, StartedAt: d.StartedAt, FirstDeployment: d.First()}
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
		}
	}
	return c
}

func images(list []ecsdeploy.Image) []Image {
	var out []Image
	for _, i := range list {
		out = append(out, Image{Container: i.Container, Image: i.Image})
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
