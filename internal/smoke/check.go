package smoke

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/hook"
)

// maxResponseBody bounds what an attempt reads of a response: enough for any
// health or version document, and a hostile or broken server cannot exhaust
// the function's memory.
const maxResponseBody = 1 << 20

// attempt is the outcome of one request of a check. It never holds response
// bodies or header values: only the status, the latency and a reason built
// from the configuration.
type attempt struct {
	status  int
	latency time.Duration
	// problem says why the attempt failed; empty when it passed.
	problem string
}

// prepared is a check ready to run: its headers merged with the run's,
// its expressions compiled.
type prepared struct {
	Check
	url    string
	header http.Header
	host   string
	re     *regexp.Regexp
	path   Path
	want   any
}

// prepare compiles cfg's checks against the target. cfg has been validated.
func prepare(cfg Config, t Target) ([]prepared, error) {
	base := strings.TrimSuffix(t.BaseURL, "/")
	out := make([]prepared, len(cfg.Checks))
	for i, ch := range cfg.Checks {
		p := prepared{Check: ch, url: base + ch.Path, header: http.Header{}}
		// Discovered headers (the test listener rule's conditions) first,
		// then the run's, then the check's: configuration wins.
		for _, h := range []map[string]string{t.Headers, cfg.Headers, ch.Headers} {
			for k, v := range h {
				if http.CanonicalHeaderKey(k) == "Host" {
					p.host = v
					continue
				}
				p.header.Set(k, v)
			}
		}
		if p.header.Get("User-Agent") == "" {
			p.header.Set("User-Agent", userAgent)
		}
		var err error
		if ch.BodyRegex != "" {
			if p.re, err = regexp.Compile(ch.BodyRegex); err != nil {
				return nil, fmt.Errorf("checks[%d].bodyRegex: %w", i, err)
			}
		}
		if ch.JSONPath != "" {
			if p.path, err = ParsePath(ch.JSONPath); err != nil {
				return nil, fmt.Errorf("checks[%d].jsonPath: %w", i, err)
			}
		}
		if ch.Equals != nil {
			if p.want, err = decodeJSON(ch.Equals); err != nil {
				return nil, fmt.Errorf("checks[%d].equals: %w", i, err)
			}
		}
		out[i] = p
	}
	return out, nil
}

// userAgent identifies the hook's requests in the service's access logs.
const userAgent = "gatehouse-smoke/1"

// probe makes one request of c, bounded by timeout, and judges the response.
// A response is never followed unless the check asks for it: a redirect to a
// login page is a status to check, not a page to fetch.
func probe(ctx context.Context, client *http.Client, c *prepared, timeout time.Duration) attempt {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var body io.Reader
	if c.Body != "" {
		body = strings.NewReader(c.Body)
	}
	req, err := http.NewRequestWithContext(ctx, c.Method, c.url, body)
	if err != nil {
		return attempt{problem: "cannot build the request: " + clipError(err)}
	}
	req.Header = c.header.Clone()
	if c.host != "" {
		req.Host = c.host
	}
	// Latency is measured on the monotonic clock: it describes the server,
	// not the passing of time the run's schedule is based on.
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return attempt{latency: time.Since(start), problem: transportProblem(ctx, err, timeout)}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBody+1))
	a := attempt{status: resp.StatusCode, latency: time.Since(start)}
	if err != nil {
		a.problem = "status " + strconv.Itoa(resp.StatusCode) + ", then reading the body failed: " + transportProblem(ctx, err, timeout)
		return a
	}
	truncated := len(data) > maxResponseBody
	if truncated {
		data = data[:maxResponseBody]
	}
	a.problem = c.judge(resp.StatusCode, a.latency, data, truncated)
	return a
}

