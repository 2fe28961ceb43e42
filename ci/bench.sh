#!/usr/bin/env bash
# The main job: install, build, run the quick benchmark suite (booted guests
# against native), archive the results, and compare them with the committed
# baseline for this kind of host.
set -euo pipefail
cd "$(dirname "$0")/.."

ci/setup.sh
[ -d build ] || meson setup build >/dev/null
meson compile -C build >/dev/null
build/tools/xenith bench --quick "$@"

new=$(ls -t results/runs/[0-9]*.json 2>/dev/null | head -n1 || true)
module=$(for m in kvm_pvm kvm_intel kvm_amd; do [ -d /sys/module/$m ] && echo $m && break; done)
base=results/baselines/${module:-unknown}-quick.json
if [ -n "$new" ] && [ -f "$base" ]; then
	echo
	echo "== compared with $base"
	# Never fails the job: 1 is a regression, 2 a baseline from another host
	# fingerprint (CPU, microcode, kernel, ...: only ratios were compared),
	# 3 no regression but cases the samples cannot decide.
	rc=0
	build/tools/xenith bench compare "$base" "$new" || rc=$?
	case $rc in
	0) ;;
	1) echo "(regressions against the baseline: see above)" ;;
	2) echo "(the baseline's host differs from this one, named above: guest/native ratios compared, absolute figures not)" ;;
	3) echo "(no regression, but some cases are unknown: \`xenith bench --quick --baseline $base\` adds repetitions)" ;;
	*) echo "(compare exited $rc: see above)" ;;
	esac
fi
