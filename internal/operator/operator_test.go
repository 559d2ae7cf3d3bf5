package operator

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go/middleware"

	"github.com/gatehouse-dev/gatehouse/internal/approval"
	"github.com/gatehouse-dev/gatehouse/internal/awstest"
	"github.com/gatehouse-dev/gatehouse/internal/bake"
	"github.com/gatehouse-dev/gatehouse/internal/hook"
	"github.com/gatehouse-dev/gatehouse/internal/layout"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

const depARN = "arn:aws:ecs:us-west-2:123456789012:service-deployment/prod-cluster/orders/EZe5RNVLH6PPzHXINuP28"

// stubSTS is a real STS client answered at the SDK's Initialize step.
func stubSTS(arn string, err error) *sts.Client {
	return sts.New(sts.Options{Region: "us-east-1", Credentials: aws.AnonymousCredentials{},
		APIOptions: []func(*middleware.Stack) error{awstest.Answer(func(any) (any, error) {
			if err != nil {
				return nil, err
			}
			return &sts.GetCallerIdentityOutput{Arn: aws.String(arn)}, nil
		})}})
}

type nopNotifier struct{}

func (nopNotifier) Publish(context.Context, approval.Message) (string, error) { return "id", nil }

type nopLinker struct{}

func (nopLinker) Link(context.Context, *approval.Request, string) (string, error) {
	return "https://x/review?token=t", nil
}

// open creates a pending request the way the hook does, against a real
// S3-compatible server.
func open(t *testing.T, st *store.S3, id string, required int) {
	t.Helper()
	d, err := hook.ParseDeploymentARN(strings.Replace(depARN, "EZe5RNVLH6PPzHXINuP28", id, 1))
	if err != nil {
		t.Fatal(err)
	}
	g := &approval.Gate{Store: st, Notifier: nopNotifier{}, Linker: nopLinker{}, Now: time.Now, Log: slog.New(slog.DiscardHandler)}
	s := approval.DefaultSettings()
	s.Approvers, s.RequiredApprovals = []string{"alice@example.com", "bob@example.com"}, required
	if _, err := g.Poll(context.Background(), approval.Poll{Deployment: d, Stage: hook.StagePostTestTrafficShift, ServiceARN: d.ServiceARN(), Settings: s}); err != nil {
		t.Fatal(err)
	}
}

