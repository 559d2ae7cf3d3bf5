package approval

// What a deployment changes, as the messages and the page show it.

import (
	"context"
	"errors"
)

func (g *Gate) describe(ctx context.Context, deploymentARN string) (Change, error) {
	if g.Describer == nil {
		return Change{}, errors.New("no ECS describer here")
	}
	ctx, cancel := context.WithTimeout(ctx, describeTimeout)
	defer cancel()
	d, err := g.Describer.Describe(ctx, deploymentARN)
	if err != nil {
		g.Log.WarnContext(ctx, "deployment details unavailable; gating without them", "deployment_arn", deploymentARN, "err", err)
		return Change{}, err
	}
	d.Known = true
	return d, nil
}
