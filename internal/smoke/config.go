package smoke

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gatehouse-dev/gatehouse/internal/hook"
)

// StateKey is the hookDetails key under which the hook keeps its run state
// between IN_PROGRESS calls. ECS merges the hookDetails a hook returns into
// those of its next call, the same object the configuration is read from, so
// the configuration parser skips this one key.
const StateKey = "smokeState"

// Limits on the configuration. They keep a run's state small enough for
// hookDetails and its duration within what ECS allows a stage.
const (
	MaxChecks               = 50
	MaxRetries              = 20
	MaxConsecutiveSuccesses = 20
	MaxConcurrency          = 16
	MinTimeout              = 100 * time.Millisecond
	MaxTimeout              = 60 * time.Second
	MaxRetryDelay           = 5 * time.Minute
	MaxMaxRetryDelay        = 15 * time.Minute
	maxNameLen              = 64
	maxPathLen              = 2048
	maxBodyLen              = 16 << 10
	maxMatchLen             = 1 << 10
	maxHeaders              = 50
	maxHeaderValueLen       = 4 << 10
)

// Config is one smoke test run: where to send the checks, the checks, and
// the flake policy. It is read from the hook's hookDetails over the defaults
// in GATEHOUSE_SMOKE_CONFIG, both in the JSON format shown in the package
// documentation.
type Config struct {
	// BaseURL is the test listener's URL, such as
	// http://my-alb-123.us-east-1.elb.amazonaws.com:8080. Empty means
	// discover it from the service's load balancer. JSON: baseUrl.
	BaseURL string
	// Headers are sent with every check; a check's own headers win.
	// JSON: headers.
	Headers map[string]string
	// Checks are the requests to make. JSON: checks.
	Checks []Check
	// Retries is how many failed attempts a check may have before it fails.
	// JSON: retries.
	Retries int
	// RetryDelay is the delay after the first failed attempt; it doubles
	// after each further failure, up to MaxRetryDelay, with jitter. It is
	// also the pause between the passes consecutiveSuccesses asks for.
	// JSON: retryDelayMs.
	RetryDelay time.Duration
	// MaxRetryDelay caps the exponential backoff. JSON: maxRetryDelayMs.
	MaxRetryDelay time.Duration
	// ConsecutiveSuccesses is how many passes in a row make a check pass.
	// JSON: consecutiveSuccesses.
	ConsecutiveSuccesses int
	// Timeout bounds each request, from sending it to reading its body.
	// JSON: timeoutMs.
	Timeout time.Duration
	// Concurrency is how many requests are in flight at once.
	// JSON: concurrency.
	Concurrency int
	// Policy names the keys of the suite's configuration that services'
	// hookDetails may loosen (see ApplyService); the suite's alone, from
	// GATEHOUSE_POLICY, never from JSON.
	Policy hook.Loosen
}

// Check is one declarative HTTP check. An attempt passes when the response
// meets every expectation given.
type Check struct {
	// Name identifies the check in reasons and reports. Unique. JSON: name.
	Name string
	// Method is the HTTP method. JSON: method, default GET.
	Method string
	// Path is the request path and optional query, starting with "/",
	// appended to the base URL's path. JSON: path.
	Path string
	// Headers are added to the run's headers for this check. JSON: headers.
	Headers map[string]string
	// Body is sent as the request body. JSON: body.
	Body string
	// ExpectStatus lists the acceptable status codes. JSON: expectStatus,
	// default [200].
	ExpectStatus []int
	// BodyContains must occur in the response body. JSON: bodyContains.
	BodyContains string
	// BodyRegex must match the response body (Go RE2 syntax).
	// JSON: bodyRegex.
	BodyRegex string
	// JSONPath selects a value in a JSON response body, in the subset
	// described in ParsePath. Without Equals the value must exist.
	// JSON: jsonPath.
	JSONPath string
	// Equals, a JSON string, number, boolean or null, is what JSONPath
	// must select. Nil when not given. JSON: equals.
	Equals json.RawMessage
	// MaxLatency, if set, is the slowest acceptable response.
	// JSON: maxLatencyMs.
	MaxLatency time.Duration
	// Critical checks decide the verdict; a failed non-critical check is
	// reported and nothing else. JSON: critical, default true.
	Critical bool
	// FollowRedirects makes the check follow up to 10 redirects. By default
	// a redirect is a response like any other: its status is checked.
	// JSON: followRedirects, default false.
	FollowRedirects bool
}

