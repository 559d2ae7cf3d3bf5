package approval

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var t0 = time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)

func newTestRequest(approvers []string, required int) *Request {
	return &Request{
		SchemaVersion:     SchemaVersion,
		ID:                "req-1",
		DeploymentARN:     "arn:aws:ecs:us-west-2:123456789012:service-deployment/prod-cluster/orders/EZe5RNVLH6PPzHXINuP28",
		Stage:             "POST_TEST_TRAFFIC_SHIFT",
		Service:           "orders",
		Cluster:           "prod-cluster",
		Approvers:         approvers,
		RequiredApprovals: required,
		OnExpiry:          Reject,
		CreatedAt:         t0,
		ExpiresAt:         t0.Add(4 * time.Hour),
	}
}

func TestEvaluateAndCast(t *testing.T) {
	type step struct {
		who      string
		decision Decision
		via      string
		at       time.Duration // after t0
		wantErr  error
	}
	ab := []string{"alice@example.com", "bob@example.com", "carol@example.com"}
	tests := []struct {
		name      string
		approvers []string
		required  int
		steps     []step
		at        time.Duration
		want      Outcome
	}{
		{name: "no votes yet", approvers: ab, required: 1, at: time.Hour, want: Pending},
		{name: "one approval of one", approvers: ab, required: 1,
			steps: []step{{who: "alice@example.com", decision: Approve}}, at: time.Hour, want: Approved},
		{name: "one approval of two", approvers: ab, required: 2,
			steps: []step{{who: "alice@example.com", decision: Approve}}, at: time.Hour, want: Pending},
		{name: "quorum of two", approvers: ab, required: 2,
			steps: []step{{who: "alice@example.com", decision: Approve}, {who: "bob@example.com", decision: Approve}}, at: time.Hour, want: Approved},
		{name: "same approver twice counts once", approvers: ab, required: 2,
			steps: []step{{who: "alice@example.com", decision: Approve}, {who: "ALICE@example.com", decision: Approve, wantErr: ErrAlreadyVoted}}, at: time.Hour, want: Pending},
		{name: "reject is a veto", approvers: ab, required: 2,
			steps: []step{{who: "alice@example.com", decision: Approve}, {who: "bob@example.com", decision: Reject}}, at: time.Hour, want: Rejected},
		{name: "no vote after a veto", approvers: ab, required: 2,
			steps: []step{{who: "bob@example.com", decision: Reject}, {who: "alice@example.com", decision: Approve, wantErr: ErrClosed}}, at: time.Hour, want: Rejected},
		{name: "no vote after approval", approvers: ab, required: 1,
			steps: []step{{who: "alice@example.com", decision: Approve}, {who: "bob@example.com", decision: Reject, wantErr: ErrClosed}}, at: time.Hour, want: Approved},
		{name: "stranger refused", approvers: ab, required: 1,
			steps: []step{{who: "mallory@example.com", decision: Approve, wantErr: ErrNotApprover}}, at: time.Hour, want: Pending},
		{name: "expiry rejects", approvers: ab, required: 1, at: 4 * time.Hour, want: Expired},
		{name: "vote after expiry refused", approvers: ab, required: 1,
			steps: []step{{who: "alice@example.com", decision: Approve, at: 4 * time.Hour, wantErr: ErrClosed}}, at: 5 * time.Hour, want: Expired},
		{name: "vote just before expiry counts", approvers: ab, required: 1,
			steps: []step{{who: "alice@example.com", decision: Approve, at: 4*time.Hour - time.Second}}, at: 5 * time.Hour, want: Approved},
		{name: "shared link", required: 1,
			steps: []step{{who: "Dana (on call)", decision: Approve, via: "shared-link"}}, at: time.Hour, want: Approved},
		{name: "operator not on the list cannot approve", approvers: ab, required: 1,
			steps: []step{{who: "arn:aws:iam::123456789012:user/ops", decision: Approve, via: "cli", wantErr: ErrNotApprover}}, at: time.Hour, want: Pending},
		{name: "operator not on the list can veto", approvers: ab, required: 1,
			steps: []step{{who: "arn:aws:iam::123456789012:user/ops", decision: Reject, via: "cli"}}, at: time.Hour, want: Rejected},
		{name: "approver from the CLI", approvers: ab, required: 2,
			steps: []step{{who: "alice@example.com", decision: Approve}, {who: "alice@example.com", decision: Approve, via: "cli", wantErr: ErrAlreadyVoted}}, at: time.Hour, want: Pending},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newTestRequest(tt.approvers, tt.required)
			for _, s := range tt.steps {
				via := s.via
				if via == "" {
					via = "link"
				}
				err := r.Cast(Vote{Approver: s.who, Decision: s.decision, Via: via}, t0.Add(s.at))
				if !errors.Is(err, s.wantErr) {
					t.Fatalf("Cast(%s %s) = %v, want %v", s.who, s.decision, err, s.wantErr)
				}
			}
			if got := r.Evaluate(t0.Add(tt.at)); got != tt.want {
				t.Errorf("Evaluate() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestCastRecordsAudit(t *testing.T) {
	r := newTestRequest([]string{"alice@example.com"}, 1)
	v := Vote{Approver: "alice@example.com", Decision: Reject, Comment: "error rate up", Via: "link", SourceIP: "203.0.113.9", UserAgent: "Mozilla/5.0"}
	if err := r.Cast(v, t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	v.At = t0.Add(time.Minute)
	if diff := cmp.Diff([]Vote{v}, r.Votes); diff != "" {
		t.Errorf("votes (-want +got):\n%s", diff)
	}
	if r.Outcome != Rejected || r.DecidedAt == nil || !r.DecidedAt.Equal(t0.Add(time.Minute)) {
		t.Errorf("outcome %q decided %v, want rejected at t0+1m", r.Outcome, r.DecidedAt)
	}
	want := []Event{
		{At: t0.Add(time.Minute), Kind: "vote", Actor: "alice@example.com", Detail: "reject via link: error rate up"},
		{At: t0.Add(time.Minute), Kind: "decided", Actor: "gatehouse", Detail: "rejected by alice@example.com: error rate up"},
	}
	if diff := cmp.Diff(want, r.History); diff != "" {
		t.Errorf("history (-want +got):\n%s", diff)
	}
}

func TestCastRefusesBadVotes(t *testing.T) {
	r := newTestRequest([]string{"alice@example.com"}, 1)
	for _, v := range []Vote{
		{Approver: "  ", Decision: Approve, Via: "link"},
		{Approver: "alice@example.com", Decision: "maybe", Via: "link"},
		{Approver: "alice@example.com", Decision: Approve, Via: "link", Comment: strings.Repeat("x", MaxCommentLen+1)},
	} {
		if err := r.Cast(v, t0); err == nil {
			t.Errorf("Cast(%+v) = nil, want an error", v)
		}
	}
	if len(r.Votes) != 0 || len(r.History) != 0 {
		t.Errorf("refused votes changed the request: %+v", r)
	}
}

func TestSummary(t *testing.T) {
	r := newTestRequest(nil, 1)
	r.Notices = []Notice{{Kind: "review"}}
	if got, want := r.Summary(Expired), "no decision within 4h, rejected by default"; got != want {
		t.Errorf("Summary(Expired) = %q, want %q", got, want)
	}
	r.OnExpiry = Approve
	if got, want := r.Summary(Expired), "no decision within 4h, and expiry approves only when every approver is reachable: whether every approver is reachable was never checked; rejected, not approved by default"; got != want {
		t.Errorf("Summary(Expired) unchecked = %q, want %q", got, want)
	}
	r.Reach = &Reach{CheckedAt: t0}
	if got, want := r.Summary(Expired), "no decision within 4h, approved by default (onExpiry: approve)"; got != want {
		t.Errorf("Summary(Expired) = %q, want %q", got, want)
	}
}

func TestDecodeRefuses(t *testing.T) {
	for _, body := range []string{
		`{"schemaVersion":1,"id":"x","deploymentArn":"d","requiredApprovals":1,"onExpiry":"reject","expiresAt":"2026-01-01T00:00:00Z","outcome":"approved-ish"}`,
		`{"schemaVersion":1,"id":"x","deploymentArn":"d","requiredApprovals":1,"onExpiry":"maybe","expiresAt":"2026-01-01T00:00:00Z"}`,
		`{"schemaVersion":1,"id":"x","deploymentArn":"d","requiredApprovals":1,"onExpiry":"reject","expiresAt":"2026-01-01T00:00:00Z","votes":[{"approver":"a","decision":"ok"}]}`,
		`not json`,
		`{"schemaVersion":2,"id":"x","deploymentArn":"d","requiredApprovals":1,"expiresAt":"2026-01-01T00:00:00Z"}`,
		`{"schemaVersion":1,"deploymentArn":"d","requiredApprovals":1,"expiresAt":"2026-01-01T00:00:00Z"}`,
		`{"schemaVersion":1,"id":"x","deploymentArn":"d","requiredApprovals":0,"expiresAt":"2026-01-01T00:00:00Z"}`,
	} {
		if _, err := Decode([]byte(body)); err == nil {
			t.Errorf("Decode(%s) = nil error, want one", body)
		}
	}
}

func TestCastKeepsTextOnOneLine(t *testing.T) {
	r := newTestRequest([]string{"alice@example.com"}, 1)
	if err := r.Cast(Vote{Approver: "alice@example.com", Decision: Reject, Comment: "no\nApprovals: 1 of 1\x1b[2J", Via: "link"}, t0); err != nil {
		t.Fatal(err)
	}
	if c := r.Votes[0].Comment; strings.ContainsAny(c, "\n\x1b") {
		t.Errorf("comment = %q, want control characters gone", c)
	}
}
