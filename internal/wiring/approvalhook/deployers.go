package approvalhook

import (
	"context"
	"slices"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/cloudtrail"
	"github.com/gatehouse-dev/gatehouse/internal/hook"
)

// Trail tells the gate who started a deployment, from CloudTrail.
type Trail struct{ Starters Starters }

// Starters finds the calls that started a deployment: *cloudtrail.Reader,
// or its twin, cloudtrail.Memory.
type Starters interface {
	Starters(ctx context.Context, s cloudtrail.Service, at time.Time, within time.Duration) ([]cloudtrail.Starter, error)
}

// StartedBy implements approval.Deployers.
func (t Trail) StartedBy(ctx context.Context, d hook.DeploymentARN, serviceARN string, createdAt time.Time, within time.Duration) ([]string, error) {
	starters, err := t.Starters.Starters(ctx, cloudtrail.Service{Cluster: d.Cluster, Name: d.Service, ARN: serviceARN}, createdAt, within)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, s := range starters {
		if !slices.Contains(ids, s.Identity) {
			ids = append(ids, s.Identity)
		}
	}
	return ids, nil
}
