package notify_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/internal/awstest"
	"github.com/gatehouse-dev/gatehouse/internal/notify"
)

// publisher is what every implementation offers: Publish, and a way to
// read back what a subscriber receives.
type publisher struct {
	publish  func(context.Context, notify.Message) (string, error)
	received func(t *testing.T, n int) []notify.Message
}

// implementations are the notifier over an SNS emulator, read back as an
// HTTP subscriber receives its deliveries, and its in-memory twin.
func implementations() map[string]func(t *testing.T) publisher {
	return map[string]func(t *testing.T) publisher{
		"sns (goaws)": func(t *testing.T) publisher {
			srv := awstest.NewSNS(t)
			n := notify.New(srv.Client(), srv.TopicARN)
			return publisher{publish: n.Publish, received: func(t *testing.T, want int) []notify.Message {
				var out []notify.Message
				for _, d := range srv.WaitMessages(t, want, 10*time.Second) {
					out = append(out, notify.Message{Approver: d.MessageAttributes[notify.AttrApprover].Value, Subject: d.Subject, Body: d.Message})
				}
				return out
			}}
		},
		"memory": func(t *testing.T) publisher {
			n := &notify.Memory{}
			return publisher{publish: n.Publish, received: func(*testing.T, int) []notify.Message { return n.Messages() }}
		},
	}
}

// TestContract holds both implementations to the same behaviour: messages
// arrive whole and in order, addressed or shared, each with its own id, and
// an empty one is refused and not sent.
func TestContract(t *testing.T) {
	for name, impl := range implementations() {
		t.Run(name, func(t *testing.T) {
			p := impl(t)
			ctx := context.Background()
			sent := []notify.Message{
				{Approver: "alice@example.com", Subject: "[gatehouse] Approve?", Body: "line one\nline two"},
				{Subject: "[gatehouse] shared", Body: "for everyone"},
				{Approver: "bob@example.com", Subject: "[gatehouse] Approve?", Body: "ünïcode body"},
			}
			for _, refused := range []notify.Message{{Subject: "no body"}, {Body: "no subject"}} {
				if id, err := p.publish(ctx, refused); err == nil {
					t.Errorf("Publish(%+v) = %q, want a refusal", refused, id)
				}
			}
			ids := map[string]bool{}
			for _, m := range sent {
				id, err := p.publish(ctx, m)
				if err != nil || id == "" || ids[id] {
					t.Fatalf("Publish(%+v) = %q, %v; want a new id", m, id, err)
				}
				ids[id] = true
			}
			if diff := cmp.Diff(sent, p.received(t, len(sent))); diff != "" {
				t.Errorf("received (-sent +got):\n%s", diff)
			}
		})
	}
}
