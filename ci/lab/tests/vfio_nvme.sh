#!/bin/sh
# Lab test (busybox sh): an NVMe VF through VFIO, as a domain will hold it.
# `xenith pci check` opens the VF in its own type-1 IOMMU container (BARs,
# MSI-X, reset, a DMA mapping) and refuses, with the reason, a function not
# on vfio-pci and a group another process holds; the NVMe driver core runs
# natively over VFIO against it (I/O both ways with the PF, an IOMMU fault);
# domains hold it through `pci = [...]`.
# lab-limit: 900
# Output: TAP.
. "$(dirname "$0")/../tap.sh"

X=/xenith/xenith
need_nvme_pf
P=/sys/bus/pci/devices/$pf
if ! "$X" pci nvme-online "$pf" 2 >/tmp/online.out 2>&1; then
	notok "xenith pci nvme-online $pf 2"
	show /tmp/online.out
	tap_done
	exit
fi
vf=$(basename "$(readlink -f "$P/virtfn1")")
"$X" pci assignable-add "$vf" >/tmp/add.out 2>&1
result $? "VF 2 ($vf) handed to vfio-pci"
show /tmp/add.out
group=$(basename "$(readlink -f "/sys/bus/pci/devices/$vf/iommu_group")")

# 1. check: vendor/device read through VFIO's config region, BAR 0, MSI-X, reset, DMA.
"$X" pci check "$vf" --json >/tmp/check.json 2>/tmp/check.err
rc=$?
j=$(cat /tmp/check.json)
echo "#   $j"
case "$rc $j" in
"0 "*'"vendor":"1b36","device":"0010","iommu_group":'"$group"','*) ok "xenith pci check $vf: 1b36:0010 in group $group" ;;
*) notok "xenith pci check $vf: 1b36:0010 in group $group (exit $rc)"; show /tmp/check.err ;;
esac
case "$j" in
*'{"bar":0,"size":'*) ok "BAR 0 is there" ;;
*) notok "BAR 0 is there" ;;
esac
msix=$(echo "$j" | sed -n 's/.*"msix":\([0-9]*\).*/\1/p')
check "MSI-X vectors: ${msix:-none}" [ "${msix:-0}" -ge 1 ]
case "$j" in
*'"reset":"done"'*'"dma_map":true'*) ok "function-level reset done, a page mapped and unmapped for DMA" ;;
*) notok "function-level reset done, a page mapped and unmapped for DMA"; show /tmp/check.err ;;
esac

# 2. Refusals name the cause and what to do.
"$X" pci check "$pf" >/tmp/check.out 2>&1
rc=$?
[ "$rc" = 1 ] && grep -q "not on vfio-pci" /tmp/check.out && grep -q "assignable-add $pf" /tmp/check.out
result $? "check of the PF (on nvme): refused, pointing at assignable-add (exit $rc)"
show /tmp/check.out
exec 3<>"/dev/vfio/$group"
"$X" pci check "$vf" >/tmp/check.out 2>&1
rc=$?
exec 3<&-
[ "$rc" = 1 ] && grep -q "held by another process" /tmp/check.out
result $? "check while another process holds group $group: refused as held (exit $rc)"
show /tmp/check.out
"$X" pci check "$vf" >/tmp/check.out 2>&1
result $? "check again once the group is free"

# 2b. A group that is not viable: QEMU's test device (1b36:0005) behind the
#     lab's PCIe-to-PCI bridge shares its group with a serial card on its
#     host driver.  Handed to vfio-pci, it is still refused, naming the
#     serial card and its driver, by check, list and a domain.
td=
for d in /sys/bus/pci/devices/*; do
	[ "$(cat "$d/vendor"):$(cat "$d/device")" = 0x1b36:0x0005 ] && td=${d##*/} && break
done
ser=
for d in /sys/bus/pci/devices/*; do
	[ "$(cat "$d/vendor"):$(cat "$d/device")" = 0x1b36:0x0002 ] && ser=${d##*/} && break
done
sdrv=$(basename "$(readlink -f "/sys/bus/pci/devices/$ser/driver" 2>/dev/null)" 2>/dev/null)
if [ -z "$td" ] || [ -z "$ser" ] || [ -z "$sdrv" ] || [ "$sdrv" = driver ]; then
	notok "the lab's test device and serial card behind one bridge, the card on a host driver (test device ${td:-none}, card ${ser:-none} on ${sdrv:-no driver})"
