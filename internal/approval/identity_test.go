package approval

import "testing"

func TestApproverOfIdentity(t *testing.T) {
	approvers := []string{"alice@example.com"}
	for arn, want := range map[string]string{
		"arn:aws:iam::123456789012:user/alice@example.com":                                       "alice@example.com",
		"arn:aws:iam::123456789012:user/team/Alice@Example.com":                                  "alice@example.com",
		"arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_Deployers_0123/alice@example.com": "alice@example.com",
		// Names the caller picks map to nobody.
		"arn:aws:sts::123456789012:assumed-role/Deployer/alice@example.com": "",
		"arn:aws:sts::123456789012:federated-user/alice@example.com":        "",
		"arn:aws:iam::123456789012:root":                                    "",
	} {
		if got := ApproverOfIdentity(arn, approvers); got != want {
			t.Errorf("ApproverOfIdentity(%s) = %q, want %q", arn, got, want)
		}
	}
}
