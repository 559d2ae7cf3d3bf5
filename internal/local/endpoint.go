package local

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/gatehouse-dev/gatehouse/internal/ecsdeploy"
	"github.com/gatehouse-dev/gatehouse/internal/hook"
	"github.com/gatehouse-dev/gatehouse/internal/simulator"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// endpointFile is where a running local mode tells the operator commands
// (gatehouse list|status|approve|reject --local) how to reach it.
const endpointFile = "endpoint.json"

// Endpoint is how a running local mode is reached from another process on
// this machine: its embedded S3 server, which holds the approval requests,
// and its simulated clock, so that a vote is cast at the simulated time.
type Endpoint struct {
	// S3 is the embedded S3 server's URL (loopback), Bucket the state
	// bucket, Region its region.
	S3     string `json:"s3"`
	Bucket string `json:"bucket"`
	Region string `json:"region"`
	// Dashboard is the dashboard's URL.
	Dashboard string `json:"dashboard"`
	// Account is the simulated AWS account.
	Account string `json:"account"`
	// Approvers are the configured approvers.
	Approvers []string `json:"approvers"`
	// Clock is the simulated clock's start.
	Clock simulator.Anchor `json:"clock"`
	// stateDir is where it was read from.
	stateDir string
}

// writeEndpoint records how to reach l, for as long as it runs.
func (l *Local) writeEndpoint() error {
	e := Endpoint{S3: l.s3URL, Bucket: Bucket, Region: Service.Region, Dashboard: l.UIURL, Account: Service.Account,
		Approvers: l.subscribed(), Clock: l.Clock.Anchor()}
	b, err := json.MarshalIndent(e, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(l.opts.StateDir, endpointFile), b, 0o600); err != nil {
		return err
	}
	l.endpointWritten = true
	return nil
}

// removeEndpoint says l no longer runs (when it said it did: another
// local mode may run on the same state directory, and this one failed to
// start).
func (l *Local) removeEndpoint() {
	if !l.endpointWritten {
		return
	}
	_ = os.Remove(filepath.Join(l.opts.StateDir, endpointFile))
}

// ErrNotRunning is returned by ReadEndpoint when no local mode runs on the
// state directory.
var ErrNotRunning = errors.New("no gatehouse local runs with this state directory")

// ReadEndpoint reads how to reach the local mode running on stateDir.
func ReadEndpoint(stateDir string) (Endpoint, error) {
	b, err := os.ReadFile(filepath.Join(stateDir, endpointFile))
	if errors.Is(err, fs.ErrNotExist) {
		return Endpoint{}, fmt.Errorf("%w (%s): start it first (make local, or gatehouse local), with the same --state-dir", ErrNotRunning, stateDir)
	}
	if err != nil {
		return Endpoint{}, err
	}
	var e Endpoint
	if err := json.Unmarshal(b, &e); err != nil || e.S3 == "" || e.Bucket == "" {
		return Endpoint{}, fmt.Errorf("%s: not a local mode endpoint: restart gatehouse local", filepath.Join(stateDir, endpointFile))
	}
	e.stateDir = stateDir
	return e, nil
}

// s3Client is a client of the embedded S3 server at endpoint, making at
// most attempts tries of a call (0: the SDK's default).
func s3Client(endpoint string, attempts int) *s3.Client {
	return s3.New(s3.Options{
		BaseEndpoint:               &endpoint,
		UsePathStyle:               true,
		Region:                     Service.Region,
		Credentials:                credentials.NewStaticCredentialsProvider("local", "local", ""),
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
		RetryMaxAttempts:           attempts,
	})
}

// Store is the running local mode's state bucket.
// The server is on this machine: a refused connection means it stopped,
// which is said at once rather than retried.
func (e Endpoint) Store() *store.S3 { return store.New(s3Client(e.S3, 1), e.Bucket) }

// Now is the local mode's simulated time.
func (e Endpoint) Now() time.Time { return e.Clock.Clock().Now() }

// Deployments tells the status of the local mode's deployments, as ECS's
// DescribeServiceDeployments would: from the records the running local
// mode keeps current in the state directory.
func (e Endpoint) Deployments() Deployments { return Deployments{dir: e.stateDir} }

// Deployments reads the status of local deployments.
type Deployments struct{ dir string }

// Status implements operator.DeploymentStatus. It only reads: the record
// of deployment ID is the state directory's deployments/ID.json.
func (d Deployments) Status(ctx context.Context, arn string) (string, error) {
	a, err := hook.ParseDeploymentARN(arn)
	if err != nil {
		return "", err
	}
	b, err := os.ReadFile(filepath.Join(d.dir, "deployments", filepath.Base(a.ID)+".json"))
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("deployment %s: %w", arn, ecsdeploy.ErrNotFound)
	}
	if err != nil {
		return "", err
	}
	var r record
	if err := json.Unmarshal(b, &r); err != nil || r.Snapshot.ARN != arn {
		return "", fmt.Errorf("deployment %s: unreadable record", arn)
	}
	return string(r.Snapshot.Status), nil
}
