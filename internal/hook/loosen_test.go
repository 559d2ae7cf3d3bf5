package hook

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseLoosen(t *testing.T) {
	keys := []string{"checks", "consecutiveSuccesses"}
	got, err := ParseLoosen("P.smoke", json.RawMessage(`{"loosen": {"checks": true, "consecutiveSuccesses": false}}`), keys)
	if err != nil || !cmp.Equal(Loosen{"checks": true}, got) {
		t.Errorf("ParseLoosen = %v, %v; want checks only", got, err)
	}
	for raw, want := range map[string]string{
		`{"loosen": {"retries": true}}`: `P.smoke.loosen.retries: unknown key: want "checks" or "consecutiveSuccesses"`,
		`{"loosen": {"checks": "yes"}}`: "P.smoke.loosen.checks: want true or false",
		`{"losen": {}}`:                 "P.smoke.losen: unknown key",
		`{"loosen": []}`:                "P.smoke.loosen: want a JSON object",
	} {
		if _, err := ParseLoosen("P.smoke", json.RawMessage(raw), keys); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseLoosen(%s) = %v, want %q", raw, err, want)
		}
	}
}
