package approval

import (
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/golden"
)

func messageRequest() *Request {
	r := newTestRequest([]string{"alice@example.com", "bob@example.com"}, 2)
	r.Region, r.Account = "us-west-2", "123456789012"
	r.TargetRevisionARN = "arn:aws:ecs:us-west-2:123456789012:service-revision/prod-cluster/orders/9313423515462893900"
	started := t0.Add(-3 * time.Minute)
	r.Change = Change{
		Known:                 true,
		SourceTaskDefinitions: []string{"orders:41"},
		SourceImages:          []Image{{Container: "web", Image: "123456789012.dkr.ecr.us-west-2.amazonaws.com/orders:2.4.0"}},
		TargetTaskDefinition:  "orders:42",
		TargetImages:          []Image{{Container: "web", Image: "123456789012.dkr.ecr.us-west-2.amazonaws.com/orders:2.4.1"}},
		StartedAt:             &started,
	}
	return r
}

func TestMessagesGolden(t *testing.T) {
	r := messageRequest()
	link := "https://abc123.lambda-url.us-west-2.on.aws/review?token=TOKEN"
	m := ReviewMessage(r, "alice@example.com", link)
	golden.Check(t, "review.golden", m.Subject+"\n\n"+m.Body)

	shared := messageRequest()
	shared.Approvers, shared.RequiredApprovals, shared.Change = nil, 1, Change{}
	m = ReviewMessage(shared, "", link)
	golden.Check(t, "review-shared.golden", m.Subject+"\n\n"+m.Body)

	m = ReminderMessage(r, "bob@example.com", link, t0.Add(3*time.Hour))
	golden.Check(t, "reminder.golden", m.Subject+"\n\n"+m.Body)

	if err := r.Cast(Vote{Approver: "alice@example.com", Decision: Approve, Via: "link"}, t0.Add(10*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := r.Cast(Vote{Approver: "bob@example.com", Decision: Reject, Comment: "p99 doubled on green", Via: "link"}, t0.Add(12*time.Minute)); err != nil {
		t.Fatal(err)
	}
	m = DecisionMessage(r, "alice@example.com")
	golden.Check(t, "decision.golden", m.Subject+"\n\n"+m.Body)
}

func TestSubject(t *testing.T) {
	r := messageRequest()
	r.Service = strings.Repeat("very-long-service-name-", 8)
	m := ReviewMessage(r, "alice@example.com", "https://x/review?token=t")
	if len(m.Subject) > MaxSubjectLen || strings.ContainsAny(m.Subject, "\r\n") {
		t.Errorf("subject %q: %d characters, want at most %d on one line", m.Subject, len(m.Subject), MaxSubjectLen)
	}
	if got := subject("naïve\nname"); got != "na?ve?name" {
		t.Errorf("subject() = %q, want printable ASCII", got)
	}
}
