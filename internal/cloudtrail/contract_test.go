package cloudtrail

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ct "github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/smithy-go/middleware"
	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/internal/awstest"
)

// starters reads who started deployments: Reader and its twin.
type starters interface {
	Starters(ctx context.Context, s Service, at time.Time, within time.Duration) ([]Starter, error)
}

// TestContract holds the reader and its in-memory twin to the same
// answers: a service's starting calls in the window, oldest first, none of
// another cluster's service of the same name, none outside the window.
func TestContract(t *testing.T) {
	created := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	orders := Service{Cluster: "prod", Name: "orders", ARN: "arn:aws:ecs:us-west-2:123456789012:service/prod/orders"}
	staging := Service{Cluster: "staging", Name: "orders", ARN: "arn:aws:ecs:us-west-2:123456789012:service/staging/orders"}
	alice := Starter{Identity: "arn:aws:sts::123456789012:assumed-role/Deployers/alice@example.com", Type: "AssumedRole", Event: "UpdateService", At: created.Add(-30 * time.Second)}
	bob := Starter{Identity: "arn:aws:iam::123456789012:user/bob", Type: "IAMUser", Event: "UpdateService", At: created.Add(-5 * time.Second)}
	early := Starter{Identity: "arn:aws:iam::123456789012:user/carol", Type: "IAMUser", Event: "UpdateService", At: created.Add(-time.Hour)}
	other := Starter{Identity: "arn:aws:iam::123456789012:user/dave", Type: "IAMUser", Event: "UpdateService", At: created.Add(-10 * time.Second)}
	calls := []recorded{{orders, bob}, {orders, alice}, {orders, early}, {staging, other}}

	impls := map[string]func() starters{
		"CloudTrail API (stub)": func() starters {
			return New(ct.New(ct.Options{Region: "us-west-2", Credentials: aws.AnonymousCredentials{},
				APIOptions: []func(*middleware.Stack) error{awstest.Answer(func(p any) (any, error) {
					in := p.(*ct.LookupEventsInput)
					attr := in.LookupAttributes[0]
					out := &ct.LookupEventsOutput{}
					for _, c := range calls {
						match := attr.AttributeKey == cttypes.LookupAttributeKeyResourceName && (aws.ToString(attr.AttributeValue) == c.service.ARN || aws.ToString(attr.AttributeValue) == c.service.Name) ||
							attr.AttributeKey == cttypes.LookupAttributeKeyEventName && aws.ToString(attr.AttributeValue) == c.starter.Event
						if !match || c.starter.At.Before(*in.StartTime) || c.starter.At.After(*in.EndTime) {
							continue
						}
						e := event(t, c.starter.At, c.starter.Event, map[string]any{
							"userIdentity":      map[string]any{"type": c.starter.Type, "arn": c.starter.Identity},
							"requestParameters": map[string]any{"cluster": c.service.Cluster, "service": c.service.Name, "taskDefinition": "orders:42"}})
						// Every event has its ID: the same event found by
						// ARN and by name counts once.
						e.EventId = aws.String(c.starter.Identity + "@" + c.starter.At.String())
						out.Events = append(out.Events, e)
					}
					return out, nil
				})}}))
		},
		"memory": func() starters {
			m := &Memory{}
			for _, c := range calls {
				m.Record(c.service, c.starter)
			}
			return m
		},
	}
	for name, impl := range impls {
		t.Run(name, func(t *testing.T) {
			r := impl()
			for _, q := range []struct {
				s      Service
				within time.Duration
				want   []Starter
			}{
				{orders, 10 * time.Minute, []Starter{alice, bob}},
				{orders, 10 * time.Second, []Starter{bob}},
				{staging, 10 * time.Minute, []Starter{other}},
				{Service{Cluster: "prod", Name: "billing", ARN: "arn:aws:ecs:us-west-2:123456789012:service/prod/billing"}, 10 * time.Minute, nil},
			} {
				got, err := r.Starters(context.Background(), q.s, created, q.within)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(q.want, got); diff != "" {
					t.Errorf("Starters(%s/%s, within %s) (-want +got):\n%s", q.s.Cluster, q.s.Name, q.within, diff)
				}
			}
		})
	}
}
