#!/usr/bin/env bash
# mutate.sh runs mutation testing (gremlins) on the safety-critical packages
# and prints each package's score. It is a measurement, not a gate: it is not
# part of `make test`, and it fails only when a run cannot start or a
# package's own tests fail before any mutant is tried.
#
#   scripts/mutate.sh                     the default packages, one after another
#   scripts/mutate.sh ./internal/token    only the packages named
#
# Gremlins (pinned in scripts/tools.go.mod) first runs the package's tests
# with coverage, then changes one covered operator at a time (a mutant: `<`
# for `<=`, `+` for `-`, a negated condition, ...) and runs the package's
# tests again: a test that fails kills the mutant, a mutant with every test
# passing lived. See docs/development.md#mutation-testing.
#
# Settings (environment):
#   MUTATE_WORKERS              mutants tested at once (default 0: gremlins takes
#                               the number of CPUs)
#   MUTATE_TIMEOUT_COEFFICIENT  a mutant's test run may take this many times the
#                               coverage run before it counts as timed out
#                               (default 10; gremlins' own default of 3 is too
#                               tight on 2 cores with two workers building at once)
#   MUTATE_PKG_TIMEOUT          the longest one package may take (default 20m);
#                               the counts printed so far are kept and marked partial
#   MUTATE_OUT                  where the logs and JSON results go (default build/mutate)
#
# Each test run keeps the package's own parallelism: never pass gremlins
# --test-cpu. Gremlins v0.6.0 hands it to go test as the single argument
# "-cpu N", which go test refuses ("setup failed", exit 1), and gremlins counts
# that failure as a killed mutant: every mutant is reported killed.
#
# The tests run in a snapshot of the working tree (without .git, build/,
# node_modules/ and caches), taken once, so every package is measured on the
# same source even while someone edits the tree, and gremlins copies a few
# megabytes per worker instead of the whole checkout. The tests find
# versitygw through GATEHOUSE_TOOLS_BIN, which scripts/tools.sh builds.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

modfile=scripts/tools.go.mod
sumfile=scripts/tools.go.sum
gremlins_pkg=github.com/go-gremlins/gremlins/cmd/gremlins

