package local

import (
	"encoding/json"
	"html/template"
	"net/http"
	"net/url"
	"strings"
)

// slackView is a Slack message as the dashboard draws it: as Slack draws
// its Block Kit blocks.
type slackView struct {
	To, At, TS string
	Updates    int
	Blocks     []blockView
}

// blockView is one block: a header, a section (text, or preformatted), a
// context line, or buttons.
type blockView struct {
	Kind    string
	Text    []textRun
	Pre     string
	Buttons []buttonView
}

// textRun is a run of mrkdwn text, bold or not.
type textRun struct {
	Text string
	Bold bool
}

type buttonView struct {
	Text, Style, Action, URL, TS string
}

// The Block Kit JSON the dashboard reads.
type kitText struct {
	Text string `json:"text"`
}

type kitConfirm struct {
	Title   kitText `json:"title"`
	Text    kitText `json:"text"`
	Confirm kitText `json:"confirm"`
	Deny    kitText `json:"deny"`
}

type kitBlock struct {
	Type     string   `json:"type"`
	Text     *kitText `json:"text"`
	Elements []struct {
		Type string `json:"type"`
		// Text is a text object for a button, a string for a context's
		// text element.
		Text     kitElementText `json:"text"`
		ActionID string         `json:"action_id"`
		URL      string         `json:"url"`
		Style    string         `json:"style"`
		Confirm  *kitConfirm    `json:"confirm"`
	} `json:"elements"`
}

// kitElementText is an element's text: an object or a string.
type kitElementText struct{ Text string }

func (k *kitElementText) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		return json.Unmarshal(b, &k.Text)
	}
	var t kitText
	err := json.Unmarshal(b, &t)
	k.Text = t.Text
	return err
}

// newSlackView draws m.
func newSlackView(m SlackMessage) slackView {
	v := slackView{To: m.To, At: clock(m.At), TS: m.TS, Updates: m.Updates}
	var blocks []kitBlock
	if json.Unmarshal(m.Blocks, &blocks) != nil {
		v.Blocks = []blockView{{Kind: "section", Text: []textRun{{Text: m.Text}}}}
		return v
	}
	for _, b := range blocks {
		bv := blockView{Kind: b.Type}
		switch b.Type {
		case "header", "section":
			if b.Text != nil {
				if pre, ok := strings.CutPrefix(b.Text.Text, "```"); ok {
					bv.Pre = unescape(strings.TrimSuffix(pre, "```"))
				} else {
					bv.Text = mrkdwn(b.Text.Text)
				}
			}
		case "context":
			for _, e := range b.Elements {
				bv.Text = append(bv.Text, mrkdwn(e.Text.Text)...)
			}
		case "actions":
			for _, e := range b.Elements {
				bv.Buttons = append(bv.Buttons, buttonView{Text: e.Text.Text, Style: e.Style, Action: e.ActionID, URL: e.URL, TS: m.TS})
			}
		}
		v.Blocks = append(v.Blocks, bv)
	}
	return v
}

// mrkdwn reads Slack's *bold* and its escapes.
func mrkdwn(s string) []textRun {
	var out []textRun
	parts := strings.Split(s, "*")
	for i, p := range parts {
		if p != "" {
			out = append(out, textRun{Text: unescape(p), Bold: i%2 == 1 && i < len(parts)-1})
		}
	}
	return out
}

func unescape(s string) string {
	return strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&").Replace(s)
}

// confirmOf is the confirm dialog of the button action of message ts.
func (l *Local) confirmOf(ts, action string) (SlackMessage, *kitConfirm, bool) {
	for _, m := range l.SlackMessages() {
		if m.TS != ts {
			continue
		}
		var blocks []kitBlock
		_ = json.Unmarshal(m.Blocks, &blocks)
		for _, b := range blocks {
			for _, e := range b.Elements {
				if e.ActionID == action && e.Confirm != nil {
					return m, e.Confirm, true
				}
			}
		}
	}
	return SlackMessage{}, nil, false
}

// slackConfirm shows a button's confirm dialog, as Slack does before it
// posts the click: GET changes nothing.
func (d *dashboard) slackConfirm(w http.ResponseWriter, r *http.Request) {
	ts, action := r.URL.Query().Get("ts"), r.URL.Query().Get("action")
	m, c, ok := d.l.confirmOf(ts, action)
	if !ok {
		http.Redirect(w, r, "/?msg="+url.QueryEscape("That Slack button is gone: the message was rewritten."), http.StatusSeeOther)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = confirmTmpl.Execute(w, map[string]any{"To": m.To, "TS": ts, "Action": action, "C": c, "Danger": action == "gatehouse_reject"})
}

// slackClick posts the click, as Slack would, and shows what the app
// answered the clicking approver.
func (d *dashboard) slackClick(w http.ResponseWriter, r *http.Request) {
	if !d.sameSite(w, r) {
		return
	}
	said, err := d.l.SlackClick(r.Context(), r.FormValue("ts"), r.FormValue("action"))
	msg := "Slack, to you alone: " + said
	if err != nil {
		msg = "Slack: " + err.Error()
	}
	http.Redirect(w, r, "/?msg="+url.QueryEscape(msg), http.StatusSeeOther)
}

var confirmTmpl = template.Must(template.New("confirm").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{.C.Title.Text}}</title>
<style>body{font:15px/1.45 system-ui,sans-serif;background:#1a1d21cc;margin:0;display:flex;min-height:100vh;align-items:center;justify-content:center}
.dialog{background:#fff;border-radius:8px;padding:1.2rem 1.5rem;max-width:30rem;box-shadow:0 8px 30px #0006}
h1{font-size:1.15rem;margin:0 0 .6rem}.actions{display:flex;gap:.6rem;justify-content:flex-end;margin-top:1rem}
button,a.deny{font:inherit;font-weight:600;padding:.35rem 1rem;border-radius:4px;border:1px solid #bbb;background:#fff;color:#1d1c1d;cursor:pointer;text-decoration:none}
button{background:#007a5a;border-color:#007a5a;color:#fff}button.danger{background:#e01e5a;border-color:#e01e5a}
small{color:#616061}</style></head>
<body><div class="dialog" role="dialog" aria-labelledby="t"><small>Slack, as {{.To}}</small>
<h1 id="t">{{.C.Title.Text}}</h1><p>{{.C.Text.Text}}</p>
<form method="post" action="/slack/click" class="actions"><input type="hidden" name="ts" value="{{.TS}}"><input type="hidden" name="action" value="{{.Action}}">
<a class="deny" href="/">{{.C.Deny.Text}}</a><button type="submit" id="slack-confirm"{{if .Danger}} class="danger"{{end}}>{{.C.Confirm.Text}}</button></form>
</div></body></html>
`))
