package approvalparts

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/internal/approval"
	"github.com/gatehouse-dev/gatehouse/internal/notify"
)

// The gate's messages reach the publisher whole, and what it refuses is
// refused to the gate.
func TestMessages(t *testing.T) {
	sns := &notify.Memory{}
	m := Messages{sns}
	if _, err := m.Publish(context.Background(), approval.Message{Approver: "alice@example.com", Subject: "[gatehouse] Approve?", Body: "link"}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Publish(context.Background(), approval.Message{Subject: "no body"}); err == nil {
		t.Error("Publish(no body) = nil error, want the publisher's refusal")
	}
	want := []notify.Message{{Approver: "alice@example.com", Subject: "[gatehouse] Approve?", Body: "link"}}
	if diff := cmp.Diff(want, sns.Messages()); diff != "" {
		t.Errorf("published (-want +got):\n%s", diff)
	}
}
