package operator

import (
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/approval"
)

// TestEveryRefusalHasAHint checks that the CLI maps each refusal code.
func TestEveryRefusalHasAHint(t *testing.T) {
	for _, c := range approval.RefusalCodes {
		if _, ok := refusalHints[c]; !ok {
			t.Errorf("no entry for %q", c)
		}
	}
	if len(refusalHints) != len(approval.RefusalCodes) {
		t.Errorf("%d entries for %d refusal codes", len(refusalHints), len(approval.RefusalCodes))
	}
}
