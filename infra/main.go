// Command infra is the gatehouse CDK app: `npx cdk synth` and `npx cdk deploy`
// run it (cdk.json: go run ./infra). It deploys the GatehouseHooks stack and,
// with -c demo=true, the GatehouseDemoService stack. Settings come from CDK
// context; see package gatehouse (infra/gatehouse) for the keys.
package main

import (
	// The synthesis checks change windows, which name IANA time zones; not
	// every machine has a zone database.
	_ "time/tzdata"

	"github.com/gatehouse-dev/gatehouse/infra/gatehouse"
)

func main() {
	gatehouse.Main()
}