func TestOperator(t *testing.T) {
	srv := awstest.NewS3(t)
	st := store.New(srv.Client(), srv.Bucket)
	open(t, st, "dep1", 2)
	open(t, st, "dep2", 1)
	var out bytes.Buffer
	ops := stubSTS("arn:aws:sts::123456789012:assumed-role/ops/jane", nil)
	alice := stubSTS("arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_Deployers_0123/alice@example.com", nil)
	op := &Operator{Store: st, Identity: ops, Now: time.Now, Out: &out}
	ctx := context.Background()
	arn1 := strings.Replace(depARN, "EZe5RNVLH6PPzHXINuP28", "dep1", 1)
	arn2 := strings.Replace(depARN, "EZe5RNVLH6PPzHXINuP28", "dep2", 1)

	if err := op.List(ctx, false); err != nil {
		t.Fatal(err)
	}
	if s := out.String(); strings.Count(s, "pending") != 2 || !strings.Contains(s, arn1) || !strings.Contains(s, "0 of 2") {
		t.Errorf("list:\n%s", s)
	}

	out.Reset()
	// An operator who is not an approver cannot approve, but may reject.
	if err := op.Decide(ctx, arn1, Selector{}, approval.Approve, "", false); err == nil || !strings.Contains(err.Error(), "arn:aws:sts::123456789012:assumed-role/ops/") || !strings.Contains(err.Error(), "is not one of this request's approvers") {
		t.Errorf("Decide(approve) by a non-approver = %v, want a refusal", err)
	}
	if err := op.Decide(ctx, arn2, Selector{}, approval.Reject, "not today", false); err != nil {
		t.Fatalf("Decide(reject) = %v", err)
	}
	if s := out.String(); !strings.Contains(s, "rejected by arn:aws:sts::123456789012:assumed-role/ops: not today") {
		t.Errorf("reject output:\n%s", s)
	}
	if err := op.Decide(ctx, arn2, Selector{Stage: "POST_TEST_TRAFFIC_SHIFT"}, approval.Approve, "", false); err == nil || !strings.Contains(err.Error(), "This approval request is closed (rejected by") {
		t.Errorf("Decide on a decided request = %v, want 'closed'", err)
	}

	// Alice, signed in through IAM Identity Center, approves as herself:
	// the same approver as her review link, counted once.
	out.Reset()
	op.Identity = alice
	if err := op.Decide(ctx, arn1, Selector{}, approval.Approve, "", false); err != nil {
		t.Fatal(err)
	}
	// The same vote again is no error: it was recorded.
	out.Reset()
	if err := op.Decide(ctx, arn1, Selector{}, approval.Approve, "", false); err != nil || !strings.Contains(out.String(), "Your approve was already recorded at") {
		t.Errorf("second vote = %v, %q; want no error, and that it was already recorded", err, out.String())
	}
	if err := op.Decide(ctx, arn1, Selector{}, approval.Reject, "", false); !errors.Is(err, approval.ErrAlreadyVoted) || !strings.Contains(err.Error(), "You already voted approve at") {
		t.Errorf("a changed vote = %v, want refused", err)
	}
	out.Reset()
	if err := op.Status(ctx, arn1, Selector{}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"waiting for approval: 1 of 2", "approve  alice@example.com via cli", "alice@example.com: approve at", "bob@example.com: waiting", "created", "vote"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("status lacks %q:\n%s", want, out.String())
		}
	}

	out.Reset()
	if err := op.List(ctx, false); err != nil {
		t.Fatal(err)
	}
	if s := out.String(); strings.Contains(s, arn2) || !strings.Contains(s, arn1) {
		t.Errorf("list of pending shows the decided request or hides the pending one:\n%s", s)
	}
	out.Reset()
	if err := op.List(ctx, true); err != nil {
		t.Fatal(err)
	}
	if s := out.String(); !strings.Contains(s, "rejected") {
		t.Errorf("list --all lacks the rejected request:\n%s", s)
	}
}

func TestOperatorErrors(t *testing.T) {
	srv := awstest.NewS3(t)
	st := store.New(srv.Client(), srv.Bucket)
	var out bytes.Buffer
	ctx := context.Background()
	op := &Operator{Store: st, Identity: stubSTS("arn:aws:iam::1:user/x", nil), Now: time.Now, Out: &out}
	if err := op.Status(ctx, depARN, Selector{}); !errors.Is(err, ErrNoRequest) {
		t.Errorf("Status(unknown) = %v, want ErrNoRequest", err)
	}
	if err := op.Decide(ctx, depARN, Selector{Stage: "POST_TEST_TRAFFIC_SHIFT"}, approval.Approve, "", false); !errors.Is(err, ErrNoRequest) {
		t.Errorf("Decide(unknown) = %v, want ErrNoRequest", err)
	}
	if err := op.Status(ctx, "arn:aws:ecs:us-west-2:1:service/c/s", Selector{}); err == nil {
		t.Error("Status(service ARN) = nil, want an error about the ARN")
	}
	if err := op.Status(ctx, depARN, Selector{Stage: "LATER"}); err == nil || !strings.Contains(err.Error(), "--stage") {
		t.Errorf("Status(bad stage) = %v", err)
	}
	op.Identity = stubSTS("", errors.New("ExpiredToken"))
	open(t, st, "EZe5RNVLH6PPzHXINuP28", 1)
	if err := op.Decide(ctx, depARN, Selector{}, approval.Approve, "", false); err == nil || !strings.Contains(err.Error(), "GetCallerIdentity") {
		t.Errorf("Decide without identity = %v", err)
	}
}

