package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/approval"
	"github.com/gatehouse-dev/gatehouse/internal/awstest"
	"github.com/gatehouse-dev/gatehouse/internal/config"
	"github.com/gatehouse-dev/gatehouse/internal/hook"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// TestLambdaServiceCannotLoosenTheSuite replays the measurement
// with the built approval hook: with approvers alice and bob and 2
// required in the environment, hookDetails asking for a shared link, one
// approval and expiry that approves after a minute are answered FAILED
// naming each key and rule, recorded as a refused request, and nobody is
// sent a link; where GATEHOUSE_POLICY allows a lower quorum, the same
// service's one approval is accepted.
func TestLambdaServiceCannotLoosenTheSuite(t *testing.T) {
	s3srv, snssrv := awstest.NewS3(t), awstest.NewSNS(t)
	st := store.New(s3srv.Client(), s3srv.Bucket)
	env := append(append(snssrv.Env(), s3srv.Env()...),
		config.EnvStateBucket+"="+s3srv.Bucket,
		config.EnvSigningKey+"="+signingKey,
		config.EnvTopicARN+"="+snssrv.TopicARN,
		config.EnvReviewURL+"=http://127.0.0.1:1/",
		config.EnvApprovers+"=alice@example.com,bob@example.com",
		config.EnvRequiredApprovals+"=2",
	)
	bootstrap := awstest.BuildFunction(t, "approval-hook")
	s := &suite{hook: awstest.NewRIE(t, bootstrap, env)}

	res := s.want(t, event(t, "loosen1", map[string]any{"approvers": []string{}, "requiredApprovals": 1, "onExpiry": "approve", "timeout": "1m"}),
		hook.StatusFailed, "invalid approval configuration")
	for _, want := range []string{
		"hookDetails.approvers: a shared link in place of the suite's approvers",
		"hookDetails.requiredApprovals: 1 is below the suite's 2",
		"hookDetails.onExpiry: approve where the suite rejects",
		"hookDetails.timeout: 1m is shorter than 23h, the least allowed where expiry approves",
	} {
		if !strings.Contains(res.Reason, want) {
			t.Errorf("reason %q lacks %q", res.Reason, want)
		}
	}
	d, err := hook.ParseDeploymentARN(strings.Replace(deploymentARN, "EZe5RNVLH6PPzHXINuP28", "loosen1", 1))
	if err != nil {
		t.Fatal(err)
	}
	obj, err := st.Get(context.Background(), approval.Key(d, hook.StagePostTestTrafficShift))
	if err != nil {
		t.Fatalf("no record of the refusal: %v", err)
	}
	r, err := approval.Decode(obj.Body)
	if err != nil || r.Outcome != approval.Refused || !strings.Contains(r.Refusal, "requiredApprovals: 1 is below the suite's 2") {
		t.Errorf("recorded %+v, %v; want a refused request naming requiredApprovals", r, err)
	}
	// The hook has answered: whatever it published has arrived by now.
	if n := len(snssrv.Settled(t, 10*time.Second)); n != 0 {
		t.Errorf("%d messages sent for a refused configuration, want none", n)
	}

	loose := &suite{hook: awstest.NewRIE(t, bootstrap, append(env[:len(env):len(env)],
		config.EnvPolicy+`={"approval": {"loosen": {"requiredApprovals": {"min": 1}}}}`))}
	loose.want(t, event(t, "loosen2", map[string]any{"requiredApprovals": 1}), hook.StatusInProgress, "waiting for approval: 0 of 1")
}
