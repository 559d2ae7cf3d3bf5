// Package messages adapts the SNS publisher (package notify) to the
// approval gate's Notifier, for every function that sends the gate's
// messages: the approval hook, and the review API when a vote decides.
package messages

import (
	"context"

	"github.com/gatehouse-dev/gatehouse/internal/approval"
	"github.com/gatehouse-dev/gatehouse/internal/notify"
)

// Publisher sends messages: *notify.SNS, or its twin.
type Publisher interface {
	Publish(ctx context.Context, m notify.Message) (id string, err error)
}

// Messages adapts a Publisher to the gate's approval.Notifier.
type Messages struct{ Publisher Publisher }

// Publish implements approval.Notifier.
func (m Messages) Publish(ctx context.Context, msg approval.Message) (string, error) {
	return m.Publisher.Publish(ctx, notify.Message{Approver: msg.Approver, Subject: msg.Subject, Body: msg.Body})
}
