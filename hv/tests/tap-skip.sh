#!/bin/sh
# Runs a CMocka test program and fixes one thing in its TAP: CMocka prints a
# skipped test as "not ok N # SKIP NAME", which TAP consumers (meson,
# ci/lab/run.sh) count as a failure.  A skip is "ok N - NAME # SKIP REASON";
# the reason is taken from the "# skip: REASON" line that SKIP_BECAUSE
# (harness.h) prints just before.  The program's exit status is kept.
# POSIX sh and awk, as the lab machine (busybox) runs it too.
# Usage: tap-skip.sh PROGRAM [ARGS...]
exec 4>&1
status=$({ { "$@" 3>&- 4>&-; echo $? >&3; } | awk '
	/^# skip: / { reason = substr($0, 9) }
	/^not ok [0-9]+ # SKIP/ {
		name = $0
		sub(/^not ok [0-9]+ # SKIP */, "", name)
		if (reason == "")
			$0 = "ok " $3 " # SKIP " name
		else
			$0 = "ok " $3 " - " name " # SKIP " reason
	}
	/^(not )?ok / { reason = "" }
	{ print; fflush() }' >&4 3>&-; } 3>&1)
exit "$status"
