#!/usr/bin/env bash
# Are `xenith bench compare`'s verdicts right on real runs of this machine?
#
#   ci/validate_verdicts.sh [-n TRIALS] [-p PCT] [-s guest|both] [-r RUNS] [-m K] [-b BUILD_DIR] [-k]
#                           [SUITE...] [-- BENCH_ARGS...]
#
# -m K (K >= 2): sets of runs instead of single runs: each P and S below is
# K runs into one directory (P and S runs alternating within a trial), and
# compare gets the directories (each series on its runs' medians, the
# spread measured from the runs themselves; no calibration is made).
#
# Defaults: 5 trials, 5%, the guest side, 10 calibration runs, build, suites
# compute memory exit.  First `xenith bench calibrate --runs RUNS` measures
# each series' between-run noise (RUNS 0: none, the repetitions alone
# decide).  Then TRIALS + 1 plain `xenith bench SUITES --quick` runs and
# TRIALS slowed ones, in the order P0 S1 P1 S2 P2 ... (drift over time falls
# on both kinds), and every comparison is made twice, with the calibration
# (compare --calibration) and without it (--calibration none):
#   A/A  compare P(t-1) P(t): every verdict other than same/unknown is a
#        false alarm (the runs differ only by time);
#   A/B  compare P(t-1) S(t): S(t) ran with XENITH_BENCH_SLOWDOWN naming one
#        quick case per suite, PCT% slower (bench/slowdown.h), the case
#        rotating with t.  Which of its series must move, and which way:
#          -s guest (default: what a Xenith regression is): its guest
#             series (every memory backing) `slower`, and its guest/native
#             ratio series `slower` too (the guest's speed over native fell);
#             its native series is unchanged, counted as A/A;
#          -s both: its guest and native series `slower`; the ratio series
#             of compute and memory are then unchanged (A/A); for exit
#             cases only the guest side has the case (the native side runs
#             its analogue), so guest and ratio are slowed as with -s guest.
#        Every other series of an A/B pair counts as A/A.
# Per suite, and per kind of series (absolute: native and guest; ratio), it
# prints the series compared, the false-alarm rate (A/A `slower`/`faster`),
# the unknown rate, the detection rate of the slowed series (the expected
# direction) and their unknown rate; then the cases behind the false alarms
# and the misses.  BENCH_ARGS go to every run (e.g. -- --repeat 10).
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

trials=5 pct=5 build=build keep=0 side=guest calib_runs=10 per_side=1
suites=() bench_args=()
while [ $# -gt 0 ]; do
	case "$1" in
	-n) trials=$2; shift 2 ;;
	-p) pct=$2; shift 2 ;;
	-s) side=$2; shift 2
	    case "$side" in guest|both) ;; *) echo "validate_verdicts: -s guest or -s both, not '$side'" >&2; exit 64 ;; esac ;;
	-r) calib_runs=$2; shift 2 ;;
	-m) per_side=$2; shift 2 ;;
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
case "$calib_runs" in 0|[2-9]|[1-9][0-9]) ;; *) echo "validate_verdicts: -r 0 (none) or 2..99 runs" >&2; exit 64 ;; esac
case "$per_side" in [1-9]|[1-9][0-9]) ;; *) echo "validate_verdicts: -m 1..99 runs a side" >&2; exit 64 ;; esac
[ "$per_side" = 1 ] || calib_runs=0 # sets of runs measure their own spread

work=$(mktemp -d /tmp/xenith-validate.XXXXXX)
[ "$keep" = 1 ] || trap 'rm -rf "$work"' EXIT

# The quick cases of each suite the knob can slow, from `xenith bench list`.
declare -A cases
for s in "${suites[@]}"; do
	cases[$s]=$("$xenith" bench list | awk -v s="$s" '$1 == s && $4 == "yes" { print $2 }' | tr '\n' ' ')
done

run1() { # run1 NAME [SPEC]: one run into $work/NAME
	local dir=$work/$1 spec=${2:-} before
	mkdir -p "$dir"
	before=$(find "$dir" -maxdepth 1 -name '[0-9]*.json' | wc -l)
	if [ -n "$spec" ]; then
		XENITH_BENCH_SLOWDOWN=$spec "$xenith" bench "${suites[@]}" --quick "${bench_args[@]}" \
			--out "$dir" >>"$dir/log" 2>&1
	else
		"$xenith" bench "${suites[@]}" --quick "${bench_args[@]}" --out "$dir" >>"$dir/log" 2>&1
	fi || { echo "validate_verdicts: run $1 failed:" >&2; tail -5 "$dir/log" >&2; exit 1; }
	[ "$(find "$dir" -maxdepth 1 -name '[0-9]*.json' | wc -l)" -gt "$before" ] ||
		{ echo "validate_verdicts: run $1 archived no new document (two runs in one second?)" >&2; exit 1; }
}
run() { # run NAME [SPEC]: the document (one run) or the directory (-m: K runs)
	if [ "$per_side" = 1 ]; then
		run1 "$@"
		ls "$work/$1"/[0-9]*.json | head -n1
	else
		for _ in $(seq 1 "$per_side"); do run1 "$@"; done
		echo "$work/$1"
	fi
}
block() { # block T SPEC: S(T) and P(T), alternating run by run with -m
	local k
	if [ "$per_side" = 1 ]; then
		slow=$(run "S$1" "$2")
		plain=$(run "P$1")
	else
		for k in $(seq 1 "$per_side"); do run1 "S$1" "$2"; run1 "P$1"; done
		slow=$work/S$1 plain=$work/P$1
	fi
}

