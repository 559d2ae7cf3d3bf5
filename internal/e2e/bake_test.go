package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/smithy-go/middleware"

	"github.com/gatehouse-dev/gatehouse/internal/awstest"
	"github.com/gatehouse-dev/gatehouse/internal/bake"
	"github.com/gatehouse-dev/gatehouse/internal/config"
	"github.com/gatehouse-dev/gatehouse/internal/cwmetrics"
	"github.com/gatehouse-dev/gatehouse/internal/elbv2"
	"github.com/gatehouse-dev/gatehouse/internal/hook"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/internal/wiring/bakehook"
)

const bakeEvent = "../../events/post-production-traffic-shift-bake-hookdetails.json"

// bakeRequest returns the bake sample event for a deployment id of the
// test's own, with hookDetails replaced when details is not nil.
func bakeRequest(t *testing.T, id string, details json.RawMessage) hook.Request {
	t.Helper()
	var req hook.Request
	if err := json.Unmarshal(mustRead(t, bakeEvent), &req); err != nil {
		t.Fatal(err)
	}
	req.ResourceARN = strings.Replace(req.ResourceARN, "EZe5RNVLH6PPzHXINuP28", id, 1)
	if details != nil {
		req.HookDetails = details
	}
	return req
}

func invokeBake(t *testing.T, r *awstest.RIE, req hook.Request) hook.Response {
	t.Helper()
	payload, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := r.Invoke(ctx, payload)
	if err != nil {
		t.Fatalf("invoke: %v (a handler error is a rollback)\n%s", err, r.Logs())
	}
	var res hook.Response
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("answer %s: %v", out, err)
	}
	return res
}

// TestBakeHookUnderRIE runs the built bake-hook under the Lambda Runtime
// Interface Emulator. There is no CloudWatch, ECS or ELB emulator: their
// endpoints are unreachable, which the hook must answer IN_PROGRESS (and
// record when the errors began), never with a handler error. A bad
// configuration is answered FAILED naming the field, and that verdict is
// stored in a real S3-compatible server.
func TestBakeHookUnderRIE(t *testing.T) {
	s3srv := awstest.NewS3(t)
	env := append(s3srv.Env(),
		"AWS_ENDPOINT_URL_CLOUDWATCH=http://127.0.0.1:1",
		"AWS_ENDPOINT_URL_ECS=http://127.0.0.1:1",
		"AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2=http://127.0.0.1:1",
		config.EnvStateBucket+"="+s3srv.Bucket,
	)
	r := awstest.NewRIE(t, awstest.BuildFunction(t, "bake-hook"), env)

	t.Run("unreachable AWS is transient", func(t *testing.T) {
		res := invokeBake(t, r, bakeRequest(t, "riebakeunreachable", nil))
		if res.HookStatus != hook.StatusInProgress || !strings.Contains(res.Reason, "transient error") {
			t.Fatalf("answer = %s %q, want IN_PROGRESS for a transient error", res.HookStatus, res.Reason)
		}
		if res.CallBackDelay < 1 || res.CallBackDelay > 30 {
			t.Errorf("callBackDelay = %d, want a retry within 30 s", res.CallBackDelay)
		}
		var details struct {
			State struct {
				Start        time.Time  `json:"start"`
				FirstErrorAt *time.Time `json:"firstErrorAt"`
			} `json:"bakeState"`
		}
		if err := json.Unmarshal(res.HookDetails, &details); err != nil || details.State.Start.IsZero() || details.State.FirstErrorAt == nil {
			t.Errorf("hookDetails = %s (%v), want the window's start and the first error's time", res.HookDetails, err)
		}
	})

	t.Run("bad configuration names the field", func(t *testing.T) {
		id := "riebakeconfig"
		req := bakeRequest(t, id, json.RawMessage(`{"window": "soon", "alarms": {"names": ["orders-p99"]}}`))
		res := invokeBake(t, r, req)
		if res.HookStatus != hook.StatusFailed || !strings.Contains(res.Reason, "hookDetails.window") {
			t.Fatalf("answer = %s %q, want FAILED naming hookDetails.window", res.HookStatus, res.Reason)
		}
		d, _ := hook.ParseDeploymentARN(req.ResourceARN)
		obj, err := store.New(s3srv.Client(), s3srv.Bucket).Get(context.Background(), bake.Key(d, req.LifecycleStage))
		if err != nil {
			t.Fatalf("stored verdict: %v", err)
		}
		var rep bake.Report
		if err := json.Unmarshal(obj.Body, &rep); err != nil || rep.HookStatus != hook.StatusFailed || !strings.Contains(rep.Reason, "hookDetails.window") {
			t.Errorf("stored verdict = %s (%v)", obj.Body, err)
		}
	})
}

