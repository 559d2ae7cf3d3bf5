// Package slackapitest is a Slack workspace for tests: slack-go's test
// server (slacktest), the stand-in for Slack's Web API, taught the calls
// gatehouse makes: a directory of users (users.lookupByEmail, users.info),
// direct messages (conversations.open), messages it keeps and lets tests
// read (chat.postMessage, chat.update, chat.postEphemeral), and failures
// on demand (a rate limit with Retry-After, a 5xx, "ok": false). It
// listens on loopback only.
package slackapitest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"testing"

	"github.com/slack-go/slack/slacktest"
)

// User is one member of the workspace.
type User struct {
	ID, Email string
	// Deleted marks a deactivated account; an empty Email one whose
	// address Slack does not give; Bot an app's user; Stranger a member of
	// another organization; Unconfirmed an address the user never
	// confirmed.
	Deleted, Bot, Stranger, Unconfirmed bool
}

// Message is a message as the workspace holds it.
type Message struct {
	Channel, TS, Text string
	// Blocks is the Block Kit layout as posted (JSON).
	Blocks json.RawMessage
	// Updates counts the chat.update calls that rewrote it.
	Updates int
}

// Ephemeral is a message shown to one user.
type Ephemeral struct{ Channel, User, Text string }

// Failure is how the next calls of a method fail.
type Failure struct {
	// Status is the HTTP status (429 with RetryAfter, a 5xx), or 0 for an
	// "ok": false answer naming Error.
	Status     int
	RetryAfter int
	Error      string
	// Times is how many calls fail (0: one).
	Times int
}

// Workspace is a running stand-in for Slack's Web API.
type Workspace struct {
	srv *slacktest.Server

	mu         sync.Mutex
	users      []User
	messages   []*Message
	ephemerals []Ephemeral
	calls      map[string]int
	fail       map[string]*Failure
	next       int
}

// New starts a workspace with users; it stops when the test ends.
func New(t testing.TB, users ...User) *Workspace {
	w := &Workspace{users: users, calls: map[string]int{}, fail: map[string]*Failure{}}
	w.srv = slacktest.NewTestServer(func(c slacktest.Customize) {
		for method, h := range map[string]func(http.ResponseWriter, *http.Request){
			"users.lookupByEmail": w.lookupByEmail,
			"users.info":          w.usersInfo,
			"conversations.open":  w.conversationsOpen,
			"chat.postMessage":    w.postMessage,
			"chat.update":         w.update,
			"chat.postEphemeral":  w.postEphemeral,
		} {
			c.Handle("/"+method, w.counted(method, h))
		}
	})
	w.srv.Start()
	t.Cleanup(w.srv.Stop)
	return w
}

// APIURL is the workspace's Web API base URL (GATEHOUSE_SLACK_API_URL).
func (w *Workspace) APIURL() string { return w.srv.GetAPIURL() }

// Fail makes the next calls of method fail as f says.
func (w *Workspace) Fail(method string, f Failure) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if f.Times == 0 {
		f.Times = 1
	}
	w.fail[method] = &f
}

// Calls returns how many calls of method the workspace answered, failures
// included.
func (w *Workspace) Calls(method string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.calls[method]
}

// Messages returns the messages posted, in order, as they now stand.
func (w *Workspace) Messages() []Message {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]Message, 0, len(w.messages))
	for _, m := range w.messages {
		out = append(out, *m)
	}
	return out
}

// Ephemerals returns the ephemeral messages shown, in order.
func (w *Workspace) Ephemerals() []Ephemeral {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]Ephemeral(nil), w.ephemerals...)
}

// DM is the direct message channel of the app with the user id.
func DM(id string) string { return "D" + id }

