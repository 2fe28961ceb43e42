#!/usr/bin/env bash
# The main job until the benchmark harness exists: install, build, boot the
# bundled guest, then show a domain running under the toolstack.
set -euo pipefail
cd "$(dirname "$0")/.."

ci/setup.sh
[ -d build ] || meson setup build >/dev/null
meson compile -C build >/dev/null
x=build/tools/xenith
export XENITH_RUN_DIR=${XENITH_RUN_DIR:-$(mktemp -d /tmp/xenith-demo-XXXXXX)}

echo "== xenith run (the bundled minios guest)"
$x run --name demo-hello

echo "== a domain under the toolstack"
$x run --name demo-ticker --cmdline "ticker 500" --prefix &
vmm=$!
sleep 1.2
$x list
$x pause demo-ticker && echo "(paused)" && $x list && sleep 1
$x unpause demo-ticker && echo "(unpaused)"
sleep 1
$x shutdown demo-ticker
wait $vmm
echo "== done: exit status $?"
