package token

import (
	"bytes"
	"encoding/base64"
	"errors"
	"go/ast"
	"go/parser"
	"go/printer"
	gotoken "go/token"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var now = time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)

func key(t testing.TB, s string) Key {
	t.Helper()
	k, err := NewKey(bytes.Repeat([]byte(s), MinKeyLen))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func claims() Claims {
	return Claims{
		Deployment: "arn:aws:ecs:us-west-2:123456789012:service-deployment/prod-cluster/orders/EZe5RNVLH6PPzHXINuP28",
		Stage:      "POST_TEST_TRAFFIC_SHIFT",
		Request:    "4f1c2d3e",
		Approver:   "alice@example.com",
		Expires:    now.Add(4 * time.Hour).Unix(),
	}
}

func TestSignVerify(t *testing.T) {
	old, cur, other := key(t, "o"), key(t, "c"), key(t, "x")
	ring := Keyring{Current: cur, Previous: []Key{old}}
	tok, err := ring.Sign(claims())
	if err != nil {
		t.Fatal(err)
	}
	got, err := ring.Verify(tok, now)
	if err != nil {
		t.Fatalf("Verify(own token) = %v", err)
	}
	want := claims()
	want.KeyID = cur.ID
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("claims (-want +got):\n%s", diff)
	}

	// Rotation: a token signed under the old key still verifies while the
	// old key is kept as previous, and stops once it is dropped.
	oldTok, err := Keyring{Current: old}.Sign(claims())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ring.Verify(oldTok, now); err != nil {
		t.Errorf("Verify(token under previous key) = %v, want nil", err)
	}
	if _, err := (Keyring{Current: cur}).Verify(oldTok, now); !errors.Is(err, ErrInvalid) {
		t.Errorf("Verify(token under dropped key) = %v, want ErrInvalid", err)
	}
	if _, err := (Keyring{Current: other}).Verify(tok, now); !errors.Is(err, ErrInvalid) {
		t.Errorf("Verify(foreign key) = %v, want ErrInvalid", err)
	}

	// Expiry.
	if _, err := ring.Verify(tok, now.Add(4*time.Hour)); !errors.Is(err, ErrExpired) {
		t.Errorf("Verify(at expiry) = %v, want ErrExpired", err)
	}
	if _, err := ring.Verify(tok, now.Add(4*time.Hour-time.Second)); err != nil {
		t.Errorf("Verify(just before expiry) = %v, want nil", err)
	}
}

func TestTampering(t *testing.T) {
	ring := Keyring{Current: key(t, "c")}
	tok, err := ring.Sign(claims())
	if err != nil {
		t.Fatal(err)
	}
	payload, sig, _ := strings.Cut(tok, ".")
	reencode := func(mut func(string) string) string {
		raw, _ := base64.RawURLEncoding.DecodeString(payload)
		return base64.RawURLEncoding.EncodeToString([]byte(mut(string(raw)))) + "." + sig
	}
	cases := map[string]string{
		"empty":            "",
		"no dot":           payload + sig,
		"bad base64":       payload + ".!!!",
		"short sig":        payload + "." + sig[:10],
		"other approver":   reencode(func(s string) string { return strings.Replace(s, "alice", "mallory", 1) }),
		"longer expiry":    reencode(func(s string) string { return strings.Replace(s, `"e":`, `"e":9`, 1) }),
		"other deployment": reencode(func(s string) string { return strings.Replace(s, "orders", "billing", 1) }),
		"flipped sig bit":  payload + "." + flip(sig),
		"too long":         strings.Repeat("a", MaxLen+1),
		"unknown key id":   reencode(func(s string) string { return strings.Replace(s, `"k":"`, `"k":"z`, 1) }),
	}
	for name, bad := range cases {
		if _, err := ring.Verify(bad, now); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: Verify = %v, want ErrInvalid", name, err)
		}
	}
}

func flip(sig string) string {
	b, _ := base64.RawURLEncoding.DecodeString(sig)
	b[0] ^= 1
	return base64.RawURLEncoding.EncodeToString(b)
}

func TestMissingClaimsRefused(t *testing.T) {
	ring := Keyring{Current: key(t, "c")}
	c := claims()
	c.Request = ""
	tok, err := ring.Sign(c)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ring.Verify(tok, now); !errors.Is(err, ErrInvalid) {
		t.Errorf("Verify(token without request id) = %v, want ErrInvalid", err)
	}
}

