// Package gatehouse is the reusable CDK (Go) side of gatehouse: the hook
// suite (state bucket, review topic, signing secret, the four functions, the
// review API's Function URL, the hook invoke role and alarms) as one
// construct, and Attach, which attaches gatehouse hooks to an ECS service
// with their stages, hookDetails and timeouts so nobody copies lifecycle-hook
// JSON by hand.
//
// The stacks the gatehouse app deploys (NewHooksStack, NewDemoStack) are
// built from the same pieces; another CDK Go app imports this package and
// either builds its own Suite or refers to a deployed one with FromARNs.
//
// Environment variable names come from internal/config, the package the
// functions read them with, so names cannot drift between code and infra.
package gatehouse
