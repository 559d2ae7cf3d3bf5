// Package cloudtrail reads AWS CloudTrail for who started an ECS service
// deployment: the UpdateService, CreateService or CreateServiceDeployment
// call for the service shortly before the deployment was created, and the
// caller's identity (userIdentity) it records.
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

// StartEvents are the calls that start a service deployment.
var StartEvents = []string{"UpdateService", "CreateService", "CreateServiceDeployment"}

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
func Starters(ctx context.Context, api API, s Service, at time.Time, within time.Duration) ([]Starter, error) {
	var out []Starter
	for _, name := range StartEvents {
		in := &ct.LookupEventsInput{
			LookupAttributes: []cttypes.LookupAttribute{{AttributeKey: cttypes.LookupAttributeKeyEventName, AttributeValue: aws.String(name)}},
			StartTime:        aws.Time(at.Add(-within)),
			EndTime:          aws.Time(at.Add(Slack)),
			MaxResults:       aws.Int32(50),
		}
		for page := 0; ; page++ {
			if page == maxPages {
				return nil, fmt.Errorf("lookup %s events: more than %d pages", name, maxPages)
			}
			res, err := api.LookupEvents(ctx, in)
			if err != nil {
				return nil, fmt.Errorf("lookup %s events: %w", name, err)
			}
			for _, e := range res.Events {
				if st, ok := starter(e, s); ok {
					out = append(out, st)
				}
			}
			next := aws.ToString(res.NextToken)
			if next == "" || next == aws.ToString(in.NextToken) {
				break
			}
			in.NextToken = aws.String(next)
		}
	}
	slices.SortFunc(out, func(a, b Starter) int { return a.At.Compare(b.At) })
	return out, nil
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
	if json.Unmarshal([]byte(aws.ToString(e.CloudTrailEvent)), &r) != nil || r.EventSource != "ecs.amazonaws.com" || r.ErrorCode != "" {
		return Starter{}, false
	}
	service := r.param("service")
	if service == "" {
		service = r.param("serviceName")
	}
	cluster := r.param("cluster")
	if cluster == "" {
		cluster = "default"
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
