// Package cloudtrail reads AWS CloudTrail for who started an ECS service
// deployment: the UpdateService, CreateService, UpdateExpressGatewayService
// or CreateExpressGatewayService call for the service shortly before the
// deployment was created, and the caller's identity (userIdentity) it
// records.
//
// CloudTrail delivers events minutes late and throttles LookupEvents (two
// calls a second per account and region): a lookup that finds nothing is
// not an answer yet, and the SDK's retryer backs off on throttling. Which
// request parameters each event carries is not documented per API: a call
// counts when its service parameter is the service's name or ARN and its
// cluster (default "default") the cluster's.
package cloudtrail

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ct "github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
)

// API is the part of *cloudtrail.Client the reader uses.
type API interface {
	LookupEvents(ctx context.Context, params *ct.LookupEventsInput, optFns ...func(*ct.Options)) (*ct.LookupEventsOutput, error)
}

// StartEvents are the calls that start a service deployment (there is no
// CreateServiceDeployment).
var StartEvents = []string{"UpdateService", "CreateService", "UpdateExpressGatewayService", "CreateExpressGatewayService"}

// ecsSource is ECS's eventSource.
const ecsSource = "ecs.amazonaws.com"

// Slack is how long after a deployment's creation its starting call is
// looked for (clocks differ).
const Slack = 2 * time.Minute

// maxPages bounds the paging of one lookup (50 events a page).
const maxPages = 10

// Service names the service whose deployment is looked for.
type Service struct {
	// Cluster and Name are the cluster's and the service's names; ARN the
	// service's ARN.
	Cluster, Name, ARN string
}

// Starter is a call that started a deployment of the service.
type Starter struct {
	// Identity is the caller's ARN (userIdentity.arn), such as
	// arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_Deployers_0123/alice@example.com.
	Identity string
	// Type is userIdentity.type: IAMUser, AssumedRole, Root, ...
	Type string
	// InvokedBy is the service that made the call on the caller's behalf,
	// such as cloudformation.amazonaws.com, when one did.
	InvokedBy string
	// Event is the call's name, At its time.
	Event string
	At    time.Time
}

// Starters returns the calls that started a deployment of s created at at,
// oldest first, from [at-within, at+Slack]. None means CloudTrail has not
// delivered the event yet, or never will (calls through a service that
// CloudTrail does not record). An UpdateService that changes nothing but
// the desired count (an autoscaling policy's) starts no deployment and is
// left out.
//
// The events are looked up by the service (resource name: its ARN, then
// its name), so an account's other services, however busy, cannot push
// them out of reach. Which resources CloudTrail lists for ECS's calls is
// not documented: when neither lookup returns any ECS event at all, the
// calls are looked up by event name too, as far as maxPages reaches.
func Starters(ctx context.Context, api API, s Service, at time.Time, within time.Duration) ([]Starter, error) {
	var out []Starter
	seen := map[string]bool{}
	ecsEvents := false
	lookup := func(key cttypes.LookupAttributeKey, value string) error {
		return lookupEvents(ctx, api, key, value, at.Add(-within), at.Add(Slack), func(e cttypes.Event) {
			if id := aws.ToString(e.EventId); id != "" && seen[id] {
				return
			} else if id != "" {
				seen[id] = true
			}
			var r record
			if aws.ToString(e.EventSource) == ecsSource || json.Unmarshal([]byte(aws.ToString(e.CloudTrailEvent)), &r) == nil && r.EventSource == ecsSource {
				ecsEvents = true
			}
			if st, ok := starter(e, s); ok {
				out = append(out, st)
			}
		})
	}
	for _, name := range []string{s.ARN, s.Name} {
		if name == "" {
			continue
		}
		if err := lookup(cttypes.LookupAttributeKeyResourceName, name); err != nil {
			return nil, err
		}
	}
	if !ecsEvents {
		for _, name := range StartEvents {
			if err := lookup(cttypes.LookupAttributeKeyEventName, name); err != nil {
				return nil, err
			}
		}
	}
	slices.SortFunc(out, func(a, b Starter) int { return a.At.Compare(b.At) })
	return out, nil
}

