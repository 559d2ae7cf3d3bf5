package gatehouse

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssnssubscriptions"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/gatehouse-dev/gatehouse/internal/config"
	"github.com/gatehouse-dev/gatehouse/internal/hook"
	"github.com/gatehouse-dev/gatehouse/internal/layout"
)

// State prefixes in the bucket (package layout owns them): approval
// requests, and the smoke and bake reports the approval page shows.
const (
	ApprovalsPrefix = layout.Approvals
	ReportsPrefix   = layout.Reports
)

// Defaults of SuiteProps.
const (
	DefaultRecordExpiration = 90 * 24 * time.Hour
	// MinRecordExpiration outlives the longest approval request, which
	// lasts at most the longest a PAUSE hook waits (14 days).
	MinRecordExpiration         = MaxPauseHookTimeout + 24*time.Hour
	DefaultNoncurrentExpiration = 30 * 24 * time.Hour
	DefaultLogRetention         = awslogs.RetentionDays_ONE_MONTH
)

// ApproverAttribute is the SNS message attribute the approval hook sets to
// the approver's address, one message per approver; each approver's email
// subscription filters on it so nobody receives another's personal link.
const ApproverAttribute = "approver"

// SuiteProps configure a Suite. Only AssetDir is required.
type SuiteProps struct {
	// AssetDir holds <name>/bootstrap for every function, as `make build`
	// writes build/. See CheckAssets.
	AssetDir string
	// Approvers each get an email subscription to the review topic, filtered
	// on the approver attribute, and are the approval hook's default
	// approvers (GATEHOUSE_APPROVERS). They are checked, lowercased and
	// de-duplicated as the approval hook does (approval.ParseApprovers):
	// the hook publishes the lowercased address, and a filter policy
	// matches exactly. Only these addresses receive review links, so an
	// approver a service names in its hookDetails must be listed here too.
	// With none, the topic has no subscription and reviews reach nobody
	// (a synthesis warning says so).
	Approvers []string
	// RequiredApprovals, if not zero, sets GATEHOUSE_REQUIRED_APPROVALS.
	RequiredApprovals int
	// ApprovalTimeout (a Go duration such as "4h") sets
	// GATEHOUSE_APPROVAL_TIMEOUT; default DefaultSuiteApprovalTimeout (23h).
	// It must be below the approval hook's ECS timeout (Targets.Approval
	// gives the hook 24h, or an hour more than this), so that the
	// request expires (and onExpiry decides) before ECS rolls back.
	ApprovalTimeout string
	// Freezes and ChangeWindows (JSON lists, as the approval hook's
	// hookDetails keys freezes and changeWindows) set GATEHOUSE_FREEZES and
	// GATEHOUSE_CHANGE_WINDOWS: organisation-wide periods in which approvals
	// must be emergency overrides.
	Freezes       string
	ChangeWindows string
	// RecordExpiration is how long state records live (default 90 days);
	// NoncurrentExpiration how long overwritten versions do (default 30 days).
	RecordExpiration     time.Duration
	NoncurrentExpiration time.Duration
	// LogRetention of the functions' log groups (default one month).
	LogRetention awslogs.RetentionDays
	// APIReservedConcurrency, if above zero, reserves that many concurrent
	// executions for the review API, which also caps it: a flood of requests
	// to the public Function URL is throttled there instead of taking
	// concurrency from the hooks. Zero (the default) reserves none. Lambda
	// keeps 100 executions of an account unreserved, so reserving N needs
	// an account concurrency quota of at least N + 100; new accounts often
	// have 10 or 50, and a deployment would be refused.
	APIReservedConcurrency int
	// ReviewURL, if set, is the base of every review link instead of the
	// review API's Function URL: a custom domain in front of it, such as
	// CloudFront, with or without a path (https://deploy.example.com/gatehouse).
	// The review API serves its pages under that path, and at the root.
	ReviewURL string
	// SlackSecretArn, if set, asks approvers in Slack too: the complete ARN
	// of an existing Secrets Manager secret holding the Slack app's
	// {"signingSecret": ..., "botToken": ...} (docs/slack.md). The
	// approval hook and the review API may read exactly that secret.
	SlackSecretArn string
	// SmokeConfig and BakeConfig are the smoke and bake hooks' default
	// configuration (JSON), passed as their config environment variables,
	// and checked with the functions' loaders. Without them, every service
	// must give the checks in hookDetails (Attach checks that it does), and
	// the smoke and bake hooks are left out of Targets.Standard.
	SmokeConfig string
	BakeConfig  string
	// Policy (JSON, GATEHOUSE_POLICY) names what services' hookDetails may
	// loosen of the suite's settings, which are otherwise floors: see
	// docs/configuration.md#policy. Empty: nothing may be loosened. It is
	// checked at synthesis with the functions' loaders, and Attach checks
	// each hook's hookDetails against it.
	Policy string
	// SmokeVPC places the smoke hook in a VPC: needed to test through an
	// internal load balancer. SmokeSubnets and SmokeSecurityGroups refine it
	// (default: the VPC's private subnets and a new security group with all
	// outbound traffic allowed).
	SmokeVPC            awsec2.IVpc
	SmokeSubnets        *awsec2.SubnetSelection
	SmokeSecurityGroups []awsec2.ISecurityGroup
	// AlarmTopic, if set, is notified when an alarm changes state.
	AlarmTopic awssns.ITopic
	// ApprovalMode is how the approval gate holds a deployment: Lambda
	// hooks (the default) or ECS PAUSE hooks (ApprovalModePause), which add
	// an EventBridge rule for their events and a sweep each minute.
	ApprovalMode ApprovalMode
	// ApprovalStage is where Targets.Approval holds deployments unless
	// HookOptions.Stages say otherwise: POST_TEST_TRAFFIC_SHIFT (the
	// default: green takes test traffic, and smoke runs first), or any
	// stage ECS allows the mode's hook at, such as PRE_SCALE_UP, before any
	// green task starts (a PAUSE hook: PauseStages).
	ApprovalStage Stage
	// ApprovalSteps is first (the default) or each: whether an approval at
	// a stage ECS runs at every step of a linear or canary deployment
	// (PRE_PRODUCTION_TRAFFIC_SHIFT) asks once or at each step. each is a
	// floor services cannot lower unless Policy lets them
	// (approval.loosen.steps).
	ApprovalSteps string
	// SubscriptionAdmins are the IAM principals (ARN patterns, such as
	// arn:aws:iam::*:role/aws-reserved/sso.amazonaws.com/*AWSReservedSSO_AdministratorAccess_*)
	// that may subscribe to the review topic and list its subscriptions,
	// besides the account's root user, the CDK's CloudFormation execution
	// roles (which create the approvers' subscriptions) and the approval
	// hook. The topic's policy denies everyone else: an unfiltered
	// subscription would receive every personal review link.
	SubscriptionAdmins []string
}

