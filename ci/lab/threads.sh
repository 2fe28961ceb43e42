#!/bin/sh
# Inside the lab: every thread of every live xenith process on one line, as
# "xenith PID: TID STATE/WAIT-CHANNEL/GUEST-TICKS ...", or "no xenith"; with
# --pids only their process IDs.  Zombies (ended, not yet reaped) are left out.
# For the heartbeat, a killed test's last state, and what a test left behind.
line=
pids=
for p in $(pidof xenith); do
	[ "$(cut -d' ' -f3 "/proc/$p/stat" 2>/dev/null)" = Z ] && continue
	pids="$pids $p"
	line="$line; xenith $p:"
	for t in /proc/$p/task/*; do
		line="$line ${t##*/} $(cut -d' ' -f3 "$t/stat" 2>/dev/null)/$(cat "$t/wchan" 2>/dev/null)/$(cut -d' ' -f43 "$t/stat" 2>/dev/null)"
	done
done
if [ "${1:-}" = --pids ]; then
	echo "${pids# }"
else
	echo "${line#; }" | sed 's/^$/no xenith/'
fi
