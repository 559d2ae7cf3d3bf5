package elbv2

// Finding where an ECS service revision's test traffic
// enters: the revision's load balancer advanced configuration names a test
// listener rule (an ALB listener rule, or an NLB listener), ELBv2 gives the
// rule's conditions, the listener's protocol and port and the load
// balancer's DNS name, and together they make the base URL a smoke test
// sends its requests to.
//
// Rule conditions a request must meet to be routed by the test rule become
// headers where that is possible (http-header, host-header); the others
// (path-pattern, query-string, http-request-method, source-ip) are returned
// as notes for the report.

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

var (
	// ErrNoTestListener is returned when the revision has no load balancer
	// with a test listener rule: it is not a blue/green service behind a
	// load balancer, or its advancedConfiguration lacks testListenerRule.
	ErrNoTestListener = errors.New("no test listener")
)

// TestListener is a revision's test listener as a smoke test needs it.
type TestListener struct {
	// BaseURL is scheme://dns-name[:port] of the test listener.
	BaseURL string
	// Headers satisfy the test rule's http-header and host-header
	// conditions ("Host" for the latter). Nil when the rule has none.
	Headers map[string]string
	// RuleARN is the test listener rule; empty for an NLB, whose test
	// listener is a listener.
	RuleARN string
	// ListenerARN and LoadBalancerARN identify the listener and its load
	// balancer.
	ListenerARN     string
	LoadBalancerARN string
	// Notes are rule conditions the headers cannot satisfy, and other
	// caveats, in words.
	Notes []string
	// PathPatterns and Methods restrict what the test rule routes; empty
	// means any. A request outside them falls through to the listener's
	// default action, which may well be blue.
	PathPatterns []string
	Methods      []string
	// Unsatisfiable are rule conditions no request of the hook can be sure
	// to meet (regular expressions, query strings, source addresses).
	Unsatisfiable []string
	// Internal: the load balancer is internal (reachable from its network
	// alone).
	Internal bool
}

// Source describes where the target came from, for a report.
func (t TestListener) Source() string {
	if t.RuleARN != "" {
		return "test listener rule " + t.RuleARN
	}
	return "test listener " + t.ListenerARN
}

// Find returns the test listener of the service revision. It returns
// ErrNoTestListener if the revision has none and ErrNotFound if a resource
// on the way is unknown; API errors are returned wrapped, for the caller to
// classify. When the revision has several load balancers with a test
// listener rule, the first is used.
func (f *Finder) Find(ctx context.Context, serviceRevisionARN string) (TestListener, error) {
	rev, err := describeRevision(ctx, f.ecs, serviceRevisionARN)
	if err != nil {
		return TestListener{}, err
	}
	var ref string
	for _, lb := range rev.LoadBalancers {
		if lb.AdvancedConfiguration != nil && aws.ToString(lb.AdvancedConfiguration.TestListenerRule) != "" {
			ref = aws.ToString(lb.AdvancedConfiguration.TestListenerRule)
			break
		}
	}
	if ref == "" {
		return TestListener{}, fmt.Errorf("service revision %s: %w: no load balancer with advancedConfiguration.testListenerRule", serviceRevisionARN, ErrNoTestListener)
	}

	var t TestListener
	listenerARN, isRule, err := listenerOf(ref)
	if err != nil {
		return TestListener{}, err
	}
	t.ListenerARN = listenerARN
	if isRule {
		t.RuleARN = ref
		rule, err := Rule(ctx, f.elb, ref)
		if err != nil {
			return TestListener{}, fmt.Errorf("describe test listener rule: %w", err)
		}
		var r routing
		t.Headers, t.Notes, r = conditions(rule.Conditions)
		t.PathPatterns, t.Methods, t.Unsatisfiable = r.paths, r.methods, r.unsatisfiable
	}

	l, err := Listener(ctx, f.elb, listenerARN)
	if err != nil {
		return TestListener{}, fmt.Errorf("describe test listener: %w", err)
	}
	t.LoadBalancerARN = aws.ToString(l.LoadBalancerArn)
	scheme, defaultPort, err := schemeOf(l.Protocol)
	if err != nil {
		return TestListener{}, fmt.Errorf("test listener %s: %w", listenerARN, err)
	}

	lb, err := LoadBalancer(ctx, f.elb, t.LoadBalancerARN)
	if err != nil {
		return TestListener{}, fmt.Errorf("describe load balancer: %w", err)
	}
	if aws.ToString(lb.DNSName) == "" {
		return TestListener{}, fmt.Errorf("describe load balancer %s: %w: no DNS name", t.LoadBalancerARN, ErrNotFound)
	}
	t.Internal = lb.Scheme == elbtypes.LoadBalancerSchemeEnumInternal
	host := strings.TrimSuffix(aws.ToString(lb.DNSName), ".")
	t.BaseURL = scheme + "://" + host
	if port := aws.ToInt32(l.Port); port != 0 && port != defaultPort {
		t.BaseURL += ":" + strconv.Itoa(int(port))
	}
	if scheme == "https" {
		t.Notes = append(t.Notes, "the test listener uses TLS: its certificate must cover "+host+", or set baseUrl to a name it covers")
	}
	return t, nil
}