echo "validate_verdicts: $trials trials of $per_side run(s) a side, ${pct}% slowdowns on the $side side," \
     "$calib_runs calibration runs, suites ${suites[*]}, bench args: ${bench_args[*]:-none}"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) CPUs)"
start=$(date +%s)
calib=none
if [ "$calib_runs" != 0 ]; then
	"$xenith" bench calibrate "${suites[@]}" --runs "$calib_runs" --out "$work" >"$work/calibrate.log" 2>&1 ||
		{ echo "validate_verdicts: calibrate failed:" >&2; tail -5 "$work/calibrate.log" >&2; exit 1; }
	calib=$work/calibration.json
	echo "  calibrated: $calib_runs runs ($(( $(date +%s) - start )) s)"
fi
prev=$(run P0)
: >"$work/verdicts"
for t in $(seq 1 "$trials"); do
	spec=""
	for s in "${suites[@]}"; do
		read -r -a list <<<"${cases[$s]}"
		c=${list[$(( (t - 1) % ${#list[@]} ))]}
		spec+="${spec:+,}$s/$c:$pct"
		[ "$side" = guest ] && spec+=":guest"
	done
	block "$t" "$spec"
	# one line per compared series: method kind pair suite case mode verdict expected
	methods="calibrated plain"
	[ "$per_side" = 1 ] || methods=runs
	for method in $methods; do
		[ $method = calibrated ] && [ "$calib" = none ] && continue
		arg=$calib
		[ $method = calibrated ] || arg=none
		for kind in AA AB; do
			if [ $kind = AA ]; then new=$plain; else new=$slow; fi
			"$xenith" bench compare "$prev" "$new" --calibration "$arg" >"$work/cmp-$method-$kind-$t" || true
			awk -v method=$method -v kind=$kind -v t="$t" -v spec=",$spec," -v side="$side" '
				# verdict rows only: not the ratio-interval table compare prints after them
				$1 ~ /^(compute|memory|exit)$/ && $6 != "-" && $NF ~ /^(same|slower|faster|unknown)$/ {
					v = $NF; slowed = index(spec, "," $1 "/" $2 ":") > 0
					expect = ""
					if (kind == "AB" && slowed) {
						if ($3 ~ /^guest/) expect = "slower"
						else if ($3 ~ /^ratio/ && (side == "guest" || $1 == "exit")) expect = "slower"
						else if ($3 == "native" && side == "both") expect = "slower"
					}
					print method, (expect == "" ? "AA" : "AB"), kind t, $1, $2, $3, v, (expect == "" ? "-" : expect)
				}' "$work/cmp-$method-$kind-$t" >>"$work/verdicts"
		done
	done
	echo "  trial $t of $trials done ($(( $(date +%s) - start )) s; slowed: $spec)"
	prev=$plain
done
echo "load average after:  $(cut -d' ' -f1-3 /proc/loadavg); $(( $(date +%s) - start )) s in all"
[ "$calib" = none ] || { echo; echo "calibration ($calib_runs runs):"; sed -n '/^suite/,/^(run sd/p' "$work/calibrate.log"; }
awk '
	{ m = $1; cls = ($6 ~ /^ratio/) ? "ratio" : "absolute"; key = m SUBSEP $2 SUBSEP $4 SUBSEP cls
	  n[key]++; suites[$4] = 1; methods[m] = 1
	  if ($2 == "AA" && ($7 == "slower" || $7 == "faster")) { fa[key]++; fa_case[m " " $4 "/" $5 "/" $6]++ }
	  if ($7 == "unknown") u[key]++
	  if ($2 == "AB" && $7 == $8) hit[key]++
	  if ($2 == "AB" && $7 != $8) miss[m " " $4 "/" $5 "/" $6 " (" $7 ")"]++ }
	END {
		for (m in methods) {
			what = m == "plain" ? "the repetitions alone decide (--calibration none)" : m == "runs" ? "sets of runs: each series on the medians of its runs (compare DIR DIR)" : "between-run noise from the calibration (compare --calibration)"
			printf "\n%s: %s\n", m, what
			printf "%-8s %-9s %6s %12s %9s | %6s %9s %9s\n", "suite", "series", "A/A", "false alarm",
			       "unknown", "A/B", "detected", "unknown"
			for (s in suites) for (ci = 0; ci < 2; ci++) {
				cls = ci ? "ratio" : "absolute"
				a = m SUBSEP "AA" SUBSEP s SUBSEP cls; b = m SUBSEP "AB" SUBSEP s SUBSEP cls
				printf "%-8s %-9s %6d %11.1f%% %8.1f%% | %6d %8.1f%% %8.1f%%\n", s, cls, n[a],
				       n[a] ? 100 * fa[a] / n[a] : 0, n[a] ? 100 * u[a] / n[a] : 0, n[b],
				       n[b] ? 100 * hit[b] / n[b] : 0, n[b] ? 100 * u[b] / n[b] : 0
			}
		}
		print "\nfalse alarms by series (A/A comparisons that said slower or faster):"
		for (k in fa_case) printf "  %-48s %d\n", k, fa_case[k]
		print "slowed series not found in the expected direction (verdict given):"
		for (k in miss) printf "  %-48s %d\n", k, miss[k]
	}' "$work/verdicts"
[ "$keep" = 1 ] && echo "runs and comparisons kept in $work"
exit 0
