package slackapi

import (
	"errors"
	"net/http"
	"strconv"
	"testing"
	"time"
)

// Slack's documented example ("Verifying requests from Slack").
const (
	docSecret    = "8f742231b10e8888abcd99yyyzzz85a5"
	docTimestamp = "1531420618"
	docBody      = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
	docSignature = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
)

func TestVerify(t *testing.T) {
	at := time.Unix(1531420618, 0)
	header := func(sig, ts string) http.Header {
		h := http.Header{}
		if sig != "" {
			h.Set(HeaderSignature, sig)
		}
		if ts != "" {
			h.Set(HeaderTimestamp, ts)
		}
		return h
	}
	if got := Sign(docSecret, docTimestamp, []byte(docBody)); got != docSignature {
		t.Errorf("Sign = %s, want Slack's %s", got, docSignature)
	}
	tests := []struct {
		name   string
		header http.Header
		body   string
		secret string
		now    time.Time
		want   error
	}{
		{"Slack's example", header(docSignature, docTimestamp), docBody, docSecret, at, nil},
		{"4 minutes later", header(docSignature, docTimestamp), docBody, docSecret, at.Add(4 * time.Minute), nil},
		{"6 minutes later", header(docSignature, docTimestamp), docBody, docSecret, at.Add(6 * time.Minute), ErrStale},
		{"6 minutes early", header(docSignature, docTimestamp), docBody, docSecret, at.Add(-6 * time.Minute), ErrStale},
		{"another body", header(docSignature, docTimestamp), docBody + "&x=1", docSecret, at, ErrBadSignature},
		{"another secret", header(docSignature, docTimestamp), docBody, docSecret + "0", at, ErrBadSignature},
		{"another timestamp", header(docSignature, strconv.Itoa(1531420619)), docBody, docSecret, at, ErrBadSignature},
		{"v1", header("v1="+docSignature[3:], docTimestamp), docBody, docSecret, at, ErrBadSignature},
		{"no signature", header("", docTimestamp), docBody, docSecret, at, ErrUnsigned},
		{"no timestamp", header(docSignature, ""), docBody, docSecret, at, ErrUnsigned},
		{"a timestamp that is no number", header(docSignature, "soon"), docBody, docSecret, at, ErrUnsigned},
		{"no secret configured", header(docSignature, docTimestamp), docBody, "", at, ErrUnsigned},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := Verify(tt.header, []byte(tt.body), tt.secret, tt.now); !errors.Is(err, tt.want) {
				t.Errorf("Verify = %v, want %v", err, tt.want)
			}
		})
	}
}
