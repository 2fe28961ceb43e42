#!/usr/bin/env bash
# unit tier: xenith-net (the guest's network programs natively, net/native.c)
# between two network namespaces joined by a veth pair: blast into sink at
# 64 and 1514 bytes with every datagram counted once, the echo client's
# round trips all answered, and the host's ping answered by the stack;
# then on a port: `xenith-net tap:T` (the port code a vif uses) blasting
# into a sink on T's host side and back, every datagram counted once, and
# `xenith-net dpdk:[net_af_packet0,iface=P]` blasting into a sink on P's
# veth peer (a skip in a build without DPDK).
# Needs root (namespaces, AF_PACKET): otherwise a skip with the reason.
# Usage: native.sh PATH/TO/xenith-net
set -uo pipefail

bin=$1
tag=n3t$$
a=${tag}a b=${tag}b
tmp=$(mktemp -d)
pids=()

cleanup() {
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	ip netns del "$a" 2>/dev/null
	ip netns del "$b" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

skip() {
	echo "1..0 # SKIP $1"
	exit 0
}

[ "$(id -u)" = 0 ] || skip "needs root (network namespaces, AF_PACKET)"
command -v ip >/dev/null || skip "no ip command (Debian: iproute2)"
ip netns add "$a" 2>/dev/null && ip netns add "$b" 2>/dev/null || skip "cannot create network namespaces"
ip link add "${tag}x" type veth peer name "${tag}y" || skip "cannot create a veth pair"
ip link set "${tag}x" netns "$a" && ip link set "${tag}y" netns "$b" &&
	ip -n "$a" link set "${tag}x" up && ip -n "$b" link set "${tag}y" up || skip "cannot set the veth pair up"

echo "1..8"
n=0
# Waits (up to 60 s on a loaded host) until file has a line matching pattern.
wait_for() {
	local file=$1 pattern=$2
	for _ in $(seq 600); do
		grep -q "$pattern" "$file" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}
# Starts xenith-net in namespace ns in the background, output to file; waits for its ready line.
start() {
	local ns=$1 file=$2
	shift 2
	ip netns exec "$ns" "$bin" "$@" >"$file" 2>&1 &
	pids+=($!)
	wait_for "$file" "^xenith-net: ready" || { echo "# no ready line from $*:"; sed 's/^/# /' "$file"; return 1; }
}
field() {
	grep -o "\"$2\":[0-9]*" "$1" | head -1 | cut -d: -f2
}
result() {
	n=$((n + 1))
	if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fi
}

for size_count in 64:5000 1514:2000; do
	size=${size_count%:*} count=${size_count#*:}
	ok=1
	if start "$a" "$tmp/sink$size" "${tag}x" sink ip=10.9.0.2/24 count="$count" &&
		ip netns exec "$b" "$bin" "${tag}y" blast ip=10.9.0.3/24 dst=10.9.0.2:5001 size="$size" \
			count="$count" rate=20000 >"$tmp/blast$size" 2>&1 &&
		wait_for "$tmp/sink$size" "^net-json"; then
		sent=$(field "$tmp/blast$size" sent) got=$(field "$tmp/sink$size" packets)
		bytes=$(field "$tmp/sink$size" bytes) lost=$(field "$tmp/sink$size" lost)
		dup=$(field "$tmp/sink$size" duplicates)
		[ "$sent" = "$count" ] && [ "$got" = "$count" ] && [ "$bytes" = $((count * size)) ] &&
			[ "$lost" = 0 ] && [ "$dup" = 0 ] && ok=0
		[ $ok = 0 ] || echo "# $size B: blast sent $sent of $count, sink counted $got ($bytes bytes), lost $lost, duplicates $dup"
	else
		echo "# $size B: no result:"
		sed 's/^/# /' "$tmp/sink$size" "$tmp/blast$size" 2>/dev/null
	fi
	result $ok "blast of $count frames of $size B into sink: every one counted once, none lost"
done

ok=1
if start "$a" "$tmp/echod" "${tag}x" echo ip=10.9.0.2/24 &&
	ip netns exec "$b" "$bin" "${tag}y" echo ip=10.9.0.3/24 dst=10.9.0.2:7 count=200 >"$tmp/echo" 2>&1; then
	got=$(field "$tmp/echo" received) p50=$(field "$tmp/echo" p50_ns) p99=$(field "$tmp/echo" p99_ns)
	[ "$got" = 200 ] && [ "$p50" -gt 0 ] && [ "$p50" -le "$p99" ] && ok=0
	[ $ok = 0 ] || { echo "# echo:"; sed 's/^/# /' "$tmp/echo"; }
fi
result $ok "echo: 200 round trips answered, p50 <= p99"

# The echo server is still running in $a: the host's own stack pings it.
ok=1
ip -n "$b" addr add 10.9.0.1/24 dev "${tag}y"
if ip netns exec "$b" ping -c 3 -W 5 10.9.0.2 >"$tmp/ping" 2>&1; then
	ok=0
else
	sed 's/^/# /' "$tmp/ping"
fi
result $ok "the host's ping is answered by the stack"

# A tap port: xenith-net tap:T is where a guest would be, T's host side the wire.
# tap -> AF_PACKET: the blaster first (it makes the tap and waits for ARP), then the sink answers.
ok=1
t=${tag}t
if start "$a" "$tmp/tblast" "tap:$t" blast ip=10.9.1.3/24 dst=10.9.1.2:5001 size=1000 count=2000 rate=20000 &&
	start "$a" "$tmp/tsink" "$t" sink ip=10.9.1.2/24 count=2000 && wait_for "$tmp/tsink" "^net-json" &&
	wait_for "$tmp/tblast" "^net-json"; then
	sent=$(field "$tmp/tblast" sent) got=$(field "$tmp/tsink" packets) lost=$(field "$tmp/tsink" lost)
	bursts=$(field "$tmp/tblast" bursts)
	[ "$sent" = 2000 ] && [ "$got" = 2000 ] && [ "$lost" = 0 ] && [ "$bursts" -gt 0 ] && ok=0
	[ $ok = 0 ] || { echo "# tap blast:"; sed 's/^/# /' "$tmp/tblast" "$tmp/tsink"; }
fi
result $ok "tap:T blast of 2000 frames into a sink on T: every one counted once, sent in bursts"

# AF_PACKET -> tap: a sink on the tap port counts what a blaster on T's host side sends.
ok=1
u=${tag}u
if start "$a" "$tmp/usink" "tap:$u" sink ip=10.9.2.2/24 count=2000 &&
	ip netns exec "$a" "$bin" "$u" blast ip=10.9.2.3/24 dst=10.9.2.2:5001 size=1000 count=2000 \
		rate=20000 >"$tmp/ublast" 2>&1 && wait_for "$tmp/usink" "^net-json"; then
	got=$(field "$tmp/usink" packets) lost=$(field "$tmp/usink" lost) dup=$(field "$tmp/usink" duplicates)
	[ "$got" = 2000 ] && [ "$lost" = 0 ] && [ "$dup" = 0 ] && ok=0
	[ $ok = 0 ] || { echo "# tap sink:"; sed 's/^/# /' "$tmp/usink" "$tmp/ublast"; }
fi
result $ok "blast of 2000 frames into a sink on tap:T: every one counted once"

# A DPDK port: net_af_packet on one end of a veth pair, the sink on the other end.
ok=1 skipped=
p=${tag}p q=${tag}q
if ip link add "$p" type veth peer name "$q" && ip link set "$p" netns "$a" && ip link set "$q" netns "$a" &&
	ip -n "$a" link set "$p" up && ip -n "$a" link set "$q" up &&
	start "$a" "$tmp/dsink" "$q" sink ip=10.9.3.2/24 count=2000; then
	ip netns exec "$a" "$bin" "dpdk:[net_af_packet0,iface=$p]" blast ip=10.9.3.3/24 dst=10.9.3.2:5001 \
		size=200 count=2000 rate=20000 >"$tmp/dblast" 2>&1
	if grep -q "no DPDK port" "$tmp/dblast"; then
		skipped="a build without DPDK (dpdk-dev: ci/setup.sh)"
	elif wait_for "$tmp/dsink" "^net-json"; then
		sent=$(field "$tmp/dblast" sent) got=$(field "$tmp/dsink" packets) lost=$(field "$tmp/dsink" lost)
		dup=$(field "$tmp/dsink" duplicates)
		[ "$sent" = 2000 ] && [ "$got" = 2000 ] && [ "$lost" = 0 ] && [ "$dup" = 0 ] && ok=0
	fi
	[ $ok = 0 ] || [ -n "$skipped" ] || { echo "# dpdk blast:"; sed 's/^/# /' "$tmp/dblast" "$tmp/dsink"; }
fi
if [ -n "$skipped" ]; then
	n=$((n + 1))
	echo "ok $n # SKIP dpdk: port: $skipped"
else
	result $ok "dpdk:[net_af_packet0,iface=P] blast of 2000 frames into a sink on P's peer: every one counted once"
fi

# hold=1: after its figures the program keeps its port open, idle, until SIGTERM, then ends with 0.
ok=1
h=${tag}h
if start "$a" "$tmp/hold" "tap:$h" blast ip=10.9.4.2/24 dst=255.255.255.255:9 count=10 hold=1 && wait_for "$tmp/hold" "^net-json"; then
	hpid=${pids[-1]}
	sleep 1
	if kill -0 "$hpid" 2>/dev/null && ip -n "$a" link show "$h" >/dev/null 2>&1; then
		kill -TERM "$hpid"
		wait "$hpid"
		rc=$?
		[ "$rc" = 0 ] && ! ip -n "$a" link show "$h" >/dev/null 2>&1 && ok=0
		[ $ok = 0 ] || echo "# after SIGTERM: exit $rc; tap $h $(ip -n "$a" link show "$h" >/dev/null 2>&1 && echo still there || echo gone)"
	else
		echo "# 1 s after its figures: $(kill -0 "$hpid" 2>/dev/null && echo running || echo ended), tap $h $(ip -n "$a" link show "$h" >/dev/null 2>&1 && echo there || echo gone)"
	fi
fi
result $ok "hold=1: the port stays open after the figures until SIGTERM, then exit 0"

