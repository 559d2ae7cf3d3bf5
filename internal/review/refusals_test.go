package review

import (
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/approval"
)

// TestEveryRefusalHasAStatus checks that each refusal code has its page
// status, so that none falls through to a generic 500.
func TestEveryRefusalHasAStatus(t *testing.T) {
	for _, c := range approval.RefusalCodes {
		if _, ok := refusalStatus[c]; !ok {
			t.Errorf("no status for %q", c)
		}
	}
	if len(refusalStatus) != len(approval.RefusalCodes) {
		t.Errorf("%d statuses for %d refusal codes", len(refusalStatus), len(approval.RefusalCodes))
	}
}
