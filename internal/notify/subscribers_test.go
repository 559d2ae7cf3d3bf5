package notify

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"
	"github.com/aws/smithy-go/middleware"
	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/internal/awstest"
)

// TestSubscribers reads the topic's subscriptions as SNS answers for them:
// in pages, an unconfirmed email subscription listed as
// "PendingConfirmation" (which cannot be described), filter policies as
// JSON strings, a policy on the message body ignored.
func TestSubscribers(t *testing.T) {
	const topic = "arn:aws:sns:us-west-2:123456789012:review"
	attrs := map[string]map[string]string{
		topic + ":a": {"PendingConfirmation": "false", "FilterPolicy": `{"approver": ["alice@example.com"]}`},
		topic + ":b": {"PendingConfirmation": "false", "FilterPolicy": `{"approver": ["bob@example.com", "carol@example.com"]}`},
		topic + ":c": {"PendingConfirmation": "false"},
		topic + ":d": {"PendingConfirmation": "false", "FilterPolicy": `{"approver": [{"prefix": "a"}]}`},
		topic + ":e": {"PendingConfirmation": "false", "FilterPolicy": `{"approver": ["erin@example.com"]}`, "FilterPolicyScope": "MessageBody"},
		topic + ":f": {"PendingConfirmation": "false", "FilterPolicy": `{"approver": ["frank@example.com"], "kind": ["never"]}`},
	}
	client := sns.New(sns.Options{Region: "us-west-2", Credentials: aws.AnonymousCredentials{},
		APIOptions: []func(*middleware.Stack) error{awstest.Answer(func(p any) (any, error) {
			switch in := p.(type) {
			case *sns.ListSubscriptionsByTopicInput:
				if aws.ToString(in.TopicArn) != topic {
					t.Errorf("listed %s", aws.ToString(in.TopicArn))
				}
				if in.NextToken == nil {
					return &sns.ListSubscriptionsByTopicOutput{NextToken: aws.String("2"), Subscriptions: []snstypes.Subscription{
						{SubscriptionArn: aws.String(topic + ":a"), Endpoint: aws.String("alice@example.com"), Protocol: aws.String("email")},
						{SubscriptionArn: aws.String("PendingConfirmation"), Endpoint: aws.String("dave@example.com"), Protocol: aws.String("email")},
						{SubscriptionArn: aws.String(topic + ":b"), Endpoint: aws.String("team@example.com"), Protocol: aws.String("email")},
					}}, nil
				}
				return &sns.ListSubscriptionsByTopicOutput{Subscriptions: []snstypes.Subscription{
					{SubscriptionArn: aws.String(topic + ":c"), Endpoint: aws.String("all@example.com"), Protocol: aws.String("email")},
					{SubscriptionArn: aws.String(topic + ":d"), Endpoint: aws.String("a@example.com"), Protocol: aws.String("email")},
					{SubscriptionArn: aws.String(topic + ":e"), Endpoint: aws.String("erin@example.com"), Protocol: aws.String("email")},
					{SubscriptionArn: aws.String(topic + ":f"), Endpoint: aws.String("frank@example.com"), Protocol: aws.String("email")},
				}}, nil
			case *sns.GetSubscriptionAttributesInput:
				a, ok := attrs[aws.ToString(in.SubscriptionArn)]
				if !ok {
					t.Errorf("described %s", aws.ToString(in.SubscriptionArn))
				}
				return &sns.GetSubscriptionAttributesOutput{Attributes: a}, nil
			}
			t.Fatalf("unexpected call %T", p)
			return nil, nil
		})}})
	got, err := Subscribers(context.Background(), client, topic)
	if err != nil {
		t.Fatal(err)
	}
	want := []Subscriber{
		{Endpoint: "alice@example.com", Protocol: "email", Confirmed: true, Filtered: true, Approvers: []string{"alice@example.com"}},
		{Endpoint: "dave@example.com", Protocol: "email"},
		{Endpoint: "team@example.com", Protocol: "email", Confirmed: true, Filtered: true, Approvers: []string{"bob@example.com", "carol@example.com"}},
		{Endpoint: "all@example.com", Protocol: "email", Confirmed: true},
		{Endpoint: "a@example.com", Protocol: "email", Confirmed: true, Filtered: true},
		{Endpoint: "erin@example.com", Protocol: "email", Confirmed: true},
		// Another attribute too: ANDed, it lets nothing through.
		{Endpoint: "frank@example.com", Protocol: "email", Confirmed: true, Filtered: true},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Subscribers (-want +got):\n%s", diff)
	}
}

// TestSubscribersFromGoaws lists and describes subscriptions made through
// the real SNS client against the SNS emulator.
func TestSubscribersFromGoaws(t *testing.T) {
	srv := awstest.NewSNS(t)
	client := srv.Client()
	ctx := context.Background()
	if _, err := client.Subscribe(ctx, &sns.SubscribeInput{TopicArn: aws.String(srv.TopicARN), Protocol: aws.String("email"), Endpoint: aws.String("alice@example.com"),
		Attributes: map[string]string{"FilterPolicy": `{"approver": ["alice@example.com"]}`}}); err != nil {
		t.Fatal(err)
	}
	got, err := Subscribers(ctx, client, srv.TopicARN)
	if err != nil {
		t.Fatal(err)
	}
	var alice *Subscriber
	for i := range got {
		if got[i].Endpoint == "alice@example.com" {
			alice = &got[i]
		}
	}
	if alice == nil || !alice.Confirmed || !alice.Filtered || !cmp.Equal(alice.Approvers, []string{"alice@example.com"}) {
		t.Errorf("alice's subscription = %+v, in %+v", alice, got)
	}
}