// DefaultConfig returns the built-in defaults: no base URL (discover it), no
// checks, 3 retries from 500 ms doubling up to 30 s, one pass needed, 5 s per
// request, 4 requests at a time.
func DefaultConfig() Config {
	return Config{
		Retries:              3,
		RetryDelay:           500 * time.Millisecond,
		MaxRetryDelay:        30 * time.Second,
		ConsecutiveSuccesses: 1,
		Timeout:              5 * time.Second,
		Concurrency:          4,
	}
}

// ParseConfig parses one complete configuration document over the built-in
// defaults and validates it: what a hook without GATEHOUSE_SMOKE_CONFIG
// does with its hookDetails. Every error names the field at fault.
func ParseConfig(data []byte) (Config, error) {
	c, err := DefaultConfig().Apply(data, "hookDetails")
	if err != nil {
		return c, err
	}
	return c, c.Validate()
}

// Apply returns c with the keys of doc, a JSON object, applied over it: each
// top-level key given replaces the same setting of c entirely (a checks list
// replaces the list; headers replace the headers), and a key given as null
// restores the built-in default (so "baseUrl": null asks for discovery even if
// the defaults name a URL). StateKey is skipped; other unknown keys are
// refused. source names the document in errors, such as "hookDetails".
// Apply checks each value it reads but not the whole: see Validate.
func (c Config) Apply(doc json.RawMessage, source string) (Config, error) {
	out := c.clone()
	keys, fields, err := hook.Document(source, doc)
	if err != nil {
		return out, err
	}
	def := DefaultConfig()
	var d hook.Decoder
	for _, k := range keys {
		raw := bytes.TrimSpace(fields[k])
		name := source + "." + k
		if k == StateKey {
			continue
		}
		reset := hook.IsNull(raw)
		switch k {
		case "baseUrl":
			out.BaseURL = def.BaseURL
			if reset {
				break
			}
			if u, ok := d.Text(name, raw, "a URL such as http://my-alb.example.com:8080"); ok {
				out.BaseURL = u
				d.Add(name, checkBaseURL(u))
			}
		case "headers":
			out.Headers = nil
			if !reset {
				h, err := decodeHeaders(raw)
				out.Headers = h
				d.Add(name, err)
			}
		case "checks":
			out.Checks = nil
			if !reset {
				out.Checks = decodeChecks(&d, name, raw)
			}
		case "retries":
			out.Retries = integer(&d, name, raw, def.Retries, 0, MaxRetries)
		case "retryDelayMs":
			out.RetryDelay = millis(&d, name, raw, def.RetryDelay, 0, MaxRetryDelay)
		case "maxRetryDelayMs":
			out.MaxRetryDelay = millis(&d, name, raw, def.MaxRetryDelay, 0, MaxMaxRetryDelay)
		case "consecutiveSuccesses":
			out.ConsecutiveSuccesses = integer(&d, name, raw, def.ConsecutiveSuccesses, 1, MaxConsecutiveSuccesses)
		case "timeoutMs":
			out.Timeout = millis(&d, name, raw, def.Timeout, MinTimeout, MaxTimeout)
		case "concurrency":
			out.Concurrency = integer(&d, name, raw, def.Concurrency, 1, MaxConcurrency)
		default:
			d.Unknown(name)
		}
	}
	return out, d.Err()
}

// integer decodes a whole number from lo to hi; null means def.
func integer(d *hook.Decoder, path string, raw json.RawMessage, def, lo, hi int) int {
	if hook.IsNull(raw) {
		return def
	}
	n, _ := d.Integer(path, raw, lo, hi)
	return n
}

// millis decodes a whole number of milliseconds from lo to hi; null means
// def.
func millis(d *hook.Decoder, path string, raw json.RawMessage, def, lo, hi time.Duration) time.Duration {
	if hook.IsNull(raw) {
		return def
	}
	v, _ := d.Millis(path, raw, lo, hi)
	return v
}

