package notify_test

import (
	"context"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/awstest"
	"github.com/gatehouse-dev/gatehouse/internal/notify"
)

// TestPublish publishes through the real SNS client to an SNS emulator and
// reads the messages back as an HTTP subscriber receives them.
func TestPublish(t *testing.T) {
	srv := awstest.NewSNS(t)
	n := notify.New(srv.Client(), srv.TopicARN)
	ctx := context.Background()
	id, err := n.Publish(ctx, notify.Message{Approver: "alice@example.com", Subject: "[gatehouse] Approve?", Body: "line one\nline two"})
	if err != nil || id == "" {
		t.Fatalf("Publish = %q, %v", id, err)
	}
	if _, err := n.Publish(ctx, notify.Message{Subject: "[gatehouse] shared", Body: "for everyone"}); err != nil {
		t.Fatal(err)
	}
	msgs := srv.WaitMessages(t, 2, 10*time.Second)
	if len(msgs) != 2 {
		t.Fatalf("received %d messages, want 2", len(msgs))
	}
	m := msgs[0]
	if m.Subject != "[gatehouse] Approve?" || m.Message != "line one\nline two" {
		t.Errorf("message = %q / %q", m.Subject, m.Message)
	}
	if a, ok := m.MessageAttributes[notify.AttrApprover]; !ok || a.Type != "String" || a.Value != "alice@example.com" {
		t.Errorf("approver attribute = %+v (present %v), want String alice@example.com", a, ok)
	}
	if _, ok := msgs[1].MessageAttributes[notify.AttrApprover]; ok {
		t.Errorf("shared message carries an approver attribute: %+v", msgs[1].MessageAttributes)
	}
}

func TestPublishRefusesEmpty(t *testing.T) {
	srv := awstest.NewSNS(t)
	n := notify.New(srv.Client(), srv.TopicARN)
	if _, err := n.Publish(context.Background(), notify.Message{Subject: "s"}); err == nil {
		t.Error("Publish without a body = nil error, want one")
	}
}

func TestPublishUnknownTopic(t *testing.T) {
	srv := awstest.NewSNS(t)
	n := notify.New(srv.Client(), "arn:aws:sns:us-east-1:100010001000:missing")
	if _, err := n.Publish(context.Background(), notify.Message{Subject: "s", Body: "b"}); err == nil {
		t.Error("Publish to a missing topic = nil error, want one")
	}
}
