#!/usr/bin/env bash
# The fuzz tier: builds each libFuzzer target in fuzz/ with clang
# (-fsanitize=fuzzer,address,undefined) together with the project sources
# it exercises (only those: the project itself builds with gcc), into
# BUILD_DIR/fuzz/, and runs it from its seed corpus fuzz/corpus/TARGET/
# for XENITH_FUZZ_SECONDS (default 10) each, or XENITH_FUZZ_RUNS inputs
# if that is set.  Prints TAP; without clang or libFuzzer every target is
# skipped.  New inputs the fuzzer finds go to BUILD_DIR/fuzz/corpus/TARGET/,
# crashes to BUILD_DIR/fuzz/artifacts/, logs to BUILD_DIR/fuzz/TARGET.log.
# The hypercall, vif and relocate targets build their domain from BUILD_DIR/guest/minios
# (XENITH_MINIOS); without that image they are reported as skipped.  Before
# the hypercall target fuzzes, each of its seed-vbd-* seeds must connect a disk through the store
# (XENITH_FUZZ_EXPECT_CONNECT=1, fuzz_hypercall.c), or the target fails:
# without them the fuzzer starts short of every live disk backend.
#
# Usage: fuzz/run.sh BUILD_DIR [TARGET...]     (default: every target)
# CLANG=clang-NN picks another clang.
set -uo pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
if [ $# -lt 1 ]; then
	echo "usage: $0 BUILD_DIR [TARGET...]" >&2
	exit 2
fi
out=$(mkdir -p "$1/fuzz" && cd "$1/fuzz" && pwd)
shift
# The hypercall, vif and relocate targets build their domain from the bundled guest image.
export XENITH_MINIOS=${out%/fuzz}/guest/minios
secs=${XENITH_FUZZ_SECONDS:-10}
runs=${XENITH_FUZZ_RUNS:-}
clang=${CLANG:-clang}

# target: project sources, libraries, largest input
# All of the VMM's sources, as build/tools/xenith links them: io/port_dpdk.c needs DPDK's flags
# and archives, and its stub port_dpdk_none.c stands in (as in the VMM most domains run in);
# sriov/ and iommu/ for the pci device type (hv/pcidev.c).
# and the profiler's parts the VMM samples with (hv/prof.c): the unwinder, KVM's statistics, the record format.
# hv/gen_seccomp.c is the build-time program that writes the seccomp filters into BUILD_DIR/hv/confine_bpf.c
# (meson builds it before this tier runs); a path starting with / is taken as it is.
vmm_sources="$(cd "$src" && echo hv/*.c io/*.c lib/*.c sriov/*.c iommu/*.c | tr ' ' '\n' | grep -vx -e io/port_dpdk.c -e hv/gen_seccomp.c | tr '\n' ' ')"
vmm_sources+=" xenoprof/unwind.c xenoprof/kvmstats.c xenoprof/profile.c xenoprof/names.c mig/stream.c"
vmm_sources+=" ${out%/fuzz}/hv/confine_bpf.c"
declare -A sources=(
	[grant]="io/grant.c"
	[blkif]="io/blkback.c io/grant.c lib/clock.c"
	[config]="hv/config.c lib/err.c"
	[elf]="hv/elfload.c lib/err.c"
	[text]="hv/textfilter.c"
	[console]="hv/console.c hv/textfilter.c lib/err.c"
	[control]="hv/control.c hv/control_proto.c lib/json.c lib/json_escape.c lib/jsondoc.c hv/config.c lib/err.c"
	[bzimage]="hv/linux_boot.c hv/acpi.c lib/err.c"
	[linuxpio]="hv/linux_ports.c hv/uart8250.c hv/acpi_pm.c hv/iobus.c lib/err.c"
	[netif]="io/netback.c io/netback_check.c io/port_pair.c io/grant.c lib/clock.c"
	[xenstore]="io/xenstore.c io/xenstore_api.c io/xenstore_conn.c io/xenstore_txn.c io/xenstore_dump.c io/xenstore_req.c io/xenstore_watch.c"
	# a saved xenstore loaded from any bytes (xs_restore), saved and loaded again
	[xs_restore]="io/xenstore.c io/xenstore_api.c io/xenstore_conn.c io/xenstore_txn.c io/xenstore_dump.c io/xenstore_req.c io/xenstore_watch.c io/xenstore_save.c lib/savebuf.c"
	# the dispatcher reaches most of hv/ (domain, builder, vcpu, disks, ...): all of it
	[hypercall]="$vmm_sources"
	[netstack]="net/stack.c net/apps.c"
	# a domain with vifs: as the hypercall target, all of hv/, io/ and lib/
	[vif]="$vmm_sources"
	[switch]="io/switch.c io/switch_l2.c io/switch_proto.c io/netback.c io/netback_check.c io/netback_relocate.c io/grant.c lib/clock.c"
	# the NVMe driver core against its software controller (the unit tests' model)
	[nvme]="nvme/drv.c nvme/io.c nvme/strerror.c nvme/tests/sim.c"
	# the kernel's rtnetlink replies about an SR-IOV NIC's VFs
	[nic_vf]="sriov/nic_vf.c lib/err.c"
	# a Linux guest's PCI bus and a passed-through function's config space and MSI-X table
	[pcicfg]="hv/pcicfg.c"
	# the profiler's guest page-table walk and frame-pointer unwinder, on memory and registers the input makes up
	[unwind]="xenoprof/unwind.c"
	# the Xen HVM interface a Linux guest sees (hv/xenhvm.c): its hypercalls reach event channels and more of hv/
	[xenhvm]="$vmm_sources"
	# the relocation stream's reader, from memory and from a descriptor, and its typed bodies
	[stream]="mig/stream.c lib/err.c"
	# a restore's records after DOMAIN and CONFIG, into an unbacked domain with a disk and a vif: all of hv/, io/ and lib/
	[relocate]="$vmm_sources"
	# the profile file's reader and, on what it takes, every report
	[profile]="xenoprof/profile.c xenoprof/report.c xenoprof/report_svg.c xenoprof/names.c lib/err.c lib/json_escape.c lib/jsondoc.c"
)
declare -A libs=([grant]="-lpthread" [blkif]="-luring -lpthread" [config]="-lm" [elf]="" [text]="" [console]="-lpthread"
	[control]="-lpthread -lm" [bzimage]="" [linuxpio]="-lpthread" [xenstore]="-lpthread" [xs_restore]="-lpthread" [netif]="-lpthread"
	[hypercall]="-luring -lseccomp -lpthread -lm" [netstack]=""
	[vif]="-luring -lseccomp -lpthread -lm" [switch]="-lpthread" [nvme]="" [nic_vf]="" [pcicfg]="-lpthread" [unwind]="" [profile]="" [xenhvm]="-luring -lseccomp -lpthread -lm" [stream]="" [relocate]="-luring -lseccomp -lpthread -lm")
declare -A max_len=([grant]=8192 [blkif]=8192 [config]=4096 [elf]=20000 [text]=4096 [console]=8192
	[control]=8192 [bzimage]=16384 [linuxpio]=4096 [xenstore]=8192 [xs_restore]=16384 [hypercall]=4096 [netif]=8192 [netstack]=16384 [vif]=4096
	[switch]=8192 [nvme]=4096 [nic_vf]=8192 [pcicfg]=4096 [unwind]=24576 [profile]=16384 [xenhvm]=4096 [stream]=16384 [relocate]=65536)
all=(grant blkif netif config elf text console control bzimage linuxpio xenstore xs_restore hypercall netstack vif switch nvme nic_vf pcicfg unwind profile xenhvm stream relocate)

targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=("${all[@]}")
for t in "${targets[@]}"; do
	if [ -z "${sources[$t]+x}" ]; then
		echo "$0: no target '$t' (targets: ${all[*]})" >&2
		exit 2
	fi
done

cflags=(-std=c11 -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer
	"-fsanitize=fuzzer,address,undefined" -fno-sanitize-recover=all
	-Wall -Wextra -I"$src/include" -I"$src/lib" -I"$src/io" -I"$src/hv" -I"$src/fuzz" -I"$src/net" -I"$src/sriov" -I"$src/iommu")
cflags+=(-I"$src/nvme" -I"$src/nvme/tests" -I"$src/xenoprof" -I"$src/mig")

# Prints its input as TAP comments.
comment() {
	sed 's/^/# /'
}

count() {
	find "$1" -type f | wc -l
}

export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}

