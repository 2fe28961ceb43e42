#!/usr/bin/env bash
# Installs what is needed, builds with warnings as errors, runs every test tier.
# Usage: ci/test.sh [meson test args...]   (e.g. --suite unit)
set -euo pipefail
cd "$(dirname "$0")/.."

ci/setup.sh
if [ -d build ]; then
	meson setup --reconfigure build -Dwerror=true >/dev/null
else
	meson setup build -Dwerror=true >/dev/null
fi
meson compile -C build
meson test -C build --print-errorlogs "$@"
