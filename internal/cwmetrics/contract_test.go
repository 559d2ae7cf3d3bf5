package cwmetrics

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/google/go-cmp/cmp"
)

// serveAlarms answers DescribeAlarms from alarms as CloudWatch does: by
// names or by prefix, metric and composite alarms apart, in pages.
func serveAlarms(t *testing.T, alarms []Alarm, composite map[string]bool) func(p any) (any, error) {
	return func(p any) (any, error) {
		in := p.(*cloudwatch.DescribeAlarmsInput)
		var match []Alarm
		for _, a := range alarms {
			if slices.Contains(in.AlarmNames, a.Name) || in.AlarmNamePrefix != nil && strings.HasPrefix(a.Name, *in.AlarmNamePrefix) {
				match = append(match, a)
			}
		}
		slices.SortFunc(match, func(a, b Alarm) int { return strings.Compare(a.Name, b.Name) })
		from, _ := strconv.Atoi(aws.ToString(in.NextToken))
		to := min(from+int(aws.ToInt32(in.MaxRecords)), len(match))
		var out cloudwatch.DescribeAlarmsOutput
		for _, a := range match[from:to] {
			since := a.Since
			if composite[a.Name] {
				out.CompositeAlarms = append(out.CompositeAlarms, cwtypes.CompositeAlarm{AlarmName: aws.String(a.Name),
					StateValue: cwtypes.StateValue(a.State), StateReason: aws.String(a.Reason), StateUpdatedTimestamp: &since})
			} else {
				out.MetricAlarms = append(out.MetricAlarms, cwtypes.MetricAlarm{AlarmName: aws.String(a.Name),
					StateValue: cwtypes.StateValue(a.State), StateReason: aws.String(a.Reason), StateUpdatedTimestamp: &since})
			}
		}
		if to < len(match) {
			out.NextToken = aws.String(strconv.Itoa(to))
		}
		return &out, nil
	}
}

// TestContract holds the CloudWatch reader and its in-memory twin to
// the same selection of alarms.
func TestContract(t *testing.T) {
	since := time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)
	var alarms []Alarm
	for i := range 230 {
		alarms = append(alarms, Alarm{Name: fmt.Sprintf("orders-%03d", i), State: StateOK, Reason: "fine", Since: since})
	}
	alarms = append(alarms,
		Alarm{Name: "orders-5xx", State: StateAlarm, Reason: "Threshold Crossed: 1 datapoint [12.0] was greater than 5.0", Since: since},
		Alarm{Name: "billing-latency", State: StateInsufficientData, Reason: "no data", Since: since},
		Alarm{Name: "composite-orders", State: StateAlarm, Reason: "child in ALARM", Since: since},
	)
	impls := map[string]func(t *testing.T) AlarmReader{
		"CloudWatch API (stub)": func(t *testing.T) AlarmReader {
			return New(stubCloudWatch(t, serveAlarms(t, alarms, map[string]bool{"composite-orders": true})))
		},
		"memory": func(t *testing.T) AlarmReader {
			m := &Memory{}
			for _, a := range alarms {
				m.SetAlarm(a)
			}
			return m
		},
	}
	names := func(list []Alarm) []string {
		var out []string
		for _, a := range list {
			out = append(out, a.Name)
		}
		return out
	}
	tests := []struct {
		name            string
		names, prefixes []string
		want            []string
	}{
		{"by name, absent names left out", []string{"orders-5xx", "composite-orders", "missing"}, nil, []string{"composite-orders", "orders-5xx"}},
		{"by prefix over pages, once each", []string{"orders-001"}, []string{"orders-0", "orders-00"}, func() []string {
			var w []string
			for i := range 100 {
				w = append(w, fmt.Sprintf("orders-%03d", i))
			}
			return w
		}()},
		{"nothing asked", nil, nil, nil},
		{"prefix matching nothing", nil, []string{"payments-"}, nil},
	}
	for name, impl := range impls {
		t.Run(name, func(t *testing.T) {
			r := impl(t)
			for _, tt := range tests {
				got, err := r.Alarms(context.Background(), tt.names, tt.prefixes)
				if err != nil {
					t.Fatalf("%s: %v", tt.name, err)
				}
				if diff := cmp.Diff(tt.want, names(got)); diff != "" {
					t.Errorf("%s (-want +got):\n%s", tt.name, diff)
				}
			}
			got, err := r.Alarms(context.Background(), []string{"orders-5xx"}, nil)
			if err != nil || len(got) != 1 {
				t.Fatalf("Alarms(orders-5xx) = %v, %v", got, err)
			}
			if diff := cmp.Diff(alarms[230], got[0]); diff != "" {
				t.Errorf("orders-5xx (-want +got):\n%s", diff)
			}
		})
	}
}