func TestOperatorGates(t *testing.T) {
	srv := awstest.NewS3(t)
	st := store.New(srv.Client(), srv.Bucket)
	d, _ := hook.ParseDeploymentARN(depARN)
	g := &approval.Gate{Store: st, Notifier: nopNotifier{}, Linker: nopLinker{}, Now: time.Now, Log: slog.New(slog.DiscardHandler)}
	for _, gate := range []string{"security", "product"} {
		s := approval.DefaultSettings()
		s.Approvers, s.Gate = []string{gate + "@example.com"}, gate
		if _, err := g.Poll(context.Background(), approval.Poll{Deployment: d, Stage: hook.StagePostTestTrafficShift, ServiceARN: d.ServiceARN(), Settings: s}); err != nil {
			t.Fatal(err)
		}
	}
	var out bytes.Buffer
	op := &Operator{Store: st, Identity: stubSTS("arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_Deployers_0123/product@example.com", nil), Now: time.Now, Out: &out}
	ctx := context.Background()
	if err := op.Status(ctx, depARN, Selector{}); !errors.Is(err, ErrAmbiguous) {
		t.Errorf("Status without a gate = %v, want ErrAmbiguous", err)
	}
	if err := op.Decide(ctx, depARN, Selector{Gate: "product"}, approval.Approve, "", false); err != nil {
		t.Fatalf("approve the product gate: %v", err)
	}
	out.Reset()
	if err := op.Status(ctx, depARN, Selector{Stage: "POST_TEST_TRAFFIC_SHIFT", Gate: "security"}); err != nil {
		t.Fatal(err)
	}
	if s := out.String(); !strings.Contains(s, "Gate:        security") || !strings.Contains(s, "0 of 1") {
		t.Errorf("security gate status:\n%s", s)
	}
}

func TestVoter(t *testing.T) {
	if got := voter("arn:aws:sts::1:assumed-role/Deployer/session-a"); got != "arn:aws:sts::1:assumed-role/Deployer" {
		t.Errorf("voter = %q", got)
	}
}

// TestOperatorOverride: a request created in a freeze takes from the CLI
// only an override with a reason; status says so and marks the override.
func TestOperatorOverride(t *testing.T) {
	srv := awstest.NewS3(t)
	st := store.New(srv.Client(), srv.Bucket)
	d, err := hook.ParseDeploymentARN(depARN)
	if err != nil {
		t.Fatal(err)
	}
	g := &approval.Gate{Store: st, Notifier: nopNotifier{}, Linker: nopLinker{}, Now: time.Now, Log: slog.New(slog.DiscardHandler)}
	s := approval.DefaultSettings()
	s.Approvers = []string{"alice@example.com"}
	s.Freezes = []approval.Freeze{{Start: time.Now().Add(-time.Hour), End: time.Now().Add(time.Hour), Reason: "holidays"}}
	if _, err := g.Poll(context.Background(), approval.Poll{Deployment: d, Stage: hook.StagePostTestTrafficShift, ServiceARN: d.ServiceARN(), Settings: s}); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	op := &Operator{Store: st, Identity: stubSTS("arn:aws:iam::123456789012:user/alice@example.com", nil), Now: time.Now, Out: &out}
	ctx := context.Background()
	if err := op.Decide(ctx, depARN, Selector{}, approval.Approve, "", false); !errors.Is(err, approval.ErrFrozen) || !strings.Contains(err.Error(), "Approve with --override --comment REASON.") {
		t.Errorf("plain approve = %v, want ErrFrozen saying what to do", err)
	}
	if err := op.Decide(ctx, depARN, Selector{}, approval.Approve, "", true); !errors.Is(err, approval.ErrOverrideReason) || !strings.Contains(err.Error(), "Pass --comment REASON.") {
		t.Errorf("override without a reason = %v, want ErrOverrideReason", err)
	}
	if err := op.Decide(ctx, depARN, Selector{}, approval.Approve, "payments down", true); err != nil {
		t.Fatal(err)
	}
	if s := out.String(); !strings.Contains(s, "recorded: approve (emergency override) "+depARN+" as alice@example.com") {
		t.Errorf("override output:\n%s", s)
	}
	out.Reset()
	if err := op.Status(ctx, depARN, Selector{}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Frozen:      deployment freeze (holidays) until", "(emergency override: payments down)", "(then reject)"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("status lacks %q:\n%s", want, out.String())
		}
	}
}

