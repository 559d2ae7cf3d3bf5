// Package approvalparts adapts what both approval functions give the
// approval gate: the SNS publisher (package notify) as its Notifier, and
// the CloudWatch alarm reader (package cwmetrics) as its AlarmSource. The
// approval hook composes a gate of them, and so does the review API, to
// settle the request a vote decides.
package approvalparts

import (
	"context"

	"github.com/gatehouse-dev/gatehouse/internal/approval"
	"github.com/gatehouse-dev/gatehouse/internal/cwmetrics"
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

// Alarms adapts an alarm reader to the gate's approval.AlarmSource, for
// abortOnAlarms.
type Alarms struct{ Reader cwmetrics.AlarmReader }

// Alarms implements approval.AlarmSource.
func (a Alarms) Alarms(ctx context.Context, names, prefixes []string) ([]approval.Alarm, error) {
	list, err := a.Reader.Alarms(ctx, names, prefixes)
	out := make([]approval.Alarm, 0, len(list))
	for _, x := range list {
		out = append(out, approval.Alarm{Name: x.Name, State: x.State, Reason: x.Reason})
	}
	return out, err
}