else
	tgroup=$(basename "$(readlink -f "/sys/bus/pci/devices/$td/iommu_group")")
	"$X" pci assignable-add "$td" >/tmp/tadd.out 2>&1
	rc=$?
	"$X" pci check "$td" >/tmp/tcheck.out 2>&1
	rc2=$?
	[ "$rc" = 0 ] && [ "$rc2" = 1 ] && grep -q "IOMMU group $tgroup is not viable" /tmp/tcheck.out &&
		grep -q "also holds $ser, bound to the host driver $sdrv" /tmp/tcheck.out
	result $? "$td (test device) on vfio-pci in group $tgroup with $ser on $sdrv: check refuses the group as not viable, naming $ser and $sdrv (exit $rc2)"
	show /tmp/tcheck.out
	"$X" pci list --json >/tmp/tlist.json 2>/dev/null
	tr '{' '\n' </tmp/tlist.json | grep "\"bdf\":\"$td\"" | grep -q '"assignable":false'
	result $? "xenith pci list: $td not assignable (its group's neighbour on a host driver)"
	"$X" run -n ptn --pci "$td" --cmdline "exit 0" --timeout 60 >/tmp/ptn.out 2>&1
	rc=$?
	[ "$rc" = 65 ] && grep -q "pci = $td" /tmp/ptn.out && grep -q "not viable" /tmp/ptn.out
	result $? "a domain with pci = $td: refused before boot, exit $rc (65), the group not viable"
	show /tmp/ptn.out
	"$X" pci assignable-remove "$td" >/dev/null 2>&1
fi

