#!/usr/bin/env bash
# tools.sh builds the pinned Go-built test tools into build/tools/bin.
#
# The versions live in scripts/tools.go.mod (tool directives), kept out of the
# main go.mod so the Lambda binaries do not inherit the tools' dependencies.
# Change a pin with:
#
#   go get -modfile=scripts/tools.go.mod -tool example.com/cmd/x@vX.Y.Z
#
# Never run `go mod tidy -modfile=scripts/tools.go.mod`: with -modfile the main
# module's own packages belong to that module, so tidy would copy every import
# of the project into the tools file.
#
# A binary is rebuilt only when it is missing or its stamp (sha256 of
# tools.go.mod, tools.go.sum, the Go version and the target platform) differs.
# Needs only Go; the first run downloads modules and takes a minute or two.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# -modfile cannot set the module root: the go command finds it by walking up
# from the working directory to go.mod, so run from the repository root.
cd "$root"

modfile=scripts/tools.go.mod
sumfile=scripts/tools.go.sum
bin="${GATEHOUSE_TOOLS_BIN:-$root/build/tools/bin}"

# Binary name -> package. The name is the last element of the import path,
# which is what `go build -o DIR/` writes.
tools=(
	"versitygw github.com/versity/versitygw/cmd/versitygw"
	"aws-lambda-rie github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie"
	"staticcheck honnef.co/go/tools/cmd/staticcheck"
)

sha256() {
	if command -v sha256sum >/dev/null 2>&1; then
		sha256sum | cut -d' ' -f1
	else
		shasum -a 256 | cut -d' ' -f1
	fi
}

# Static binaries: no C toolchain needed on a fresh machine, and the emulator
# and gateway run the same everywhere.
export CGO_ENABLED=0

stamp="$(
	{
		cat "$modfile" "$sumfile"
		go env GOVERSION GOOS GOARCH
	} | sha256
)"

mkdir -p "$bin"
stale=()
for entry in "${tools[@]}"; do
	name="${entry%% *}"
	pkg="${entry#* }"
	if [[ -x "$bin/$name" && -f "$bin/.$name.stamp" && "$(cat "$bin/.$name.stamp")" == "$stamp" ]]; then
		continue
	fi
	stale+=("$name $pkg")
done

if ((${#stale[@]} == 0)); then
	echo "tools.sh: ${bin#"$root"/} is up to date"
	exit 0
fi

# Build into a scratch directory and move each binary into place only after
# the whole build succeeded, so an interrupted run never leaves a stamped but
# broken binary behind.
tmp="$(mktemp -d "$bin/.build.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

pkgs=()
for entry in "${stale[@]}"; do
	pkgs+=("${entry#* }")
done
echo "tools.sh: building ${pkgs[*]}"
go build -modfile="$modfile" -trimpath -o "$tmp/" "${pkgs[@]}"

for entry in "${stale[@]}"; do
	name="${entry%% *}"
	mv -f "$tmp/$name" "$bin/$name"
	printf '%s\n' "$stamp" >"$bin/.$name.stamp"
done
echo "tools.sh: built into ${bin#"$root"/}"
