package review

import (
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/approval"
)

// TestEveryVoteRefusalHasAPage checks that each error a vote can be refused
// with has its page, so that none falls through to a generic 500.
func TestEveryVoteRefusalHasAPage(t *testing.T) {
	for _, e := range approval.VoteErrors {
		if _, ok := refusals[e]; !ok {
			t.Errorf("no page for %q", e)
		}
	}
	if len(refusals) != len(approval.VoteErrors) {
		t.Errorf("%d pages for %d vote errors", len(refusals), len(approval.VoteErrors))
	}
}
