package cwmetrics

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"

	"github.com/gatehouse-dev/gatehouse/internal/awstest"
	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/internal/hook"
)

// stubCloudWatch returns a real *cloudwatch.Client whose calls are answered
// at the SDK's Initialize step by answer: no network (and no CBOR), but the
// SDK's own input validation.
func stubCloudWatch(t *testing.T, answer func(params any) (any, error)) *cloudwatch.Client {
	t.Helper()
	return cloudwatch.New(cloudwatch.Options{
		Region:      "us-west-2",
		Credentials: aws.AnonymousCredentials{},
		APIOptions:  []func(*middleware.Stack) error{awstest.Answer(answer)},
	})
}

var (
	t0  = time.Date(2026, 11, 25, 9, 0, 30, 0, time.UTC)
	now = t0.Add(4*time.Minute + 10*time.Second) // 09:04:40
)

func TestAlarms(t *testing.T) {
	names := make([]string, 150)
	for i := range names {
		names[i] = fmt.Sprintf("orders-%03d", i)
	}
	var calls []string
	c := stubCloudWatch(t, func(p any) (any, error) {
		in := p.(*cloudwatch.DescribeAlarmsInput)
		if diff := cmp.Diff([]cwtypes.AlarmType{cwtypes.AlarmTypeMetricAlarm, cwtypes.AlarmTypeCompositeAlarm}, in.AlarmTypes); diff != "" {
			t.Errorf("AlarmTypes (-want +got):\n%s", diff)
		}
		token := aws.ToString(in.NextToken)
		switch {
		case len(in.AlarmNames) > 0:
			calls = append(calls, fmt.Sprintf("names:%d", len(in.AlarmNames)))
			if len(in.AlarmNames) > 100 {
				t.Errorf("asked for %d names in one call, at most 100", len(in.AlarmNames))
			}
			// Only two of the named alarms exist.
			var out cloudwatch.DescribeAlarmsOutput
			for _, n := range in.AlarmNames {
				if n == "orders-000" || n == "orders-149" {
					out.MetricAlarms = append(out.MetricAlarms, cwtypes.MetricAlarm{AlarmName: aws.String(n), StateValue: cwtypes.StateValueOk})
				}
			}
			return &out, nil
		case aws.ToString(in.AlarmNamePrefix) == "payments-":
			calls = append(calls, "prefix:payments-:"+token)
			if token == "" {
				return &cloudwatch.DescribeAlarmsOutput{
					MetricAlarms: []cwtypes.MetricAlarm{{AlarmName: aws.String("payments-5xx"), StateValue: cwtypes.StateValueAlarm,
						StateReason: aws.String("Threshold Crossed"), StateUpdatedTimestamp: aws.Time(t0)}},
					NextToken: aws.String("page2"),
				}, nil
			}
			return &cloudwatch.DescribeAlarmsOutput{
				CompositeAlarms: []cwtypes.CompositeAlarm{{AlarmName: aws.String("payments-health"), StateValue: cwtypes.StateValueInsufficientData}},
				// The named alarm again: reported once.
				MetricAlarms: []cwtypes.MetricAlarm{{AlarmName: aws.String("orders-000"), StateValue: cwtypes.StateValueOk}},
			}, nil
		}
		t.Fatalf("unexpected DescribeAlarms %+v", in)
		return nil, nil
	})
	got, err := New(c).Alarms(context.Background(), names, []string{"payments-"})
	if err != nil {
		t.Fatal(err)
	}
	want := []Alarm{
		{Name: "orders-000", State: StateOK},
		{Name: "orders-149", State: StateOK},
		{Name: "payments-5xx", State: StateAlarm, Reason: "Threshold Crossed", Since: t0},
		{Name: "payments-health", State: StateInsufficientData},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Alarms (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"names:100", "names:50", "prefix:payments-:", "prefix:payments-:page2"}, calls); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
}