// Suite is the gatehouse hook suite: state bucket, review topic, signing
// secret, the four functions with their roles and log groups, the review
// API's Function URL, the hook invoke role and alarms.
type Suite struct {
	constructs.Construct

	Bucket        awss3.Bucket
	Topic         awssns.Topic
	SigningSecret awssecretsmanager.Secret

	ApprovalHook awslambda.Function
	ApprovalAPI  awslambda.Function
	SmokeHook    awslambda.Function
	BakeHook     awslambda.Function
	// ReviewURL is the approval API's Function URL.
	ReviewURL awslambda.FunctionUrl
	// InvokeRole is the role ECS assumes to invoke the hooks.
	InvokeRole awsiam.Role
	// Alarms watch every function's errors and throttles.
	Alarms []awscloudwatch.Alarm
	// PauseEvents and Sweep are the EventBridge rules of ApprovalModePause:
	// PAUSE hooks' events, and the sweep each minute; nil otherwise.
	PauseEvents, Sweep awsevents.Rule
	mode               ApprovalMode
	stage              Stage
	settings           SuiteSettings

	// defaults are what the functions load from the environment the suite
	// gives them, for Attach to check hookDetails against.
	defaults *hookDefaults
}

// NewSuite builds the suite. It panics, like the CDK's own constructs, on
// invalid props or missing assets, and on settings a function would refuse
// at start: each function's environment goes through the loader the
// function runs (the same check the app makes of its context).
func NewSuite(scope constructs.Construct, id string, props *SuiteProps) *Suite {
	p := *props
	defaultsErr := p.defaults()
	defs, settingsErr := p.checkSettings(suitePropNames)
	if err := errors.Join(defaultsErr, settingsErr); err != nil {
		panic(fmt.Sprintf("gatehouse.NewSuite: %s", hook.OneLine(err.Error())))
	}
	// Children hang off c, never off s: jsii knows the construct, not the
	// Go struct embedding it.
	c := constructs.NewConstruct(scope, jsii.String(id))
	s := &Suite{Construct: c, defaults: defs, mode: p.ApprovalMode, stage: p.ApprovalStage, settings: p.settings()}
	s.newState(c, p)
	s.newReviewTopic(c, p)
	s.newSigningSecret(c)
	g := s.grants(c, p)
	s.newApprovalAPI(c, p, g)
	s.newApprovalHook(c, p, g)
	s.newSmokeHook(c, p, g)
	s.newBakeHook(c, p, g)
	if p.ApprovalMode == ApprovalModePause {
		s.newPauseMode(c, g)
	}
	s.newInvokeRole(c)
	s.newAlarms(c, p)
	s.restrictSubscriptions(p)
	return s
}

// restrictSubscriptions denies subscribing to the review topic, and
// listing its subscriptions, to every principal but the account's root
// user, the CDK's CloudFormation execution roles, the approval hook and
// SubscriptionAdmins: anyone else allowed sns:Subscribe by their own policy
// could add an unfiltered subscription and receive every personal link.
func (s *Suite) restrictSubscriptions(p SuiteProps) {
	allowed := []*string{
		jsii.String("arn:" + *awscdk.Aws_PARTITION() + ":iam::" + *awscdk.Aws_ACCOUNT_ID() + ":root"),
		jsii.String("arn:" + *awscdk.Aws_PARTITION() + ":iam::" + *awscdk.Aws_ACCOUNT_ID() + ":role/cdk-*-cfn-exec-role-*"),
		s.ApprovalHook.Role().RoleArn(),
	}
	for _, a := range p.SubscriptionAdmins {
		allowed = append(allowed, jsii.String(a))
	}
	s.Topic.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("OnlyAdministratorsSubscribe"),
		Effect:     awsiam.Effect_DENY,
		Principals: &[]awsiam.IPrincipal{awsiam.NewAnyPrincipal()},
		// And what would change this policy.
		Actions:    jsii.Strings("sns:Subscribe", "sns:ListSubscriptionsByTopic", "sns:SetTopicAttributes", "sns:AddPermission", "sns:RemovePermission"),
		Resources:  &[]*string{s.Topic.TopicArn()},
		Conditions: &map[string]any{"ArnNotLike": map[string]any{"aws:PrincipalArn": allowed}},
	}))
}

