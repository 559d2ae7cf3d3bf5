package hook

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const (
	green = "arn:aws:ecs:us-west-2:123456789012:service-revision/prod-cluster/orders/9313423515462893900"
	blue  = "arn:aws:ecs:us-west-2:123456789012:service-revision/prod-cluster/orders/4971276102587734015"
)

// TestEvents decodes every sample payload in events/, checks it is complete,
// and round-trips it, so the samples cannot rot.
func TestEvents(t *testing.T) {
	files, err := filepath.Glob("../../events/*.json")
	if err != nil || len(files) < 13 {
		t.Fatalf("events: found %d files (err %v), want at least 13", len(files), err)
	}
	seen := map[Stage]bool{}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var req Request
			if err := json.Unmarshal(data, &req); err != nil {
				t.Fatalf("decode: %v", err)
			}
			if err := req.Validate(); err != nil {
				t.Errorf("Validate() = %v, want nil", err)
			}
			seen[req.LifecycleStage] = true
			out, err := json.Marshal(req)
			if err != nil {
				t.Fatal(err)
			}
			var again Request
			if err := json.Unmarshal(out, &again); err != nil {
				t.Fatalf("decode re-encoded: %v", err)
			}
			if diff := cmp.Diff(req, again); diff != "" {
				t.Errorf("round trip (-first +second):\n%s", diff)
			}
			wantRollback := strings.HasPrefix(filepath.Base(f), "rollback-")
			if got := req.IsRollback(); got != wantRollback {
				t.Errorf("IsRollback() = %v, want %v", got, wantRollback)
			}
			if strings.Contains(f, "hookdetails") && len(req.HookDetails) == 0 {
				t.Errorf("HookDetails empty, want the sample's details")
			}
		})
	}
	for _, s := range Stages {
		if !seen[s] {
			t.Errorf("no sample payload for stage %s", s)
		}
	}
}

func TestDecodeShapes(t *testing.T) {
	wrapped := `{"executionId":"e","lifecycleStage":"POST_TEST_TRAFFIC_SHIFT","resourceArn":"arn:aws:ecs:us-west-2:1:service-deployment/c/s/d",
		"executionDetails":{"serviceArn":"svc","targetServiceRevisionArn":"rev"},"hookDetails":{"a":1}}`
	flat := `{"executionId":"e","lifecycleStage":"POST_TEST_TRAFFIC_SHIFT","resourceArn":"arn:aws:ecs:us-west-2:1:service-deployment/c/s/d",
		"serviceArn":"svc","targetServiceRevisionArn":"rev","hookDetails":"{\"a\":1}"}`
	want := Request{
		ExecutionID:      "e",
		LifecycleStage:   StagePostTestTrafficShift,
		ResourceARN:      "arn:aws:ecs:us-west-2:1:service-deployment/c/s/d",
		ExecutionDetails: ExecutionDetails{ServiceARN: "svc", TargetServiceRevisionARN: "rev"},
		HookDetails:      json.RawMessage(`{"a":1}`),
	}
	for name, in := range map[string]string{"wrapped": wrapped, "flat": flat} {
		var got Request
		if err := json.Unmarshal([]byte(in), &got); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", name, diff)
		}
	}
}