// lookupEvents pages through the events of [from, to] whose attribute key
// is value, at most maxPages.
func lookupEvents(ctx context.Context, api API, key cttypes.LookupAttributeKey, value string, from, to time.Time, each func(cttypes.Event)) error {
	in := &ct.LookupEventsInput{
		LookupAttributes: []cttypes.LookupAttribute{{AttributeKey: key, AttributeValue: aws.String(value)}},
		StartTime:        aws.Time(from),
		EndTime:          aws.Time(to),
		MaxResults:       aws.Int32(50),
	}
	for page := 0; ; page++ {
		if page == maxPages {
			return fmt.Errorf("lookup events by %s %s: more than %d pages", key, value, maxPages)
		}
		res, err := api.LookupEvents(ctx, in)
		if err != nil {
			return fmt.Errorf("lookup events by %s %s: %w", key, value, err)
		}
		for _, e := range res.Events {
			each(e)
		}
		next := aws.ToString(res.NextToken)
		if next == "" || next == aws.ToString(in.NextToken) {
			return nil
		}
		in.NextToken = aws.String(next)
	}
}

// record is what a CloudTrail event says that matters here.
type record struct {
	EventSource  string `json:"eventSource"`
	EventName    string `json:"eventName"`
	ErrorCode    string `json:"errorCode"`
	UserIdentity struct {
		Type      string `json:"type"`
		ARN       string `json:"arn"`
		InvokedBy string `json:"invokedBy"`
	} `json:"userIdentity"`
	RequestParameters map[string]json.RawMessage `json:"requestParameters"`
}

// param returns the string request parameter key, or "".
func (r record) param(key string) string {
	var v string
	_ = json.Unmarshal(r.RequestParameters[key], &v)
	return v
}

// scalesOnly reports whether an UpdateService changes nothing but the
// desired count.
func (r record) scalesOnly() bool {
	for k := range r.RequestParameters {
		if k != "cluster" && k != "service" && k != "desiredCount" {
			return false
		}
	}
	return true
}

// starter reads e as a call that started a deployment of s.
func starter(e cttypes.Event, s Service) (Starter, bool) {
	var r record
	if json.Unmarshal([]byte(aws.ToString(e.CloudTrailEvent)), &r) != nil || r.EventSource != ecsSource || r.ErrorCode != "" {
		return Starter{}, false
	}
	service := r.param("service")
	for _, k := range []string{"serviceName", "serviceArn"} {
		if service == "" {
			service = r.param(k)
		}
	}
	if !slices.Contains(StartEvents, r.EventName) {
		return Starter{}, false
	}
	cluster := r.param("cluster")
	if cluster == "" {
		// A service ARN names its cluster (service/CLUSTER/NAME): Express
		// gateway calls give the service's ARN alone.
		if _, rest, ok := strings.Cut(service, ":service/"); ok && strings.Contains(rest, "/") {
			cluster, _, _ = strings.Cut(rest, "/")
		} else {
			cluster = "default"
		}
	}
	if !names(service, s.Name, s.ARN) || !names(cluster, s.Cluster, "") || r.UserIdentity.ARN == "" || r.EventName == "UpdateService" && r.scalesOnly() {
		return Starter{}, false
	}
	return Starter{Identity: r.UserIdentity.ARN, Type: r.UserIdentity.Type, InvokedBy: r.UserIdentity.InvokedBy, Event: r.EventName, At: aws.ToTime(e.EventTime)}, true
}

// names reports whether v, a name or an ARN, names name (or is arn).
func names(v, name, arn string) bool {
	return v != "" && (v == name || v == arn || strings.HasPrefix(v, "arn:") && strings.HasSuffix(v, "/"+name))
}
