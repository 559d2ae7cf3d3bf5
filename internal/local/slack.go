package local

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/review"
	"github.com/gatehouse-dev/gatehouse/internal/slackapi"
	"github.com/gatehouse-dev/gatehouse/internal/slackapp"
)

// SlackToken is the local Slack app's bot token.
const SlackToken = "xoxb-gatehouse-local"

// SlackMessage is a direct message from the gatehouse app, as the
// approver's Slack shows it.
type SlackMessage struct {
	Channel, TS string
	// To is the approver it was sent to.
	To     string
	Text   string
	Blocks json.RawMessage
	At     time.Time
	// Updates counts the rewrites (chat.update).
	Updates int
}

// About reports whether m is about the deployment with id: its facts name
// the deployment's ARN on a line of their own.
func (m SlackMessage) About(deploymentID string) bool {
	return strings.Contains(string(m.Blocks), "/"+deploymentID+`\n`)
}

// Live reports whether m still offers its buttons.
func (m SlackMessage) Live() bool {
	return strings.Contains(string(m.Blocks), slackapp.ActionApprove)
}

// SlackAnswer is an answer shown to one user alone (chat.postEphemeral).
type SlackAnswer struct {
	To   string
	Text string
	At   time.Time
}

// slackWorkspace is Slack as local mode plays it: the Web API the
// functions' own Slack client calls (at /slack-api/ on the dashboard's
// address), a user for each approver, and the direct messages, which the
// dashboard's outbox draws as Slack draws them. Its buttons send the
// review API a click signed as Slack signs it, with a local signing
// secret.
type slackWorkspace struct {
	l      *Local
	secret string

	mu      sync.Mutex
	msgs    []*SlackMessage
	answers []SlackAnswer
	file    *os.File
	changed chan struct{}
}

func newSlackWorkspace(l *Local) *slackWorkspace {
	raw := make([]byte, 16)
	_, _ = rand.Read(raw)
	return &slackWorkspace{l: l, secret: hex.EncodeToString(raw), changed: make(chan struct{})}
}

// slackUser is the Slack user ID of approver: stable across restarts.
func slackUser(approver string) string {
	sum := sha256.Sum256([]byte(strings.ToLower(approver)))
	return "U" + strings.ToUpper(hex.EncodeToString(sum[:5]))
}

// approverOf is the approver whose Slack user ID is id, or "".
func (s *slackWorkspace) approverOf(id string) string {
	for _, a := range s.l.subscribed() {
		if slackUser(a) == id {
			return a
		}
	}
	return ""
}

// ServeHTTP answers the Web API methods the Slack client calls.
func (s *slackWorkspace) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if r.Form.Get("token") != SlackToken && r.Header.Get("Authorization") != "Bearer "+SlackToken {
		answer(w, map[string]any{"ok": false, "error": "invalid_auth"})
		return
	}
	switch strings.TrimPrefix(r.URL.Path, "/slack-api/") {
	case "users.lookupByEmail":
		s.user(w, s.findApprover(r.Form.Get("email")))
	case "users.info":
		s.user(w, s.approverOf(r.Form.Get("user")))
	case "conversations.open":
		if s.approverOf(r.Form.Get("users")) == "" {
			answer(w, map[string]any{"ok": false, "error": "user_not_found"})
			return
		}
		answer(w, map[string]any{"ok": true, "channel": map[string]any{"id": "D" + r.Form.Get("users")}})
	case "chat.postMessage":
		answer(w, s.post(r.Form))
	case "chat.update":
		answer(w, s.update(r.Form))
	case "chat.postEphemeral":
		s.mu.Lock()
		s.answers = append(s.answers, SlackAnswer{To: s.approverOf(r.Form.Get("user")), Text: r.Form.Get("text"), At: s.l.Clock.Now()})
		s.mu.Unlock()
		answer(w, map[string]any{"ok": true, "message_ts": "0"})
	default:
		answer(w, map[string]any{"ok": false, "error": "unknown_method"})
	}
}

func answer(w http.ResponseWriter, v map[string]any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func (s *slackWorkspace) findApprover(email string) string {
	for _, a := range s.l.subscribed() {
		if strings.EqualFold(a, email) {
			return a
		}
	}
	return ""
}

func (s *slackWorkspace) user(w http.ResponseWriter, approver string) {
	if approver == "" {
		answer(w, map[string]any{"ok": false, "error": "users_not_found"})
		return
	}
	answer(w, map[string]any{"ok": true, "user": map[string]any{"id": slackUser(approver), "name": approver, "is_email_confirmed": true, "profile": map[string]any{"email": approver}}})
}

func (s *slackWorkspace) post(f url.Values) map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	to := s.approverOf(strings.TrimPrefix(f.Get("channel"), "D"))
	m := &SlackMessage{Channel: f.Get("channel"), TS: fmt.Sprintf("%d.%06d", time.Now().Unix(), len(s.msgs)+1), To: to,
		Text: f.Get("text"), Blocks: json.RawMessage(f.Get("blocks")), At: s.l.Clock.Now()}
	s.msgs = append(s.msgs, m)
	s.save(m)
	fmt.Fprintf(s.l.opts.Out, "  #  Slack to %s: %s\n", to, m.Text)
	return map[string]any{"ok": true, "channel": m.Channel, "ts": m.TS}
}