// listenerOf returns the listener ARN for a test listener reference: an ALB
// listener rule ARN (…:listener-rule/app/NAME/LB-ID/LISTENER-ID/RULE-ID) or
// a listener ARN (…:listener/net/NAME/LB-ID/LISTENER-ID). DescribeRules does
// not say which listener a rule belongs to; its ARN does.
func listenerOf(ref string) (listener string, isRule bool, err error) {
	parts := strings.SplitN(ref, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "elasticloadbalancing" {
		return "", false, fmt.Errorf("test listener rule %q is not an Elastic Load Balancing ARN", ref)
	}
	res := strings.Split(parts[5], "/")
	switch {
	case res[0] == "listener-rule" && len(res) == 6:
		res[0] = "listener"
		parts[5] = strings.Join(res[:5], "/")
		return strings.Join(parts, ":"), true, nil
	case res[0] == "listener" && len(res) == 5:
		return ref, false, nil
	}
	return "", false, fmt.Errorf("test listener rule %q is neither a listener rule nor a listener ARN", ref)
}

// schemeOf maps a listener protocol to a URL scheme and its default port.
func schemeOf(p elbtypes.ProtocolEnum) (string, int32, error) {
	switch p {
	case elbtypes.ProtocolEnumHttp, elbtypes.ProtocolEnumTcp:
		return "http", 80, nil
	case elbtypes.ProtocolEnumHttps, elbtypes.ProtocolEnumTls:
		return "https", 443, nil
	}
	return "", 0, fmt.Errorf("protocol %q cannot carry HTTP checks", p)
}

// wildcards turns an ELB match pattern into a value it matches: "*" (zero
// or more characters) and "?" (exactly one) each become "x".
var wildcards = strings.NewReplacer("*", "x", "?", "x")

// conditions returns the headers that satisfy a rule's http-header and
// host-header conditions, and notes on the conditions headers cannot
// satisfy. Each condition's values are alternatives: the first is used.
func conditions(cs []elbtypes.RuleCondition) (map[string]string, []string, routing) {
	headers := map[string]string{}
	var notes []string
	var r routing
	for _, c := range cs {
		field := aws.ToString(c.Field)
		switch field {
		case "http-header":
			if c.HttpHeaderConfig == nil {
				continue
			}
			name := aws.ToString(c.HttpHeaderConfig.HttpHeaderName)
			if len(c.HttpHeaderConfig.Values) > 0 && name != "" {
				headers[name] = wildcards.Replace(c.HttpHeaderConfig.Values[0])
			} else if name != "" {
				notes = append(notes, fmt.Sprintf("the test listener rule matches header %s against a regular expression: set it in headers", name))
				r.unsatisfiable = append(r.unsatisfiable, "header "+name+" (regular expression)")
			}
		case "host-header":
			values := c.Values
			if c.HostHeaderConfig != nil && len(c.HostHeaderConfig.Values) > 0 {
				values = c.HostHeaderConfig.Values
			}
			if len(values) > 0 {
				headers["Host"] = wildcards.Replace(values[0])
			} else {
				notes = append(notes, "the test listener rule matches the host against a regular expression: set a Host header in headers")
				r.unsatisfiable = append(r.unsatisfiable, "host (regular expression)")
			}
		case "path-pattern":
			values := c.Values
			if c.PathPatternConfig != nil {
				values = slices.Concat(c.PathPatternConfig.Values, c.PathPatternConfig.RegexValues)
			}
			notes = append(notes, fmt.Sprintf("the test listener rule only routes paths matching %s", strings.Join(values, " or ")))
			if c.PathPatternConfig != nil && len(c.PathPatternConfig.RegexValues) > 0 {
				r.unsatisfiable = append(r.unsatisfiable, "path (regular expression)")
			} else {
				r.paths = append(r.paths, values...)
			}
		case "query-string":
			var pairs []string
			if c.QueryStringConfig != nil {
				for _, kv := range c.QueryStringConfig.Values {
					pairs = append(pairs, aws.ToString(kv.Key)+"="+aws.ToString(kv.Value))
				}
			}
			notes = append(notes, fmt.Sprintf("the test listener rule only routes requests with query %s: add it to each check's path", strings.Join(pairs, " or ")))
			r.unsatisfiable = append(r.unsatisfiable, "query "+strings.Join(pairs, " or "))
		case "http-request-method":
			var methods []string
			if c.HttpRequestMethodConfig != nil {
				methods = c.HttpRequestMethodConfig.Values
			}
			notes = append(notes, fmt.Sprintf("the test listener rule only routes methods %s", strings.Join(methods, ", ")))
			r.methods = append(r.methods, methods...)
		case "source-ip":
			var cidrs []string
			if c.SourceIpConfig != nil {
				cidrs = c.SourceIpConfig.Values
			}
			notes = append(notes, fmt.Sprintf("the test listener rule only routes requests from %s: the hook's address must be among them", strings.Join(cidrs, ", ")))
			r.unsatisfiable = append(r.unsatisfiable, "source address "+strings.Join(cidrs, ", "))
		default:
			notes = append(notes, fmt.Sprintf("the test listener rule has a %q condition", field))
			r.unsatisfiable = append(r.unsatisfiable, "condition "+field)
		}
	}
	if len(headers) == 0 {
		headers = nil
	}
	return headers, notes, r
}

// routing is what a test rule's conditions restrict beyond headers.
type routing struct {
	paths, methods, unsatisfiable []string
}
