package cloudtrail

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ct "github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/smithy-go/middleware"
	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/internal/awstest"
)

func event(t *testing.T, at time.Time, name string, fields map[string]any) cttypes.Event {
	t.Helper()
	fields["eventName"] = name
	if _, ok := fields["eventSource"]; !ok {
		fields["eventSource"] = "ecs.amazonaws.com"
	}
	b, _ := json.Marshal(fields)
	return cttypes.Event{EventName: aws.String(name), EventTime: aws.Time(at), CloudTrailEvent: aws.String(string(b))}
}

// TestStarters finds the calls that started the deployment among what
// CloudTrail returns for each starting event name, by the service's name
// or ARN and its cluster, in pages, and leaves the rest.
func TestStarters(t *testing.T) {
	created := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	sso := map[string]any{"type": "AssumedRole", "arn": "arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_Deployers_0123/alice@example.com"}
	cfn := map[string]any{"type": "AssumedRole", "arn": "arn:aws:sts::123456789012:assumed-role/cdk-hnb659fds-cfn-exec-role-123456789012-us-west-2/AWSCloudFormation", "invokedBy": "cloudformation.amazonaws.com"}
	var asked []string
	client := ct.New(ct.Options{Region: "us-west-2", Credentials: aws.AnonymousCredentials{},
		APIOptions: []func(*middleware.Stack) error{awstest.Answer(func(p any) (any, error) {
			in := p.(*ct.LookupEventsInput)
			name := aws.ToString(in.LookupAttributes[0].AttributeValue)
			asked = append(asked, name)
			if !in.StartTime.Equal(created.Add(-10*time.Minute)) || !in.EndTime.Equal(created.Add(Slack)) {
				t.Errorf("window %v - %v", in.StartTime, in.EndTime)
			}
			switch name {
			case "UpdateService":
				if in.NextToken == nil {
					return &ct.LookupEventsOutput{NextToken: aws.String("p2"), Events: []cttypes.Event{
						event(t, created.Add(-30*time.Second), name, map[string]any{"userIdentity": sso, "requestParameters": map[string]any{"cluster": "prod-cluster", "service": "orders", "taskDefinition": "orders:42"}}),
						// Autoscaling changes the desired count: no deployment.
						event(t, created.Add(-25*time.Second), name, map[string]any{"userIdentity": map[string]any{"type": "AssumedRole", "arn": "arn:aws:sts::123456789012:assumed-role/AWSServiceRoleForApplicationAutoScaling_ECSService/AutoScaling"},
							"requestParameters": map[string]any{"cluster": "prod-cluster", "service": "orders", "desiredCount": 4}}),
						// Another service, another cluster, a failed call, another source.
						event(t, created.Add(-20*time.Second), name, map[string]any{"userIdentity": sso, "requestParameters": map[string]any{"cluster": "prod-cluster", "service": "billing"}}),
						event(t, created.Add(-20*time.Second), name, map[string]any{"userIdentity": sso, "requestParameters": map[string]any{"cluster": "staging", "service": "orders"}}),
						event(t, created.Add(-10*time.Second), name, map[string]any{"userIdentity": sso, "errorCode": "AccessDenied", "requestParameters": map[string]any{"cluster": "prod-cluster", "service": "orders"}}),
						event(t, created.Add(-10*time.Second), name, map[string]any{"eventSource": "ecs-tasks.amazonaws.com", "userIdentity": sso, "requestParameters": map[string]any{"cluster": "prod-cluster", "service": "orders"}}),
					}}, nil
				}
				return &ct.LookupEventsOutput{Events: []cttypes.Event{
					event(t, created.Add(-5*time.Second), name, map[string]any{"userIdentity": cfn, "requestParameters": map[string]any{
						"cluster": "arn:aws:ecs:us-west-2:123456789012:cluster/prod-cluster", "service": "arn:aws:ecs:us-west-2:123456789012:service/prod-cluster/orders", "forceNewDeployment": true}}),
				}}, nil
			}
			return &ct.LookupEventsOutput{}, nil
		})}})
	got, err := Starters(context.Background(), client, Service{Cluster: "prod-cluster", Name: "orders", ARN: "arn:aws:ecs:us-west-2:123456789012:service/prod-cluster/orders"}, created, 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	want := []Starter{
		{Identity: sso["arn"].(string), Type: "AssumedRole", Event: "UpdateService", At: created.Add(-30 * time.Second)},
		{Identity: cfn["arn"].(string), Type: "AssumedRole", InvokedBy: "cloudformation.amazonaws.com", Event: "UpdateService", At: created.Add(-5 * time.Second)},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Starters (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"UpdateService", "UpdateService", "CreateService", "CreateServiceDeployment"}, asked); diff != "" {
		t.Errorf("lookups (-want +got):\n%s", diff)
	}
}
