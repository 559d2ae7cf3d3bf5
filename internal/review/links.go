// Package review is the review API: the HTTP handler behind every review
// link, and the Links that make those links. Opening a link (GET or HEAD) only
// shows the deployment, because mail scanners open every link they see; only
// posting the page's form records a decision. The signed token in the link is
// the credential.
package review

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/gatehouse-dev/gatehouse/internal/approval"
	"github.com/gatehouse-dev/gatehouse/internal/token"
)

// Path is where review pages are served, below the review base URL.
const Path = "/review"

// ReportPath serves the smoke report of the request a token opens.
const ReportPath = Path + "/report"

// Keys supplies the signing keys. *secrets.Keyring and token.Keyring satisfy it.
type Keys interface {
	Keys(ctx context.Context) (token.Keyring, error)
}

// Links makes signed review links under a base URL.
type Links struct {
	// Base is the review API's base URL (GATEHOUSE_REVIEW_URL).
	Base string
	Keys Keys
}

// Link returns approver's review link for r (a shared link when approver is
// empty). The token expires with the request.
func (l Links) Link(ctx context.Context, r *approval.Request, approver string) (string, error) {
	keys, err := l.Keys.Keys(ctx)
	if err != nil {
		return "", fmt.Errorf("signing keys: %w", err)
	}
	tok, err := keys.Sign(token.Claims{
		Deployment: r.DeploymentARN,
		Stage:      string(r.Stage),
		Gate:       r.Gate,
		Request:    r.ID,
		Approver:   approver,
		Expires:    r.ExpiresAt.Unix(),
	})
	if err != nil {
		return "", err
	}
	base := l.Base
	if base == "" {
		// The review API, given no review URL: the base the request's
		// links were made with.
		base = r.ReviewBase
	}
	if base == "" {
		return "", errors.New("no review URL to make the link with")
	}
	return strings.TrimRight(base, "/") + Path + "?token=" + url.QueryEscape(tok), nil
}

// BaseURL is the base of the links l makes.
func (l Links) BaseURL() string { return l.Base }
