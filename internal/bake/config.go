package bake

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/hook"
)

// Kind is a built-in check on the green target group's traffic.
type Kind string

// The built-in kinds. The 5xx rate is HTTPCode_Target_5XX_Count plus
// TargetConnectionErrorCount (502 or 504 answered by the load balancer for
// want of a connection to a target) divided by RequestCount; latencies are
// TargetResponseTime percentiles in milliseconds. Neither sees other 5xx
// the load balancer answers itself (HTTPCode_ELB_5XX_Count, which has no
// target-group dimension): watch those with an alarm or an expression.
const (
	Kind5xxRate    Kind = "targetGroup5xxRate"
	KindLatencyP50 Kind = "targetGroupLatencyP50"
	KindLatencyP90 Kind = "targetGroupLatencyP90"
	KindLatencyP99 Kind = "targetGroupLatencyP99"
)

// Kinds lists every built-in kind.
var Kinds = []Kind{Kind5xxRate, KindLatencyP50, KindLatencyP90, KindLatencyP99}

func (k Kind) latency() bool {
	return k == KindLatencyP50 || k == KindLatencyP90 || k == KindLatencyP99
}

// Policies for alarms in INSUFFICIENT_DATA and for a window without enough
// traffic.
const (
	Ignore = "ignore"
	Fail   = "fail"
	Pass   = "pass"
)

// Defaults and limits of the configuration. A window can be extended once,
// to twice its length; both must fit in the 24 hours ECS gives a stage.
const (
	DefaultWindow           = 10 * time.Minute
	MinWindow               = time.Minute
	MaxWindow               = 8 * time.Hour
	DefaultMinRequests      = 100
	MaxMinRequests          = 1_000_000_000
	DefaultCallbackDelay    = 60
	MinCallbackDelay        = 1
	MaxCallbackDelay        = 900
	DefaultMaxErrorDuration = 5 * time.Minute
	MinMaxErrorDuration     = time.Minute
	MaxMaxErrorDuration     = time.Hour
	MaxMetrics              = 20
	MaxAlarmNames           = 100
	MaxAlarmPrefixes        = 10
	MaxExpressionMetrics    = 10
	maxNameLen              = 64
	maxAlarmNameLen         = 255
	maxExpressionLen        = 2048
)

// AlarmConfig names the alarms that must not be in ALARM during the bake.
type AlarmConfig struct {
	// Names are alarm names; each must exist.
	Names []string
	// Prefixes select every alarm whose name starts with one; each must
	// match at least one alarm.
	Prefixes []string
	// InsufficientData is Ignore or Fail: what an alarm in
	// INSUFFICIENT_DATA means.
	InsufficientData string
}

// MetricCheck is one metric with its limits: a built-in Kind, or a
// metric-math Expression over named Metrics.
type MetricCheck struct {
	// Name identifies the check in reasons and reports; unique.
	Name string
	// Kind is a built-in check; empty for an expression.
	Kind Kind
	// Expression is a CloudWatch metric-math expression; empty for a kind.
	Expression string
	// Metrics are the metrics Expression refers to, by id.
	Metrics map[string]Metric
	// Max is the highest acceptable value: a fraction for Kind5xxRate,
	// any number for an expression.
	Max *float64
	// MaxMs is the highest acceptable latency in milliseconds.
	MaxMs *float64
	// MaxRelativeToBlue is the highest acceptable ratio of green's value to
	// blue's baseline.
	MaxRelativeToBlue *float64
	// Min is the lowest acceptable value of an expression.
	Min *float64
}

