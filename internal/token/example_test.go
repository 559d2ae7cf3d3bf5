package token_test

import (
	"fmt"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/token"
)

// Links are signed with the current key and verified against the current
// and previous keys, so a rotation does not break links already sent.
func Example() {
	old, _ := token.NewKey([]byte(strings.Repeat("o", 32)))
	cur, _ := token.NewKey([]byte(strings.Repeat("c", 32)))
	now := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)

	sent, _ := token.Keyring{Current: old}.Sign(token.Claims{
		Deployment: "arn:aws:ecs:us-west-2:123456789012:service-deployment/prod/orders/d1",
		Stage:      "POST_TEST_TRAFFIC_SHIFT",
		Request:    "7f3a",
		Approver:   "alice@example.com",
		Expires:    now.Add(4 * time.Hour).Unix(),
	})

	rotated := token.Keyring{Current: cur, Previous: []token.Key{old}}
	c, err := rotated.Verify(sent, now)
	fmt.Println(c.Approver, err)
	_, err = rotated.Verify(sent, now.Add(5*time.Hour))
	fmt.Println(err)
	_, err = token.Keyring{Current: cur}.Verify(sent, now)
	fmt.Println(err)
	// Output:
	// alice@example.com <nil>
	// token expired
	// invalid token
}