func TestAlarmsPagingIsBounded(t *testing.T) {
	n := 0
	c := stubCloudWatch(t, func(p any) (any, error) {
		n++
		return &cloudwatch.DescribeAlarmsOutput{NextToken: aws.String(fmt.Sprint("t", n))}, nil
	})
	_, err := New(c).Alarms(context.Background(), nil, []string{"x"})
	if err == nil || !strings.Contains(err.Error(), "more than 20 pages") || n != maxPages {
		t.Errorf("endless paging: err %v after %d calls, want an error after %d", err, n, maxPages)
	}
}

func TestAlarmsErrors(t *testing.T) {
	throttled := &smithy.GenericAPIError{Code: "Throttling", Message: "Rate exceeded"}
	c := stubCloudWatch(t, func(p any) (any, error) { return nil, throttled })
	_, err := New(c).Alarms(context.Background(), []string{"a"}, nil)
	var ae smithy.APIError
	if !errors.As(err, &ae) || !hook.IsTransient(err) {
		t.Errorf("Alarms = %v, want the throttling error, transient", err)
	}
}

var green = Target{Name: "green", LoadBalancer: "app/orders/50dc6c495c0c9188", TargetGroup: "targetgroup/orders-b/73e2d6bc24d8a067"}

func TestTargetStats(t *testing.T) {
	calls := 0
	c := stubCloudWatch(t, func(p any) (any, error) {
		in := p.(*cloudwatch.GetMetricDataInput)
		calls++
		// [09:00:30, 09:04:40) widened to whole minutes: one 300 s period.
		if !in.StartTime.Equal(time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)) || !in.EndTime.Equal(time.Date(2026, 11, 25, 9, 5, 0, 0, time.UTC)) {
			t.Errorf("interval %v - %v, want 09:00 - 09:05", in.StartTime, in.EndTime)
		}
		var got []string
		for _, q := range in.MetricDataQueries {
			ms := q.MetricStat
			var dims []string
			for _, d := range ms.Metric.Dimensions {
				dims = append(dims, aws.ToString(d.Name)+"="+aws.ToString(d.Value))
			}
			got = append(got, fmt.Sprintf("%s %s/%s %s %d %s", aws.ToString(q.Id), aws.ToString(ms.Metric.Namespace), aws.ToString(ms.Metric.MetricName),
				aws.ToString(ms.Stat), aws.ToInt32(ms.Period), strings.Join(dims, ",")))
		}
		dims := "LoadBalancer=app/orders/50dc6c495c0c9188,TargetGroup=targetgroup/orders-b/73e2d6bc24d8a067"
		want := []string{
			"requests AWS/ApplicationELB/RequestCount Sum 300 " + dims,
			"errors5xx AWS/ApplicationELB/HTTPCode_Target_5XX_Count Sum 300 " + dims,
			"connerrors AWS/ApplicationELB/TargetConnectionErrorCount Sum 300 " + dims,
			"p50 AWS/ApplicationELB/TargetResponseTime p50 300 " + dims,
			"p90 AWS/ApplicationELB/TargetResponseTime p90 300 " + dims,
			"p99 AWS/ApplicationELB/TargetResponseTime p99 300 " + dims,
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("queries (-want +got):\n%s", diff)
		}
		if in.NextToken == nil {
			return &cloudwatch.GetMetricDataOutput{
				MetricDataResults: []cwtypes.MetricDataResult{
					{Id: aws.String("requests"), Values: []float64{1200}, StatusCode: cwtypes.StatusCodePartialData},
					{Id: aws.String("errors5xx"), Values: []float64{3}, StatusCode: cwtypes.StatusCodeComplete},
					{Id: aws.String("connerrors"), Values: []float64{2}, StatusCode: cwtypes.StatusCodeComplete},
					{Id: aws.String("p50"), Values: []float64{0.04}, StatusCode: cwtypes.StatusCodeComplete},
					{Id: aws.String("p90"), Values: []float64{0.12}, StatusCode: cwtypes.StatusCodeComplete},
				},
				NextToken: aws.String("more"),
			}, nil
		}
		return &cloudwatch.GetMetricDataOutput{MetricDataResults: []cwtypes.MetricDataResult{
			{Id: aws.String("requests"), Values: []float64{34}, StatusCode: cwtypes.StatusCodeComplete},
			{Id: aws.String("p99"), Values: []float64{0.35}, StatusCode: cwtypes.StatusCodeComplete},
		}}, nil
	})
	got, err := New(c).TargetStats(context.Background(), green, t0, now)
	if err != nil {
		t.Fatal(err)
	}
	want := Stats{Requests: 1234, Errors5xx: 3, ConnectionErrors: 2, Latency: &Percentiles{P50: 40, P90: 120, P99: 350}}
	if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b float64) bool { return a-b < 1e-9 && b-a < 1e-9 })); diff != "" {
		t.Errorf("TargetStats (-want +got):\n%s", diff)
	}
	if calls != 2 {
		t.Errorf("%d calls, want 2 (two pages)", calls)
	}
}