// judge returns why a response fails c, or "" if it passes. A wrong status
// says enough; otherwise every unmet expectation is listed.
func (c *prepared) judge(status int, latency time.Duration, body []byte, truncated bool) string {
	if !slices.Contains(c.ExpectStatus, status) {
		return fmt.Sprintf("status %d, want %s", status, statusList(c.ExpectStatus))
	}
	var problems []string
	if c.MaxLatency > 0 && latency > c.MaxLatency {
		problems = append(problems, fmt.Sprintf("took %s, want at most %s", roundMillis(latency), roundMillis(c.MaxLatency)))
	}
	note := ""
	if truncated {
		note = " (only the first 1 MiB was read)"
	}
	if c.BodyContains != "" && !bytes.Contains(body, []byte(c.BodyContains)) {
		problems = append(problems, fmt.Sprintf("body does not contain %q%s", hook.Clip(c.BodyContains, 40), note))
	}
	if c.re != nil && !c.re.Match(body) {
		problems = append(problems, "body does not match bodyRegex"+note)
	}
	if c.JSONPath != "" {
		if p := c.judgeJSON(body); p != "" {
			problems = append(problems, p+note)
		}
	}
	return strings.Join(problems, "; ")
}

func (c *prepared) judgeJSON(body []byte) string {
	doc, err := decodeJSON(body)
	if err != nil {
		return "body is not JSON"
	}
	got, err := c.path.Select(doc)
	if err != nil {
		return err.Error()
	}
	if c.Equals == nil {
		return ""
	}
	return compare(c.JSONPath, got, c.want)
}

// compare says how got differs from want, naming want (from the
// configuration) and only the type of got (from the response).
func compare(path string, got, want any) string {
	if kind(got) != kind(want) {
		return fmt.Sprintf("%s is %s, want %s", path, kind(got), describe(want))
	}
	equal := false
	switch w := want.(type) {
	case nil:
		equal = true
	case bool:
		equal = got.(bool) == w
	case string:
		equal = got.(string) == w
	case json.Number:
		equal = sameNumber(got.(json.Number), w)
	}
	if equal {
		return ""
	}
	return fmt.Sprintf("%s does not equal %s", path, describe(want))
}

// sameNumber compares two JSON numbers exactly: 1, 1.0 and 1e0 are equal.
func sameNumber(a, b json.Number) bool {
	if a == b {
		return true
	}
	x, okx := new(big.Rat).SetString(string(a))
	y, oky := new(big.Rat).SetString(string(b))
	return okx && oky && x.Cmp(y) == 0
}

func describe(v any) string {
	switch w := v.(type) {
	case nil:
		return "null"
	case bool:
		return strconv.FormatBool(w)
	case string:
		return "the string " + strconv.Quote(hook.Clip(w, 40))
	case json.Number:
		return "the number " + hook.Clip(string(w), 40)
	}
	return kind(v)
}

// decodeJSON decodes exactly one JSON value, keeping numbers exact.
func decodeJSON(data []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := d.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("more than one JSON value")
	}
	return v, nil
}

// transportProblem describes a failed request without its URL (a check's
// query could carry something private) and says plainly when it timed out.
func transportProblem(ctx context.Context, err error, timeout time.Duration) string {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return "no response within " + roundMillis(timeout).String()
	}
	// Fixed words only: an error's text can quote bytes of the response (a
	// malformed header line, a status line, a Location), which must reach
	// no log, reason or report.
	var ne net.Error
	var dnsErr *net.DNSError
	var certErr *tls.CertificateVerificationError
	var recErr tls.RecordHeaderError
	switch {
	case errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()):
		return "no response within " + roundMillis(timeout).String()
	case errors.Is(err, context.Canceled):
		return "cancelled"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return "connection reset or closed"
	case errors.As(err, &dnsErr):
		return "name not resolved: " + dnsErr.Name
	case errors.As(err, &certErr):
		return "TLS certificate not trusted for the host"
	case errors.As(err, &recErr):
		return "TLS handshake failed: not a TLS server"
	case strings.Contains(err.Error(), "redirect"):
		return "redirect could not be followed"
	case strings.Contains(err.Error(), "tls:"):
		return "TLS handshake failed"
	}
	return "malformed or failed response"
}

func clipError(err error) string {
	return strings.ToValidUTF8(hook.Clip(err.Error(), 200), "?")
}

func statusList(codes []int) string {
	if len(codes) == 1 {
		return strconv.Itoa(codes[0])
	}
	s := make([]string, len(codes))
	for i, c := range codes {
		s[i] = strconv.Itoa(c)
	}
	return "one of " + strings.Join(s, ", ")
}

// roundMillis rounds d for display: whole milliseconds.
func roundMillis(d time.Duration) time.Duration { return d.Round(time.Millisecond) }