// grants are the resources and statements the functions share.
type grants struct {
	stack                                  awscdk.Stack
	approvals, reports                     *string
	deployments, revisions, services       *string
	describeDeployments, describeRevisions awsiam.PolicyStatement
	readSecret, listState, writeReports    awsiam.PolicyStatement
	// readSlack reads the Slack app's secret: none without Slack.
	readSlack                         []awsiam.PolicyStatement
	servicesWildcard, reportsWildcard nagWildcard
	ecsWildcards                      []nagWildcard
}

// newState adds the state bucket.
func (s *Suite) newState(c constructs.Construct, p SuiteProps) {
	s.Bucket = awss3.NewBucket(c, jsii.String("StateBucket"), &awss3.BucketProps{
		Encryption:        awss3.BucketEncryption_S3_MANAGED,
		BlockPublicAccess: awss3.BlockPublicAccess_BLOCK_ALL(),
		EnforceSSL:        jsii.Bool(true),
		MinimumTLSVersion: jsii.Number(1.2),
		Versioned:         jsii.Bool(true),
		ObjectOwnership:   awss3.ObjectOwnership_BUCKET_OWNER_ENFORCED,
		RemovalPolicy:     awscdk.RemovalPolicy_RETAIN,
		LifecycleRules: &[]*awss3.LifecycleRule{
			{
				Id:                                  jsii.String("expire-old-records"),
				Expiration:                          days(p.RecordExpiration),
				NoncurrentVersionExpiration:         days(p.NoncurrentExpiration),
				AbortIncompleteMultipartUploadAfter: awscdk.Duration_Days(jsii.Number(1)),
			},
			{
				Id:                        jsii.String("remove-expired-delete-markers"),
				ExpiredObjectDeleteMarker: jsii.Bool(true),
			},
		},
	})
	suppress(s.Bucket, "AwsSolutions-S1",
		"Each state record carries its own audit history (who voted, when, from which address); object-level access logs are available through CloudTrail S3 data events without a second bucket.")
}

// newReviewTopic adds the review topic, with a filtered subscription per
// approver.
func (s *Suite) newReviewTopic(c constructs.Construct, p SuiteProps) {
	s.Topic = awssns.NewTopic(c, jsii.String("ReviewTopic"), &awssns.TopicProps{
		DisplayName: jsii.String("gatehouse review"),
		// The AWS managed key: its key policy lets principals of this
		// account publish through SNS, so the hook needs no KMS grant.
		MasterKey:  awskms.Alias_FromAliasName(c, jsii.String("SnsManagedKey"), jsii.String("alias/aws/sns")),
		EnforceSSL: jsii.Bool(true),
	})
	if len(p.Approvers) == 0 {
		awscdk.Annotations_Of(s.Topic).AddWarningV2(jsii.String("gatehouse:noApprovers"), jsii.String(
			"gatehouse: no approvers, so the review topic has no subscriptions: the approval hook's shared-link message reaches nobody, "+
				"the request expires and ECS rolls the deployment back. Subscribe approvers with -c approvers=alice@example.com,... "+
				"(SuiteProps.Approvers): each gets a filtered subscription and becomes a default approver. For a shared link instead, "+
				"subscribe an address without a filter policy, as one of the topic's administrators (SubscriptionAdmins) (aws sns subscribe --protocol email --topic-arn <ReviewTopicArn> "+
				"--notification-endpoint <address>), and remove it before adding approvers, or it receives everyone's personal links."), nil)
	}
	for _, a := range p.Approvers {
		s.Topic.AddSubscription(awssnssubscriptions.NewEmailSubscription(jsii.String(a), &awssnssubscriptions.EmailSubscriptionProps{
			FilterPolicy: &map[string]awssns.SubscriptionFilter{
				ApproverAttribute: awssns.SubscriptionFilter_StringFilter(&awssns.StringConditions{
					Allowlist: jsii.Strings(a),
				}),
			},
		}))
	}
}

// newSigningSecret adds the review links' signing key.
func (s *Suite) newSigningSecret(c constructs.Construct) {
	s.SigningSecret = awssecretsmanager.NewSecret(c, jsii.String("SigningKey"), &awssecretsmanager.SecretProps{
		Description: jsii.String("gatehouse review-link signing key (HMAC-SHA256). Links are signed with AWSCURRENT and verified against AWSCURRENT and AWSPREVIOUS."),
		GenerateSecretString: &awssecretsmanager.SecretStringGenerator{
			SecretStringTemplate: jsii.String("{}"),
			GenerateStringKey:    jsii.String("key"),
			PasswordLength:       jsii.Number(64),
			ExcludePunctuation:   jsii.Bool(true),
			IncludeSpace:         jsii.Bool(false),
		},
	})
	suppress(s.SigningSecret, "AwsSolutions-SMG4",
		"Rotation is a manual put-secret-value at any time: links are signed with AWSCURRENT and verified against AWSCURRENT and AWSPREVIOUS, so a rotation Lambda would add code for no gain.")
}