// Config is what a bake checks and for how long.
type Config struct {
	// Window is how long the bake lasts from the first call.
	Window time.Duration
	// Alarms are the CloudWatch alarms to watch.
	Alarms AlarmConfig
	// Metrics are the metric checks.
	Metrics []MetricCheck
	// MinRequests is how many requests green must serve in the window for
	// the bake to count as evidence; 0 requires none.
	MinRequests int
	// StepMinRequests is MinRequests for each step the step check judges;
	// nil means MinRequests.
	StepMinRequests *int
	// OnNoTraffic is Fail or Pass: the verdict when, after the one
	// extension, there is still not enough evidence.
	OnNoTraffic string
	// CallbackDelay is the number of seconds between checks.
	CallbackDelay int
	// MaxErrorDuration is how long transient errors are answered
	// IN_PROGRESS before the hook fails closed.
	MaxErrorDuration time.Duration
	// Policy names the keys of the suite's configuration that services'
	// hookDetails may loosen (see Apply); the suite's alone, from
	// GATEHOUSE_POLICY, never from JSON.
	Policy hook.Loosen
	// SuiteKeys are the keys the suite set (GATEHOUSE_BAKE_CONFIG): the
	// floors. A built-in default is no floor.
	SuiteKeys []string
}

// DefaultConfig returns the built-in defaults: a 10 minute window, 100
// requests, no checks.
func DefaultConfig() Config {
	return Config{
		Window:           DefaultWindow,
		Alarms:           AlarmConfig{InsufficientData: Ignore},
		MinRequests:      DefaultMinRequests,
		OnNoTraffic:      Fail,
		CallbackDelay:    DefaultCallbackDelay,
		MaxErrorDuration: DefaultMaxErrorDuration,
	}
}

// HasChecks reports whether c watches anything: alarms or metrics.
func (c Config) HasChecks() bool {
	return len(c.Alarms.Names) > 0 || len(c.Alarms.Prefixes) > 0 || len(c.Metrics) > 0
}

// needsTargets reports whether checking c needs target-group statistics.
func (c Config) needsTargets() bool {
	if c.MinRequests > 0 {
		return true
	}
	for _, m := range c.Metrics {
		if m.Kind != "" {
			return true
		}
	}
	return false
}

func (c Config) needsBaseline() bool {
	for _, m := range c.Metrics {
		if m.Kind != "" && m.MaxRelativeToBlue != nil {
			return true
		}
	}
	return false
}

// forStep returns c as the step check judges a step with: the step's
// window, and StepMinRequests when set.
func (c Config) forStep(window time.Duration) Config {
	c = c.clone()
	c.Window = window
	if c.StepMinRequests != nil {
		c.MinRequests = *c.StepMinRequests
	}
	return c
}

func (c Config) clone() Config {
	out := c
	out.Alarms.Names = slices.Clone(c.Alarms.Names)
	out.Alarms.Prefixes = slices.Clone(c.Alarms.Prefixes)
	out.Metrics = slices.Clone(c.Metrics)
	return out
}

// ParseConfig parses a bake configuration, a JSON object, over
// DefaultConfig and checks every value, naming each bad one by its path
// (metrics[1].maxMs). It accepts a configuration without checks: it may be
// defaults that hookDetails complete. The key StateKey is ignored.
func ParseConfig(data []byte) (Config, error) {
	return parse("", DefaultConfig(), data)
}

// Apply returns defaults overridden by the bake keys of hookDetails, a JSON
// object: each top-level key given replaces the default's whole value
// (alarms and metrics are replaced, not merged). The key StateKey, the run
// state, is ignored; any other unknown key is refused. The result must have
// at least one check. Every error names the key at fault, as
// hookDetails.PATH.
func Apply(defaults Config, hookDetails json.RawMessage) (Config, error) {
	c, err := parse("hookDetails", defaults, hookDetails)
	if err != nil {
		return c, err
	}
	if c, err = defaults.floors(hookDetails, c); err != nil {
		return c, err
	}
	if !c.HasChecks() {
		return c, errors.New("hookDetails: no checks configured: set alarms or metrics in hookDetails or GATEHOUSE_BAKE_CONFIG")
	}
	return c, nil
}

