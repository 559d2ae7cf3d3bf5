package operator

import (
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/approval"
)

// TestEveryVoteRefusalHasAMessage checks that each error a vote can be
// refused with has the CLI's message.
func TestEveryVoteRefusalHasAMessage(t *testing.T) {
	for _, e := range approval.VoteErrors {
		if _, ok := refusals[e]; !ok {
			t.Errorf("no message for %q", e)
		}
	}
	if len(refusals) != len(approval.VoteErrors) {
		t.Errorf("%d messages for %d vote errors", len(refusals), len(approval.VoteErrors))
	}
}