// grants returns what the functions' policies share.
func (s *Suite) grants(c constructs.Construct, p SuiteProps) *grants {
	stack := awscdk.Stack_Of(c)
	g := &grants{stack: stack}
	g.approvals = s.Bucket.ArnForObjects(jsii.String(ApprovalsPrefix + "*"))
	g.reports = s.Bucket.ArnForObjects(jsii.String(ReportsPrefix + "*"))
	g.deployments = stack.FormatArn(&awscdk.ArnComponents{
		Service: jsii.String("ecs"), Resource: jsii.String("service-deployment"), ResourceName: jsii.String("*/*/*"),
		ArnFormat: awscdk.ArnFormat_SLASH_RESOURCE_NAME,
	})
	g.revisions = stack.FormatArn(&awscdk.ArnComponents{
		Service: jsii.String("ecs"), Resource: jsii.String("service-revision"), ResourceName: jsii.String("*/*/*"),
		ArnFormat: awscdk.ArnFormat_SLASH_RESOURCE_NAME,
	})
	g.services = stack.FormatArn(&awscdk.ArnComponents{
		Service: jsii.String("ecs"), Resource: jsii.String("service"), ResourceName: jsii.String("*/*"),
		ArnFormat: awscdk.ArnFormat_SLASH_RESOURCE_NAME,
	})
	// The IAM service reference lists the service resource type for
	// ecs:DescribeServiceDeployments and ecs:DescribeServiceRevisions
	// besides their own (AWS's sample grants service/*): if AWS authorizes
	// the service ARN too, a grant on the deployment or revision ARN alone
	// is denied. These are read-only describes; both are granted.
	g.describeDeployments = allow("DescribeDeployment", []string{"ecs:DescribeServiceDeployments"}, g.deployments, g.services)
	g.describeRevisions = allow("DescribeRevisions", []string{"ecs:DescribeServiceRevisions"}, g.revisions, g.services)
	g.servicesWildcard = nagWildcard{"Resource::arn:<AWS::Partition>:ecs:<AWS::Region>:<AWS::AccountId>:service/*/*", "The service a deployment belongs to is known only at run time; the scope is this account and region's services, for read-only describes (and ListServiceDeployments)."}
	g.readSecret = allow("ReadSigningKey", []string{"secretsmanager:GetSecretValue"}, s.SigningSecret.SecretArn())
	if p.SlackSecretArn != "" {
		// The Slack app's secret, exactly: its complete ARN.
		g.readSlack = []awsiam.PolicyStatement{allow("ReadSlackSecret", []string{"secretsmanager:GetSecretValue"}, jsii.String(p.SlackSecretArn))}
	}
	// Without s3:ListBucket, S3 answers a GET of a missing key 403 instead
	// of 404, and the store could not tell "not written yet" (a smoke report
	// still running, a request not created yet) from "denied". A prefix
	// condition would not help: S3 evaluates ListBucket for a GET without
	// an s3:prefix. The bucket holds nothing but gatehouse state.
	g.listState = allow("TellMissingFromDenied", []string{"s3:ListBucket"}, s.Bucket.BucketArn())
	return g
}

// newApprovalAPI adds the review API and its Function URL.
func (s *Suite) newApprovalAPI(c constructs.Construct, p SuiteProps, g *grants) {
	stack := g.stack
	// The review API first: the hook needs its URL. The API never needs the hook.
	apiEnv := map[string]*string{
		config.EnvStateBucket:      s.Bucket.BucketName(),
		config.EnvSigningKeySecret: s.SigningSecret.SecretArn(),
	}
	if p.ReviewURL != "" {
		// The API serves its pages under the custom URL's path too.
		apiEnv[config.EnvReviewURL] = jsii.String(p.ReviewURL)
	}
	if p.SlackSecretArn != "" {
		// Slack posts its button clicks to the API.
		apiEnv[config.EnvSlackSecret] = jsii.String(p.SlackSecretArn)
	}
	timeout := 10 * time.Second
	if p.ApprovalMode == ApprovalModePause {
		// A deciding vote also announces and tells ECS (ContinueServiceDeployment
		// and its record): a call killed mid-way would leave ECS to the sweep.
		timeout = 30 * time.Second
	}
	s.ApprovalAPI, _ = s.function(c, p, fnSpec{
		name:        ApprovalAPIName,
		description: "gatehouse review API: review pages (GET, HEAD) and decisions (POST) behind a Function URL",
		timeout:     timeout,
		reserved:    p.APIReservedConcurrency,
		env:         apiEnv,
		statements: append([]awsiam.PolicyStatement{
			allow("Approvals", []string{"s3:GetObject", "s3:PutObject"}, g.approvals),
			allow("ReadReports", []string{"s3:GetObject"}, g.reports),
			g.listState,
			g.readSecret,
			// An open request whose deployment ECS stopped or rolled back
			// takes no votes.
			allow("DeploymentStatus", []string{"ecs:DescribeServiceDeployments"}, g.deployments, g.services),
		}, g.readSlack...),
		wildcards: []nagWildcard{
			{"Resource::<" + ref(stack, s.Bucket) + ".Arn>/" + ApprovalsPrefix + "*", "Approval records are keyed by deployment under the approvals/ prefix; the prefix is the narrowest scope."},
			{"Resource::<" + ref(stack, s.Bucket) + ".Arn>/" + ReportsPrefix + "*", "Smoke and bake reports shown on the review page are keyed by deployment under the reports/ prefix."},
			{"Resource::arn:<AWS::Partition>:ecs:<AWS::Region>:<AWS::AccountId>:service-deployment/*/*/*", "The review page asks about the deployment its link names, known only at run time; the scope is this account and region's service deployments."},
			g.servicesWildcard,
		},
	})
	s.ReviewURL = s.ApprovalAPI.AddFunctionUrl(&awslambda.FunctionUrlOptions{
		// The signed, approver-bound token in each link is the credential;
		// reserved concurrency (APIReservedConcurrency), when given,
		// throttles the endpoint.
		AuthType:   awslambda.FunctionUrlAuthType_NONE,
		InvokeMode: awslambda.InvokeMode_BUFFERED,
	})
}

