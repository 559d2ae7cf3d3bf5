package approval

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// permissive lets services loosen everything: for the tests of what each
// key does, apart from the floors (policy_test.go).
func permissive() Policy {
	return Policy{MinRequiredApprovals: 1, MaxTimeout: MaxTimeout, MinTimeout: MinTimeout, ApproveOnExpiry: true, ApproverDomains: []string{"example.com"}, SharedLink: true,
		FirstDeployment: true, WaitForSmoke: true, ChangeWindows: true, AbortOnAlarms: true}
}

func TestApply(t *testing.T) {
	def := DefaultSettings()
	def.Approvers = []string{"ops@example.com"}
	def.Policy = permissive()
	tests := []struct {
		name    string
		details string
		want    func(s *Settings)
		wantErr []string // substrings; each must appear
	}{
		{name: "no details keeps defaults", details: ``, want: func(s *Settings) {}},
		{name: "empty object keeps defaults", details: `{}`, want: func(s *Settings) {}},
		{name: "overrides", details: `{"approvers":["Alice@Example.com","bob@example.com","alice@example.com"],"requiredApprovals":2,"timeout":"4h","callbackDelay":60,"firstDeployment":"skip","onExpiry":"approve","reminderAt":0.5}`,
			want: func(s *Settings) {
				s.Approvers = []string{"alice@example.com", "bob@example.com"}
				s.RequiredApprovals = 2
				s.Timeout = 4 * time.Hour
				s.CallbackDelay = 60
				s.FirstDeployment = FirstDeploymentSkip
				s.OnExpiry = Approve
				s.ReminderAt = 0.5
			}},
		{name: "reminder off", details: `{"reminderAt":0}`, want: func(s *Settings) { s.ReminderAt = 0 }},
		{name: "unknown key", details: `{"approver":["a@example.com"]}`, wantErr: []string{"hookDetails.approver: unknown key"}},
		{name: "wrong types named", details: `{"requiredApprovals":"two","timeout":4,"approvers":"a@example.com"}`,
			wantErr: []string{"hookDetails.requiredApprovals: want a whole number", "hookDetails.timeout: want a duration", "hookDetails.approvers: want a JSON list"}},
		{name: "bad email", details: `{"approvers":["Alice <alice@example.com>"]}`, wantErr: []string{"hookDetails.approvers", "not an email address"}},
		{name: "quorum above approvers", details: `{"approvers":["a@example.com"],"requiredApprovals":2}`, wantErr: []string{"requiredApprovals: 2 is more than the 1 approvers"}},
		{name: "quorum on a shared link", details: `{"approvers":[],"requiredApprovals":2}`, wantErr: []string{"requiredApprovals", "shared link"}},
		// As long as the longest hook timeout ECS allows (20160 minutes).
		{name: "timeout of days", details: `{"timeout":"335h"}`, want: func(s *Settings) { s.Timeout = 335 * time.Hour }},
		{name: "timeout too long", details: `{"timeout":"337h"}`, wantErr: []string{"timeout: 337h, want between 1m and 336h"}},
		{name: "bad timeout", details: `{"timeout":"soon"}`, wantErr: []string{"hookDetails.timeout", "soon"}},
		{name: "bad firstDeployment", details: `{"firstDeployment":"maybe"}`, wantErr: []string{"firstDeployment"}},
		{name: "bad onExpiry", details: `{"onExpiry":"continue"}`, wantErr: []string{"onExpiry"}},
		{name: "callbackDelay out of range", details: `{"callbackDelay":0}`, wantErr: []string{"callbackDelay"}},
		{name: "not an object", details: `[1]`, wantErr: []string{"hookDetails: want a JSON object"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Apply(def, json.RawMessage(tt.details))
			if len(tt.wantErr) > 0 {
				if err == nil {
					t.Fatalf("Apply(%s) = nil error, want %q", tt.details, tt.wantErr)
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("Apply(%s) = %q, want it to contain %q", tt.details, err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("Apply(%s) = %v", tt.details, err)
			}
			want := def
			want.Approvers = append([]string(nil), def.Approvers...)
			tt.want(&want)
			// Floors are the suite's, tested in policy_test.go.
			if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(Settings{}, "Floors")); diff != "" {
				t.Errorf("Apply(%s) (-want +got):\n%s", tt.details, diff)
			}
		})
	}
	if def.Approvers[0] != "ops@example.com" {
		t.Errorf("Apply changed the defaults: %v", def.Approvers)
	}
}

func TestApplyIgnore(t *testing.T) {
	if _, err := Apply(DefaultSettings(), json.RawMessage(`{"waitForSmoke":true}`), "waitForSmoke"); err != nil {
		t.Errorf("Apply with an ignored key = %v, want nil", err)
	}
}
