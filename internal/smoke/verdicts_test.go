package smoke

import (
	"context"
	"errors"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/hook"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

func TestVerdicts(t *testing.T) {
	const arn = "arn:aws:ecs:us-west-2:123456789012:service-deployment/prod-cluster/orders/v1"
	d, _ := hook.ParseDeploymentARN(arn)
	st := store.NewMemory()
	v := Verdicts{Reader: st}
	ctx := context.Background()
	if _, _, err := v.SmokeVerdict(ctx, arn, hook.StagePostTestTrafficShift); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("no report: %v, want ErrNotFound", err)
	}
	etag := ""
	for _, tt := range []struct {
		verdict    Verdict
		wantPassed bool
		wantErr    error
	}{{VerdictRunning, false, store.ErrNotFound}, {VerdictPassed, true, nil}, {VerdictFailed, false, nil}} {
		body := Report{Version: ReportVersion, DeploymentARN: arn, Stage: hook.StagePostTestTrafficShift, Verdict: tt.verdict, Summary: "s " + string(tt.verdict)}.EncodeJSON()
		var err error
		key := ReportKey(d, hook.StagePostTestTrafficShift, ExtJSON)
		if etag == "" {
			etag, err = st.Create(ctx, key, body)
		} else {
			etag, err = st.Update(ctx, key, body, etag)
		}
		if err != nil {
			t.Fatal(err)
		}
		passed, summary, err := v.SmokeVerdict(ctx, arn, hook.StagePostTestTrafficShift)
		if !errors.Is(err, tt.wantErr) || passed != tt.wantPassed || (err == nil && summary != "s "+string(tt.verdict)) {
			t.Errorf("%s: SmokeVerdict = %v %q %v", tt.verdict, passed, summary, err)
		}
	}
}
