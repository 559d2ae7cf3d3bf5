package slackapp

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/gatehouse-dev/gatehouse/internal/approval"
)

// TestMessageWithinSlackLimits: a request with very long facts still makes
// a message Slack takes (a header of at most 150 characters, sections of at
// most 3000), with no markup entity cut in two, and the mrkdwn escaped.
func TestMessageWithinSlackLimits(t *testing.T) {
	now := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	r := &approval.Request{ID: "r1", DeploymentARN: "arn:aws:ecs:us-west-2:123456789012:service-deployment/prod/" + strings.Repeat("s", 200) + "/d1",
		Service: strings.Repeat("a&b", 80), Cluster: "prod", Approvers: []string{"alice@example.com"}, RequiredApprovals: 1,
		CreatedAt: now, ExpiresAt: now.Add(time.Hour), OnExpiry: approval.Reject}
	r.Change.Known = true
	for i := range 300 {
		r.Change.TargetImages = append(r.Change.TargetImages, approval.Image{Container: "c", Image: "repo/<img>&" + strings.Repeat("x", i%7)})
	}
	for _, outcome := range []approval.Outcome{approval.Pending, approval.Approved} {
		r.Outcome = outcome
		m := Message("approvals/k.json", r, "alice@example.com", "https://review.example.com/review?token=t")
		raw, _ := json.Marshal(m.Blocks)
		var blocks []struct {
			Type string `json:"type"`
			Text *struct {
				Text string `json:"text"`
			} `json:"text"`
		}
		if err := json.Unmarshal(raw, &blocks); err != nil {
			t.Fatal(err)
		}
		for _, b := range blocks {
			if b.Text == nil {
				continue
			}
			max := maxSection
			if b.Type == "header" {
				max = maxHeader
			}
			if n := utf8.RuneCountInString(b.Text.Text); n > max {
				t.Errorf("%s %s block of %d characters, over %d", outcome, b.Type, n, max)
			}
			if b.Type == "section" && strings.ContainsAny(strings.NewReplacer("&amp;", "", "&lt;", "", "&gt;", "").Replace(b.Text.Text), "<>&") {
				t.Errorf("%s section with unescaped or cut markup: %q", outcome, b.Text.Text[len(b.Text.Text)-40:])
			}
		}
	}
}