default_pkgs=(
	./internal/token
	./internal/store
	./internal/hook
	./internal/approval
	./internal/review
	./internal/smoke
	./internal/bake
)
pkgs=("$@")
if ((${#pkgs[@]} == 0)); then
	pkgs=("${default_pkgs[@]}")
fi

workers="${MUTATE_WORKERS:-0}"
coefficient="${MUTATE_TIMEOUT_COEFFICIENT:-10}"
pkg_timeout="${MUTATE_PKG_TIMEOUT:-20m}"
out="${MUTATE_OUT:-$root/build/mutate}"
bin="${GATEHOUSE_TOOLS_BIN:-$root/build/tools/bin}"

# The tests run in another directory: both paths must be absolute.
mkdir -p "$out" "$bin"
out="$(cd "$out" && pwd)"
bin="$(cd "$bin" && pwd)"
export GATEHOUSE_TOOLS_BIN="$bin"

# versitygw and the other test tools (Go only, no npm).
scripts/tools.sh

sha256() {
	if command -v sha256sum >/dev/null 2>&1; then
		sha256sum | cut -d' ' -f1
	else
		shasum -a 256 | cut -d' ' -f1
	fi
}

# Gremlins is built here rather than by tools.sh, so that `make tools` (and
# with it `make test`) does not build a tool only this measurement uses. Same
# stamp as tools.sh: rebuilt when the pins, Go or the platform change.
version="$(go list -modfile="$modfile" -m -f '{{.Version}}' github.com/go-gremlins/gremlins)"
stamp="$(
	{
		cat "$modfile" "$sumfile"
		go env GOVERSION GOOS GOARCH
	} | sha256
)"
if ! [[ -x "$bin/gremlins" && -f "$bin/.gremlins.stamp" && "$(cat "$bin/.gremlins.stamp")" == "$stamp" ]]; then
	echo "mutate.sh: building gremlins $version"
	tmpbin="$(mktemp -d "$bin/.build.XXXXXX")"
	# Its version string comes from the linker; without it gremlins says "dev".
	CGO_ENABLED=0 go build -modfile="$modfile" -trimpath \
		-ldflags="-X main.version=$version" -o "$tmpbin/gremlins" "$gremlins_pkg"
	mv -f "$tmpbin/gremlins" "$bin/gremlins"
	rmdir "$tmpbin"
	printf '%s\n' "$stamp" >"$bin/.gremlins.stamp"
fi

snap="$(mktemp -d "${TMPDIR:-/tmp}/gatehouse-mutate.XXXXXX")"
trap 'rm -rf "$snap"' EXIT
tar -C "$root" \
	--exclude=./.git --exclude=./build --exclude=./node_modules \
	--exclude=./.cache --exclude=./cdk.out -cf - . | tar -C "$snap" -xf -

# A bound on one package's run where coreutils' timeout exists.
bounded=()
if command -v timeout >/dev/null 2>&1; then
	bounded=(timeout -s INT -k 60s "$pkg_timeout")
fi

echo "mutate.sh: $("$bin/gremlins" --version 2>&1 | head -1), $(go env GOVERSION), $workers workers (0: one a CPU), timeout coefficient $coefficient, at most $pkg_timeout a package"

rows=()
failed=0
for pkg in "${pkgs[@]}"; do
	rel="${pkg#./}"
	rel="${rel%/}"
	name="${rel//\//-}"
	log="$out/$name.log"
	json="$out/$name.json"
	rm -f "$json"
	echo "mutate.sh: $pkg"
	start=$SECONDS
	status=0
	(cd "$snap" && "${bounded[@]}" "$bin/gremlins" unleash \
		--workers "$workers" \
		--timeout-coefficient "$coefficient" \
		--output "$json" \
		"$snap/$rel") 2>&1 | tee "$log" || status=$?
	took=$((SECONDS - start))

	count() { grep -cE "^ *$1 " "$log" || true; }
	field() { sed -nE "s/.*$1: ([0-9.]+%?).*/\1/p" "$log" | tail -1; }
	if grep -q '^Mutation testing completed' "$log"; then
		rows+=("$(printf '%-20s %6s %6s %8s %9s %10s %9s %9s %6ss' "$rel" \
			"$(field Killed)" "$(field Lived)" "$(field 'Not covered')" \
			"$(field 'Timed out')" "$(field 'Not viable')" \
			"$(field 'Test efficacy')" "$(field 'Mutator coverage')" "$took")")
	elif grep -qE '^ *(KILLED|LIVED) ' "$log"; then
		# Cut off by MUTATE_PKG_TIMEOUT: the mutants reported so far, with
		# gremlins' formulas (efficacy: killed / (killed + lived); mutant
		# coverage: (killed + lived) / (killed + lived + not covered)).
		k="$(count KILLED)" l="$(count LIVED)" n="$(count 'NOT COVERED')"
		rows+=("$(printf '%-20s %6s %6s %8s %9s %10s %8.2f%% %8.2f%% %6ss partial' "$rel" \
			"$k" "$l" "$n" "$(count 'TIMED OUT')" "$(count 'NOT VIABLE')" \
			"$(awk -v k="$k" -v l="$l" 'BEGIN { print (k + l) ? 100 * k / (k + l) : 0 }')" \
			"$(awk -v k="$k" -v l="$l" -v n="$n" 'BEGIN { print (k + l + n) ? 100 * (k + l) / (k + l + n) : 0 }')" \
			"$took")")
	else
		rows+=("$(printf '%-20s failed (exit %s) after %ss: see %s' "$rel" "$status" "$took" "${log#"$root"/}")")
		failed=1
	fi
done

echo
printf '%-20s %6s %6s %8s %9s %10s %9s %9s %7s\n' package killed lived "not cov" "timed out" "not viable" efficacy "mut cov" time
printf '%s\n' "${rows[@]}"
echo "mutate.sh: logs and JSON results in ${out#"$root"/}"
exit "$failed"
