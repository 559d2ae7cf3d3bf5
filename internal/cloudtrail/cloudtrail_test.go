package cloudtrail

import (
	"context"
	"encoding/json"
	"fmt"
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
// CloudTrail returns for the service (by resource name: its ARN, then its
// name), in pages, by the service's name or ARN and its cluster, and
// leaves the rest; the account's other calls are never paged through.
func TestStarters(t *testing.T) {
	created := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	sso := map[string]any{"type": "AssumedRole", "arn": "arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_Deployers_0123/alice@example.com"}
	cfn := map[string]any{"type": "AssumedRole", "arn": "arn:aws:sts::123456789012:assumed-role/cdk-hnb659fds-cfn-exec-role-123456789012-us-west-2/AWSCloudFormation", "invokedBy": "cloudformation.amazonaws.com"}
	const svcARN = "arn:aws:ecs:us-west-2:123456789012:service/prod-cluster/orders"
	var asked []string
	client := ct.New(ct.Options{Region: "us-west-2", Credentials: aws.AnonymousCredentials{},
		APIOptions: []func(*middleware.Stack) error{awstest.Answer(func(p any) (any, error) {
			in := p.(*ct.LookupEventsInput)
			attr := in.LookupAttributes[0]
			name := aws.ToString(attr.AttributeValue)
			asked = append(asked, string(attr.AttributeKey)+" "+name)
			if !in.StartTime.Equal(created.Add(-10*time.Minute)) || !in.EndTime.Equal(created.Add(Slack)) {
				t.Errorf("window %v - %v", in.StartTime, in.EndTime)
			}
			switch {
			case attr.AttributeKey == cttypes.LookupAttributeKeyResourceName && name == svcARN && in.NextToken == nil:
				return &ct.LookupEventsOutput{NextToken: aws.String("p2"), Events: []cttypes.Event{
					event(t, created.Add(-30*time.Second), "UpdateService", map[string]any{"userIdentity": sso, "requestParameters": map[string]any{"cluster": "prod-cluster", "service": "orders", "taskDefinition": "orders:42"}}),
					// Autoscaling changes the desired count: no deployment.
					event(t, created.Add(-25*time.Second), "UpdateService", map[string]any{"userIdentity": map[string]any{"type": "AssumedRole", "arn": "arn:aws:sts::123456789012:assumed-role/AWSServiceRoleForApplicationAutoScaling_ECSService/AutoScaling"},
						"requestParameters": map[string]any{"cluster": "prod-cluster", "service": "orders", "desiredCount": 4}}),
					// Another cluster's service of the same name, a failed
					// call, another source, a call that starts nothing.
					event(t, created.Add(-20*time.Second), "UpdateService", map[string]any{"userIdentity": sso, "requestParameters": map[string]any{"cluster": "staging", "service": "orders"}}),
					event(t, created.Add(-10*time.Second), "UpdateService", map[string]any{"userIdentity": sso, "errorCode": "AccessDenied", "requestParameters": map[string]any{"cluster": "prod-cluster", "service": "orders"}}),
					event(t, created.Add(-10*time.Second), "UpdateService", map[string]any{"eventSource": "ecs-tasks.amazonaws.com", "userIdentity": sso, "requestParameters": map[string]any{"cluster": "prod-cluster", "service": "orders"}}),
					event(t, created.Add(-8*time.Second), "TagResource", map[string]any{"userIdentity": sso, "requestParameters": map[string]any{"cluster": "prod-cluster", "service": "orders"}}),
				}}, nil
			case attr.AttributeKey == cttypes.LookupAttributeKeyResourceName && name == svcARN:
				return &ct.LookupEventsOutput{Events: []cttypes.Event{
					event(t, created.Add(-5*time.Second), "UpdateService", map[string]any{"userIdentity": cfn, "requestParameters": map[string]any{
						"cluster": "arn:aws:ecs:us-west-2:123456789012:cluster/prod-cluster", "service": svcARN, "forceNewDeployment": true}}),
				}}, nil
			case attr.AttributeKey == cttypes.LookupAttributeKeyResourceName && name == "orders":
				// The same event again, by name: counted once.
				e := event(t, created.Add(-5*time.Second), "UpdateService", map[string]any{"userIdentity": cfn, "requestParameters": map[string]any{
					"cluster": "arn:aws:ecs:us-west-2:123456789012:cluster/prod-cluster", "service": svcARN, "forceNewDeployment": true}})
				e.EventId = aws.String("e-cfn")
				return &ct.LookupEventsOutput{Events: []cttypes.Event{e, e}}, nil
			}
			return nil, fmt.Errorf("unexpected lookup %s %s", attr.AttributeKey, name)
		})}})
	got, err := Starters(context.Background(), client, Service{Cluster: "prod-cluster", Name: "orders", ARN: svcARN}, created, 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	want := []Starter{
		{Identity: sso["arn"].(string), Type: "AssumedRole", Event: "UpdateService", At: created.Add(-30 * time.Second)},
		{Identity: cfn["arn"].(string), Type: "AssumedRole", InvokedBy: "cloudformation.amazonaws.com", Event: "UpdateService", At: created.Add(-5 * time.Second)},
		{Identity: cfn["arn"].(string), Type: "AssumedRole", InvokedBy: "cloudformation.amazonaws.com", Event: "UpdateService", At: created.Add(-5 * time.Second)},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Starters (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"ResourceName " + svcARN, "ResourceName " + svcARN, "ResourceName orders"}, asked); diff != "" {
		t.Errorf("lookups (-want +got):\n%s", diff)
	}
}

// TestStartersInABusyAccount: an account with thousands of other
// UpdateService calls in the window does not hide the deployer, found by
// the service; where CloudTrail lists no resources for ECS's calls, the
// starting events are looked up by name (Express services' too).
func TestStartersInABusyAccount(t *testing.T) {
	created := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	sso := map[string]any{"type": "AssumedRole", "arn": "arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_Deployers_0123/alice@example.com"}
	const svcARN = "arn:aws:ecs:us-west-2:123456789012:service/prod-cluster/orders"
	mine := func() cttypes.Event {
		return event(t, created.Add(-30*time.Second), "UpdateService", map[string]any{"userIdentity": sso, "requestParameters": map[string]any{"cluster": "prod-cluster", "service": "orders", "taskDefinition": "orders:42"}})
	}
	for _, listed := range []bool{true, false} {
		var asked []string
		client := ct.New(ct.Options{Region: "us-west-2", Credentials: aws.AnonymousCredentials{},
			APIOptions: []func(*middleware.Stack) error{awstest.Answer(func(p any) (any, error) {
				in := p.(*ct.LookupEventsInput)
				attr := in.LookupAttributes[0]
				asked = append(asked, aws.ToString(attr.AttributeValue))
				if attr.AttributeKey == cttypes.LookupAttributeKeyResourceName {
					if listed && aws.ToString(attr.AttributeValue) == svcARN {
						return &ct.LookupEventsOutput{Events: []cttypes.Event{mine()}}, nil
					}
					return &ct.LookupEventsOutput{}, nil
				}
				// By event name: other services' calls, many pages deep.
				if aws.ToString(attr.AttributeValue) != "UpdateService" {
					return &ct.LookupEventsOutput{}, nil
				}
				var page []cttypes.Event
				for i := range 50 {
					page = append(page, event(t, created.Add(-time.Minute), "UpdateService", map[string]any{"userIdentity": sso, "requestParameters": map[string]any{"cluster": "prod-cluster", "service": fmt.Sprintf("other-%d", i)}}))
				}
				if in.NextToken == nil {
					return &ct.LookupEventsOutput{Events: append(page, mine()), NextToken: aws.String("p2")}, nil
				}
				return &ct.LookupEventsOutput{Events: page}, nil
			})}})
		got, err := Starters(context.Background(), client, Service{Cluster: "prod-cluster", Name: "orders", ARN: svcARN}, created, 10*time.Minute)
		if err != nil || len(got) != 1 || got[0].Identity != sso["arn"] {
			t.Errorf("resources listed %v: Starters = %+v, %v; want alice", listed, got, err)
		}
		wantAsked := []string{svcARN, "orders"}
		if !listed {
			wantAsked = append(wantAsked, "UpdateService", "UpdateService", "CreateService", "UpdateExpressGatewayService", "CreateExpressGatewayService")
		}
		if diff := cmp.Diff(wantAsked, asked); diff != "" {
			t.Errorf("resources listed %v: lookups (-want +got):\n%s", listed, diff)
		}
	}
}

// TestExpressStarterInANamedCluster: an UpdateExpressGatewayService names
// its service by ARN alone: the cluster is the ARN's, not "default".
func TestExpressStarterInANamedCluster(t *testing.T) {
	at := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	const arn = "arn:aws:ecs:us-west-2:123456789012:service/prod-cluster/orders"
	e := event(t, at, "UpdateExpressGatewayService", map[string]any{
		"userIdentity":      map[string]any{"type": "AssumedRole", "arn": "arn:aws:sts::123456789012:assumed-role/Deployers/alice"},
		"requestParameters": map[string]any{"serviceArn": arn, "cpu": "512"}})
	if _, ok := starter(e, Service{Name: "orders", ARN: arn, Cluster: "prod-cluster"}); !ok {
		t.Error("the Express update of prod-cluster/orders is not its starter")
	}
	if _, ok := starter(e, Service{Name: "orders", ARN: "arn:aws:ecs:us-west-2:123456789012:service/staging/orders", Cluster: "staging"}); ok {
		t.Error("prod-cluster's Express update was taken for staging's")
	}
}