func (s *slackWorkspace) update(f url.Values) map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range s.msgs {
		if m.Channel == f.Get("channel") && m.TS == f.Get("ts") {
			m.Text, m.Blocks = f.Get("text"), json.RawMessage(f.Get("blocks"))
			m.Updates++
			s.save(m)
			return map[string]any{"ok": true, "channel": m.Channel, "ts": m.TS}
		}
	}
	return map[string]any{"ok": false, "error": "message_not_found"}
}

// save appends m as it now stands to the state directory's file, and
// wakes whoever waits for a change. Called with s.mu held.
func (s *slackWorkspace) save(m *SlackMessage) {
	if s.file != nil {
		if b, err := json.Marshal(m); err == nil {
			_, _ = s.file.Write(append(b, '\n'))
		}
	}
	close(s.changed)
	s.changed = make(chan struct{})
}

// persistTo keeps the messages in path, as JSON lines (the last line of a
// message is how it stands), after loading those already there.
func (s *slackWorkspace) persistTo(path string) error {
	if b, err := os.ReadFile(path); err == nil {
		byTS := map[string]*SlackMessage{}
		for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			if line == "" {
				continue
			}
			var m SlackMessage
			if err := json.Unmarshal([]byte(line), &m); err != nil {
				return fmt.Errorf("slack %s: %w", path, err)
			}
			if old, ok := byTS[m.TS]; ok {
				*old = m
				continue
			}
			byTS[m.TS] = &m
			s.msgs = append(s.msgs, &m)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("slack: %w", err)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("slack: %w", err)
	}
	s.file = f
	return nil
}

func (s *slackWorkspace) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.file != nil {
		_ = s.file.Close()
		s.file = nil
	}
}

// SlackMessages returns the Slack messages, oldest first, as they stand.
func (l *Local) SlackMessages() []SlackMessage {
	s := l.slack
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]SlackMessage, 0, len(s.msgs))
	for _, m := range s.msgs {
		out = append(out, *m)
	}
	return out
}

// SlackAnswers returns what the app answered each click, oldest first.
func (l *Local) SlackAnswers() []SlackAnswer {
	s := l.slack
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]SlackAnswer(nil), s.answers...)
}

// WaitSlack waits until a Slack message matching ok is there, or ctx ends.
func (l *Local) WaitSlack(ctx context.Context, ok func(SlackMessage) bool) (SlackMessage, error) {
	s := l.slack
	for {
		s.mu.Lock()
		for _, m := range s.msgs {
			if ok(*m) {
				s.mu.Unlock()
				return *m, nil
			}
		}
		changed := s.changed
		s.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			return SlackMessage{}, ctx.Err()
		}
	}
}

// SlackClick clicks the button action (slackapp.ActionApprove or
// ActionReject) of the Slack message ts as its addressee would: Slack
// posts the interaction, signed with the app's signing secret, to the
// review API. It returns what the app answered the clicking user.
func (l *Local) SlackClick(ctx context.Context, ts, action string) (string, error) {
	s := l.slack
	var m *SlackMessage
	s.mu.Lock()
	for _, x := range s.msgs {
		if x.TS == ts {
			c := *x
			m = &c
		}
	}
	answered := len(s.answers)
	s.mu.Unlock()
	if m == nil {
		return "", fmt.Errorf("no Slack message %s", ts)
	}
	value, ok := buttonValue(m.Blocks, action)
	if !ok {
		return "", fmt.Errorf("the Slack message to %s has no %s button", m.To, action)
	}
	user := slackUser(m.To)
	payload, _ := json.Marshal(map[string]any{
		"type": "block_actions", "user": map[string]any{"id": user, "username": m.To}, "channel": map[string]any{"id": m.Channel},
		"message": map[string]any{"ts": m.TS}, "actions": []map[string]any{{"action_id": action, "block_id": "gatehouse_decide", "value": value, "type": "button"}},
	})
	body := []byte(url.Values{"payload": {string(payload)}}.Encode())
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, l.UIURL+review.SlackPath, bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	stamp := strconv.FormatInt(time.Now().Unix(), 10)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set(slackapi.HeaderTimestamp, stamp)
	req.Header.Set(slackapi.HeaderSignature, slackapi.Sign(s.secret, stamp, body))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	msg, _ := io.ReadAll(io.LimitReader(res.Body, 4096))
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return "", fmt.Errorf("the review API answered %s: %s", res.Status, strings.TrimSpace(string(msg)))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, a := range s.answers[answered:] {
		if a.To == m.To {
			return a.Text, nil
		}
	}
	return "", nil
}

// buttonValue finds the value of the button action in blocks.
func buttonValue(blocks json.RawMessage, action string) (string, bool) {
	var bs []struct {
		Elements []struct {
			ActionID string `json:"action_id"`
			Value    string `json:"value"`
		} `json:"elements"`
	}
	if json.Unmarshal(blocks, &bs) != nil {
		return "", false
	}
	for _, b := range bs {
		for _, e := range b.Elements {
			if e.ActionID == action {
				return e.Value, true
			}
		}
	}
	return "", false
}
