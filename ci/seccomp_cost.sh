#!/usr/bin/env bash
# What the VMM's seccomp filters cost: the exit and blk suites with and
# without them, in paired, interleaved runs on one machine at one time.
#
#   ci/seccomp_cost.sh [BUILD_DIR] [PAIRS] [SUITE|SUITE/CASE...]
#
# Defaults: build, 5 pairs, "exit blk".  Each pair is two `xenith bench
# --quick` runs of the suites, one with --no-seccomp, in alternating order
# (on/off, off/on, ...) so that drift over time falls on both sides.  Per
# guest case it prints the cost of the filters, pair by pair (the filtered
# run's median over the unfiltered one's, as a slowdown: for IOPS the
# inverse), then the median over the pairs and its range.  The target is at
# most +1% on every case; the range says how much of a figure is noise.
# Runs go to a temporary archive, removed at the end (set KEEP=1 to keep it).
#
# On a shared, noisy machine the pairs' spread can dwarf a cost this small;
# PROFILE=1 then also records one filtered exit-suite run with perf
# (cpu-clock: no hardware counters needed) and prints, for the thread that
# runs the guest, the share of its samples spent in seccomp: the filters'
# cost on each exit, measured rather than inferred from two noisy timings.
set -euo pipefail

build=${1:-build}
pairs=${2:-5}
shift $(( $# > 2 ? 2 : $# )) || true
suites=("$@")
[ ${#suites[@]} -gt 0 ] || suites=(exit blk)
xenith="$build/tools/xenith"
[ -x "$xenith" ] || { echo "seccomp_cost: no $xenith (build first: meson compile -C $build)" >&2; exit 2; }
out=$(mktemp -d /tmp/xenith-seccomp-cost.XXXXXX)
[ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$out"' EXIT

for ((i = 0; i < pairs; i++)); do
	if ((i % 2 == 0)); then order=(on off); else order=(off on); fi
	for side in "${order[@]}"; do
		flag=()
		[ "$side" = off ] && flag=(--no-seccomp)
		echo "seccomp_cost: pair $((i + 1))/$pairs, filters $side" >&2
		"$xenith" bench "${suites[@]}" --quick "${flag[@]}" --out "$out/$side-$i" >"$out/$side-$i.log" 2>&1 ||
			{ echo "seccomp_cost: the run failed; its output:" >&2; cat "$out/$side-$i.log" >&2; exit 1; }
	done
done

[ "$pairs" -gt 0 ] && python3 - "$out" "$pairs" <<'EOF'
import glob, json, statistics, sys

out, pairs = sys.argv[1], int(sys.argv[2])

def medians(side, i):
    docs = [d for d in glob.glob(f"{out}/{side}-{i}/*.json") if "/latest-" not in d]
    assert len(docs) == 1, f"one document per run, found {docs}"
    doc = json.load(open(docs[0]))
    return {(s["suite"], s["case"]): (s["median"], s["better"], s["unit"])
            for s in doc["series"] if s["mode"] == "guest"}

runs = [(medians("on", i), medians("off", i)) for i in range(pairs)]
print(f"seccomp filters: cost per guest case over {pairs} interleaved pairs "
      f"(+x% = slower with the filters; median of the pairs [min, max])")
print(f"{'suite':6} {'case':30} {'unit':5} {'median':>8} {'min':>8} {'max':>8}   per pair")
over = []
for key in sorted(runs[0][0]):
    costs = []
    for on, off in runs:
        if key not in on or key not in off or not on[key][0] or not off[key][0]:
            continue
        a, b = on[key][0], off[key][0]
        ratio = a / b if on[key][1] == "lower" else b / a
        costs.append((ratio - 1) * 100)
    if not costs:
        continue
    med = statistics.median(costs)
    if med > 1:
        over.append(key)
    print(f"{key[0]:6} {key[1]:30} {runs[0][0][key][2]:5} {med:+7.2f}% {min(costs):+7.2f}% "
          f"{max(costs):+7.2f}%   " + " ".join(f"{c:+.1f}" for c in costs))
if over:
    print("over the 1% target (median of pairs): " + ", ".join("/".join(k) for k in over))
EOF

# The share of each busy thread's samples spent in seccomp: __seccomp_filter and
# what it runs (JIT-compiled filters show as unnamed code in the kernel's module area).
seccomp_share() {
	perf script -i "$1" -F tid,ip,sym 2>/dev/null | awk -v what="$2" '
		{ n[$1]++; total++
		  if ($0 ~ /seccomp/) s[$1]++
		  else if ($3 == "[unknown]" && $2 ~ /^ffffffffc/) u[$1]++ }
		END { for (t in n) if (n[t] > total / 20)
			printf "profile (perf, cpu-clock), %s: thread %s (%d samples): %.3f%% in seccomp, " \
			       "%.3f%% more in unnamed module code (JIT-compiled filters, at most)\n",
			       what, t, n[t], 100 * s[t] / n[t], 100 * u[t] / n[t] }'
}

if [ "${PROFILE:-0}" = 1 ]; then
	command -v perf >/dev/null || { echo "seccomp_cost: PROFILE=1 needs perf (linux-perf)" >&2; exit 2; }
	perf record -q -e cpu-clock -F 4000 -o "$out/exit.data" -- "$xenith" bench exit --quick --no-archive \
		>"$out/perf-exit.log" 2>&1
	seccomp_share "$out/exit.data" "exit suite (the busiest thread is the vCPU)"
	img="${XENITH_BLK_DIR:-/var/tmp}/xenith-seccomp-cost-$$.img"
	dd if=/dev/urandom of="$img" bs=1M count=256 status=none
	perf record -q -e cpu-clock -F 4000 -o "$out/blk.data" -- "$xenith" run -q -m 96 --disk "path=$img" \
		--cmdline "blk rw=randread bs=4096 iodepth=32 size=268435456 runtime=3000" >"$out/perf-blk.log" 2>&1
	rm -f "$img"
	seccomp_share "$out/blk.data" "randread 4k qd32, ioeventfd (vCPU and backend threads)"
fi
