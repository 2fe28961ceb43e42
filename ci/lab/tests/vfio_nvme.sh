#!/bin/sh
# Lab test (busybox sh): an NVMe VF through VFIO, as a domain will hold it.
# `xenith pci check` opens the VF in its own type-1 IOMMU container (BARs,
# MSI-X, reset, a DMA mapping) and refuses, with the reason, a function not
# on vfio-pci and a group another process holds.
# Output: TAP.
. "$(dirname "$0")/../tap.sh"

X=/xenith/xenith
pf=
for dev in /sys/bus/pci/devices/*; do
	[ "$(cat "$dev/class")" = 0x010802 ] && [ -f "$dev/sriov_totalvfs" ] && pf=$(basename "$dev") && break
done
if [ -z "$pf" ]; then
	notok "an NVMe controller with SR-IOV is present"
	tap_done
	exit
fi
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

"$X" pci nvme-offline "$pf" >/tmp/offline.out 2>&1 || show /tmp/offline.out
"$X" pci sriov "$pf" 0 >/tmp/sriov.out 2>&1 || show /tmp/sriov.out
tap_done