// Validate reports, in one error, everything wrong with c as a whole: no
// checks, and any value out of range (for a Config built in code rather than
// parsed). Errors name fields by their JSON keys.
func (c Config) Validate() error {
	var errs []error
	add := func(key string, err error) {
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", key, err))
		}
	}
	if c.BaseURL != "" {
		add("baseUrl", checkBaseURL(c.BaseURL))
	}
	add("headers", checkHeaders(c.Headers))
	switch {
	case len(c.Checks) == 0:
		errs = append(errs, errors.New("checks: none configured: give at least one check"))
	case len(c.Checks) > MaxChecks:
		errs = append(errs, fmt.Errorf("checks: %d, at most %d", len(c.Checks), MaxChecks))
	}
	if len(c.Checks) > 0 && !slices.ContainsFunc(c.Checks, func(ch Check) bool { return ch.Critical }) {
		errs = append(errs, errors.New("checks: none is critical: a run whose failures cannot fail it proves nothing; make at least one check critical"))
	}
	names := map[string]bool{}
	for i, ch := range c.Checks {
		for _, e := range ch.problems() {
			errs = append(errs, fmt.Errorf("checks[%d].%w", i, e))
		}
		if names[ch.Name] {
			errs = append(errs, fmt.Errorf("checks[%d].name: %q is used twice", i, ch.Name))
		}
		names[ch.Name] = true
		if ch.MaxLatency > c.Timeout {
			errs = append(errs, fmt.Errorf("checks[%d].maxLatencyMs: %d is above timeoutMs %d: a slower response times out first",
				i, ch.MaxLatency.Milliseconds(), c.Timeout.Milliseconds()))
		}
	}
	add("retries", inRange(c.Retries, 0, MaxRetries))
	add("retryDelayMs", durationInRange(c.RetryDelay, 0, MaxRetryDelay))
	add("maxRetryDelayMs", durationInRange(c.MaxRetryDelay, 0, MaxMaxRetryDelay))
	if c.MaxRetryDelay < c.RetryDelay {
		errs = append(errs, fmt.Errorf("maxRetryDelayMs: %d is below retryDelayMs %d", c.MaxRetryDelay.Milliseconds(), c.RetryDelay.Milliseconds()))
	}
	add("consecutiveSuccesses", inRange(c.ConsecutiveSuccesses, 1, MaxConsecutiveSuccesses))
	add("timeoutMs", durationInRange(c.Timeout, MinTimeout, MaxTimeout))
	add("concurrency", inRange(c.Concurrency, 1, MaxConcurrency))
	return errors.Join(errs...)
}

// MarshalJSON encodes c in the configuration format, every setting explicit,
// so that ParseConfig of the result gives c back.
func (c Config) MarshalJSON() ([]byte, error) {
	type check struct {
		Name            string            `json:"name"`
		Method          string            `json:"method"`
		Path            string            `json:"path"`
		Headers         map[string]string `json:"headers,omitempty"`
		Body            string            `json:"body,omitempty"`
		ExpectStatus    []int             `json:"expectStatus"`
		BodyContains    string            `json:"bodyContains,omitempty"`
		BodyRegex       string            `json:"bodyRegex,omitempty"`
		JSONPath        string            `json:"jsonPath,omitempty"`
		Equals          json.RawMessage   `json:"equals,omitempty"`
		MaxLatencyMs    int64             `json:"maxLatencyMs,omitempty"`
		Critical        bool              `json:"critical"`
		FollowRedirects bool              `json:"followRedirects,omitempty"`
	}
	type config struct {
		BaseURL              string            `json:"baseUrl,omitempty"`
		Headers              map[string]string `json:"headers,omitempty"`
		Checks               []check           `json:"checks"`
		Retries              int               `json:"retries"`
		RetryDelayMs         int64             `json:"retryDelayMs"`
		MaxRetryDelayMs      int64             `json:"maxRetryDelayMs"`
		ConsecutiveSuccesses int               `json:"consecutiveSuccesses"`
		TimeoutMs            int64             `json:"timeoutMs"`
		Concurrency          int               `json:"concurrency"`
	}
	w := config{
		BaseURL:              c.BaseURL,
		Headers:              c.Headers,
		Checks:               make([]check, 0, len(c.Checks)),
		Retries:              c.Retries,
		RetryDelayMs:         c.RetryDelay.Milliseconds(),
		MaxRetryDelayMs:      c.MaxRetryDelay.Milliseconds(),
		ConsecutiveSuccesses: c.ConsecutiveSuccesses,
		TimeoutMs:            c.Timeout.Milliseconds(),
		Concurrency:          c.Concurrency,
	}
	for _, ch := range c.Checks {
		w.Checks = append(w.Checks, check{
			Name: ch.Name, Method: ch.Method, Path: ch.Path, Headers: ch.Headers, Body: ch.Body,
			ExpectStatus: ch.ExpectStatus, BodyContains: ch.BodyContains, BodyRegex: ch.BodyRegex,
			JSONPath: ch.JSONPath, Equals: ch.Equals, MaxLatencyMs: ch.MaxLatency.Milliseconds(),
			Critical: ch.Critical, FollowRedirects: ch.FollowRedirects,
		})
	}
	return json.Marshal(w)
}

