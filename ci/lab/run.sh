#!/usr/bin/env bash
# Boots the lab (QEMU TCG: AMD-V, intel-iommu, SR-IOV NVMe), runs the lab
# tests inside and reports them as TAP: every test line of every program
# inside (skips as "ok N - PROGRAM: NAME # SKIP REASON"), then one line per
# program for its exit status and plan.  Exit 0 when all passed.
# Usage: ci/lab/run.sh [BUILD_DIR]   (default build; the lab goes to BUILD_DIR/lab)
# Environment:
#   XENITH_LAB_BOOT_TIMEOUT  s from QEMU's start to the lab's test runner (default 300);
#                            a boot that does not get there is tried again
#   XENITH_LAB_ATTEMPTS      boots that may fail to reach the runner (default 2)
#   XENITH_LAB_TIMEOUT       s for the tests once the runner started (default 1800);
#                            init cuts each test's limit to it, and QEMU is killed
#                            $grace s after it; no result then is a failure
#   XENITH_LAB_TCG_THREAD    single or multi (default single)
#   XENITH_LAB_APPEND        kernel parameters instead of "quiet" (loglevel=5: stack dumps)
#   XENITH_LAB_ONLY          names of the tests to run, comma-separated
#   XENITH_LAB_SCRIPT        a script to run instead of the tests
# The limits nest: a nested Linux boot (xenith --timeout 60) < a test's limit
# in init (300 s, linux_guest.sh 720 s) < XENITH_LAB_TIMEOUT < that + $grace
# < meson's timeout for the lab test (hv/tests/meson.build), which covers
# the build, XENITH_LAB_ATTEMPTS boot limits and the run.
set -euo pipefail
cd "$(dirname "$0")/../.."

build=${1:-build}
lab=$build/lab
vfs=4   # SR-IOV VFs the emulated NVMe offers; the smoke test expects this number
grace=60 # s after the budget for init's last report and power-off
tail_lines=40
if ! command -v qemu-system-x86_64 >/dev/null; then
	echo "1..0 # SKIP qemu-system-x86_64 is missing; run ci/setup.sh"
	exit 0
fi
if ! ci/lab/build.sh "$build" "$lab" >&2; then
	echo "Bail out! the lab could not be built (see the messages above)"
	exit 1
fi
log=$lab/console.log
rm -f "$lab"/console.attempt*.log
attempts=${XENITH_LAB_ATTEMPTS:-2}
boot_limit=${XENITH_LAB_BOOT_TIMEOUT:-300}
run_limit=${XENITH_LAB_TIMEOUT:-1800}
qpid=
trap '[ -n "$qpid" ] && kill "$qpid" 2>/dev/null; true' EXIT

console_tail() { # console_tail FILE: its last lines as TAP comments
	tail -n "$tail_lines" "$1" | sed 's/\r$//; s/\x1b\(\[[0-9?;]*[a-zA-Z]\|c\)//g; s/^/#   | /'
}

# The NVMe namespace (shared by the PF and its VFs' secondary controllers),
# zeroed for each run: the tests write patterns and read them back.  Behind a
# PCIe-to-PCI bridge, a serial card (on its host driver, 8250_pci) and
# QEMU's test device share one IOMMU group: a group that is not viable,
# for the passthrough tests' refusals.
rm -f "$lab/ns1.img"
truncate -s 64M "$lab/ns1.img"
start=$(date +%s)
outcome=
for attempt in $(seq 1 "$attempts"); do
	qemu-system-x86_64 -accel "tcg,thread=${XENITH_LAB_TCG_THREAD:-single}" \
		-machine q35,kernel-irqchip=split -cpu max \
		-m 2G -smp 2 -nographic -no-reboot -nic none \
		-kernel "$lab/vmlinuz" -initrd "$lab/initrd.gz" \
		-append "console=ttyS0 intel_iommu=on panic=-1 ${XENITH_LAB_APPEND:-quiet} xenith_lab_vfs=$vfs xenith_lab_only=${XENITH_LAB_ONLY:-} xenith_lab_budget=$run_limit" \
		-device intel-iommu,intremap=on,caching-mode=on \
		-device nvme-subsys,id=s0 \
		-device nvme,serial=xenith0,subsys=s0,sriov_max_vfs=$vfs,sriov_vq_flexible=8,sriov_vi_flexible=4,max_ioqpairs=12,msix_qsize=12 \
		-drive "file=$lab/ns1.img,if=none,id=ns1,format=raw" -device nvme-ns,drive=ns1,nsid=1 \
		-device pcie-root-port,id=rp1,bus=pcie.0,chassis=1 -device pcie-pci-bridge,id=br1,bus=rp1 \
		-device pci-serial,bus=br1,addr=1 -device pci-testdev,bus=br1,addr=2 \
		> "$log" 2>&1 < /dev/null &
	qpid=$!
	t0=$(date +%s)
	runner=
	killed=
	# Wait for the runner's line, then for QEMU to end (init powers off), each with its limit.
	while kill -0 "$qpid" 2>/dev/null; do
		now=$(date +%s)
		if [ -z "$runner" ] && grep -aq "^lab: runner started" "$log"; then
			runner=$now
		fi
		if [ -z "$runner" ] && [ $((now - t0)) -ge "$boot_limit" ]; then
			killed="it did not reach the test runner within $boot_limit s (XENITH_LAB_BOOT_TIMEOUT)"
		elif [ -n "$runner" ] && [ $((now - runner)) -ge $((run_limit + grace)) ]; then
			killed="no result $((run_limit + grace)) s after the runner started (XENITH_LAB_TIMEOUT $run_limit s + $grace s)"
		fi
		if [ -n "$killed" ]; then
			kill "$qpid" 2>/dev/null || true
			break
		fi
		sleep 1
	done
	rc=0
	wait "$qpid" || rc=$?
	qpid=
	[ -z "$runner" ] && grep -aq "^lab: runner started" "$log" && runner=$(date +%s)
	took=$(($(date +%s) - t0))
	if [ -n "$killed" ]; then
		echo "# lab: attempt $attempt: QEMU killed after $took s: $killed"
	elif [ "$rc" -ne 0 ]; then
		echo "# lab: attempt $attempt: qemu-system-x86_64 exited with $rc after $took s"
	fi
	if grep -aq "^LAB-RESULT" "$log"; then
		outcome=result
		break
	fi
	cp "$log" "$lab/console.attempt$attempt.log"
	if [ -n "$runner" ]; then
		# The tests had started: a hang or crash there is a verdict, never retried.
		outcome="${killed:-the lab machine stopped (qemu-system-x86_64 exit status $rc)}, after its tests started; console in $lab/console.attempt$attempt.log"
		echo "# lab: attempt $attempt: no result after the tests started; the console's last $tail_lines lines:"
		console_tail "$log"
		break
	fi
	# The boot never reached the tests (the emulated machine froze or crashed
	# on its way, seen under TCG, see the README): no test verdict; boot again.
	outcome="no boot reached the test runner in $attempt attempt(s) (XENITH_LAB_ATTEMPTS)"
	echo "# lab: attempt $attempt: the boot did not reach the test runner ($took s); console in $lab/console.attempt$attempt.log, its last $tail_lines lines:"
	console_tail "$log"