func (w *Workspace) counted(method string, h http.HandlerFunc) http.HandlerFunc {
	return func(rw http.ResponseWriter, r *http.Request) {
		w.mu.Lock()
		w.calls[method]++
		f := w.fail[method]
		if f != nil {
			if f.Times--; f.Times <= 0 {
				delete(w.fail, method)
			}
		}
		w.mu.Unlock()
		if f != nil {
			if f.RetryAfter > 0 {
				rw.Header().Set("Retry-After", strconv.Itoa(f.RetryAfter))
			}
			if f.Status != 0 {
				http.Error(rw, "slack is having a bad day", f.Status)
				return
			}
			answer(rw, map[string]any{"ok": false, "error": f.Error})
			return
		}
		if err := r.ParseForm(); err != nil {
			http.Error(rw, err.Error(), http.StatusBadRequest)
			return
		}
		h(rw, r)
	}
}

func answer(rw http.ResponseWriter, v map[string]any) {
	rw.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(rw).Encode(v)
}

func (w *Workspace) user(match func(User) bool) (User, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, u := range w.users {
		if match(u) {
			return u, true
		}
	}
	return User{}, false
}

func userJSON(u User) map[string]any {
	return map[string]any{"id": u.ID, "name": u.ID, "deleted": u.Deleted, "is_bot": u.Bot, "is_stranger": u.Stranger,
		"is_email_confirmed": u.Email != "" && !u.Unconfirmed, "profile": map[string]any{"email": u.Email}}
}

func (w *Workspace) lookupByEmail(rw http.ResponseWriter, r *http.Request) {
	email := r.Form.Get("email")
	u, ok := w.user(func(u User) bool { return email != "" && u.Email == email })
	if !ok {
		answer(rw, map[string]any{"ok": false, "error": "users_not_found"})
		return
	}
	answer(rw, map[string]any{"ok": true, "user": userJSON(u)})
}

func (w *Workspace) usersInfo(rw http.ResponseWriter, r *http.Request) {
	id := r.Form.Get("user")
	u, ok := w.user(func(u User) bool { return u.ID == id })
	if !ok {
		answer(rw, map[string]any{"ok": false, "error": "user_not_found"})
		return
	}
	answer(rw, map[string]any{"ok": true, "user": userJSON(u)})
}

func (w *Workspace) conversationsOpen(rw http.ResponseWriter, r *http.Request) {
	id := r.Form.Get("users")
	if _, ok := w.user(func(u User) bool { return u.ID == id && !u.Deleted }); !ok {
		answer(rw, map[string]any{"ok": false, "error": "user_not_found"})
		return
	}
	answer(rw, map[string]any{"ok": true, "channel": map[string]any{"id": DM(id)}})
}

func (w *Workspace) postMessage(rw http.ResponseWriter, r *http.Request) {
	w.mu.Lock()
	w.next++
	m := &Message{Channel: r.Form.Get("channel"), TS: fmt.Sprintf("1765000000.%06d", w.next), Text: r.Form.Get("text"), Blocks: blocks(r)}
	w.messages = append(w.messages, m)
	w.mu.Unlock()
	answer(rw, map[string]any{"ok": true, "channel": m.Channel, "ts": m.TS})
}

func (w *Workspace) update(rw http.ResponseWriter, r *http.Request) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, m := range w.messages {
		if m.Channel == r.Form.Get("channel") && m.TS == r.Form.Get("ts") {
			m.Text, m.Blocks = r.Form.Get("text"), blocks(r)
			m.Updates++
			answer(rw, map[string]any{"ok": true, "channel": m.Channel, "ts": m.TS, "text": m.Text})
			return
		}
	}
	answer(rw, map[string]any{"ok": false, "error": "message_not_found"})
}

func (w *Workspace) postEphemeral(rw http.ResponseWriter, r *http.Request) {
	w.mu.Lock()
	w.ephemerals = append(w.ephemerals, Ephemeral{Channel: r.Form.Get("channel"), User: r.Form.Get("user"), Text: r.Form.Get("text")})
	w.mu.Unlock()
	answer(rw, map[string]any{"ok": true, "message_ts": "1765000000.999999"})
}

func blocks(r *http.Request) json.RawMessage {
	if b := r.Form.Get("blocks"); b != "" {
		return json.RawMessage(b)
	}
	return nil
}