# 3. The NVMe driver core (nvme/drv.c, what minios runs) natively over VFIO:
#    identify, a read of what the PF wrote, a write the PF reads back, a DMA
#    to an IOVA nobody mapped (the IOMMU stops it), open-use-close cycles.
N=/xenith/vfio-nvme-io
blk=/dev/$(ls /sys/block | grep '^nvme[0-9]*n1$' | head -n1)
"$N" "$vf" identify >/tmp/io.out 2>&1
result $? "vfio-nvme-io $vf identify: the driver brings the VF's controller up through VFIO"
show /tmp/io.out
seq 1 20000 >/tmp/pat1
seq 50000 70000 >/tmp/pat2
bs=$(sed -n 's/.* blocks of \([0-9]*\) bytes.*/\1/p' /tmp/io.out)
bs=${bs:-512}
nb=$((32768 / bs))
dd if=/tmp/pat1 of="$blk" bs="$bs" count="$nb" conv=fsync 2>/dev/null
"$N" "$vf" read 0 "$nb" /tmp/pat1 >/tmp/io.out 2>&1
result $? "what the PF wrote ($blk, LBA 0, $nb blocks) reads back through the VF"
show /tmp/io.out
"$N" "$vf" write 1024 "$nb" /tmp/pat2 >/tmp/io.out 2>&1
rc=$?
echo 3 >/proc/sys/vm/drop_caches
dd if="$blk" of=/tmp/back bs="$bs" skip=1024 count="$nb" 2>/dev/null
head -c 32768 /tmp/pat2 >/tmp/want
[ "$rc" = 0 ] && cmp -s /tmp/back /tmp/want
result $? "what the VF wrote (LBA 1024) reads back through the PF (exit $rc)"
show /tmp/io.out
dmesg -c >/dev/null
"$N" "$vf" fault >/tmp/io.out 2>&1
rc=$?
result $rc "a read into an unmapped IOVA: the mapped memory untouched, the VF serves again (exit $rc)"
show /tmp/io.out
short=${vf#0000:}
dmesg | grep -i dmar | grep -i fault >/tmp/dmar.txt
grep "$short" /tmp/dmar.txt | grep -q "fault addr 0x40000000"
result $? "the IOMMU reported the VF's fault at 0x40000000 in the kernel log ($(wc -l </tmp/dmar.txt) DMAR fault lines)"
show /tmp/dmar.txt
"$N" "$vf" cycles 20 >/tmp/io.out 2>&1
result $? "20 open, reset, init, read, close cycles: no descriptor left behind"
show /tmp/io.out

# 4. A domain holding the VF (pci = [...]): the VMM opens it at create, maps
#    the domain's RAM for its DMA at IOVA = guest-physical, resets it at each
#    start and at the end; meanwhile the group is the domain's alone.
"$X" run -n pt --pci "$vf" --cmdline idle --timeout 120 >/tmp/pt.out 2>&1 &
dom=$!
state=
for i in $(seq 1 100); do
	"$X" devices pt --json >/tmp/pt.dev 2>/dev/null && grep -q '"type":"pci"' /tmp/pt.dev && state=up && break
	kill -0 "$dom" 2>/dev/null || break
	sleep 0.2
done
if [ "$state" = up ]; then
	dev=$(tr '{' '\n' </tmp/pt.dev | grep "\"bdf\":\"$vf\"")
	"$X" memmap pt --json >/tmp/pt.mm 2>/dev/null
	ram=$(tr '{' '\n' </tmp/pt.mm | grep '"type":"ram"' | sed -n 's/.*"size":\([0-9]*\).*/\1/p' | awk '{ s += $1 } END { print s + 0 }')
	nram=$(tr '{' '\n' </tmp/pt.mm | grep -c '"type":"ram"')
	mapped=$(echo "$dev" | sed -n 's/.*"dma_mapped_bytes":\([0-9]*\).*/\1/p')
	regions=$(echo "$dev" | sed -n 's/.*"dma_regions":\([0-9]*\).*/\1/p')
	[ -n "$mapped" ] && [ "$mapped" = "$ram" ] && [ "$regions" = "$nram" ] && [ "$ram" -gt 0 ]
	result $? "domain pt with pci = $vf: its $nram RAM region(s), $ram bytes, mapped for DMA (device: ${mapped:-?} bytes in ${regions:-?})"
	echo "#   $dev"
	case "$(cat /tmp/pt.dev)" in
	*'"state":"connected"'*'"resets":1,'*) ok "the VF is connected and was reset once, at the start" ;;
	*) notok "the VF is connected and was reset once, at the start"; show /tmp/pt.dev ;;
	esac
	"$X" pci check "$vf" >/tmp/check.out 2>&1
	rc=$?
	[ "$rc" = 1 ] && grep -q "held by another process" /tmp/check.out
	result $? "while the domain runs, its VF's group is its own: check refused (exit $rc)"
	"$X" destroy pt >/dev/null 2>&1
	wait "$dom"
	rc=$?
	check "domain pt destroyed (exit $rc, 67)" [ "$rc" = 67 ]
	"$X" pci check "$vf" >/tmp/check.out 2>&1
	result $? "after the domain, the VF opens again (released, reset)"
	show /tmp/check.out
else
	notok "domain pt with pci = $vf came up with its pci device"
	kill "$dom" 2>/dev/null
	wait "$dom"
	show /tmp/pt.out
fi

