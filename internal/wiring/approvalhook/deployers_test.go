package approvalhook

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/internal/cloudtrail"
	"github.com/gatehouse-dev/gatehouse/internal/hook"
)

// TestTrailNamesEachStarterOnce: the gate learns who started a deployment
// from CloudTrail's starting calls for its service, each identity once, in
// the order they called.
func TestTrailNamesEachStarterOnce(t *testing.T) {
	const dep = "arn:aws:ecs:us-west-2:123456789012:service-deployment/prod/orders/abc"
	d, _ := hook.ParseDeploymentARN(dep)
	created := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	orders := cloudtrail.Service{Cluster: "prod", Name: "orders", ARN: d.ServiceARN()}
	m := &cloudtrail.Memory{}
	for i, who := range []string{"arn:aws:iam::123456789012:user/bob", "arn:aws:iam::123456789012:user/alice", "arn:aws:iam::123456789012:user/bob"} {
		m.Record(orders, cloudtrail.Starter{Identity: who, Event: "UpdateService", At: created.Add(time.Duration(i-3) * time.Second)})
	}
	m.Record(cloudtrail.Service{Cluster: "staging", Name: "orders"}, cloudtrail.Starter{Identity: "arn:aws:iam::123456789012:user/mallory", At: created})
	got, err := Trail{Starters: m}.StartedBy(context.Background(), d, d.ServiceARN(), created, 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"arn:aws:iam::123456789012:user/bob", "arn:aws:iam::123456789012:user/alice"}, got); diff != "" {
		t.Errorf("StartedBy (-want +got):\n%s", diff)
	}
}
