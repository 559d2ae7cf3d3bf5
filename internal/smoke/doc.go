// Package smoke is the smoke-test gate: declarative HTTP checks against the
// green revision through the test listener, run by an ECS lifecycle hook
// (POST_TEST_TRAFFIC_SHIFT by default, when the test listener already routes
// to green and production still to blue). The hook answers SUCCEEDED when
// every critical check passes and FAILED, so that ECS rolls back before any
// user sees green, with a reason naming the failing checks.
//
// # Configuration
//
// The hook's hookDetails, over the defaults in GATEHOUSE_SMOKE_CONFIG (same
// format; each top-level key given in hookDetails replaces the default's):
//
//	{
//	  "baseUrl": "http://my-alb-123.us-east-1.elb.amazonaws.com:8080",
//	  "headers": {"x-amzn-ecs-bluegreen-test": "true"},
//	  "checks": [
//	    {"name": "health", "path": "/health", "expectStatus": [200], "bodyContains": "ok", "maxLatencyMs": 500},
//	    {"name": "login page", "method": "GET", "path": "/login", "expectStatus": [200, 302]},
//	    {"name": "api version", "path": "/api/version", "jsonPath": "$.version", "equals": "2.4.1", "critical": false}
//	  ],
//	  "retries": 3,
//	  "retryDelayMs": 500,
//	  "consecutiveSuccesses": 1,
//	  "timeoutMs": 5000
//	}
//
// Without baseUrl the hook discovers the test listener (see Discoverer).
// Unknown keys, wrong types, a path that is not a path and no checks at all
// are answered FAILED with a reason naming the field. The key StateKey is
// reserved for the hook's own state.
//
// # Runs over several calls
//
// Checks run concurrently (at most "concurrency" requests at once), each
// request bounded by timeoutMs and by the call's deadline. A check whose next
// retry does not fit into the call (green still warming up) is parked: the
// hook answers IN_PROGRESS with the run state in hookDetails under StateKey
// and a callBackDelay until the retry is due, and the next call resumes.
//
// # Reports
//
// Every call writes the run's Report to the state bucket at ReportKey, as
// JSON and as short text. LoadReport reads it: the approval hook uses it to
// wait for the smoke verdict (VerdictRunning until there is one) and to show
// it to approvers.
//
// Nothing from a response body or a header value reaches a reason, a report
// or a log line: only statuses, latencies and reasons built from the
// configuration.
package smoke
