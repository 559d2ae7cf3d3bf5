package local

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ct "github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"

	"github.com/gatehouse-dev/gatehouse/internal/awsenv"
)

// trailClient returns a CloudTrail client whose every call e answers: the
// approval hook's own deployer lookup (cloudtrail.Starters) runs locally
// as in AWS, and finds the UpdateService call that started each
// deployment, made by its deployer.
func (e *ecsAPI) trailClient() *ct.Client {
	return ct.New(ct.Options{Region: Service.Region, Credentials: aws.AnonymousCredentials{}, RetryMaxAttempts: 1,
		APIOptions: []func(*middleware.Stack) error{awsenv.Answer(e.answerTrail)}})
}

// answerTrail is CloudTrail's LookupEvents: the UpdateService call of
// every deployment started in the time asked, by the service's ARN or
// name, or by the event's name.
func (e *ecsAPI) answerTrail(params any) (any, error) {
	in, ok := params.(*ct.LookupEventsInput)
	if !ok {
		return nil, &smithy.GenericAPIError{Code: "UnsupportedOperation", Message: fmt.Sprintf("local mode's CloudTrail does not answer %T", params)}
	}
	e.count("LookupEvents")
	if len(in.LookupAttributes) != 1 {
		return nil, &smithy.GenericAPIError{Code: "InvalidLookupAttributesException", Message: "exactly one lookup attribute"}
	}
	a := in.LookupAttributes[0]
	switch v := aws.ToString(a.AttributeValue); {
	case a.AttributeKey == cttypes.LookupAttributeKeyResourceName && (v == Service.ARN() || v == Service.Name):
	case a.AttributeKey == cttypes.LookupAttributeKeyEventName && v == "UpdateService":
	default:
		return &ct.LookupEventsOutput{}, nil
	}
	out := &ct.LookupEventsOutput{}
	for _, t := range e.l.Deployments() {
		snap := t.D.Snapshot()
		// The call comes a moment before ECS creates the deployment.
		at := snap.StartedAt.Add(-time.Second)
		if snap.StartedBy == "" || in.StartTime != nil && at.Before(*in.StartTime) || in.EndTime != nil && at.After(*in.EndTime) {
			continue
		}
		record, _ := json.Marshal(map[string]any{
			"eventSource":  "ecs.amazonaws.com",
			"eventName":    "UpdateService",
			"userIdentity": map[string]string{"type": "AssumedRole", "arn": snap.StartedBy},
			"requestParameters": map[string]string{"cluster": Service.Cluster, "service": Service.Name,
				"taskDefinition": "demo"},
		})
		out.Events = append(out.Events, cttypes.Event{EventId: aws.String(t.D.ID), EventName: aws.String("UpdateService"),
			EventSource: aws.String("ecs.amazonaws.com"), EventTime: aws.Time(at), CloudTrailEvent: aws.String(string(record))})
	}
	return out, nil
}