func TestDecodeHookDetails(t *testing.T) {
	tests := []struct {
		in      string
		want    string
		wantErr bool
	}{
		{in: `null`, want: ``},
		{in: `""`, want: ``},
		{in: `{"x":true}`, want: `{"x":true}`},
		{in: `"{\"x\":true}"`, want: `{"x":true}`},
		{in: `[1,2]`, wantErr: true},
		{in: `"not json"`, wantErr: true},
		{in: `42`, wantErr: true},
	}
	for _, tt := range tests {
		var r Request
		err := json.Unmarshal([]byte(`{"hookDetails":`+tt.in+`}`), &r)
		if (err != nil) != tt.wantErr {
			t.Errorf("decode hookDetails %s: err = %v, wantErr %v", tt.in, err, tt.wantErr)
			continue
		}
		if got := string(r.HookDetails); !tt.wantErr && got != tt.want {
			t.Errorf("decode hookDetails %s = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestValidate(t *testing.T) {
	var r Request
	err := r.Validate()
	if err == nil {
		t.Fatal("Validate() of empty request = nil, want errors")
	}
	for _, field := range []string{"resourceArn", "lifecycleStage", "executionDetails.serviceArn", "executionDetails.targetServiceRevisionArn"} {
		if !strings.Contains(err.Error(), field) {
			t.Errorf("Validate() = %q, want it to name %s", err, field)
		}
	}
	r = Request{ResourceARN: "arn:aws:ecs:us-west-2:1:service/c/s", LifecycleStage: "SCALE_UP",
		ExecutionDetails: ExecutionDetails{ServiceARN: "s", TargetServiceRevisionARN: "r"}}
	err = r.Validate()
	if err == nil || !strings.Contains(err.Error(), "service-deployment") || !strings.Contains(err.Error(), "SCALE_UP") {
		t.Errorf("Validate() = %v, want complaints about resourceArn and stage", err)
	}
}

func TestIsRollback(t *testing.T) {
	tests := []struct {
		name  string
		stage Stage
		test  map[string]float64
		prod  map[string]float64
		want  bool
	}{
		{"test shift forward", StageTestTrafficShift, map[string]float64{green: 100, blue: 0}, nil, false},
		{"test shift back", StageTestTrafficShift, map[string]float64{green: 0, blue: 100}, nil, true},
		{"prod shift forward", StageProductionTrafficShift, nil, map[string]float64{green: 100, blue: 0}, false},
		{"prod shift back", StageProductionTrafficShift, nil, map[string]float64{green: 0, blue: 100}, true},
		{"prod canary step", StageProductionTrafficShift, nil, map[string]float64{green: 10, blue: 90}, false},
		{"prod shift, test weights reversed", StageProductionTrafficShift, map[string]float64{green: 0, blue: 100}, map[string]float64{green: 100, blue: 0}, false},
		{"empty weights", StageTestTrafficShift, nil, nil, false},
		{"target missing from weights", StageTestTrafficShift, map[string]float64{blue: 100}, nil, false},
		{"nothing carries traffic", StageTestTrafficShift, map[string]float64{green: 0, blue: 0}, nil, false},
		{"other stage with reversed weights", StagePostTestTrafficShift, map[string]float64{green: 0, blue: 100}, nil, false},
	}
	for _, tt := range tests {
		r := Request{LifecycleStage: tt.stage, ExecutionDetails: ExecutionDetails{
			TargetServiceRevisionARN: green, TestTrafficWeights: tt.test, ProductionTrafficWeights: tt.prod}}
		if got := r.IsRollback(); got != tt.want {
			t.Errorf("%s: IsRollback() = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestParseDeploymentARN(t *testing.T) {
	got, err := ParseDeploymentARN("arn:aws:ecs:us-west-2:123456789012:service-deployment/prod-cluster/orders/EZe5RNVLH6PPzHXINuP28")
	if err != nil {
		t.Fatal(err)
	}
	want := DeploymentARN{Partition: "aws", Region: "us-west-2", Account: "123456789012", Cluster: "prod-cluster", Service: "orders", ID: "EZe5RNVLH6PPzHXINuP28"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ParseDeploymentARN (-want +got):\n%s", diff)
	}
	if s := got.String(); s != "arn:aws:ecs:us-west-2:123456789012:service-deployment/prod-cluster/orders/EZe5RNVLH6PPzHXINuP28" {
		t.Errorf("String() = %q", s)
	}
	if s := got.ServiceARN(); s != "arn:aws:ecs:us-west-2:123456789012:service/prod-cluster/orders" {
		t.Errorf("ServiceARN() = %q", s)
	}
	for _, bad := range []string{
		"",
		"arn:aws:ecs:us-west-2:1:service/c/s",
		"arn:aws:s3:us-west-2:1:service-deployment/c/s/d",
		"arn:aws:ecs:us-west-2:1:service-deployment/c/s",
		"arn:aws:ecs:us-west-2:1:service-deployment/c/s/d/e",
		"arn:aws:ecs:us-west-2:1:service-deployment/c/../d",
		"arn:aws:ecs:us-west-2:1:service-deployment/c/s/",
		"arn:aws:ecs:us-west-2::service-deployment/c/s/d",
	} {
		if _, err := ParseDeploymentARN(bad); err == nil {
			t.Errorf("ParseDeploymentARN(%q) = nil error, want one", bad)
		}
	}
}

func FuzzDecodeRequest(f *testing.F) {
	files, _ := filepath.Glob("../../events/*.json")
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte(`{"hookDetails":"\"x\""}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var r Request
		if err := json.Unmarshal(data, &r); err != nil {
			return
		}
		// Whatever decodes must validate without panicking, re-encode, and
		// carry hookDetails only as a JSON object.
		_ = r.Validate()
		_ = r.IsRollback()
		if len(r.HookDetails) > 0 && (r.HookDetails[0] != '{' || !json.Valid(r.HookDetails)) {
			t.Fatalf("hookDetails %q is not a JSON object", r.HookDetails)
		}
		if _, err := json.Marshal(r); err != nil {
			t.Fatalf("re-encode: %v", err)
		}
	})
}
