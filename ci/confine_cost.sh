#!/usr/bin/env bash
# What confinement costs a disk-bound guest: the same `blk` job in a booted
# minios, unconfined (--no-seccomp), under the seccomp filters (the
# default), and under the filters in a jail (--jail, needs root), in rounds
# whose order rotates (A B C, B C A, C A B, ...) so that drift over time
# falls on every mode alike.  Per job it prints each confined mode's IOPS
# relative to the unconfined run of the same round (+x% = slower), the
# median over the rounds and its range.  The target is at most 1%.
#
#   ci/confine_cost.sh [BUILD_DIR] [ROUNDS]          (defaults: build, 9)
#
# ci/seccomp_cost.sh measures the filters on the exit and blk suites of
# `xenith bench`; this one adds the jail, which `xenith bench` cannot run.
# KEEP=1 keeps the per-run figures (ROUND JOB MODE IOPS) and says where.
set -euo pipefail

build=${1:-build}
rounds=${2:-9}
xenith="$build/tools/xenith"
[ -x "$xenith" ] || { echo "confine_cost: no $xenith (build first)" >&2; exit 2; }
modes=(off seccomp jail)
[ "$(id -u)" -eq 0 ] || { echo "confine_cost: --jail needs root; measuring off and seccomp only" >&2; modes=(off seccomp); }
out=$(mktemp -d /tmp/xenith-confine-cost.XXXXXX)
img="${XENITH_BLK_DIR:-/var/tmp}/xenith-confine-cost-$$.img"
if [ "${KEEP:-0}" = 1 ]; then
	trap 'rm -f "$img"; echo "confine_cost: per-run IOPS kept in $out/iops" >&2' EXIT
else
	trap 'rm -rf "$out" "$img"' EXIT
fi
dd if=/dev/urandom of="$img" bs=1M count=256 status=none
export XENITH_RUN_DIR="$out/run"

jobs=("randread-4k-qd1:rw=randread bs=4096 iodepth=1" "randread-4k-qd32:rw=randread bs=4096 iodepth=32")

run() { # MODE JOB-ARGS -> IOPS on stdout
	local flags=()
	case $1 in off) flags=(--no-seccomp) ;; jail) flags=(--jail) ;; esac
	"$xenith" run -q -m 96 "${flags[@]}" --disk "path=$img,mode=ioeventfd" \
		--cmdline "blk $2 size=268435456 runtime=2000" >"$out/run.log" 2>&1 ||
		{ echo "confine_cost: the $1 run failed:" >&2; cat "$out/run.log" >&2; exit 1; }
	python3 -c 'import json, sys
for l in open(sys.argv[1]):
    if "blk-json:" in l:
        j = json.loads(l.split("blk-json:", 1)[1])["jobs"][0]
        print(j["read"]["iops"] + j["write"]["iops"])
        break' "$out/run.log"
}

n=${#modes[@]}
for ((r = 0; r < rounds; r++)); do
	for job in "${jobs[@]}"; do
		name=${job%%:*}
		for ((k = 0; k < n; k++)); do
			mode=${modes[$(((r + k) % n))]}
			echo "$r $name $mode $(run "$mode" "${job#*:}")" >>"$out/iops"
		done
	done
	echo "confine_cost: round $((r + 1))/$rounds done" >&2
done

python3 - "$out/iops" "${modes[@]}" <<'EOF'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
modes = sys.argv[2:]
iops = {(int(r), job, mode): float(v) for r, job, mode, v in rows}
rounds = sorted({k[0] for k in iops})
print(f"confinement: IOPS cost per job against the unconfined run of the same round, {len(rounds)} rounds")
print(f"{'job':18} {'mode':8} {'median':>8} {'min':>8} {'max':>8}   unconfined IOPS (median)")
for job in sorted({k[1] for k in iops}):
    base = statistics.median(iops[(r, job, 'off')] for r in rounds)
    for mode in modes[1:]:
        costs = [(iops[(r, job, 'off')] / iops[(r, job, mode)] - 1) * 100 for r in rounds]
        print(f"{job:18} {mode:8} {statistics.median(costs):+7.2f}% {min(costs):+7.2f}% "
              f"{max(costs):+7.2f}%   {base:.0f}")
EOF
