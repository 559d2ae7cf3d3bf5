# gatehouse: ECS blue/green deployment gates.
#
#   make local   run a whole blue/green deployment on this machine (no AWS)
#   make test    lint, unit and integration tests, brief fuzzing
#   make build   every function as build/<name>/bootstrap (linux/arm64) + zip
#   make bench   binary sizes, invoke latency, S3 requests per poll
#   make synth   the CDK app, both stacks, offline, with cdk-nag
#   make lint    gofmt, go vet, staticcheck
#   make tools   the pinned test tools (versitygw, Lambda RIE, staticcheck, the CDK CLI and CloudFormation spec)
#   make browser Debian's current Chromium (150 or newer) for the browser tests
#   make mutate  mutation testing (gremlins) of the safety-critical packages; a measurement, not in make test

SHELL      := bash
.SHELLFLAGS := -eu -o pipefail -c
GO         ?= go
FUNCTIONS  := $(notdir $(wildcard functions/*))
TOOLS_BIN  := $(CURDIR)/build/tools/bin
FUZZTIME   ?= 50000x
export GATEHOUSE_TOOLS_BIN := $(TOOLS_BIN)

LAMBDA_ENV   := GOOS=linux GOARCH=arm64 CGO_ENABLED=0
# -gcflags=all=-l: no inlining. The functions wait on the network, not the
# CPU: it makes each binary about 1.2 MB smaller, and `make bench` shows no
# change in a poll's latency (docs/performance.md).
LAMBDA_FLAGS := -tags lambda.norpc -trimpath -ldflags="-s -w" -gcflags=all=-l

.PHONY: all build test unit fuzz lint bench tools browser local synth mutate clean

all: build

build: $(FUNCTIONS:%=build/%.zip)

build/%.zip: FORCE
	@mkdir -p build/$*
	$(LAMBDA_ENV) $(GO) build $(LAMBDA_FLAGS) -o build/$*/bootstrap ./functions/$*
	$(GO) run ./scripts/lambdazip -o $@ build/$*/bootstrap

FORCE:

tools:
	scripts/tools.sh
	scripts/cdk.sh install

# Both stacks with the real binaries, offline, cdk-nag on.
synth: build
	scripts/cdk.sh synth --quiet -c demo=true

browser:
	scripts/chromium.sh

local:
	$(GO) run ./cmd/gatehouse local

test: tools browser lint unit fuzz

unit:
	$(GO) test -count=1 -timeout 15m ./...

# Each fuzz target runs briefly on every test run; longer runs:
#   make fuzz FUZZTIME=5000000x
# The budget is a count of inputs, not a duration: with Go 1.26 a duration
# (-fuzztime 5s) can fail a target that found nothing, with "context deadline
# exceeded" at the deadline (go.dev/issue/75804, fixed in Go 1.27).
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeRequest$$' -fuzztime $(FUZZTIME) ./internal/hook
	$(GO) test -run '^$$' -fuzz '^FuzzVerify$$' -fuzztime $(FUZZTIME) ./internal/token
	$(GO) test -run '^$$' -fuzz '^FuzzParseBakeConfig$$' -fuzztime $(FUZZTIME) ./internal/bake
	$(GO) test -run '^$$' -fuzz '^FuzzParseConfig$$' -fuzztime $(FUZZTIME) ./internal/smoke
	$(GO) test -run '^$$' -fuzz '^FuzzParsePath$$' -fuzztime $(FUZZTIME) ./internal/smoke

lint: tools
	@out="$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './build/*'))"; \
	  if [[ -n "$$out" ]]; then echo "gofmt: these files need formatting:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(TOOLS_BIN)/staticcheck ./...

bench: tools
	$(GO) test -run '^$$' -bench . -benchtime 20x -timeout 20m ./internal/e2e
	$(GO) test -run '^$$' -bench . -benchtime 5x -timeout 20m ./internal/local

# Mutation testing: a measurement, not part of `make test` (docs/development.md).
mutate:
	scripts/mutate.sh

clean:
	rm -rf build/*.zip $(FUNCTIONS:%=build/%)
