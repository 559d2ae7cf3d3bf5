package approval

import "strings"

// ApproverOfIdentity returns the approver address an IAM identity (an ARN)
// stands for, or "". Only names the caller cannot pick freely count: an IAM
// user's name, and the session name of an IAM Identity Center role
// (AWSReservedSSO_*), which is the user's sign-in name. A session name
// given to AssumeRole, or a federated user's name, is chosen by the caller
// and maps to nobody.
func ApproverOfIdentity(arn string, approvers []string) string {
	_, resource, ok := strings.Cut(arn, ":user/")
	if !ok {
		_, rest, isRole := strings.Cut(arn, ":assumed-role/")
		role, session, _ := strings.Cut(rest, "/")
		if !isRole || !strings.HasPrefix(role, "AWSReservedSSO_") {
			return ""
		}
		resource = session
	}
	name := resource[strings.LastIndex(resource, "/")+1:]
	for _, a := range approvers {
		if strings.EqualFold(a, name) {
			return a
		}
	}
	return ""
}