# 4b. minios's nvme program drives the VF from inside the domain: BAR 0
#     mapped into it, DMA into its memory at IOVA = guest-physical.
guest() { # guest NAME CMDLINE: a domain holding the VF runs CMDLINE; output in /tmp/NAME.out, status in $rc
	"$X" run -n "$1" --pci "$vf" --cmdline "$2" --timeout 120 >"/tmp/$1.out" 2>&1
	rc=$?
}
guest pti "nvme info"
grep -q "nvme: dev 0 $vf id 1b36:0010 serial 'xenith0'" /tmp/pti.out && [ "$rc" = 0 ]
result $? "nvme info in a domain: the VF's controller up from the guest (exit $rc)"
grep -q "qdepth [0-9]* irq msix evtchn [0-9]" /tmp/pti.out
result $? "the guest bound the VF's MSI-X vector 0 to an event channel (the backend answered)"
show /tmp/pti.out
"$N" pattern 7 2048 64 "$bs" /tmp/p7
dd if=/tmp/p7 of="$blk" bs="$bs" seek=2048 count=64 conv=fsync 2>/dev/null
guest ptc "nvme check lba=2048 blocks=64 seed=7"
grep -q "nvme-verify: ok" /tmp/ptc.out && [ "$rc" = 0 ]
result $? "what the PF wrote (LBA 2048) reads back in the guest through the VF (exit $rc)"
[ "$rc" = 0 ] || show /tmp/ptc.out
guest ptf "nvme fill lba=4096 blocks=64 seed=9"
"$N" pattern 9 4096 64 "$bs" /tmp/p9
echo 3 >/proc/sys/vm/drop_caches
dd if="$blk" of=/tmp/back bs="$bs" skip=4096 count=64 2>/dev/null
[ "$rc" = 0 ] && cmp -s /tmp/back /tmp/p9
result $? "what the guest wrote through the VF (LBA 4096) reads back through the PF (exit $rc)"
[ "$rc" = 0 ] || show /tmp/ptf.out
guest ptv "nvme verify lba=10000 blocks=2000 seed=3"
grep -q "nvme-verify: ok" /tmp/ptv.out && [ "$rc" = 0 ]
result $? "nvme verify of 2000 blocks (1000 KiB, several commands with PRP lists) in the guest (exit $rc)"
[ "$rc" = 0 ] || show /tmp/ptv.out
# Completions woke the guest through the event channel: the VF's MSI-X
# vector, VFIO's eventfd, the VMM's interrupt thread, the port.
ev=$(sed -n 's/.*nvme: irq: \([0-9]*\) events, \([0-9]*\) timeouts.*/\1 \2/p' /tmp/ptv.out)
evn=${ev% *}
evt=${ev#* }
# At least one wait ended by an event, and no more ended by the 100 ms
# timeout than by events (a command may complete before the driver first
# looks, with no wait at all; without delivery: 0 events, 9 timeouts).
[ "${evn:-0}" -ge 1 ] && [ "${evt:-1}" -le "${evn:-0}" ]
result $? "the guest's waits ended by MSI-X events: ${evn:-no} events, ${evt:-?} timeouts of 100 ms"
# The binding protocol against a guest that gets it wrong: refused with a
# reason each time, nothing bound, the domain fine, and then a good bind works.
guest ptq "nvme irqcheck"
nbad=$(grep -c "^nvme-irqcheck: .*: error: " /tmp/ptq.out)
grep -q "nvme-irqcheck: ok" /tmp/ptq.out && [ "$nbad" = 4 ] && [ "$rc" = 0 ]
result $? "vector binding: 4 bad values (not a number, past the last port, the console's port, a closed port) each answered with an error, then binds, a rebind, an unbind and a read by MSI-X (exit $rc)"
grep "^nvme-irqcheck" /tmp/ptq.out | sed 's/^/#   /'
guest ptp "nvme verify lba=12000 blocks=256 seed=4 irq=0"
grep -q "irq polled" /tmp/ptp.out && grep -q "nvme-verify: ok" /tmp/ptp.out && grep -q "nvme: irq: polled" /tmp/ptp.out && [ "$rc" = 0 ]
result $? "irq=0: the same verify with completions polled (exit $rc)"
[ "$rc" = 0 ] || show /tmp/ptp.out

# 4c. blk's load and JSON on the VF (blk ... pci=0), as on a PV disk.
blkjson() { # blkjson FILE FIELD: a number of the blk-json line
	sed -n 's/.*blk-json: //p' "$1" | tr ',{}' '\n\n\n' | sed -n "s/^\"$2\":\([0-9]*\)$/\1/p" | head -n1
}
guest ptb "blk rw=randread bs=4096 iodepth=8 runtime=500 pci=0"
ios=$(blkjson /tmp/ptb.out total_ios)
iev=$(blkjson /tmp/ptb.out irq_events)
ito=$(blkjson /tmp/ptb.out irq_timeouts)
grep -q '"mode":"msix"' /tmp/ptb.out && [ "$(blkjson /tmp/ptb.out errors)" = 0 ] && [ "${ios:-0}" -gt 0 ] && [ "$rc" = 0 ] &&
	[ "${iev:-0}" -gt 0 ] && [ "${ito:-1}" -le $(( ${iev:-0} / 100 )) ] &&
	sed -n 's/.*blk-json: //p' /tmp/ptb.out | tr -d '\r' | grep -q '"99.900000":[0-9]*}}}}]}$'
result $? "blk randread qd8 on the VF from the guest: ${ios:-no} reads, no error, mode msix, ${iev:-no} MSI-X events, ${ito:-?} timeouts, the JSON whole (exit $rc)"
sed -n 's/.*blk-json: /#   /p' /tmp/ptb.out
[ "$rc" = 0 ] || show /tmp/ptb.out
guest ptw "blk rw=write bs=65536 iodepth=4 number_ios=32 runtime=10000 irq=0 pci=0"
w=$(sed -n 's/.*"write":{"io_bytes":\([0-9]*\),"total_ios":\([0-9]*\).*/\2/p' /tmp/ptw.out)
[ "${w:-0}" = 32 ] && grep -q '"mode":"poll"' /tmp/ptw.out && [ "$(blkjson /tmp/ptw.out errors)" = 0 ] && [ "$rc" = 0 ]
result $? "blk write of 32 x 64 KiB on the VF, polled (irq=0): ${w:-no} writes, no error (exit $rc)"
[ "$rc" = 0 ] || show /tmp/ptw.out
dmesg -c >/dev/null
guest ptx "nvme fault"
grep -q "nvme-fault: ok" /tmp/ptx.out && [ "$rc" = 0 ]
result $? "a guest's read into an address outside its memory: its memory untouched, the domain carries on (exit $rc)"
show /tmp/ptx.out
dmesg | grep -i dmar | grep -i fault >/tmp/dmar.txt
grep "$short" /tmp/dmar.txt | grep -q "fault addr 0x80000000"
result $? "the IOMMU faulted the guest's DMA to 0x80000000 (outside its 16 MiB) in the lab kernel's log"
show /tmp/dmar.txt

# 4d. BAR 0 trapped (XENITH_PCI_TRAP_BARS=1 traps every BAR, as VFIO would
#     one it does not let map): no memory slot, every register access an
#     MMIO exit that the VMM forwards to VFIO's region.  A 3 s load, and
#     meanwhile the device's counters.
XENITH_PCI_TRAP_BARS=1 "$X" run -n ptt --pci "$vf" --cmdline "blk rw=randread bs=4096 iodepth=4 runtime=3000 pci=0" \
	--timeout 120 >/tmp/ptt.out 2>&1 &
dom=$!
tdev=
for i in $(seq 1 100); do
	"$X" devices ptt --json >/tmp/ptt.dev 2>/dev/null
	tdev=$(tr '{' '\n' </tmp/ptt.dev | grep "\"bdf\":\"$vf\"")
	w=$(echo "$tdev" | sed -n 's/.*"mmio_writes":\([0-9]*\).*/\1/p')
	[ "${w:-0}" -gt 100 ] && break
	kill -0 "$dom" 2>/dev/null || break
	sleep 0.2
done
"$X" memmap ptt --json >/tmp/ptt.mm 2>/dev/null
wait "$dom"
rc=$?
rd=$(echo "$tdev" | sed -n 's/.*"mmio_reads":\([0-9]*\).*/\1/p')
tb=$(echo "$tdev" | sed -n 's/.*"trapped_bars":\([0-9]*\).*/\1/p')
ios=$(blkjson /tmp/ptt.out total_ios)
[ "$rc" = 0 ] && [ "${tb:-0}" = 1 ] && [ "${w:-0}" -gt 100 ] && [ "${rd:-0}" -gt 0 ] && [ "${ios:-0}" -gt 0 ] &&
	[ "$(blkjson /tmp/ptt.out errors)" = 0 ] && ! grep -q '"type":"device"' /tmp/ptt.mm
result $? "BAR 0 trapped: ${ios:-no} reads in the guest, no error; ${w:-no} register writes and ${rd:-no} reads forwarded by the VMM, no memory slot for it (exit $rc)"
echo "#   $tdev"
[ "$rc" = 0 ] || show /tmp/ptt.out

# 4d2. A sparse BAR (XENITH_PCI_SPARSE_BARS=1 handles BAR 0 as if VFIO let
#      only its first half map, as it does for a BAR with the MSI-X table in
#      it): the registers and doorbells (first 8 KiB) a slot over the trapped
#      range, so none of the guest's accesses exits; the MSI-X half trapped.
XENITH_PCI_SPARSE_BARS=1 "$X" run -n pts --pci "$vf" --cmdline "blk rw=randread bs=4096 iodepth=4 runtime=2000 pci=0" \
	--timeout 120 >/tmp/pts.out 2>&1 &
dom=$!
sdev=
smm=
while kill -0 "$dom" 2>/dev/null; do
	"$X" devices pts --json >/tmp/pts.dev 2>/dev/null &&
		d=$(tr '{' '\n' </tmp/pts.dev | grep "\"bdf\":\"$vf\"") && [ -n "$d" ] && sdev=$d
	"$X" memmap pts --json >/tmp/pts.mm 2>/dev/null && grep -q '"type":"device"' /tmp/pts.mm && smm=$(cat /tmp/pts.mm)
	sleep 0.3
done
wait "$dom"
rc=$?
ios=$(blkjson /tmp/pts.out total_ios)
tb=$(echo "$sdev" | sed -n 's/.*"trapped_bars":\([0-9]*\).*/\1/p')
parts=$(echo "$sdev" | sed -n 's/.*"mapped_parts":\([0-9]*\).*/\1/p')
w=$(echo "$sdev" | sed -n 's/.*"mmio_writes":\([0-9]*\).*/\1/p')
rd=$(echo "$sdev" | sed -n 's/.*"mmio_reads":\([0-9]*\).*/\1/p')
part=$(echo "$smm" | tr '{' '\n' | grep '"type":"device"' | grep '"name":"pci0-bar0.0"' | sed -n 's/.*"size":\([0-9]*\).*/\1/p')
[ "$rc" = 0 ] && [ "${tb:-0}" = 1 ] && [ "${parts:-0}" = 1 ] && [ "${part:-0}" = 8192 ] && [ "${ios:-0}" -gt 0 ] &&
	[ "$(blkjson /tmp/pts.out errors)" = 0 ] && [ "${w:-1}" = 0 ] && [ "${rd:-1}" = 0 ]
result $? "sparse BAR 0: its mappable 8 KiB a slot (${part:-no} bytes) over the trapped BAR; ${ios:-no} reads in the guest, no error, ${w:-?} writes and ${rd:-?} reads exited (exit $rc)"
echo "#   $sdev"
[ "$rc" = 0 ] || show /tmp/pts.out

# 4e. An unmodified Linux guest holds the VF: its own nvme driver finds the
#     function on the guest's PCI bus (ACPI's PCI0, configuration ports),
#     programs the MSI-X table Xenith emulates, and its interrupts come by
#     irqfd.  It reads what the PF wrote at LBA 2048 and writes LBA 8192.
G=/xenith/linux-guest
# guest_why FILE: one line of what the guest's console says went wrong (a
# panic, an oops, the init's own complaint), or its last line; no '#', which
# TAP reads as a directive
guest_why() {
	{ grep -m1 -E "Kernel panic|BUG:|Oops|general protection|no /dev/nvme0n1|nvme nvme0: .*(timeout|fail|disabl)" "$1" ||
		grep -v '^[[:space:]]*$' "$1" | tail -n 1; } | tr -d '#\r' | cut -c1-200
}
want_rd=$(dd if="$blk" bs=512 skip=2048 count=64 2>/dev/null | md5sum | cut -d' ' -f1)
for try in 1 2 3; do
	"$X" run -n ptl --kernel $G/vmlinuz --initrd $G/initrd.gz -m 256 --pci "$vf" --timeout 100 --on-reboot destroy \
		--cmdline "console=ttyS0 panic=-1 quiet xenith_action=nvme xenith_rd=2048 xenith_wr=8192" >/tmp/ptl.out 2>&1 &
	dom=$!
	ldev=
	best=-1
	# the sample with the most MSI-X table accesses: a later one can miss (the domain is ending)
	while kill -0 "$dom" 2>/dev/null; do
		if "$X" devices ptl --json >/tmp/ptl.dev 2>/dev/null &&
			d=$(tr '{' '\n' </tmp/ptl.dev | grep "\"bdf\":\"$vf\"") && [ -n "$d" ]; then
			n=$(echo "$d" | sed -n 's/.*"msix_table_accesses":\([0-9]*\).*/\1/p')
			[ "${n:-0}" -gt "$best" ] && best=${n:-0} && ldev=$d
		fi
		sleep 0.5
	done
	wait "$dom"
	rc=$?
	# the known hang of a nested Linux boot (tap.sh's boot): tried again.  Seen
	# in CI (2026-12-01) after the guest's work was done: "write status 0",
	# then no power-off in 100 s, its vCPU running guest code all along.
	if [ "$rc" = 68 ]; then
		when="before its init ran"
		grep -q "xenith-linux-guest: init ran" /tmp/ptl.out && when="after its init ran"
		todo "ptl: attempt $try: the nested kernel hung $when (last: $(guest_why /tmp/ptl.out))" \
			"known problem, README's lab section; tried again"
		continue
	fi
	# A reset (69) before the namespace appeared is the kernel's panic=-1: seen
	# once in CI (stop 32), routes and table accesses as in a good run, its
	# console not kept.  Its first words go into the TODO line, then a retry.
	if [ "$rc" = 69 ] && ! grep -q "xenith-linux-guest: nvme0n1 " /tmp/ptl.out; then
		cp /tmp/ptl.out "/tmp/ptl.attempt$try.out"
		todo "ptl: attempt $try: the guest reset before nvme0n1 appeared: $(guest_why /tmp/ptl.out)" \
			"not understood; tried again, its console shown below"
		tail -n 60 /tmp/ptl.out | show
		continue
	fi
	break
done
sed -n 's/^.*\(xenith-linux-guest: .*\)$/#   \1/p' /tmp/ptl.out
grep -q "xenith-linux-guest: pci 0000:00:01.0 0x1b36:0x0010 class 0x010802" /tmp/ptl.out &&
	grep -q "xenith-linux-guest: pci 0000:00:00.0 0x1b36:0x0008 class 0x060000" /tmp/ptl.out
result $? "Linux enumerates its PCI bus: the host bridge at 00:00.0 and the VF (1b36:0010, NVMe) at 00:01.0"
grep -q "xenith-linux-guest: nvme0n1 [1-9]" /tmp/ptl.out
result $? "Linux's nvme driver brings the VF's controller up: /dev/nvme0n1 appears$(grep -q "xenith-linux-guest: nvme0n1 [1-9]" /tmp/ptl.out || echo " (exit $rc; the guest: $(guest_why /tmp/ptl.out))")"
grep -q "xenith-linux-guest: read $want_rd" /tmp/ptl.out
result $? "what the PF wrote (LBA 2048) reads back in the Linux guest (md5 $want_rd)"
yes "xenith-linux-guest wrote this through its own nvme driver" | head -c 32768 >/tmp/lwant
echo 3 >/proc/sys/vm/drop_caches
dd if="$blk" of=/tmp/lback bs=512 skip=8192 count=64 2>/dev/null
grep -q "xenith-linux-guest: write status 0" /tmp/ptl.out && cmp -s /tmp/lback /tmp/lwant && [ "$rc" = 0 ]
result $? "what the Linux guest wrote (LBA 8192) reads back through the PF; the guest powered off (exit $rc)"
irq=$(sed -n 's/.*xenith-linux-guest: irq nvme0q[0-9]* \([0-9]*\) type .*MSI.*/\1/p' /tmp/ptl.out | awk '{ s += $1 } END { print s + 0 }')
routes=$(echo "$ldev" | sed -n 's/.*"msi_routes":\([0-9]*\).*/\1/p')
tbl=$(echo "$ldev" | sed -n 's/.*"msix_table_accesses":\([0-9]*\).*/\1/p')
[ "${irq:-0}" -gt 0 ] && [ "${routes:-0}" -ge 1 ] && [ "${tbl:-0}" -gt 0 ]
result $? "the driver's MSI-X interrupts came by irqfd: $irq in the guest's /proc/interrupts; the VMM routed ${routes:-no} vector(s) after ${tbl:-no} table accesses"
echo "#   $ldev"
[ "$rc" = 0 ] || { echo "# the guest's console (exit $rc; 69: it rebooted, e.g. a panic with panic=-1):"; tail -n 80 /tmp/ptl.out | show; }

# 5. A function a domain cannot hold is refused before anything boots, with the reason.
"$X" run -n pt2 --pci "$pf" --cmdline "exit 0" --timeout 60 >/tmp/pt2.out 2>&1
rc=$?
[ "$rc" = 65 ] && grep -q "pci = $pf" /tmp/pt2.out && grep -q "not on vfio-pci" /tmp/pt2.out
result $? "a domain with pci = the PF (on nvme): refused, exit $rc (65), naming it and the cause"
show /tmp/pt2.out

# 6. Domains come and go holding the VF: each exits cleanly and the VF is fine after.
n=${xenith_lab_pci_cycles:-100}
bad=0
for i in $(seq 1 "$n"); do
	"$X" run -n "ptc$i" --pci "$vf" --cmdline "exit 0" --timeout 60 >/tmp/ptc.out 2>&1 || { bad=$i; break; }
done
if [ "$bad" = 0 ]; then
	ok "$n domains holding $vf started and ended with exit 0"
else
	notok "$n domains holding $vf started and ended with exit 0 (domain $bad failed)"
	show /tmp/ptc.out
fi
"$X" pci check "$vf" >/tmp/check.out 2>&1
result $? "after $n domains the VF still opens and resets"

# 6b. A domain holding the VF reboots: each rebuild reconnects the VF under
#     the VMM's seccomp filter (reset, DMA map, BARs, MSI-X rerouted to new
#     eventfds and a new interrupt thread), and the end lets it go.
"$X" run -n ptr --pci "$vf" --cmdline reboot --timeout 120 >/tmp/ptr.out 2>&1 &
dom=$!
boots=0
for i in $(seq 1 300); do
	boots=$(grep -c "reboot: asking" /tmp/ptr.out)
	[ "$boots" -ge 5 ] && break
	kill -0 "$dom" 2>/dev/null || break
	sleep 0.2
done
"$X" devices ptr --json >/tmp/ptr.dev 2>/dev/null
dev=$(tr '{' '\n' </tmp/ptr.dev | grep "\"bdf\":\"$vf\"")
conn=$(echo "$dev" | sed -n 's/.*"connects":\([0-9]*\).*/\1/p')
routed=$(echo "$dev" | sed -n 's/.*"msix_routed":\([0-9]*\).*/\1/p')
"$X" destroy ptr >/dev/null 2>&1
wait "$dom"
rc=$?
[ "$boots" -ge 5 ] && [ "${conn:-0}" -ge 5 ] && [ "${routed:-0}" = 1 ] && [ "$rc" = 67 ]
result $? "a domain holding the VF rebooted $boots times: the VF reconnected at each build (${conn:-no} connects, MSI-X routed: ${routed:-?}) under the seccomp filter, destroyed (exit $rc, 67)"
[ "$rc" = 67 ] || show /tmp/ptr.out
"$X" pci check "$vf" >/tmp/check.out 2>&1
result $? "after the reboots and the destroy the VF opens and resets"

# 7. xenith bench pci: the same read jobs on the VF from a guest (MSI-X, and
#    polled), on a PV disk of the PF's namespace, and natively through VFIO
#    (vfio-nvme-io, the same driver code): under TCG these are emulation
#    figures, so this checks that the suite runs and fills its table.
"$X" bench pci --quick --repeat 1 --warmup 0 --out /tmp/pcibench >/tmp/pb.out 2>/tmp/pb.err
rc=$?
rows=$(grep -cE '^(randread-4k-qd1|randread-4k-qd16|seqread-128k-qd4) +(vf|vf-poll|pv) +[0-9]+ +[1-9][0-9]* ' /tmp/pb.out)
[ "$rc" = 0 ] && [ "$rows" = 9 ]
result $? "xenith bench pci --quick: 3 jobs x (vf, vf-poll, pv), each against the VF natively through VFIO: $rows of 9 rows with guest IOPS (exit $rc)"
sed -n '/^pci job/,/^$/p' /tmp/pb.out | sed 's/^/#   /'
[ "$rc" = 0 ] || { show /tmp/pb.out; show /tmp/pb.err; }

"$X" pci nvme-offline "$pf" >/tmp/offline.out 2>&1 || show /tmp/offline.out
"$X" pci sriov "$pf" 0 >/tmp/sriov.out 2>&1 || show /tmp/sriov.out
tap_done
