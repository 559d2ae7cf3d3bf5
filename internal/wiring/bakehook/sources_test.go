package bakehook

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/internal/awstest"
	"github.com/gatehouse-dev/gatehouse/internal/bake"
	"github.com/gatehouse-dev/gatehouse/internal/cwmetrics"
	"github.com/gatehouse-dev/gatehouse/internal/hook"
)

func stub(answer func(params any) (any, error)) CloudWatch {
	return CloudWatch{cwmetrics.New(cloudwatch.New(cloudwatch.Options{
		Region:      "us-west-2",
		Credentials: aws.AnonymousCredentials{},
		APIOptions:  []func(*middleware.Stack) error{awstest.Answer(answer)},
	}))}
}

var (
	start = time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	end   = start.Add(5 * time.Minute)
)

// The bake's reserved expression id is the one the CloudWatch reader
// gives the expression.
func TestResultID(t *testing.T) {
	if bake.ResultID != cwmetrics.ResultID {
		t.Errorf("bake.ResultID = %q, cwmetrics.ResultID = %q: the bake would accept a metric id CloudWatch refuses", bake.ResultID, cwmetrics.ResultID)
	}
}

// A side's target group ARN reaches CloudWatch as its dimension, and the
// answer comes back in the bake's types.
func TestTargetStats(t *testing.T) {
	var dims []string
	cw := stub(func(p any) (any, error) {
		in := p.(*cloudwatch.GetMetricDataInput)
		for _, d := range in.MetricDataQueries[0].MetricStat.Metric.Dimensions {
			dims = append(dims, aws.ToString(d.Name)+"="+aws.ToString(d.Value))
		}
		var out cloudwatch.GetMetricDataOutput
		for _, q := range in.MetricDataQueries {
			out.MetricDataResults = append(out.MetricDataResults, cwtypes.MetricDataResult{Id: q.Id, Values: []float64{0.5}, StatusCode: cwtypes.StatusCodeComplete})
		}
		return &out, nil
	})
	got, err := cw.TargetStats(context.Background(), bake.Target{
		Name:         bake.Green,
		LoadBalancer: "app/orders/50dc6c495c0c9188",
		TargetGroup:  "arn:aws:elasticloadbalancing:us-west-2:123456789012:targetgroup/orders-b/73e2d6bc24d8a067",
	}, start, end)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"LoadBalancer=app/orders/50dc6c495c0c9188", "TargetGroup=targetgroup/orders-b/73e2d6bc24d8a067"}, dims); diff != "" {
		t.Errorf("dimensions (-want +got):\n%s", diff)
	}
	want := bake.Stats{Requests: 0.5, Errors5xx: 0.5, ConnectionErrors: 0.5, Latency: &bake.Percentiles{P50: 500, P90: 500, P99: 500}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("TargetStats (-want +got):\n%s", diff)
	}
}

// CloudWatch's kinds of error become the bake's, keeping their text and
// whether they are transient.
func TestSourceErrors(t *testing.T) {
	noData := stub(func(p any) (any, error) {
		return &cloudwatch.GetMetricDataOutput{MetricDataResults: []cwtypes.MetricDataResult{{Id: aws.String(cwmetrics.ResultID), StatusCode: cwtypes.StatusCodeComplete}}}, nil
	})
	_, err := noData.Expression(context.Background(), "m1", map[string]bake.Metric{"m1": {Namespace: "N", Name: "M"}}, start, end)
	if !errors.Is(err, bake.ErrNoData) || !errors.Is(err, cwmetrics.ErrNoData) {
		t.Errorf("Expression(no data) = %v, want bake.ErrNoData", err)
	}

	nlb := stub(func(p any) (any, error) {
		t.Error("asked CloudWatch for a network load balancer's requests")
		return nil, nil
	})
	_, err = nlb.TargetStats(context.Background(), bake.Target{Name: bake.Green, LoadBalancer: "net/orders/50dc6c495c0c9188",
		TargetGroup: "arn:aws:elasticloadbalancing:us-west-2:123456789012:targetgroup/orders-b/73e2d6bc24d8a067"}, start, end)
	if !errors.Is(err, bake.ErrUnsupported) {
		t.Errorf("TargetStats(NLB) = %v, want bake.ErrUnsupported", err)
	}

	throttled := stub(func(p any) (any, error) {
		return nil, &smithy.GenericAPIError{Code: "ThrottlingException", Message: "Rate exceeded"}
	})
	_, err = throttled.Alarms(context.Background(), []string{"orders-5xx"}, nil)
	if err == nil || !hook.IsTransient(err) || errors.Is(err, bake.ErrUnsupported) {
		t.Errorf("Alarms(throttled) = %v, want a transient error", err)
	}
	if err := sourceError(nil); err != nil {
		t.Errorf("sourceError(nil) = %v", err)
	}
}
