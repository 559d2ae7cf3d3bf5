package local

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/notify"
)

// Mail is one message in the outbox, as the addressee would receive it.
type Mail struct {
	ID      string
	At      time.Time
	To      string // the approver, or "" for a shared-link message
	Subject string
	Body    string
	Link    string // the review link in the body, if any
}

var linkRE = regexp.MustCompile(`https?://\S+/review\?token=\S+`)

// Outbox stands in for SNS email in local mode: it keeps every message and
// prints it to the terminal. It implements the approval gate's Notifier.
type Outbox struct {
	mu      sync.Mutex
	mails   []Mail
	now     func() time.Time
	out     io.Writer
	file    *os.File
	changed chan struct{}
}

// NewOutbox returns an empty outbox printing to out (nil: nowhere).
func NewOutbox(now func() time.Time, out io.Writer) *Outbox {
	if out == nil {
		out = io.Discard
	}
	return &Outbox{now: now, out: out, changed: make(chan struct{})}
}

// Publish keeps m and prints it. It refuses what SNS refuses.
func (o *Outbox) Publish(ctx context.Context, m notify.Message) (string, error) {
	if err := notify.Validate(m); err != nil {
		return "", err
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	mail := Mail{ID: fmt.Sprintf("mail-%d", len(o.mails)+1), At: o.now(), To: m.Approver, Subject: m.Subject, Body: m.Body, Link: linkRE.FindString(m.Body)}
	o.mails = append(o.mails, mail)
	if o.file != nil {
		if b, err := json.Marshal(mail); err == nil {
			_, _ = o.file.Write(append(b, '\n'))
		}
	}
	to := mail.To
	if to == "" {
		to = "everyone subscribed"
	}
	fmt.Fprintf(o.out, "  ✉  to %s: %s\n", to, mail.Subject)
	if mail.Link != "" {
		fmt.Fprintf(o.out, "     review link %s (open it from the dashboard's outbox)\n", shortLink(mail.Link))
	}
	close(o.changed)
	o.changed = make(chan struct{})
	return mail.ID, nil
}

// shortLink is a review link cut short for the terminal: enough to tell
// one from another; the whole link, which signs the reviewer in, is in the
// dashboard's outbox.
func shortLink(link string) string {
	base, token, ok := strings.Cut(link, "?token=")
	if !ok || len(token) <= 12 {
		return link
	}
	return base + "?token=" + token[:12] + "…"
}

// Mails returns every message so far, oldest first.
func (o *Outbox) Mails() []Mail {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]Mail(nil), o.mails...)
}

// Wait waits until a message matching ok arrives, or ctx ends.
func (o *Outbox) Wait(ctx context.Context, ok func(Mail) bool) (Mail, error) {
	for {
		o.mu.Lock()
		for _, m := range o.mails {
			if ok(m) {
				o.mu.Unlock()
				return m, nil
			}
		}
		changed := o.changed
		o.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			return Mail{}, ctx.Err()
		}
	}
}

// IsReview reports whether m asks for a review of the deployment with id.
func IsReview(m Mail, deploymentID string) bool {
	return strings.HasPrefix(m.Subject, "[gatehouse] Approve") && strings.Contains(m.Body, "/"+deploymentID+"\n") && m.Link != ""
}

// persistTo appends every message to path as a JSON line, after loading the
// messages already there.
func (o *Outbox) persistTo(path string) error {
	if b, err := os.ReadFile(path); err == nil {
		for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			if line == "" {
				continue
			}
			var m Mail
			if err := json.Unmarshal([]byte(line), &m); err != nil {
				return fmt.Errorf("outbox %s: %w", path, err)
			}
			o.mails = append(o.mails, m)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("outbox: %w", err)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	o.file = f
	return nil
}

func (o *Outbox) close() {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.file != nil {
		_ = o.file.Close()
		o.file = nil
	}
}