func parse(prefix string, base Config, data []byte) (Config, error) {
	c := base.clone()
	keys, fields, err := hook.Document(cmp.Or(prefix, "configuration"), data)
	if err != nil {
		return c, err
	}
	p := &parser{}
	for _, k := range keys {
		raw := fields[k]
		path := hook.Path(prefix, k)
		switch k {
		case StateKey:
			continue
		case "window":
			if d, ok := p.Duration(path, raw, MinWindow, MaxWindow); ok {
				c.Window = d
			}
		case "alarms":
			if a, ok := p.alarms(path, raw); ok {
				c.Alarms = a
			}
		case "metrics":
			if m, ok := p.metrics(path, raw); ok {
				c.Metrics = m
			}
		case "minRequests":
			if n, ok := p.Integer(path, raw, 0, MaxMinRequests); ok {
				c.MinRequests = n
			}
		case "stepMinRequests":
			if n, ok := p.Integer(path, raw, 0, MaxMinRequests); ok {
				c.StepMinRequests = &n
			}
		case "onNoTraffic":
			if v, ok := p.Enum(path, raw, Fail, Pass); ok {
				c.OnNoTraffic = v
			}
		case "callbackDelay":
			if n, ok := p.Integer(path, raw, MinCallbackDelay, MaxCallbackDelay); ok {
				c.CallbackDelay = n
			}
		case "maxErrorDuration":
			if d, ok := p.Duration(path, raw, MinMaxErrorDuration, MaxMaxErrorDuration); ok {
				c.MaxErrorDuration = d
			}
		default:
			p.Fail(path, "unknown key")
		}
	}
	return c, p.Err()
}

// parser collects every problem, each named by its path.
type parser struct {
	hook.Decoder
}

func (p *parser) alarms(path string, raw json.RawMessage) (AlarmConfig, bool) {
	fields, ok := p.Object(path, raw)
	if !ok {
		return AlarmConfig{}, false
	}
	a := AlarmConfig{InsufficientData: Ignore}
	n := p.Problems()
	for _, k := range slices.Sorted(maps.Keys(fields)) {
		raw, path := fields[k], path+"."+k
		switch k {
		case "names":
			a.Names, _ = p.StringList(path, raw, MaxAlarmNames, maxAlarmNameLen)
		case "prefixes":
			a.Prefixes, _ = p.StringList(path, raw, MaxAlarmPrefixes, maxAlarmNameLen)
		case "insufficientData":
			a.InsufficientData, _ = p.Enum(path, raw, Ignore, Fail)
		default:
			p.Fail(path, "unknown key")
		}
	}
	return a, p.Problems() == n
}

func (p *parser) metrics(path string, raw json.RawMessage) ([]MetricCheck, bool) {
	var list []json.RawMessage
	if err := json.Unmarshal(raw, &list); err != nil || hook.IsNull(raw) {
		p.Want(path, "a JSON list of metric checks", raw)
		return nil, false
	}
	if len(list) > MaxMetrics {
		p.Fail(path, "%d checks, at most %d", len(list), MaxMetrics)
		return nil, false
	}
	n := p.Problems()
	var out []MetricCheck
	names := map[string]int{}
	for i, raw := range list {
		at := fmt.Sprintf("%s[%d]", path, i)
		m, ok := p.metric(at, raw, i)
		if !ok {
			continue
		}
		if j, dup := names[m.Name]; dup {
			p.Fail(at+".name", "%q is also the name of metrics[%d]; names must be unique", m.Name, j)
			continue
		}
		names[m.Name] = i
		out = append(out, m)
	}
	return out, p.Problems() == n
}

