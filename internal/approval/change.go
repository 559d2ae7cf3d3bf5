package approval

// What a deployment changes, as the messages and the page show it.

import (
	"context"
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
	d.Known = true
	return d
}
