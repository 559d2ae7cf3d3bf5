#!/usr/bin/env bash
# chromium.sh installs Debian's Chromium, pinned, for the browser tests
# (headless, driven by chromedp). It does nothing when the pinned version is
# already installed. Needs root (CI and the development machines run as root)
# or sudo.
#
# Debian replaces a package version when a newer security update lands; when
# the pinned version is gone from the archive this script fails and names the
# version that is there now: update CHROMIUM_VERSION to it.
set -euo pipefail

CHROMIUM_VERSION="${CHROMIUM_VERSION:-156.0.8078.108-1~deb12u1}"

installed="$(dpkg-query -W -f='${Version}' chromium 2>/dev/null || true)"
if [[ "$installed" == "$CHROMIUM_VERSION" ]]; then
	echo "chromium.sh: chromium $installed is installed"
	exit 0
fi

sudo=""
if [[ "$(id -u)" != 0 ]]; then
	sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
echo "chromium.sh: installing chromium $CHROMIUM_VERSION (about a minute)"
$sudo apt-get update -qq
if ! apt-cache madison chromium | awk '{print $3}' | grep -qxF "$CHROMIUM_VERSION"; then
	echo "chromium.sh: chromium $CHROMIUM_VERSION is no longer in the Debian archive; available:" >&2
	apt-cache madison chromium >&2
	echo "chromium.sh: set CHROMIUM_VERSION in scripts/chromium.sh to one of these" >&2
	exit 1
fi
$sudo apt-get install -y -qq --no-install-recommends "chromium=$CHROMIUM_VERSION" "chromium-common=$CHROMIUM_VERSION" fonts-dejavu-core >/dev/null
echo "chromium.sh: installed $(chromium --version)"
