package approval_test

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/internal/approval"
)

// keyValues gives every key a value other than its default, all valid
// together. The tests below check that it names exactly DetailKeys.
var keyValues = map[string]string{
	"approvers":         `["alice@example.com", "bob@example.com"]`,
	"requiredApprovals": `2`,
	"timeout":           `"4h"`,
	"callbackDelay":     `60`,
	"firstDeployment":   `"skip"`,
	"onExpiry":          `"approve"`,
	"reminderAt":        `0.5`,
	"gate":              `"security"`,
	"testUrl":           `"https://orders-test.example.com:8443"`,
	"abortOnAlarms":     `{"names": ["orders-5xx"], "prefixes": ["orders-"]}`,
	"freezes":           `[{"start": "2026-12-20T00:00:00Z", "end": "2027-01-04T00:00:00Z", "reason": "holidays"}]`,
	"changeWindows":     `[{"days": ["mon", "tue"], "start": "09:00", "end": "17:00", "timezone": "Europe/Berlin"}]`,
	"waitForSmoke":      `true`,
	"steps":             `"each"`,
}

func TestDetailKeysCoverTheTestValues(t *testing.T) {
	var have []string
	for k := range keyValues {
		have = append(have, k)
	}
	slices.Sort(have)
	want := slices.Sorted(slices.Values(approval.DetailKeys()))
	if diff := cmp.Diff(want, have); diff != "" {
		t.Errorf("keyValues in this test do not name exactly DetailKeys() (-DetailKeys +keyValues):\n%s", diff)
	}
	if len(slices.Compact(slices.Clone(want))) != len(want) {
		t.Errorf("DetailKeys() lists a key twice: %q", approval.DetailKeys())
	}
}

// TestDetailKeysAreKnown: Apply takes every listed key, whatever its value,
// as a key it knows; a key it does not know is refused with "unknown key",
// the text the first check looks for.
func TestDetailKeysAreKnown(t *testing.T) {
	for _, k := range approval.DetailKeys() {
		for _, v := range []string{keyValues[k], `0`, `"x"`, `null`} {
			doc := `{"` + k + `": ` + v + `}`
			if _, err := approval.Apply(approval.DefaultSettings(), json.RawMessage(doc)); err != nil && strings.Contains(err.Error(), "unknown key") {
				t.Errorf("Apply(%s) = %q: DetailKeys() lists %q, which the parser does not know", doc, err, k)
			}
		}
	}
	const madeUp = "approversList"
	_, err := approval.Apply(approval.DefaultSettings(), json.RawMessage(`{"`+madeUp+`": ["alice@example.com"]}`))
	if want := "hookDetails." + madeUp + ": unknown key"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("Apply with the made-up key %q = %v, want an error containing %q", madeUp, err, want)
	}
}

// TestDetailKeysReachEverySetting: each listed key changes the settings, and
// the keys together change every field of Settings, so a setting whose key
// is missing from DetailKeys shows here as a field left at its default.
func TestDetailKeysReachEverySetting(t *testing.T) {
	def := approval.DefaultSettings()
	// With every key loosenable, so that each reaches its setting.
	def.Policy = approval.Policy{MinRequiredApprovals: 1, MaxTimeout: approval.MaxTimeout, MinTimeout: approval.MinTimeout, ApproveOnExpiry: true, SharedLink: true,
		FirstDeployment: true, WaitForSmoke: true, ChangeWindows: true, AbortOnAlarms: true}
	all := map[string]json.RawMessage{}
	for _, k := range approval.DetailKeys() {
		all[k] = json.RawMessage(keyValues[k])
		if k == "requiredApprovals" {
			continue // needs as many approvers: checked with all keys below
		}
		doc := `{"` + k + `": ` + keyValues[k] + `}`
		got, err := approval.Apply(def, json.RawMessage(doc))
		if err != nil {
			t.Errorf("Apply(%s) = %v", doc, err)
			continue
		}
		if reflect.DeepEqual(got, def) {
			t.Errorf("Apply(%s) left the settings at their defaults: the parser ignores %q", doc, k)
		}
	}
	doc, err := json.Marshal(all)
	if err != nil {
		t.Fatal(err)
	}
	got, err := approval.Apply(def, doc)
	if err != nil {
		t.Fatalf("Apply(every key) = %v", err)
	}
	g, d := reflect.ValueOf(got), reflect.ValueOf(def)
	for i := range g.NumField() {
		switch g.Type().Field(i).Name {
		case "Policy", "Floors":
			continue // the suite's alone
		case "ServiceWindows":
			continue // changeWindows sets ChangeWindows where the policy lets services replace them
		}
		if reflect.DeepEqual(g.Field(i).Interface(), d.Field(i).Interface()) {
			t.Errorf("Settings.%s is not set by any key of DetailKeys() (document %s)", g.Type().Field(i).Name, doc)
		}
	}
}

// TestTestURLKey: hookDetails testUrl is an absolute http(s) URL without
// credentials, or refused naming the key.
func TestTestURLKey(t *testing.T) {
	s, err := approval.Apply(approval.DefaultSettings(), []byte(`{"testUrl": "http://orders-test.internal:8080"}`))
	if err != nil || s.TestURL != "http://orders-test.internal:8080" {
		t.Errorf("testUrl: %q, %v", s.TestURL, err)
	}
	for _, bad := range []string{`"orders-test"`, `"https://u:p@orders-test.example.com"`, `42`} {
		if _, err := approval.Apply(approval.DefaultSettings(), []byte(`{"testUrl": `+bad+`}`)); err == nil || !strings.Contains(err.Error(), "hookDetails.testUrl") {
			t.Errorf("testUrl %s: %v, want an error naming hookDetails.testUrl", bad, err)
		}
	}
}