// TestOperatorInconsistentRequest: a request whose stored parts disagree is
// shown as inconsistent, saying why, and nothing can be decided on it.
func TestOperatorInconsistentRequest(t *testing.T) {
	srv := awstest.NewS3(t)
	st := store.New(srv.Client(), srv.Bucket)
	open(t, st, "forged", 2)
	arn := strings.Replace(depARN, "EZe5RNVLH6PPzHXINuP28", "forged", 1)
	d, _ := hook.ParseDeploymentARN(arn)
	key := approval.Key(d, hook.StagePostTestTrafficShift)
	obj, err := st.Get(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	r, _ := approval.Decode(obj.Body)
	r.RequiredApprovals = 1 // lowered, the request still pending
	body, _ := r.Encode()
	edited, err := st.Update(context.Background(), key, body, obj.ETag)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	alice := stubSTS("arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_Deployers_0123/alice@example.com", nil)
	op := &Operator{Store: st, Identity: alice, Now: time.Now, Out: &out}
	ctx := context.Background()
	if err := op.List(ctx, false); err != nil || !strings.Contains(out.String(), "inconsistent") || strings.Contains(out.String(), "pending") {
		t.Errorf("list = %v:\n%s", err, out.String())
	}
	out.Reset()
	if err := op.Status(ctx, arn, Selector{}); err != nil || !strings.Contains(out.String(), "INCONSISTENT: requiredApprovals is 1, but it was created with 2") {
		t.Errorf("status = %v:\n%s", err, out.String())
	}
	err = op.Decide(ctx, arn, Selector{}, approval.Approve, "", false)
	if !errors.Is(err, approval.ErrInconsistent) || !strings.Contains(err.Error(), "Nothing was recorded.") {
		t.Errorf("approve = %v, want refused as inconsistent", err)
	}
	if after, _ := st.Get(ctx, key); after.ETag != edited {
		t.Error("the inconsistent document was rewritten")
	}
}

// TestForeignIdentityApprovesNothing: a user named like an approver in
// another AWS account is nobody: it cannot approve, on a list or a shared
// link; it may reject. An account in Accounts is trusted like the
// deployment's own.
func TestForeignIdentityApprovesNothing(t *testing.T) {
	srv := awstest.NewS3(t)
	st := store.New(srv.Client(), srv.Bucket)
	open(t, st, "foreign", 1)
	arn := strings.Replace(depARN, "EZe5RNVLH6PPzHXINuP28", "foreign", 1)
	ctx := context.Background()
	var out bytes.Buffer
	foreign := &Operator{Store: st, Identity: stubSTS("arn:aws:iam::999999999999:user/alice@example.com", nil), Now: time.Now, Out: &out}
	err := foreign.Decide(ctx, arn, Selector{}, approval.Approve, "", false)
	if err == nil || !strings.Contains(err.Error(), "is an identity of account 999999999999, not of the deployment's account 123456789012") {
		t.Errorf("approve from another account = %v, want refused", err)
	}
	d, _ := hook.ParseDeploymentARN(arn)
	obj, _ := st.Get(ctx, approval.Key(d, hook.StagePostTestTrafficShift))
	if r, _ := approval.Decode(obj.Body); len(r.Votes) != 0 {
		t.Errorf("votes after a refused approve: %+v", r.Votes)
	}
	trusted := &Operator{Store: st, Identity: stubSTS("arn:aws:iam::999999999999:user/alice@example.com", nil), Now: time.Now, Out: &out,
		Accounts: []string{"999999999999"}}
	if err := trusted.Decide(ctx, arn, Selector{}, approval.Approve, "", false); err != nil || !strings.Contains(out.String(), "as alice@example.com") {
		t.Errorf("approve from a listed account = %v:\n%s", err, out.String())
	}

	open(t, st, "foreign-reject", 1)
	arn = strings.Replace(depARN, "EZe5RNVLH6PPzHXINuP28", "foreign-reject", 1)
	if err := foreign.Decide(ctx, arn, Selector{}, approval.Reject, "not this one", false); err != nil {
		t.Errorf("reject from another account = %v, want recorded", err)
	}
	if got := identityAccount("arn:aws:sts::123456789012:assumed-role/ops/jane"); got != "123456789012" {
		t.Errorf("identityAccount = %q", got)
	}
	if got := identityAccount("not-an-arn"); got != "" {
		t.Errorf("identityAccount(not an ARN) = %q", got)
	}
}

// pausedECS is ECS for one PAUSE hook: it awaits action until continued.
type pausedECS struct{ calls []string }

func (p *pausedECS) Awaiting(ctx context.Context, arn, hookID string) ([]approval.Paused, error) {
	if len(p.calls) > 0 || hookID != "" && hookID != "hook-1" {
		return nil, nil
	}
	return []approval.Paused{{HookID: "hook-1", Stage: hook.StagePostTestTrafficShift, ServiceARN: "arn:aws:ecs:us-west-2:123456789012:service/prod-cluster/orders"}}, nil
}

func (p *pausedECS) State(ctx context.Context, arn, hookID string) (approval.HookState, error) {
	if len(p.calls) > 0 || hookID != "hook-1" {
		return approval.HookState{Deployment: "IN_PROGRESS", Status: approval.HookSucceeded}, nil
	}
	return approval.HookState{Deployment: "IN_PROGRESS", Status: approval.HookAwaiting}, nil
}

func (p *pausedECS) Continue(ctx context.Context, arn, hookID, action string) error {
	p.calls = append(p.calls, hookID+" "+action)
	return nil
}

// TestOperatorDecidesAPauseRequest: `gatehouse reject` on a request that
// holds an ECS PAUSE hook records the vote and, with a settler, tells ECS
// ROLLBACK at once, once; without one it says the sweep will.
func TestOperatorDecidesAPauseRequest(t *testing.T) {
	for _, settled := range []bool{true, false} {
		srv := awstest.NewS3(t)
		st := store.New(srv.Client(), srv.Bucket)
		d, _ := hook.ParseDeploymentARN(depARN)
		ecs := &pausedECS{}
		g := &approval.Gate{Store: st, Notifier: nopNotifier{}, Linker: nopLinker{}, Pauses: ecs, Now: time.Now, Log: slog.New(slog.DiscardHandler)}
		s := approval.DefaultSettings()
		s.Approvers = []string{"alice@example.com"}
		if _, err := g.OpenPause(context.Background(), hook.PauseEvent{EventName: hook.HookAwaitingAction, DeploymentARN: d.String(), HookID: "hook-1"}, s); err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		op := &Operator{Store: st, Identity: stubSTS("arn:aws:iam::123456789012:user/alice@example.com", nil), Now: time.Now, Out: &out}
		if settled {
			op.Settler = g
		}
		if err := op.Decide(context.Background(), depARN, Selector{}, approval.Reject, "not today", false); err != nil {
			t.Fatalf("reject: %v\n%s", err, out.String())
		}
		switch {
		case settled && (len(ecs.calls) != 1 || ecs.calls[0] != "hook-1 ROLLBACK"):
			t.Errorf("ECS got %v, want one ROLLBACK\n%s", ecs.calls, out.String())
		case !settled && (len(ecs.calls) != 0 || !strings.Contains(out.String(), "sweep")):
			t.Errorf("without a settler: calls %v, output\n%s", ecs.calls, out.String())
		}
		out.Reset()
		if err := op.Status(context.Background(), depARN, Selector{}); err != nil {
			t.Fatal(err)
		}
		want := "Paused:      decided; ECS is yet to be told"
		if settled {
			want = "Paused:      ECS was told ROLLBACK at"
		}
		if !strings.Contains(out.String(), want) {
			t.Errorf("status lacks %q:\n%s", want, out.String())
		}
	}
}

// endedECS is ECS for one PAUSE hook that someone else continued.
type endedECS struct{ pausedECS }

func (e *endedECS) State(ctx context.Context, arn, hookID string) (approval.HookState, error) {
	return approval.HookState{Deployment: "IN_PROGRESS", Status: approval.HookSucceeded}, nil
}

// TestOperatorRefusesAHookEndedOutside: a PAUSE hook someone else
// continued (the console's "Take action") takes no vote from the CLI,
// which records nothing; list and status say so.
func TestOperatorRefusesAHookEndedOutside(t *testing.T) {
	srv := awstest.NewS3(t)
	st := store.New(srv.Client(), srv.Bucket)
	d, _ := hook.ParseDeploymentARN(depARN)
	waiting := &pausedECS{}
	g := &approval.Gate{Store: st, Notifier: nopNotifier{}, Linker: nopLinker{}, Pauses: waiting, Now: time.Now, Log: slog.New(slog.DiscardHandler)}
	s := approval.DefaultSettings()
	s.Approvers = []string{"alice@example.com"}
	if _, err := g.OpenPause(context.Background(), hook.PauseEvent{EventName: hook.HookAwaitingAction, DeploymentARN: d.String(), HookID: "hook-1"}, s); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	op := &Operator{Store: st, Identity: stubSTS("arn:aws:iam::123456789012:user/alice@example.com", nil), Now: time.Now, Out: &out, Pauses: &endedECS{}}
	err := op.Decide(context.Background(), depARN, Selector{}, approval.Approve, "", false)
	if !errors.Is(err, approval.ErrHookEnded) || !strings.Contains(err.Error(), "gatehouse never told ECS to go on") || !strings.Contains(err.Error(), "Nothing was recorded.") {
		t.Errorf("Decide = %v, want a refusal saying the hook was continued outside gatehouse", err)
	}
	obj, _ := st.Get(context.Background(), approval.GateKey(d, hook.StagePostTestTrafficShift, approval.PauseGate("hook-1")))
	if r, _ := approval.Decode(obj.Body); r == nil || len(r.Votes) != 0 || r.Outcome != approval.Pending {
		t.Errorf("request %+v, want it untouched", r)
	}
	out.Reset()
	if err := op.List(context.Background(), false); err != nil || !strings.Contains(out.String(), "pending, but ECS: the PAUSE hook ended outside gatehouse") {
		t.Errorf("list = %v\n%s", err, out.String())
	}
	out.Reset()
	if err := op.Status(context.Background(), depARN, Selector{}); err != nil || !strings.Contains(out.String(), "ECS:         ECS reports this PAUSE hook continued") {
		t.Errorf("status = %v\n%s", err, out.String())
	}
}

// deniedSettler is a voter without lambda:InvokeFunction on the approval
// hook.
type deniedSettler struct{}

func (deniedSettler) Settle(context.Context, string) (approval.Verdict, error) {
	return approval.Verdict{}, errors.New("AccessDeniedException: not authorized to perform lambda:InvokeFunction")
}

// TestVoteStandsWithoutTheVotersRights: a voter who may not have the suite
// settle (invoke the approval hook) still records a deciding vote, exits
// well, and is told the suite's sweep tells ECS: their missing rights
// overturn nothing, and nothing is claimed that the sweep would skip.
func TestVoteStandsWithoutTheVotersRights(t *testing.T) {
	srv := awstest.NewS3(t)
	st := store.New(srv.Client(), srv.Bucket)
	d, _ := hook.ParseDeploymentARN(depARN)
	g := &approval.Gate{Store: st, Notifier: nopNotifier{}, Linker: nopLinker{}, Pauses: &pausedECS{}, Now: time.Now, Log: slog.New(slog.DiscardHandler)}
	s := approval.DefaultSettings()
	s.Approvers = []string{"alice@example.com"}
	if _, err := g.OpenPause(context.Background(), hook.PauseEvent{EventName: hook.HookAwaitingAction, DeploymentARN: d.String(), HookID: "hook-1"}, s); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	op := &Operator{Store: st, Identity: stubSTS("arn:aws:iam::123456789012:user/alice@example.com", nil), Now: time.Now, Out: &out, Settler: deniedSettler{}}
	if err := op.Decide(context.Background(), depARN, Selector{}, approval.Approve, "", false); err != nil {
		t.Fatalf("Decide = %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "the suite's sweep tells it within a minute") {
		t.Errorf("output %q, want the sweep named", out.String())
	}
	obj, _ := st.Get(context.Background(), approval.GateKey(d, hook.StagePostTestTrafficShift, approval.PauseGate("hook-1")))
	if r, _ := approval.Decode(obj.Body); r == nil || r.Outcome != approval.Approved || r.AnnouncedAt != nil || r.Pause.Action != "" {
		t.Errorf("request %+v; want approved, nothing claimed, for the sweep", r)
	}
}

// TestStatusShowsTheSteps: gatehouse status shows the step check's verdict
// on each linear or canary step, in order, from the reports in the state
// bucket (start markers left out).
func TestStatusShowsTheSteps(t *testing.T) {
	srv := awstest.NewS3(t)
	st := store.New(srv.Client(), srv.Bucket)
	open(t, st, "EZe5RNVLH6PPzHXINuP28", 1)
	d, err := hook.ParseDeploymentARN(depARN)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	at := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	start, end := at.Add(-10*time.Minute), at
	for _, rep := range []bake.Report{
		{Stage: hook.StagePreProductionTrafficShift, GreenShare: ptr(10.0), HookStatus: hook.StatusFailed, DecidedAt: at.Add(10 * time.Minute),
			Reason: "step with 10% of production on green: bake failed after 10m: 5xx rate: 0.3 > max 0.05", WindowStart: &start, WindowEnd: &end,
			Green: &bake.Stats{Requests: 40, Errors5xx: 12}, BlueBaseline: &bake.Stats{Requests: 360}},
		{Stage: hook.StagePreProductionTrafficShift, GreenShare: ptr(0.0), HookStatus: hook.StatusSucceeded, DecidedAt: at,
			Reason: "step check passes without a verdict: no production traffic on green yet (before the first step): nothing to judge"},
	} {
		body, err := json.Marshal(rep)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.Create(ctx, bake.StepKey(d, *rep.GreenShare), body); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.Create(ctx, layout.BakeStepStart(d, "10"), []byte(`{"v":1}`)); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	op := &Operator{Store: st, Identity: stubSTS("arn:aws:sts::123456789012:assumed-role/ops/jane", nil), Now: time.Now, Out: &out}
	if err := op.Status(ctx, depARN, Selector{}); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	if !strings.Contains(s, "State:       waiting for approval") {
		t.Errorf("status does not show the request:\n%s", s)
	}
	first := strings.Index(s, "0% on green: SUCCEEDED")
	second := strings.Index(s, "10% on green: FAILED over 10m; green 40 requests, 30.00% 5xx; blue 360 requests, 0.00% 5xx")
	if first < 0 || second < first || !strings.Contains(s, "5xx rate: 0.3 > max 0.05") {
		t.Errorf("status does not show the steps in order:\n%s", s)
	}
}

func ptr[T any](v T) *T { return &v }

// TestStatusOfSteps: a deployment whose steps were judged but that has no
// approval request shows its steps; with steps: each (a request per step
// of one gate), status and approve take the one step still open, and
// stay ambiguous while more than one is.
func TestStatusOfSteps(t *testing.T) {
	srv := awstest.NewS3(t)
	st := store.New(srv.Client(), srv.Bucket)
	ctx := context.Background()
	d, _ := hook.ParseDeploymentARN(depARN)
	body, _ := json.Marshal(bake.Report{Stage: hook.StagePreProductionTrafficShift, GreenShare: ptr(0.0), HookStatus: hook.StatusSucceeded, Reason: "nothing to judge"})
	if _, err := st.Create(ctx, bake.StepKey(d, 0), body); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	op := &Operator{Store: st, Identity: stubSTS("arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_Deployers_0123/alice@example.com", nil), Now: time.Now, Out: &out}
	if err := op.Status(ctx, depARN, Selector{}); err != nil || !strings.Contains(out.String(), "Approval:    none requested") || !strings.Contains(out.String(), "0% on green: SUCCEEDED") {
		t.Errorf("status without a request = %v:\n%s", err, out.String())
	}

	g := &approval.Gate{Store: st, Notifier: nopNotifier{}, Linker: nopLinker{}, Now: time.Now, Log: slog.New(slog.DiscardHandler)}
	open := func(share float64) {
		s := approval.DefaultSettings()
		s.Approvers, s.Steps, s.Gate = []string{"alice@example.com"}, approval.StepsEach, approval.StepGate("", share)
		if _, err := g.Poll(ctx, approval.Poll{Deployment: d, Stage: hook.StagePreProductionTrafficShift, ServiceARN: d.ServiceARN(), Settings: s, Step: &share}); err != nil {
			t.Fatal(err)
		}
	}
	open(0)
	open(10)
	if err := op.Decide(ctx, depARN, Selector{}, approval.Approve, "", false); !errors.Is(err, ErrAmbiguous) {
		t.Fatalf("approve with two steps open = %v, want ErrAmbiguous", err)
	}
	if err := op.Decide(ctx, depARN, Selector{Gate: "step-0"}, approval.Approve, "", false); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := op.Status(ctx, depARN, Selector{}); err != nil || !strings.Contains(out.String(), "Gate:        step-10") {
		t.Errorf("status with one step open = %v, want the open step:\n%s", err, out.String())
	}
	if err := op.Decide(ctx, depARN, Selector{}, approval.Approve, "", false); err != nil {
		t.Errorf("approve the open step: %v", err)
	}
}
