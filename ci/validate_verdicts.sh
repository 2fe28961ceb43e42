#!/usr/bin/env bash
# Are `xenith bench compare`'s verdicts right on real runs of this machine?
#
#   ci/validate_verdicts.sh [-n TRIALS] [-p PCT] [-b BUILD_DIR] [-k] [SUITE...] [-- BENCH_ARGS...]
#
# Defaults: 5 trials, 5%, build, suites compute memory exit.  Runs TRIALS + 1
# plain `xenith bench SUITES --quick` runs and TRIALS slowed ones, in the
# order P0 S1 P1 S2 P2 ... (so drift over time falls on both kinds), then:
#   A/A  compare P(t-1) P(t): every verdict other than same/unknown is a
#        false alarm (the runs differ only by time);
#   A/B  compare P(t-1) S(t): S(t) ran with XENITH_BENCH_SLOWDOWN naming one
#        quick case per suite, PCT% slower on both sides (bench/slowdown.h),
#        the case rotating with t; its series must come out `slower`.  The
#        other series of an A/B pair count as A/A.
# Per suite it prints the series compared, the false-alarm rate (A/A
# `different`), the share of A/A pairs with at least one false alarm in the
# suite, the detection rate of the slowed series (`slower`), and the
# `unknown` rates of both; then the cases behind the false alarms and the
# misses.  BENCH_ARGS go to every run (e.g. -- --repeat 10).
#
# density and blk are not in the default and the knob refuses them: their
# repetitions are guest boots and fio jobs (minutes per run), density's
# series are domain counts reached rather than a timed interval the knob
# could stretch, and blk's guest IOPS come from the split driver, not from a
# loop of ours.  Runs go to a temporary archive, removed at the end unless
# -k.  The machine's load average is printed before and after: on a shared
# host the figures are the host's as much as the verdicts'.
set -euo pipefail
cd "$(dirname "$0")/.."

trials=5 pct=5 build=build keep=0
suites=() bench_args=()
while [ $# -gt 0 ]; do
	case "$1" in
	-n) trials=$2; shift 2 ;;
	-p) pct=$2; shift 2 ;;
	-b) build=$2; shift 2 ;;
	-k) keep=1; shift ;;
	--) shift; bench_args=("$@"); break ;;
	-h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	compute|memory|exit) suites+=("$1"); shift ;;
	*) echo "validate_verdicts: unknown argument '$1' (suites: compute, memory, exit; see --help)" >&2
	   exit 64 ;;
	esac
done
[ ${#suites[@]} -gt 0 ] || suites=(compute memory exit)
xenith=$build/tools/xenith
[ -x "$xenith" ] || { echo "validate_verdicts: $xenith is not built (meson compile -C $build)" >&2; exit 1; }

work=$(mktemp -d /tmp/xenith-validate.XXXXXX)
[ "$keep" = 1 ] || trap 'rm -rf "$work"' EXIT

# The quick cases of each suite the knob can slow, from `xenith bench list`.
declare -A cases
for s in "${suites[@]}"; do
	cases[$s]=$("$xenith" bench list | awk -v s="$s" '$1 == s && $4 == "yes" { print $2 }' | tr '\n' ' ')
done

run() { # run NAME [SPEC]
	local dir=$work/$1 spec=${2:-}
	mkdir -p "$dir"
	if [ -n "$spec" ]; then
		XENITH_BENCH_SLOWDOWN=$spec "$xenith" bench "${suites[@]}" --quick "${bench_args[@]}" \
			--out "$dir" >"$dir/log" 2>&1
	else
		"$xenith" bench "${suites[@]}" --quick "${bench_args[@]}" --out "$dir" >"$dir/log" 2>&1
	fi || { echo "validate_verdicts: run $1 failed:" >&2; tail -5 "$dir/log" >&2; exit 1; }
	ls "$dir"/[0-9]*.json | head -n1
}

echo "validate_verdicts: $trials trials, ${pct}% slowdowns, suites ${suites[*]}, bench args: ${bench_args[*]:-none}"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) CPUs)"
start=$(date +%s)
prev=$(run P0)
: >"$work/verdicts"
for t in $(seq 1 "$trials"); do
	spec=""
	for s in "${suites[@]}"; do
		read -r -a list <<<"${cases[$s]}"
		c=${list[$(( (t - 1) % ${#list[@]} ))]}
		spec+="${spec:+,}$s/$c:$pct"
	done
	slow=$(run "S$t" "$spec")
	plain=$(run "P$t")
	# one line per compared series: kind pair suite case mode verdict slowed
	for kind in AA AB; do
		if [ $kind = AA ]; then new=$plain; else new=$slow; fi
		"$xenith" bench compare "$prev" "$new" >"$work/cmp-$kind-$t" || true
		awk -v kind=$kind -v t="$t" -v spec=",$spec," '
			$1 ~ /^(compute|memory|exit)$/ && $6 != "-" {
				v = $NF; slowed = index(spec, "," $1 "/" $2 ":") > 0
				if (kind == "AA" || !slowed) print "AA", kind t, $1, $2, $3, v
				else print "AB", kind t, $1, $2, $3, v
			}' "$work/cmp-$kind-$t" >>"$work/verdicts"
	done
	echo "  trial $t of $trials done ($(( $(date +%s) - start )) s; slowed: $spec)"
	prev=$plain
done
echo "load average after:  $(cut -d' ' -f1-3 /proc/loadavg); $(( $(date +%s) - start )) s in all"
echo
awk '
	{ key = $1 SUBSEP $3; n[key]++
	  if ($6 == "slower" || $6 == "faster") d[key]++
	  if ($6 == "slower") sl[key]++
	  if ($6 == "unknown") u[key]++
	  if ($1 == "AA" && ($6 == "slower" || $6 == "faster")) { anyfa[$2 SUBSEP $3] = 1; fa_case[$3 "/" $4 "/" $5]++ }
	  if ($1 == "AB" && $6 != "slower") miss[$3 "/" $4 "/" $5 " (" $6 ")"]++
	  pairs[$2 SUBSEP $3] = 1; suites[$3] = 1 }
	END {
		printf "%-8s %9s %12s %10s %11s | %9s %10s %10s\n", "suite", "A/A", "false alarm", "unknown",
		       "pairs w/ FA", "A/B", "detected", "unknown"
		for (s in suites) {
			aa = s; np = 0; nfa = 0
			for (k in pairs) { split(k, q, SUBSEP); if (q[2] == s) { np++; nfa += (k in anyfa) } }
			a = n["AA", s]; b = n["AB", s]
			printf "%-8s %9d %11.1f%% %9.1f%% %5d of %-3d | %9d %9.1f%% %9.1f%%\n", s, a,
			       a ? 100 * d["AA", s] / a : 0, a ? 100 * u["AA", s] / a : 0, nfa, np, b,
			       b ? 100 * sl["AB", s] / b : 0, b ? 100 * u["AB", s] / b : 0
		}
		print "\nfalse alarms by series (A/A comparisons that said slower or faster):"
		for (k in fa_case) printf "  %-40s %d\n", k, fa_case[k]
		print "slowed series not found slower (verdict given):"
		for (k in miss) printf "  %-40s %d\n", k, miss[k]
	}' "$work/verdicts"
[ "$keep" = 1 ] && echo "runs and comparisons kept in $work"
exit 0