func TestTargetStatsWithoutTraffic(t *testing.T) {
	c := stubCloudWatch(t, func(p any) (any, error) {
		// Every query answered, none with a datapoint: load balancer
		// metrics are published only when not zero.
		var out cloudwatch.GetMetricDataOutput
		for _, q := range p.(*cloudwatch.GetMetricDataInput).MetricDataQueries {
			out.MetricDataResults = append(out.MetricDataResults, cwtypes.MetricDataResult{Id: q.Id, StatusCode: cwtypes.StatusCodeComplete})
		}
		return &out, nil
	})
	got, err := New(c).TargetStats(context.Background(), green, t0, now)
	if err != nil || got != (Stats{}) {
		t.Errorf("TargetStats(no data) = %+v, %v; want zero requests and no latency", got, err)
	}
}

func TestTargetStatsRefusals(t *testing.T) {
	c := stubCloudWatch(t, func(p any) (any, error) {
		t.Errorf("unexpected call %T", p)
		return nil, errors.New("unexpected")
	})
	nlb := Target{Name: "green", LoadBalancer: "net/orders/50dc6c495c0c9188", TargetGroup: green.TargetGroup}
	if _, err := New(c).TargetStats(context.Background(), nlb, t0, now); !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "Application Load Balancer") {
		t.Errorf("TargetStats(NLB) = %v, want ErrUnsupported naming the Application Load Balancer", err)
	}
	if _, err := New(c).TargetStats(context.Background(), Target{Name: "green"}, t0, now); !errors.Is(err, ErrUnsupported) {
		t.Errorf("TargetStats(no target group) = %v, want ErrUnsupported", err)
	}
	// An empty interval asks nothing.
	if got, err := New(c).TargetStats(context.Background(), green, t0.Truncate(time.Minute), t0.Truncate(time.Minute)); err != nil || got != (Stats{}) {
		t.Errorf("TargetStats(empty interval) = %+v, %v; want nothing", got, err)
	}
}

func TestQueryStatus(t *testing.T) {
	for status, wantTransient := range map[cwtypes.StatusCode]bool{cwtypes.StatusCodeInternalError: true, cwtypes.StatusCodeForbidden: false} {
		c := stubCloudWatch(t, func(p any) (any, error) {
			return &cloudwatch.GetMetricDataOutput{MetricDataResults: []cwtypes.MetricDataResult{{Id: aws.String("requests"), StatusCode: status}}}, nil
		})
		_, err := New(c).TargetStats(context.Background(), green, t0, now)
		if err == nil || hook.IsTransient(err) != wantTransient {
			t.Errorf("status %s: err %v, transient %v; want an error, transient %v", status, err, hook.IsTransient(err), wantTransient)
		}
	}
}

