// Package cwmetrics reads Amazon CloudWatch for the bake check: the states of
// alarms named or matched by prefix (DescribeAlarms), the traffic of an
// Application Load Balancer target group (GetMetricData on AWS/ApplicationELB:
// RequestCount, HTTPCode_Target_5XX_Count, TargetConnectionErrorCount,
// TargetResponseTime percentiles), and free metric-math expressions, each
// series reduced to one value over an interval.
//
// Every read covers an interval as one aggregate: the interval is widened to
// whole minutes, CloudWatch's resolution for load balancer metrics, and asked
// for as a single period, so that a percentile is the percentile of the whole
// interval and not an average of per-minute percentiles.
//
// Errors keep the SDK's error in their chain, so that a caller can classify
// them (throttling and 5xx are transient). A query CloudWatch answers with
// status InternalError is reported as a transient error; one it refuses
// (Forbidden) is not.
//
// A query CloudWatch answers without a result, with status PartialData on
// the last page, or with messages is incomplete: its value is reported as
// missing, never as 0. A result that is complete but has no datapoints is
// a count of 0 (load balancer metrics are published only when non-zero).
package cwmetrics

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
)

var (
	// ErrUnsupported is returned for a question a source cannot answer, such
	// as request metrics of a Network Load Balancer's target group.
	ErrUnsupported = errors.New("not supported")
	// ErrNoData is returned by Expression when CloudWatch has no value for
	// the expression in the interval.
	ErrNoData = errors.New("no data")
)

// Alarm states, as CloudWatch names them.
const (
	StateOK               = "OK"
	StateAlarm            = "ALARM"
	StateInsufficientData = "INSUFFICIENT_DATA"
)

// ResultID is the query id Expression gives the expression itself; metric
// ids of an expression must differ from it.
const ResultID = "gatehouse_result"

// Limits on a single read. They bound every paging loop: a prefix matching
// more alarms than MaxAlarms is refused rather than read forever.
const (
	MaxAlarms       = 1000
	maxNamesPerCall = 100 // DescribeAlarms accepts at most 100 names
	maxPages        = 20
)

// API is the part of *cloudwatch.Client the reader uses.
type API interface {
	DescribeAlarms(ctx context.Context, params *cloudwatch.DescribeAlarmsInput, optFns ...func(*cloudwatch.Options)) (*cloudwatch.DescribeAlarmsOutput, error)
	GetMetricData(ctx context.Context, params *cloudwatch.GetMetricDataInput, optFns ...func(*cloudwatch.Options)) (*cloudwatch.GetMetricDataOutput, error)
}

// Alarm is the state of one CloudWatch alarm (metric or composite): its
// name, its state (StateOK, StateAlarm or StateInsufficientData),
// CloudWatch's reason and when it entered the state, when known.
type Alarm struct {
	Name, State, Reason string
	Since               time.Time
}

// Target is a target group behind a load balancer, by their CloudWatch
// dimensions (targetgroup/NAME/ID and app/NAME/ID); Name labels it in
// errors.
type Target struct {
	Name, LoadBalancer, TargetGroup string
}

// Percentiles are response times in milliseconds.
type Percentiles struct{ P50, P90, P99 float64 }

// Stats are a target group's requests, target 5xx answers and connection
// errors over an interval. Errors5xxMissing is set when CloudWatch answered
// either count incompletely; Latency is nil unless every percentile is
// known.
type Stats struct {
	Requests, Errors5xx, ConnectionErrors float64
	Errors5xxMissing                      bool
	Latency                               *Percentiles
}

// Metric is a metric an expression refers to; Stat empty means Sum.
type Metric struct {
	Namespace, Name, Stat string
	Dimensions            map[string]string
}

// Client reads CloudWatch.
type Client struct {
	api API
}

// New returns a Client using api, normally a *cloudwatch.Client.
func New(api API) *Client { return &Client{api: api} }

