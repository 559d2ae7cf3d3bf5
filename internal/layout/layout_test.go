package layout

import (
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/hook"
)

func TestKeys(t *testing.T) {
	d, err := hook.ParseDeploymentARN("arn:aws:ecs:us-west-2:123456789012:service-deployment/prod/orders/abc")
	if err != nil {
		t.Fatal(err)
	}
	const dep = "123456789012/us-west-2/prod/orders/abc/"
	for got, want := range map[string]string{
		Request(d, hook.StagePostTestTrafficShift, ""):        "approvals/" + dep + "POST_TEST_TRAFFIC_SHIFT.json",
		Request(d, hook.StagePostTestTrafficShift, "sec"):     "approvals/" + dep + "POST_TEST_TRAFFIC_SHIFT.sec.json",
		PauseMarker(Request(d, hook.StagePreScaleUp, "p-1")):  "pauses/open/" + dep + "PRE_SCALE_UP.p-1.json",
		SmokeReport(d, hook.StagePostTestTrafficShift, "txt"): "reports/" + dep + "smoke-POST_TEST_TRAFFIC_SHIFT.txt",
		BakeReport(d, hook.StagePostProductionTrafficShift):   "reports/" + dep + "bake-POST_PRODUCTION_TRAFFIC_SHIFT.json",
		BakeStart(d, hook.StagePostProductionTrafficShift):    "reports/" + dep + "bake-POST_PRODUCTION_TRAFFIC_SHIFT.start.json",
	} {
		if got != want {
			t.Errorf("key %q, want %q", got, want)
		}
	}
	key := Request(d, hook.StagePostTestTrafficShift, "sec")
	if m := PauseMarker(key); RequestOfMarker(m) != key {
		t.Errorf("RequestOfMarker(PauseMarker(%q)) = %q", key, RequestOfMarker(m))
	}
	if st, gate, ok := RequestName(d, key); !ok || st != hook.StagePostTestTrafficShift || gate != "sec" {
		t.Errorf("RequestName(%q) = %s, %q, %v", key, st, gate, ok)
	}
	for key, want := range map[string]bool{key: true, "approvals/../reports/x.json": false, "reports/x.json": false, "approvals/x.txt": false} {
		if IsRequest(key) != want {
			t.Errorf("IsRequest(%q) = %v", key, !want)
		}
	}
}