func (c Config) clone() Config {
	out := c
	out.Headers = cloneHeaders(c.Headers)
	out.Checks = make([]Check, len(c.Checks))
	for i, ch := range c.Checks {
		ch.Headers = cloneHeaders(ch.Headers)
		ch.ExpectStatus = slices.Clone(ch.ExpectStatus)
		ch.Equals = slices.Clone(ch.Equals)
		out.Checks[i] = ch
	}
	if c.Checks == nil {
		out.Checks = nil
	}
	return out
}

func cloneHeaders(h map[string]string) map[string]string {
	if len(h) == 0 {
		return nil
	}
	out := make(map[string]string, len(h))
	for k, v := range h {
		out[k] = v
	}
	return out
}

// decodeChecks reads the checks list at path, such as hookDetails.checks.
// Problems name each check's field, such as hookDetails.checks[1].path.
func decodeChecks(d *hook.Decoder, path string, raw json.RawMessage) []Check {
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil || hook.IsNull(raw) {
		d.Want(path, "a JSON list of checks", raw)
		return nil
	}
	if len(items) > MaxChecks {
		d.Fail(path, "%d checks, at most %d", len(items), MaxChecks)
		return nil
	}
	checks := make([]Check, 0, len(items))
	names := map[string]int{}
	for i, item := range items {
		at := fmt.Sprintf("%s[%d]", path, i)
		ch := decodeCheck(d, at, item)
		if ch.Name != "" {
			if j, dup := names[ch.Name]; dup {
				d.Fail(at+".name", "%q is already the name of checks[%d]", ch.Name, j)
			}
			names[ch.Name] = i
		}
		checks = append(checks, ch)
	}
	return checks
}

// decodeCheck reads the check at path, recording every problem with it.
func decodeCheck(d *hook.Decoder, path string, raw json.RawMessage) Check {
	ch := Check{Method: "GET", ExpectStatus: []int{200}, Critical: true}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil || fields == nil {
		d.Want(path, "a check object", raw)
		return ch
	}
	before := d.Problems()
	for _, k := range slices.Sorted(maps.Keys(fields)) {
		raw := bytes.TrimSpace(fields[k])
		at := path + "." + k
		switch k {
		case "name":
			ch.Name, _ = d.String(at, raw)
		case "method":
			ch.Method, _ = d.Text(at, raw, `an HTTP method such as "GET"`)
		case "path":
			ch.Path, _ = d.Text(at, raw, `a path such as "/health"`)
		case "headers":
			h, err := decodeHeaders(raw)
			ch.Headers = h
			d.Add(at, err)
		case "body":
			ch.Body, _ = d.String(at, raw)
		case "expectStatus":
			if json.Unmarshal(raw, &ch.ExpectStatus) != nil || raw[0] != '[' {
				d.Want(at, "a list of HTTP status codes such as [200, 302]", raw)
			}
		case "bodyContains":
			ch.BodyContains, _ = d.String(at, raw)
		case "bodyRegex":
			ch.BodyRegex, _ = d.Text(at, raw, "a regular expression string")
		case "jsonPath":
			ch.JSONPath, _ = d.Text(at, raw, `a path such as "$.version"`)
		case "equals":
			v, err := decodeScalar(raw)
			ch.Equals = v
			d.Add(at, err)
		case "maxLatencyMs":
			ch.MaxLatency, _ = d.Millis(at, raw, time.Millisecond, MaxTimeout)
		case "critical":
			ch.Critical, _ = d.Bool(at, raw)
		case "followRedirects":
			ch.FollowRedirects, _ = d.Bool(at, raw)
		default:
			d.Unknown(at)
		}
	}
	if d.Problems() > before {
		return ch
	}
	for _, req := range []string{"name", "path"} {
		if _, ok := fields[req]; !ok {
			d.Fail(path+"."+req, "missing")
		}
	}
	if d.Problems() > before {
		return ch
	}
	for _, e := range ch.problems() {
		d.Add(path+"."+e.key, e.err)
	}
	return ch
}