echo "1..${#targets[@]}"

skip=""
if ! command -v "$clang" >/dev/null; then
	skip="$clang not found (Debian: apt-get install clang libclang-rt-dev)"
else
	printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { (void)d; (void)n; return 0; }\n' \
		>"$out/probe.c"
	if ! "$clang" -fsanitize=fuzzer,address,undefined "$out/probe.c" -o "$out/probe" \
		>"$out/probe.log" 2>&1; then
		skip="$clang cannot link -fsanitize=fuzzer (Debian: apt-get install libclang-rt-dev)"
	fi
fi
if [ -n "$skip" ]; then
	n=0
	for t in "${targets[@]}"; do
		n=$((n + 1))
		echo "ok $n - $t # SKIP $skip"
	done
	exit 0
fi

# Rebuilds a target when it is missing or older than anything it is built from.
build() {
	local t=$1 bin=$2 files=("$src/fuzz/fuzz_$1.c")
	local f

	for f in ${sources[$t]}; do
		case $f in
		/*) files+=("$f") ;;
		*) files+=("$src/$f") ;;
		esac
	done
	if [ -x "$bin" ] && ! find "${files[@]}" "$src/fuzz/fuzz.h" "$src/fuzz/run.sh" \
		"$src"/include/xenith/*.h "$src"/lib/*.h "$src"/io/*.h "$src"/hv/*.h "$src"/net/*.h "$src"/nvme/*.h "$src"/nvme/tests/*.h "$src"/sriov/*.h "$src"/iommu/*.h "$src"/xenoprof/*.h "$src"/mig/*.h -newer "$bin" | grep -q .; then
		return 0
	fi
	# shellcheck disable=SC2086 # libs is a list of flags
	"$clang" "${cflags[@]}" "${files[@]}" -o "$bin.tmp" ${libs[$t]} >"$out/$t.build.log" 2>&1 &&
		mv "$bin.tmp" "$bin"
}

status=0
n=0
for t in "${targets[@]}"; do
	n=$((n + 1))
	bin=$out/fuzz_$t
	log=$out/$t.log
	if { [ "$t" = hypercall ] || [ "$t" = vif ] || [ "$t" = relocate ]; } && [ ! -r "$XENITH_MINIOS" ]; then
		echo "ok $n - $t # SKIP no guest image at $XENITH_MINIOS (meson compile -C BUILD_DIR builds it)"
		continue
	fi
	if ! build "$t" "$bin"; then
		echo "not ok $n - $t"
		echo "build failed ($out/$t.build.log):" | comment
		tail -n 40 "$out/$t.build.log" | comment
		status=1
		continue
	fi
	if [ -s "$out/$t.build.log" ]; then
		echo "$t: clang warns ($out/$t.build.log):" | comment
		head -n 20 "$out/$t.build.log" | comment
	fi
	mkdir -p "$out/corpus/$t" "$out/artifacts"
	connected=""
	if [ "$t" = hypercall ]; then
		connect_log=$out/$t.connect.log
		if ! XENITH_FUZZ_EXPECT_CONNECT=1 "$bin" -runs=1 -timeout=5 -rss_limit_mb=2048 \
			-artifact_prefix="$out/artifacts/$t-connect-" "$src"/fuzz/corpus/$t/seed-vbd-* \
			>"$connect_log" 2>&1; then
			status=1
			echo "not ok $n - $t"
			{
				echo "$t: a seed-vbd-* seed connected no disk through the store (full log: $connect_log)"
				grep -B1 -A6 -m1 -E 'fuzz invariant broken|^==[0-9]+==ERROR' "$connect_log" ||
					tail -n 20 "$connect_log"
			} | comment
			continue
		fi
		connected=", every seed-vbd-* seed connected a disk through the store"
	fi
	limit=(-max_total_time="$secs")
	[ -n "$runs" ] && limit=(-runs="$runs")
	# The first corpus directory takes new inputs: the committed seeds stay as they are.
	"$bin" "${limit[@]}" -max_len="${max_len[$t]}" -timeout=5 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$out/artifacts/$t-" \
		"$out/corpus/$t" "$src/fuzz/corpus/$t" >"$log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	seed=$(sed -n 's/^INFO: Seed: *//p' "$log" | head -n 1)
	if [ $rc -eq 0 ]; then
		echo "ok $n - $t"
		echo "$t: ${execs:-?} inputs (limit ${limit[*]}), seed $seed," \
			"corpus: $(count "$out/corpus/$t") found + $(count "$src/fuzz/corpus/$t") committed$connected" |
			comment
		continue
	fi
	status=1
	echo "not ok $n - $t"
	artifact=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)
	{
		echo "$t: exit $rc after ${execs:-?} inputs, seed $seed; full log: $log"
		[ -n "$artifact" ] && echo "reproduce: $bin $artifact"
		# The report: from the first sign of trouble, at most 80 lines.
		trouble='^==[0-9]+==ERROR|fuzz invariant broken|runtime error:|^ALARM|ERROR: libFuzzer'
		first=$(grep -n -m1 -E "$trouble" "$log" | cut -d: -f1)
		if [ -n "$first" ]; then
			tail -n "+$first" "$log" | head -n 80
		else
			tail -n 40 "$log"
		fi
	} | comment
done
exit $status
