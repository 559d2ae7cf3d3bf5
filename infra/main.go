// Command infra is the gatehouse CDK app: `npx cdk synth` and `npx cdk deploy`
// run it (cdk.json: go run ./infra). It deploys the GatehouseHooks stack and,
// with -c demo=true, the GatehouseDemoService stack. Settings come from CDK
// context; see package gatehouse (infra/gatehouse) for the keys. cdk-nag's
// AwsSolutions checks run here (-c nag=false turns them off): the
// importable constructs do not depend on cdk-nag.
package main

import (
	"fmt"
	"os"
	"strings"
	// The synthesis checks change windows, which name IANA time zones; not
	// every machine has a zone database.
	_ "time/tzdata"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/gatehouse-dev/gatehouse/infra/gatehouse"
)

func main() {
	app := awscdk.NewApp(nil)
	o, err := gatehouse.OptionsFromContext(app, os.Getenv)
	if err == nil {
		_, err = gatehouse.Build(app, o)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "gatehouse: %s\n", strings.ReplaceAll(err.Error(), "\n", "\ngatehouse: "))
		jsii.Close()
		os.Exit(1)
	}
	if o.Nag {
		// Unsuppressed findings are errors, and fail the synthesis.
		awscdk.Aspects_Of(app).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)
	}
	app.Synth(nil)
	jsii.Close()
}