func TestExpression(t *testing.T) {
	var in *cloudwatch.GetMetricDataInput
	c := stubCloudWatch(t, func(p any) (any, error) {
		in = p.(*cloudwatch.GetMetricDataInput)
		return &cloudwatch.GetMetricDataOutput{MetricDataResults: []cwtypes.MetricDataResult{
			{Id: aws.String(ResultID), Values: []float64{0.004}, StatusCode: cwtypes.StatusCodeComplete},
		}}, nil
	})
	metrics := map[string]Metric{
		"m2": {Namespace: "Orders", Name: "Requests", Dimensions: map[string]string{"Stage": "prod", "Service": "orders"}},
		"m1": {Namespace: "Orders", Name: "Errors", Stat: "Maximum"},
	}
	got, err := New(c).Expression(context.Background(), "m1/m2", metrics, t0, now)
	if err != nil || !slices.Equal(got, []float64{0.004}) {
		t.Fatalf("Expression = %v, %v; want [0.004]", got, err)
	}
	var queries []string
	for _, q := range in.MetricDataQueries {
		if q.Expression != nil {
			queries = append(queries, fmt.Sprintf("%s = %s return=%v period=%d", aws.ToString(q.Id), aws.ToString(q.Expression), aws.ToBool(q.ReturnData), aws.ToInt32(q.Period)))
			continue
		}
		var dims []string
		for _, d := range q.MetricStat.Metric.Dimensions {
			dims = append(dims, aws.ToString(d.Name)+"="+aws.ToString(d.Value))
		}
		queries = append(queries, fmt.Sprintf("%s = %s/%s %s %d [%s] return=%v", aws.ToString(q.Id), aws.ToString(q.MetricStat.Metric.Namespace),
			aws.ToString(q.MetricStat.Metric.MetricName), aws.ToString(q.MetricStat.Stat), aws.ToInt32(q.MetricStat.Period), strings.Join(dims, ","), aws.ToBool(q.ReturnData)))
	}
	want := []string{
		"m1 = Orders/Errors Maximum 300 [] return=false",
		"m2 = Orders/Requests Sum 300 [Service=orders,Stage=prod] return=false",
		"gatehouse_result = m1/m2 return=true period=300",
	}
	if diff := cmp.Diff(want, queries); diff != "" {
		t.Errorf("queries (-want +got):\n%s", diff)
	}
}

func TestExpressionNoData(t *testing.T) {
	c := stubCloudWatch(t, func(p any) (any, error) {
		return &cloudwatch.GetMetricDataOutput{MetricDataResults: []cwtypes.MetricDataResult{{Id: aws.String(ResultID), StatusCode: cwtypes.StatusCodeComplete}}}, nil
	})
	if _, err := New(c).Expression(context.Background(), "m1", map[string]Metric{"m1": {Namespace: "N", Name: "M"}}, t0, now); !errors.Is(err, ErrNoData) {
		t.Errorf("Expression(no data) = %v, want ErrNoData", err)
	}
	if _, err := New(c).Expression(context.Background(), "x", map[string]Metric{ResultID: {Namespace: "N", Name: "M"}}, t0, now); err == nil || errors.Is(err, ErrNoData) {
		t.Errorf("Expression(reserved id) = %v, want a refusal", err)
	}
}

func TestSpan(t *testing.T) {
	tests := []struct {
		start, end time.Time
		from       time.Time
		period     int32
		ok         bool
	}{
		{t0, now, t0.Truncate(time.Minute), 300, true},
		{t0.Truncate(time.Minute), t0.Truncate(time.Minute).Add(10 * time.Minute), t0.Truncate(time.Minute), 600, true},
		{t0, t0, t0.Truncate(time.Minute), 0, false},
		{t0, t0.Add(time.Second), t0.Truncate(time.Minute), 60, true},
		{t0.Truncate(time.Minute), t0.Truncate(time.Minute), t0.Truncate(time.Minute), 0, false},
		{now, t0, now.Truncate(time.Minute), 0, false},
	}
	for _, tt := range tests {
		from, period, ok := span(tt.start, tt.end)
		if !from.Equal(tt.from) || period != tt.period || ok != tt.ok {
			t.Errorf("span(%v, %v) = %v, %d, %v; want %v, %d, %v", tt.start, tt.end, from, period, ok, tt.from, tt.period, tt.ok)
		}
	}
}

