package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
)

// SubscriptionsAPI is the part of *sns.Client that reads who is subscribed.
type SubscriptionsAPI interface {
	ListSubscriptionsByTopic(ctx context.Context, params *sns.ListSubscriptionsByTopicInput, optFns ...func(*sns.Options)) (*sns.ListSubscriptionsByTopicOutput, error)
	GetSubscriptionAttributes(ctx context.Context, params *sns.GetSubscriptionAttributesInput, optFns ...func(*sns.Options)) (*sns.GetSubscriptionAttributesOutput, error)
}

// Subscriber is one subscription of the topic.
type Subscriber struct {
	// Endpoint is where it delivers, such as an email address.
	Endpoint string
	// Protocol is email, https, ...
	Protocol string
	// Confirmed reports whether the subscription was confirmed: an
	// unconfirmed one delivers nothing.
	Confirmed bool
	// Filtered reports whether it has a filter policy on the message
	// attributes; Approvers are the values that policy allows for
	// AttrApprover (nil when it does not filter on it).
	Filtered  bool
	Approvers []string
}

// maxSubscriptionPages bounds the paging of ListSubscriptionsByTopic (100
// subscriptions a page).
const maxSubscriptionPages = 20

// Subscribers returns every subscription of the topic, reading each one's
// filter policy. SNS lists an unconfirmed subscription with the ARN
// "PendingConfirmation", which cannot be described; it is returned
// unconfirmed.
func Subscribers(ctx context.Context, api SubscriptionsAPI, topicARN string) ([]Subscriber, error) {
	var out []Subscriber
	in := &sns.ListSubscriptionsByTopicInput{TopicArn: aws.String(topicARN)}
	for page := 0; ; page++ {
		if page == maxSubscriptionPages {
			return nil, fmt.Errorf("list subscriptions of %s: more than %d pages", topicARN, maxSubscriptionPages)
		}
		list, err := api.ListSubscriptionsByTopic(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("list subscriptions of %s: %w", topicARN, err)
		}
		for _, s := range list.Subscriptions {
			sub := Subscriber{Endpoint: aws.ToString(s.Endpoint), Protocol: aws.ToString(s.Protocol)}
			arn := aws.ToString(s.SubscriptionArn)
			if arn == "" || arn == "PendingConfirmation" || arn == "Deleted" {
				out = append(out, sub)
				continue
			}
			attrs, err := api.GetSubscriptionAttributes(ctx, &sns.GetSubscriptionAttributesInput{SubscriptionArn: aws.String(arn)})
			if err != nil {
				return nil, fmt.Errorf("get subscription attributes: %w", err)
			}
			a := attrs.Attributes
			sub.Confirmed = a["PendingConfirmation"] != "true"
			if policy := a["FilterPolicy"]; policy != "" && (a["FilterPolicyScope"] == "" || a["FilterPolicyScope"] == "MessageAttributes") {
				sub.Filtered = true
				sub.Approvers = approverValues(policy)
			}
			out = append(out, sub)
		}
		next := aws.ToString(list.NextToken)
		if next == "" || next == aws.ToString(in.NextToken) {
			return out, nil
		}
		in.NextToken = aws.String(next)
	}
}

// approverValues returns the exact string values a filter policy allows
// for AttrApprover, or nil when it says anything else of it (a prefix, an
// anything-but) or nothing, or filters on other attributes too (SNS ANDs
// them, and the messages carry none): only a plain list names whom it
// delivers to.
func approverValues(policy string) []string {
	var p map[string]json.RawMessage
	if json.Unmarshal([]byte(policy), &p) != nil || len(p) != 1 {
		return nil
	}
	var values []any
	if json.Unmarshal(p[AttrApprover], &values) != nil {
		return nil
	}
	var out []string
	for _, v := range values {
		s, ok := v.(string)
		if !ok {
			return nil
		}
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}
