#!/usr/bin/env bash
# chromium.sh makes sure Debian's Chromium is installed for the browser tests
# (headless, driven by chromedp), at CHROMIUM_MIN or newer, and prints the
# version the tests will run with. Needs root (CI and the development machines
# run as root) or sudo.
#
# It takes whatever build the Debian archive has now, never a pinned version:
# Debian replaces a package version when a security update lands, and the old
# version is gone from the archive within days, so a pin breaks every fresh
# machine sooner or later. The floor is what the tests are known to drive: the
# oldest build measured against the review page and the dashboard.
#
# When an installed Chromium is at the floor or newer it does nothing (no
# network); otherwise it runs apt-get update and installs the current build.
set -euo pipefail

# The oldest Chromium major version the browser tests were measured with
# (bookworm's main archive ships 150; bookworm-security ships newer builds).
# internal/local/browser_test.go reads this line.
CHROMIUM_MIN="${CHROMIUM_MIN:-150}"

major() { sed -E 's/^([0-9]+).*/\1/' <<<"$1"; }

installed() { dpkg-query -W -f='${db:Status-Abbrev} ${Version}' chromium 2>/dev/null | awk '$1 == "ii" {print $2}' || true; }

ok() {
	local v
	v="$(installed)"
	[[ -n "$v" && -x /usr/bin/chromium ]] && (("$(major "$v")" >= CHROMIUM_MIN))
}

report() {
	echo "chromium.sh: browser tests run with $(/usr/bin/chromium --version 2>/dev/null | head -1) (Debian package $(installed); minimum $CHROMIUM_MIN)"
}

if ok; then
	report
	exit 0
fi

sudo=""
if [[ "$(id -u)" != 0 ]]; then
	sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
echo "chromium.sh: installing Debian's current chromium (about a minute; have: $(installed || true))"
$sudo apt-get update -qq
candidate="$(apt-cache policy chromium | awk '/Candidate:/ {print $2}')"
if [[ -z "$candidate" || "$candidate" == "(none)" ]]; then
	echo "chromium.sh: the Debian archive offers no chromium package; check /etc/apt/sources.list" >&2
	exit 1
fi
if (("$(major "$candidate")" < CHROMIUM_MIN)); then
	echo "chromium.sh: the archive's chromium $candidate is older than the minimum $CHROMIUM_MIN" >&2
	exit 1
fi
# chromium-common comes along at the same version (chromium depends on it
# exactly); the fonts give the pages and screenshots real glyphs.
$sudo apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
if ! ok; then
	echo "chromium.sh: chromium did not install at $CHROMIUM_MIN or newer (have: $(installed))" >&2
	exit 1
fi
report
