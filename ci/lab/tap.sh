# TAP helpers for the lab's test scripts (busybox sh), one copy for all of
# them.  Source it: . "$(dirname "$0")/../tap.sh"  (the lab has it as
# /xenith/tap.sh, next to /xenith/tests/).  Each helper prints one TAP line;
# tap_done prints the plan and returns 0 when nothing failed, so a script
# ends with: tap_done
# Besides, need_nvme_pf: the lab's NVMe PF, which the passthrough tests share;
# and boot: a nested Linux guest, which the Linux guest tests share.
tap_n=0
tap_failed=0
ok() { tap_n=$((tap_n + 1)); echo "ok $tap_n - $*"; }
notok() { tap_n=$((tap_n + 1)); tap_failed=$((tap_failed + 1)); echo "not ok $tap_n - $*"; }
skip() { # skip DESCRIPTION REASON: a visible skip, "ok N - DESCRIPTION # SKIP REASON"
	tap_n=$((tap_n + 1))
	echo "ok $tap_n - $1 # SKIP $2"
}
todo() { # todo DESCRIPTION WHY: a known, unsolved failure, shown but not counted ("not ok N - ... # TODO WHY")
	tap_n=$((tap_n + 1))
	echo "not ok $tap_n - $1 # TODO $2"
}
result() { if [ "$1" -eq 0 ]; then ok "$2"; else notok "$2"; fi; } # result STATUS DESCRIPTION
check() { # check DESCRIPTION COMMAND...: ok when COMMAND succeeds
	tap_d=$1
	shift
	if "$@"; then ok "$tap_d"; else notok "$tap_d"; fi
}
show() { sed "s/^/#   /" "$@"; } # show [FILE]: its lines (or standard input's) as TAP comments; the lab has no /dev/stdin
tap_done() { echo "1..$tap_n"; [ "$tap_failed" -eq 0 ]; }
# need_nvme_pf: pf = the BDF of the first NVMe controller with SR-IOV (class
# 010802, sriov_totalvfs); without one, a failed check, the plan, and the
# script ends.
need_nvme_pf() {
	pf=
	for tap_dev in /sys/bus/pci/devices/*; do
		[ "$(cat "$tap_dev/class")" = 0x010802 ] && [ -f "$tap_dev/sriov_totalvfs" ] &&
			pf=$(basename "$tap_dev") && return 0
	done
	notok "an NVMe controller with SR-IOV is present"
	tap_done
	exit
}
# Each nested boot takes 20 to 30 s here; --timeout 60 turns a nested guest
# that hangs into xenith's timeout (status 68) instead of a lab machine that
# gives no result.  Known problem (README, "The lab"): now and then the
# nested kernel hangs, mostly early in its boot, before its init runs, once
# in a while after it (running guest code, never powering off), while the
# lab machine goes on (its heartbeat).  Such a boot is a TODO line (meson
# shows an expected failure) and is tried again, twice at most; a third
# hang, or any other failure, is the test's verdict.
# The caller sets X (the xenith binary) and G (the Linux guest's directory).
boot() { # boot NAME EXTRA-CMDLINE [xenith options...]: output in /tmp/NAME.out/.err, status in $rc, seconds in $secs
	name=$1 extra=$2
	shift 2
	for try in 1 2 3; do
		t0=$(cut -d' ' -f1 /proc/uptime)
		$X run -n "$name" --kernel $G/vmlinuz --initrd $G/initrd.gz -m 256 --timeout 60 \
			--cmdline "console=ttyS0 panic=-1 quiet $extra" "$@" > "/tmp/$name.out" 2> "/tmp/$name.err"
		rc=$?
		t1=$(cut -d' ' -f1 /proc/uptime)
		secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
		[ "$rc" = 68 ] || break
		when="before its init ran"
		grep -q "xenith-linux-guest: init ran" "/tmp/$name.out" && when="after its init ran"
		if [ "$try" -lt 3 ]; then
			todo "$name: attempt $try: the nested kernel hung $when ($secs s; its console below)" \
				"known problem, README's lab section; tried again"
		else
			echo "# $name: the nested kernel hung $when, a third time ($secs s); its console:"
		fi
		show "/tmp/$name.out"
	done
}