func (p *parser) metric(path string, raw json.RawMessage, index int) (MetricCheck, bool) {
	fields, ok := p.Object(path, raw)
	if !ok {
		return MetricCheck{}, false
	}
	var m MetricCheck
	n := p.Problems()
	limit := func(path string, raw json.RawMessage) *float64 {
		if f, ok := p.Number(path, raw); ok {
			return &f
		}
		return nil
	}
	for _, k := range slices.Sorted(maps.Keys(fields)) {
		raw, path := fields[k], path+"."+k
		switch k {
		case "name":
			if s, ok := p.String(path, raw); ok {
				if s == "" || len(s) > maxNameLen || !hook.Printable(s) {
					p.Fail(path, "want a printable name of 1 to %d bytes, got %s", maxNameLen, hook.Quote(raw))
				}
				m.Name = s
			}
		case "kind":
			if s, ok := p.String(path, raw); ok {
				if !slices.Contains(Kinds, Kind(s)) {
					p.Fail(path, "unknown kind %s; want one of %s", hook.Quote(raw), hook.QuoteAll(kindNames()))
				}
				m.Kind = Kind(s)
			}
		case "expression":
			if s, ok := p.String(path, raw); ok {
				s = strings.TrimSpace(s)
				if s == "" || len(s) > maxExpressionLen {
					p.Fail(path, "want a metric-math expression of 1 to %d bytes", maxExpressionLen)
				}
				m.Expression = s
			}
		case "metrics":
			m.Metrics, _ = p.expressionMetrics(path, raw)
		case "max":
			m.Max = limit(path, raw)
		case "maxMs":
			m.MaxMs = limit(path, raw)
		case "maxRelativeToBlue":
			m.MaxRelativeToBlue = limit(path, raw)
		case "min":
			m.Min = limit(path, raw)
		default:
			p.Fail(path, "unknown key")
		}
	}
	if p.Problems() > n {
		return m, false
	}
	p.limits(path, m)
	if m.Name == "" {
		m.Name = string(m.Kind)
		if m.Kind == "" {
			m.Name = fmt.Sprintf("metrics[%d]", index)
		}
	}
	return m, p.Problems() == n
}

// limits checks that m, a metric check at path, has limits that suit it:
// a kind or an expression, and the limits of that.
func (p *parser) limits(path string, m MetricCheck) {
	refuse := func(key string, set bool, why string) {
		if set {
			p.Fail(path+"."+key, "%s", why)
		}
	}
	switch {
	case m.Kind != "" && m.Expression != "":
		p.Fail(path, "set kind or expression, not both")
	case m.Kind == "" && m.Expression == "":
		p.Fail(path, "set kind (one of %s) or expression", hook.QuoteAll(kindNames()))
	case m.Kind == Kind5xxRate:
		refuse("maxMs", m.MaxMs != nil, "not for a 5xx rate: use max, a fraction such as 0.01")
		refuse("min", m.Min != nil, "only for expressions")
		refuse("metrics", m.Metrics != nil, "only for expressions")
		if m.Max != nil && (*m.Max < 0 || *m.Max > 1) {
			p.Fail(path+".max", "%g, want a fraction from 0 to 1", *m.Max)
		}
		if m.Max == nil && m.MaxRelativeToBlue == nil {
			p.Fail(path, "set a limit: max or maxRelativeToBlue")
		}
	case m.Kind.latency():
		refuse("max", m.Max != nil, "not for a latency: use maxMs, in milliseconds")
		refuse("min", m.Min != nil, "only for expressions")
		refuse("metrics", m.Metrics != nil, "only for expressions")
		if m.MaxMs != nil && *m.MaxMs <= 0 {
			p.Fail(path+".maxMs", "%g, want more than 0 milliseconds", *m.MaxMs)
		}
		if m.MaxMs == nil && m.MaxRelativeToBlue == nil {
			p.Fail(path, "set a limit: maxMs or maxRelativeToBlue")
		}
	default: // expression
		refuse("maxMs", m.MaxMs != nil, "only for latency kinds; an expression takes max and min")
		refuse("maxRelativeToBlue", m.MaxRelativeToBlue != nil, "only for kinds: an expression has no blue counterpart")
		if m.Max == nil && m.Min == nil {
			p.Fail(path, "set a limit: max or min")
		}
		if m.Max != nil && m.Min != nil && *m.Min > *m.Max {
			p.Fail(path+".min", "%g is above max %g", *m.Min, *m.Max)
		}
	}
	if m.MaxRelativeToBlue != nil && *m.MaxRelativeToBlue <= 0 {
		p.Fail(path+".maxRelativeToBlue", "%g, want a ratio above 0, such as 1.5", *m.MaxRelativeToBlue)
	}
}

