package gatehouse

import (
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/bake"
	"github.com/gatehouse-dev/gatehouse/internal/smoke"
)

// TestExampleDetailsAreComplete: the hookDetails the LifecycleHooksNote
// output suggests are accepted whole by the functions' own code, with no
// suite defaults at all.
func TestExampleDetailsAreComplete(t *testing.T) {
	if _, err := smoke.ParseConfig([]byte(exampleSmokeDetails)); err != nil {
		t.Errorf("example smoke hookDetails %s: %v", exampleSmokeDetails, err)
	}
	if _, err := bake.Apply(bake.DefaultConfig(), []byte(exampleBakeDetails)); err != nil {
		t.Errorf("example bake hookDetails %s: %v", exampleBakeDetails, err)
	}
}

func TestLifecycleHooksNote(t *testing.T) {
	all := []Hook{{kind: kindSmoke}, {kind: kindApproval}, {kind: kindBake}}
	desc, note := lifecycleHooksNote(all)
	if note != "" || !strings.Contains(desc, "smoke and approval at POST_TEST_TRAFFIC_SHIFT, bake at POST_PRODUCTION_TRAFFIC_SHIFT") {
		t.Errorf("all hooks: desc %q, note %q", desc, note)
	}
	desc, note = lifecycleHooksNote([]Hook{{kind: kindApproval}})
	for _, w := range []string{exampleSmokeDetails, exampleBakeDetails, CtxSmokeConfig, CtxBakeConfig} {
		if !strings.Contains(note, w) {
			t.Errorf("approval only: note %q lacks %s", note, w)
		}
	}
	if !strings.Contains(desc, "LifecycleHooksNote") {
		t.Errorf("approval only: desc %q does not point to the note", desc)
	}
	// CloudFormation caps an output's description at 1024 characters; keep
	// the note within that too, to stay readable in the console.
	if len(desc) > 1024 || len(note) > 1024 {
		t.Errorf("desc %d, note %d characters: want at most 1024", len(desc), len(note))
	}
}

// TestDemoPolicy: the demo lets its service skip the first deployment's
// approval, and keeps the rest of the policy it is given.
func TestDemoPolicy(t *testing.T) {
	for in, want := range map[string]string{
		``:   `{"approval":{"loosen":{"firstDeployment":true}}}`,
		`{}`: `{"approval":{"loosen":{"firstDeployment":true}}}`,
		`{"approval": {"loosen": {"requiredApprovals": {"min": 1}}}, "bake": {"loosen": {"window": true}}}`: `{"approval":{"loosen":{"firstDeployment":true,"requiredApprovals":{"min":1}}},"bake":{"loosen":{"window":true}}}`,
	} {
		if got, err := demoPolicy(in); err != nil || got != want {
			t.Errorf("demoPolicy(%s) = %s, %v; want %s", in, got, err, want)
		}
	}
	for _, bad := range []string{`[]`, `{"approval": []}`, `{"approval": {"loosen": 1}}`} {
		if got, err := demoPolicy(bad); err == nil {
			t.Errorf("demoPolicy(%s) = %s, want an error", bad, got)
		}
	}
}