// newApprovalHook adds the approval hook.
func (s *Suite) newApprovalHook(c constructs.Construct, p SuiteProps, g *grants) {
	stack := g.stack
	// The settings' variables, as checkSettings loaded them.
	approvalSettings, _, _ := p.settingsEnv()
	reviewURL := s.ReviewURL.Url()
	if p.ReviewURL != "" {
		reviewURL = jsii.String(p.ReviewURL)
	}
	hookEnv := map[string]*string{
		config.EnvStateBucket:      s.Bucket.BucketName(),
		config.EnvTopicARN:         s.Topic.TopicArn(),
		config.EnvReviewURL:        reviewURL,
		config.EnvSigningKeySecret: s.SigningSecret.SecretArn(),
		// Who started each deployment, so that they cannot approve it.
		config.EnvDeployerLookup: jsii.String("cloudtrail"),
	}
	if p.SlackSecretArn != "" {
		hookEnv[config.EnvSlackSecret] = jsii.String(p.SlackSecretArn)
	}
	addEnv(hookEnv, approvalSettings)
	g.ecsWildcards = []nagWildcard{
		{"Resource::arn:<AWS::Partition>:ecs:<AWS::Region>:<AWS::AccountId>:service-deployment/*/*/*", "The hook learns which deployment calls it only at run time; the scope is this account and region's service deployments."},
		{"Resource::arn:<AWS::Partition>:ecs:<AWS::Region>:<AWS::AccountId>:service-revision/*/*/*", "The hook learns which revisions a deployment involves only at run time; the scope is this account and region's service revisions."},
	}
	s.ApprovalHook, _ = s.function(c, p, fnSpec{
		name:        ApprovalHookName,
		description: "gatehouse approval gate: an ECS lifecycle hook that holds a deployment until its approvers decide",
		timeout:     60 * time.Second,
		env:         hookEnv,
		statements: append([]awsiam.PolicyStatement{
			allow("Approvals", []string{"s3:GetObject", "s3:PutObject"}, g.approvals),
			allow("ReadReports", []string{"s3:GetObject"}, g.reports),
			g.listState,
			allow("PublishReviews", []string{"sns:Publish"}, s.Topic.TopicArn()),
			// onExpiry: approve passes only when every approver has a
			// confirmed subscription of their own.
			allow("ReadSubscriptions", []string{"sns:ListSubscriptionsByTopic"}, s.Topic.TopicArn()),
			allow("ReadSubscriptionFilters", []string{"sns:GetSubscriptionAttributes"}, jsii.String(*s.Topic.TopicArn()+":*")),
			g.readSecret,
			g.describeDeployments,
			// firstDeployment: skip asks whether the service had an earlier deployment.
			allow("ListDeployments", []string{"ecs:ListServiceDeployments"}, g.services),
			g.describeRevisions,
			// abortOnAlarms: the alarms an open request watches.
			allow("WatchAlarms", []string{"cloudwatch:DescribeAlarms"}, jsii.String("*")),
			// Separation of duties: who started the deployment.
			allow("FindDeployer", []string{"cloudtrail:LookupEvents"}, jsii.String("*")),
			// What changes (blue's and green's task definitions) and where
			// reviewers try green (the test listener).
			allow("ReadTaskDefinitions", []string{"ecs:DescribeTaskDefinition"}, jsii.String("*")),
			allow("FindTestListener", []string{
				"elasticloadbalancing:DescribeListeners",
				"elasticloadbalancing:DescribeLoadBalancers",
				"elasticloadbalancing:DescribeRules",
			}, jsii.String("*")),
		}, g.readSlack...),
		wildcards: append([]nagWildcard{
			{"Resource::<" + ref(stack, s.Topic) + ">:*", "sns:GetSubscriptionAttributes on the review topic's own subscriptions, whose ids SNS assigns: onExpiry approve checks that each approver's is confirmed and filtered to them."},
			{"Resource::*", "cloudwatch:DescribeAlarms (abortOnAlarms) could be scoped to alarm ARNs, but each service names its alarms (and name prefixes) in hookDetails at run time, and DescribeAlarms returns composite alarms only to a caller allowed it on Resource \"*\". It reads alarm states only. cloudtrail:LookupEvents (who started a deployment, so that they cannot approve it), ecs:DescribeTaskDefinition (what a deployment changes) and the Elastic Load Balancing Describe* actions (where reviewers try green) have no resource-level permissions."},
			{"Resource::<" + ref(stack, s.Bucket) + ".Arn>/" + ApprovalsPrefix + "*", "Approval records are keyed by deployment under the approvals/ prefix; the prefix is the narrowest scope."},
			{"Resource::<" + ref(stack, s.Bucket) + ".Arn>/" + ReportsPrefix + "*", "The review message quotes the smoke report, keyed by deployment under the reports/ prefix."},
			g.servicesWildcard,
		}, g.ecsWildcards...),
	})
}

