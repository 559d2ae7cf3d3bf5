// Package notify publishes gatehouse's messages to an Amazon SNS topic. Each
// message may be addressed to one approver through the message attribute
// "approver": an email subscription with a filter policy on that attribute
// receives only its own messages, and so only its own review links.
package notify

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"
)

// AttrApprover is the message attribute that carries the addressee.
const AttrApprover = "approver"

// Message is one notification.
type Message struct {
	// Approver is the addressee's email; empty for a message to everyone
	// subscribed without a filter policy.
	Approver string
	// Subject is the email subject.
	Subject string
	// Body is the plain-text body.
	Body string
}

// Validate refuses a message SNS would refuse or deliver empty: one without
// a subject or a body.
func Validate(m Message) error {
	if m.Subject == "" || m.Body == "" {
		return errors.New("publish: empty subject or body")
	}
	return nil
}

// API is the part of *sns.Client the notifier uses.
type API interface {
	Publish(ctx context.Context, params *sns.PublishInput, optFns ...func(*sns.Options)) (*sns.PublishOutput, error)
}

// SNS publishes to one topic.
type SNS struct {
	api   API
	topic string
}

// New returns a notifier publishing to topicARN.
func New(api API, topicARN string) *SNS {
	return &SNS{api: api, topic: topicARN}
}

// Publish sends m and returns its message id.
func (s *SNS) Publish(ctx context.Context, m Message) (string, error) {
	if err := Validate(m); err != nil {
		return "", err
	}
	in := &sns.PublishInput{
		TopicArn: &s.topic,
		Subject:  aws.String(m.Subject),
		Message:  aws.String(m.Body),
	}
	if m.Approver != "" {
		in.MessageAttributes = map[string]snstypes.MessageAttributeValue{
			AttrApprover: {DataType: aws.String("String"), StringValue: aws.String(m.Approver)},
		}
	}
	out, err := s.api.Publish(ctx, in)
	if err != nil {
		return "", fmt.Errorf("publish to %s: %w", s.topic, err)
	}
	return aws.ToString(out.MessageId), nil
}