func TestKeys(t *testing.T) {
	if _, err := NewKey([]byte("short")); err == nil {
		t.Error("NewKey(short) = nil error, want one")
	}
	if _, err := (Keyring{}).Sign(claims()); err == nil {
		t.Error("Sign without a key = nil error, want one")
	}
	a, b := key(t, "a"), key(t, "a")
	if a.ID != b.ID || a.ID == key(t, "b").ID {
		t.Errorf("key ids: same secret %q/%q, different secret %q", a.ID, b.ID, key(t, "b").ID)
	}
	secret := strings.Repeat("k", 40)
	for _, text := range []string{secret, `{"key":"` + secret + `"}`, "  " + secret + "\n"} {
		k, err := ParseSecret(text)
		if err != nil || string(k.Secret) != secret {
			t.Errorf("ParseSecret(%q) = %q, %v", text, k.Secret, err)
		}
	}
	for _, text := range []string{"", `{"other":"x"}`, `{"key":"short"}`, `{bad json`} {
		if _, err := ParseSecret(text); err == nil {
			t.Errorf("ParseSecret(%q) = nil error, want one", text)
		}
	}
}

func FuzzVerify(f *testing.F) {
	ring := Keyring{Current: key(f, "c")}
	tok, err := ring.Sign(claims())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(tok)
	f.Add("")
	f.Add("a.b")
	f.Add(strings.Repeat(".", 50))
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ring.Verify(s, now)
		if err == nil && s != tok {
			// Only the genuine token may verify; anything else that does is
			// a forgery.
			t.Fatalf("Verify(%q) accepted claims %+v", s, c)
		}
	})
}

// TestTamperingAnywhere: changing any one byte of a token, in its claims
// or anywhere in its signature, makes it invalid: the whole signature is
// compared, not a prefix.
func TestTamperingAnywhere(t *testing.T) {
	ring := Keyring{Current: key(t, "c")}
	tok, err := ring.Sign(claims())
	if err != nil {
		t.Fatal(err)
	}
	payload, sig, _ := strings.Cut(tok, ".")
	raw, _ := base64.RawURLEncoding.DecodeString(sig)
	for i := range raw {
		b := slices.Clone(raw)
		b[i] ^= 0x80
		if _, err := ring.Verify(payload+"."+base64.RawURLEncoding.EncodeToString(b), now); !errors.Is(err, ErrInvalid) {
			t.Errorf("signature byte %d flipped: Verify = %v, want ErrInvalid", i, err)
		}
	}
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	for i := range tok {
		if tok[i] == '.' {
			continue
		}
		other := alphabet[(strings.IndexByte(alphabet, tok[i])+1)%len(alphabet)]
		bad := tok[:i] + string(other) + tok[i+1:]
		if _, err := ring.Verify(bad, now); !errors.Is(err, ErrInvalid) {
			t.Errorf("character %d changed: Verify = %v, want ErrInvalid", i, err)
		}
	}
}

// TestSignatureComparedInConstantTime: the signature is compared with
// hmac.Equal, whose time does not depend on where the bytes differ; no
// bytes.Equal, == or a loop stands in for it. Timing cannot be measured
// reliably in a test, so the source is read.
func TestSignatureComparedInConstantTime(t *testing.T) {
	fset := gotoken.NewFileSet()
	file, err := parser.ParseFile(fset, "token.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var verify *ast.FuncDecl
	for _, d := range file.Decls {
		if fn, ok := d.(*ast.FuncDecl); ok && fn.Name.Name == "Verify" {
			verify = fn
		}
	}
	if verify == nil {
		t.Fatal("no Verify in token.go")
	}
	constantTime := false
	ast.Inspect(verify, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.CallExpr:
			if sel, ok := n.Fun.(*ast.SelectorExpr); ok {
				pkg, _ := sel.X.(*ast.Ident)
				switch {
				case pkg != nil && pkg.Name == "hmac" && sel.Sel.Name == "Equal" && len(n.Args) == 2 && astString(fset, n.Args[0]) == "got":
					constantTime = true
				case pkg != nil && (pkg.Name == "bytes" || pkg.Name == "reflect" || pkg.Name == "slices") && strings.Contains(sel.Sel.Name, "Equal"):
					t.Errorf("%s: %s.%s compares in variable time", fset.Position(n.Pos()), pkg.Name, sel.Sel.Name)
				}
			}
		case *ast.BinaryExpr:
			if (n.Op.String() == "==" || n.Op.String() == "!=") && (strings.Contains(astString(fset, n), "got") && strings.Contains(astString(fset, n), "mac(")) {
				t.Errorf("%s: the signature compared with %s", fset.Position(n.Pos()), n.Op)
			}
		}
		return true
	})
	if !constantTime {
		t.Error("Verify does not compare the signature (got) with hmac.Equal")
	}
}

func astString(fset *gotoken.FileSet, n ast.Node) string {
	var b strings.Builder
	_ = printer.Fprint(&b, fset, n)
	return b.String()
}