// Target groups and rule of the stubbed load balancer.
const (
	tgBlue   = "arn:aws:elasticloadbalancing:us-west-2:123456789012:targetgroup/orders-a/2453ed029918f21f"
	tgGreen  = "arn:aws:elasticloadbalancing:us-west-2:123456789012:targetgroup/orders-b/73e2d6bc24d8a067"
	prodRule = "arn:aws:elasticloadbalancing:us-west-2:123456789012:listener-rule/app/orders/50dc6c495c0c9188/f2f7dc8efc522ab2/9683b2d02a6cabee"
)

// initStub answers a client's calls at the SDK's Initialize step and
// counts them by input type.
type initStub struct {
	mu     sync.Mutex
	calls  map[string]int
	answer func(params any) (any, error)
}

func (s *initStub) options() []func(*middleware.Stack) error {
	return []func(*middleware.Stack) error{awstest.Answer(func(params any) (any, error) {
		s.mu.Lock()
		s.calls[typeName(params)]++
		s.mu.Unlock()
		return s.answer(params)
	})}
}

func typeName(v any) string {
	switch v.(type) {
	case *cloudwatch.DescribeAlarmsInput:
		return "DescribeAlarms"
	case *cloudwatch.GetMetricDataInput:
		return "GetMetricData"
	case *ecs.DescribeServiceRevisionsInput:
		return "DescribeServiceRevisions"
	case *elb.DescribeRulesInput:
		return "DescribeRules"
	}
	return "other"
}

// awsStubs plays CloudWatch, ECS and Elastic Load Balancing for a healthy
// deployment of orders: green behind the production rule, two alarms OK.
func awsStubs(t *testing.T) (*initStub, *cloudwatch.Client, *ecs.Client, *elb.Client) {
	s := &initStub{calls: map[string]int{}}
	s.answer = func(p any) (any, error) {
		switch in := p.(type) {
		case *cloudwatch.DescribeAlarmsInput:
			return &cloudwatch.DescribeAlarmsOutput{MetricAlarms: []cwtypes.MetricAlarm{
				{AlarmName: aws.String("orders-p99"), StateValue: cwtypes.StateValueOk},
				{AlarmName: aws.String("orders-5xx"), StateValue: cwtypes.StateValueOk},
			}}, nil
		case *cloudwatch.GetMetricDataInput:
			var out cloudwatch.GetMetricDataOutput
			for _, q := range in.MetricDataQueries {
				id := aws.ToString(q.Id)
				var values []float64
				if q.MetricStat != nil && aws.ToString(q.MetricStat.Metric.Namespace) == "AWS/ApplicationELB" {
					blue := aws.ToString(q.MetricStat.Metric.Dimensions[1].Value) == "targetgroup/orders-a/2453ed029918f21f"
					values = map[bool]map[string][]float64{
						false: {"requests": {1200}, "errors5xx": {3}, "p50": {0.04}, "p90": {0.12}, "p99": {0.35}},
						true:  {"requests": {1500}, "errors5xx": {2}, "p50": {0.038}, "p90": {0.11}, "p99": {0.4}},
					}[blue][id]
				}
				if id == cwmetrics.ResultID {
					values = []float64{0.004}
				}
				out.MetricDataResults = append(out.MetricDataResults, cwtypes.MetricDataResult{Id: q.Id, Values: values, StatusCode: cwtypes.StatusCodeComplete})
			}
			return &out, nil
		case *ecs.DescribeServiceRevisionsInput:
			return &ecs.DescribeServiceRevisionsOutput{ServiceRevisions: []ecstypes.ServiceRevision{{
				ServiceRevisionArn: aws.String(in.ServiceRevisionArns[0]),
				LoadBalancers: []ecstypes.LoadBalancer{{
					TargetGroupArn: aws.String(tgBlue),
					AdvancedConfiguration: &ecstypes.AdvancedConfiguration{
						AlternateTargetGroupArn: aws.String(tgGreen),
						ProductionListenerRule:  aws.String(prodRule),
					},
				}},
			}}}, nil
		case *elb.DescribeRulesInput:
			return &elb.DescribeRulesOutput{Rules: []elbtypes.Rule{{RuleArn: aws.String(prodRule), Actions: []elbtypes.Action{{
				Type: elbtypes.ActionTypeEnumForward,
				ForwardConfig: &elbtypes.ForwardActionConfig{TargetGroups: []elbtypes.TargetGroupTuple{
					{TargetGroupArn: aws.String(tgBlue), Weight: aws.Int32(0)},
					{TargetGroupArn: aws.String(tgGreen), Weight: aws.Int32(100)},
				}},
			}}}}}, nil
		}
		t.Errorf("unexpected call %T", p)
		return nil, errors.New("unexpected call")
	}
	creds := aws.AnonymousCredentials{}
	return s,
		cloudwatch.New(cloudwatch.Options{Region: "us-west-2", Credentials: creds, APIOptions: s.options()}),
		ecs.New(ecs.Options{Region: "us-west-2", Credentials: creds, APIOptions: s.options()}),
		elb.New(elb.Options{Region: "us-west-2", Credentials: creds, APIOptions: s.options()})
}

