package simulator

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseBehaviour(t *testing.T) {
	for in, want := range map[string]Behaviour{
		"":                        DefaultBehaviour,
		"hookdetails=merge":       {HookDetails: HookDetailsMerge, RollbackWeights: RollbackReversed},
		"hookdetails=replace":     {HookDetails: HookDetailsReplace, RollbackWeights: RollbackReversed},
		"rollback-weights=absent": {HookDetails: HookDetailsMerge, RollbackWeights: RollbackAbsent},
		"hookdetails=deep-merge, rollback-weights=empty": {HookDetails: HookDetailsDeepMerge, RollbackWeights: RollbackEmpty},
		"mixed-stage=pause-timeout":                      {HookDetails: HookDetailsMerge, RollbackWeights: RollbackReversed, MixedStage: MixedStagePause},
		"mixed-stage=24h":                                DefaultBehaviour,
	} {
		got, err := ParseBehaviour(in)
		if err != nil || got != want {
			t.Errorf("ParseBehaviour(%q) = %v, %v, want %v", in, got, err, want)
		}
		if back, err := ParseBehaviour(got.String()); err != nil || back != got {
			t.Errorf("ParseBehaviour(%q) = %v, %v: String does not round-trip", got.String(), back, err)
		}
	}
	for in, want := range map[string]string{
		"hookdetails=patch":     "want one of merge, replace, deep-merge",
		"rollback-weights=zero": "want one of reversed, empty, absent",
		"weights=empty":         "unknown key",
		"mixed-stage=48h":       "want one of 24h, pause-timeout",
		"hookdetails":           "want key=value",
	} {
		if _, err := ParseBehaviour(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseBehaviour(%q) = %v, want an error with %q", in, err, want)
		}
	}
	// The documented reading by default: ECS merges returned hookDetails.
	if DefaultBehaviour.HookDetails != HookDetailsMerge || DefaultBehaviour.RollbackWeights != RollbackReversed {
		t.Errorf("DefaultBehaviour = %v, want hookdetails=merge,rollback-weights=reversed", DefaultBehaviour)
	}
	if n := len(Behaviours()); n != 9 || Behaviours()[0] != DefaultBehaviour {
		t.Errorf("Behaviours() has %d, want 9 with the default first", n)
	}
}

func TestBehaviourNext(t *testing.T) {
	configured := json.RawMessage(`{"checks":[{"path":"/"}],"opts":{"a":1,"b":2}}`)
	last := json.RawMessage(`{"checks":[{"path":"/"}],"opts":{"a":1,"b":2},"state":{"n":1}}`)
	returned := json.RawMessage(`{"state":{"n":2},"opts":{"b":3}}`)
	for mode, want := range map[HookDetailsMode]string{
		HookDetailsReplace:   `{"state":{"n":2},"opts":{"b":3}}`,
		HookDetailsMerge:     `{"checks":[{"path":"/"}],"opts":{"b":3},"state":{"n":2}}`,
		HookDetailsDeepMerge: `{"checks":[{"path":"/"}],"opts":{"a":1,"b":3},"state":{"n":2}}`,
	} {
		got, err := Behaviour{HookDetails: mode}.next(configured, last, returned)
		if err != nil {
			t.Fatalf("%s: %v", mode, err)
		}
		var g, w any
		_ = json.Unmarshal(got, &g)
		_ = json.Unmarshal([]byte(want), &w)
		if diff := cmp.Diff(w, g); diff != "" {
			t.Errorf("%s: next (-want +got):\n%s", mode, diff)
		}
	}
	if got, _ := (Behaviour{HookDetails: HookDetailsReplace}).next(configured, last, nil); got != nil {
		t.Errorf("replace with nothing returned = %s, want nothing", got)
	}
	if _, err := (Behaviour{}).next(configured, last, json.RawMessage(`[1]`)); err == nil {
		t.Error("a returned list was accepted")
	}
}

func TestRollbackWeights(t *testing.T) {
	s := &Simulator{Service: Service{Partition: "aws", Region: "us-east-1", Account: "1", Cluster: "c", Name: "n"}}
	d := s.NewDeployment("")
	for mode, want := range map[RollbackWeights]string{
		RollbackReversed: `"productionTrafficWeights":{"` + d.SourceRevision + `":100,"` + d.TargetRevision + `":0}`,
		RollbackEmpty:    `"productionTrafficWeights":{}`,
		RollbackAbsent:   ``,
	} {
		s.Behaviour = Behaviour{RollbackWeights: mode}
		p, err := s.Payload(d, "PRODUCTION_TRAFFIC_SHIFT", "x", nil, true)
		if err != nil {
			t.Fatal(err)
		}
		if want == "" {
			if strings.Contains(string(p), "TrafficWeights") {
				t.Errorf("%s: payload %s has weights", mode, p)
			}
		} else if !strings.Contains(string(p), want) {
			t.Errorf("%s: payload %s, want %s", mode, p, want)
		}
	}
}
