#!/usr/bin/env bash
# Boots the lab (QEMU TCG: AMD-V, intel-iommu, SR-IOV NVMe), runs the lab
# tests inside and reports them as TAP (one line per test program inside,
# their own output as comments).  Exit 0 when all passed.
# Usage: ci/lab/run.sh [BUILD_DIR]   (default build; the lab goes to BUILD_DIR/lab)
# Environment: XENITH_LAB_TIMEOUT (s per boot, default 420), XENITH_LAB_ATTEMPTS
# (boots when the machine hangs without a result, default 2), XENITH_LAB_TCG_THREAD
# (single or multi, default single), XENITH_LAB_APPEND (kernel
# parameters instead of "quiet", e.g. loglevel=5 to see stack dumps), XENITH_LAB_ONLY (names of
# the tests to run, comma-separated), XENITH_LAB_SCRIPT (a script to run instead).
set -euo pipefail
cd "$(dirname "$0")/../.."

build=${1:-build}
lab=$build/lab
vfs=4   # SR-IOV VFs the emulated NVMe offers; the smoke test expects this number
if ! command -v qemu-system-x86_64 >/dev/null; then
	echo "1..0 # SKIP qemu-system-x86_64 is missing; run ci/setup.sh"
	exit 0
fi
if ! ci/lab/build.sh "$build" "$lab" >&2; then
	echo "Bail out! the lab could not be built (see the messages above)"
	exit 1
fi
log=$lab/console.log
attempts=${XENITH_LAB_ATTEMPTS:-2}
limit=${XENITH_LAB_TIMEOUT:-420}
start=$(date +%s)
for attempt in $(seq 1 "$attempts"); do
	t0=$(date +%s)
	rc=0
	timeout "$limit" qemu-system-x86_64 -accel "tcg,thread=${XENITH_LAB_TCG_THREAD:-single}" \
		-machine q35,kernel-irqchip=split -cpu max \
		-m 2G -smp 2 -nographic -no-reboot -nic none \
		-kernel "$lab/vmlinuz" -initrd "$lab/initrd.gz" \
		-append "console=ttyS0 intel_iommu=on panic=-1 ${XENITH_LAB_APPEND:-quiet} xenith_lab_vfs=$vfs xenith_lab_only=${XENITH_LAB_ONLY:-}" \
		-device intel-iommu,intremap=on,caching-mode=on \
		-device nvme-subsys,id=s0 \
		-device nvme,serial=xenith0,subsys=s0,sriov_max_vfs=$vfs,sriov_vq_flexible=8,sriov_vi_flexible=4,max_ioqpairs=12,msix_qsize=12 \
		> "$log" 2>&1 || rc=$?
	[ "$rc" -eq 124 ] && echo "# lab: attempt $attempt: QEMU killed after $limit s (XENITH_LAB_TIMEOUT)"
	[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] && echo "# lab: attempt $attempt: qemu-system-x86_64 exited with $rc"
	grep -aq "LAB-RESULT" "$log" && break
	# No result at all: the emulated machine hung or crashed (seen under TCG, see the
	# README), which is not a test verdict.  Keep its console and boot it once more.
	cp "$log" "$lab/console.attempt$attempt.log"
	echo "# lab: attempt $attempt gave no result after $(( $(date +%s) - t0 )) s; its console is in $lab/console.attempt$attempt.log"
	tail -n 5 "$log" | sed 's/^/#   | /'
done
secs=$(( $(date +%s) - start ))

# The console log to TAP: test programs' output becomes comments.
awk -v secs="$secs" -v logf="$log" '
	{ sub(/\r$/, ""); gsub(/\033(\[[0-9?;]*[a-zA-Z]|c)/, "") }
	/^lab: == / { cur = $3; next }
	cur != "" && $0 ~ ("^lab: " cur " exit ") {
		n++
		rc = $4
		printf "%s %d - lab/%s%s\n", (rc == 0 ? "ok" : "not ok"), n, cur, (rc == 0 ? "" : " (exit " rc ")")
		sub(/^lab: [^ ]+ exit [0-9]+ /, "")
		print "#   took " $0
		cur = ""
		next
	}
	/^LAB-RESULT/ { result = $0; next }
	/^lab: / || cur != "" { print "# " $0 }
	END {
		if (cur != "") { n++; printf "not ok %d - lab/%s (never finished)\n", n, cur }
		print "# lab: ran for " secs " s; console in " logf
		if (result == "") print "Bail out! the lab machine did not report a result (timeout or crash); see " logf
		printf "1..%d\n", n
	}' "$log"
result=$(grep -a "LAB-RESULT" "$log" | tail -n1 || true)
case "$result" in
	*" 0 failed"*) exit 0 ;;
	*) exit 1 ;;
esac
