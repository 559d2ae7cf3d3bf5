#!/usr/bin/env bash
# cdk.sh runs the AWS CDK CLI pinned in package.json, offline and quietly
# (and installs what package.json pins: the CLI and the CloudFormation
# resource spec the template check in `make test` reads):
# no notices, no telemetry, no version check, and every cache inside the
# repository (.cache/), so a synth touches neither $HOME nor the network.
#
#   scripts/cdk.sh install                 install the pinned CLI if missing
#   scripts/cdk.sh synth -c demo=true      any cdk command and options
#   scripts/cdk.sh deploy GatehouseHooks -c approvers=a@example.com
#
# The CLI is installed with `npm install --no-package-lock`: the exact version
# in package.json is the pin, and no lock file is kept.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

export CDK_HOME="${CDK_HOME:-$root/.cache/cdk}"
export CDK_DISABLE_CLI_TELEMETRY=true
export CDK_DISABLE_VERSION_CHECK=true
export JSII_RUNTIME_PACKAGE_CACHE_ROOT="${JSII_RUNTIME_PACKAGE_CACHE_ROOT:-$root/.cache/jsii}"
if command -v node >/dev/null 2>&1; then
	major="$(node --version | sed -E 's/^v([0-9]+).*/\1/')"
	export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION="${JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION:-$major}"
fi
mkdir -p "$CDK_HOME" "$JSII_RUNTIME_PACKAGE_CACHE_ROOT"

# Every devDependency whose installed version is not the one package.json
# pins (the CLI, and the CloudFormation resource spec the template check
# reads); empty when all are installed as pinned.
stale="$(node -e '
const fs = require("fs");
const want = require("./package.json").devDependencies;
for (const [name, version] of Object.entries(want)) {
	let have = "none";
	try { have = JSON.parse(fs.readFileSync(`node_modules/${name}/package.json`)).version; } catch {}
	if (have !== version) console.log(`${name} ${version} (have: ${have})`);
}')"
if [[ -n "$stale" ]]; then
	echo "cdk.sh: installing $(tr '\n' ';' <<<"$stale" | sed 's/;$//; s/;/, /g')" >&2
	npm install --no-package-lock --no-audit --no-fund --loglevel=error >&2
fi

if [[ "${1:-}" == install ]]; then
	exit 0
fi
exec "$root/node_modules/.bin/cdk" --no-notices "$@"