// fieldError is a problem with one field of a check, printed as "key: err" so
// that callers can prefix it with the check's position.
type fieldError struct {
	key string
	err error
}

func (e fieldError) Error() string { return e.key + ": " + e.err.Error() }

func (e fieldError) Unwrap() error { return e.err }

// problems checks the values of ch, each error naming its key.
func (ch Check) problems() []fieldError {
	var errs []fieldError
	add := func(key string, err error) {
		if err != nil {
			errs = append(errs, fieldError{key, err})
		}
	}
	switch {
	case ch.Name == "":
		add("name", errors.New("empty"))
	case len(ch.Name) > maxNameLen:
		add("name", fmt.Errorf("longer than %d bytes", maxNameLen))
	case !printable(ch.Name):
		add("name", errors.New("contains control or invalid characters"))
	}
	if !validMethod(ch.Method) {
		add("method", fmt.Errorf("%q, want one of %s", hook.Clip(ch.Method, 40), strings.Join(methods, ", ")))
	}
	add("path", checkPath(ch.Path))
	add("headers", checkHeaders(ch.Headers))
	if len(ch.Body) > maxBodyLen {
		add("body", fmt.Errorf("longer than %d bytes", maxBodyLen))
	}
	if len(ch.ExpectStatus) == 0 {
		add("expectStatus", errors.New("empty: list at least one status code"))
	}
	for _, s := range ch.ExpectStatus {
		if s < 100 || s > 599 {
			add("expectStatus", fmt.Errorf("%d is not an HTTP status code", s))
			break
		}
	}
	if len(ch.BodyContains) > maxMatchLen {
		add("bodyContains", fmt.Errorf("longer than %d bytes", maxMatchLen))
	}
	if ch.BodyRegex != "" {
		if len(ch.BodyRegex) > maxMatchLen {
			add("bodyRegex", fmt.Errorf("longer than %d bytes", maxMatchLen))
		} else if _, err := regexp.Compile(ch.BodyRegex); err != nil {
			add("bodyRegex", fmt.Errorf("not a regular expression: %v", err))
		}
	}
	if ch.Method == "HEAD" && (ch.BodyContains != "" || ch.BodyRegex != "" || ch.JSONPath != "") {
		add("method", errors.New("HEAD responses have no body to match bodyContains, bodyRegex or jsonPath"))
	}
	if ch.JSONPath != "" {
		if _, err := ParsePath(ch.JSONPath); err != nil {
			add("jsonPath", err)
		}
	}
	if ch.Equals != nil {
		if ch.JSONPath == "" {
			add("equals", errors.New("needs jsonPath to say what to compare"))
		}
		if _, err := decodeScalar(ch.Equals); err != nil {
			add("equals", err)
		}
	}
	if ch.MaxLatency < 0 || ch.MaxLatency > MaxTimeout {
		add("maxLatencyMs", fmt.Errorf("%d, want between 1 and %d", ch.MaxLatency.Milliseconds(), MaxTimeout.Milliseconds()))
	}
	return errs
}

var methods = []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}

func validMethod(m string) bool { return slices.Contains(methods, m) }