// TestBakeWindowCleanInProcess runs a whole clean bake window through
// hook.Wrap and bake.HookHandler with the real CloudWatch, ECS and ELB
// adapters over SDK clients stubbed at the Initialize step, and a real
// S3-compatible server for the verdict. The clock is injected; the
// returned hookDetails are fed back as ECS does.
func TestBakeWindowCleanInProcess(t *testing.T) {
	s3srv := awstest.NewS3(t)
	reports := store.New(s3srv.Client(), s3srv.Bucket)
	stubs, cw, ecsClient, elbClient := awsStubs(t)
	metrics := bakehook.CloudWatch{Client: cwmetrics.New(cw)}
	start := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	now := start
	checker := &bake.Checker{
		Alarms:      metrics,
		Targets:     metrics,
		Expressions: metrics,
		Locator:     bakehook.Locator{Finder: elbv2.NewFinder(ecsClient, elbClient)},
		Reports:     reports,
		Now:         func() time.Time { return now },
		Log:         slog.New(slog.DiscardHandler),
	}
	h := hook.Wrap(bake.HookHandler(checker, bake.DefaultConfig()), hook.Options{Logger: slog.New(slog.DiscardHandler)})

	req := bakeRequest(t, "inprocessclean", nil)
	configured := req.HookDetails
	for _, step := range []struct {
		at        time.Duration
		want      hook.Status
		wantDelay int
	}{
		{0, hook.StatusInProgress, 60},
		{4 * time.Minute, hook.StatusInProgress, 60},
		{9*time.Minute + 30*time.Second, hook.StatusInProgress, 30},
		{10 * time.Minute, hook.StatusSucceeded, 0},
	} {
		now = start.Add(step.at)
		payload, _ := json.Marshal(req)
		res, err := h(context.Background(), payload)
		if err != nil {
			t.Fatalf("Wrap returned %v", err)
		}
		if res.HookStatus != step.want || res.CallBackDelay != step.wantDelay {
			t.Fatalf("call at +%s = %s (delay %d) %q, want %s (delay %d)", step.at, res.HookStatus, res.CallBackDelay, res.Reason, step.want, step.wantDelay)
		}
		if res.HookStatus == hook.StatusInProgress {
			req.HookDetails = shallowMerge(t, configured, res.HookDetails)
		}
	}
	stubs.mu.Lock()
	calls := stubs.calls
	stubs.mu.Unlock()
	if calls["DescribeServiceRevisions"] != 1 || calls["DescribeRules"] != 1 {
		t.Errorf("calls %v: want the target groups located once", calls)
	}

	d, _ := hook.ParseDeploymentARN(req.ResourceARN)
	obj, err := reports.Get(context.Background(), bake.Key(d, hook.StagePostProductionTrafficShift))
	if err != nil {
		t.Fatalf("stored verdict: %v", err)
	}
	var rep bake.Report
	if err := json.Unmarshal(obj.Body, &rep); err != nil {
		t.Fatalf("decode verdict: %v\n%s", err, obj.Body)
	}
	if rep.HookStatus != hook.StatusSucceeded || rep.Green == nil || rep.Green.Requests != 1200 || rep.BlueBaseline == nil ||
		rep.BlueBaseline.Latency == nil || rep.BlueBaseline.Latency.P99 != 400 || rep.Traffic == nil || rep.Traffic.Green != tgGreen {
		t.Errorf("stored verdict = %s", obj.Body)
	}
	if !strings.Contains(rep.Reason, "bake passed: 10m, every check within limits, green served 1200 requests") {
		t.Errorf("reason = %q", rep.Reason)
	}
}

// shallowMerge merges the top-level keys of answer into configured.
func shallowMerge(t *testing.T, configured, answer json.RawMessage) json.RawMessage {
	t.Helper()
	var a, b map[string]json.RawMessage
	if err := json.Unmarshal(configured, &a); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(answer, &b); err != nil {
		t.Fatal(err)
	}
	for k, v := range b {
		a[k] = v
	}
	out, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
