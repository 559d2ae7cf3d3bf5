package approvalhook

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"
	"github.com/aws/smithy-go/middleware"
	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/internal/approval"
	"github.com/gatehouse-dev/gatehouse/internal/awstest"
)

// TestTopicSubscriptionsCached: the topic is read once per
// SubscriptionsTTL, and its subscriptions reach the gate in its own type.
func TestTopicSubscriptionsCached(t *testing.T) {
	const topic = "arn:aws:sns:us-west-2:123456789012:review"
	lists := 0
	client := sns.New(sns.Options{Region: "us-west-2", Credentials: aws.AnonymousCredentials{},
		APIOptions: []func(*middleware.Stack) error{awstest.Answer(func(p any) (any, error) {
			switch p.(type) {
			case *sns.ListSubscriptionsByTopicInput:
				lists++
				return &sns.ListSubscriptionsByTopicOutput{Subscriptions: []snstypes.Subscription{
					{SubscriptionArn: aws.String(topic + ":a"), Endpoint: aws.String("alice@example.com"), Protocol: aws.String("email")},
				}}, nil
			case *sns.GetSubscriptionAttributesInput:
				return &sns.GetSubscriptionAttributesOutput{Attributes: map[string]string{"PendingConfirmation": "false", "FilterPolicy": `{"approver": ["alice@example.com"]}`}}, nil
			}
			return nil, nil
		})}})
	now := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	s := &TopicSubscriptions{API: client, Topic: topic, Now: func() time.Time { return now }}
	want := []approval.Subscriber{{Endpoint: "alice@example.com", Confirmed: true, Filtered: true, Approvers: []string{"alice@example.com"}}}
	for _, at := range []time.Duration{0, time.Minute, SubscriptionsTTL} {
		now = time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC).Add(at)
		got, err := s.Subscribers(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("Subscribers (-want +got):\n%s", diff)
		}
	}
	if lists != 2 {
		t.Errorf("listed the topic %d times in 3 calls over %s, want 2", lists, SubscriptionsTTL)
	}
}