// answerAll answers every query of a GetMetricData call from values by id:
// a query whose id is absent gets a complete result without datapoints;
// tweak may change or drop results.
func answerAll(values map[string][]float64, tweak func(rs []cwtypes.MetricDataResult) []cwtypes.MetricDataResult) func(p any) (any, error) {
	return func(p any) (any, error) {
		var rs []cwtypes.MetricDataResult
		for _, q := range p.(*cloudwatch.GetMetricDataInput).MetricDataQueries {
			rs = append(rs, cwtypes.MetricDataResult{Id: q.Id, Values: values[aws.ToString(q.Id)], StatusCode: cwtypes.StatusCodeComplete})
		}
		if tweak != nil {
			rs = tweak(rs)
		}
		return &cloudwatch.GetMetricDataOutput{MetricDataResults: rs}, nil
	}
}

// without drops the result of query id.
func without(id string) func([]cwtypes.MetricDataResult) []cwtypes.MetricDataResult {
	return func(rs []cwtypes.MetricDataResult) []cwtypes.MetricDataResult {
		return slices.DeleteFunc(rs, func(r cwtypes.MetricDataResult) bool { return aws.ToString(r.Id) == id })
	}
}

// with changes the result of query id.
func with(id string, f func(*cwtypes.MetricDataResult)) func([]cwtypes.MetricDataResult) []cwtypes.MetricDataResult {
	return func(rs []cwtypes.MetricDataResult) []cwtypes.MetricDataResult {
		for i := range rs {
			if aws.ToString(rs[i].Id) == id {
				f(&rs[i])
			}
		}
		return rs
	}
}

// TestTargetStatsMissingData: what CloudWatch does not answer in full is
// missing, never 0.
func TestTargetStatsMissingData(t *testing.T) {
	full := map[string][]float64{"requests": {1000}, "errors5xx": {4}, "connerrors": {1}, "p50": {0.05}, "p90": {0.2}, "p99": {0.9}}
	partial := func(r *cwtypes.MetricDataResult) { r.StatusCode = cwtypes.StatusCodePartialData }
	message := func(r *cwtypes.MetricDataResult) {
		r.Messages = []cwtypes.MessageData{{Code: aws.String("MaxMetricsExceeded"), Value: aws.String("too many")}}
	}
	tests := []struct {
		name   string
		values map[string][]float64
		tweak  func([]cwtypes.MetricDataResult) []cwtypes.MetricDataResult
		want   Stats
	}{
		{name: "complete", values: full,
			want: Stats{Requests: 1000, Errors5xx: 4, ConnectionErrors: 1, Latency: &Percentiles{P50: 50, P90: 200, P99: 900}}},
		{name: "no 5xx datapoint is 0 5xx", values: map[string][]float64{"requests": {1000}, "p50": {0.05}, "p90": {0.2}, "p99": {0.9}},
			want: Stats{Requests: 1000, Latency: &Percentiles{P50: 50, P90: 200, P99: 900}}},
		{name: "p90 and p99 without datapoints", values: map[string][]float64{"requests": {1000}, "p50": {0.05}},
			want: Stats{Requests: 1000}},
		{name: "p99 not answered", values: full, tweak: without("p99"),
			want: Stats{Requests: 1000, Errors5xx: 4, ConnectionErrors: 1}},
		{name: "p50 partial", values: full, tweak: with("p50", partial),
			want: Stats{Requests: 1000, Errors5xx: 4, ConnectionErrors: 1}},
		{name: "5xx not answered", values: full, tweak: without("errors5xx"),
			want: Stats{Requests: 1000, Errors5xxMissing: true, Latency: &Percentiles{P50: 50, P90: 200, P99: 900}}},
		{name: "5xx partial", values: full, tweak: with("errors5xx", partial),
			want: Stats{Requests: 1000, Errors5xxMissing: true, Latency: &Percentiles{P50: 50, P90: 200, P99: 900}}},
		{name: "5xx with messages", values: full, tweak: with("errors5xx", message),
			want: Stats{Requests: 1000, Errors5xxMissing: true, Latency: &Percentiles{P50: 50, P90: 200, P99: 900}}},
		{name: "connection errors not answered", values: full, tweak: without("connerrors"),
			want: Stats{Requests: 1000, Errors5xxMissing: true, Latency: &Percentiles{P50: 50, P90: 200, P99: 900}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := New(stubCloudWatch(t, answerAll(tt.values, tt.tweak))).TargetStats(context.Background(), green, t0, now)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got, cmp.Comparer(func(a, b float64) bool { return a-b < 1e-9 && b-a < 1e-9 })); diff != "" {
				t.Errorf("TargetStats (-want +got):\n%s", diff)
			}
		})
	}
}