// newSmokeHook adds the smoke hook.
func (s *Suite) newSmokeHook(c constructs.Construct, p SuiteProps, g *grants) {
	stack := g.stack
	// The smoke and bake hooks only write their reports (the bake hook with
	// If-None-Match, which needs no read permission); the approval hook and
	// the review page read them.
	g.writeReports = allow("WriteReports", []string{"s3:PutObject"}, g.reports)
	g.reportsWildcard = nagWildcard{"Resource::<" + ref(stack, s.Bucket) + ".Arn>/" + ReportsPrefix + "*", "Reports are keyed by deployment under the reports/ prefix; the prefix is the narrowest scope."}
	smokeEnv := map[string]*string{config.EnvStateBucket: s.Bucket.BucketName()}
	_, smokeSettings, _ := p.settingsEnv()
	addEnv(smokeEnv, smokeSettings)
	s.SmokeHook, _ = s.function(c, p, fnSpec{
		name:        SmokeHookName,
		description: "gatehouse smoke tests: an ECS lifecycle hook that probes green through the test listener",
		timeout:     5 * time.Minute,
		env:         smokeEnv,
		vpc:         p.SmokeVPC,
		subnets:     p.SmokeSubnets,
		groups:      p.SmokeSecurityGroups,
		statements: []awsiam.PolicyStatement{
			g.writeReports,
			// At TEST_TRAFFIC_SHIFT and PRODUCTION_TRAFFIC_SHIFT a rollback
			// is told by what ECS says, not by the weights alone.
			g.describeDeployments,
			g.describeRevisions,
			allow("FindTestListener", []string{
				"elasticloadbalancing:DescribeListeners",
				"elasticloadbalancing:DescribeLoadBalancers",
				"elasticloadbalancing:DescribeRules",
			}, jsii.String("*")),
		},
		wildcards: []nagWildcard{
			g.reportsWildcard, g.ecsWildcards[0], g.ecsWildcards[1], g.servicesWildcard,
			{"Resource::*", "Elastic Load Balancing Describe* actions support no resource-level permissions: AWS requires Resource \"*\"."},
		},
	})

	// The approval hook waits for the smoke verdict when ECS runs this smoke
	// hook at the same stage (waitForSmoke).
	s.ApprovalHook.AddEnvironment(jsii.String(config.EnvSmokeFunction), s.SmokeHook.FunctionArn(), nil)
}

// newBakeHook adds the bake hook, and tells the approval hook its name.
func (s *Suite) newBakeHook(c constructs.Construct, p SuiteProps, g *grants) {
	bakeEnv := map[string]*string{config.EnvStateBucket: s.Bucket.BucketName()}
	_, _, bakeSettings := p.settingsEnv()
	addEnv(bakeEnv, bakeSettings)
	s.BakeHook, _ = s.function(c, p, fnSpec{
		name:        BakeHookName,
		description: "gatehouse bake checks: an ECS lifecycle hook that watches alarms and metrics after production traffic reaches green, and judges each linear or canary step before the next",
		timeout:     60 * time.Second,
		env:         bakeEnv,
		statements: []awsiam.PolicyStatement{
			g.writeReports,
			// The run's start marker (reports/.../bake-STAGE.start.json) is
			// read when ECS passes no usable run state back.
			allow("ReadReports", []string{"s3:GetObject"}, g.reports),
			g.listState,
			g.describeDeployments,
			g.describeRevisions,
			allow("ReadAlarmsAndMetrics", []string{"cloudwatch:DescribeAlarms", "cloudwatch:GetMetricData"}, jsii.String("*")),
			allow("FindTargetGroups", []string{
				"elasticloadbalancing:DescribeListeners",
				"elasticloadbalancing:DescribeRules",
			}, jsii.String("*")),
		},
		wildcards: []nagWildcard{
			g.reportsWildcard, g.ecsWildcards[0], g.ecsWildcards[1], g.servicesWildcard,
			{"Resource::*", "cloudwatch:GetMetricData and the Elastic Load Balancing Describe* actions support no resource-level permissions. cloudwatch:DescribeAlarms could be scoped to alarm ARNs, but each service names its alarms (and name prefixes) in hookDetails at run time, and DescribeAlarms returns composite alarms only to a caller allowed it on Resource \"*\"."},
		},
	})
	// A request of one step (steps: each) waits for the step check's
	// verdict when ECS runs this bake hook at the stage.
	s.ApprovalHook.AddEnvironment(jsii.String(config.EnvBakeFunction), s.BakeHook.FunctionArn(), nil)
}