done
secs=$(( $(date +%s) - start ))

# The console log to TAP.  Inside a test's frame ("lab: == NAME" to "lab:
# NAME exit RC") its TAP lines are renumbered into this plan, prefixed with
# the program's name; its plan and other lines become comments.  Then one
# line for the program: exit status 0, not killed, no xenith left running,
# as many tests as it planned (a plan "1..0 # SKIP REASON" makes it a skip).
awk -v secs="$secs" -v logf="$log" -v outcome="$outcome" '
	function finish(why) {
		n++
		if (why == "" && skipall != "" && seen == 0)
			printf "ok %d - lab/%s # SKIP %s\n", n, cur, skipall
		else if (why == "" && planned < 0)
			printf "ok %d - lab/%s: exit 0%s\n", n, cur, took
		else if (why == "")
			printf "ok %d - lab/%s: exit 0, %d of %d planned tests%s\n", n, cur, seen, planned, took
		else {
			printf "not ok %d - lab/%s: %s%s\n", n, cur, substr(why, 3), took
			failed++
		}
		cur = ""
	}
	{ sub(/\r$/, ""); gsub(/\033(\[[0-9?;]*[a-zA-Z]|c)/, "") }
	/^lab: == / {
		cur = $3; planned = -1; seen = 0; skipall = ""; problems = ""; took = ""
		print "# " $0
		next
	}
	cur != "" && /^(not )?ok / {
		bad = ($1 == "not")
		rest = $0
		sub(/^(not )?ok *[0-9]* */, "", rest)
		sub(/^- */, "", rest)
		n++; seen++
		if (rest ~ /^#/)
			printf "%s %d - lab/%s %s\n", bad ? "not ok" : "ok", n, cur, rest
		else
			printf "%s %d - lab/%s: %s\n", bad ? "not ok" : "ok", n, cur, rest
		if (bad && rest !~ /# *TODO/) failed++
		next
	}
	cur != "" && /^1\.\.[0-9]+/ {
		planned = $1; sub(/^1\.\./, "", planned); planned += 0
		if (planned == 0 && match($0, /# *SKIP */)) skipall = substr($0, RSTART + RLENGTH)
		if (skipall == "" && planned == 0) skipall = "no tests"
		print "#   plan " $0
		next
	}
	cur != "" && /^Bail out!/ { problems = problems "; " $0; print "# " $0; next }
	cur != "" && $0 ~ ("^lab: " cur " killed after ") {
		problems = problems "; killed after " $5 " s, its limit: it hung or ran too slow"
		print "# " $0
		next
	}
	cur != "" && $0 ~ ("^lab: " cur " left xenith running") {
		problems = problems "; left xenith processes running (the lab killed them)"
		print "# " $0
		next
	}
	cur != "" && $0 ~ ("^lab: " cur " exit ") {
		print "# " $0
		rc = $4
		took = $0
		sub(/^lab: [^ ]+ exit [0-9]+ /, "", took)
		took = " " took
		if (rc != 0) problems = problems "; exit status " rc
		if (cur != "lab-script" && planned < 0) problems = problems "; printed no TAP plan"
		else if (planned > 0 && seen != planned) problems = problems "; ran " seen " of " planned " planned tests"
		finish(problems)
		next
	}
	/^lab: [^ ]+ not run: / {
		n++; failed++
		name = $2; reason = $0; sub(/^lab: [^ ]+ not run: /, "", reason)
		printf "not ok %d - lab/%s: not run: %s\n", n, name, reason
		next
	}
	/^LAB-RESULT/ { result = $0 }
	/^lab: / || /^LAB-RESULT/ || cur != "" { print "# " $0 }
	END {
		if (cur != "") finish("; never finished: " outcome)
		if (result == "") {
			n++; failed++
			printf "not ok %d - lab: a result line (%s)\n", n, outcome
		}
		print "# lab: ran for " secs " s; console in " logf
		printf "1..%d\n", n
		exit (failed > 0)
	}' "$log"