// TestTargetStatsRequestsIncomplete: without a whole request count nothing
// can be judged: a transient error, asked again.
func TestTargetStatsRequestsIncomplete(t *testing.T) {
	values := map[string][]float64{"requests": {1000}}
	for name, tweak := range map[string]func([]cwtypes.MetricDataResult) []cwtypes.MetricDataResult{
		"not answered": without("requests"),
		"partial":      with("requests", func(r *cwtypes.MetricDataResult) { r.StatusCode = cwtypes.StatusCodePartialData }),
	} {
		_, err := New(stubCloudWatch(t, answerAll(values, tweak))).TargetStats(context.Background(), green, t0, now)
		if err == nil || !hook.IsTransient(err) || !strings.Contains(err.Error(), "RequestCount") {
			t.Errorf("%s: err %v, want a transient error naming RequestCount", name, err)
		}
	}
}

// TestExpressionValues: every series' value comes back, for the caller to
// judge; an incomplete answer is no data.
func TestExpressionValues(t *testing.T) {
	m := map[string]Metric{"m1": {Namespace: "N", Name: "M"}}
	two := func(rs []cwtypes.MetricDataResult) []cwtypes.MetricDataResult {
		// SEARCH returns one result per series, all under the query's id.
		return append(rs, cwtypes.MetricDataResult{Id: aws.String(ResultID), Values: []float64{0.5}, StatusCode: cwtypes.StatusCodeComplete})
	}
	got, err := New(stubCloudWatch(t, answerAll(map[string][]float64{ResultID: {3}}, two))).Expression(context.Background(), "m1", m, t0, now)
	if err != nil || !slices.Equal(got, []float64{3, 0.5}) {
		t.Errorf("Expression(two series) = %v, %v; want [3 0.5]", got, err)
	}
	for name, tweak := range map[string]func([]cwtypes.MetricDataResult) []cwtypes.MetricDataResult{
		"partial": with(ResultID, func(r *cwtypes.MetricDataResult) { r.StatusCode = cwtypes.StatusCodePartialData }),
		"messages": with(ResultID, func(r *cwtypes.MetricDataResult) {
			r.Messages = []cwtypes.MessageData{{Code: aws.String("ArithmeticError"), Value: aws.String("division by zero")}}
		}),
		"not answered": without(ResultID),
	} {
		_, err := New(stubCloudWatch(t, answerAll(map[string][]float64{ResultID: {3}}, tweak))).Expression(context.Background(), "m1", m, t0, now)
		if !errors.Is(err, ErrNoData) {
			t.Errorf("Expression(%s) = %v, want ErrNoData", name, err)
		}
	}
}

// TestPartialSeriesAmongSeveral: one series of an id still partial on the
// last page makes the id incomplete, whatever the order of the results.
func TestPartialSeriesAmongSeveral(t *testing.T) {
	c := stubCloudWatch(t, func(p any) (any, error) {
		return &cloudwatch.GetMetricDataOutput{MetricDataResults: []cwtypes.MetricDataResult{
			{Id: aws.String(ResultID), Label: aws.String("a"), Values: []float64{1}, StatusCode: cwtypes.StatusCodePartialData},
			{Id: aws.String(ResultID), Label: aws.String("b"), Values: []float64{2}, StatusCode: cwtypes.StatusCodeComplete},
		}}, nil
	})
	if _, err := New(c).Expression(context.Background(), "SEARCH('x', 'Sum')", nil, t0, now); !errors.Is(err, ErrNoData) {
		t.Errorf("Expression(one series partial) = %v, want ErrNoData", err)
	}
}