// newInvokeRole adds the role ECS invokes the hooks with.
func (s *Suite) newInvokeRole(c constructs.Construct) {
	s.InvokeRole = awsiam.NewRole(c, jsii.String("HookInvokeRole"), &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("ecs.amazonaws.com"), nil),
		Description: jsii.String("Lets Amazon ECS invoke the gatehouse lifecycle hooks"),
	})
	s.InvokeRole.AddToPrincipalPolicy(allow("InvokeHooks", []string{"lambda:InvokeFunction"},
		s.ApprovalHook.FunctionArn(), s.SmokeHook.FunctionArn(), s.BakeHook.FunctionArn()))
}

// newAlarms adds an errors and a throttles alarm per function.
func (s *Suite) newAlarms(c constructs.Construct, p SuiteProps) {
	for _, fn := range []struct {
		id string
		f  awslambda.Function
	}{{"ApprovalHook", s.ApprovalHook}, {"ApprovalApi", s.ApprovalAPI}, {"SmokeHook", s.SmokeHook}, {"BakeHook", s.BakeHook}} {
		period := &awscloudwatch.MetricOptions{Period: awscdk.Duration_Minutes(jsii.Number(5)), Statistic: jsii.String("Sum")}
		for _, m := range []struct {
			kind   string
			metric awscloudwatch.Metric
			what   string
		}{
			{"Errors", fn.f.MetricErrors(period), "errored or timed out: ECS rolls back a deployment whose hook fails this way"},
			{"Throttles", fn.f.MetricThrottles(period), "was throttled"},
		} {
			alarm := m.metric.CreateAlarm(c, jsii.String(fn.id+m.kind+"Alarm"), &awscloudwatch.CreateAlarmOptions{
				AlarmDescription:   jsii.String(fmt.Sprintf("gatehouse %s %s", fn.id, m.what)),
				Threshold:          jsii.Number(1),
				EvaluationPeriods:  jsii.Number(1),
				ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
				TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
			})
			if p.AlarmTopic != nil {
				action := awscloudwatchactions.NewSnsAction(p.AlarmTopic)
				alarm.AddAlarmAction(action)
				alarm.AddOkAction(action)
			}
			s.Alarms = append(s.Alarms, alarm)
		}
	}
}

// Targets returns the suite's hooks and invoke role, for Attach. Hooks made
// from them carry the suite's defaults: Attach checks each hook's Details
// merged with them, as the function will.
func (s *Suite) Targets() Targets {
	return Targets{ApprovalHook: s.ApprovalHook, SmokeHook: s.SmokeHook, BakeHook: s.BakeHook, InvokeRole: s.InvokeRole, ApprovalMode: s.mode, ApprovalStage: s.stage, suite: s.defaults}
}

// addEnv adds vars to a function's environment.
func addEnv(env map[string]*string, vars map[string]string) {
	for k, v := range vars {
		env[k] = jsii.String(v)
	}
}

func (p *SuiteProps) defaults() error {
	var problems []string
	if p.AssetDir == "" {
		problems = append(problems, "AssetDir is required")
	} else if err := CheckAssets(p.AssetDir); err != nil {
		problems = append(problems, err.Error())
	}
	if p.RecordExpiration == 0 {
		p.RecordExpiration = DefaultRecordExpiration
	}
	if p.NoncurrentExpiration == 0 {
		p.NoncurrentExpiration = DefaultNoncurrentExpiration
	}
	// An approval request lives as long as its hook's timeout allows, up to
	// 14 days; its record must outlive it, or the hook would open it anew.
	if p.RecordExpiration < MinRecordExpiration || p.RecordExpiration%(24*time.Hour) != 0 {
		problems = append(problems, fmt.Sprintf("RecordExpiration %v is not a whole number of days of at least %d: a record must outlive the longest approval request (14 days)", p.RecordExpiration, MinRecordExpiration/(24*time.Hour)))
	}
	if p.NoncurrentExpiration < 24*time.Hour || p.NoncurrentExpiration%(24*time.Hour) != 0 {
		problems = append(problems, fmt.Sprintf("NoncurrentExpiration %v is not a whole number of days of at least 1", p.NoncurrentExpiration))
	}
	if p.LogRetention == "" {
		p.LogRetention = DefaultLogRetention
	}
	for _, a := range p.SubscriptionAdmins {
		if !strings.HasPrefix(a, "arn:") || strings.Count(a, ":") < 5 {
			problems = append(problems, fmt.Sprintf("SubscriptionAdmins: %q is not an IAM principal ARN (wildcards allowed), such as arn:aws:iam::123456789012:role/Admin", a))
		}
	}
	if p.ReviewURL != "" {
		if err := config.CheckReviewURL(p.ReviewURL); err != nil {
			problems = append(problems, "ReviewURL: "+err.Error())
		}
	}
	if p.SlackSecretArn != "" {
		if err := CheckSlackSecretArn(p.SlackSecretArn); err != nil {
			problems = append(problems, "SlackSecretArn: "+err.Error())
		}
	}
	mode, err := ParseApprovalMode(string(p.ApprovalMode))
	if err != nil {
		problems = append(problems, "ApprovalMode: "+err.Error())
	}
	p.ApprovalMode = mode
	if p.ApprovalStage == "" {
		p.ApprovalStage = StagePostTestTrafficShift
	}
	if err := CheckApprovalStage(mode, p.ApprovalStage); err != nil {
		problems = append(problems, "ApprovalStage: "+err.Error())
	}
	if p.APIReservedConcurrency < 0 {
		problems = append(problems, fmt.Sprintf("APIReservedConcurrency %d is negative: give 0 to reserve none", p.APIReservedConcurrency))
	}
	if len(problems) > 0 {
		return fmt.Errorf("%s", strings.Join(problems, "; "))
	}
	return nil
}

