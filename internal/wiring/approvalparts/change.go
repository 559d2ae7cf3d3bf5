package approvalparts

import (
	"context"
	"errors"
	"strings"

	"github.com/gatehouse-dev/gatehouse/internal/approval"
	"github.com/gatehouse-dev/gatehouse/internal/ecsdeploy"
	"github.com/gatehouse-dev/gatehouse/internal/elbv2"
	"github.com/gatehouse-dev/gatehouse/internal/hook"
	"github.com/gatehouse-dev/gatehouse/internal/taskdiff"
)

// changes tells the gate what a deployment changes, from what ECS reports:
// the revisions, the diff of their task definitions (tds, when set), and
// where green's test listener is (finder, when set).
type changes struct {
	ecs    ECS
	tds    ecsdeploy.TaskDefinitionsAPI
	finder TestListeners
}

// TestListeners finds a revision's test listener: *elbv2.Finder.
type TestListeners interface {
	Find(ctx context.Context, serviceRevisionARN string) (elbv2.TestListener, error)
}

func (c changes) Describe(ctx context.Context, deploymentARN string) (approval.Change, error) {
	d, err := c.ecs.Describe(ctx, deploymentARN)
	if err != nil {
		return approval.Change{}, err
	}
	ch := changeOf(d)
	if c.tds != nil {
		ch.Diff, ch.DiffUnknown, ch.DiffAgain = c.diff(ctx, d)
	}
	if c.finder != nil && d.Target.ARN != "" {
		ch.Try, ch.TryUnknown = c.try(ctx, d.Target.ARN)
	}
	return ch, nil
}

// diff compares blue's task definition with green's; a first deployment
// has nothing to compare with. When ECS cannot say, it says why, and
// whether asking again may help (a transient failure, not a refusal).
func (c changes) diff(ctx context.Context, d ecsdeploy.Deployment) (_ *taskdiff.Diff, unknown string, again bool) {
	if len(d.Sources) == 0 || d.Target.TaskDefinition == "" {
		return nil, "", false
	}
	blue, err := ecsdeploy.DescribeTaskDefinition(ctx, c.tds, d.Sources[0].TaskDefinition)
	if err != nil {
		return nil, "changes could not be read: " + hook.OneLine(err.Error()), hook.IsTransient(err)
	}
	green, err := ecsdeploy.DescribeTaskDefinition(ctx, c.tds, d.Target.TaskDefinition)
	if err != nil {
		return nil, "changes could not be read: " + hook.OneLine(err.Error()), hook.IsTransient(err)
	}
	resolve(&blue, d.Sources[0].Images)
	resolve(&green, d.Target.Images)
	diff := taskdiff.Compare(blue, green)
	if from, to := d.Sources[0].Placement, d.Target.Placement; from != to {
		// The launch type or capacity providers: the revisions', not the
		// task definitions'.
		diff.Add(taskdiff.Change{What: "placement", From: from, To: to})
	}
	return &diff, "", false
}

// resolve gives td's containers the images ECS resolved for the revision
// (with digests), so that a new build under the same tag is a change.
func resolve(td *ecsdeploy.TaskDefinition, images []ecsdeploy.Image) {
	for i, c := range td.Containers {
		for _, img := range images {
			if img.Container == c.Name {
				td.Containers[i].Resolved = img.Image
			}
		}
	}
}

// try finds where green can be tried: its test listener, with the header
// its rule routes by. Unknown stays unknown, said in one line.
func (c changes) try(ctx context.Context, revisionARN string) (*approval.TryIt, string) {
	t, err := c.finder.Find(ctx, revisionARN)
	switch {
	case errors.Is(err, elbv2.ErrNoTestListener):
		return nil, "the service's load balancer has no test listener rule"
	case err != nil:
		return nil, "the test listener could not be found: " + hook.OneLine(err.Error())
	}
	headers := map[string]string{}
	for k, v := range t.Headers {
		// A header used as a shared token is not kept, only named.
		headers[k] = approval.HeaderValue(k, v)
	}
	if len(headers) == 0 {
		headers = nil
	}
	paths := t.PathPatterns
	if len(paths) == 1 && paths[0] == "/*" {
		// Every path: nothing to say.
		paths = nil
	}
	return &approval.TryIt{URL: t.BaseURL, Headers: headers, Paths: paths, Notes: append(t.Notes, t.Unsatisfiable...),
		Internal: t.Internal, Source: t.Source()}, ""
}

// changeOf summarises what ECS reports about a deployment.
func changeOf(d ecsdeploy.Deployment) approval.Change {
	c := approval.Change{Known: true, StartedAt: d.StartedAt, FirstDeployment: d.First(), GreenShare: d.Rollout.GreenShare}
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