// checkBaseURL accepts an absolute http or https URL with a host and without
// credentials, query or fragment.
func checkBaseURL(s string) error {
	u, err := url.Parse(s)
	switch {
	case err != nil || s != strings.TrimSpace(s):
		return fmt.Errorf("%q is not a URL", hook.Clip(s, 40))
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("%q: want an http:// or https:// URL", hook.Clip(s, 40))
	case u.Host == "" || u.Hostname() == "":
		return fmt.Errorf("%q has no host", hook.Clip(s, 40))
	case u.User != nil:
		return fmt.Errorf("%q carries credentials: send them in headers instead", redactUser(u))
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return fmt.Errorf("%q: want no query or fragment in the base URL; put them in each check's path", hook.Clip(s, 40))
	}
	return nil
}

func redactUser(u *url.URL) string {
	v := *u
	v.User = url.User("REDACTED")
	return v.String()
}

// checkPath accepts an absolute path with an optional query: "/health",
// "/api/v1/items?limit=1". A path is joined to the base URL, so anything
// that could change the host ("//evil.example", a scheme) is refused.
func checkPath(p string) error {
	switch {
	case p == "":
		return errors.New("empty: want a path such as /health")
	case len(p) > maxPathLen:
		return fmt.Errorf("longer than %d bytes", maxPathLen)
	case p[0] != '/':
		return fmt.Errorf("%q is not a path: want one starting with /", hook.Clip(p, 40))
	case strings.HasPrefix(p, "//"):
		return fmt.Errorf("%q is not a path: it starts with //", hook.Clip(p, 40))
	}
	for _, r := range p {
		if r <= ' ' || r == 0x7f || r == '#' || r == '\\' || r >= utf8.RuneSelf {
			return fmt.Errorf("%q is not a path: it contains %q (escape it)", hook.Clip(p, 40), r)
		}
	}
	u, err := url.ParseRequestURI(p)
	if err != nil || u.Scheme != "" || u.Host != "" {
		return fmt.Errorf("%q is not a path", hook.Clip(p, 40))
	}
	return nil
}

// checkHeaders accepts header names that are HTTP tokens and values without
// control characters other than tab.
func checkHeaders(h map[string]string) error {
	if len(h) > maxHeaders {
		return fmt.Errorf("%d headers, at most %d", len(h), maxHeaders)
	}
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if !token(k) {
			return fmt.Errorf("%q is not a header name", hook.Clip(k, 40))
		}
		v := h[k]
		if len(v) > maxHeaderValueLen {
			return fmt.Errorf("%s: value longer than %d bytes", k, maxHeaderValueLen)
		}
		for _, r := range v {
			if (r < ' ' && r != '\t') || r == 0x7f {
				return fmt.Errorf("%s: value contains a control character", k)
			}
		}
	}
	return nil
}

// token reports whether s is an HTTP token (RFC 9110, section 5.6.2).
func token(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

func decodeHeaders(raw json.RawMessage) (map[string]string, error) {
	var h map[string]string
	if len(raw) == 0 || raw[0] != '{' || json.Unmarshal(raw, &h) != nil {
		return nil, fmt.Errorf(`want an object of header names to string values such as {"x-test": "true"}, got %s`, hook.Quote(raw))
	}
	if err := checkHeaders(h); err != nil {
		return nil, err
	}
	return cloneHeaders(h), nil
}

// decodeScalar accepts a JSON string, number, boolean or null and returns it
// compacted.
func decodeScalar(raw json.RawMessage) (json.RawMessage, error) {
	raw = bytes.TrimSpace(raw)
	var v any
	if len(raw) == 0 || json.Unmarshal(raw, &v) != nil {
		return nil, fmt.Errorf("want a JSON string, number, boolean or null, got %s", hook.Quote(raw))
	}
	switch v.(type) {
	case map[string]any, []any:
		return nil, fmt.Errorf("want a JSON string, number, boolean or null, got %s", hook.Quote(raw))
	}
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return nil, fmt.Errorf("want a JSON value, got %s", hook.Quote(raw))
	}
	return b.Bytes(), nil
}

func inRange(n, lo, hi int) error {
	if n < lo || n > hi {
		return fmt.Errorf("%d, want between %d and %d", n, lo, hi)
	}
	return nil
}

func durationInRange(d, lo, hi time.Duration) error {
	if d < lo || d > hi || d%time.Millisecond != 0 {
		return fmt.Errorf("%d, want whole milliseconds between %d and %d", d.Milliseconds(), lo.Milliseconds(), hi.Milliseconds())
	}
	return nil
}