// fnSpec is what differs between the functions.
type fnSpec struct {
	name        string
	description string
	timeout     time.Duration
	reserved    int
	env         map[string]*string
	statements  []awsiam.PolicyStatement
	wildcards   []nagWildcard
	vpc         awsec2.IVpc
	subnets     *awsec2.SubnetSelection
	groups      []awsec2.ISecurityGroup
}

// function builds one function with its own role, holding only the
// statements given plus writing to its own log group.
func (s *Suite) function(c constructs.Construct, p SuiteProps, f fnSpec) (awslambda.Function, awsiam.Role) {
	id := constructID(f.name)
	logs := awslogs.NewLogGroup(c, jsii.String(id+"Logs"), &awslogs.LogGroupProps{
		Retention:     p.LogRetention,
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
	role := awsiam.NewRole(c, jsii.String(id+"Role"), &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
		Description: jsii.String("gatehouse " + f.name + ": only what this function calls"),
	})
	role.AddToPrincipalPolicy(allow("WriteOwnLogs", []string{"logs:CreateLogStream", "logs:PutLogEvents"}, logs.LogGroupArn()))
	for _, st := range f.statements {
		role.AddToPrincipalPolicy(st)
	}
	props := &awslambda.FunctionProps{
		Description:           jsii.String(f.description),
		Runtime:               awslambda.Runtime_PROVIDED_AL2023(),
		Architecture:          awslambda.Architecture_ARM_64(),
		Handler:               jsii.String(Bootstrap),
		Code:                  awslambda.Code_FromAsset(jsii.String(filepath.Join(p.AssetDir, f.name)), nil),
		MemorySize:            jsii.Number(256),
		Timeout:               awscdk.Duration_Seconds(jsii.Number(f.timeout.Seconds())),
		Role:                  role,
		LogGroup:              logs,
		LoggingFormat:         awslambda.LoggingFormat_JSON,
		ApplicationLogLevelV2: awslambda.ApplicationLogLevel_INFO,
		SystemLogLevelV2:      awslambda.SystemLogLevel_WARN,
		Environment:           &f.env,
	}
	if f.reserved > 0 {
		props.ReservedConcurrentExecutions = jsii.Number(float64(f.reserved))
	}
	if f.vpc != nil {
		props.Vpc = f.vpc
		props.VpcSubnets = f.subnets
		if len(f.groups) > 0 {
			props.SecurityGroups = &f.groups
		}
		// What AWSLambdaVPCAccessExecutionRole grants, which the CDK adds
		// only to roles it creates itself.
		role.AddToPrincipalPolicy(allow("VpcNetworkInterfaces", []string{
			"ec2:CreateNetworkInterface",
			"ec2:DescribeNetworkInterfaces",
			"ec2:DescribeSubnets",
			"ec2:DeleteNetworkInterface",
			"ec2:AssignPrivateIpAddresses",
			"ec2:UnassignPrivateIpAddresses",
		}, jsii.String("*")))
		f.wildcards = append(f.wildcards, nagWildcard{"Resource::*", "What AWSLambdaVPCAccessExecutionRole grants, on Resource \"*\" as there: Lambda creates and deletes the function's network interfaces with its execution role, their IDs are known only at run time, and ec2:DescribeNetworkInterfaces and ec2:DescribeSubnets support no resource-level permissions."})
	}
	fn := awslambda.NewFunction(c, jsii.String(id), props)
	suppressWildcards(role, f.wildcards)
	return fn, role
}

// constructID turns approval-hook into ApprovalHook.
func constructID(name string) string {
	var b strings.Builder
	for _, part := range strings.Split(name, "-") {
		if part == "api" {
			b.WriteString("Api")
			continue
		}
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	return b.String()
}

func days(d time.Duration) awscdk.Duration {
	return awscdk.Duration_Days(jsii.Number(float64(d / (24 * time.Hour))))
}

func allow(sid string, actions []string, resources ...*string) awsiam.PolicyStatement {
	return awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String(sid),
		Effect:    awsiam.Effect_ALLOW,
		Actions:   jsii.Strings(actions...),
		Resources: &resources,
	})
}

// ref is the logical ID cdk-nag uses when it names a resource in a finding.
func ref(stack awscdk.Stack, c constructs.IConstruct) string {
	return *stack.GetLogicalId(c.Node().DefaultChild().(awscdk.CfnElement))
}