// Alarms returns the state of every alarm named in names or whose name
// starts with one of prefixes, each alarm once, sorted by name. Names that
// match no alarm are simply absent: the caller decides what that means. It
// reads metric and composite alarms. It returns an error if more than
// MaxAlarms alarms match.
func (c *Client) Alarms(ctx context.Context, names, prefixes []string) ([]Alarm, error) {
	seen := map[string]Alarm{}
	for batch := range slices.Chunk(names, maxNamesPerCall) {
		in := &cloudwatch.DescribeAlarmsInput{AlarmNames: batch}
		if err := c.describeAlarms(ctx, in, seen); err != nil {
			return nil, fmt.Errorf("describe alarms by name: %w", err)
		}
	}
	for _, p := range prefixes {
		in := &cloudwatch.DescribeAlarmsInput{AlarmNamePrefix: aws.String(p)}
		if err := c.describeAlarms(ctx, in, seen); err != nil {
			return nil, fmt.Errorf("describe alarms with prefix %q: %w", p, err)
		}
	}
	out := make([]Alarm, 0, len(seen))
	for _, a := range seen {
		out = append(out, a)
	}
	slices.SortFunc(out, func(a, b Alarm) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// describeAlarms reads every page of one DescribeAlarms query into seen.
func (c *Client) describeAlarms(ctx context.Context, in *cloudwatch.DescribeAlarmsInput, seen map[string]Alarm) error {
	// Log alarms are newer than the other two types; asking for them where
	// the service does not know them would fail every bake.
	in.AlarmTypes = []cwtypes.AlarmType{cwtypes.AlarmTypeMetricAlarm, cwtypes.AlarmTypeCompositeAlarm}
	in.MaxRecords = aws.Int32(100)
	for page := 0; ; page++ {
		if page == maxPages {
			return fmt.Errorf("more than %d pages of alarms", maxPages)
		}
		out, err := c.api.DescribeAlarms(ctx, in)
		if err != nil {
			return err
		}
		add := func(name *string, state cwtypes.StateValue, reason *string, since *time.Time) {
			a := Alarm{Name: aws.ToString(name), State: string(state), Reason: aws.ToString(reason)}
			if since != nil {
				a.Since = since.UTC()
			}
			seen[a.Name] = a
		}
		for _, a := range out.MetricAlarms {
			add(a.AlarmName, a.StateValue, a.StateReason, a.StateUpdatedTimestamp)
		}
		for _, a := range out.CompositeAlarms {
			add(a.AlarmName, a.StateValue, a.StateReason, a.StateUpdatedTimestamp)
		}
		if len(seen) > MaxAlarms {
			return fmt.Errorf("more than %d alarms match", MaxAlarms)
		}
		next := aws.ToString(out.NextToken)
		if next == "" || next == aws.ToString(in.NextToken) {
			return nil
		}
		in.NextToken = aws.String(next)
	}
}

// Query ids of TargetStats.
const (
	idRequests   = "requests"
	idErrors     = "errors5xx"
	idConnErrors = "connerrors"
	idP50        = "p50"
	idP90        = "p90"
	idP99        = "p99"
)

// TargetStats returns the requests, target 5xx answers, target connection
// errors and response-time percentiles of t's target group behind t's load
// balancer over [start, end), widened to whole minutes. It returns an error
// wrapping ErrUnsupported when t is not a target group of an Application
// Load Balancer: only those have request metrics.
//
// A count CloudWatch answers incompletely is missing, never 0: an
// incomplete RequestCount is a transient error; incomplete 5xx or
// connection-error counts set Errors5xxMissing; Latency is set only when
// every percentile has a complete, non-empty result.
func (c *Client) TargetStats(ctx context.Context, t Target, start, end time.Time) (Stats, error) {
	if t.TargetGroup == "" || !strings.HasPrefix(t.TargetGroup, "targetgroup/") {
		return Stats{}, fmt.Errorf("%s target group %q: %w: want a dimension targetgroup/NAME/ID", t.Name, t.TargetGroup, ErrUnsupported)
	}
	if !strings.HasPrefix(t.LoadBalancer, "app/") {
		return Stats{}, fmt.Errorf("%s target group behind load balancer %q: %w: request metrics need an Application Load Balancer", t.Name, t.LoadBalancer, ErrUnsupported)
	}
	from, period, ok := span(start, end)
	if !ok {
		return Stats{}, nil
	}
	dims := []cwtypes.Dimension{
		{Name: aws.String("LoadBalancer"), Value: aws.String(t.LoadBalancer)},
		{Name: aws.String("TargetGroup"), Value: aws.String(t.TargetGroup)},
	}
	q := func(id, metric, stat string) cwtypes.MetricDataQuery {
		return cwtypes.MetricDataQuery{
			Id: aws.String(id),
			MetricStat: &cwtypes.MetricStat{
				Metric: &cwtypes.Metric{Namespace: aws.String("AWS/ApplicationELB"), MetricName: aws.String(metric), Dimensions: dims},
				Period: aws.Int32(period),
				Stat:   aws.String(stat),
			},
		}
	}
	results, err := c.getMetricData(ctx, from, period, []cwtypes.MetricDataQuery{
		q(idRequests, "RequestCount", "Sum"),
		q(idErrors, "HTTPCode_Target_5XX_Count", "Sum"),
		q(idConnErrors, "TargetConnectionErrorCount", "Sum"),
		q(idP50, "TargetResponseTime", "p50"),
		q(idP90, "TargetResponseTime", "p90"),
		q(idP99, "TargetResponseTime", "p99"),
	})
	if err != nil {
		return Stats{}, fmt.Errorf("%s target group %s: %w", t.Name, t.TargetGroup, err)
	}
	if why := results[idRequests].incomplete(); why != "" {
		return Stats{}, fmt.Errorf("%s target group %s: %w", t.Name, t.TargetGroup, transientError{fmt.Errorf("RequestCount %s", why)})
	}
	s := Stats{
		Requests:         sum(results[idRequests].all()),
		Errors5xx:        sum(results[idErrors].all()),
		ConnectionErrors: sum(results[idConnErrors].all()),
		Errors5xxMissing: results[idErrors].incomplete() != "" || results[idConnErrors].incomplete() != "",
	}
	if s.Errors5xxMissing {
		s.Errors5xx, s.ConnectionErrors = 0, 0
	}
	p50, ok50 := results[idP50].single()
	p90, ok90 := results[idP90].single()
	p99, ok99 := results[idP99].single()
	if ok50 && ok90 && ok99 {
		// TargetResponseTime is in seconds.
		s.Latency = &Percentiles{P50: p50 * 1000, P90: p90 * 1000, P99: p99 * 1000}
	}
	return s, nil
}

// Expression evaluates the metric-math expr over [start, end), widened to
// whole minutes, with each metric aggregated by its statistic over the whole
// interval as one period, and returns its values, never empty: one per
// series it returns (SEARCH may return several; a series normally has one
// datapoint, the interval being one period). metrics maps the ids
// expr uses to metrics; an expression may also need none (SEARCH, SELECT).
// It returns an error wrapping ErrNoData when CloudWatch has no value or
// answers incompletely. The caller judges every value: a maximum against
// the largest, a minimum against the smallest.
func (c *Client) Expression(ctx context.Context, expr string, metrics map[string]Metric, start, end time.Time) ([]float64, error) {
	if _, ok := metrics[ResultID]; ok {
		return nil, fmt.Errorf("expression %q: metric id %q is reserved", expr, ResultID)
	}
	from, period, ok := span(start, end)
	if !ok {
		return nil, fmt.Errorf("expression %q: empty interval: %w", expr, ErrNoData)
	}
	ids := make([]string, 0, len(metrics))
	for id := range metrics {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	queries := make([]cwtypes.MetricDataQuery, 0, len(ids)+1)
	for _, id := range ids {
		m := metrics[id]
		dims := make([]cwtypes.Dimension, 0, len(m.Dimensions))
		for _, k := range slices.Sorted(maps.Keys(m.Dimensions)) {
			dims = append(dims, cwtypes.Dimension{Name: aws.String(k), Value: aws.String(m.Dimensions[k])})
		}
		stat := m.Stat
		if stat == "" {
			stat = "Sum"
		}
		queries = append(queries, cwtypes.MetricDataQuery{
			Id: aws.String(id),
			MetricStat: &cwtypes.MetricStat{
				Metric: &cwtypes.Metric{Namespace: aws.String(m.Namespace), MetricName: aws.String(m.Name), Dimensions: dims},
				Period: aws.Int32(period),
				Stat:   aws.String(stat),
			},
			ReturnData: aws.Bool(false),
		})
	}
	queries = append(queries, cwtypes.MetricDataQuery{
		Id:         aws.String(ResultID),
		Expression: aws.String(expr),
		Period:     aws.Int32(period),
		ReturnData: aws.Bool(true),
	})
	results, err := c.getMetricData(ctx, from, period, queries)
	if err != nil {
		return nil, fmt.Errorf("expression %q: %w", expr, err)
	}
	r := results[ResultID]
	if why := r.incomplete(); why != "" {
		return nil, fmt.Errorf("expression %q: %s: %w", expr, why, ErrNoData)
	}
	if len(r.all()) == 0 {
		return nil, fmt.Errorf("expression %q: %w", expr, ErrNoData)
	}
	return r.all(), nil
}

// result is what CloudWatch answered for one query id, over every page.
type result struct {
	// seen is set once a result for the id came back.
	seen bool
	// page is the last page with a result for the id.
	page int
	// partial is set when a result for the id on that page has status
	// PartialData (several series, as SEARCH returns, share an id).
	partial bool
	// messages are the results' messages, "CODE: VALUE".
	messages []string
	// values are the datapoints of every result for the id.
	values []float64
}

// incomplete says why r cannot be trusted to be whole, or "" when it can:
// no result at all, a last status of PartialData, or messages.
func (r *result) incomplete() string {
	switch {
	case r == nil || !r.seen:
		return "not answered by CloudWatch"
	case r.partial:
		return "answered only in part (PartialData)" + joinMessages(r.messages)
	case len(r.messages) > 0:
		return "answered with messages" + joinMessages(r.messages)
	}
	return ""
}

// all returns r's values; none for a query not answered.
func (r *result) all() []float64 {
	if r == nil {
		return nil
	}
	return r.values
}

// single returns the one value of a complete result; ok is false when the
// result is incomplete or has no datapoint. Should it have several, the
// largest is returned: for a percentile, the worst.
func (r *result) single() (float64, bool) {
	if r.incomplete() != "" || len(r.values) == 0 {
		return 0, false
	}
	return slices.Max(r.values), true
}

// getMetricData runs queries over [from, from+period) and returns what
// CloudWatch answered for each query, by id, over every page. An id that
// CloudWatch did not answer is absent.
func (c *Client) getMetricData(ctx context.Context, from time.Time, period int32, queries []cwtypes.MetricDataQuery) (map[string]*result, error) {
	end := from.Add(time.Duration(period) * time.Second)
	in := &cloudwatch.GetMetricDataInput{
		StartTime:         aws.Time(from),
		EndTime:           aws.Time(end),
		MetricDataQueries: queries,
		ScanBy:            cwtypes.ScanByTimestampAscending,
	}
	results := map[string]*result{}
	for page := 0; ; page++ {
		if page == maxPages {
			return nil, fmt.Errorf("get metric data: more than %d pages", maxPages)
		}
		out, err := c.api.GetMetricData(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("get metric data: %w", err)
		}
		for _, r := range out.MetricDataResults {
			id := aws.ToString(r.Id)
			switch r.StatusCode {
			case cwtypes.StatusCodeInternalError:
				return nil, fmt.Errorf("get metric data: query %s: %w", id, transientError{fmt.Errorf("CloudWatch answered InternalError%s", messages(r.Messages))})
			case cwtypes.StatusCodeForbidden:
				return nil, fmt.Errorf("get metric data: query %s: forbidden%s", id, messages(r.Messages))
			}
			res := results[id]
			if res == nil {
				res = &result{}
				results[id] = res
			}
			if !res.seen || res.page != page {
				res.seen, res.page, res.partial = true, page, false
			}
			res.partial = res.partial || r.StatusCode == cwtypes.StatusCodePartialData
			res.values = append(res.values, r.Values...)
			for _, m := range r.Messages {
				res.messages = append(res.messages, aws.ToString(m.Code)+": "+aws.ToString(m.Value))
			}
		}
		next := aws.ToString(out.NextToken)
		if next == "" || next == aws.ToString(in.NextToken) {
			return results, nil
		}
		in.NextToken = aws.String(next)
	}
}

// span widens [start, end) to whole minutes and returns its start and its
// length in seconds as one period; ok is false for an empty interval.
func span(start, end time.Time) (from time.Time, period int32, ok bool) {
	from = start.UTC().Truncate(time.Minute)
	if !end.After(start) {
		return from, 0, false
	}
	to := end.UTC().Truncate(time.Minute)
	if to.Before(end) {
		to = to.Add(time.Minute)
	}
	if !to.After(from) {
		return from, 0, false
	}
	secs := to.Sub(from) / time.Second
	if secs > 1<<30 {
		return from, 0, false
	}
	return from, int32(secs), true
}

func sum(v []float64) float64 {
	var s float64
	for _, x := range v {
		s += x
	}
	return s
}

func messages(ms []cwtypes.MessageData) string {
	var parts []string
	for _, m := range ms {
		parts = append(parts, aws.ToString(m.Code)+": "+aws.ToString(m.Value))
	}
	return joinMessages(parts)
}

func joinMessages(parts []string) string {
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, "; ") + ")"
}

// transientError marks an error worth retrying; hook.IsTransient honours
// its Transient method.
type transientError struct{ err error }

func (e transientError) Error() string   { return e.err.Error() }
func (e transientError) Unwrap() error   { return e.err }
func (e transientError) Transient() bool { return true }