func (p *parser) expressionMetrics(path string, raw json.RawMessage) (map[string]Metric, bool) {
	fields, ok := p.Object(path, raw)
	if !ok {
		return nil, false
	}
	if len(fields) > MaxExpressionMetrics {
		p.Fail(path, "%d metrics, at most %d", len(fields), MaxExpressionMetrics)
		return nil, false
	}
	n := p.Problems()
	out := map[string]Metric{}
	for _, id := range slices.Sorted(maps.Keys(fields)) {
		at := path + "." + id
		if !validID(id) || id == ResultID {
			p.Fail(at, "id %q: want a lowercase letter followed by letters, digits or _, and not %q", id, ResultID)
			continue
		}
		obj, ok := p.Object(at, fields[id])
		if !ok {
			continue
		}
		var m Metric
		for _, k := range slices.Sorted(maps.Keys(obj)) {
			raw, path := obj[k], at+"."+k
			switch k {
			case "namespace":
				m.Namespace, _ = p.String(path, raw)
			case "metric":
				m.Name, _ = p.String(path, raw)
			case "stat":
				m.Stat, _ = p.String(path, raw)
			case "dimensions":
				var dims map[string]string
				if err := json.Unmarshal(raw, &dims); err != nil || dims == nil {
					p.Want(path, "a JSON object of dimension names to string values", raw)
					continue
				}
				if len(dims) > 30 {
					p.Fail(path, "%d dimensions, at most 30", len(dims))
				}
				if len(dims) > 0 {
					// {} selects nothing more than no dimensions at all.
					m.Dimensions = dims
				}
			default:
				p.Fail(path, "unknown key")
			}
		}
		if m.Namespace == "" || len(m.Namespace) > 255 {
			p.Fail(at+".namespace", "want a namespace such as AWS/ApplicationELB")
		}
		if m.Name == "" || len(m.Name) > 255 {
			p.Fail(at+".metric", "want a metric name")
		}
		if len(m.Stat) > 100 {
			p.Fail(at+".stat", "too long")
		}
		out[id] = m
	}
	if len(out) == 0 {
		out = nil
	}
	return out, p.Problems() == n
}

// validID reports whether id is a valid GetMetricData query id.
func validID(id string) bool {
	if id == "" || len(id) > 255 || id[0] < 'a' || id[0] > 'z' {
		return false
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// MarshalJSON writes c in the shape it is configured with, durations as
// strings, for reports.
func (c Config) MarshalJSON() ([]byte, error) {
	type alarms struct {
		Names            []string `json:"names,omitempty"`
		Prefixes         []string `json:"prefixes,omitempty"`
		InsufficientData string   `json:"insufficientData"`
	}
	type metric struct {
		Name              string            `json:"name"`
		Kind              Kind              `json:"kind,omitempty"`
		Expression        string            `json:"expression,omitempty"`
		Metrics           map[string]Metric `json:"metrics,omitempty"`
		Max               *float64          `json:"max,omitempty"`
		MaxMs             *float64          `json:"maxMs,omitempty"`
		MaxRelativeToBlue *float64          `json:"maxRelativeToBlue,omitempty"`
		Min               *float64          `json:"min,omitempty"`
	}
	w := struct {
		Window           string   `json:"window"`
		Alarms           alarms   `json:"alarms"`
		Metrics          []metric `json:"metrics"`
		MinRequests      int      `json:"minRequests"`
		StepMinRequests  *int     `json:"stepMinRequests,omitempty"`
		OnNoTraffic      string   `json:"onNoTraffic"`
		CallbackDelay    int      `json:"callbackDelay"`
		MaxErrorDuration string   `json:"maxErrorDuration"`
	}{
		Window:           hook.FormatDuration(c.Window),
		Alarms:           alarms(c.Alarms),
		Metrics:          []metric{},
		MinRequests:      c.MinRequests,
		StepMinRequests:  c.StepMinRequests,
		OnNoTraffic:      c.OnNoTraffic,
		CallbackDelay:    c.CallbackDelay,
		MaxErrorDuration: hook.FormatDuration(c.MaxErrorDuration),
	}
	for _, m := range c.Metrics {
		w.Metrics = append(w.Metrics, metric(m))
	}
	return json.Marshal(w)
}

func kindNames() []string {
	out := make([]string, len(Kinds))
	for i, k := range Kinds {
		out[i] = string(k)
	}
	return out
}
