package hook

import (
	"fmt"
	"strings"
)

// DeploymentARN is a parsed service-deployment ARN:
// arn:PARTITION:ecs:REGION:ACCOUNT:service-deployment/CLUSTER/SERVICE/ID.
type DeploymentARN struct {
	Partition string
	Region    string
	Account   string
	Cluster   string
	Service   string
	ID        string
}

// ParseDeploymentARN parses s as an ECS service-deployment ARN.
func ParseDeploymentARN(s string) (DeploymentARN, error) {
	parts := strings.SplitN(s, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "ecs" {
		return DeploymentARN{}, fmt.Errorf("%q is not an ECS ARN", s)
	}
	res := strings.Split(parts[5], "/")
	if len(res) != 4 || res[0] != "service-deployment" {
		return DeploymentARN{}, fmt.Errorf("%q is not a service-deployment ARN", s)
	}
	a := DeploymentARN{
		Partition: parts[1],
		Region:    parts[3],
		Account:   parts[4],
		Cluster:   res[1],
		Service:   res[2],
		ID:        res[3],
	}
	for _, f := range []string{a.Partition, a.Region, a.Account, a.Cluster, a.Service, a.ID} {
		if f == "" || !safeSegment(f) {
			return DeploymentARN{}, fmt.Errorf("%q is not a service-deployment ARN", s)
		}
	}
	return a, nil
}

// String returns the ARN in its canonical form.
func (a DeploymentARN) String() string {
	return fmt.Sprintf("arn:%s:ecs:%s:%s:service-deployment/%s/%s/%s",
		a.Partition, a.Region, a.Account, a.Cluster, a.Service, a.ID)
}

// ServiceARN returns the ARN of the service the deployment belongs to.
func (a DeploymentARN) ServiceARN() string {
	return fmt.Sprintf("arn:%s:ecs:%s:%s:service/%s/%s",
		a.Partition, a.Region, a.Account, a.Cluster, a.Service)
}

// safeSegment reports whether s contains only the characters ECS allows in
// cluster names, service names, regions, accounts and deployment ids. Keys
// and paths are built from these segments, so nothing else is let through.
func safeSegment(s string) bool {
	for _, c := range s {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_':
		default:
			return false
		}
	}
	return true
}
