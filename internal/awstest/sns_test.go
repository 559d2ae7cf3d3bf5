package awstest

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sns/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestSNSPublishWithAttributes(t *testing.T) {
	s := NewSNS(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	out, err := s.Client().Publish(ctx, &sns.PublishInput{
		TopicArn: &s.TopicARN,
		Subject:  aws.String("Deployment waiting for approval"),
		Message:  aws.String(`{"deployment":"d-1"}`),
		MessageAttributes: map[string]types.MessageAttributeValue{
			"event":    {DataType: aws.String("String"), StringValue: aws.String("approval.requested")},
			"attempts": {DataType: aws.String("Number"), StringValue: aws.String("3")},
		},
	})
	if err != nil {
		t.Fatalf("Publish: %v", err)
	}
	if aws.ToString(out.MessageId) == "" {
		t.Error("Publish returned no MessageId")
	}

	got := s.WaitMessages(t, 1, 5*time.Second)
	want := []Notification{{
		Type:     "Notification",
		TopicARN: s.TopicARN,
		Subject:  "Deployment waiting for approval",
		Message:  `{"deployment":"d-1"}`,
		MessageAttributes: map[string]MessageAttribute{
			"event":    {Type: "String", Value: "approval.requested"},
			"attempts": {Type: "Number", Value: "3"},
		},
	}}
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(Notification{}, "MessageID", "Timestamp")); diff != "" {
		t.Errorf("notifications mismatch (-want +got):\n%s", diff)
	}
	if got[0].MessageID == "" || got[0].Timestamp == "" {
		t.Errorf("notification without MessageId or Timestamp: %+v", got[0])
	}
}

func TestSNSTopicsAreSeparate(t *testing.T) {
	a, b := NewSNS(t), NewSNS(t)
	if a.TopicARN == b.TopicARN {
		t.Fatalf("two NewSNS calls share topic %s", a.TopicARN)
	}
	if !strings.HasPrefix(a.TopicARN, "arn:aws:sns:us-east-1:"+AccountID+":") {
		t.Errorf("TopicARN = %s, want arn:aws:sns:us-east-1:%s:NAME", a.TopicARN, AccountID)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for i, msg := range []string{"one", "two"} {
		if _, err := b.Client().Publish(ctx, &sns.PublishInput{TopicArn: &b.TopicARN, Message: aws.String(msg)}); err != nil {
			t.Fatalf("Publish %d: %v", i, err)
		}
	}
	got := b.WaitMessages(t, 2, 5*time.Second)
	if len(got) != 2 || got[0].Message != "one" || got[1].Message != "two" {
		t.Errorf("b.WaitMessages = %+v, want messages one, two", got)
	}
	if got := a.Messages(); len(got) != 0 {
		t.Errorf("a.Messages() = %+v, want none", got)
	}
}

func TestSNSPublishToUnknownTopic(t *testing.T) {
	s := NewSNS(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := s.Client().Publish(ctx, &sns.PublishInput{
		TopicArn: aws.String("arn:aws:sns:us-east-1:" + AccountID + ":no-such-topic"),
		Message:  aws.String("x"),
	})
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "AWS.SimpleNotificationService.NonExistentTopic" {
		t.Errorf("Publish to unknown topic: %v, want API error AWS.SimpleNotificationService.NonExistentTopic", err)
	}
}
