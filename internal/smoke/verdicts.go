package smoke

import (
	"context"
	"fmt"

	"github.com/gatehouse-dev/gatehouse/internal/hook"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// Verdicts reads smoke verdicts from the state bucket for the approval
// gate's waitForSmoke.
type Verdicts struct {
	Reader ReportReader
}

// SmokeVerdict returns whether the smoke run of deployment at stage passed,
// with its summary. A run still in progress counts as no verdict yet: the
// error wraps store.ErrNotFound, as it does when there is no report at all.
func (v Verdicts) SmokeVerdict(ctx context.Context, deploymentARN string, stage hook.Stage) (bool, string, error) {
	d, err := hook.ParseDeploymentARN(deploymentARN)
	if err != nil {
		return false, "", err
	}
	r, err := LoadReport(ctx, v.Reader, d, stage)
	if err != nil {
		return false, "", err
	}
	switch r.Verdict {
	case VerdictPassed:
		return true, r.Summary, nil
	case VerdictFailed:
		return false, r.Summary, nil
	}
	return false, "", fmt.Errorf("smoke run %s: %w", r.Verdict, store.ErrNotFound)
}
